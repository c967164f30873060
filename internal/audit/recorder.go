package audit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
)

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit: recorder closed")

// ErrTimeout is returned by Record when the event is not durable within
// the Recorder's Timeout.
var ErrTimeout = errors.New("audit: the event was not durable in time")

// RecorderConfig tunes group commit.
type RecorderConfig struct {
	// MaxBatch is the most events written in one transaction; 256 when
	// zero.
	MaxBatch int
	// MaxDelay is how long a batch may wait for more events before it is
	// written, at most 5 ms. It waits only under concurrency, when the
	// previous batch held more than one event: a lone call pays no delay,
	// and under load each synced commit is shared by more events, which
	// costs each call at most MaxDelay of latency and saves the CPU of
	// commits. Zero never waits: the events that arrive while a batch is
	// being written form the next one.
	MaxDelay time.Duration
	// Timeout bounds how long Record waits for its event to be durable,
	// queueing included; none when zero. (One timer per call, cheaper
	// than a context deadline per call.)
	Timeout time.Duration
}

// pending is one event waiting to be written.
type pending struct {
	rec  store.AuditRecord
	done chan error // buffered: the writer never waits for the caller
}

// Recorder makes events durable with group commit: concurrent Record calls
// are written together in one AppendAudit, one transaction and one sync to
// disk, and each call returns once its event is durable. Run must be
// running for Record to complete.
type Recorder struct {
	st       store.Audit
	maxBatch int
	maxDelay time.Duration
	timeout  time.Duration

	reqs     chan *pending
	closing  chan struct{} // closed by Close
	stopped  chan struct{} // closed when Run has returned (or will never run)
	closeMu  sync.Once
	stopMu   sync.Once
	running  atomic.Bool
	last     int          // events in the previous batch; Run's goroutine only
	appended atomic.Int64 // AppendAudit calls, see Batches
}

// NewRecorder returns a Recorder that writes to st.
func NewRecorder(st store.Audit, cfg RecorderConfig) *Recorder {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	cfg.MaxDelay = min(max(cfg.MaxDelay, 0), 5*time.Millisecond)
	return &Recorder{
		st:       st,
		maxBatch: cfg.MaxBatch,
		maxDelay: cfg.MaxDelay,
		timeout:  max(cfg.Timeout, 0),
		reqs:     make(chan *pending, cfg.MaxBatch),
		closing:  make(chan struct{}),
		stopped:  make(chan struct{}),
	}
}

// Record encodes e (see Event.Record) and returns when it is durable in
// the trail, or with the error that kept it from being written. An error
// means the caller must not act as if the call succeeded. When ctx ends
// first, Record returns ctx's error, and the event may still be written.
func (r *Recorder) Record(ctx context.Context, e *Event) error {
	rec, err := e.Record()
	if err != nil {
		return err
	}
	p := &pending{rec: rec, done: make(chan error, 1)}
	select {
	case <-r.closing:
		return ErrClosed
	default:
	}
	var expired <-chan time.Time
	if r.timeout > 0 {
		t := time.NewTimer(r.timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case r.reqs <- p:
	case <-r.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		return ErrTimeout
	}
	select {
	case err := <-p.done:
		return err
	case <-expired:
		return ErrTimeout
	case <-r.stopped:
		// Run has ended, maybe after writing p in its last batch.
		select {
		case err := <-p.done:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run writes events until ctx ends or Close is called; the events queued
// then are written before it returns. It returns nil after Close, ctx's
// error otherwise. Run may be called once.
func (r *Recorder) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("audit: Recorder.Run called twice")
	}
	defer r.stopMu.Do(func() { close(r.stopped) })
	// Writes finish even when ctx ends: a caller may be waiting for them.
	wctx := context.WithoutCancel(ctx)
	batch := make([]*pending, 0, r.maxBatch)
	for {
		select {
		case p := <-r.reqs:
			batch = r.gather(append(batch[:0], p))
			r.flush(wctx, batch)
		case <-r.closing:
			r.drain(wctx)
			return nil
		case <-ctx.Done():
			r.closeMu.Do(func() { close(r.closing) })
			r.drain(wctx)
			return ctx.Err()
		}
	}
}

// gather adds to batch the events already queued and, with a MaxDelay,
// those that arrive within it, up to MaxBatch.
func (r *Recorder) gather(batch []*pending) []*pending {
	var deadline <-chan time.Time
	for len(batch) < r.maxBatch {
		select {
		case p := <-r.reqs:
			batch = append(batch, p)
			continue
		default:
		}
		if r.maxDelay <= 0 || r.last < 2 {
			return batch
		}
		if deadline == nil {
			t := time.NewTimer(r.maxDelay)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case p := <-r.reqs:
			batch = append(batch, p)
		case <-deadline:
			return batch
		}
	}
	return batch
}

// drain writes what is left in the queue.
func (r *Recorder) drain(ctx context.Context) {
	for {
		var batch []*pending
	fill:
		for len(batch) < r.maxBatch {
			select {
			case p := <-r.reqs:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		if len(batch) == 0 {
			return
		}
		r.flush(ctx, batch)
	}
}

// flush writes one batch and answers its callers.
func (r *Recorder) flush(ctx context.Context, batch []*pending) {
	recs := make([]store.AuditRecord, len(batch))
	for i, p := range batch {
		recs[i] = p.rec
	}
	r.appended.Add(1)
	r.last = len(batch)
	_, err := r.st.AppendAudit(ctx, recs)
	for _, p := range batch {
		p.done <- err
	}
}

// Batches returns how many batches (AppendAudit calls) the Recorder has
// written, failed ones included: with the count of events, the measure
// of group commit.
func (r *Recorder) Batches() int64 { return r.appended.Load() }

// Close stops the Recorder: Record fails with ErrClosed from now on, the
// events already queued are written, and Close returns when Run has
// returned. Calls after the first do nothing.
func (r *Recorder) Close() error {
	r.closeMu.Do(func() { close(r.closing) })
	if !r.running.Load() {
		// Run never started: nobody will write the queue.
		r.stopMu.Do(func() { close(r.stopped) })
	}
	<-r.stopped
	return nil
}

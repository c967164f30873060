package audit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store"
)

// memAudit is a store.Audit in memory that records the size of each
// AppendAudit, can hold appends at a gate and can fail them.
type memAudit struct {
	mu      sync.Mutex
	recs    []store.AuditRecord
	batches []int
	gate    chan struct{} // when set, appends wait for it to close
	fail    error
}

func (m *memAudit) AppendAudit(ctx context.Context, in []store.AuditRecord) ([]store.AuditRecord, error) {
	m.mu.Lock()
	gate := m.gate
	m.mu.Unlock()
	if gate != nil {
		<-gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches = append(m.batches, len(in))
	if m.fail != nil {
		return nil, m.fail
	}
	prev := audit.ZeroHash
	if n := len(m.recs); n > 0 {
		prev = m.recs[n-1].Hash
	}
	out := make([]store.AuditRecord, len(in))
	for i, r := range in {
		r.Seq = int64(len(m.recs) + 1)
		r.Hash = audit.ChainHash(prev, r.Event)
		prev = r.Hash
		m.recs = append(m.recs, r)
		out[i] = r
	}
	return out, nil
}

func (m *memAudit) ListAudit(ctx context.Context, after int64, limit int) ([]store.AuditRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.AuditRecord
	for _, r := range m.recs {
		if r.Seq > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memAudit) sizes() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int(nil), m.batches...)
}

func event(i int) *audit.Event {
	return &audit.Event{EventTime: t0, EventSource: audit.SourceSTS, EventName: "AssumeRoleWithWebIdentity",
		EventID: fmt.Sprintf("ev-%03d", i)}
}

// TestRecorderConcurrent: 100 calls at once on the real store all return
// durable, with contiguous Seqs and an intact chain.
func TestRecorderConcurrent(t *testing.T) {
	tr := newTrail(t)
	rec := audit.NewRecorder(tr, audit.RecorderConfig{MaxDelay: time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- rec.Run(ctx) }()

	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = rec.Record(t.Context(), event(i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Record %d: %v", i, err)
		}
	}
	// Every Record returned: all must be in the file now, as another
	// connection sees it, before Close.
	var onDisk int
	if err := tr.raw.QueryRowContext(t.Context(), `SELECT count(*) FROM events`).Scan(&onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk != n {
		t.Errorf("another connection sees %d records, want %d", onDisk, n)
	}
	all, err := tr.ListAudit(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("%d records stored, want %d", len(all), n)
	}
	seen := map[string]bool{}
	for i, r := range all {
		if r.Seq != int64(i+1) {
			t.Errorf("record %d has Seq %d", i, r.Seq)
		}
		var e audit.Event
		if err := e.UnmarshalJSON(r.Event); err != nil {
			t.Fatal(err)
		}
		seen[e.EventID] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct events stored, want %d", len(seen), n)
	}
	rep, err := audit.Verify(t.Context(), tr)
	if err != nil || !rep.OK() {
		t.Errorf("Verify after concurrent records: %+v, %v", rep, err)
	}
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if err := rec.Record(t.Context(), event(999)); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Record after Run ended = %v, want ErrClosed", err)
	}
}

// TestRecorderGroupCommit: events that arrive while a batch is written go
// together in the next one.
func TestRecorderGroupCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memAudit{gate: make(chan struct{})}
		rec := audit.NewRecorder(m, audit.RecorderConfig{})
		go func() { _ = rec.Run(t.Context()) }()

		var wg sync.WaitGroup
		record := func(i int) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := rec.Record(t.Context(), event(i)); err != nil {
					t.Errorf("Record %d: %v", i, err)
				}
			}()
		}
		record(0)
		synctest.Wait() // the first batch is held at the gate
		for i := 1; i <= 10; i++ {
			record(i)
		}
		synctest.Wait() // ten more queued
		close(m.gate)
		wg.Wait()
		if d := cmp.Diff([]int{1, 10}, m.sizes()); d != "" {
			t.Errorf("batch sizes (-want +got):\n%s", d)
		}
		if got := rec.Batches(); got != 2 {
			t.Errorf("Batches() = %d, want 2", got)
		}
		if err := rec.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRecorderMaxBatch: no batch is larger than MaxBatch.
func TestRecorderMaxBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memAudit{gate: make(chan struct{})}
		rec := audit.NewRecorder(m, audit.RecorderConfig{MaxBatch: 4})
		go func() { _ = rec.Run(t.Context()) }()
		var wg sync.WaitGroup
		for i := range 9 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = rec.Record(t.Context(), event(i))
			}()
			synctest.Wait()
		}
		close(m.gate)
		wg.Wait()
		if d := cmp.Diff([]int{1, 4, 4}, m.sizes()); d != "" {
			t.Errorf("batch sizes (-want +got):\n%s", d)
		}
		_ = rec.Close()
	})
}

// TestRecorderMaxDelay: under concurrency (the previous batch held more
// than one event) a batch waits up to MaxDelay for more events; a lone
// call never waits.
func TestRecorderMaxDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memAudit{gate: make(chan struct{})}
		rec := audit.NewRecorder(m, audit.RecorderConfig{MaxDelay: time.Millisecond})
		go func() { _ = rec.Run(t.Context()) }()
		var wg sync.WaitGroup
		written := make(chan time.Duration, 10)
		start := time.Now()
		at := func(d time.Duration, i int) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(d)
				_ = rec.Record(t.Context(), event(i))
				written <- time.Since(start)
			}()
			synctest.Wait()
		}
		at(0, 0) // alone: written at once (held at the gate)…
		at(0, 1) // …while these two queue: together, without waiting
		at(0, 2)
		m.mu.Lock()
		close(m.gate)
		m.gate = nil
		m.mu.Unlock()
		at(500*time.Microsecond, 3) // after a batch of two: waits until 1.5 ms…
		at(800*time.Microsecond, 4) // …and takes this one along
		at(5*time.Millisecond, 5)   // waits 1 ms for company, in vain
		at(10*time.Millisecond, 6)  // after a batch of one: no wait
		wg.Wait()
		close(written)
		if d := cmp.Diff([]int{1, 2, 2, 1, 1}, m.sizes()); d != "" {
			t.Errorf("batch sizes (-want +got):\n%s", d)
		}
		var got []time.Duration
		for d := range written {
			got = append(got, d)
		}
		slices.Sort(got)
		want := []time.Duration{0, 0, 0, 1500 * time.Microsecond, 1500 * time.Microsecond, 6 * time.Millisecond, 10 * time.Millisecond}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("durable at (-want +got):\n%s", d)
		}
		_ = rec.Close()
	})
}

// TestRecorderFailure: when the store fails, every call of the batch gets
// the error, and calls succeed again once the store recovers.
func TestRecorderFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		broken := errors.New("disk full")
		m := &memAudit{fail: broken}
		rec := audit.NewRecorder(m, audit.RecorderConfig{})
		go func() { _ = rec.Run(t.Context()) }()
		if err := rec.Record(t.Context(), event(0)); !errors.Is(err, broken) {
			t.Errorf("Record on a failing store = %v, want %v", err, broken)
		}
		m.mu.Lock()
		m.fail = nil
		m.mu.Unlock()
		if err := rec.Record(t.Context(), event(1)); err != nil {
			t.Errorf("Record after recovery = %v", err)
		}
		if got, _ := m.ListAudit(t.Context(), 0, 10); len(got) != 1 {
			t.Errorf("%d records stored, want the one after recovery", len(got))
		}
		_ = rec.Close()
	})
}

// TestRecorderClose: Close writes what is queued, then Record fails.
func TestRecorderClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memAudit{gate: make(chan struct{})}
		rec := audit.NewRecorder(m, audit.RecorderConfig{})
		ran := make(chan error, 1)
		go func() { ran <- rec.Run(t.Context()) }()
		errs := make(chan error, 3)
		for i := range 3 {
			go func() { errs <- rec.Record(t.Context(), event(i)) }()
			synctest.Wait()
		}
		closed := make(chan struct{})
		go func() {
			_ = rec.Close()
			close(closed)
		}()
		synctest.Wait()
		close(m.gate)
		<-closed
		for range 3 {
			if err := <-errs; err != nil {
				t.Errorf("Record queued before Close = %v", err)
			}
		}
		if err := <-ran; err != nil {
			t.Errorf("Run after Close = %v, want nil", err)
		}
		if got, _ := m.ListAudit(t.Context(), 0, 10); len(got) != 3 {
			t.Errorf("%d records stored, want 3", len(got))
		}
		if err := rec.Record(t.Context(), event(9)); !errors.Is(err, audit.ErrClosed) {
			t.Errorf("Record after Close = %v, want ErrClosed", err)
		}
		if err := rec.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
	})
}

// TestRecorderWithoutRun: Close of a Recorder that never ran returns, and
// a caller waiting on it gets ErrClosed.
func TestRecorderWithoutRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := audit.NewRecorder(&memAudit{}, audit.RecorderConfig{})
		got := make(chan error, 1)
		go func() { got <- rec.Record(t.Context(), event(0)) }()
		synctest.Wait()
		_ = rec.Close()
		if err := <-got; !errors.Is(err, audit.ErrClosed) {
			t.Errorf("Record = %v, want ErrClosed", err)
		}
	})
}

// TestRecorderRejectsBadEvent: an event that cannot be encoded is refused
// before it is queued.
func TestRecorderRejectsBadEvent(t *testing.T) {
	rec := audit.NewRecorder(&memAudit{}, audit.RecorderConfig{})
	defer rec.Close()
	if err := rec.Record(t.Context(), &audit.Event{EventSource: audit.SourceSTS}); err == nil {
		t.Error("Record of an event without a name succeeded")
	}
}

// TestRecorderTimeout: a call whose event is not durable within Timeout
// fails with ErrTimeout, whether its event waits in the queue or in a
// write that does not finish, or to be queued at all. The events that
// were queued are still written afterwards.
func TestRecorderTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memAudit{gate: make(chan struct{})}
		rec := audit.NewRecorder(m, audit.RecorderConfig{MaxBatch: 1, Timeout: 10 * time.Second})
		go func() { _ = rec.Run(t.Context()) }()
		start := time.Now()
		errs := make(chan error, 3)
		// The first is held at the gate, the second queued, the third
		// waits for room in the queue.
		for i := range 3 {
			go func() { errs <- rec.Record(t.Context(), event(i)) }()
		}
		for range 3 {
			if err := <-errs; !errors.Is(err, audit.ErrTimeout) {
				t.Errorf("Record = %v, want ErrTimeout", err)
			}
		}
		if waited := time.Since(start); waited != 10*time.Second {
			t.Errorf("failed after %s, want 10s", waited)
		}
		close(m.gate)
		if err := rec.Close(); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]int{1, 1}, m.sizes()); d != "" {
			t.Errorf("batch sizes (-want +got):\n%s", d)
		}
	})
}

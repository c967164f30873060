package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store"
)

// memStore is memAudit with settings.
type memStore struct {
	memAudit
	smu      sync.Mutex
	settings map[string]string
}

func (m *memStore) GetSetting(ctx context.Context, name string) (string, error) {
	m.smu.Lock()
	defer m.smu.Unlock()
	v, ok := m.settings[name]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}

func (m *memStore) PutSettingIfAbsent(ctx context.Context, name, value string) (string, error) {
	m.smu.Lock()
	defer m.smu.Unlock()
	if v, ok := m.settings[name]; ok {
		return v, nil
	}
	m.settings[name] = value
	return value, nil
}

func (m *memStore) add(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		r, err := event(i).Record()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.AppendAudit(t.Context(), []store.AuditRecord{r}); err != nil {
			t.Fatal(err)
		}
	}
}

func storedSeqs(t *testing.T, m *memStore) []int64 {
	t.Helper()
	v, err := audit.Verifier(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	cps, bad, err := audit.Checkpoints(t.Context(), m, v)
	if err != nil || len(bad) > 0 {
		t.Fatalf("Checkpoints: %v %v", bad, err)
	}
	var out []int64
	for _, c := range cps {
		out = append(out, c.Seq)
	}
	return out
}

// TestCheckpointerRun: a checkpoint per interval when the trail grew, and
// one when Run stops.
func TestCheckpointerRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memStore{settings: map[string]string{}}
		m.add(t, 3)
		ctx, cancel := context.WithCancel(t.Context())
		c := &audit.Checkpointer{Store: m, Interval: time.Minute}
		ran := make(chan error, 1)
		go func() { ran <- c.Run(ctx) }()

		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		m.add(t, 2)
		time.Sleep(time.Minute) // one checkpoint of seq 5
		synctest.Wait()
		time.Sleep(time.Minute) // nothing new: none
		synctest.Wait()
		m.add(t, 1)
		cancel() // the last one, of seq 6
		if err := <-ran; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
		got := storedSeqs(t, m)
		want := []int64{3, 5, 6}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("checkpoints at seqs %v, want %v", got, want)
		}
	})
}

// TestManyCheckpoints: the count of stored checkpoints is found past the
// powers of two.
func TestManyCheckpoints(t *testing.T) {
	m := &memStore{settings: map[string]string{}}
	for i := range 37 {
		m.add(t, 1)
		c, err := audit.WriteCheckpoint(t.Context(), m, nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		if c.Seq != int64(i+1) {
			t.Fatalf("checkpoint %d has Seq %d", i+1, c.Seq)
		}
	}
	if got := storedSeqs(t, m); len(got) != 37 || got[36] != 37 {
		t.Errorf("stored checkpoints: %v", got)
	}
	rep, err := audit.VerifyStore(t.Context(), m)
	if err != nil || !rep.OK() || rep.Checkpoints != 37 {
		t.Errorf("VerifyStore = %+v, %v", rep, err)
	}
}

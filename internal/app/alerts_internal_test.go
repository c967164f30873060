package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

// startSeq finds where the recent trail begins with one query, on the
// indexed column or, when that fails, on the events view.
func TestStartSeq(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if n, err := startSeq(ctx, st, t0); err != nil || n != 0 {
		t.Errorf("empty trail: %d, %v", n, err)
	}
	for i := range 10 { // records 1..10, an hour apart
		e := &audit.Event{EventTime: t0.Add(time.Duration(i) * time.Hour), EventSource: audit.SourceSTS, EventName: "GetCallerIdentity"}
		rec, err := e.Record()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AppendAudit(ctx, []store.AuditRecord{rec}); err != nil {
			t.Fatal(err)
		}
	}
	viewOnly := viewQuerier{st}
	for _, c := range []struct {
		from time.Time
		want int64
	}{
		{t0.Add(-time.Hour), 0},                // everything is recent
		{t0.Add(6*time.Hour + time.Minute), 7}, // records 8.. are recent
		{t0.Add(6 * time.Hour), 7},             // strictly after from
		{t0.Add(24 * time.Hour), 10},           // nothing recent: after the last
	} {
		for name, q := range map[string]auditQuerier{"indexed": st, "view": viewOnly} {
			if n, err := startSeq(ctx, q, c.from); err != nil || n != c.want {
				t.Errorf("%s, from %s: %d, %v; want %d", name, c.from, n, err, c.want)
			}
		}
	}
}

// viewQuerier refuses queries of the audit_events table, like a store
// whose table differs.
type viewQuerier struct{ st *sqlstore.Store }

func (v viewQuerier) QueryAudit(ctx context.Context, q string, maxRows int, timeout time.Duration) ([]string, [][]any, error) {
	if strings.Contains(q, "audit_events") {
		return nil, nil, errors.New("no such table")
	}
	return v.st.QueryAudit(ctx, q, maxRows, timeout)
}

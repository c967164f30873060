package audit_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
	"github.com/irsa-dev/irsa/internal/store/sqlstore/audittamper"
)

var t0 = time.Date(2026, time.November, 20, 10, 0, 0, 0, time.UTC)

// trail is a store on a file, and a second connection to the same file to
// tamper with it behind the store's back.
type trail struct {
	*sqlstore.Store
	raw *sql.DB
}

func newTrail(t *testing.T) *trail {
	t.Helper()
	path := filepath.Join(t.TempDir(), "irsa.db")
	st, err := sqlstore.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() {
		_ = raw.Close()
		_ = st.Close()
	})
	return &trail{st, raw}
}

func (tr *trail) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := audittamper.Exec(t.Context(), tr.raw, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// fill appends n events, one per append.
func (tr *trail) fill(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		e := &audit.Event{EventTime: t0.Add(time.Duration(i) * time.Second), EventSource: audit.SourceSTS,
			EventName: "GetCallerIdentity", EventID: fmt.Sprintf("ev-%d", i), RecipientAccountID: "000000000000"}
		rec, err := e.Record()
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		if _, err := tr.AppendAudit(t.Context(), []store.AuditRecord{rec}); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
}

// rawExec runs one statement on the database file itself, past the
// store, and wants it to change a row.
func (tr *trail) rawExec(t *testing.T, q string) {
	t.Helper()
	res, err := tr.raw.ExecContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		t.Fatalf("%s changed %d rows (%v)", q, n, err)
	}
}

// kinds lists the problems as kind@seq(-lastSeq).
func kinds(r *audit.Report) []string {
	var out []string
	for _, p := range r.Problems {
		s := fmt.Sprintf("%s@%d", p.Kind, p.Seq)
		if p.LastSeq != p.Seq {
			s += fmt.Sprintf("-%d", p.LastSeq)
		}
		out = append(out, s)
	}
	return out
}

func TestChainHash(t *testing.T) {
	event := []byte(`{"a":1}`)
	want := sha256.Sum256(append(make([]byte, 32), event...))
	if got := audit.ChainHash(audit.ZeroHash, event); !bytes.Equal(got, want[:]) {
		t.Errorf("ChainHash = %x, want %x", got, want)
	}
}

func TestVerifyIntact(t *testing.T) {
	tr := newTrail(t)
	rep, err := audit.Verify(t.Context(), tr)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&audit.Report{Problems: []audit.Problem{}}, rep); d != "" {
		t.Errorf("empty trail (-want +got):\n%s", d)
	}

	tr.fill(t, 2500) // more than one page
	rep, err = audit.Verify(t.Context(), tr)
	if err != nil {
		t.Fatal(err)
	}
	last, err := tr.ListAudit(t.Context(), 2499, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := &audit.Report{Records: 2500, FirstSeq: 1, LastSeq: 2500, LastHash: hex.EncodeToString(last[0].Hash), Problems: []audit.Problem{}}
	if d := cmp.Diff(want, rep); d != "" {
		t.Errorf("intact trail (-want +got):\n%s", d)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, tr *trail)
		want   []string
	}{
		{"nothing", func(*testing.T, *trail) {}, nil},
		{"byte flipped in an event", func(t *testing.T, tr *trail) {
			tr.exec(t, `UPDATE audit_events SET event = replace(event, 'ev-4', 'ev-5') WHERE seq = 5`)
		}, []string{"modified@5"}},
		{"hash changed", func(t *testing.T, tr *trail) {
			tr.exec(t, `UPDATE audit_events SET hash = zeroblob(32) WHERE seq = 9`)
		}, []string{"modified@9", "modified@10"}},
		{"first record changed", func(t *testing.T, tr *trail) {
			tr.exec(t, `UPDATE audit_events SET event = event || ' ' WHERE seq = 1`)
		}, []string{"modified@1"}},
		{"record deleted", func(t *testing.T, tr *trail) {
			tr.exec(t, `DELETE FROM audit_events WHERE seq = 4`)
		}, []string{"deleted@4"}},
		{"records deleted", func(t *testing.T, tr *trail) {
			tr.exec(t, `DELETE FROM audit_events WHERE seq BETWEEN 3 AND 6`)
		}, []string{"deleted@3-6"}},
		{"head deleted", func(t *testing.T, tr *trail) {
			tr.exec(t, `DELETE FROM audit_events WHERE seq <= 2`)
		}, []string{"deleted@1-2"}},
		{"two records swapped", func(t *testing.T, tr *trail) {
			tr.exec(t, `UPDATE audit_events SET seq = -3 WHERE seq = 3`)
			tr.exec(t, `UPDATE audit_events SET seq = 3 WHERE seq = 7`)
			tr.exec(t, `UPDATE audit_events SET seq = 7 WHERE seq = -3`)
		}, []string{"reordered@3", "reordered@4", "reordered@7", "reordered@8"}},
		// The store's rows changed by hand so that they no longer read
		// back (see package auditrow): found, and the rest still checked.
		{"row with a byte added", func(t *testing.T, tr *trail) {
			tr.rawExec(t, `UPDATE audit_batches SET events = CAST(events || x'20' AS BLOB) WHERE first_seq = 5`)
		}, []string{"damaged@5"}},
		{"row claiming more records", func(t *testing.T, tr *trail) {
			// Records 6 and 7 are read as the damaged row's.
			tr.rawExec(t, `UPDATE audit_batches SET last_seq = 7 WHERE first_seq = 5`)
		}, []string{"damaged@5-7"}},
		{"damaged row after a deleted one", func(t *testing.T, tr *trail) {
			tr.rawExec(t, `DELETE FROM audit_batches WHERE first_seq = 4`)
			tr.rawExec(t, `UPDATE audit_batches SET bounds = '[[0,1]]' WHERE first_seq = 5`)
		}, []string{"deleted@4", "damaged@5"}},
		{"events swapped in place", func(t *testing.T, tr *trail) {
			tr.exec(t, `UPDATE audit_events SET event = (SELECT event FROM audit_events WHERE seq = 6) WHERE seq = 2`)
		}, []string{"modified@2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrail(t)
			tr.fill(t, 12)
			tc.tamper(t, tr)
			rep, err := audit.Verify(t.Context(), tr)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, kinds(rep)); d != "" {
				t.Errorf("problems (-want +got):\n%s\n%+v", d, rep.Problems)
			}
			if rep.OK() != (len(tc.want) == 0) {
				t.Errorf("OK() = %v with problems %v", rep.OK(), tc.want)
			}
		})
	}
}

func TestCheckpoints(t *testing.T) {
	ctx := t.Context()
	tr := newTrail(t)
	tr.fill(t, 10)
	c1, err := audit.WriteCheckpoint(ctx, tr, nil, t0)
	if err != nil {
		t.Fatalf("WriteCheckpoint: %v", err)
	}
	if c1.Seq != 10 {
		t.Errorf("checkpoint Seq = %d, want 10", c1.Seq)
	}
	// Nothing new: the same checkpoint.
	again, err := audit.WriteCheckpoint(ctx, tr, nil, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c1, again); d != "" {
		t.Errorf("checkpoint of an unchanged trail (-want +got):\n%s", d)
	}
	tr.fill(t, 5)
	c2, err := audit.WriteCheckpoint(ctx, tr, nil, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if c2.Seq != 15 {
		t.Errorf("second checkpoint Seq = %d, want 15", c2.Seq)
	}

	v, err := audit.Verifier(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	cps, bad, err := audit.Checkpoints(ctx, tr, v)
	if err != nil || len(bad) != 0 {
		t.Fatalf("Checkpoints: %v %v", bad, err)
	}
	if d := cmp.Diff([]audit.Checkpoint{c1, c2}, cps); d != "" {
		t.Errorf("stored checkpoints (-want +got):\n%s", d)
	}
	opened, err := audit.OpenCheckpoint(c2.Note, v)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c2, opened); d != "" {
		t.Errorf("OpenCheckpoint (-want +got):\n%s", d)
	}

	rep, err := audit.VerifyStore(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Checkpoints != 2 || rep.Records != 15 {
		t.Errorf("VerifyStore of an intact trail = %+v", rep)
	}
}

func TestCheckpointFindsTruncationAndRewrite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, tr *trail)
		want   []string
	}{
		{"tail truncated", func(t *testing.T, tr *trail) {
			tr.exec(t, `DELETE FROM audit_events WHERE seq > 7`)
		}, []string{"truncated@8-10"}},
		{"everything deleted", func(t *testing.T, tr *trail) {
			tr.exec(t, `DELETE FROM audit_events`)
		}, []string{"truncated@1-10"}},
		{"chain rebuilt after a change", func(t *testing.T, tr *trail) {
			// Change record 4 and recompute every hash from it on: the
			// links hold, the checkpoint does not.
			rows, err := tr.raw.QueryContext(t.Context(), `SELECT seq, event FROM events ORDER BY seq`)
			if err != nil {
				t.Fatal(err)
			}
			type rec struct {
				seq   int64
				event string
			}
			var recs []rec
			for rows.Next() {
				var r rec
				if err := rows.Scan(&r.seq, &r.event); err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
			}
			_ = rows.Close()
			prev := audit.ZeroHash
			for _, r := range recs {
				if r.seq == 4 {
					r.event = strings.Replace(r.event, "ev-3", "ev-X", 1)
				}
				h := audit.ChainHash(prev, []byte(r.event))
				tr.exec(t, `UPDATE audit_events SET event = $1, hash = $2 WHERE seq = $3`, r.event, h, r.seq)
				prev = h
			}
		}, []string{"rewritten@10"}},
		{"checkpoint forged", func(t *testing.T, tr *trail) {
			tr.exec(t, `UPDATE settings SET value = replace(value, 'time ', 'time  ') WHERE name = 'audit.checkpoint.1'`)
		}, []string{"bad-checkpoint@0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrail(t)
			tr.fill(t, 10)
			if _, err := audit.WriteCheckpoint(t.Context(), tr, nil, t0); err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, tr)
			rep, err := audit.VerifyStore(t.Context(), tr)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, kinds(rep)); d != "" {
				t.Errorf("problems (-want +got):\n%s\n%+v", d, rep.Problems)
			}
		})
	}
}

// TestCheckpointRefusesTamperedTrail: a checkpoint never vouches for a
// trail that no longer matches the previous one or is broken after it.
func TestCheckpointRefusesTamperedTrail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper string
	}{
		{"tail truncated", `DELETE FROM audit_events WHERE seq >= 4`},
		{"checkpointed record changed", `UPDATE audit_events SET hash = zeroblob(32) WHERE seq = 5`},
		{"record after the checkpoint changed", `UPDATE audit_events SET event = event || ' ' WHERE seq = 7`},
		{"record after the checkpoint deleted", `DELETE FROM audit_events WHERE seq = 6`},
		{"first checkpoint over a broken chain", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrail(t)
			tr.fill(t, 5)
			if tc.tamper == "" {
				tr.exec(t, `UPDATE audit_events SET event = event || ' ' WHERE seq = 2`)
			} else if _, err := audit.WriteCheckpoint(t.Context(), tr, nil, t0); err != nil {
				t.Fatal(err)
			}
			tr.fill(t, 3)
			if tc.tamper != "" {
				tr.exec(t, tc.tamper)
			}
			if c, err := audit.WriteCheckpoint(t.Context(), tr, nil, t0.Add(time.Minute)); err == nil {
				t.Fatalf("WriteCheckpoint over a tampered trail signed %+v, want an error", c)
			}
		})
	}
}

func TestCheckpointOtherKey(t *testing.T) {
	a, b := newTrail(t), newTrail(t)
	a.fill(t, 3)
	c, err := audit.WriteCheckpoint(t.Context(), a, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, vb, err := audit.SigningKey(t.Context(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.OpenCheckpoint(c.Note, vb); err == nil {
		t.Error("a checkpoint opened with another store's key")
	}
	va, err := audit.Verifier(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.OpenCheckpoint(bytes.Replace(c.Note, []byte("\n3\n"), []byte("\n2\n"), 1), va); err == nil {
		t.Error("a checkpoint with a changed Seq opened")
	}
}

func TestSigningKeyIsStable(t *testing.T) {
	tr := newTrail(t)
	if _, err := audit.Verifier(t.Context(), tr); err == nil {
		t.Fatal("Verifier of a store without a key succeeded")
	}
	s1, v1, err := audit.SigningKey(t.Context(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, v2, err := audit.SigningKey(t.Context(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s1.KeyHash() != s2.KeyHash() || v1.KeyHash() != v2.KeyHash() || s1.KeyHash() != v1.KeyHash() || s1.Name() != audit.KeyName {
		t.Errorf("the key changed between calls: %x %x %x %x", s1.KeyHash(), s2.KeyHash(), v1.KeyHash(), v2.KeyHash())
	}
}

package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore/pgtest"
	"github.com/irsa-dev/irsa/internal/store/storetest"
)

func TestConformancePostgres(t *testing.T) {
	pgDSN(t) // skip (or fail) before the subtests when there is no server
	before := unprepared.Load()
	storetest.Run(t, func(t *testing.T) store.Store { return openPostgresTemp(t) })
	if n := unprepared.Load() - before; n != 0 {
		t.Errorf("%d queries ran unprepared: register every statement with stmt", n)
	}
}

func TestPostgresReopenKeepsData(t *testing.T) {
	dsn := pgDSN(t)
	testReopenKeepsData(t, func(ctx context.Context) (*Store, error) { return OpenPostgres(ctx, dsn) })
}

// TestPostgresConcurrentOpen starts several replicas on one new database at
// once: the migrations run once, and every replica opens.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := pgDSN(t)
	const replicas = 6
	var wg sync.WaitGroup
	stores := make([]*Store, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = OpenPostgres(t.Context(), dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: OpenPostgres: %v", i, err)
		}
		defer stores[i].Close()
	}
	ms, err := loadMigrations(migrationsFS, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := stores[0].read.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows after %d concurrent opens, want %d", n, replicas, len(ms))
	}
}

// TestPostgresAuditReplicas appends to one trail from several stores at
// once, as replicas behind a load balancer do: the chain has no gap, no
// fork and no duplicate.
func TestPostgresAuditReplicas(t *testing.T) {
	ctx := t.Context()
	dsn := pgDSN(t)
	const replicas, writers, batches, perBatch = 3, 4, 10, 3
	stores := make([]*Store, replicas)
	for i := range stores {
		s, err := OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	var wg sync.WaitGroup
	errs := make(chan error, replicas*writers)
	for r, s := range stores {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batches {
					var recs []store.AuditRecord
					for i := range perBatch {
						recs = append(recs, store.AuditRecord{
							Event:     fmt.Appendf(nil, `{"replica":%d,"writer":%d,"batch":%d,"i":%d}`, r, w, b, i),
							EventName: "X", EventTime: time.Unix(int64(b), 0)})
					}
					got, err := s.AppendAudit(ctx, recs)
					if err != nil {
						errs <- err
						return
					}
					for i := 1; i < len(got); i++ {
						if got[i].Seq != got[i-1].Seq+1 {
							errs <- fmt.Errorf("one batch got Seqs %d then %d: not contiguous", got[i-1].Seq, got[i].Seq)
							return
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("AppendAudit: %v", err)
	}
	const total = replicas * writers * batches * perBatch
	recs, err := stores[0].ListAudit(ctx, 0, 2*total)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != total {
		t.Fatalf("the trail has %d records, want %d", len(recs), total)
	}
	prev := make([]byte, sha256.Size)
	seen := map[string]bool{}
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has Seq %d", i, r.Seq)
		}
		h := sha256.Sum256(append(append([]byte{}, prev...), r.Event...))
		if !bytes.Equal(r.Hash, h[:]) {
			t.Fatalf("record %d: hash does not follow from the previous one: the chain forked", r.Seq)
		}
		if seen[string(r.Event)] {
			t.Fatalf("record %d: event %s appended twice", r.Seq, r.Event)
		}
		seen[string(r.Event)] = true
		prev = r.Hash
	}
}

func TestPostgresEventsView(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	appendEvents(t, s, ctEvent)

	// The same query as TestEventsView runs on SQLite, with the portable
	// path form for the nested fields.
	cols, rows, err := s.QueryAudit(t.Context(), `SELECT seq, eventVersion, eventTime, eventSource, eventName, awsRegion,
		sourceIPAddress, userAgent, errorCode, errorMessage, requestID, eventID, eventType, readOnly,
		recipientAccountId, userIdentity, requestParameters, responseElements, explanation, tokenHash,
		userIdentity ->> 'type' AS type, requestParameters ->> 'durationSeconds' AS duration
		FROM events`, 0, 0)
	if err != nil {
		t.Fatalf("QueryAudit: %v", err)
	}
	wantCols := []string{"seq", "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestID", "eventID", "eventType", "readOnly",
		"recipientAccountId", "userIdentity", "requestParameters", "responseElements", "explanation", "tokenHash",
		"type", "duration"}
	if d := cmp.Diff(wantCols, cols); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	// Differences from SQLite: JSON true reads as "true" (SQLite: 1), and
	// ->> gives text (SQLite: the JSON type's SQL value).
	want := [][]any{{int64(1), "1.08", "2026-11-20T10:11:12Z", "sts.amazonaws.com", "AssumeRoleWithWebIdentity", "us-east-1",
		"10.1.2.3", "aws-sdk-go-v2/1.0", "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", "req-1", "ev-1", "AwsApiCall", "true",
		"000000000000",
		`{"type":"WebIdentityUser","principalId":"arn:aws:iam::000000000000:oidc-provider/oidc.example:sts.amazonaws.com:system:serviceaccount:team-a:app","userName":"system:serviceaccount:team-a:app","identityProvider":"arn:aws:iam::000000000000:oidc-provider/oidc.example"}`,
		`{"roleArn":"arn:aws:iam::000000000000:role/app","roleSessionName":"s1","durationSeconds":3600}`,
		"null",
		`[{"policyType":"trust","statementIndex":0,"message":"no match"}]`,
		"abc", "WebIdentityUser", "3600"}}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}

	// The event comes back byte for byte.
	_, rows, err = s.QueryAudit(t.Context(), `SELECT event FROM events`, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][]any{{ctEvent}}, rows); d != "" {
		t.Errorf("event (-want +got):\n%s", d)
	}
}

// TestPostgresJSONExtract: SQLite's json_extract, as the queries written
// for the SQLite store use it.
func TestPostgresJSONExtract(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	appendEvents(t, s, `{"eventName":"X","userIdentity":{"userName":"u","sessionContext":{"attributes":{"mfa":"false"}}},"resources":[{"ARN":"a0"},{"ARN":"a1"}],"n":7}`)
	_, rows, err := s.QueryAudit(t.Context(), `SELECT json_extract(userIdentity, '$.userName'),
		json_extract(userIdentity, '$.sessionContext.attributes.mfa'),
		json_extract(event, '$.resources[1].ARN'), json_extract(event, '$.n'),
		json_extract(event, '$.missing'), json_extract(userIdentity, '$'),
		(SELECT json_extract(event, '$.eventName') FROM audit_events)
		FROM events`, 0, 0)
	if err != nil {
		t.Fatalf("QueryAudit: %v", err)
	}
	want := [][]any{{"u", "false", "a1", "7", nil, `{"userName":"u","sessionContext":{"attributes":{"mfa":"false"}}}`, "X"}}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestPostgresEventsViewColumns pins the view's column list, named as on
// SQLite.
func TestPostgresEventsViewColumns(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	testEventsViewColumns(t, s)
}

func TestPostgresQueryAuditRefuses(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	ctx := t.Context()
	appendEvents(t, s, ctEvent)
	for _, q := range []string{
		``,
		`;`,
		`DELETE FROM audit_events`,
		`UPDATE audit_events SET event = '{}'`,
		`DROP VIEW events`,
		`SET default_transaction_read_only = off`,
		`COPY audit_events TO STDOUT`,
		`SELECT 1; DELETE FROM audit_events`,
		`/* hidden */ DELETE FROM audit_events`,
		// Pass the statement check, and fail because the transaction
		// only reads.
		`WITH x AS (DELETE FROM audit_events RETURNING seq) SELECT count(*) FROM x`,
		`WITH x AS (SELECT 1) INSERT INTO settings (name, value) VALUES ('a', 'b')`,
		`SELECT * FROM audit_events FOR UPDATE`,
		`SELECT set_config('transaction_read_only', 'off', true), (WITH d AS (DELETE FROM audit_events RETURNING 1) SELECT count(*) FROM d)`,
	} {
		if _, _, err := s.QueryAudit(ctx, q, 0, 0); err == nil {
			t.Errorf("QueryAudit(%q) succeeded, want an error", q)
		}
	}
	_, rows, err := s.QueryAudit(ctx, `SELECT count(*) FROM audit_events`, 0, 0)
	if err != nil {
		t.Fatalf("QueryAudit count: %v", err)
	}
	if d := cmp.Diff([][]any{{int64(1)}}, rows); d != "" {
		t.Errorf("audit_events after refused queries (-want +got):\n%s", d)
	}
	if _, err := s.GetSetting(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("setting written by a refused query: %v", err)
	}
}

// TestPostgresQueryAuditSessionIsolated: what a query may change for its
// session (settings, advisory locks) dies with its connection, and the
// store goes on as before.
func TestPostgresQueryAuditSessionIsolated(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	ctx := t.Context()
	for _, q := range []string{
		`SELECT set_config('search_path', 'nowhere', false)`,
		`SELECT set_config('statement_timeout', '1', false)`,
		`SELECT pg_advisory_lock(42)`,
	} {
		for range 3 { // enough to have touched more than one pooled connection
			if _, _, err := s.QueryAudit(ctx, q, 0, 0); err != nil {
				t.Fatalf("QueryAudit(%q): %v", q, err)
			}
		}
	}
	// No other session sees the advisory lock as held.
	_, rows, err := s.QueryAudit(ctx, `SELECT pg_try_advisory_lock(42)`, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][]any{{true}}, rows); d != "" {
		t.Errorf("advisory lock taken by an earlier query is still held (-want +got):\n%s", d)
	}
	// The store's own statements still find their tables and take their
	// time.
	for i := range 20 {
		if err := s.CreateAccount(ctx, store.Account{ID: fmt.Sprintf("%012d", i)}); err != nil {
			t.Fatalf("CreateAccount after the queries: %v", err)
		}
	}
	appendEvents(t, s, `{"after":true}`)
}

func TestPostgresQueryAuditAccepts(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	ts := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	for _, tc := range []struct {
		q    string
		want [][]any
	}{
		{`SELECT 1`, [][]any{{int64(1)}}},
		{`  select 1;  `, [][]any{{int64(1)}}},
		{`SELECT ';' -- a comment; with a semicolon`, [][]any{{";"}}},
		{`/* lead */ SELECT "a;b" FROM (SELECT 2 AS "a;b") x;`, [][]any{{int64(2)}}},
		{`SELECT 'it''s; fine'`, [][]any{{"it's; fine"}}},
		{`WITH x(n) AS (VALUES (1), (2)) SELECT n FROM x ORDER BY n`, [][]any{{int64(1)}, {int64(2)}}},
		{`VALUES ('\x00ff'::bytea)`, [][]any{{[]byte{0, 0xff}}}},
		{`SELECT NULL, 1.5::float8, true`, [][]any{{nil, 1.5, true}}},
		{`SELECT '{"a": [1, 2]}'::json, '{"b":1}'::jsonb`, [][]any{{`{"a": [1, 2]}`, `{"b": 1}`}}},
		{`SELECT timestamptz '2026-11-22T01:02:03Z'`, [][]any{{ts}}},
	} {
		_, rows, err := s.QueryAudit(t.Context(), tc.q, 0, 0)
		if err != nil {
			t.Errorf("QueryAudit(%q): %v", tc.q, err)
			continue
		}
		if d := cmp.Diff(tc.want, rows, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
			t.Errorf("QueryAudit(%q) (-want +got):\n%s", tc.q, d)
		}
	}
}

func TestPostgresQueryAuditLimits(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	testRowLimit(t, s)

	for _, q := range []string{
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c`,
		`SELECT pg_sleep(30)`,
		// A query that lifts its own statement timeout is still stopped.
		`SELECT set_config('statement_timeout', '0', true), pg_sleep(30)`,
	} {
		start := time.Now()
		_, _, err := s.QueryAudit(t.Context(), q, 0, 200*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("endless query %q: error %v, want DeadlineExceeded", q, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("endless query %q ran %v after a 200ms timeout", q, el)
		}
	}
	// The store is still usable.
	appendEvents(t, s, `{"n":4}`)
}

// TestPostgresSevenDaysQuery runs the documented query in PostgreSQL's
// dialect: which service accounts assumed a role in the last seven days.
func TestPostgresSevenDaysQuery(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	appendEvents(t, s, ctEvent,
		`{"eventTime":"2026-11-21T00:00:00Z","eventName":"AssumeRoleWithWebIdentity","requestParameters":{"roleArn":"arn:aws:iam::000000000000:role/app"},"userIdentity":{"type":"WebIdentityUser","userName":"system:serviceaccount:team-b:web"}}`,
		`{"eventTime":"2026-11-01T00:00:00Z","eventName":"AssumeRoleWithWebIdentity","requestParameters":{"roleArn":"arn:aws:iam::000000000000:role/app"},"userIdentity":{"type":"WebIdentityUser","userName":"system:serviceaccount:old:gone"}}`)
	cols, rows, err := s.QueryAudit(t.Context(), `
		SELECT userIdentity ->> 'userName' AS serviceAccount, count(*) AS calls
		FROM events
		WHERE eventName = 'AssumeRoleWithWebIdentity'
		  AND errorCode IS NULL
		  AND requestParameters ->> 'roleArn' = 'arn:aws:iam::000000000000:role/app'
		  AND eventTime::timestamptz >= timestamptz '2026-11-22T00:00:00Z' - interval '7 days'
		GROUP BY 1 ORDER BY 1`, 0, 0)
	if err != nil {
		t.Fatalf("QueryAudit: %v", err)
	}
	if d := cmp.Diff([]string{"serviceaccount", "calls"}, cols); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	if d := cmp.Diff([][]any{{"system:serviceaccount:team-b:web", int64(1)}}, rows); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestPostgresOpenErrors(t *testing.T) {
	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"not a DSN", "postgres://x:y@[::1", "sqlstore: open PostgreSQL"},
		{"nobody listens", fmt.Sprintf("postgres://irsa:hunter2@127.0.0.1:%d/irsa?connect_timeout=2", port), "postgres://irsa:xxxxx@127.0.0.1"},
		{"password in the query", fmt.Sprintf("postgres://127.0.0.1:%d/irsa?password=hunter2&connect_timeout=2", port), "password=xxxxx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenPostgres(t.Context(), tc.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("OpenPostgres(%q) succeeded", tc.dsn)
			}
			if !strings.HasPrefix(err.Error(), "sqlstore: open PostgreSQL") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenPostgres = %q, want a sqlstore error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("OpenPostgres error shows the password: %q", err)
			}
		})
	}
}

func TestPostgresCascade(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	testCascade(t, s)
}

func TestPostgresStaleVersionConflicts(t *testing.T) {
	s := openPostgresTemp(t)
	defer s.Close()
	testStaleVersionConflicts(t, s)
}

func TestPostgresErrorsAreWrapped(t *testing.T) {
	testErrorsAreWrapped(t, openPostgresTemp(t))
}

func TestIsPostgresDSN(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@h/db":     true,
		"postgresql://u@h/db":   true,
		"POSTGRES://h":          true,
		"host=h dbname=irsa":    false,
		"/var/lib/irsa/irsa.db": false,
		"sqlite:///tmp/irsa.db": false,
		"mysql://u@h/db":        false,
		"":                      false,
	} {
		if got := IsPostgresDSN(dsn); got != want {
			t.Errorf("IsPostgresDSN(%q) = %v, want %v", dsn, got, want)
		}
	}
}

func TestPostgresMigrateSteps(t *testing.T) {
	ctx := t.Context()
	s := openPostgresTemp(t)
	defer s.Close()
	n, err := migrateLocked(ctx, s.write, migrationsFS, "postgres", postgresDialect.lockMigrations)
	if err != nil || n != 0 {
		t.Fatalf("migrate again = %d, %v; want 0 applied", n, err)
	}
	if err := s.CreateAccount(ctx, store.Account{ID: "000000000000"}); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(migrationsFS, postgresDialect.name)
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].version != 1 || ms[0].name != "init" {
		t.Errorf("first embedded PostgreSQL migration is %04d_%s, want 0001_init", ms[0].version, ms[0].name)
	}
	sqlite, err := loadMigrations(migrationsFS, sqliteDialect.name)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []migration) []string {
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%04d_%s", m.version, m.name))
		}
		return out
	}
	if d := cmp.Diff(names(sqlite), names(ms)); d != "" {
		t.Errorf("the PostgreSQL migrations do not follow the SQLite ones (-sqlite +postgres):\n%s", d)
	}
}

// BenchmarkPostgresAppendAudit appends batches of audit records on the test
// server (which runs with fsync off: the figures leave out the disk), from
// one writer and from four at once, which the chain's table lock
// serializes; ns/op is per record.
func BenchmarkPostgresAppendAudit(b *testing.B) {
	event := []byte(ctEvent)
	for _, writers := range []int{1, 4} {
		for _, batch := range []int{1, 32} {
			b.Run(fmt.Sprintf("writers=%d/batch=%d", writers, batch), func(b *testing.B) {
				s := openPostgresTemp(b)
				defer s.Close()
				recs := make([]store.AuditRecord, batch)
				for i := range recs {
					recs[i] = store.AuditRecord{Event: event, EventTime: time.Now(), EventSource: "sts.amazonaws.com",
						EventName: "AssumeRoleWithWebIdentity", SourceIP: "10.1.2.3", AccountID: "000000000000"}
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(int64(batch)) <= int64(b.N)+int64(batch)-1 {
							if _, err := s.AppendAudit(context.Background(), recs); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
			})
		}
	}
}

// BenchmarkPostgresGetRole reads a role (three tables in one snapshot).
func BenchmarkPostgresGetRole(b *testing.B) {
	s := openPostgresTemp(b)
	defer s.Close()
	ctx := b.Context()
	r := store.Role{AccountID: "000000000000", Name: "s3-reader", Path: "/", TrustPolicy: "{}",
		InlinePolicies:     []store.InlinePolicy{{Name: "s3", Document: "{}"}},
		AttachedPolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}}
	if err := s.CreateRole(ctx, r); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetRole(ctx, "000000000000", "s3-reader"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

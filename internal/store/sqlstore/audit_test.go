package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/store"
)

// ctEvent is a CloudTrail record as irsa writes it.
const ctEvent = `{"eventVersion":"1.08","userIdentity":{"type":"WebIdentityUser","principalId":"arn:aws:iam::000000000000:oidc-provider/oidc.example:sts.amazonaws.com:system:serviceaccount:team-a:app","userName":"system:serviceaccount:team-a:app","identityProvider":"arn:aws:iam::000000000000:oidc-provider/oidc.example"},"eventTime":"2026-11-20T10:11:12Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity","awsRegion":"us-east-1","sourceIPAddress":"10.1.2.3","userAgent":"aws-sdk-go-v2/1.0","errorCode":"AccessDenied","errorMessage":"Not authorized to perform sts:AssumeRoleWithWebIdentity","requestParameters":{"roleArn":"arn:aws:iam::000000000000:role/app","roleSessionName":"s1","durationSeconds":3600},"responseElements":null,"requestID":"req-1","eventID":"ev-1","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"000000000000","eventCategory":"Management","explanation":[{"policyType":"trust","statementIndex":0,"message":"no match"}],"tokenHash":"abc"}`

func appendEvents(t *testing.T, s *Store, events ...string) {
	t.Helper()
	var recs []store.AuditRecord
	for _, e := range events {
		recs = append(recs, store.AuditRecord{Event: []byte(e), EventName: "X"})
	}
	if _, err := s.AppendAudit(t.Context(), recs); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
}

func TestEventsView(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	appendEvents(t, s, ctEvent)

	cols, rows, err := s.QueryAudit(t.Context(), `SELECT seq, eventVersion, eventTime, eventSource, eventName, awsRegion,
		sourceIPAddress, userAgent, errorCode, errorMessage, requestID, eventID, eventType, readOnly,
		recipientAccountId, userIdentity, requestParameters, responseElements, explanation, tokenHash,
		userIdentity ->> '$.type', requestParameters ->> '$.durationSeconds'
		FROM events`, 0, 0)
	if err != nil {
		t.Fatalf("QueryAudit: %v", err)
	}
	wantCols := []string{"seq", "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestID", "eventID", "eventType", "readOnly",
		"recipientAccountId", "userIdentity", "requestParameters", "responseElements", "explanation", "tokenHash",
		"userIdentity ->> '$.type'", "requestParameters ->> '$.durationSeconds'"}
	if d := cmp.Diff(wantCols, cols); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	want := [][]any{{int64(1), "1.08", "2026-11-20T10:11:12Z", "sts.amazonaws.com", "AssumeRoleWithWebIdentity", "us-east-1",
		"10.1.2.3", "aws-sdk-go-v2/1.0", "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", "req-1", "ev-1", "AwsApiCall", int64(1),
		"000000000000",
		`{"type":"WebIdentityUser","principalId":"arn:aws:iam::000000000000:oidc-provider/oidc.example:sts.amazonaws.com:system:serviceaccount:team-a:app","userName":"system:serviceaccount:team-a:app","identityProvider":"arn:aws:iam::000000000000:oidc-provider/oidc.example"}`,
		`{"roleArn":"arn:aws:iam::000000000000:role/app","roleSessionName":"s1","durationSeconds":3600}`,
		"null",
		`[{"policyType":"trust","statementIndex":0,"message":"no match"}]`,
		"abc", "WebIdentityUser", int64(3600)}}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}

// TestEventsViewColumns pins the view's column list: it is a stable
// interface for the queries people save.
func TestEventsViewColumns(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	testEventsViewColumns(t, s)
}

// testEventsViewColumns checks the events view of an empty trail: its
// columns, named as CloudTrail names the fields, on every backend.
func testEventsViewColumns(t *testing.T, s *Store) {
	t.Helper()
	cols, rows, err := s.QueryAudit(t.Context(), `SELECT * FROM events`, 0, 0)
	if err != nil {
		t.Fatalf("QueryAudit: %v", err)
	}
	want := []string{"seq", "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
		"userAgent", "errorCode", "errorMessage", "requestID", "eventID", "eventType", "readOnly", "recipientAccountId",
		"userIdentity", "requestParameters", "responseElements", "explanation", "tokenHash", "event"}
	if d := cmp.Diff(want, cols); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	if len(rows) != 0 {
		t.Errorf("rows of an empty trail = %v", rows)
	}
}

func TestQueryAuditRefuses(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	appendEvents(t, s, ctEvent)
	for _, q := range []string{
		``,
		`   -- nothing but a comment`,
		`;`,
		`DELETE FROM audit_batches`,
		`UPDATE audit_batches SET event = '{}'`,
		`INSERT INTO settings (name, value) VALUES ('a', 'b')`,
		`DROP VIEW events`,
		`PRAGMA query_only = 0`,
		`ATTACH DATABASE '/tmp/x.db' AS x`,
		`SELECT 1; DELETE FROM audit_batches`,
		`SELECT 1;; `,
		`/* hidden */ DELETE FROM audit_batches`,
		`SELECT 'unterminated`,
		`SELECT 1 /* unterminated`,
		// Passes the statement check, and fails because the connection
		// only reads.
		`WITH x AS (SELECT 1) DELETE FROM audit_batches`,
		`WITH x AS (SELECT 1) INSERT INTO settings (name, value) VALUES ('a', 'b')`,
	} {
		if _, _, err := s.QueryAudit(t.Context(), q, 0, 0); err == nil {
			t.Errorf("QueryAudit(%q) succeeded, want an error", q)
		}
	}
	_, rows, err := s.QueryAudit(t.Context(), `SELECT count(*) FROM audit_batches`, 0, 0)
	if err != nil {
		t.Fatalf("QueryAudit count: %v", err)
	}
	if d := cmp.Diff([][]any{{int64(1)}}, rows); d != "" {
		t.Errorf("audit_batches after refused queries (-want +got):\n%s", d)
	}
	if _, err := s.GetSetting(t.Context(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("setting written by a refused query: %v", err)
	}
}

func TestQueryAuditAccepts(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	for _, tc := range []struct {
		q    string
		want [][]any
	}{
		{`SELECT 1`, [][]any{{int64(1)}}},
		{`  select 1;  `, [][]any{{int64(1)}}},
		{`SELECT ';' -- a comment; with a semicolon`, [][]any{{";"}}},
		{`/* lead */ SELECT "a;b" FROM (SELECT 2 AS "a;b");`, [][]any{{int64(2)}}},
		{`SELECT 'it''s; fine'`, [][]any{{"it's; fine"}}},
		{`WITH x(n) AS (VALUES (1), (2)) SELECT n FROM x ORDER BY n`, [][]any{{int64(1)}, {int64(2)}}},
		{`VALUES (x'00ff')`, [][]any{{[]byte{0, 0xff}}}},
		{`SELECT NULL, 1.5`, [][]any{{nil, 1.5}}},
	} {
		_, rows, err := s.QueryAudit(t.Context(), tc.q, 0, 0)
		if err != nil {
			t.Errorf("QueryAudit(%q): %v", tc.q, err)
			continue
		}
		if d := cmp.Diff(tc.want, rows); d != "" {
			t.Errorf("QueryAudit(%q) (-want +got):\n%s", tc.q, d)
		}
	}
}

func TestQueryAuditLimits(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	testRowLimit(t, s)

	start := time.Now()
	_, _, err := s.QueryAudit(t.Context(),
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c`, 0, 100*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("endless query: error %v, want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("endless query ran %v after a 100ms timeout", el)
	}
}

// TestSevenDaysQuery runs the documented query: which service accounts
// assumed a role in the last seven days.
func TestSevenDaysQuery(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	appendEvents(t, s, ctEvent,
		`{"eventTime":"2026-11-21T00:00:00Z","eventName":"AssumeRoleWithWebIdentity","requestParameters":{"roleArn":"arn:aws:iam::000000000000:role/app"},"userIdentity":{"type":"WebIdentityUser","userName":"system:serviceaccount:team-b:web"}}`,
		`{"eventTime":"2026-11-01T00:00:00Z","eventName":"AssumeRoleWithWebIdentity","requestParameters":{"roleArn":"arn:aws:iam::000000000000:role/app"},"userIdentity":{"type":"WebIdentityUser","userName":"system:serviceaccount:old:gone"}}`)
	_, rows, err := s.QueryAudit(t.Context(), `
		SELECT userIdentity ->> '$.userName' AS serviceAccount, count(*) AS calls
		FROM events
		WHERE eventName = 'AssumeRoleWithWebIdentity'
		  AND errorCode IS NULL
		  AND requestParameters ->> '$.roleArn' = 'arn:aws:iam::000000000000:role/app'
		  AND eventTime >= strftime('%Y-%m-%dT%H:%M:%SZ', '2026-11-22T00:00:00Z', '-7 days')
		GROUP BY 1 ORDER BY 1`, 0, 0)
	if err != nil {
		t.Fatalf("QueryAudit: %v", err)
	}
	if d := cmp.Diff([][]any{{"system:serviceaccount:team-b:web", int64(1)}}, rows); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// testRowLimit: a query stops at its row limit with ErrRowLimit and the
// rows up to it, and a query of exactly the limit succeeds.
func testRowLimit(t *testing.T, s *Store) {
	t.Helper()
	appendEvents(t, s, `{"n":1}`, `{"n":2}`, `{"n":3}`)

	_, rows, err := s.QueryAudit(t.Context(), `SELECT seq FROM events ORDER BY seq`, 2, 0)
	if !errors.Is(err, ErrRowLimit) {
		t.Errorf("QueryAudit over the row limit: error %v, want ErrRowLimit", err)
	}
	if d := cmp.Diff([][]any{{int64(1)}, {int64(2)}}, rows); d != "" {
		t.Errorf("rows up to the limit (-want +got):\n%s", d)
	}
	_, rows, err = s.QueryAudit(t.Context(), `SELECT seq FROM events ORDER BY seq`, 3, 0)
	if err != nil || len(rows) != 3 {
		t.Errorf("QueryAudit at exactly the limit: %d rows, %v", len(rows), err)
	}
}

// FuzzCheckSelect: the statement check never panics, and what it accepts
// has a SELECT, WITH or VALUES keyword.
func FuzzCheckSelect(f *testing.F) {
	for _, s := range []string{`SELECT 1`, `select 1;`, `WITH x AS (SELECT 1) SELECT * FROM x`, `SELECT 1; DROP TABLE x`,
		`/* c */ SELECT '--;'`, `SELECT "a""b"`, `SELECT [a;b]`, "SELECT `x`", `-- only`, `DELETE FROM t`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if checkSelect(q) != nil {
			return
		}
		u := strings.ToUpper(q)
		if !strings.Contains(u, "SELECT") && !strings.Contains(u, "WITH") && !strings.Contains(u, "VALUES") {
			t.Errorf("checkSelect accepted %q", q)
		}
	})
}

// TestMigrateAuditBatches: a trail written before 0005 (one row per record
// in audit_events) moves into audit_batches as it was, gaps and damaged
// hashes included, and reads back the same through ListAudit and the
// events view.
func TestMigrateAuditBatches(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "irsa.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// The schema as 0001 … 0004 left it.
	old := fstest.MapFS{}
	for _, name := range []string{"0001_init.sql", "0002_audit.sql", "0003_podidentity.sql", "0004_audit_indexes.sql"} {
		b, err := fs.ReadFile(migrationsFS, "migrations/sqlite/"+name)
		if err != nil {
			t.Fatal(err)
		}
		old["migrations/sqlite/"+name] = &fstest.MapFile{Data: b}
	}
	if n, err := migrate(ctx, raw, old, "sqlite"); err != nil || n != 4 {
		t.Fatalf("migrating to 0004: %d, %v", n, err)
	}
	var want []store.AuditRecord
	prev := make([]byte, sha256.Size)
	for _, seq := range []int64{1, 2, 3, 5, 6, 7} { // 4 deleted
		ev := fmt.Sprintf(`{"eventName":"GetRole","n":%d,"note":"é"}`, seq)
		h := sha256.Sum256(append(append([]byte{}, prev...), ev...))
		r := store.AuditRecord{Seq: seq, Hash: h[:], Event: []byte(ev), EventTime: time.UnixMicro(1_700_000_000_000_000 + seq).UTC(),
			EventSource: "iam.amazonaws.com", EventName: "GetRole", SourceIP: "10.0.0.1", AccountID: "000000000000", RoleARN: "arn:aws:iam::000000000000:role/r"}
		switch seq {
		case 2:
			r.EventTime = time.Time{}
		case 6:
			r.Hash = []byte("short") // changed by hand: kept as a hash that cannot match
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO audit_events (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, r.Hash, string(r.Event), encTime(r.EventTime), r.EventSource, r.EventName, r.ErrorCode, r.SourceIP, r.AccountID, r.Principal, r.RoleARN); err != nil {
			t.Fatal(err)
		}
		if seq == 6 {
			r.Hash = make([]byte, sha256.Size)
		}
		want = append(want, r)
		prev = h[:]
	}

	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("trail after the migration (-want +got):\n%s", d)
	}
	var rows int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM audit_batches`).Scan(&rows); err != nil || rows != 2 {
		t.Errorf("audit_batches has %d rows (%v), want 2: one per run of consecutive records", rows, err)
	}
	_, view, err := s.QueryAudit(ctx, `SELECT seq, event FROM events ORDER BY seq`, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var viewWant [][]any
	for _, r := range want {
		viewWant = append(viewWant, []any{r.Seq, string(r.Event)})
	}
	if d := cmp.Diff(viewWant, view); d != "" {
		t.Errorf("events view after the migration (-want +got):\n%s", d)
	}
	if _, err := raw.ExecContext(ctx, `SELECT 1 FROM audit_events`); err == nil {
		t.Error("audit_events is still there")
	}
}

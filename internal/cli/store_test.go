package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
	"github.com/irsa-dev/irsa/internal/store/sqlstore/pgtest"
)

// pgTrail makes a PostgreSQL store whose trail holds the four events of
// auditDataDir, and returns its DSN.
func pgTrail(t *testing.T) (string, time.Time) {
	t.Helper()
	dsn := pgtest.DSN(t)
	st, err := sqlstore.OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Second)
	for _, e := range []*audit.Event{
		webEvent("system:serviceaccount:old:app", now.Add(-10*24*time.Hour), ""),
		webEvent("system:serviceaccount:staging:app", now.Add(-2*time.Hour), "AccessDenied"),
		webEvent("system:serviceaccount:production:app", now.Add(-time.Hour), ""),
		webEvent("system:serviceaccount:production:app", now.Add(-time.Minute), ""),
	} {
		rec, err := e.Record()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AppendAudit(t.Context(), []store.AuditRecord{rec}); err != nil {
			t.Fatal(err)
		}
	}
	return dsn, now
}

// The last-week query of docs/audit.md in PostgreSQL's dialect:
// json_extract reads as on SQLite; the time arithmetic is PostgreSQL's, and
// an alias keeps its capitals only when quoted (PostgreSQL folds unquoted
// names to lower case; the events view's own columns keep their CloudTrail
// spelling either way).
const lastWeekQueryPostgres = `
SELECT json_extract(userIdentity, '$.userName') AS "serviceAccount",
       count(*) AS assumptions, max(eventTime) AS "lastTime"
FROM events
WHERE eventName = 'AssumeRoleWithWebIdentity' AND errorCode IS NULL
  AND json_extract(requestParameters, '$.roleArn') = 'arn:aws:iam::000000000000:role/s3-reader'
  AND eventTime::timestamptz >= now() - interval '7 days'
GROUP BY 1 ORDER BY 1`

func TestAuditCommandsStore(t *testing.T) {
	dsn, now := pgTrail(t)
	last := now.Add(-time.Minute).Format(audit.TimeFormat)
	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	unreachable := fmt.Sprintf("postgres://irsa:hunter2@127.0.0.1:%d/irsa?connect_timeout=2", port)

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string // a substring of stderr
	}{
		{"the service accounts of the last 7 days", []string{"audit", "query", "--store", dsn, lastWeekQueryPostgres}, 0,
			"serviceAccount                        assumptions  lastTime\n" +
				"system:serviceaccount:production:app  2            " + last + "\n", ""},
		{"JSON columns stay JSON", []string{"audit", "query", "--store", dsn, "--output", "json",
			"SELECT seq, userIdentity, errorCode FROM events WHERE errorCode = 'AccessDenied'"}, 0,
			"[\n  {\"seq\": 2, \"userIdentity\": {\"type\":\"WebIdentityUser\",\"userName\":\"system:serviceaccount:staging:app\"}, \"errorCode\": \"AccessDenied\"}\n]\n", ""},
		{"row limit", []string{"audit", "query", "--store", dsn, "--max-rows", "2", "SELECT seq FROM events ORDER BY seq"}, 0,
			"seq\n1\n2\n", "more rows than --max-rows; only the first 2"},
		{"a write is refused", []string{"audit", "query", "--store", dsn, "DELETE FROM audit_events"}, ExitInvalid, "", "only SELECT"},
		{"a write inside a WITH is refused", []string{"audit", "query", "--store", dsn,
			"WITH x AS (DELETE FROM audit_events RETURNING seq) SELECT count(*) FROM x"}, ExitInvalid, "", "read-only transaction"},
		{"a timeout", []string{"audit", "query", "--store", dsn, "--timeout", "200ms", "SELECT pg_sleep(30)"}, ExitInvalid, "", "interrupted after 200ms"},
		{"verify", []string{"audit", "verify", "--store", dsn}, 0, "OK: 4 records (1 to 4), 0 checkpoints\n", ""},
		{"tail", []string{"audit", "tail", "--store", dsn, "-n", "1", "--output", "json"}, 0, "", ""},
		{"analyze unused", []string{"analyze", "unused", "--store", dsn, "--output", "json"}, 0, "", ""},
		{"not a PostgreSQL URL", []string{"audit", "query", "--store", "/var/lib/irsa/irsa.db", "SELECT 1"}, ExitUsage, "",
			"--store must be a postgres:// or postgresql:// URL"},
		{"no server", []string{"audit", "verify", "--store", unreachable}, ExitUsage, "", "postgres://irsa:xxxxx@127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, stderr)
			}
			if tt.stdout != "" {
				if d := cmp.Diff(tt.stdout, stdout); d != "" {
					t.Errorf("stdout (-want +got):\n%s", d)
				}
			}
			if !strings.Contains(stderr, tt.stderr) || (tt.stderr == "" && tt.code == 0 && stderr != "") {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.stderr)
			}
			if strings.Contains(stdout+stderr, "hunter2") {
				t.Errorf("the output shows the DSN's password: %q %q", stdout, stderr)
			}
		})
	}

	// tail and analyze, checked for their content.
	stdout, _, _ := runCLI(t, "", "audit", "tail", "--store", dsn, "-n", "1", "--output", "json")
	var e struct{ EventTime, EventName string }
	if err := json.Unmarshal([]byte(stdout), &e); err != nil || e.EventTime != last || e.EventName != "AssumeRoleWithWebIdentity" {
		t.Errorf("tail -n 1: %q (%v), want the event of %s", stdout, err, last)
	}
	stdout, _, _ = runCLI(t, "", "analyze", "unused", "--store", dsn, "--output", "json")
	if !json.Valid([]byte(stdout)) {
		t.Errorf("analyze unused --output json: %q is not JSON", stdout)
	}
	// export from one PostgreSQL store, import into another: the same events.
	out := filepath.Join(t.TempDir(), "trail")
	if _, stderr, code := runCLI(t, "", "audit", "export", "--store", dsn, "--out", out); code != 0 {
		t.Fatalf("export: %d %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json.gz"))
	other := pgtest.DSN(t)
	if _, stderr, code := runCLI(t, "", append([]string{"audit", "import", "--store", other}, files...)...); code != 0 || len(files) == 0 {
		t.Fatalf("import of %v: %d %s", files, code, stderr)
	}
	query := "SELECT eventTime, json_extract(userIdentity, '$.userName') AS who FROM events ORDER BY seq"
	want, _, _ := runCLI(t, "", "audit", "query", "--store", dsn, query)
	got, _, _ := runCLI(t, "", "audit", "query", "--store", other, query)
	if want == "" || got != want {
		t.Errorf("events after export and import:\n%s\nwant\n%s", got, want)
	}
	if stdout, _, code := runCLI(t, "", "audit", "verify", "--store", other); code != 0 || stdout != "OK: 4 records (1 to 4), 0 checkpoints\n" {
		t.Errorf("verify after import: %d %q", code, stdout)
	}

	// The refused statements changed nothing.
	stdout, _, _ = runCLI(t, "", "audit", "query", "--store", dsn, "SELECT count(*) AS n FROM events")
	if stdout != "n\n4\n" {
		t.Errorf("after the refused writes: %q", stdout)
	}
}

// TestUpStore runs the server on PostgreSQL: apply and token prepare the
// store, `irsa up --store` serves a web identity assumption from it, and the
// event is in the store's trail.
func TestUpStore(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir() // the root credentials file only
	code, out, errs := run(t, nil, "apply", "--store", dsn, "--data-dir", dir, "../../examples/quickstart.yaml")
	if code != 0 || !strings.HasSuffix(out, ": 5 created, 1 updated, 0 unchanged\n") {
		t.Fatalf("apply: %d %q %q", code, out, errs)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "irsa.db*")); len(matches) != 0 {
		t.Errorf("--store also made a SQLite store: %v", matches)
	}
	code, out, errs = run(t, nil, "token", "--store", dsn, "--data-dir", filepath.Join(dir, "unused"),
		"--namespace", "production", "--service-account", "s3-reader")
	if code != 0 {
		t.Fatalf("token: %d %q", code, errs)
	}
	token := strings.TrimSpace(out)
	code, out, errs = run(t, nil, "keys", "rotate", "--store", dsn, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "The key set now holds 2 keys.") {
		t.Fatalf("keys rotate: %d %q %q", code, out, errs)
	}

	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, Env{Args: []string{"up", "--store", dsn, "--data-dir", dir, "--listen", addr, "--log-level", "error"},
			Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("irsa up exited %d: %s", code, stderr.String())
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("irsa up --store did not get ready: %v; stderr %s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {"arn:aws:iam::000000000000:role/s3-reader"}, "RoleSessionName": {"pg"}, "WebIdentityToken": {token}}
	resp, err := http.PostForm(base+"/", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("<AccessKeyId>ASIA")) {
		t.Fatalf("AssumeRoleWithWebIdentity: %d %s", resp.StatusCode, body)
	}

	// The event is durable in PostgreSQL before the answer.
	got, errs, code := runCLI(t, "", "audit", "query", "--store", dsn,
		"SELECT eventName, json_extract(userIdentity, '$.userName') AS who FROM events WHERE eventName = 'AssumeRoleWithWebIdentity'")
	if code != 0 || got != "eventName                  who\nAssumeRoleWithWebIdentity  system:serviceaccount:production:s3-reader\n" {
		t.Errorf("the trail after the call: %d %q %q", code, got, errs)
	}
}

func TestStoreArgs(t *testing.T) {
	for _, tt := range []struct{ dsn, dir, want string }{
		{"", ".irsa", "--data-dir .irsa"},
		{"postgres://irsa@db:5432/irsa?sslmode=require", ".irsa", "--store 'postgres://irsa@db:5432/irsa?sslmode=require'"},
		{"postgres://irsa:hunter2@db/irsa", ".irsa", "--store 'postgres://irsa@db/irsa'"},
		{"postgresql://db/irsa?password=hunter2&sslmode=disable", ".irsa", "--store 'postgresql://db/irsa?sslmode=disable'"},
	} {
		if got := storeArgs(tt.dsn, tt.dir); got != tt.want {
			t.Errorf("storeArgs(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
}

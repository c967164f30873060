package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
	"github.com/irsa-dev/irsa/internal/store/sqlstore/audittamper"
)

const auditRole = "arn:aws:iam::000000000000:role/s3-reader"

// The query of docs/audit.md: which service accounts assumed this role in
// the last 7 days.
const lastWeekQuery = `
SELECT json_extract(userIdentity, '$.userName') AS serviceAccount,
       count(*) AS assumptions, max(eventTime) AS lastTime
FROM events
WHERE eventName = 'AssumeRoleWithWebIdentity' AND errorCode IS NULL
  AND json_extract(requestParameters, '$.roleArn') = 'arn:aws:iam::000000000000:role/s3-reader'
  AND eventTime >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')
GROUP BY serviceAccount ORDER BY serviceAccount`

// webEvent is an AssumeRoleWithWebIdentity event of sub at t.
func webEvent(sub string, t time.Time, code string) *audit.Event {
	e := &audit.Event{
		EventTime: t, EventSource: audit.SourceSTS, EventName: "AssumeRoleWithWebIdentity", AWSRegion: "us-east-1",
		SourceIPAddress: "10.0.0.7", RecipientAccountID: "000000000000", ReadOnly: true,
		UserIdentity:      &audit.UserIdentity{Type: audit.IdentityWebIdentityUser, UserName: sub},
		RequestParameters: map[string]any{"roleArn": auditRole, "roleSessionName": "s"},
	}
	if code != "" {
		e.ErrorCode, e.ErrorMessage = code, "Not authorized to perform sts:AssumeRoleWithWebIdentity"
	}
	return e
}

// auditDataDir makes a data directory whose trail holds four events, the
// newest last: an old assumption, a refused one, and two recent ones.
func auditDataDir(t *testing.T) (string, time.Time) {
	t.Helper()
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	events := []*audit.Event{
		webEvent("system:serviceaccount:old:app", now.Add(-10*24*time.Hour), ""),
		webEvent("system:serviceaccount:staging:app", now.Add(-2*time.Hour), "AccessDenied"),
		webEvent("system:serviceaccount:production:app", now.Add(-time.Hour), ""),
		webEvent("system:serviceaccount:production:app", now.Add(-time.Minute), ""),
	}
	appendEvents(t, dir, events...)
	return dir, now
}

func appendEvents(t *testing.T, dir string, events ...*audit.Event) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, e := range events {
		rec, err := e.Record()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AppendAudit(context.Background(), []store.AuditRecord{rec}); err != nil {
			t.Fatal(err)
		}
	}
}

// rawSQL runs a statement on the store file directly, as an attacker with
// the file would.
func rawSQL(t *testing.T, dir, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := audittamper.Exec(t.Context(), db, stmt); err != nil {
		t.Fatal(err)
	}
}

func TestAuditQuery(t *testing.T) {
	dir, now := auditDataDir(t)
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "audit.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), strings.TrimSpace(lastWeekQuery)) {
		t.Errorf("docs/audit.md does not show the query this test runs:\n%s", lastWeekQuery)
	}
	last := now.Add(-time.Minute).Format(audit.TimeFormat)

	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderrRE string
	}{
		{"the service accounts of the last 7 days", []string{"audit", "query", "--data-dir", dir, lastWeekQuery}, 0,
			"serviceAccount                        assumptions  lastTime\n" +
				"system:serviceaccount:production:app  2            " + last + "\n", "^$"},
		{"as JSON", []string{"audit", "query", "--data-dir", dir, "--output", "json", lastWeekQuery}, 0,
			"[\n  {\"serviceAccount\": \"system:serviceaccount:production:app\", \"assumptions\": 2, \"lastTime\": \"" + last + "\"}\n]\n", "^$"},
		{"JSON columns stay JSON", []string{"audit", "query", "--data-dir", dir, "--output", "json",
			"SELECT seq, userIdentity, errorCode FROM events WHERE errorCode = 'AccessDenied'"}, 0,
			"[\n  {\"seq\": 2, \"userIdentity\": {\"type\":\"WebIdentityUser\",\"userName\":\"system:serviceaccount:staging:app\"}, \"errorCode\": \"AccessDenied\"}\n]\n", "^$"},
		{"row limit", []string{"audit", "query", "--data-dir", dir, "--max-rows", "2", "SELECT seq FROM events ORDER BY seq"}, 0,
			"seq\n1\n2\n", "more rows than --max-rows; only the first 2"},
		{"a write is refused", []string{"audit", "query", "--data-dir", dir, "DELETE FROM audit_batches"}, ExitInvalid, "", "irsa: .+"},
		{"a write inside a WITH is refused", []string{"audit", "query", "--data-dir", dir,
			"WITH x AS (SELECT 1) DELETE FROM audit_batches WHERE seq IN (SELECT * FROM x)"}, ExitInvalid, "", "irsa: .+"},
		{"two statements are refused", []string{"audit", "query", "--data-dir", dir, "SELECT 1; DELETE FROM audit_batches"}, ExitInvalid, "", "irsa: .+"},
		{"no store", []string{"audit", "query", "--data-dir", filepath.Join(dir, "nope"), "SELECT 1"}, ExitUsage, "", "no irsa store in"},
		{"bad output", []string{"audit", "query", "--data-dir", dir, "--output", "yaml", "SELECT 1"}, ExitUsage, "", "--output must be table or json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, stderr)
			}
			if diff := cmp.Diff(tt.stdout, stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if !regexp.MustCompile(tt.stderrRE).MatchString(stderr) {
				t.Errorf("stderr %q does not match %q", stderr, tt.stderrRE)
			}
		})
	}
	// The refused writes changed nothing.
	stdout, _, _ := runCLI(t, "", "audit", "query", "--data-dir", dir, "SELECT count(*) AS n FROM events")
	if stdout != "n\n4\n" {
		t.Errorf("after the refused writes: %q", stdout)
	}
}

func TestAuditVerify(t *testing.T) {
	dir, _ := auditDataDir(t)
	stdout, stderr, code := runCLI(t, "", "audit", "verify", "--data-dir", dir, "--checkpoint")
	if code != 0 || stdout != "OK: 4 records (1 to 4), 0 checkpoints\n" || stderr != "checkpoint of record 4 signed\n" {
		t.Fatalf("intact trail: %d %q %q", code, stdout, stderr)
	}
	stdout, _, code = runCLI(t, "", "audit", "verify", "--data-dir", dir)
	if code != 0 || stdout != "OK: 4 records (1 to 4), 1 checkpoints\n" {
		t.Fatalf("intact trail with its checkpoint: %d %q", code, stdout)
	}

	tests := []struct {
		name   string
		tamper string
		want   string
	}{
		{"a flipped byte", `UPDATE audit_events SET event = replace(event, 'staging', 'stagimg') WHERE seq = 2`, "MODIFIED\trecord 2 does not match its hash"},
		{"a deleted record", `DELETE FROM audit_events WHERE seq = 3`, "DELETED\trecords 3 to 3 are missing"},
		{"a cut tail", `DELETE FROM audit_events WHERE seq = 4`, "TRUNCATED\tthe trail ends at record 3, but a checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := auditDataDir(t)
			if _, _, code := runCLI(t, "", "audit", "verify", "--data-dir", d, "--checkpoint"); code != 0 {
				t.Fatal("checkpoint failed")
			}
			rawSQL(t, d, tt.tamper)
			stdout, _, code := runCLI(t, "", "audit", "verify", "--data-dir", d)
			if code != ExitInvalid || !strings.Contains(stdout, tt.want) || !strings.Contains(stdout, "FAILED: 1 problems") {
				t.Errorf("exit %d, output:\n%s\nwant a line with %q", code, stdout, tt.want)
			}
			stdout, _, _ = runCLI(t, "", "audit", "verify", "--data-dir", d, "--output", "json")
			var rep audit.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.OK() {
				t.Errorf("JSON report %v: %s", err, stdout)
			}
		})
	}
}

func TestAuditExportImportTail(t *testing.T) {
	dir, _ := auditDataDir(t)
	out := filepath.Join(t.TempDir(), "trail")
	stdout, stderr, code := runCLI(t, "", "audit", "export", "--data-dir", dir, "--out", out, "--records-per-file", "3")
	if code != 0 || !strings.HasPrefix(stderr, "exported 4 events in 2 files to "+out+"\ndigest ") {
		t.Fatalf("export: %d %q %q", code, stdout, stderr)
	}
	files := strings.Fields(stdout)
	nameRE := regexp.MustCompile(`^000000000000_CloudTrail_us-east-1_\d{8}T\d{4}Z_[0-9a-f]{16}\.json\.gz$`)
	var records []json.RawMessage
	for _, f := range files {
		if !nameRE.MatchString(filepath.Base(f)) {
			t.Errorf("file name %s is not CloudTrail's", filepath.Base(f))
		}
		records = append(records, readGzipRecords(t, f)...)
	}
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.ListAudit(context.Background(), 0, 100)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != len(stored) {
		t.Fatalf("%d records exported, %d stored", len(records), len(stored))
	}
	for i := range stored {
		if !bytes.Equal(records[i], stored[i].Event) {
			t.Errorf("record %d exported as\n%s\nstored as\n%s", i+1, records[i], stored[i].Event)
		}
	}

	// An AWS CloudTrail file, as delivered (not gzipped here), and irsa's
	// own export, imported into a fresh store: the doc's query sees both.
	fresh := t.TempDir()
	appendEvents(t, fresh) // creates the store
	awsFile := filepath.Join(t.TempDir(), "111122223333_CloudTrail_us-west-2_20261120T0000Z_abcdefghijklmnop.json")
	when := time.Now().UTC().Add(-48 * time.Hour).Format(audit.TimeFormat)
	awsRecord := `{"Records":[{"eventVersion":"1.08","userIdentity":{"type":"WebIdentityUser","principalId":"arn:aws:iam::000000000000:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sts.amazonaws.com:system:serviceaccount:batch:loader","userName":"system:serviceaccount:batch:loader","identityProvider":"arn:aws:iam::000000000000:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"},` +
		`"eventTime":"` + when + `","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity","awsRegion":"us-west-2","sourceIPAddress":"192.0.2.10","userAgent":"aws-sdk-java/2.20.0",` +
		`"requestParameters":{"roleArn":"arn:aws:iam::000000000000:role/s3-reader","roleSessionName":"loader","durationSeconds":3600},` +
		`"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE","expiration":"Nov 20, 2026, 1:00:00 AM"},"subjectFromWebIdentityToken":"system:serviceaccount:batch:loader"},` +
		`"requestID":"00000000-0000-4000-8000-000000000001","eventID":"00000000-0000-4000-8000-000000000002","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"000000000000","eventCategory":"Management"}]}`
	if err := os.WriteFile(awsFile, []byte(awsRecord), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "", append([]string{"audit", "import", "--data-dir", fresh, awsFile}, files...)...); code != 0 {
		t.Fatalf("import: %d %s", code, stderr)
	}
	stdout, stderr, code = runCLI(t, "", "audit", "query", "--data-dir", fresh, lastWeekQuery)
	if code != 0 || !regexp.MustCompile(`(?m)^system:serviceaccount:batch:loader +1 +`+when+`\nsystem:serviceaccount:production:app +2 `).MatchString(stdout) {
		t.Errorf("query over imported logs: %d\n%s%s", code, stdout, stderr)
	}
	if stdout, _, code := runCLI(t, "", "audit", "verify", "--data-dir", fresh); code != 0 || stdout != "OK: 5 records (1 to 5), 0 checkpoints\n" {
		t.Errorf("verify after import: %d %q", code, stdout)
	}
	if _, stderr, code := runCLI(t, "", "audit", "import", "--data-dir", fresh, filepath.Join(dir, "irsa.db")); code != ExitUsage || !strings.Contains(stderr, "not a CloudTrail log file") {
		t.Errorf("importing a non-CloudTrail file: %d %s", code, stderr)
	}

	// tail: the last two events, one JSON record per line.
	stdout, _, code = runCLI(t, "", "audit", "tail", "--data-dir", dir, "-n", "2", "--output", "json")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || len(lines) != 2 || lines[0] != string(stored[2].Event) || lines[1] != string(stored[3].Event) {
		t.Errorf("tail -n 2: %d\n%s", code, stdout)
	}
	stdout, _, _ = runCLI(t, "", "audit", "tail", "--data-dir", dir, "-n", "1")
	if !regexp.MustCompile(`(?m)^SEQ +EVENT TIME .*\n4 +\S+ +sts\.amazonaws\.com +AssumeRoleWithWebIdentity +- +10\.0\.0\.7 +system:serviceaccount:production:app +` + regexp.QuoteMeta(auditRole) + `\n$`).MatchString(stdout) {
		t.Errorf("tail table:\n%s", stdout)
	}
}

// tail --follow prints events recorded after it started, until canceled.
func TestAuditTailFollow(t *testing.T) {
	dir, _ := auditDataDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, Env{Args: []string{"audit", "tail", "--data-dir", dir, "-n", "0", "--follow", "--interval", "20ms", "--output", "json"}, Stdout: &out})
	}()
	time.Sleep(100 * time.Millisecond)
	appendEvents(t, dir, webEvent("system:serviceaccount:late:app", time.Now(), ""))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "late:app") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
	if lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "system:serviceaccount:late:app") {
		t.Errorf("followed output:\n%s", out.String())
	}
}

func readGzipRecords(t *testing.T, path string) []json.RawMessage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Records []json.RawMessage
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return file.Records
}

//go:build unix

package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", to tamper with copies of the trail

	"github.com/irsa-dev/irsa/internal/store/sqlstore"
	"github.com/irsa-dev/irsa/internal/store/sqlstore/audittamper"
)

// Crash test parameters: a few rounds of concurrent load, each ended by a
// SIGKILL at a random moment, then one clean round.
const (
	crashRounds       = 3
	crashClients      = 8
	crashRoundBudget  = 6000 // requests per round at most, so the trail stays small
	crashMinKillDelay = 100 * time.Millisecond
	crashMaxKillDelay = 600 * time.Millisecond
	crashCleanCalls   = 200 // requests of the last, uninterrupted round
)

// crashSeedEnv replays a run: set it to the seed a failed run logged.
const crashSeedEnv = "IRSA_E2E_CRASH_SEED"

// TestCrashKeepsEveryIssuedCredentialAudited runs irsa up under concurrent
// AssumeRoleWithWebIdentity load, kills its process group with SIGKILL at a
// random moment, restarts it on the same data directory, and does so three
// times. An answer is only sent once its event is durable, so every access
// key a client received must have its event in the trail, and the trail must
// still be a whole hash chain (`irsa audit verify` exits 0). Then, on copies
// of the trail, a flipped byte, a deleted record and a tail cut after a
// signed checkpoint must each make `irsa audit verify` fail naming the
// record.
func TestCrashKeepsEveryIssuedCredentialAudited(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", crashSeedEnv, s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	start := time.Now()
	srv := startServer(t, serverOptions{})
	dataDir := srv.DataDir
	tokenFile := srv.token(t, t.TempDir(), "token", "--namespace", "production", "--service-account", "s3-reader")
	token := readToken(t, tokenFile)

	received := newCrashIssued()
	for round := 1; round <= crashRounds; round++ {
		if round > 1 {
			srv = startServer(t, serverOptions{DataDir: dataDir})
		}
		delay := crashMinKillDelay + time.Duration(rng.Int64N(int64(crashMaxKillDelay-crashMinKillDelay)))
		res := runCrashLoad(t, srv, token, received, crashRoundBudget, delay)
		if !srv.crash(t, received) {
			t.Fatalf("round %d: irsa up was not ended by the SIGKILL: %v", round, srv.waitErr)
		}
		if res.doneBeforeKill == crashRoundBudget {
			t.Errorf("round %d: the %d requests were all answered before the SIGKILL at %v; the kill hit no load (raise crashRoundBudget)", round, crashRoundBudget, delay)
		}
		t.Logf("round %d: SIGKILL %v into the load: %d credentials received, %d requests cut off", round, delay, res.ok, res.cut)
	}

	// A last, uninterrupted round: the server still serves after the
	// crashes, and stops cleanly.
	srv = startServer(t, serverOptions{DataDir: dataDir})
	srv.Secrets.AddToken(token, "token minted before the crashes")
	res := runCrashLoad(t, srv, token, received, crashCleanCalls, 0)
	if res.ok != crashCleanCalls {
		t.Errorf("after the restarts, %d of %d requests got credentials", res.ok, crashCleanCalls)
	}
	srv.Stop(t)
	loadTime := time.Since(start)

	// Every credential a client received has its event.
	keys, events := crashAuditedKeys(t, dataDir)
	missing := 0
	for key := range received.keys {
		if keys[key] == 0 {
			missing++
			if missing <= 10 {
				t.Errorf("access key %s was received by a client but has no audit event", key)
			}
		}
	}
	if missing > 10 {
		t.Errorf("... %d access keys received without an event in all", missing)
	}
	unseen := 0
	for key, n := range keys {
		if n > 1 {
			t.Errorf("access key %s is in %d events, want 1", key, n)
		}
		if _, ok := received.keys[key]; !ok {
			unseen++
		}
	}
	if len(received.keys) == 0 {
		t.Fatalf("no client received any credentials; the test proves nothing")
	}
	t.Logf("%d access keys received by clients, %d of them with no event; %d events in the trail, %d of them issued keys no client received (answers cut by the kills)",
		len(received.keys), missing, events, unseen)

	// No secret key or session token a client received is in the trail.
	trail, _ := srv.auditTrail(t)
	for _, leak := range received.findIn(trail) {
		t.Errorf("the audit trail holds the %s", leak)
	}

	// The chain survived the kills.
	out, code := crashRunAudit(t, "verify", "--data-dir", dataDir)
	if code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("irsa audit verify after the crashes: exit %d, want 0 and OK:\n%s", code, out)
	}
	t.Logf("irsa audit verify: %s", strings.TrimSpace(out))
	out, code = crashRunAudit(t, "verify", "--checkpoint", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("checkpoint of record %d signed", events)) {
		t.Fatalf("irsa audit verify --checkpoint: exit %d, want 0 and a checkpoint of record %d:\n%s", code, events, out)
	}

	// Tampering, each on its own copy of the checkpointed trail.
	if events < 10 {
		t.Fatalf("only %d events; too few to tamper with", events)
	}
	victim := 2 + rng.Int64N(events-4) // neither the first nor among the last
	cut := events - 3
	t.Run("flipped byte", func(t *testing.T) {
		dir := crashCopyTrail(t, dataDir)
		crashFlipByte(t, dir, victim)
		crashCheckVerifyFails(t, dir, "MODIFIED", fmt.Sprintf("record %d does not match its hash", victim))
	})
	t.Run("deleted record", func(t *testing.T) {
		dir := crashCopyTrail(t, dataDir)
		crashExecSQL(t, dir, "DELETE FROM audit_events WHERE seq = ?", victim)
		crashCheckVerifyFails(t, dir, "DELETED", fmt.Sprintf("records %d to %d are missing", victim, victim))
	})
	t.Run("truncated tail", func(t *testing.T) {
		dir := crashCopyTrail(t, dataDir)
		crashExecSQL(t, dir, "DELETE FROM audit_events WHERE seq > ?", cut)
		crashCheckVerifyFails(t, dir, "TRUNCATED", fmt.Sprintf("the trail ends at record %d, but a checkpoint", cut))
	})
	t.Logf("load, kills and restarts took %v; everything %v", loadTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// crashLoad is what one round of load got.
type crashLoad struct {
	doneBeforeKill int // requests finished before the kill was sent
	ok             int // 200 answers with credentials
	cut            int // requests that failed once the kill was sent
}

// runCrashLoad posts AssumeRoleWithWebIdentity from crashClients
// goroutines until budget requests were made, recording every credential
// answered. With killAfter > 0 it SIGKILLs the server's process group that
// long after the load started and returns once the clients have stopped;
// requests failing after the kill are expected, any other failure fails the
// test.
func runCrashLoad(t *testing.T, srv *server, token string, got *crashIssued, budget int, killAfter time.Duration) crashLoad {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	transport := &http.Transport{MaxIdleConnsPerHost: crashClients, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	form := url.Values{
		"Action":           {"AssumeRoleWithWebIdentity"},
		"Version":          {"2011-06-15"},
		"RoleArn":          {"arn:aws:iam::" + accountID + ":role/s3-reader"},
		"RoleSessionName":  {"crash"},
		"WebIdentityToken": {token},
	}.Encode()

	var (
		started, doneBeforeKill, ok, cut atomic.Int64
		killSent                         atomic.Bool
		failMu                           sync.Mutex
		failures                         []string
	)
	fail := func(format string, args ...any) {
		failMu.Lock()
		defer failMu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	for range crashClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && started.Add(1) <= int64(budget) {
				cred, status, body, err := crashPostWebIdentity(ctx, client, srv.URL, form)
				afterKill := killSent.Load()
				if !afterKill {
					doneBeforeKill.Add(1)
				}
				switch {
				case err == nil && status == http.StatusOK:
					// Received, whether before or after the kill: the
					// server sent it, so its event must be durable.
					if cred.AccessKeyID == "" || cred.SecretAccessKey == "" || cred.SessionToken == "" {
						fail("a 200 answer without complete credentials: %s", body)
						continue
					}
					ok.Add(1)
					got.add(cred)
				case afterKill:
					cut.Add(1)
				case err != nil:
					fail("request failed before any kill: %v", err)
				default:
					fail("HTTP %d before any kill: %s", status, body)
				}
			}
		}()
	}
	if killAfter > 0 {
		time.Sleep(killAfter) // the random moment of the crash
		killSent.Store(true)
		_ = syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-srv.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("irsa up still running 10 s after SIGKILL")
		}
		cancel()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	return crashLoad{doneBeforeKill: int(doneBeforeKill.Load()), ok: int(ok.Load()), cut: int(cut.Load())}
}

// crashCredentials is the part of an AssumeRoleWithWebIdentity answer the
// test keeps.
type crashCredentials struct {
	AccessKeyID     string `xml:"AssumeRoleWithWebIdentityResult>Credentials>AccessKeyId"`
	SecretAccessKey string `xml:"AssumeRoleWithWebIdentityResult>Credentials>SecretAccessKey"`
	SessionToken    string `xml:"AssumeRoleWithWebIdentityResult>Credentials>SessionToken"`
}

// crashPostWebIdentity makes one AssumeRoleWithWebIdentity call with a plain
// POST. A 200 whose body cannot be read whole is an error: the client did
// not receive those credentials.
func crashPostWebIdentity(ctx context.Context, client *http.Client, base, form string) (crashCredentials, int, string, error) {
	var cred crashCredentials
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/", strings.NewReader(form))
	if err != nil {
		return cred, 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return cred, 0, "", err
	}
	body, err := readAllLimited(resp, 1<<20)
	if err != nil {
		return cred, resp.StatusCode, body, err
	}
	if resp.StatusCode == http.StatusOK {
		if err := xml.Unmarshal([]byte(body), &cred); err != nil {
			return cred, resp.StatusCode, body, fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return cred, resp.StatusCode, body, nil
}

// crashIssued is every credential the clients received.
type crashIssued struct {
	mu   sync.Mutex
	keys map[string]crashCredentials
}

func newCrashIssued() *crashIssued { return &crashIssued{keys: map[string]crashCredentials{}} }

func (s *crashIssued) add(c crashCredentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[c.AccessKeyID] = c
}

// crashScanWindow is the length of the piece of each secret findIn looks up.
const crashScanWindow = 32

// findIn reports each received secret access key or session token found in
// text. Thousands of secrets are looked for in one pass: every crashScanWindow
// bytes long piece of text is looked up among the secrets' last
// crashScanWindow bytes, and a hit is confirmed on the whole secret.
func (s *crashIssued) findIn(text string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	type secret struct{ value, what string }
	bySuffix := map[string][]secret{}
	for key, c := range s.keys {
		for _, sec := range []secret{
			{c.SecretAccessKey, "secret access key of " + key},
			{c.SessionToken, "session token of " + key},
		} {
			if len(sec.value) < crashScanWindow {
				bySuffix[""] = append(bySuffix[""], sec) // checked whole below
				continue
			}
			w := sec.value[len(sec.value)-crashScanWindow:]
			bySuffix[w] = append(bySuffix[w], sec)
		}
	}
	var found []string
	for _, sec := range bySuffix[""] {
		if sec.value != "" && strings.Contains(text, sec.value) {
			found = append(found, sec.what)
		}
	}
	for i := 0; i+crashScanWindow <= len(text); i++ {
		for _, sec := range bySuffix[text[i:i+crashScanWindow]] {
			end := i + crashScanWindow
			if start := end - len(sec.value); start >= 0 && text[start:end] == sec.value {
				found = append(found, sec.what)
			}
		}
	}
	return found
}

// crash marks s as ended by SIGKILL, so that the clean stop at the end of
// the test does not run on it, and checks that its output holds neither
// the secrets registered on it nor any credential received so far. It
// reports whether the process was killed by the signal (rather than having
// exited by itself).
func (s *server) crash(t *testing.T, received *crashIssued) bool {
	t.Helper()
	killed := false
	s.stopOnce.Do(func() {
		s.kill()
		var ee *exec.ExitError
		if errors.As(s.waitErr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				killed = true
			}
		}
		stdout, stderr := s.stdout.String(), s.stderr.String()
		for _, leak := range s.Secrets.FindIn(map[string]string{"stdout": stdout, "stderr": stderr}) {
			t.Errorf("the killed server's %s", leak)
		}
		for _, leak := range received.findIn(stdout + stderr) {
			t.Errorf("the killed server's output holds the %s", leak)
		}
		if strings.Contains(stderr, "WARNING: DATA RACE") {
			t.Errorf("the race detector found a data race in irsa up (report in its stderr below)")
		}
		if t.Failed() || !killed {
			t.Logf("killed irsa up (%v) stdout:\n%s", s.waitErr, stdout)
			t.Logf("killed irsa up stderr:\n%s", stderr)
		}
	})
	return killed
}

// crashAuditedKeys reads the trail in dataDir and counts, per access key
// id, the events whose responseElements.credentials name it. It returns
// the number of events too.
func crashAuditedKeys(t *testing.T, dataDir string) (map[string]int, int64) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dataDir, "irsa.db"))
	if err != nil {
		t.Fatalf("opening the audit trail: %v", err)
	}
	defer st.Close()
	keys := map[string]int{}
	var n int64
	for after := int64(0); ; {
		recs, err := st.ListAudit(ctx, after, 1000)
		if err != nil {
			t.Fatalf("reading the audit trail: %v", err)
		}
		if len(recs) == 0 {
			return keys, n
		}
		for _, r := range recs {
			n++
			after = r.Seq
			var e struct {
				EventName        string `json:"eventName"`
				ResponseElements struct {
					Credentials struct {
						AccessKeyID string `json:"accessKeyId"`
					} `json:"credentials"`
				} `json:"responseElements"`
			}
			if err := json.Unmarshal(r.Event, &e); err != nil {
				t.Errorf("event %d is not JSON: %v", r.Seq, err)
				continue
			}
			if k := e.ResponseElements.Credentials.AccessKeyID; k != "" {
				keys[k]++
			}
		}
	}
}

// crashRunAudit runs `irsa audit ARGS...` and returns its stdout and stderr
// together, and its exit code.
func crashRunAudit(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, irsaBin, append([]string{"audit"}, args...)...)
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee) && ee.Exited():
		return out.String(), ee.ExitCode()
	default:
		t.Fatalf("irsa audit %s: %v\n%s", strings.Join(args, " "), err, out.String())
		return "", -1
	}
}

// crashCopyTrail copies the store of dataDir, with VACUUM INTO (a consistent
// copy whatever is still in the WAL), into a new data directory.
func crashCopyTrail(t *testing.T, dataDir string) string {
	t.Helper()
	src, err := sql.Open("sqlite", filepath.Join(dataDir, "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := t.TempDir()
	if _, err := src.Exec("VACUUM INTO ?", filepath.Join(dst, "irsa.db")); err != nil {
		t.Fatalf("copying the store: %v", err)
	}
	return dst
}

// crashExecSQL runs one statement on the store of dir, as someone with the
// database file in hand could.
func crashExecSQL(t *testing.T, dir, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := audittamper.Exec(t.Context(), db, query, args...)
	if err != nil || n == 0 {
		t.Fatalf("%s changed %d rows (%v)", query, n, err)
	}
}

// crashFlipByte changes one character of record seq's event: a letter of
// the access key id it names when it has one, so the JSON stays valid and
// the record now names a key that was never issued.
func crashFlipByte(t *testing.T, dir string, seq int64) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var event string
	if err := db.QueryRow("SELECT event FROM events WHERE seq = ?", seq).Scan(&event); err != nil {
		t.Fatalf("reading record %d: %v", seq, err)
	}
	i := strings.Index(event, `"accessKeyId":"`)
	if i < 0 {
		i = strings.Index(event, `"eventID":"`)
	}
	if i < 0 {
		t.Fatalf("record %d has neither an accessKeyId nor an eventID:\n%s", seq, event)
	}
	i = strings.IndexByte(event[i:], ':') + i + 2 + 5 // a character inside the value
	b := []byte(event)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	if _, err := audittamper.Exec(t.Context(), db, "UPDATE audit_events SET event = ? WHERE seq = ?", string(b), seq); err != nil {
		t.Fatalf("changing record %d: %v", seq, err)
	}
	t.Logf("record %d: byte %d changed from %q to %q", seq, i, event[i], b[i])
}

// crashCheckVerifyFails runs `irsa audit verify` on dir and wants exit 1
// and only problems of kind, one of them saying want. A change to one
// record is one problem; a cut tail is one per checkpoint past the cut.
func crashCheckVerifyFails(t *testing.T, dir, kind, want string) {
	t.Helper()
	out, code := crashRunAudit(t, "verify", "--data-dir", dir)
	if code != 1 {
		t.Errorf("irsa audit verify: exit %d, want 1", code)
	}
	var problems []string
	named := false
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "FAILED: ") || strings.HasPrefix(line, "OK: ") {
			continue
		}
		problems = append(problems, line)
		if !strings.HasPrefix(line, kind+"\t") {
			t.Errorf("irsa audit verify reported %q, want only %s problems", line, kind)
		}
		named = named || strings.Contains(line, want)
	}
	if !named || (kind != "TRUNCATED" && len(problems) != 1) {
		t.Errorf("irsa audit verify reported %q, want one %s problem saying %q; output:\n%s", problems, kind, want, out)
	}
	if want := fmt.Sprintf("FAILED: %d problems", len(problems)); !strings.Contains(out, want) {
		t.Errorf("irsa audit verify output lacks %q:\n%s", want, out)
	}
	t.Logf("irsa audit verify (exit %d):\n%s", code, out)
}

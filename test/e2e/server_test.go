//go:build unix

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

// accountID is the default account irsa creates on first start.
const accountID = "000000000000"

// server is one `irsa up` process with its own data directory.
type server struct {
	// URL is the listener's base URL, http://127.0.0.1:PORT.
	URL string
	// DataDir is the process's --data-dir.
	DataDir string
	// Secrets collects every token, secret key and session token the test
	// saw; none of them may appear in the server's output.
	Secrets *secretSet

	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{}
	waitErr        error
	stopOnce       sync.Once
}

type serverOptions struct {
	// TrustCAs are PEM files passed as --trust-ca.
	TrustCAs []string
	// Env is added to the process environment (IRSA_ROOT_... overrides).
	Env []string
	// DataDir reuses a data directory (a restart); empty means a fresh one.
	DataDir string
	// Addr is the listen address (a restart on the same address); empty
	// means a free loopback port.
	Addr string
}

// startServer starts `irsa up` with a fresh data directory and
// examples/quickstart.yaml on a free loopback port, waits until /healthz
// answers, and stops it when the test ends. At the end it fails the test
// when the server's output holds any registered secret, and shows that
// output when the test failed.
func startServer(t *testing.T, opts serverOptions) *server {
	t.Helper()
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = filepath.Join(t.TempDir(), "data")
	}
	config := filepath.Join(moduleRoot, "examples", "quickstart.yaml")
	var lastErr error
	// Another process may take the port between our probe and irsa's
	// listen; try a few ports before giving up.
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStartServer(t, dataDir, config, opts)
		if err == nil {
			return s
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("irsa up did not start: %v", lastErr)
	return nil
}

var errPortTaken = errors.New("port taken")

func tryStartServer(t *testing.T, dataDir, config string, opts serverOptions) (*server, error) {
	addr, err := opts.Addr, error(nil)
	if addr == "" {
		if addr, err = freeLoopbackAddr(); err != nil {
			return nil, err
		}
	}
	args := []string{"up", "--listen", addr, "--data-dir", dataDir, "--config", config, "--log-level", "debug"}
	for _, ca := range opts.TrustCAs {
		args = append(args, "--trust-ca", ca)
	}
	s := &server{
		URL:     "http://" + addr,
		DataDir: dataDir,
		Secrets: newSecretSet(),
		stdout:  &syncBuffer{},
		stderr:  &syncBuffer{},
		exited:  make(chan struct{}),
	}
	s.cmd = exec.Command(irsaBin, args...)
	s.cmd.Env = append(cleanEnv(), opts.Env...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	// A process group of its own, so that stopping it stops anything it
	// started too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", irsaBin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitHealthy(15 * time.Second); err != nil {
		s.kill()
		out := s.stderr.String()
		if strings.Contains(out, "address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("%v\nstdout:\n%s\nstderr:\n%s", err, s.stdout.String(), out)
	}
	t.Cleanup(func() { s.Stop(t) })
	if err := s.registerRootSecret(); err != nil {
		t.Error(err)
	}
	return s, nil
}

// waitHealthy polls /healthz until it answers 200 "ok", the process exits
// or the deadline passes.
func (s *server) waitHealthy(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("irsa up exited before answering /healthz: %v", s.waitErr)
		default:
		}
		resp, err := client.Get(s.URL + "/healthz")
		if err == nil {
			body, _ := readAllLimited(resp, 1<<10)
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(body) == "ok" {
				return nil
			}
			err = fmt.Errorf("/healthz answered %d %q", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/healthz not ready after %v: %v", timeout, err)
		}
		time.Sleep(25 * time.Millisecond) // polling interval, not a correctness wait
	}
}

// Stop ends the server with SIGTERM (SIGKILL after 10 s), then checks its
// output for secrets, and shows the output when the test failed. It runs
// at the end of the test, or earlier when a test restarts the server.
func (s *server) Stop(t *testing.T) {
	t.Helper()
	s.stopOnce.Do(func() { s.stop(t) })
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.waitErr != nil {
			t.Errorf("irsa up did not exit cleanly on SIGTERM: %v", s.waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("irsa up still running 10 s after SIGTERM; killing it")
		s.kill()
	}
	// Whatever the server itself did, nothing of its group may survive.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)

	stdout, stderr := s.stdout.String(), s.stderr.String()
	// The audit trail, too, must hold no token, secret key or session token.
	trail, events := s.auditTrail(t)
	for _, leak := range s.Secrets.FindIn(map[string]string{"audit trail": trail}) {
		t.Errorf("the server's %s", leak)
	}
	t.Logf("audit trail: %d events scanned for %d secrets", events, s.Secrets.Len())
	if strings.Contains(stderr, "WARNING: DATA RACE") {
		t.Errorf("the race detector found a data race in irsa up (report in its stderr below)")
	}
	for _, leak := range s.Secrets.FindIn(map[string]string{"stdout": stdout, "stderr": stderr}) {
		t.Errorf("the server's %s", leak)
	}
	if s.Secrets.Len() == 0 {
		t.Errorf("no secret was registered for the log scan; the scan would prove nothing")
	}
	if t.Failed() {
		t.Logf("irsa up stdout:\n%s", stdout)
		t.Logf("irsa up stderr:\n%s", stderr)
	} else {
		t.Logf("server log scanned for %d secrets: none found (%d bytes of output)", s.Secrets.Len(), len(stdout)+len(stderr))
	}
}

// auditTrail reads every audit event the server wrote, as one text.
func (s *server) auditTrail(t *testing.T) (string, int) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(s.DataDir, "irsa.db"))
	if err != nil {
		t.Errorf("opening the audit trail: %v", err)
		return "", 0
	}
	defer st.Close()
	var b strings.Builder
	n := 0
	for after := int64(0); ; {
		recs, err := st.ListAudit(ctx, after, 1000)
		if err != nil {
			t.Errorf("reading the audit trail: %v", err)
			return b.String(), n
		}
		if len(recs) == 0 {
			return b.String(), n
		}
		for _, r := range recs {
			b.Write(r.Event)
			b.WriteByte('\n')
			n++
			after = r.Seq
		}
	}
}

func (s *server) kill() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
}

// registerRootSecret adds the root secret access key of root-credentials
// to the secrets the server must not print.
func (s *server) registerRootSecret() error {
	raw, err := os.ReadFile(s.rootCredentialsFile())
	if err != nil {
		return fmt.Errorf("irsa up wrote no root credentials file: %w", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "aws_secret_access_key" {
			s.Secrets.Add(strings.TrimSpace(v), "root secret access key")
			return nil
		}
	}
	return fmt.Errorf("%s holds no aws_secret_access_key:\n%s", s.rootCredentialsFile(), raw)
}

// rootCredentialsFile is the shared-credentials file irsa wrote on first
// start.
func (s *server) rootCredentialsFile() string {
	return filepath.Join(s.DataDir, "root-credentials")
}

// token runs `irsa token` with stdout going straight to a new file, as
// `irsa token ... > file` would (trailing newline kept), registers the
// token as a secret and returns the file's path.
func (s *server) token(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, irsaBin, append([]string{"token", "--data-dir", s.DataDir}, args...)...)
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = f, &stderr
	runErr := cmd.Run()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		t.Fatalf("irsa token %s: %v\n%s", strings.Join(args, " "), runErr, stderr.String())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSuffix(string(raw), "\n")
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \n\r\t") {
		t.Fatalf("irsa token printed %q, not one compact JWS and a newline", raw)
	}
	s.Secrets.AddToken(tok, "token from irsa token "+strings.Join(args, " "))
	return path
}

// freeLoopbackAddr returns a 127.0.0.1 address whose port was free a
// moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// cleanEnv is the test process's environment without anything that would
// steer an AWS client or irsa (AWS_*, IRSA_*) and without HOME: each
// process gets exactly the configuration its test gives it.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "IRSA_") || k == "HOME" || k == goClientEnv {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func readAllLimited(resp *http.Response, n int64) (string, error) {
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(nil, resp.Body, n))
	return b.String(), err
}

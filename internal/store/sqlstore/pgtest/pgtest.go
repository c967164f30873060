// Package pgtest owns the PostgreSQL server of the tests: a throwaway
// cluster started on first use and shared by the tests of a package, each
// test working in a new schema of its own. It is imported by tests only.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The first test that calls DSN starts the server: initdb into a temporary
// directory, postgres on a free loopback port with its unix socket in that
// directory, as the postgres user when the tests run as root (PostgreSQL
// refuses root). Main stops it when the package's tests are done.
//
// IRSA_TEST_POSTGRES_DSN points the tests at a running server instead
// (each test works in a schema of its own there). IRSA_POSTGRES_BIN names
// the directory of initdb and postgres; by default the newest
// /usr/lib/postgresql/*/bin (Debian's packages, `make pg-deps`), else PATH.
// Without a server the PostgreSQL tests are skipped, except when CI=true,
// where they fail.

// Main runs the tests of a package and stops the server they started:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if err := pg.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping the test PostgreSQL server: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// pg is the package's test server.
var pg pgServer

type pgServer struct {
	once    sync.Once
	dsn     string // of the server's postgres database; "" when unavailable
	err     error  // why there is no server
	dir     string // owned by the tests, removed by stop; "" for an external server
	cmd     *exec.Cmd
	exited  chan struct{}
	schemas atomic.Int64
}

// DSN returns the DSN of a new, empty schema on the test server: every
// call gets a database of its own, as far as irsa can tell. It skips the
// test when there is no server, or fails it when CI=true.
func DSN(t testing.TB) string {
	t.Helper()
	pg.once.Do(pg.start)
	if pg.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL tests: %v (CI=true: a server is required; run make pg-deps)", pg.err)
		}
		t.Skipf("PostgreSQL tests skipped: %v (run make pg-deps, or set IRSA_TEST_POSTGRES_DSN)", pg.err)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), pg.schemas.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.dsn)
	if err != nil {
		t.Fatalf("connecting to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("creating schema %s: %v", name, err)
	}
	if pg.dir == "" {
		// Someone else's server: leave it as it was. (A throwaway one is
		// removed whole at the end.)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, pg.dsn)
			if err != nil {
				t.Errorf("dropping schema %s: %v", name, err)
				return
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
				t.Errorf("dropping schema %s: %v", name, err)
			}
		})
	}
	u, err := url.Parse(pg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func (p *pgServer) start() {
	if dsn := os.Getenv("IRSA_TEST_POSTGRES_DSN"); dsn != "" {
		p.dsn = dsn
		return
	}
	bin, err := postgresBin()
	if err != nil {
		p.err = err
		return
	}
	if err := p.startLocal(bin); err != nil {
		p.err = err
		_ = p.stop()
	}
}

// postgresBin finds the directory of initdb and postgres.
func postgresBin() (string, error) {
	has := func(dir string) bool {
		for _, f := range []string{"initdb", "postgres"} {
			st, err := os.Stat(filepath.Join(dir, f)) //nolint:gosec // dir is the tester's own setting (IRSA_POSTGRES_BIN) or a fixed location
			if err != nil || st.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("IRSA_POSTGRES_BIN"); dir != "" {
		if !has(dir) {
			return "", fmt.Errorf("IRSA_POSTGRES_BIN=%s has no initdb and postgres", dir)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // newest major version first
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(initdb)) {
		return filepath.Dir(initdb), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin or on PATH")
}

// startLocal creates a cluster in a temporary directory and starts it.
func (p *pgServer) startLocal(bin string) error {
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root and there is no postgres user to run PostgreSQL as: %w", err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("user postgres: %w", err)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "irsa-pg-")
	if err != nil {
		return err
	}
	p.dir = dir
	// The server's user must reach its files; the directory holds nothing
	// secret (a throwaway cluster that trusts loopback connections anyway).
	if err := os.Chmod(dir, 0o755); err != nil { //nolint:gosec // see above
		return err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(data, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}

	var lastErr error
	for range 3 { // a free port can be taken between finding it and binding it
		port, err := FreePort()
		if err != nil {
			return err
		}
		if lastErr = p.run(bin, data, dir, port, cred); lastErr == nil {
			p.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return nil
		}
	}
	return lastErr
}

// run starts postgres on port and waits until it accepts connections.
func (p *pgServer) run(bin, data, sockets string, port int, cred *syscall.Credential) error {
	logFile, err := os.Create(filepath.Join(p.dir, "postgres.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	if cred != nil {
		_ = logFile.Chown(int(cred.Uid), int(cred.Gid))
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", sockets,
		"-c", "listen_addresses=127.0.0.1",
		// A throwaway cluster: durability across an OS crash is not tested.
		"-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = serverProcAttr(cred)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.cmd, p.exited = cmd, exited

	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
			p.cmd = nil
			return fmt.Errorf("postgres exited at start:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within a minute: %w", err)
		}
	}
}

// stop shuts the server down (a fast shutdown, then a kill) and removes
// its directory.
func (p *pgServer) stop() error {
	var errs []error
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
			errs = append(errs, errors.New("postgres did not stop within 30s of a fast shutdown request; killed"))
		}
		p.cmd = nil
	}
	if p.dir != "" {
		if err := os.RemoveAll(p.dir); err != nil {
			errs = append(errs, err)
		}
		p.dir = ""
	}
	return errors.Join(errs...)
}

// FreePort is a loopback TCP port nobody listens on.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

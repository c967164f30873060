//go:build linux

package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one long-running process of the test environment (etcd,
// kube-apiserver, irsa up, irsa webhook), in a process group of its own so
// that stopping it stops everything it started.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer // stdout and stderr, interleaved

	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// startProc starts bin with args in dir with exactly env.
func startProc(name, dir string, env []string, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Pdeathsig: should the test binary die (a panic, go test's timeout),
	// the kernel kills the process rather than leaving it behind.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// running reports an error when the process has exited.
func (p *proc) running() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited: %v\n%s", p.name, p.waitErr, tail(p.out.String(), 3000))
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group and waits up to grace for the
// process to exit, then kills the whole group. It returns an error when
// the process did not exit cleanly on SIGTERM, or when the race detector
// reported a race in its output.
func (p *proc) stop(grace time.Duration) error {
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		select {
		case <-p.exited:
			p.stopErr = fmt.Errorf("%s had already exited: %v", p.name, p.waitErr)
		default:
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-p.exited:
				if p.waitErr != nil {
					p.stopErr = fmt.Errorf("%s did not exit cleanly on SIGTERM: %v", p.name, p.waitErr)
				}
			case <-time.After(grace):
				p.stopErr = fmt.Errorf("%s still running %v after SIGTERM; killed", p.name, grace)
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				<-p.exited
			}
		}
		// Whatever the process did, nothing of its group may survive.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if strings.Contains(p.out.String(), "WARNING: DATA RACE") {
			p.stopErr = errors.Join(p.stopErr, fmt.Errorf("the race detector found a data race in %s", p.name))
		}
	})
	return p.stopErr
}

// kill ends the process group at once (a start that failed).
func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// waitHTTP polls url until check accepts the answer, the process exits or
// the deadline passes.
func (p *proc) waitHTTP(client *http.Client, url string, timeout time.Duration, check func(code int, body string) bool) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if err := p.running(); err != nil {
			return err
		}
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
			if check(resp.StatusCode, string(body)) {
				return nil
			}
			last = fmt.Sprintf("%d %q", resp.StatusCode, tail(string(body), 300))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not ready after %v: %s\n%s", p.name, url, timeout, last, tail(p.out.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a correctness wait
	}
}

// freeLoopbackPort returns a 127.0.0.1 port that was free a moment ago.
// Another process may take it before ours listens; callers retry their
// start a few times.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}

// httpsClient trusts exactly the PEM certificates in caPEM.
func httpsClient(caPEM []byte) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no certificate in the CA bundle")
	}
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}, nil
}

// runCommand runs a short-lived command with exactly env and returns its
// stdout and stderr; err is non-nil when it did not exit 0.
func runCommand(ctx context.Context, dir string, env []string, stdin io.Reader, bin string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, env, stdin
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	// Anything the command left running in its group goes too.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return stdout.String(), stderr.String(), err
}

// procOutputs is the output of each of procs, by name, for
// testutil.Secrets.FindIn.
func procOutputs(procs ...*proc) map[string]string {
	out := map[string]string{}
	for _, p := range procs {
		if p != nil {
			out["the output of "+p.name] = p.out.String()
		}
	}
	return out
}

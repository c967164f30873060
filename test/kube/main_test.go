//go:build linux

package kube

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/test/internal/testutil"
)

var (
	// irsaBin is the irsa binary TestMain builds from this checkout.
	irsaBin string
	// moduleRoot is the directory of the module's go.mod.
	moduleRoot string
	// testBinary is this test binary, which is also the aws-sdk-go-v2
	// client of runGoClient.
	testBinary string
	// irsaBuildFlags are added to `go build` of irsa (-race when the tests
	// run with it).
	irsaBuildFlags []string
	// kubeBinDir holds kube-apiserver and etcd; kubeBinErr says why it
	// could not be found.
	kubeBinDir string
	kubeBinErr error
	// kubectlBin is a kubectl binary, "" when none was found.
	kubectlBin string
)

// scriptTimeout bounds scripts/kube-control-plane.sh: a built control plane
// answers at once, and a first build (about 13 minutes) belongs in `make
// kube-deps`, not in a test run.
const scriptTimeout = 90 * time.Second

func TestMain(m *testing.M) {
	// The test binary doubles as the aws-sdk-go-v2 client process: a pod
	// has its own environment, and so does this child.
	if mode := os.Getenv(goClientEnv); mode != "" {
		os.Exit(runGoClient(mode))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	// Listing tests (go test -list, which `make fuzz-short` runs) needs no
	// binary and no cluster.
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return m.Run()
	}
	start := time.Now()
	root, err := testutil.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube:", err)
		return 1
	}
	moduleRoot = root
	if testBinary, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, "kube:", err)
		return 1
	}
	bin, cleanup, err := testutil.BuildIrsa(moduleRoot, irsaBuildFlags)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube:", err)
		return 1
	}
	defer cleanup()
	irsaBin = bin
	// A missing control plane is not fatal here: every test that needs it
	// fails with kubeBinErr, so the reason shows next to each test.
	kubeBinDir, kubeBinErr = findControlPlane()
	kubectlBin = findKubectl()
	fmt.Fprintf(os.Stderr, "kube: irsa built in %v; control plane %s; kubectl %s\n",
		time.Since(start).Round(time.Millisecond), orNone(kubeBinDir, kubeBinErr), orNone(kubectlBin, nil))

	code := m.Run()
	if c := shutdownShared(code != 0); code == 0 {
		code = c
	}
	return code
}

func orNone(s string, err error) string {
	if err != nil {
		return "missing (" + err.Error() + ")"
	}
	if s == "" {
		return "missing"
	}
	return s
}

// findControlPlane runs scripts/kube-control-plane.sh, which prints the
// folder holding kube-apiserver and etcd, and checks both are there.
func findControlPlane() (string, error) {
	script := filepath.Join(moduleRoot, "scripts", "kube-control-plane.sh")
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script)
	cmd.Dir = moduleRoot
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Its own process group, so that a timeout stops the go build it
	// may have started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s did not finish within %v (is kube-apiserver still to be built? run `make kube-deps` first): %s", script, scriptTimeout, tail(stderr.String(), 800))
		}
		return "", fmt.Errorf("%s: %v: %s", script, err, tail(stderr.String(), 800))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if p := filepath.Join(dir, name); !isExecutable(p) {
			return "", fmt.Errorf("%s printed %q, which holds no executable %s", script, dir, name)
		}
	}
	return dir, nil
}

// findKubectl finds a kubectl binary. The google-cloud-cli package installs
// a dispatcher named kubectl beside versioned binaries kubectl.1.NN; the
// newest of those is used directly (the nearest to the API server's
// version), else whatever kubectl is on PATH.
func findKubectl() string {
	if p := os.Getenv("KUBECTL"); p != "" && isExecutable(p) {
		return p
	}
	p, err := exec.LookPath("kubectl")
	if err != nil {
		return ""
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return p
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(resolved), "kubectl.1.*"))
	best, bestMinor := "", -1
	for _, m := range matches {
		minor, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), "kubectl.1."))
		if err == nil && minor > bestMinor && isExecutable(m) {
			best, bestMinor = m, minor
		}
	}
	if best != "" {
		return best
	}
	return resolved
}

// requireControlPlane fails the test when kube-apiserver or etcd is missing.
func requireControlPlane(t testing.TB) {
	t.Helper()
	if kubeBinErr != nil {
		t.Fatalf("the Kubernetes control plane is unavailable: %v", kubeBinErr)
	}
}

// tail is the last n bytes of s, for error messages.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// baseEnv is the environment of every process the tests start: PATH and
// the locale only, and a HOME of the test's own, so that no AWS or kube
// configuration of the machine steers it.
func baseEnv(home string) []string {
	env := []string{"HOME=" + home}
	for _, k := range []string{"PATH", "LANG", "LC_ALL", "TMPDIR", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// sortedKeys is the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncWriter is a buffer safe for a process writing and the test reading.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// podIdentityDocBlock is one ```sh block of docs/pod-identity.md, named by
// the <!-- test: NAME --> comment on the line before its fence.
type podIdentityDocBlock struct {
	Name string
	Line int
	Text string
}

var podIdentityBlockName = regexp.MustCompile(`^<!--\s*test:\s*([a-z0-9-]+)\s*-->$`)

func parsePodIdentityDoc(t *testing.T) map[string]podIdentityDocBlock {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(moduleRoot, "docs", "pod-identity.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]podIdentityDocBlock{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	line, prev := 0, ""
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(l, "```") {
			if l != "" {
				prev = l
			}
			continue
		}
		lang, start := strings.TrimPrefix(l, "```"), line
		var body []string
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "```" {
				break
			}
			body = append(body, sc.Text())
		}
		if lang == "sh" {
			m := podIdentityBlockName.FindStringSubmatch(prev)
			if m == nil {
				t.Fatalf("docs/pod-identity.md:%d: sh block without a <!-- test: NAME --> comment", start)
			}
			if _, dup := blocks[m[1]]; dup {
				t.Fatalf("docs/pod-identity.md:%d: block name %q used twice", start, m[1])
			}
			blocks[m[1]] = podIdentityDocBlock{Name: m[1], Line: start, Text: strings.Join(body, "\n") + "\n"}
		}
		prev = ""
	}
	return blocks
}

// TestPodIdentityDocs runs the blocks of docs/pod-identity.md that need no
// cluster, in order, with the real irsa, the AWS CLI and irsa agent: the
// whole chain from an association to a pod's SDK getting the role's
// credentials through the node agent. The blocks marked "needs a cluster"
// are checked to exist (test/kube runs a cluster but no kubelet).
func TestPodIdentityDocs(t *testing.T) {
	requireAWSCLI(t)
	blocks := parsePodIdentityDoc(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, ".bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(irsaBin, filepath.Join(bin, "irsa")); err != nil {
		t.Fatal(err)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	agentAddr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, agentPort, _ := strings.Cut(agentAddr, ":")
	replacer := strings.NewReplacer("127.0.0.1:4590", addr, "127.0.0.1:2080", agentAddr, "--port 2080", "--port "+agentPort)
	env := append(cleanEnv(), "HOME="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true")
	for i, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			env[i] = "PATH=" + bin + ":" + strings.TrimPrefix(kv, "PATH=")
		}
	}
	ran := map[string]bool{}
	script := func(name string) string {
		b, ok := blocks[name]
		if !ok {
			t.Fatalf("docs/pod-identity.md has no block %q", name)
		}
		ran[name] = true
		return replacer.Replace(b.Text)
	}
	run := func(name string, prefix ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", strings.Join(prefix, "")+script(name))
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("block %s (docs/pod-identity.md:%d) failed: %v\n%s", name, blocks[name].Line, err, out)
		}
		return string(out)
	}
	background := func(name, ready string) {
		t.Helper()
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script(name))
		cmd.Dir, cmd.Env = dir, env
		// Its own process group, so that the stop reaches irsa too.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var out syncWriter
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("output of block %s:\n%s", name, out.String())
			}
		})
		deadline := time.Now().Add(30 * time.Second)
		for {
			if resp, err := http.Get(ready); err == nil {
				resp.Body.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("block %s is not serving at %s:\n%s", name, ready, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	expect := func(name, out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("block %s: output lacks %q:\n%s", name, w, out)
			}
		}
	}

	run("local-config")
	background("local-irsa-up", "http://"+addr+"/healthz")
	// The variables block exports for the blocks after it.
	vars := script("local-variables")
	exports := ""
	for _, l := range strings.Split(vars, "\n") {
		if strings.HasPrefix(l, "export ") {
			exports += l + "\n"
		}
	}
	expect("local-variables", run("local-variables"), "arn:aws:eks:us-east-1:"+accountID+":cluster/demo")
	expect("local-role", run("local-role", exports), "arn:aws:iam::"+accountID+":role/demo-app")
	expect("local-associate", run("local-associate", exports), `"associationId": "a-`, `"serviceAccount": "app"`)
	expect("local-exchange", run("local-exchange", exports), `"namespace": "demo"`,
		"arn:aws:sts::"+accountID+":assumed-role/demo-app/eks-demo-app-7d4b9-")
	background("local-agent", "http://"+agentAddr+"/")
	expect("local-pod", run("local-pod", exports), `"Arn": "arn:aws:sts::`+accountID+`:assumed-role/demo-app/eks-demo-app-7d4b9-`)
	run("cli-associations", exports)

	for _, name := range []string{"cluster-values", "cluster-helm", "cluster-associate", "cluster-pod"} {
		if _, ok := blocks[name]; !ok {
			t.Errorf("docs/pod-identity.md lacks block %s", name)
		}
		ran[name] = true // needs a cluster with a kubelet
	}
	var missed []string
	for name, b := range blocks {
		if !ran[name] {
			missed = append(missed, fmt.Sprintf("%s (line %d)", name, b.Line))
		}
	}
	if len(missed) > 0 {
		t.Errorf("blocks of docs/pod-identity.md no test ran: %s", strings.Join(missed, ", "))
	}
}

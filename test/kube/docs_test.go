//go:build linux

package kube

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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// docFile is the document whose every ```sh block TestDocsCommands runs.
func docFile() string { return filepath.Join(moduleRoot, "docs", "kubernetes.md") }

// docBlock is one ```sh block of the document, named by the
// `<!-- test: NAME -->` comment on the line before its fence.
type docBlock struct {
	Name string
	Line int
	Text string
}

var blockName = regexp.MustCompile(`^<!--\s*test:\s*([a-z0-9-]+)\s*-->$`)

// parseDocBlocks returns the ```sh blocks of a Markdown document in order.
// Every sh block must be named, and names are unique: the test runs each
// by name and proves it ran all of them.
func parseDocBlocks(doc []byte) ([]docBlock, error) {
	var blocks []docBlock
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	lineNo, prev := 0, ""
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "```") {
			if trimmed != "" {
				prev = trimmed
			}
			continue
		}
		lang := strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
		start := lineNo
		var body []string
		closed := false
		for sc.Scan() {
			lineNo++
			if strings.TrimSpace(sc.Text()) == "```" {
				closed = true
				break
			}
			body = append(body, sc.Text())
		}
		if !closed {
			return nil, fmt.Errorf("line %d: the block never ends", start)
		}
		if lang == "sh" || lang == "bash" || lang == "shell" {
			m := blockName.FindStringSubmatch(prev)
			if m == nil {
				return nil, fmt.Errorf("line %d: the sh block has no <!-- test: NAME --> comment on the line before it", start)
			}
			if at, dup := seen[m[1]]; dup {
				return nil, fmt.Errorf("line %d: block name %q is already used at line %d", start, m[1], at)
			}
			seen[m[1]] = start
			blocks = append(blocks, docBlock{Name: m[1], Line: start, Text: strings.Join(body, "\n") + "\n"})
		}
		prev = ""
	}
	return blocks, sc.Err()
}

func TestParseDocBlocks(t *testing.T) {
	doc := "# T\n\n<!-- test: one -->\n```sh\necho 1\n```\n\n```yaml\na: b\n```\n\n<!-- test: two -->\n\n```sh\necho 2\necho 3\n```\n```console\n$ x\n```\n"
	got, err := parseDocBlocks([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []docBlock{{Name: "one", Line: 4, Text: "echo 1\n"}, {Name: "two", Line: 14, Text: "echo 2\necho 3\n"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"```sh\necho unnamed\n```\n",
		"<!-- test: a -->\n```sh\necho\n```\n<!-- test: a -->\n```sh\necho\n```\n",
		"<!-- test: a -->\n```sh\necho\n",
	} {
		if _, err := parseDocBlocks([]byte(bad)); err == nil {
			t.Errorf("parseDocBlocks(%q) = nil error", bad)
		}
	}
}

// docRun is the document's reader: a scratch directory (holding a link to
// the checkout's deploy folder, as a clone would), the tools on PATH, the
// cluster's kubeconfig, and the variables the document exports.
type docRun struct {
	t      *testing.T
	e      *env
	dir    string
	env    []string
	blocks map[string]docBlock
	ran    map[string]bool
	// replace maps literal text of the document to the test's values
	// (ports the test chose instead of the documented ones).
	replace []string
}

// run runs block name with bash (-euo pipefail: any failing command or
// unset variable fails it) and returns its combined output.
func (r *docRun) run(name string) string {
	r.t.Helper()
	b := r.block(name)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	stdout, stderr, err := runCommand(ctx, r.dir, r.env, nil, "bash", "-euo", "pipefail", "-c", r.script(b))
	out := stdout + stderr
	if err != nil {
		r.t.Fatalf("docs/kubernetes.md:%d block %q failed (%v):\n%s\noutput:\n%s", b.Line, name, err, b.Text, out)
	}
	r.t.Logf("block %q (line %d) ran in %v:\n%s", name, b.Line, time.Since(start).Round(time.Millisecond), tail(out, 2000))
	return out
}

func (r *docRun) block(name string) docBlock {
	r.t.Helper()
	b, ok := r.blocks[name]
	if !ok {
		r.t.Fatalf("docs/kubernetes.md has no sh block named %q", name)
	}
	if r.ran[name] {
		r.t.Fatalf("block %q run twice", name)
	}
	r.ran[name] = true
	return b
}

func (r *docRun) script(b docBlock) string {
	return strings.NewReplacer(r.replace...).Replace(b.Text)
}

// expect fails the test when out lacks any of wants.
func (r *docRun) expect(name, out string, wants ...string) {
	r.t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			r.t.Errorf("block %q: output lacks %q:\n%s", name, w, out)
		}
	}
}

// TestDocsCommands runs every sh block of docs/kubernetes.md against the
// real cluster, with the real irsa, kubectl, helm and AWS CLI, in an order
// that works without a kubelet: the installs (whose pods never run here)
// are made and removed first, then the issuer is registered with an `irsa
// up` the document starts, and pods are mutated by the test's `irsa
// webhook`, which stands in for the webhook Deployment the chart installs.
func TestDocsCommands(t *testing.T) {
	e := sharedEnv(t)
	if kubectlBin == "" {
		t.Fatal("no kubectl found; the document's commands need one")
	}
	raw, err := os.ReadFile(docFile())
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseDocBlocks(raw)
	if err != nil {
		t.Fatalf("docs/kubernetes.md: %v", err)
	}
	r := &docRun{t: t, e: e, dir: t.TempDir(), blocks: map[string]docBlock{}, ran: map[string]bool{}}
	for _, b := range blocks {
		r.blocks[b.Name] = b
	}

	// Tools: the irsa under test, kubectl, helm (scripts/helm.sh), the AWS CLI.
	bin := filepath.Join(r.dir, ".bin")
	home := filepath.Join(r.dir, ".home")
	for _, d := range []string{bin, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	tools := map[string]string{"irsa": irsaBin, "kubectl": kubectlBin, "helm": findHelm(t)}
	if aws := findAWSCLI(t); aws != "" {
		tools["aws"] = aws
	}
	for name, target := range tools {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(moduleRoot, "deploy"), filepath.Join(r.dir, "deploy")); err != nil {
		t.Fatal(err)
	}
	port, err := freeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	irsaAddr := "127.0.0.1:" + strconv.Itoa(port)
	r.replace = []string{"127.0.0.1:4590", irsaAddr}
	// The variables the document exports in its block "variables", with
	// the values they take here; the block itself is checked to give them.
	vars := map[string]string{
		"ISSUER_URL":                  e.cluster.URL,
		"AWS_ENDPOINT_URL":            "http://" + irsaAddr,
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "us-east-1",
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(r.dir, ".irsa", "root-credentials"),
	}
	r.env = append(baseEnv(home), "KUBECONFIG="+e.cluster.Kubeconfig)
	for i, kv := range r.env {
		if strings.HasPrefix(kv, "PATH=") {
			r.env[i] = "PATH=" + bin + ":" + strings.TrimPrefix(kv, "PATH=")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()

	// 1. Install with Helm, look, remove. Nothing of it runs (no
	// kubelet); the API server accepting it and helm's bookkeeping are
	// what is checked. Deleting the namespace needs the controller-manager's
	// namespace and PVC-protection controllers, which the test plays.
	stopController := r.namespaceController(ctx, "irsa")
	out := r.run("cluster-ca")
	if ca, err := os.ReadFile(filepath.Join(r.dir, "cluster-ca.pem")); err != nil || !bytes.Equal(bytes.TrimSpace(ca), bytes.TrimSpace(e.cluster.CAPEM)) {
		t.Errorf("block cluster-ca did not write the cluster's CA to cluster-ca.pem (%v):\n%s", err, out)
	}
	out = r.run("helm-install")
	r.expect("helm-install", out, "STATUS: deployed")
	out = r.run("install-check")
	r.expect("install-check", out, "deployment.apps/irsa\n", "deployment.apps/irsa-webhook\n", "service/irsa\n", "service/irsa-webhook\n",
		"mutatingwebhookconfiguration.admissionregistration.k8s.io/irsa-webhook\n")
	// --set-file server.trustCA put the cluster's CA where the server's
	// --trust-ca reads it.
	if cm, err := e.cluster.Client.CoreV1().ConfigMaps("irsa").Get(ctx, "irsa", metav1.GetOptions{}); err != nil {
		t.Errorf("the chart's server ConfigMap: %v", err)
	} else if got := strings.TrimSpace(cm.Data["trust-ca.pem"]); got != strings.TrimSpace(string(e.cluster.CAPEM)) {
		t.Errorf("ConfigMap irsa/irsa trust-ca.pem = %q, want the cluster's CA", got)
	}
	out = r.run("helm-uninstall")
	r.expect("helm-uninstall", out, `release "irsa" uninstalled`, `namespace "irsa" deleted`)
	r.waitGone(ctx, "irsa-webhook")

	// 2. The same with the plain manifests.
	r.run("manifests-certificate")
	out = r.run("manifests-apply")
	r.expect("manifests-apply", out, "mutatingwebhookconfiguration.admissionregistration.k8s.io/irsa-webhook created", "patched")
	if mwc, err := e.cluster.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "irsa-webhook", metav1.GetOptions{}); err != nil {
		t.Errorf("after manifests-apply: %v", err)
	} else if ca, _ := os.ReadFile(filepath.Join(r.dir, "ca.crt")); len(ca) == 0 || !bytes.Equal(mwc.Webhooks[0].ClientConfig.CABundle, ca) {
		t.Errorf("the patched caBundle is not ca.crt")
	}
	out = r.run("manifests-delete")
	r.expect("manifests-delete", out, `mutatingwebhookconfiguration.admissionregistration.k8s.io "irsa-webhook" deleted`, `namespace "irsa" deleted`)
	r.waitGone(ctx, "irsa-webhook")
	stopController()

	// 3. Register the cluster's issuer in an irsa the document starts.
	r.run("variables")
	r.checkVariables(vars)
	for _, k := range sortedKeys(vars) {
		r.env = append(r.env, k+"="+vars[k])
	}
	// The binding the test's cluster was started with goes, so that the
	// document's own command is what opens discovery.
	if err := e.cluster.Client.RbacV1().ClusterRoleBindings().Delete(ctx, discoveryBinding, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	r.waitDiscovery(ctx, http.StatusForbidden)
	r.run("discovery-binding")
	r.waitDiscovery(ctx, http.StatusOK)
	out = r.run("discovery-check")
	r.expect("discovery-check", out, `"issuer":"`+e.cluster.URL+`"`, `"jwks_uri":"`+e.cluster.URL+`/openid/v1/jwks"`, `"kty":"RSA"`)

	r.startBackground("irsa-up", "http://"+irsaAddr+"/healthz")
	out = r.run("register-issuer")
	host := strings.TrimPrefix(e.cluster.URL, "https://")
	r.expect("register-issuer", out, "arn:aws:iam::"+accountID+":oidc-provider/"+host)
	out = r.run("create-role")
	r.expect("create-role", out, "arn:aws:iam::"+accountID+":role/demo-app")

	// 4. Annotate a ServiceAccount; a pod gets the credentials.
	out = r.run("annotate")
	r.expect("annotate", out, "serviceaccount/app annotated")
	r.run("create-pod")
	out = r.run("pod-env")
	r.expect("pod-env", out,
		"AWS_ROLE_ARN=arn:aws:iam::"+accountID+":role/demo-app",
		"AWS_WEB_IDENTITY_TOKEN_FILE="+tokenFile,
		"AWS_ENDPOINT_URL_STS=",
		"aws-iam-token")

	// 5. Verify with irsa whoami.
	out = r.run("whoami")
	r.expect("whoami", out, "arn:aws:sts::"+accountID+":assumed-role/demo-app/", "sub   system:serviceaccount:demo:app", "OK:")
	if tok, err := os.ReadFile(filepath.Join(r.dir, "token")); err != nil {
		t.Errorf("block whoami wrote no token file: %v", err)
	} else {
		r.e.secrets.AddToken(strings.TrimSpace(string(tok)), "token of demo/app from block whoami")
		if strings.Contains(out, strings.TrimSpace(string(tok))) {
			t.Errorf("irsa whoami printed the token")
		}
	}

	// Every block of the document ran.
	var missed []string
	for _, b := range blocks {
		if !r.ran[b.Name] {
			missed = append(missed, fmt.Sprintf("%s (line %d)", b.Name, b.Line))
		}
	}
	if len(missed) > 0 {
		t.Errorf("blocks of docs/kubernetes.md no test ran: %s", strings.Join(missed, ", "))
	}
}

// checkVariables runs the "variables" block's exports and compares them
// with the values the test substitutes in later blocks.
func (r *docRun) checkVariables(want map[string]string) {
	r.t.Helper()
	b := r.blocks["variables"]
	script := r.script(b)
	for _, k := range sortedKeys(want) {
		script += fmt.Sprintf("printf '%%s=%%s\\n' %s \"${%s}\"\n", k, k)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stdout, stderr, err := runCommand(ctx, r.dir, r.env, nil, "bash", "-euo", "pipefail", "-c", script)
	if err != nil {
		r.t.Fatalf("block variables: %v\n%s%s", err, stdout, stderr)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			if _, asked := want[k]; asked {
				got[k] = v
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		r.t.Fatalf("the document's variables differ from the values the test runs its blocks with (-test +document):\n%s", diff)
	}
}

// startBackground runs a block that serves (irsa up) in the background
// until the test ends, once ready answers 200. At the end the server must
// stop cleanly on SIGTERM, and its output must hold no secret the test
// registered.
func (r *docRun) startBackground(name, ready string) *proc {
	r.t.Helper()
	b := r.block(name)
	p, err := startProc("docs block "+name, r.dir, r.env, "bash", "-euo", "pipefail", "-c", r.script(b))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if err := p.stop(10 * time.Second); err != nil {
			r.t.Errorf("block %q: %v", name, err)
		}
		for _, leak := range r.e.secrets.FindIn(procOutputs(p)) {
			r.t.Errorf("%s", leak)
		}
		if r.t.Failed() {
			r.t.Logf("output of block %q:\n%s", name, tail(p.out.String(), 4000))
		}
	})
	if err := p.waitHTTP(&http.Client{Timeout: time.Second}, ready, 30*time.Second, func(code int, _ string) bool { return code == http.StatusOK }); err != nil {
		r.t.Fatalf("block %q (line %d): %v", name, b.Line, err)
	}
	return p
}

// waitDiscovery waits until anonymous discovery answers code: RBAC changes
// reach the API server's authorizer through its informers.
func (r *docRun) waitDiscovery(ctx context.Context, code int) {
	r.t.Helper()
	for {
		got, _, err := r.e.cluster.anonymousDiscovery()
		if err == nil && got == code {
			return
		}
		if ctx.Err() != nil {
			r.t.Fatalf("anonymous discovery answers %d (%v), want %d", got, err, code)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a correctness wait
	}
}

// namespaceController does, for namespace name, what the controller-manager
// would: when the namespace is being deleted it deletes what is left in it
// (Secrets here; the documented commands delete the rest themselves) and
// clears its finalizer, and it releases PersistentVolumeClaims being
// deleted (the PVC-protection controller, as no pod uses them). It runs
// until the returned function is called, which waits until the namespace
// is gone.
func (r *docRun) namespaceController(ctx context.Context, name string) (stop func()) {
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	c := r.e.cluster
	go func() {
		defer close(done)
		for cctx.Err() == nil {
			if pvcs, err := c.Client.CoreV1().PersistentVolumeClaims(name).List(cctx, metav1.ListOptions{}); err == nil {
				for _, pvc := range pvcs.Items {
					if pvc.DeletionTimestamp != nil && len(pvc.Finalizers) > 0 {
						_, _ = c.Client.CoreV1().PersistentVolumeClaims(name).Patch(cctx, pvc.Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
					}
				}
			}
			if ns, err := c.Client.CoreV1().Namespaces().Get(cctx, name, metav1.GetOptions{}); err == nil && ns.DeletionTimestamp != nil {
				_ = c.Client.CoreV1().Secrets(name).DeleteCollection(cctx, metav1.DeleteOptions{}, metav1.ListOptions{})
				_ = c.finalizeNamespace(cctx, name)
			}
			time.Sleep(100 * time.Millisecond) // polling interval, not a correctness wait
		}
	}()
	return func() {
		r.t.Helper()
		for {
			_, err := c.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || ctx.Err() != nil {
				break
			}
			time.Sleep(50 * time.Millisecond) // polling interval, not a correctness wait
		}
		cancel()
		<-done
		if _, err := c.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			r.t.Fatalf("namespace %s still exists after the uninstalls: %v", name, err)
		}
	}
}

// waitGone waits until the named MutatingWebhookConfiguration is deleted.
func (r *docRun) waitGone(ctx context.Context, name string) {
	r.t.Helper()
	for {
		_, err := r.e.cluster.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if ctx.Err() != nil {
			r.t.Fatalf("mutatingwebhookconfiguration %s still exists after the uninstall: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a correctness wait
	}
}

// findHelm runs scripts/helm.sh, which prints the path of the pinned helm
// (built once into ~/.cache/irsa).
func findHelm(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	stdout, stderr, err := runCommand(ctx, moduleRoot, os.Environ(), nil, filepath.Join(moduleRoot, "scripts", "helm.sh"))
	if err != nil {
		t.Fatalf("scripts/helm.sh (run `make kube-deps` first when helm is not built yet): %v\n%s", err, tail(stderr, 2000))
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	p := strings.TrimSpace(lines[len(lines)-1])
	if !isExecutable(p) {
		t.Fatalf("scripts/helm.sh printed %q, which is not an executable", p)
	}
	return p
}

// findAWSCLI finds the AWS CLI: "" when it is on PATH already (PATH is
// passed on), else the one in the virtualenv `make e2e-deps` makes.
func findAWSCLI(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("aws"); err == nil {
		return ""
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, ".cache", "irsa", "venv", "bin", "aws"); isExecutable(p) {
			return p
		}
	}
	t.Fatal("the AWS CLI is not installed (make e2e-deps installs it)")
	return ""
}

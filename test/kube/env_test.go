//go:build linux

package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	accountID = "000000000000"
	// webhookRegion is the webhook's --aws-default-region: EKS runs its
	// webhook with the cluster's region, so pods get AWS_REGION.
	webhookRegion = "us-east-1"
	// webhookConfigName is the MutatingWebhookConfiguration that points
	// the API server at the test's `irsa webhook`. Webhooks are called in
	// the order of their configurations' names; "a-" puts irsa first.
	webhookConfigName = "a-irsa-test-pod-identity"
)

// irsaServer is one `irsa up` process.
type irsaServer struct {
	// URL is http://127.0.0.1:PORT, Addr the same without the scheme.
	URL, Addr string
	DataDir   string
	proc      *proc
}

// startIrsa starts `irsa up` with a fresh data directory under dir,
// trusting the PEM bundles in trustCAs for OIDC providers.
func startIrsa(dir string, trustCAs ...string) (*irsaServer, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		s := &irsaServer{Addr: "127.0.0.1:" + strconv.Itoa(port), DataDir: filepath.Join(dir, fmt.Sprintf("irsa-data-%d", attempt))}
		s.URL = "http://" + s.Addr
		args := []string{"up", "--listen", s.Addr, "--data-dir", s.DataDir, "--log-level", "debug"}
		for _, ca := range trustCAs {
			args = append(args, "--trust-ca", ca)
		}
		if s.proc, err = startProc("irsa up", dir, baseEnv(dir), irsaBin, args...); err != nil {
			return nil, err
		}
		err = s.proc.waitHTTP(&http.Client{Timeout: time.Second}, s.URL+"/healthz", 20*time.Second, func(code int, body string) bool {
			return code == http.StatusOK && strings.TrimSpace(body) == "ok"
		})
		if err == nil {
			return s, nil
		}
		s.proc.kill()
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("irsa up did not start: %w", lastErr)
}

// rootCredentialsFile is the shared-credentials file irsa wrote on first
// start: the root access key of the default account.
func (s *irsaServer) rootCredentialsFile() string {
	return filepath.Join(s.DataDir, "root-credentials")
}

// webhook is one `irsa webhook` process and the CA that signed its
// serving certificate.
type webhook struct {
	// URL is https://127.0.0.1:PORT.
	URL   string
	CAPEM []byte
	proc  *proc
}

// startWebhook starts `irsa webhook` on a loopback port with a serving
// certificate for 127.0.0.1 signed by a CA the test makes, reading
// ServiceAccounts through kubeconfig and pointing pods at stsURL; name
// tells its files apart from another webhook's in dir.
func startWebhook(dir, name, kubeconfig, stsURL string, extraArgs ...string) (*webhook, error) {
	return startWebhookEnv(dir, name, kubeconfig, stsURL, baseEnv(dir), extraArgs...)
}

// startWebhookEnv is startWebhook with the process environment env.
func startWebhookEnv(dir, name, kubeconfig, stsURL string, env []string, extraArgs ...string) (*webhook, error) {
	caPEM, certPEM, keyPEM, err := servingCertificate()
	if err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(dir, name+"-tls.crt"), filepath.Join(dir, name+"-tls.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	client, err := httpsClient(caPEM)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		w := &webhook{URL: "https://127.0.0.1:" + strconv.Itoa(port), CAPEM: caPEM}
		args := append([]string{"webhook",
			"--listen", "127.0.0.1:" + strconv.Itoa(port),
			"--tls-cert", certFile, "--tls-key", keyFile,
			"--kubeconfig", kubeconfig,
			"--sts-endpoint-url", stsURL,
			"--aws-default-region", webhookRegion,
			"--log-level", "debug"}, extraArgs...)
		w.proc, err = startProc("irsa webhook ("+name+")", dir, env, irsaBin, args...)
		if err != nil {
			return nil, err
		}
		// /readyz answers once the ServiceAccount cache has synced.
		err = w.proc.waitHTTP(client, w.URL+"/readyz", 30*time.Second, func(code int, _ string) bool { return code == http.StatusOK })
		if err == nil {
			return w, nil
		}
		w.proc.kill()
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("irsa webhook did not start: %w", lastErr)
}

// servingCertificate makes a CA and a certificate for 127.0.0.1 signed by
// it (ECDSA P-256), in PEM.
func servingCertificate() (caPEM, certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "irsa test webhook CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// ownWebhookLabel marks namespaces whose pods a test sends to a webhook of
// its own instead of the shared one.
const ownWebhookLabel = "irsa-test/own-webhook"

// registerWebhook points the API server at w with a
// MutatingWebhookConfiguration as the chart makes one, except that the
// client config is a URL (there is no Service routing here) and a failure
// fails the pod's creation, so that a broken webhook fails the tests
// instead of leaving pods unmutated. The shared webhook (own == "") takes
// the pods of every namespace without the ownWebhookLabel; a test's own
// webhook those of the namespaces labeled with its name. It returns once
// the API server calls the webhook.
func registerWebhook(ctx context.Context, c *cluster, w *webhook, configName, own string) error {
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	ifNeeded := admissionregistrationv1.IfNeededReinvocationPolicy
	timeout := int32(10)
	url := w.URL + "/mutate"
	selector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: ownWebhookLabel, Operator: metav1.LabelSelectorOpDoesNotExist}}}
	probeNS, probeLabels := "irsa-probe", map[string]string(nil)
	if own != "" {
		selector = &metav1.LabelSelector{MatchLabels: map[string]string{ownWebhookLabel: own}}
		probeNS, probeLabels = "irsa-probe-"+own, map[string]string{ownWebhookLabel: own}
	}
	_, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: configName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "pod-identity.irsa.test",
			NamespaceSelector:       selector,
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: w.CAPEM},
			AdmissionReviewVersions: []string{"v1", "v1beta1"},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			ReinvocationPolicy:      &ifNeeded,
			TimeoutSeconds:          &timeout,
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating the MutatingWebhookConfiguration: %w", err)
	}
	// The API server learns of the configuration through its own
	// informer; a dry-run pod (webhooks with sideEffects None are called
	// for dry runs too) shows when the webhook is in force.
	ns, sa := probeNS, "probe"
	if err := c.createNamespace(ctx, ns, probeLabels); err != nil {
		return err
	}
	if err := createServiceAccount(ctx, c, ns, sa, map[string]string{roleARNAnnotation: roleARN("probe")}); err != nil {
		return err
	}
	for {
		pod, err := c.Client.CoreV1().Pods(ns).Create(ctx, testPod("probe", sa), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && envValue(pod.Spec.Containers[0].Env, "AWS_ROLE_ARN") != "" {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the API server did not call irsa webhook for a dry-run pod of %s/%s: last pod %v, error %v\nwebhook output:\n%s", ns, sa, podEnvNames(pod), err, tail(w.proc.out.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not a correctness wait
	}
}

// env is the environment every test shares: one control plane, one `irsa
// up` trusting the cluster's CA, one `irsa webhook` registered with the
// API server.
type env struct {
	dir     string
	cluster *cluster
	irsa    *irsaServer
	webhook *webhook
	// secrets must appear in no process's output.
	secrets *secretSet
}

var shared struct {
	once sync.Once
	env  *env
	err  error
	took time.Duration
}

// sharedEnv starts the shared environment on first use and fails the test
// when it could not be started.
func sharedEnv(t testing.TB) *env {
	t.Helper()
	requireControlPlane(t)
	shared.once.Do(func() {
		start := time.Now()
		shared.env, shared.err = startEnv()
		shared.took = time.Since(start)
	})
	if shared.err != nil {
		t.Fatalf("starting the test environment: %v", shared.err)
	}
	e := shared.env
	t.Cleanup(func() {
		// A process that died during the test explains the failure.
		for _, p := range e.procs() {
			if err := p.running(); err != nil {
				t.Errorf("%v", err)
			}
		}
		if t.Failed() {
			t.Logf("irsa webhook output:\n%s", tail(e.webhook.proc.out.String(), 6000))
			t.Logf("irsa up output:\n%s", tail(e.irsa.proc.out.String(), 6000))
		}
	})
	return e
}

func startEnv() (e *env, err error) {
	dir, err := os.MkdirTemp("", "irsa-kube-")
	if err != nil {
		return nil, err
	}
	e = &env{dir: dir, secrets: newSecretSet()}
	// On failure, stop what started (shutdownShared does on success).
	defer func() {
		if err != nil {
			if stopErr := e.stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
			_ = os.RemoveAll(dir)
		}
	}()
	started := time.Now()
	if e.cluster, err = startCluster(dir); err != nil {
		return e, err
	}
	clusterTook := time.Since(started)
	if e.irsa, err = startIrsa(dir, e.cluster.CAFile); err != nil {
		return e, err
	}
	if e.webhook, err = startWebhook(dir, "shared", e.cluster.Kubeconfig, e.irsa.URL); err != nil {
		return e, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := registerWebhook(ctx, e.cluster, e.webhook, webhookConfigName, ""); err != nil {
		return e, err
	}
	fmt.Fprintf(os.Stderr, "kube: control plane ready in %v, irsa up + irsa webhook registered in %v more\n",
		clusterTook.Round(time.Millisecond), (time.Since(started) - clusterTook).Round(time.Millisecond))
	return e, nil
}

func (e *env) procs() []*proc {
	var ps []*proc
	if e.webhook != nil {
		ps = append(ps, e.webhook.proc)
	}
	if e.irsa != nil {
		ps = append(ps, e.irsa.proc)
	}
	if e.cluster != nil {
		if e.cluster.apiserver != nil {
			ps = append(ps, e.cluster.apiserver)
		}
		if e.cluster.etcd != nil {
			ps = append(ps, e.cluster.etcd)
		}
	}
	return ps
}

// stop ends the webhook and irsa (which must exit cleanly on SIGTERM), then
// the control plane.
func (e *env) stop() error {
	var errs []error
	if e.webhook != nil {
		errs = append(errs, e.webhook.proc.stop(10*time.Second))
	}
	if e.irsa != nil {
		errs = append(errs, e.irsa.proc.stop(10*time.Second))
	}
	if e.cluster != nil {
		errs = append(errs, e.cluster.stop())
	}
	return errors.Join(errs...)
}

// shutdownShared stops the shared environment at the end of the run; it
// reports processes that did not stop cleanly and secrets found in any
// output, and turns the run into a failure when there are any.
func shutdownShared(failed bool) int {
	e := shared.env
	if e == nil {
		return 0
	}
	code := 0
	leaks := e.secrets.FindIn(procOutputs(e.procs()...))
	if err := e.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "kube: stopping the test environment:", err)
		code = 1
	}
	for _, leak := range leaks {
		fmt.Fprintln(os.Stderr, "kube:", leak)
		code = 1
	}
	if failed || code != 0 {
		for _, p := range e.procs() {
			fmt.Fprintf(os.Stderr, "---- %s output (tail) ----\n%s\n", p.name, tail(p.out.String(), 4000))
		}
	} else {
		fmt.Fprintf(os.Stderr, "kube: outputs of irsa up and irsa webhook scanned for %d secrets: none found\n", e.secrets.Len())
	}
	_ = os.RemoveAll(e.dir)
	return code
}

// createServiceAccount creates namespace/name with annotations.
func createServiceAccount(ctx context.Context, c *cluster, namespace, name string, annotations map[string]string) error {
	_, err := c.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Annotations: annotations},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return nil
}

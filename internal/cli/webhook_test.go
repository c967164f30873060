package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeServingPair writes a self-signed certificate for 127.0.0.1 and its
// key into dir and returns the files and the certificate.
func writeServingPair(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "irsa-webhook"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// kubeconfigTo writes a kubeconfig whose cluster is at server.
func kubeconfigTo(t *testing.T, dir, server string) string {
	t.Helper()
	name := filepath.Join(dir, "kubeconfig")
	doc := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + server +
		"\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
	if err := os.WriteFile(name, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestWebhookCommandErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeServingPair(t, dir)
	kubeconfig := kubeconfigTo(t, dir, "https://127.0.0.1:1")
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("clusters: [not: yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"webhook", "--tls-cert", certFile, "--tls-key", keyFile, "--kubeconfig", kubeconfig, "--listen", "127.0.0.1:0"}
	with := func(extra ...string) []string { return withFlags(base, extra...) }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no certificate", []string{"webhook"}, nil, "--tls-cert and --tls-key are required"},
		{"no key", []string{"webhook", "--tls-cert", certFile}, nil, "--tls-cert and --tls-key are required"},
		{"missing certificate file", []string{"webhook", "--tls-cert", filepath.Join(dir, "nope.crt"), "--tls-key", keyFile}, nil, "--tls-cert: stat"},
		{"missing key file", []string{"webhook", "--tls-cert", certFile, "--tls-key", filepath.Join(dir, "nope.key")}, nil, "--tls-key: stat"},
		{"key is not a key", []string{"webhook", "--tls-cert", certFile, "--tls-key", certFile, "--kubeconfig", kubeconfig}, nil, "loading the TLS pair"},
		{"missing kubeconfig", with("--kubeconfig", filepath.Join(dir, "nope")), nil, "--kubeconfig: stat"},
		{"unparsable kubeconfig", with("--kubeconfig", garbage), nil, "cannot use the kubeconfig " + garbage},
		{"unparsable KUBECONFIG", []string{"webhook", "--tls-cert", certFile, "--tls-key", keyFile}, map[string]string{"KUBECONFIG": garbage}, "KUBECONFIG=" + garbage},
		{"no kubeconfig outside a cluster", []string{"webhook", "--tls-cert", certFile, "--tls-key", keyFile}, nil, "no --kubeconfig given, KUBECONFIG is not set"},
		{"grace period too long", with("--sa-lookup-grace-period", "31s"), nil, "--sa-lookup-grace-period must be between 0s and 30s"},
		{"negative grace period", with("--sa-lookup-grace-period", "-1s"), nil, "--sa-lookup-grace-period must be between"},
		{"grace period not a duration", with("--sa-lookup-grace-period", "2"), nil, "invalid argument"},
		{"negative resync", with("--resync-period", "-1m"), nil, "--resync-period must not be negative"},
		{"zero expiration", with("--token-expiration", "0"), nil, "--token-expiration must be a positive number"},
		{"expiration not a number", with("--token-expiration", "1d"), nil, "invalid argument"},
		{"relative mount path", with("--token-mount-path", "var/run/token"), nil, "not absolute"},
		{"bad STS endpoint", with("--sts-endpoint-url", "irsa.example:4590"), nil, "STS endpoint URL"},
		{"bad region", with("--aws-default-region", "US East"), nil, "region"},
		{"bad annotation prefix", with("--annotation-prefix", "EKS/x"), nil, "annotation prefix"},
		{"empty annotation prefix", with("--annotation-prefix", ""), nil, "--annotation-prefix must not be empty"},
		{"empty audience", with("--token-audience", ""), nil, "--token-audience must not be empty"},
		{"bad log level", with("--log-level", "loud"), nil, "--log-level must be"},
		{"unknown flag", with("--port", "443"), nil, "unknown flag: --port"},
		{"argument", with("extra"), nil, "unknown command"},
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			code := Main(ctx, Env{Args: tt.args, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return tt.env[k] }})
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, ExitUsage, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// irsa webhook starts with good flags, serves over TLS, and stops cleanly
// when its context ends (SIGTERM in the binary).
func TestWebhookCommandServes(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert := writeServingPair(t, dir)
	kubeconfig := kubeconfigTo(t, dir, "https://127.0.0.1:1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, Env{
			Args: []string{"webhook", "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile,
				"--token-expiration", "300", "--sts-endpoint-url", "https://irsa.example:4590", "--aws-default-region", "eu-west-1",
				"--sts-regional-endpoint", "--sa-lookup-grace-period", "0s", "--resync-period", "0"},
			Stderr: &stderr,
			// KUBECONFIG is honored like --kubeconfig.
			Getenv: func(k string) string {
				if k == "KUBECONFIG" {
					return kubeconfig
				}
				return ""
			},
		})
	}()
	listenRE := regexp.MustCompile(`irsa webhook is serving" listen=(127\.0\.0\.1:\d+)`)
	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" {
		if m := listenRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("irsa webhook exited %d early: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("irsa webhook did not log its address: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("/healthz = %d %q", resp.StatusCode, body)
	}
	// The API server of the kubeconfig is unreachable: not ready.
	resp, err = client.Get("https://" + addr + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d, want 503", resp.StatusCode)
	}
	if !strings.Contains(stderr.String(), "--token-expiration is below the kubelet's minimum") {
		t.Errorf("no warning for --token-expiration 300 in %s", stderr.String())
	}

	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d after cancel, want 0; stderr %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("irsa webhook did not stop after cancel")
	}
	if !strings.Contains(stderr.String(), "irsa webhook stopped") {
		t.Errorf("no stop line in %s", stderr.String())
	}
}

package webhook

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
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testCert is a self-signed serving certificate for 127.0.0.1 and
// localhost, in PEM.
type testCert struct {
	certPEM, keyPEM []byte
	cert            *x509.Certificate
}

func newTestCert(t *testing.T, cn string, serial int64) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		cert:    cert,
	}
}

// writeFile writes data and sets a modification time distinct from any
// earlier write of the test, so that a change never hides behind the
// file system's timestamp granularity.
var mtimeSeq atomic.Int64

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(time.Duration(mtimeSeq.Add(1)) * time.Second)
	if err := os.Chtimes(name, mt, mt); err != nil {
		t.Fatal(err)
	}
}

// serveTLS accepts connections with cfg and completes their handshakes,
// until the test ends. It returns the address.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
				_, _ = c.Read(make([]byte, 1))
			}()
		}
	}()
	return ln.Addr().String()
}

// presented dials addr, verifying against roots, and returns the serial
// number of the certificate the server presented.
func presented(t *testing.T, addr string, roots ...testCert) int64 {
	t.Helper()
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r.cert)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestCertReloaderSwapsCertificate(t *testing.T) {
	a, b := newTestCert(t, "cert-a", 1), newTestCert(t, "cert-b", 2)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, a.certPEM)
	writeFile(t, keyFile, a.keyPEM)

	var logs bytes.Buffer
	m := NewMetrics()
	r, err := NewCertReloader(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)), m)
	if err != nil {
		t.Fatalf("NewCertReloader: %v", err)
	}
	addr := serveTLS(t, r.TLSConfig())
	if got := presented(t, addr, a, b); got != 1 {
		t.Fatalf("presented serial %d, want 1 (cert A)", got)
	}
	if got, want := testutil.ToFloat64(m.certExpiry), float64(a.cert.NotAfter.Unix()); got != want {
		t.Errorf("expiry gauge = %v, want %v", got, want)
	}

	// Nothing changed: nothing reloaded.
	if ok, err := r.check(); ok || err != nil {
		t.Fatalf("check without change = %v, %v", ok, err)
	}

	// B replaces A on disk: the next handshake presents B.
	writeFile(t, certFile, b.certPEM)
	writeFile(t, keyFile, b.keyPEM)
	if ok, err := r.check(); !ok || err != nil {
		t.Fatalf("check after swap = %v, %v; want a reload", ok, err)
	}
	if got := presented(t, addr, a, b); got != 2 {
		t.Fatalf("after the swap the server presented serial %d, want 2 (cert B)", got)
	}
	if got := testutil.ToFloat64(m.certReloads.WithLabelValues("success")); got != 1 {
		t.Errorf("reloads{success} = %v, want 1", got)
	}
	if !strings.Contains(logs.String(), "reloaded the TLS certificate") {
		t.Errorf("no reload log line in %q", logs.String())
	}
}

func TestCertReloaderKeepsCertificateWhenNewPairIsInvalid(t *testing.T) {
	a, b := newTestCert(t, "cert-a", 1), newTestCert(t, "cert-b", 2)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, a.certPEM)
	writeFile(t, keyFile, a.keyPEM)
	var logs bytes.Buffer
	m := NewMetrics()
	r, err := NewCertReloader(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)), m)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, r.TLSConfig())

	steps := []struct {
		name   string
		change func()
		wantOK bool
		serial int64
	}{
		{"garbage certificate", func() { writeFile(t, certFile, []byte("not a certificate")) }, false, 1},
		{"unchanged garbage is not retried", func() {}, false, 1},
		{"certificate B with key A", func() { writeFile(t, certFile, b.certPEM) }, false, 1},
		{"key file missing", func() {
			if err := os.Remove(keyFile); err != nil {
				t.Fatal(err)
			}
		}, false, 1},
		{"truncated key B", func() { writeFile(t, keyFile, b.keyPEM[:len(b.keyPEM)/2]) }, false, 1},
		{"key B completes the pair", func() { writeFile(t, keyFile, b.keyPEM) }, true, 2},
	}
	failures := 0
	for _, s := range steps {
		s.change()
		ok, err := r.check()
		if ok != s.wantOK {
			t.Errorf("%s: check reloaded = %v (err %v), want %v", s.name, ok, err, s.wantOK)
		}
		if err != nil {
			failures++
		}
		if got := presented(t, addr, a, b); got != s.serial {
			t.Errorf("%s: server presented serial %d, want %d", s.name, got, s.serial)
		}
	}
	if failures != 4 {
		t.Errorf("%d failed loads, want 4", failures)
	}
	if got := testutil.ToFloat64(m.certReloads.WithLabelValues("error")); got != 4 {
		t.Errorf("reloads{error} = %v, want 4", got)
	}
	if n := strings.Count(logs.String(), "still serving the previous certificate"); n != 4 {
		t.Errorf("%d error log lines, want 4 (one per broken change):\n%s", n, logs.String())
	}
}

// Kubernetes updates a Secret volume by pointing the ..data symlink at a
// new directory; the files the webhook opens are symlinks through it.
func TestCertReloaderFollowsSecretVolumeSymlinks(t *testing.T) {
	a, b := newTestCert(t, "cert-a", 1), newTestCert(t, "cert-b", 2)
	dir := t.TempDir()
	publish := func(name string, c testCert) {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(d, "tls.crt"), c.certPEM)
		writeFile(t, filepath.Join(d, "tls.key"), c.keyPEM)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(name, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("..v1", a)
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewCertReloader(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, r.TLSConfig())
	if got := presented(t, addr, a, b); got != 1 {
		t.Fatalf("presented serial %d, want 1", got)
	}
	publish("..v2", b)
	if ok, err := r.check(); !ok || err != nil {
		t.Fatalf("check after the symlink swap = %v, %v; want a reload", ok, err)
	}
	if got := presented(t, addr, a, b); got != 2 {
		t.Fatalf("presented serial %d after the swap, want 2", got)
	}
}

// Run polls the files on its ticker.
func TestCertReloaderRun(t *testing.T) {
	a, b := newTestCert(t, "cert-a", 1), newTestCert(t, "cert-b", 2)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, a.certPEM)
	writeFile(t, keyFile, a.keyPEM)
	r, err := NewCertReloader(certFile, keyFile, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	reloaded := make(chan struct{}, 1)
	r.onCheck = func(ok bool, _ error) {
		if ok {
			select {
			case reloaded <- struct{}{}:
			default:
			}
		}
	}
	addr := serveTLS(t, r.TLSConfig())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx, 10*time.Millisecond); close(done) }()

	writeFile(t, certFile, b.certPEM)
	writeFile(t, keyFile, b.keyPEM)
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not reload the changed files")
	}
	if got := presented(t, addr, a, b); got != 2 {
		t.Errorf("presented serial %d, want 2", got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestNewCertReloaderErrors(t *testing.T) {
	a, b := newTestCert(t, "cert-a", 1), newTestCert(t, "cert-b", 2)
	dir := t.TempDir()
	aCert, aKey, bKey := filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
	writeFile(t, aCert, a.certPEM)
	writeFile(t, aKey, a.keyPEM)
	writeFile(t, bKey, b.keyPEM)
	tests := []struct {
		name, cert, key, want string
	}{
		{"no names", "", "", "both required"},
		{"missing certificate", filepath.Join(dir, "nope.crt"), aKey, "reading the TLS certificate"},
		{"missing key", aCert, filepath.Join(dir, "nope.key"), "reading the TLS key"},
		{"key of another certificate", aCert, bKey, "loading the TLS pair"},
		{"key given as certificate", aKey, aKey, "loading the TLS pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCertReloader(tt.cert, tt.key, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewCertReloader error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCertReloaderRefusesOldTLS(t *testing.T) {
	a := newTestCert(t, "cert-a", 1)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, a.certPEM)
	writeFile(t, keyFile, a.keyPEM)
	r, err := NewCertReloader(certFile, keyFile, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, r.TLSConfig())
	pool := x509.NewCertPool()
	pool.AddCert(a.cert)
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: v, MaxVersion: v})
		if err == nil {
			c.Close()
			t.Errorf("a TLS version %x handshake succeeded", v)
		}
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: v, MaxVersion: v})
		if err != nil {
			t.Errorf("TLS version %x refused: %v", v, err)
			continue
		}
		c.Close()
	}
}

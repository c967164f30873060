package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCertReloadInterval is how often the certificate files are checked
// for changes.
const DefaultCertReloadInterval = 10 * time.Second

// CertReloader serves a certificate and key read from two PEM files and
// reloads them when either file changes, as cert-manager or a rotated
// Secret volume replaces them. A changed pair that cannot be loaded (a key
// that does not match, a half-written file) is logged and the pair in use
// stays in use.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	metrics           *Metrics

	cert atomic.Pointer[tls.Certificate]

	mu   sync.Mutex // serializes checks
	seen pairStamp  // the files as they were at the last attempt

	// onCheck, when set by tests, runs after every check with its result.
	onCheck func(reloaded bool, err error)
}

// fileStamp is what is compared to notice a change: modification time and
// size, or the error of stat (a missing file).
type fileStamp struct {
	mod  time.Time
	size int64
	err  string
}

type pairStamp struct{ cert, key fileStamp }

func stamp(name string) fileStamp {
	fi, err := os.Stat(name)
	if err != nil {
		return fileStamp{err: err.Error()}
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}
}

// NewCertReloader loads the pair once; an error here is the operator's
// (missing or unreadable files, a key that does not match the certificate).
func NewCertReloader(certFile, keyFile string, log *slog.Logger, m *Metrics) (*CertReloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("a TLS certificate file and a key file are both required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log, metrics: m}
	r.seen = pairStamp{stamp(certFile), stamp(keyFile)}
	c, err := loadPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	r.cert.Store(c)
	m.certInUse(c.Leaf.NotAfter)
	return r, nil
}

// loadPair reads and checks a certificate and its key.
func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("reading the TLS certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("reading the TLS key: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading the TLS pair %s and %s: %w", certFile, keyFile, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parsing the TLS certificate %s: %w", certFile, err)
		}
	}
	return &c, nil
}

// Certificate returns the pair in use.
func (r *CertReloader) Certificate() *tls.Certificate { return r.cert.Load() }

// GetCertificate is the tls.Config hook; every handshake reads the pair in
// use at that moment.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// TLSConfig is a server configuration serving the reloaded pair, TLS 1.2 or
// later.
func (r *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// Run checks the files every interval until ctx is done.
func (r *CertReloader) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultCertReloadInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			reloaded, err := r.check()
			if r.onCheck != nil {
				r.onCheck(reloaded, err)
			}
		}
	}
}

// check loads the pair again when either file changed since the last
// attempt. A failed attempt is not retried until a file changes again, so a
// broken pair is logged once, not at every tick.
func (r *CertReloader) check() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := pairStamp{stamp(r.certFile), stamp(r.keyFile)}
	if now == r.seen {
		return false, nil
	}
	r.seen = now
	c, err := loadPair(r.certFile, r.keyFile)
	if err != nil {
		r.metrics.certReload(false)
		r.log.Error("the TLS certificate files changed but cannot be loaded; still serving the previous certificate", "error", err,
			"serial", r.cert.Load().Leaf.SerialNumber.String())
		return false, err
	}
	r.cert.Store(c)
	r.metrics.certReload(true)
	r.metrics.certInUse(c.Leaf.NotAfter)
	r.log.Info("reloaded the TLS certificate", "subject", c.Leaf.Subject.String(), "serial", c.Leaf.SerialNumber.String(),
		"not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return true, nil
}

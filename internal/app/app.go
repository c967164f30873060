package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/eksapi"
	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/iamapi"
	"github.com/irsa-dev/irsa/internal/issuer"
	"github.com/irsa-dev/irsa/internal/jwks"
	"github.com/irsa-dev/irsa/internal/keys"
	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
	"github.com/irsa-dev/irsa/internal/sts"
	"github.com/irsa-dev/irsa/internal/stsapi"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// Config is the runtime configuration of the server.
type Config struct {
	// Listen is the address of the one listener, e.g. 127.0.0.1:4590.
	Listen string
	// DataDir holds the embedded store and the root credentials file.
	DataDir string
	// AccountID is the default account.
	AccountID string
	// IssuerURL is the built-in issuer's URL; empty means the stored one,
	// or a new https://oidc.irsa.local/id/<random> on first start.
	IssuerURL string
	// Region is the region irsa reports (default us-east-1).
	Region string
	// RootAccessKeyID and RootSecretAccessKey, when both set, are the
	// account root's access key instead of a generated one.
	RootAccessKeyID     string
	RootSecretAccessKey string
	// TrustCAFiles are PEM bundles trusted, besides the system roots, for
	// the discovery and JWKS of external OIDC providers.
	TrustCAFiles []string
	// InsecureAllowHTTPLoopbackProviders lets OIDC providers at
	// http://127.0.0.1 or http://localhost be registered and fetched.
	InsecureAllowHTTPLoopbackProviders bool
	// Mirrors are clusters whose service-account issuer irsa publishes.
	Mirrors []Mirror
	// InsecureDisableAudit answers calls without recording their audit
	// events. It exists to measure what auditing costs; never run a
	// server with it.
	InsecureDisableAudit bool
	// Alerts, when set, runs the audit alert rules in the background (see
	// alerts.go).
	Alerts *AlertsConfig
	// TrustPolicyMaxSize is the role trust policy quota (2048 to 4096).
	TrustPolicyMaxSize int
	Logger             *slog.Logger
	Now                func() time.Time
	Rand               io.Reader
}

// Mirror is a cluster issuer that irsa serves (see jwks.Mirror).
type Mirror struct {
	Issuer          string
	JWKSURL         string
	CAFile          string
	BearerTokenFile string
}

// App is the composed server.
type App struct {
	cfg     Config
	log     *slog.Logger
	Store   store.Store
	Keys    *keys.Manager
	Issuer  *issuer.Issuer
	IAM     *iam.Service
	STS     *sts.Service
	stsAPI  *stsapi.Handler
	iamAPI  *iamapi.Handler
	mirrors []*jwks.Mirror
	// recorder writes one durable audit event per call.
	recorder  *audit.Recorder
	stopAudit context.CancelFunc
	auditDone chan struct{}
	registry  *prometheus.Registry
	metrics   *metrics
	alerts    *alerting // nil when the server runs no alert rules

	// PodIdentity is EKS Pod Identity; eksAPI its REST JSON edge.
	PodIdentity *podidentity.Service
	eksAPI      *eksapi.Handler

	// Bootstrap tells what the first start created.
	Bootstrap Bootstrap
}

// Bootstrap is what New found or created.
type Bootstrap struct {
	AccountID         string
	RootAccessKeyID   string
	RootSecretKey     string // only when created now or configured
	CreatedRootKey    bool
	CredentialsFile   string
	IssuerURL         string
	IssuerProviderARN string
}

// ReadCacheTTL is how long a role or an account's OIDC providers are
// served from memory on the STS path. Writes through this process are seen
// at once; another replica's within this time.
const ReadCacheTTL = time.Second

// DefaultAccountID is the account irsa serves when none is configured.
const DefaultAccountID = "000000000000"

// DefaultIssuerHost is the host of generated built-in issuer URLs.
const DefaultIssuerHost = "oidc.irsa.local"

// New opens the store in cfg.DataDir, creates what a first start needs
// and composes the services.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.DataDir == "" {
		return nil, errors.New("app: a data directory is required")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory %s: %w", cfg.DataDir, err)
	}
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "irsa.db"))
	if err != nil {
		return nil, fmt.Errorf("opening the store in %s: %w", cfg.DataDir, err)
	}
	a := &App{cfg: cfg, log: cfg.Logger, Store: st}
	if err := a.compose(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	return a, nil
}

// NewWithStore composes the services over an open store (used by tools
// that share a store, and by tests with another backend).
func NewWithStore(ctx context.Context, cfg Config, st store.Store) (*App, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	a := &App{cfg: cfg, log: cfg.Logger, Store: st}
	if err := a.compose(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *App) compose(ctx context.Context) error {
	cfg := a.cfg
	a.Keys = keys.New(keys.Config{Store: a.Store, Now: cfg.Now, Rand: cfg.Rand})
	if err := a.Keys.Ensure(ctx); err != nil {
		return fmt.Errorf("preparing keys: %w", err)
	}
	if err := a.bootstrap(ctx); err != nil {
		return err
	}
	a.Issuer = &issuer.Issuer{URL: a.Bootstrap.IssuerURL, Keys: a.Keys, Now: cfg.Now, Rand: cfg.Rand}

	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	for _, f := range cfg.TrustCAFiles {
		pem, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading trusted CA bundle: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("trusted CA bundle %s holds no PEM certificate", f)
		}
	}
	external := jwks.New(jwks.Config{
		Client:                    &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}},
		RootCAs:                   roots,
		InsecureAllowHTTPLoopback: cfg.InsecureAllowHTTPLoopbackProviders,
		Now:                       cfg.Now,
	})
	ks := &keySource{builtinURL: a.Bootstrap.IssuerURL, builtin: a.Keys, external: external, mirrors: map[string]*jwks.Mirror{}}
	for _, m := range cfg.Mirrors {
		pool := roots.Clone()
		if m.CAFile != "" {
			pem, err := os.ReadFile(m.CAFile)
			if err != nil {
				return fmt.Errorf("cluster issuer %s: reading its CA: %w", m.Issuer, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("cluster issuer %s: CA file %s holds no PEM certificate", m.Issuer, m.CAFile)
			}
		}
		mirror := &jwks.Mirror{
			Issuer: m.Issuer, JWKSURL: m.JWKSURL, BearerTokenFile: m.BearerTokenFile, Now: cfg.Now,
			Client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}},
		}
		a.mirrors = append(a.mirrors, mirror)
		ks.mirrors[m.Issuer] = mirror
	}
	cached := newCachedStore(a.Store, ReadCacheTTL, cfg.Now)
	verifier := &webidentity.Verifier{Providers: cached, Keys: ks, Now: cfg.Now}

	a.IAM = &iam.Service{Store: cached, Now: cfg.Now, Rand: cfg.Rand, TrustPolicyMaxSize: cfg.TrustPolicyMaxSize, AllowHTTPLoopbackProviders: cfg.InsecureAllowHTTPLoopbackProviders}
	a.STS = &sts.Service{Roles: cached, Policies: a.IAM, Verifier: verifier, Sealers: a.Keys, Now: cfg.Now, Rand: cfg.Rand, Region: cfg.Region}
	a.stsAPI = &stsapi.Handler{Service: a.STS}
	a.iamAPI = &iamapi.Handler{Service: a.IAM, Authorize: a.STS.AuthorizeExplain}
	a.composeEKS(ks)
	a.registry = prometheus.NewRegistry()
	a.metrics = newMetrics(a.registry)
	if err := a.startAlerts(); err != nil {
		return fmt.Errorf("starting the audit alerts: %w", err)
	}
	a.startAudit()
	return nil
}

// bootstrap creates the default account, its root key and the built-in
// issuer's OIDC provider when they are missing.
func (a *App) bootstrap(ctx context.Context) error {
	cfg := a.cfg
	now := cfg.Now().UTC()
	b := Bootstrap{AccountID: cfg.AccountID, CredentialsFile: filepath.Join(cfg.DataDir, "root-credentials")}
	if _, err := a.Store.GetAccount(ctx, cfg.AccountID); errors.Is(err, store.ErrNotFound) {
		if err := a.Store.CreateAccount(ctx, store.Account{ID: cfg.AccountID, CreatedAt: now}); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("creating account %s: %w", cfg.AccountID, err)
		}
	} else if err != nil {
		return fmt.Errorf("reading account %s: %w", cfg.AccountID, err)
	}

	// The root access key.
	keysOf, err := a.Store.ListAccessKeys(ctx, cfg.AccountID)
	if err != nil {
		return fmt.Errorf("reading access keys: %w", err)
	}
	var root *store.AccessKey
	for i := range keysOf {
		if keysOf[i].UserName == "" && keysOf[i].Status == "Active" {
			root = &keysOf[i]
			break
		}
	}
	switch {
	case cfg.RootAccessKeyID != "" || cfg.RootSecretAccessKey != "":
		if !validAccessKeyID(cfg.RootAccessKeyID) || len(cfg.RootSecretAccessKey) < 16 || len(cfg.RootSecretAccessKey) > 128 {
			return errors.New("IRSA_ROOT_ACCESS_KEY_ID must be AKIA followed by 16 upper-case letters or digits, and IRSA_ROOT_SECRET_ACCESS_KEY 16 to 128 characters; set both or neither")
		}
		existing, err := a.Store.GetAccessKey(ctx, cfg.RootAccessKeyID)
		switch {
		case err == nil && existing.Secret != cfg.RootSecretAccessKey:
			if err := a.Store.DeleteAccessKey(ctx, existing.ID); err != nil {
				return err
			}
			fallthrough
		case errors.Is(err, store.ErrNotFound):
			k := store.AccessKey{ID: cfg.RootAccessKeyID, AccountID: cfg.AccountID, Secret: cfg.RootSecretAccessKey, Status: "Active", CreatedAt: now}
			if err := a.Store.CreateAccessKey(ctx, k); err != nil {
				return fmt.Errorf("storing the configured root key: %w", err)
			}
		case err != nil:
			return err
		}
		b.RootAccessKeyID, b.RootSecretKey = cfg.RootAccessKeyID, cfg.RootSecretAccessKey
	case root == nil:
		id, err := session.NewAccessKeyID(session.PrefixLongTerm, cfg.AccountID, cfg.Rand)
		if err != nil {
			return err
		}
		secret, err := session.NewSecretAccessKey(cfg.Rand)
		if err != nil {
			return err
		}
		if err := a.Store.CreateAccessKey(ctx, store.AccessKey{ID: id, AccountID: cfg.AccountID, Secret: secret, Status: "Active", CreatedAt: now}); err != nil {
			return fmt.Errorf("creating the root access key: %w", err)
		}
		b.RootAccessKeyID, b.RootSecretKey, b.CreatedRootKey = id, secret, true
	default:
		b.RootAccessKeyID, b.RootSecretKey = root.ID, root.Secret
	}
	if err := writeCredentialsFile(b.CredentialsFile, b.RootAccessKeyID, b.RootSecretKey); err != nil {
		return err
	}

	// The built-in issuer.
	var idb [16]byte
	if _, err := io.ReadFull(cfg.Rand, idb[:]); err != nil {
		return err
	}
	generated := "https://" + DefaultIssuerHost + "/id/" + strings.ToUpper(hex.EncodeToString(idb[:]))
	stored, err := a.Store.PutSettingIfAbsent(ctx, "issuer.url", generated)
	if err != nil {
		return fmt.Errorf("reading the issuer URL: %w", err)
	}
	b.IssuerURL = stored
	if cfg.IssuerURL != "" {
		b.IssuerURL = cfg.IssuerURL
	}
	providerARN := "arn:aws:iam::" + cfg.AccountID + ":oidc-provider/" + strings.TrimPrefix(strings.TrimPrefix(b.IssuerURL, "https://"), "http://")
	b.IssuerProviderARN = providerARN
	if _, err := a.Store.GetOIDCProvider(ctx, providerARN); errors.Is(err, store.ErrNotFound) {
		p := store.OIDCProvider{AccountID: cfg.AccountID, ARN: providerARN, URL: b.IssuerURL, ClientIDs: []string{"sts.amazonaws.com"}, CreatedAt: now,
			Tags: []store.Tag{{Key: "irsa:builtin-issuer", Value: "true"}}}
		if err := a.Store.CreateOIDCProvider(ctx, p); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("registering the built-in issuer: %w", err)
		}
	} else if err != nil {
		return err
	}
	a.Bootstrap = b
	return nil
}

func validAccessKeyID(s string) bool {
	if len(s) != 20 || !strings.HasPrefix(s, "AKIA") {
		return false
	}
	for _, c := range s[4:] {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// writeCredentialsFile writes the root key in the AWS shared credentials
// format, readable only by its owner.
func writeCredentialsFile(path, id, secret string) error {
	content := "# The root access key of irsa's default account. Use it with\n# AWS_SHARED_CREDENTIALS_FILE=" + path + "\n[default]\naws_access_key_id = " + id + "\naws_secret_access_key = " + secret + "\n"
	if old, err := os.ReadFile(path); err == nil && string(old) == content {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// Close writes the audit events still queued, stops the checkpoint signer
// and releases the store.
func (a *App) Close() error {
	a.stopAlerts()
	if a.recorder != nil {
		_ = a.recorder.Close()
		a.stopAudit()
		<-a.auditDone
		<-a.auditDone
	}
	return a.Store.Close()
}

// Serve serves on ln until ctx is done, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return err
		}
		<-errc //nolint:errcheck // after Shutdown, Serve returns http.ErrServerClosed; this only waits for it
		return nil
	}
}

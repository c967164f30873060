package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// Defaults of ServerConfig.
const (
	DefaultListen           = ":8443"
	DefaultCacheSyncTimeout = 60 * time.Second
	DefaultShutdownTimeout  = 10 * time.Second
)

// ServerConfig configures Run.
type ServerConfig struct {
	// Listen is the TCP address of the HTTPS listener; DefaultListen when
	// empty. Listener, when set, is used instead.
	Listen   string
	Listener net.Listener

	// TLSCertFile and TLSKeyFile are the PEM serving certificate (with its
	// chain) and key, reloaded when they change on disk.
	TLSCertFile, TLSKeyFile string
	// CertReloadInterval is how often the files are checked;
	// DefaultCertReloadInterval when zero.
	CertReloadInterval time.Duration

	// Kubeconfig is a kubeconfig file to use (--kubeconfig); it must exist.
	Kubeconfig string
	// KubeconfigEnv is the value of KUBECONFIG, a list of files merged by
	// client-go's loading rules, used when Kubeconfig is empty. With
	// neither, the in-cluster configuration is used.
	KubeconfigEnv string
	// Client, when set, is used instead of building one from the above.
	Client kubernetes.Interface
	// UserAgent of the Kubernetes client; "irsa-webhook" when empty.
	UserAgent string

	// Webhook is the mutation's configuration.
	Webhook Config
	// PodIdentity, when set, turns on the EKS Pod Identity mode.
	PodIdentity *PodIdentityConfig

	// SALookupGracePeriod: see SACacheConfig.GracePeriod. Callers wanting
	// the default set DefaultSALookupGracePeriod; zero means no wait.
	SALookupGracePeriod time.Duration
	// ResyncPeriod of the ServiceAccount informer; zero disables resyncs.
	ResyncPeriod time.Duration
	// CacheSyncTimeout bounds the wait for the first full list of
	// ServiceAccounts before it is logged as an error (serving goes on, and
	// /readyz answers 503 until the list arrives); DefaultCacheSyncTimeout
	// when zero.
	CacheSyncTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown once the context is
	// done; DefaultShutdownTimeout when zero.
	ShutdownTimeout time.Duration

	// Logger; nil discards. client-go's own logs are sent to it too.
	Logger *slog.Logger
	// Metrics, when set, is used instead of a new registry (tests read it).
	Metrics *Metrics
}

// PodIdentityConfig configures the EKS Pod Identity mode of Run: the
// association lookup through the EKS API.
type PodIdentityConfig struct {
	// Client reaches irsa's (or EKS's) API; an *eks.Client.
	Client AssociationLister
	// ClusterName is the cluster whose associations count.
	ClusterName string
	// TTL, NegativeTTL, MaxStale and Timeout of the association cache;
	// zero means the defaults (see AssociationCacheConfig).
	TTL, NegativeTTL, MaxStale, Timeout time.Duration
}

// ConfigError is an operator mistake found before serving: certificate
// files that are missing or do not form a pair, an unusable kubeconfig, a
// listen address that cannot be opened, a setting out of range.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

// Run serves the webhook until ctx is done, then shuts down gracefully and
// returns nil. Routes, all on the one HTTPS listener:
//
//	/mutate   the admission webhook (Handler)
//	/healthz  "ok" while the process serves
//	/readyz   "ok" once the ServiceAccount informer has synced, 503 before
//	/metrics  Prometheus metrics of this server's registry
//
// Errors found before serving are *ConfigError.
func Run(ctx context.Context, cfg ServerConfig) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	} else {
		klog.SetSlogLogger(log.With("component", "client-go"))
	}
	if err := cfg.Webhook.Validate(); err != nil {
		return &ConfigError{Err: err}
	}
	m := cfg.Metrics
	if m == nil {
		m = NewMetrics()
	}

	certs, err := NewCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, log, m)
	if err != nil {
		return &ConfigError{Err: err}
	}
	client := cfg.Client
	if client == nil {
		if client, err = newClient(cfg); err != nil {
			return &ConfigError{Err: err}
		}
	}
	sas, err := NewSACache(SACacheConfig{
		Client:           client,
		AnnotationPrefix: cfg.Webhook.prefix(),
		ResyncPeriod:     cfg.ResyncPeriod,
		GracePeriod:      cfg.SALookupGracePeriod,
		Metrics:          m,
		Logger:           log,
	})
	if err != nil {
		return &ConfigError{Err: err}
	}
	var associations *AssociationCache
	if pi := cfg.PodIdentity; pi != nil {
		associations, err = NewAssociationCache(AssociationCacheConfig{
			Client:      pi.Client,
			ClusterName: pi.ClusterName,
			TTL:         pi.TTL,
			NegativeTTL: pi.NegativeTTL,
			MaxStale:    pi.MaxStale,
			Timeout:     pi.Timeout,
			Metrics:     m,
			Logger:      log,
		})
		if err != nil {
			return &ConfigError{Err: err}
		}
	}

	ln := cfg.Listener
	if ln == nil {
		addr := cfg.Listen
		if addr == "" {
			addr = DefaultListen
		}
		if ln, err = net.Listen("tcp", addr); err != nil {
			return configErrorf("cannot listen on %s: %w", addr, err)
		}
	}
	defer ln.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sas.Start(ctx)
	go certs.Run(ctx, cfg.CertReloadInterval)
	syncTimeout := cfg.CacheSyncTimeout
	if syncTimeout <= 0 {
		syncTimeout = DefaultCacheSyncTimeout
	}
	go func() {
		start := time.Now()
		if err := sas.WaitForSync(ctx, syncTimeout); err != nil {
			if ctx.Err() == nil {
				log.Error("ServiceAccount cache not synced; /readyz answers 503 until it is, lookups go to the API server meanwhile", "error", err)
			}
			return
		}
		log.Info("ServiceAccount cache synced", "after", time.Since(start).Round(time.Millisecond).String())
	}()

	h := &Handler{Config: &cfg.Webhook, Lookup: sas, Logger: log, Metrics: m}
	// The API server allows a webhook up to 30 seconds; the answer may wait
	// the grace period and one GET on top of the decoding, and the
	// association lookup.
	writeTimeout := 30*time.Second + cfg.SALookupGracePeriod + defaultFetchTimeout
	if associations != nil {
		h.Associations = associations
		writeTimeout += associations.timeout
		go func() {
			// Not fatal: the API may come up after the webhook.
			if err := associations.Check(ctx); err != nil {
				if ctx.Err() == nil {
					log.Error("the EKS API cannot list Pod Identity associations; ServiceAccounts without a role-arn annotation get no credentials until it can", "cluster", associations.Cluster(), "error", err)
				}
				return
			}
			log.Info("EKS Pod Identity mode on", "cluster", associations.Cluster())
		}()
	}
	srv := &http.Server{
		Handler:           newMux(h, sas.Synced, m),
		TLSConfig:         certs.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// Handshake failures of scanners and probes are noise at info level.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	log.Info("irsa webhook is serving", "listen", ln.Addr().String(), "annotation_prefix", cfg.Webhook.prefix(),
		"sa_lookup_grace_period", cfg.SALookupGracePeriod.String())

	select {
	case err := <-errc:
		return fmt.Errorf("serving the webhook: %w", err)
	case <-ctx.Done():
	}
	timeout := cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	sctx, scancel := context.WithTimeout(context.Background(), timeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down the webhook: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the webhook: %w", err)
	}
	log.Info("irsa webhook stopped")
	return nil
}

// newMux routes the server's paths; every route is counted and timed.
func newMux(mutate http.Handler, synced func() bool, m *Metrics) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/mutate", m.instrument("/mutate", mutate))
	mux.Handle("GET /healthz", m.instrument("/healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok")
	})))
	mux.Handle("GET /readyz", m.instrument("/readyz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !synced() {
			plain(w, http.StatusServiceUnavailable, "ServiceAccount cache not synced")
			return
		}
		plain(w, http.StatusOK, "ok")
	})))
	mux.Handle("GET /metrics", m.instrument("/metrics", m.Handler()))
	return mux
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body + "\n"))
}

// newClient builds the Kubernetes client: the --kubeconfig file, else the
// KUBECONFIG list, else the in-cluster configuration.
func newClient(cfg ServerConfig) (kubernetes.Interface, error) {
	var (
		rc  *rest.Config
		err error
	)
	switch {
	case cfg.Kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.Kubeconfig}
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("cannot use the kubeconfig %s: %w", cfg.Kubeconfig, kubeconfigError(err))
		}
	case cfg.KubeconfigEnv != "":
		files := filepath.SplitList(cfg.KubeconfigEnv)
		if !slices.ContainsFunc(files, func(f string) bool { _, err := os.Stat(f); return err == nil }) {
			return nil, fmt.Errorf("cannot use the kubeconfig from KUBECONFIG=%s: none of its files exists", cfg.KubeconfigEnv)
		}
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: files}
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("cannot use the kubeconfig from KUBECONFIG=%s: %w", cfg.KubeconfigEnv, kubeconfigError(err))
		}
	default:
		rc, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no --kubeconfig given, KUBECONFIG is not set, and the in-cluster configuration is unavailable: %w", err)
		}
	}
	rc.UserAgent = cfg.UserAgent
	if rc.UserAgent == "" {
		rc.UserAgent = "irsa-webhook"
	}
	// The informer's list and watch plus the occasional direct GET.
	rc.QPS, rc.Burst = 50, 50
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("building the Kubernetes client: %w", err)
	}
	return c, nil
}

// kubeconfigError replaces client-go's message for a kubeconfig without a
// usable context, which suggests an environment variable irsa ignores.
func kubeconfigError(err error) error {
	if clientcmd.IsEmptyConfig(err) {
		return errors.New("it defines no cluster to use (no clusters, or no current-context)")
	}
	return err
}

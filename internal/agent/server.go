package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of ServerConfig, the EKS agent's.
const (
	DefaultPort            = 80
	DefaultProbeAddr       = "localhost:2703"
	DefaultMetricsAddr     = "0.0.0.0:2705"
	DefaultShutdownTimeout = 35 * time.Second
)

// DefaultBindHosts are the link-local addresses the SDKs allow for the
// container-credentials endpoint.
var DefaultBindHosts = []string{"169.254.170.23", "fd00:ec2::23"}

// ServerConfig configures Run.
type ServerConfig struct {
	// BindHosts are the IP addresses the credentials endpoint listens on, at
	// Port. An IPv6 address the node does not have (IPv6 disabled) is
	// skipped with a warning; any other failure to listen is an error.
	BindHosts []string
	Port      int
	// Listeners, when set, are used instead of BindHosts and Port; their
	// hosts are the allowed Host headers.
	Listeners []net.Listener

	// ProbeAddr serves /healthz and /readyz; MetricsAddr serves /metrics and
	// the probes. Empty disables either. ProbeListener and MetricsListener,
	// when set, are used instead.
	ProbeAddr, MetricsAddr         string
	ProbeListener, MetricsListener net.Listener

	// Upstream is EKS Auth; Cache configures the cache in front of it
	// (its Upstream, Logger and Metrics are set by Run).
	Upstream Upstream
	Cache    CacheConfig
	// RequestRate and RequestBurst: see HandlerConfig.
	RequestRate  float64
	RequestBurst int

	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Metrics, when set, is used instead of a new registry (tests read it).
	Metrics *Metrics
	// Ready, when set, is called once every server is listening (tests).
	Ready func(credentials []net.Addr)
}

// ConfigError is an operator mistake found before serving.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Run serves the agent until ctx is done, then shuts down gracefully.
func Run(ctx context.Context, cfg ServerConfig) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := cfg.Metrics
	if m == nil {
		m = NewMetrics()
	}
	if cfg.Upstream == nil {
		return &ConfigError{errors.New("no upstream")}
	}
	cc := cfg.Cache
	cc.Upstream, cc.Logger, cc.Metrics = cfg.Upstream, log, m
	cache, err := NewCache(cc)
	if err != nil {
		return &ConfigError{err}
	}

	lns := cfg.Listeners
	if lns == nil {
		if lns, err = listen(cfg.BindHosts, cfg.Port, log); err != nil {
			return err
		}
	}
	var closers []net.Listener
	defer func() {
		for _, ln := range closers {
			_ = ln.Close()
		}
	}()
	closers = append(closers, lns...)
	var hosts []string
	var addrs []net.Addr
	for _, ln := range lns {
		addrs = append(addrs, ln.Addr())
		if ta, ok := ln.Addr().(*net.TCPAddr); ok {
			hosts = append(hosts, ta.IP.String())
		}
	}
	probeLn, err := listenOptional(cfg.ProbeListener, cfg.ProbeAddr, "--probe-port")
	if err != nil {
		return err
	}
	if probeLn != nil {
		closers = append(closers, probeLn)
	}
	metricsLn, err := listenOptional(cfg.MetricsListener, cfg.MetricsAddr, "--metrics-address")
	if err != nil {
		return err
	}
	if metricsLn != nil {
		closers = append(closers, metricsLn)
	}

	h := NewHandler(HandlerConfig{Source: cache, AllowedHosts: hosts, RequestRate: cfg.RequestRate,
		RequestBurst: cfg.RequestBurst, Now: cc.Now, Logger: log, Metrics: m})
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	type server struct {
		srv *http.Server
		ln  net.Listener
	}
	var servers []server
	serve := func(ln net.Listener, handler http.Handler) {
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       90 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          errLog,
		}
		servers = append(servers, server{srv, ln})
	}
	for _, ln := range lns {
		serve(ln, h)
	}
	probes := newProbes(addrs)
	if probeLn != nil {
		mux := http.NewServeMux()
		probes.register(mux)
		serve(probeLn, mux)
	}
	if metricsLn != nil {
		mux := http.NewServeMux()
		probes.register(mux)
		mux.Handle("GET /metrics", m.Handler())
		serve(metricsLn, mux)
	}
	closers = nil // the servers own them now

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(servers)+1)
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving on %s: %w", s.ln.Addr(), err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = cache.Run(ctx)
	}()
	log.Info("irsa agent is serving", "credentials", joinAddrs(addrs), "probes", addrOf(probeLn), "metrics", addrOf(metricsLn))
	if cfg.Ready != nil {
		cfg.Ready(addrs)
	}

	var runErr error
	select {
	case runErr = <-errc:
	case <-ctx.Done():
	}
	cancel()
	timeout := cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	sctx, scancel := context.WithTimeout(context.Background(), timeout)
	defer scancel()
	for _, s := range servers {
		if err := s.srv.Shutdown(sctx); err != nil && runErr == nil {
			runErr = fmt.Errorf("shutting down: %w", err)
		}
	}
	wg.Wait()
	if runErr != nil {
		return runErr
	}
	log.Info("irsa agent stopped")
	return nil
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}

func joinAddrs(as []net.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// listen opens the credentials listeners.
func listen(hosts []string, port int, log *slog.Logger) ([]net.Listener, error) {
	if len(hosts) == 0 {
		return nil, &ConfigError{errors.New("no --bind-hosts")}
	}
	if port < 0 || port > 65535 {
		return nil, &ConfigError{fmt.Errorf("--port %d is not a TCP port", port)}
	}
	var lns []net.Listener
	fail := func(err error) ([]net.Listener, error) {
		for _, ln := range lns {
			_ = ln.Close()
		}
		return nil, err
	}
	for _, h := range hosts {
		a, err := netip.ParseAddr(strings.Trim(h, "[]"))
		if err != nil {
			return fail(&ConfigError{fmt.Errorf("--bind-hosts: %q is not an IP address", h)})
		}
		if a.IsUnspecified() {
			// Requests must name the address in Host: one they cannot name
			// would refuse every request.
			return fail(&ConfigError{fmt.Errorf("--bind-hosts: %s listens everywhere; give the addresses pods call (169.254.170.23, fd00:ec2::23)", a)})
		}
		addr := net.JoinHostPort(a.String(), strconv.Itoa(port))
		lc := net.ListenConfig{Control: reusePort}
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			if a.Is6() && !a.Is4In6() && (errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)) {
				log.Warn("IPv6 address not available on this node; serving IPv4 only", "address", addr, "error", err)
				continue
			}
			hint := ""
			if errors.Is(err, syscall.EADDRNOTAVAIL) {
				hint = " (run 'irsa agent setup-link' first, with CAP_NET_ADMIN, to add the address to the node)"
			}
			return fail(&ConfigError{fmt.Errorf("cannot listen on %s: %w%s", addr, err, hint)})
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return nil, &ConfigError{errors.New("no --bind-hosts address could be listened on")}
	}
	return lns, nil
}

func listenOptional(ln net.Listener, addr, flag string) (net.Listener, error) {
	if ln != nil || addr == "" {
		return ln, nil
	}
	lc := net.ListenConfig{Control: reusePort}
	l, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("%s: cannot listen on %s: %w", flag, addr, err)}
	}
	return l, nil
}

// probes check that every credentials listener answers: a GET of / must
// give 404 within a second.
type probes struct {
	targets []string
	client  *http.Client
}

func newProbes(addrs []net.Addr) *probes {
	p := &probes{client: &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}}
	for _, a := range addrs {
		p.targets = append(p.targets, "http://"+a.String()+"/")
	}
	return p
}

func (p *probes) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", p.serve)
	mux.HandleFunc("GET /readyz", p.serve)
}

func (p *probes) serve(w http.ResponseWriter, r *http.Request) {
	var failed []string
	for _, t := range p.targets {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, t, nil)
		if err != nil {
			failed = append(failed, t+": "+err.Error())
			continue
		}
		resp, err := p.client.Do(req)
		if err != nil {
			failed = append(failed, t+": "+err.Error())
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			failed = append(failed, fmt.Sprintf("%s: status %d, want 404", t, resp.StatusCode))
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Join(failed, "\n") + "\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

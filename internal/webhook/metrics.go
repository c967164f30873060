package webhook

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Results of a direct ServiceAccount GET, the values of the result label of
// irsa_webhook_sa_fetches_total.
const (
	fetchFound    = "found"
	fetchNotFound = "not_found"
	fetchError    = "error"
	fetchLimited  = "rate_limited"
)

// Metrics are the Prometheus metrics of one webhook server, in a registry
// of their own. A nil *Metrics records nothing, so that the cache and the
// certificate reloader can be used without one.
type Metrics struct {
	registry *prometheus.Registry

	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	mutations   *prometheus.CounterVec
	saMisses    prometheus.Counter
	saWaitHits  prometheus.Counter
	saFetches   *prometheus.CounterVec
	piLookups   *prometheus.CounterVec
	certReloads *prometheus.CounterVec
	certExpiry  prometheus.Gauge
}

// NewMetrics creates the metrics and their registry, with the Go runtime
// and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_webhook_requests_total",
			Help: "HTTP requests to the webhook server by path and status code.",
		}, []string{"path", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "irsa_webhook_request_duration_seconds",
			Help:    "Time to answer HTTP requests to the webhook server, by path and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"path", "code"}),
		mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_webhook_mutations_total",
			Help: "Admission reviews answered, by outcome.",
		}, []string{"outcome"}),
		saMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "irsa_webhook_sa_cache_misses_total",
			Help: "ServiceAccount lookups that did not find the ServiceAccount in the informer's cache.",
		}),
		saWaitHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "irsa_webhook_sa_cache_wait_hits_total",
			Help: "Cache misses answered by the informer within the lookup grace period.",
		}),
		saFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_webhook_sa_fetches_total",
			Help: "Direct GETs of ServiceAccounts missing from the cache, by result (found, not_found, error, rate_limited).",
		}, []string{"result"}),
		piLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_webhook_pod_identity_lookups_total",
			Help: "EKS Pod Identity association lookups, by result (hit, found, not_found, stale, error).",
		}, []string{"result"}),
		certReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_webhook_tls_reloads_total",
			Help: "Attempts to load a changed serving certificate, by result (success, error).",
		}, []string{"result"}),
		certExpiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "irsa_webhook_tls_certificate_expiry_timestamp_seconds",
			Help: "Expiry (notAfter, Unix seconds) of the serving certificate in use.",
		}),
	}
	for _, r := range []string{fetchFound, fetchNotFound, fetchError, fetchLimited} {
		m.saFetches.WithLabelValues(r)
	}
	for _, r := range []string{piLookupHit, piLookupFound, piLookupNotFound, piLookupStale, piLookupError} {
		m.piLookups.WithLabelValues(r)
	}
	for _, o := range Outcomes() {
		m.mutations.WithLabelValues(o)
	}
	for _, r := range []string{"success", "error"} {
		m.certReloads.WithLabelValues(r)
	}
	m.registry.MustRegister(m.requests, m.latency, m.mutations, m.saMisses, m.saWaitHits, m.saFetches, m.piLookups,
		m.certReloads, m.certExpiry,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the metrics are in; callers may add their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ObserveMutation counts one admission review by outcome; it is the hook
// the admission Handler calls.
func (m *Metrics) ObserveMutation(outcome string) {
	if m == nil {
		return
	}
	m.mutations.WithLabelValues(outcome).Inc()
}

// instrument counts and times the requests h answers under path.
func (m *Metrics) instrument(path string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	labels := prometheus.Labels{"path": path}
	h = promhttp.InstrumentHandlerDuration(m.latency.MustCurryWith(labels), h)
	return promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(labels), h)
}

func (m *Metrics) saCacheMiss() {
	if m != nil {
		m.saMisses.Inc()
	}
}

func (m *Metrics) saWaitResolved() {
	if m != nil {
		m.saWaitHits.Inc()
	}
}

func (m *Metrics) saFetch(result string) {
	if m != nil {
		m.saFetches.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) podIdentityLookup(result string) {
	if m != nil {
		m.piLookups.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) certReload(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.certReloads.WithLabelValues("success").Inc()
	} else {
		m.certReloads.WithLabelValues("error").Inc()
	}
}

func (m *Metrics) certInUse(notAfter time.Time) {
	if m != nil {
		m.certExpiry.Set(float64(notAfter.Unix()))
	}
}

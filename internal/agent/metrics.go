package agent

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Values of the result label of irsa_agent_cache_lookups_total.
const (
	lookupHit    = "hit"    // fresh or due credentials from the cache
	lookupMiss   = "miss"   // no credentials: an upstream call
	lookupRenew  = "renew"  // credentials too close to expiry: an upstream call
	lookupShared = "shared" // joined another request's upstream call
	lookupStale  = "stale"  // upstream failed: unexpired cached credentials served
)

// Values of the reason label of irsa_agent_cache_evictions_total.
const (
	evictExpired       = "expired"
	evictIrrecoverable = "irrecoverable"
	evictCapacity      = "capacity"
)

// Values of the result label of irsa_agent_renewals_total.
const (
	renewalSuccess  = "success"
	renewalError    = "error"
	renewalDeferred = "deferred" // postponed by the rate limit
)

// knownCodes are the EKS Auth error codes that label metrics; any other
// code counts as "other", so that an answer cannot grow the label set.
var knownCodes = map[string]bool{
	"AccessDeniedException": true, "ExpiredTokenException": true, "InvalidTokenException": true,
	"InvalidParameterException": true, "InvalidRequestException": true, "ResourceNotFoundException": true,
	"ThrottlingException": true, "InternalServerException": true, "ServiceUnavailableException": true,
}

// Metrics are the Prometheus metrics of one agent, in a registry of their
// own. A nil *Metrics records nothing.
type Metrics struct {
	registry *prometheus.Registry

	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	lookups     *prometheus.CounterVec
	evictions   *prometheus.CounterVec
	renewals    *prometheus.CounterVec
	upstreams   *prometheus.CounterVec
	upstreamLat prometheus.Histogram
}

// NewMetrics creates the metrics and their registry, with the Go runtime
// and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_agent_requests_total",
			Help: "Credential requests answered, by HTTP status code.",
		}, []string{"code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "irsa_agent_request_duration_seconds",
			Help:    "Time to answer credential requests, by HTTP status code.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"code"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_agent_cache_lookups_total",
			Help: "Credential cache lookups by result (hit, miss, renew, shared, stale).",
		}, []string{"result"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_agent_cache_evictions_total",
			Help: "Tokens dropped from the cache, by reason (expired, irrecoverable, capacity).",
		}, []string{"reason"}),
		renewals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_agent_renewals_total",
			Help: "Background renewals of cached credentials, by result (success, error, deferred).",
		}, []string{"result"}),
		upstreams: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_agent_upstream_requests_total",
			Help: "Calls to EKS Auth AssumeRoleForPodIdentity, by result: ok, the AWS error code, or error (no answer).",
		}, []string{"result"}),
		upstreamLat: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "irsa_agent_upstream_duration_seconds",
			Help:    "Time of calls to EKS Auth, all attempts included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	for _, r := range []string{lookupHit, lookupMiss, lookupRenew, lookupShared, lookupStale} {
		m.lookups.WithLabelValues(r)
	}
	for _, r := range []string{evictExpired, evictIrrecoverable, evictCapacity} {
		m.evictions.WithLabelValues(r)
	}
	for _, r := range []string{renewalSuccess, renewalError, renewalDeferred} {
		m.renewals.WithLabelValues(r)
	}
	m.registry.MustRegister(m.requests, m.latency, m.lookups, m.evictions, m.renewals, m.upstreams, m.upstreamLat,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the metrics are in.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// instrument counts and times the credential requests h answers.
func (m *Metrics) instrument(h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	h = promhttp.InstrumentHandlerDuration(m.latency, h)
	return promhttp.InstrumentHandlerCounter(m.requests, h)
}

// cacheSize exports the number of cached tokens.
func (m *Metrics) cacheSize(n func() int) {
	if m == nil {
		return
	}
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "irsa_agent_cache_entries",
		Help: "Tokens in the credential cache.",
	}, func() float64 { return float64(n()) }))
}

func (m *Metrics) lookup(result string) {
	if m != nil {
		m.lookups.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) evict(reason string) {
	if m != nil {
		m.evictions.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) renewal(result string) {
	if m != nil {
		m.renewals.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) upstream(err error, d time.Duration) {
	if m == nil {
		return
	}
	result := "ok"
	var ue *UpstreamError
	switch {
	case errors.As(err, &ue):
		result = "other"
		if knownCodes[ue.Code] {
			result = ue.Code
		}
	case err != nil:
		result = "error"
	}
	m.upstreams.WithLabelValues(result).Inc()
	m.upstreamLat.Observe(d.Seconds())
}

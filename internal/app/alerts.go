package app

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/irsa-dev/irsa/internal/alerthook"
	"github.com/irsa-dev/irsa/internal/audit"
)

// AlertsConfig runs the audit alert rules in the server (see
// audit.Monitor).
type AlertsConfig struct {
	// Interval between evaluations; audit.DefaultMonitorInterval when
	// zero.
	Interval  time.Duration
	Rules     audit.Rules
	MaxEvents int
	// Webhook, when set, receives each alert that starts firing.
	Webhook *WebhookConfig
}

// WebhookConfig is where alerts are posted.
type WebhookConfig struct {
	// URL may hold a secret; it is never logged.
	URL     string
	Timeout time.Duration
	// Retries: 0 for audit.DefaultWebhookRetries, negative for none.
	Retries int
	// Client sends the posts; a client that follows no redirect when nil.
	Client *http.Client
}

// alerting is the running alert monitor.
type alerting struct {
	monitor *audit.Monitor
	cancel  context.CancelFunc
	done    chan struct{}
}

// ActiveAlerts returns the alerts firing now (none when the server runs no
// alert rules).
func (a *App) ActiveAlerts() []audit.Alert {
	if a.alerts == nil {
		return nil
	}
	return a.alerts.monitor.Active()
}

// startAlerts starts the alert monitor when the configuration asks for
// one, and registers its metrics.
func (a *App) startAlerts() error {
	cfg := a.cfg.Alerts
	if cfg == nil || a.cfg.InsecureDisableAudit {
		return nil
	}
	m := &audit.Monitor{
		Trail:     a.Store,
		Rules:     cfg.Rules,
		Interval:  cfg.Interval,
		MaxEvents: cfg.MaxEvents,
		Now:       a.cfg.Now,
		Logger:    a.log,
	}
	m.StartSeq = a.Store.AuditStart
	if w := cfg.Webhook; w != nil && w.URL != "" {
		hook, err := alerthook.NewWebhook(w.URL, w.Client, w.Timeout, w.Retries)
		if err != nil {
			return err
		}
		m.Notifier = hook
	}
	if err := a.registry.Register(&alertCollector{m: m}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.alerts = &alerting{monitor: m, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(a.alerts.done)
		_ = m.Run(ctx)
	}()
	return nil
}

// stopAlerts stops the alert monitor, if one runs.
func (a *App) stopAlerts() {
	if a.alerts == nil {
		return
	}
	a.alerts.cancel()
	<-a.alerts.done
}

// alertCollector exports the monitor's counters.
type alertCollector struct{ m *audit.Monitor }

var (
	alertsFiredDesc = prometheus.NewDesc("irsa_audit_alerts_total",
		"Audit alerts that started firing, by rule.", []string{"rule"}, nil)
	alertsActiveDesc = prometheus.NewDesc("irsa_audit_alerts_active",
		"Audit alerts firing now, by rule.", []string{"rule"}, nil)
	alertNotifyFailedDesc = prometheus.NewDesc("irsa_audit_alert_notifications_failed_total",
		"Alert notifications that could not be delivered to the webhook.", nil, nil)
	alertEventsDroppedDesc = prometheus.NewDesc("irsa_audit_alert_events_dropped_total",
		"Recent events the alert rules dropped to stay within their memory bound.", nil, nil)
)

func (c *alertCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- alertsFiredDesc
	ch <- alertsActiveDesc
	ch <- alertNotifyFailedDesc
	ch <- alertEventsDroppedDesc
}

func (c *alertCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Stats()
	for _, rule := range audit.RuleNames() {
		ch <- prometheus.MustNewConstMetric(alertsFiredDesc, prometheus.CounterValue, float64(s.Fired[rule]), rule)
		ch <- prometheus.MustNewConstMetric(alertsActiveDesc, prometheus.GaugeValue, float64(s.Active[rule]), rule)
	}
	ch <- prometheus.MustNewConstMetric(alertNotifyFailedDesc, prometheus.CounterValue, float64(s.NotificationsFailed))
	ch <- prometheus.MustNewConstMetric(alertEventsDroppedDesc, prometheus.CounterValue, float64(s.Dropped))
}

// AlertEvaluations is how many times the alert rules have run (0 when the
// server runs none).
func (a *App) AlertEvaluations() int64 {
	if a.alerts == nil {
		return 0
	}
	return a.alerts.monitor.Stats().Evaluations
}

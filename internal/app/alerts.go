package app

import (
	"context"
	"errors"
	"fmt"
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
	if q, ok := a.Store.(auditQuerier); ok {
		m.StartSeq = func(ctx context.Context, from time.Time) (int64, error) { return startSeq(ctx, q, from) }
	}
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

// auditQuerier is a store that answers SQL over the events view
// (sqlstore.Store).
type auditQuerier interface {
	QueryAudit(ctx context.Context, query string, maxRows int, timeout time.Duration) ([]string, [][]any, error)
}

// startSeq is the seq after which the trail's events newer than from
// begin: one query instead of reading the whole trail at start. It asks
// the stores' indexed event_time column (microseconds) first, and the
// portable events view when that fails.
func startSeq(ctx context.Context, q auditQuerier, from time.Time) (int64, error) {
	first := func(query string) (v any, err error) {
		_, rows, err := q.QueryAudit(ctx, query, 1, time.Minute)
		if err != nil {
			return nil, err
		}
		if len(rows) != 1 || len(rows[0]) != 1 {
			return nil, errors.New("the trail query gave no row")
		}
		return rows[0][0], nil
	}
	v, err := first(fmt.Sprintf("SELECT min(seq) FROM audit_events WHERE event_time > %d", from.UnixMicro()))
	if err != nil {
		// eventTime is CloudTrail's fixed-width UTC text, so it sorts as
		// time.
		v, err = first("SELECT min(seq) FROM events WHERE eventTime > '" + from.UTC().Format(audit.TimeFormat) + "'")
	}
	if err != nil {
		return 0, err
	}
	if v == nil {
		// No recent event: start after the newest record.
		if v, err = first("SELECT max(seq) FROM events"); err != nil || v == nil {
			return 0, err
		}
		n, ok := v.(int64)
		if !ok {
			return 0, errors.New("the events view gave a seq that is not an integer")
		}
		return n, nil
	}
	n, ok := v.(int64)
	if !ok {
		return 0, errors.New("the events view gave a seq that is not an integer")
	}
	return n - 1, nil
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

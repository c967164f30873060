package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
)

// RuleNames lists the names of the built-in alert rules, in Detect's order.
func RuleNames() []string {
	return []string{RuleCrossNamespace, RuleOutsideCIDR, RuleTokenReplay, RuleVolume}
}

// AlertKey identifies an alert across evaluations of the rules: the rule
// and what its events are grouped by (role and subject for
// cross-namespace, role and address for outside-cidr, the token for
// token-replay, the role for volume-anomaly). Counts, times and the other
// addresses or subjects that join the group later do not change it.
func AlertKey(a Alert) string {
	switch a.Rule {
	case RuleOutsideCIDR:
		return a.Rule + "|" + a.RoleARN + "|" + strings.Join(a.SourceIPs, ",")
	case RuleTokenReplay:
		return a.Rule + "|" + a.TokenHash
	case RuleVolume:
		return a.Rule + "|" + a.RoleARN
	}
	return a.Rule + "|" + a.RoleARN + "|" + a.Subject
}

// AlertEvent reads, from one stored CloudTrail record, the fields the
// alert rules need, and only those, so that an imported AWS record whose
// other fields are shaped differently from irsa's still counts. The role
// is the record's index field when it has one.
func AlertEvent(rec store.AuditRecord) (Event, error) {
	if e, ok := alertEventFast(rec.Event, rec.RoleARN); ok {
		return e, nil
	}
	return alertEventSlow(rec)
}

// alertEventSlow is AlertEvent with encoding/json, for any record.
func alertEventSlow(rec store.AuditRecord) (Event, error) {
	var v struct {
		EventTime         string          `json:"eventTime"`
		EventSource       string          `json:"eventSource"`
		EventName         string          `json:"eventName"`
		ErrorCode         string          `json:"errorCode"`
		SourceIPAddress   string          `json:"sourceIPAddress"`
		TokenHash         string          `json:"tokenHash"`
		RequestParameters json.RawMessage `json:"requestParameters"`
		AdditionalData    *struct {
			FederatedIdentity string `json:"federatedIdentity"`
		} `json:"additionalEventData"`
		UserIdentity *struct {
			Type                string `json:"type"`
			ARN                 string `json:"arn"`
			UserName            string `json:"userName"`
			WebIDFederationData *struct {
				FederatedIdentity string `json:"federatedIdentity"`
			} `json:"webIdFederationData"`
			SessionContext *struct {
				SessionIssuer *struct {
					ARN string `json:"arn"`
				} `json:"sessionIssuer"`
			} `json:"sessionContext"`
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal(rec.Event, &v); err != nil {
		return Event{}, err
	}
	t, err := time.Parse(time.RFC3339, v.EventTime)
	if err != nil {
		return Event{}, fmt.Errorf("eventTime: %w", err)
	}
	e := Event{EventTime: t.UTC(), EventSource: v.EventSource, EventName: v.EventName, ErrorCode: v.ErrorCode,
		SourceIPAddress: v.SourceIPAddress, TokenHash: v.TokenHash, RoleARN: rec.RoleARN}
	var params struct {
		RoleARN any `json:"roleArn"`
	}
	if json.Unmarshal(v.RequestParameters, &params) == nil {
		if s, ok := params.RoleARN.(string); ok {
			e.RequestParameters = map[string]any{"roleArn": s}
		}
	}
	if d := v.AdditionalData; d != nil && d.FederatedIdentity != "" {
		e.AdditionalEventData = map[string]any{"federatedIdentity": d.FederatedIdentity}
	}
	if u := v.UserIdentity; u != nil {
		e.UserIdentity = &UserIdentity{Type: u.Type, ARN: u.ARN, UserName: u.UserName}
		if f := u.WebIDFederationData; f != nil {
			e.UserIdentity.WebIDFederationData = &WebIDFederationData{FederatedIdentity: f.FederatedIdentity}
		}
		if sc := u.SessionContext; sc != nil && sc.SessionIssuer != nil {
			e.UserIdentity.SessionContext = &SessionContext{SessionIssuer: &SessionIssuer{ARN: sc.SessionIssuer.ARN}}
		}
	}
	return e, nil
}

// Notifier delivers the notification of an alert that started firing.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Monitor defaults.
const (
	DefaultMonitorInterval  = 30 * time.Second
	DefaultMonitorMaxEvents = 200_000
	monitorPage             = 1000
	notifyQueue             = 256
)

// Monitor runs the alert rules over the recent trail at an interval, in
// a running server. An alert fires once per AlertKey: it is counted and
// notified when it first appears, stays active while the rules keep
// finding it, and clears when they no longer do (its events aged out of
// the rules' period, or the volume came down); it can then fire again.
//
// The Monitor reads the trail incrementally and keeps the events of the
// rules' span (Rules.Span) in memory, at most MaxEvents of them: past
// that the earliest read are dropped (counted in MonitorStats.Dropped),
// which weakens the volume baseline but not the other rules.
type Monitor struct {
	// Trail is read with ListAudit.
	Trail store.Audit
	// StartSeq, when set, returns the sequence number after which the
	// trail's events newer than from begin (a store with a time index
	// answers it at once); the Monitor reads the whole trail once
	// otherwise, or when StartSeq fails.
	StartSeq func(ctx context.Context, from time.Time) (int64, error)
	Rules    Rules
	// Interval between evaluations; DefaultMonitorInterval when zero.
	Interval time.Duration
	// MaxEvents bounds the events kept; DefaultMonitorMaxEvents when zero.
	MaxEvents int
	// Notifier, when set, is given each alert that fires. Deliveries run
	// one at a time outside the evaluation loop; when 256 wait already,
	// a new one is dropped and counted as failed.
	Notifier Notifier
	Now      func() time.Time // time.Now when nil
	Logger   *slog.Logger     // slog.Default when nil

	// evalMu serializes evaluations and guards their state; mu guards
	// what Stats and Active read, and is never held during I/O.
	evalMu  sync.Mutex
	started bool
	after   int64 // the last seq read
	events  []Event

	mu     sync.Mutex
	active map[string]Alert
	stats  MonitorStats
	queue  chan Notification
}

// MonitorStats are a Monitor's counters, for metrics.
type MonitorStats struct {
	// Fired counts alerts that started firing, by rule.
	Fired map[string]int64
	// Active counts the alerts firing now, by rule.
	Active map[string]int
	// NotificationsFailed counts notifications that were not delivered
	// (every retry failed, or the queue was full).
	NotificationsFailed int64
	// Dropped counts events dropped to stay within MaxEvents.
	Dropped int64
	// Evaluations counts completed evaluations; Events is how many events
	// the last one looked at.
	Evaluations int64
	Events      int
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Monitor) log() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

// Stats returns a copy of the counters.
func (m *Monitor) Stats() MonitorStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Fired = make(map[string]int64, len(m.stats.Fired))
	for k, v := range m.stats.Fired {
		s.Fired[k] = v
	}
	s.Active = map[string]int{}
	for _, a := range m.active {
		s.Active[a.Rule]++
	}
	return s
}

// Active returns the alerts firing now, in Detect's order.
func (m *Monitor) Active() []Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Alert, 0, len(m.active))
	for _, a := range m.active {
		out = append(out, a)
	}
	order := map[string]int{}
	for i, r := range RuleNames() {
		order[r] = i
	}
	slices.SortFunc(out, func(a, b Alert) int {
		if c := order[a.Rule] - order[b.Rule]; c != 0 {
			return c
		}
		return strings.Compare(AlertKey(a), AlertKey(b))
	})
	return out
}

// Evaluate reads the records appended since the last evaluation, runs the
// rules as of now and returns the alerts that started firing, after
// queuing their notifications (delivered while Run runs).
func (m *Monitor) Evaluate(ctx context.Context) ([]Alert, error) {
	m.evalMu.Lock()
	defer m.evalMu.Unlock()
	now := m.now()
	rules := m.Rules.withDefaults()
	from := now.Add(-rules.Span())
	if !m.started {
		if m.StartSeq != nil {
			after, err := m.StartSeq(ctx, from)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				// Slower, not wrong: read the whole trail once.
				m.log().Warn("audit alerts: finding the recent trail failed; reading it all", "error", err)
				after = 0
			}
			m.after = after
		}
		m.started = true
	}
	for {
		recs, err := m.Trail.ListAudit(ctx, m.after, monitorPage)
		if err != nil {
			return nil, fmt.Errorf("audit: alerts: reading the trail: %w", err)
		}
		for _, rec := range recs {
			m.after = rec.Seq
			if !rec.EventTime.After(from) {
				continue
			}
			e, err := AlertEvent(rec)
			if err != nil {
				// A record that does not parse is verify's business.
				m.log().Warn("audit alerts: skipping an unreadable record", "seq", rec.Seq, "error", err)
				continue
			}
			m.events = append(m.events, e)
		}
		if len(recs) < monitorPage {
			break
		}
	}
	// Forget what the rules can no longer see, then stay within MaxEvents.
	kept := m.events[:0]
	for _, e := range m.events {
		if e.EventTime.After(from) {
			kept = append(kept, e)
		}
	}
	clear(m.events[len(kept):])
	m.events = kept
	maxEvents := m.MaxEvents
	if maxEvents <= 0 {
		maxEvents = DefaultMonitorMaxEvents
	}
	dropped := 0
	if over := len(m.events) - maxEvents; over > 0 {
		dropped = over
		m.events = slices.Delete(m.events, 0, over)
	}

	alerts := Detect(m.events, rules, now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active == nil {
		m.active = map[string]Alert{}
	}
	if m.stats.Fired == nil {
		m.stats.Fired = map[string]int64{}
	}
	m.stats.Dropped += int64(dropped)
	seen := make(map[string]bool, len(alerts))
	var fired []Alert
	for _, a := range alerts {
		k := AlertKey(a)
		seen[k] = true
		if _, ok := m.active[k]; !ok {
			fired = append(fired, a)
			m.stats.Fired[a.Rule]++
			m.log().Warn("audit alert", "rule", a.Rule, "severity", a.Severity, "count", a.Count, "message", a.Message)
			m.enqueue(Notification{Version: NotificationVersion, Status: "firing", Key: k, FiredAt: now, Alert: a})
		}
		m.active[k] = a
	}
	for k, a := range m.active {
		if !seen[k] {
			delete(m.active, k)
			m.log().Info("audit alert cleared", "rule", a.Rule, "role", a.RoleARN, "subject", a.Subject)
		}
	}
	m.stats.Evaluations++
	m.stats.Events = len(m.events)
	return fired, nil
}

// enqueue queues n for delivery; m.mu is held.
func (m *Monitor) enqueue(n Notification) {
	if m.Notifier == nil {
		return
	}
	if m.queue == nil {
		m.queue = make(chan Notification, notifyQueue)
	}
	select {
	case m.queue <- n:
	default:
		m.stats.NotificationsFailed++
		m.log().Error("audit alert notification dropped: too many waiting", "rule", n.Alert.Rule)
	}
}

// Run evaluates the rules at once and then every Interval, and delivers
// notifications, until ctx ends; it returns ctx's error. A failed
// evaluation is logged and tried again at the next tick.
func (m *Monitor) Run(ctx context.Context) error {
	every := m.Interval
	if every <= 0 {
		every = DefaultMonitorInterval
	}
	m.mu.Lock()
	if m.queue == nil {
		m.queue = make(chan Notification, notifyQueue)
	}
	queue := m.queue
	m.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.deliver(ctx, queue)
	}()
	defer func() { <-done }()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := m.Evaluate(ctx); err != nil && ctx.Err() == nil {
			m.log().Error("evaluating the audit alert rules failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// deliver hands queued notifications to the Notifier until ctx ends.
func (m *Monitor) deliver(ctx context.Context, queue <-chan Notification) {
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-queue:
			if m.Notifier == nil {
				continue
			}
			if err := m.Notifier.Notify(ctx, n); err != nil {
				m.mu.Lock()
				m.stats.NotificationsFailed++
				m.mu.Unlock()
				if ctx.Err() == nil {
					m.log().Error("audit alert notification failed", "rule", n.Alert.Rule, "key", n.Key, "error", err)
				}
			}
		}
	}
}

package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/alerthook"
	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store"
)

// receiver is a webhook receiver: a real HTTP server that records what it
// is posted and answers with the statuses queued in codes (200 when none
// is left).
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	codes []int
	got   chan audit.Notification
	hits  atomic.Int64
	block chan struct{} // when non-nil, requests wait for it or their cancellation
}

func newReceiver(t *testing.T, codes ...int) *receiver {
	t.Helper()
	r := &receiver{codes: codes, got: make(chan audit.Notification, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		if r.block != nil {
			select {
			case <-r.block:
			case <-req.Context().Done():
				return
			}
		}
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		code := http.StatusOK
		if len(r.codes) > 0 {
			code, r.codes = r.codes[0], r.codes[1:]
		}
		r.mu.Unlock()
		if code == http.StatusOK {
			b, _ := io.ReadAll(req.Body)
			var n audit.Notification
			if err := json.Unmarshal(b, &n); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.got <- n
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// url is the receiver's URL with a secret-looking path, as chat webhooks
// have.
func (r *receiver) url() string { return r.srv.URL + "/hooks/T000/SECRETPATH123" }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testNotification() audit.Notification {
	a := audit.Alert{Rule: audit.RuleOutsideCIDR, Severity: audit.SeverityHigh, RoleARN: alertProdRole, SourceIPs: []string{"203.0.113.9"}, Count: 1,
		First: alertNow, Last: alertNow, Message: "outside"}
	return audit.Notification{Version: "1", Status: "firing", Key: audit.AlertKey(a), FiredAt: alertNow, Alert: a}
}

func TestWebhookDelivery(t *testing.T) {
	cases := []struct {
		name     string
		codes    []int
		retries  int
		wantErr  string // "" for a delivery
		wantHits int64
	}{
		{"first try", nil, 3, "", 1},
		{"after two server errors", []int{503, 500}, 3, "", 3},
		{"after a 429", []int{429}, 1, "", 2},
		{"retries exhausted", []int{500, 502, 503}, 2, "answered 503 Service Unavailable", 3},
		{"refused for good", []int{400}, 3, "refused the alert: 400 Bad Request", 1},
		{"no retries", []int{500}, -1, "answered 500", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newReceiver(t, c.codes...)
			w, err := alerthook.NewWebhook(r.url(), nil, time.Second, c.retries)
			if err != nil {
				t.Fatal(err)
			}
			w.Backoff = time.Millisecond
			n := testNotification()
			err = w.Notify(t.Context(), n)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Notify: %v", err)
				}
				select {
				case got := <-r.got:
					if diff := cmp.Diff(n, got); diff != "" {
						t.Errorf("posted notification (-want +got):\n%s", diff)
					}
				default:
					t.Error("the receiver got nothing")
				}
			} else if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Notify error %v, want one with %q", err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "SECRETPATH123") {
				t.Errorf("the error reveals the webhook URL: %v", err)
			}
			if got := r.hits.Load(); got != c.wantHits {
				t.Errorf("%d requests, want %d", got, c.wantHits)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		r := newReceiver(t)
		r.block = make(chan struct{})
		defer close(r.block)
		w, _ := alerthook.NewWebhook(r.url(), nil, 50*time.Millisecond, -1)
		start := time.Now()
		err := w.Notify(t.Context(), testNotification())
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") || strings.Contains(err.Error(), "SECRETPATH123") {
			t.Errorf("Notify error %v, want a deadline without the URL", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Notify took %s with a 50ms timeout", d)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		r := newReceiver(t)
		u := r.url()
		r.srv.Close()
		w, _ := alerthook.NewWebhook(u, nil, time.Second, -1)
		if err := w.Notify(t.Context(), testNotification()); err == nil || strings.Contains(err.Error(), "SECRETPATH123") {
			t.Errorf("Notify to a closed server: %v", err)
		}
	})
	for _, bad := range []string{"", "ftp://x/y", "https://", "not a url", "/relative"} {
		if _, err := alerthook.NewWebhook(bad, nil, 0, 0); err == nil {
			t.Errorf("NewWebhook(%q) accepted", bad)
		}
	}
}

// appendEvents writes events to the trail.
func appendEvents(t *testing.T, st store.Audit, events ...audit.Event) {
	t.Helper()
	recs := make([]store.AuditRecord, 0, len(events))
	for i := range events {
		rec, err := events[i].Record()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if _, err := st.AppendAudit(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
}

type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *manualClock) Set(t time.Time)     { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *manualClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func rulesOf(fired []audit.Alert) []string {
	out := []string{}
	for _, a := range fired {
		out = append(out, a.Rule)
	}
	return out
}

// TestMonitorScenario runs the monitor, with a real webhook receiver, over
// a scripted trail: quiet on normal traffic; then a staging pod trying the
// production role, an assumption from an outside address and a burst each
// fire once, however often the rules see them again; they clear when their
// events age out, and fire anew after that.
func TestMonitorScenario(t *testing.T) {
	tr := newTrail(t)
	clock := &manualClock{now: alertNow}
	r := newReceiver(t)
	hook, err := alerthook.NewWebhook(r.url(), nil, time.Second, 2)
	if err != nil {
		t.Fatal(err)
	}
	m := &audit.Monitor{
		Trail: tr.Store,
		Rules: audit.Rules{AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		// One evaluation when Run starts; the test drives the others.
		Interval: time.Hour,
		Notifier: hook,
		Now:      clock.Now,
		Logger:   quiet,
	}
	// Normal traffic: the production pod, 5 calls an hour for 24 hours,
	// from the cluster's network.
	appendEvents(t, tr.Store, steady(alertProdRole, 24, 5)...)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for m.Stats().Evaluations == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not evaluate")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := m.Active(); len(got) != 0 {
		t.Fatalf("alerts on normal traffic: %+v", got)
	}

	// evaluate advances the clock by a minute, runs the rules and checks
	// which fired and which notifications the receiver got.
	evaluate := func(t *testing.T, wantFired ...string) {
		t.Helper()
		clock.Add(time.Minute)
		fired, err := m.Evaluate(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(append([]string{}, wantFired...), rulesOf(fired)); diff != "" {
			t.Errorf("fired (-want +got):\n%s", diff)
		}
		for _, a := range fired {
			select {
			case n := <-r.got:
				if n.Status != "firing" || n.Key != audit.AlertKey(a) || n.Alert.Rule != a.Rule || n.Version != "1" {
					t.Errorf("notification %+v for alert %+v", n, a)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no notification for %s", a.Rule)
			}
		}
	}
	evaluate(t)

	// The staging pod tries the production role, twice.
	now := clock.Now()
	staging := func() audit.Event {
		e := assume(alertProdRole, alertStageSub, 0, "10.4.5.6", "tok-staging", "AccessDenied")
		e.EventTime = clock.Now()
		return e
	}
	appendEvents(t, tr.Store, staging(), staging())
	evaluate(t, audit.RuleCrossNamespace)
	// It tries again: still the same alert, not a new notification.
	appendEvents(t, tr.Store, staging())
	evaluate(t)

	// An assumption from outside the cluster's network.
	outside := assume(alertProdRole, alertProdSub, 0, "203.0.113.9", "tok-outside", "")
	outside.EventTime = clock.Now()
	appendEvents(t, tr.Store, outside)
	evaluate(t, audit.RuleOutsideCIDR)

	// A burst: 60 calls in a few minutes against a baseline of 5 an hour.
	var burst []audit.Event
	for i := range 60 {
		e := assume(alertProdRole, alertProdSub, 0, "10.1.2.3", "tok-burst-"+time.Duration(i).String(), "")
		e.EventTime = clock.Now().Add(-time.Duration(i) * time.Second)
		burst = append(burst, e)
	}
	appendEvents(t, tr.Store, burst...)
	evaluate(t, audit.RuleVolume)
	evaluate(t)

	st := m.Stats()
	wantFired := map[string]int64{audit.RuleCrossNamespace: 1, audit.RuleOutsideCIDR: 1, audit.RuleVolume: 1}
	if diff := cmp.Diff(wantFired, st.Fired); diff != "" {
		t.Errorf("fired counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{audit.RuleCrossNamespace: 1, audit.RuleOutsideCIDR: 1, audit.RuleVolume: 1}, st.Active); diff != "" {
		t.Errorf("active (-want +got):\n%s", diff)
	}
	if st.NotificationsFailed != 0 {
		t.Errorf("%d notifications failed", st.NotificationsFailed)
	}

	// A day later everything has aged out of the rules' span: the alerts
	// clear.
	clock.Set(now.Add(audit.DefaultRules().Span() + 10*time.Minute))
	evaluate(t)
	if got := m.Active(); len(got) != 0 {
		t.Errorf("still active a day later: %+v", got)
	}
	if got := m.Stats().Events; got != 0 {
		t.Errorf("%d events kept a day later, want 0", got)
	}
	// The staging pod tries again: the alert fires anew.
	appendEvents(t, tr.Store, staging())
	evaluate(t, audit.RuleCrossNamespace)
	if got := m.Stats().Fired[audit.RuleCrossNamespace]; got != 2 {
		t.Errorf("cross-namespace fired %d times, want 2", got)
	}
}

// A failed delivery is counted; the monitor goes on.
func TestMonitorNotificationFailure(t *testing.T) {
	tr := newTrail(t)
	r := newReceiver(t, 400)
	hook, _ := alerthook.NewWebhook(r.url(), nil, time.Second, -1)
	appendEvents(t, tr.Store, assume(alertProdRole, alertStageSub, time.Minute, "10.4.5.6", "t1", "AccessDenied"))
	m := &audit.Monitor{Trail: tr.Store, Interval: time.Hour, Notifier: hook, Now: func() time.Time { return alertNow }, Logger: quiet}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for m.Stats().NotificationsFailed == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no failed notification counted: %+v", m.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if st := m.Stats(); st.Fired[audit.RuleCrossNamespace] != 1 || st.Active[audit.RuleCrossNamespace] != 1 || r.hits.Load() != 1 {
		t.Errorf("stats %+v, %d requests", st, r.hits.Load())
	}
}

// MaxEvents bounds the memory: the earliest events read are dropped and
// counted. StartSeq skips what the rules cannot see.
func TestMonitorBounds(t *testing.T) {
	tr := newTrail(t)
	appendEvents(t, tr.Store, steady(alertOtherRole, 2, 10)...) // 20 events
	m := &audit.Monitor{Trail: tr.Store, MaxEvents: 15, Now: func() time.Time { return alertNow }}
	if _, err := m.Evaluate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Events != 15 || st.Dropped != 5 {
		t.Errorf("events %d, dropped %d; want 15 and 5", st.Events, st.Dropped)
	}

	var asked time.Time
	m2 := &audit.Monitor{Trail: tr.Store, Now: func() time.Time { return alertNow },
		StartSeq: func(_ context.Context, from time.Time) (int64, error) { asked = from; return 18, nil }}
	if _, err := m2.Evaluate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := alertNow.Add(-audit.DefaultRules().Span()); !asked.Equal(want) {
		t.Errorf("StartSeq asked from %s, want %s", asked, want)
	}
	if st := m2.Stats(); st.Events != 2 {
		t.Errorf("events read after seq 18: %d, want 2", st.Events)
	}
	// A StartSeq that fails: the whole trail is read instead.
	m3 := &audit.Monitor{Trail: tr.Store, Now: func() time.Time { return alertNow }, Logger: quiet,
		StartSeq: func(context.Context, time.Time) (int64, error) { return 0, errors.New("no index") }}
	if _, err := m3.Evaluate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := m3.Stats(); st.Events != 20 {
		t.Errorf("events read when StartSeq fails: %d, want 20", st.Events)
	}
}

func TestAlertKey(t *testing.T) {
	a := audit.Alert{Rule: audit.RuleTokenReplay, TokenHash: "abc", SourceIPs: []string{"1.1.1.1", "2.2.2.2"}, Count: 2}
	b := a
	b.SourceIPs = append(b.SourceIPs, "3.3.3.3")
	b.Count = 3
	if audit.AlertKey(a) != audit.AlertKey(b) {
		t.Errorf("a third address changed the token-replay key")
	}
	c := audit.Alert{Rule: audit.RuleCrossNamespace, RoleARN: alertProdRole, Subject: alertStageSub}
	d := c
	d.Subject = alertProdSub
	if audit.AlertKey(c) == audit.AlertKey(d) {
		t.Errorf("two subjects share a cross-namespace key")
	}
}

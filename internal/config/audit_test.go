package config_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/config"
)

func TestAuditSettings(t *testing.T) {
	f, err := config.Parse([]byte(`
audit:
  alertInterval: 10s
  since: 12h
  allowedCidrs: [10.0.0.0/8, 192.168.1.7, "::ffff:172.16.0.1"]
  window: 30m
  baselineWindows: 48
  sigma: 4.5
  minCount: 50
  maxEvents: 1000
  webhookUrl: https://hooks.example.com/services/T0/SECRET
  webhookTimeout: 2s
  webhookRetries: -1
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Audit.Settings()
	if err != nil {
		t.Fatal(err)
	}
	want := config.AlertSettings{
		Interval: 10 * time.Second,
		Rules: audit.Rules{Since: 12 * time.Hour, Window: 30 * time.Minute, BaselineWindows: 48, Sigma: 4.5, MinCount: 50,
			AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("172.16.0.1/32")}},
		MaxEvents: 1000, WebhookURL: "https://hooks.example.com/services/T0/SECRET", WebhookTimeout: 2 * time.Second, WebhookRetries: -1,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}

	// No section: the defaults; "0s" turns the alerts off.
	var none *config.Audit
	if got, err := none.Settings(); err != nil || !cmp.Equal(config.DefaultAlertSettings(), got, cmpopts.EquateComparable(netip.Prefix{})) {
		t.Errorf("nil section: %+v, %v", got, err)
	}
	if got, err := (&config.Audit{AlertInterval: "0s"}).Settings(); err != nil || got.Interval != 0 {
		t.Errorf("alertInterval 0s: %+v, %v", got, err)
	}
}

func TestAuditSettingsReportsEveryProblem(t *testing.T) {
	a := &config.Audit{AlertInterval: "soon", Since: "-1h", Window: "0s", AllowedCIDRs: []string{"10.0.0.0/33", "ok?"},
		BaselineWindows: -1, Sigma: -2, MinCount: -3, MaxEvents: -4, WebhookURL: "ftp://hooks.example.com/SECRET", WebhookTimeout: "x", WebhookRetries: 11}
	err := a.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`audit.alertInterval: "soon" is not a duration`,
		"audit.since must be positive",
		"audit.window must be positive",
		`audit.allowedCidrs[0]: "10.0.0.0/33"`,
		`audit.allowedCidrs[1]: "ok?"`,
		"audit.baselineWindows must be at least 1",
		"audit.sigma must be positive",
		"audit.minCount must be at least 1",
		"audit.maxEvents must be at least 1",
		"audit.webhookUrl must be an http:// or https:// URL",
		`audit.webhookTimeout: "x"`,
		"audit.webhookRetries must be between -1 (none) and 10",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("the error repeats the webhook URL: %v", err)
	}
	if err := (&config.Audit{AlertInterval: "100ms"}).Validate(); err == nil {
		t.Error("an interval under a second was accepted")
	}
	if _, err := config.Parse([]byte("audit:\n  webhook: x\n")); err == nil || !strings.Contains(err.Error(), "webhook") {
		t.Errorf("an unknown audit key: %v", err)
	}
}

package audit_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/irsa-dev/irsa/internal/audit"
)

const (
	alertProdRole  = "arn:aws:iam::000000000000:role/prod-app"
	alertOtherRole = "arn:aws:iam::000000000000:role/batch"
	alertProdSub   = "system:serviceaccount:production:app"
	alertStageSub  = "system:serviceaccount:staging:app"
)

var alertNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// assume is an AssumeRoleWithWebIdentity event of sub for role, ago before
// alertNow, from ip, with the token hash tok and the error code (""
// for success).
func assume(role, sub string, ago time.Duration, ip, tok, code string) audit.Event {
	return audit.Event{
		EventTime: alertNow.Add(-ago), EventSource: audit.SourceSTS, EventName: "AssumeRoleWithWebIdentity",
		SourceIPAddress: ip, ErrorCode: code, TokenHash: tok,
		UserIdentity: &audit.UserIdentity{Type: audit.IdentityWebIdentityUser, UserName: sub,
			WebIDFederationData: &audit.WebIDFederationData{FederatedIdentity: sub}},
		RequestParameters: map[string]any{"roleArn": role, "roleSessionName": "s"},
	}
}

// steady is n events of role per hour over the last hours hours, spread
// inside each hour, each with its own token.
func steady(role string, hours, perHour int) []audit.Event {
	var out []audit.Event
	for h := range hours {
		for i := range perHour {
			ago := time.Duration(h)*time.Hour + time.Duration(i+1)*time.Hour/time.Duration(perHour+1)
			out = append(out, assume(role, alertProdSub, ago, "10.1.2.3", "tok-"+role+"-"+ago.String(), ""))
		}
	}
	return out
}

func cat(groups ...[]audit.Event) []audit.Event {
	var out []audit.Event
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func repeat(n int, e audit.Event, step time.Duration) []audit.Event {
	out := make([]audit.Event, n)
	for i := range out {
		out[i] = e
		out[i].EventTime = e.EventTime.Add(time.Duration(i) * step)
	}
	return out
}

func TestDetect(t *testing.T) {
	cluster := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	withCIDRs := audit.Rules{AllowedCIDRs: cluster}
	tests := []struct {
		name   string
		events []audit.Event
		rules  audit.Rules
		want   []audit.Alert
	}{
		{"no events", nil, withCIDRs, nil},
		{"normal traffic stays quiet", cat(steady(alertProdRole, 30, 4), steady(alertOtherRole, 30, 10)), withCIDRs, nil},
		{"staging refused the production role, grouped by role and sub",
			cat(steady(alertProdRole, 3, 2),
				repeat(3, assume(alertProdRole, alertStageSub, 3*time.Hour, "10.9.9.9", "t1", "AccessDenied"), time.Minute),
				[]audit.Event{assume(alertOtherRole, alertStageSub, time.Hour, "10.9.9.9", "t2", "AccessDenied")}),
			audit.Rules{},
			[]audit.Alert{
				{Rule: audit.RuleCrossNamespace, Severity: audit.SeverityMedium, RoleARN: alertOtherRole, Subject: alertStageSub,
					SourceIPs: []string{"10.9.9.9"}, Count: 1, First: alertNow.Add(-time.Hour), Last: alertNow.Add(-time.Hour)},
				{Rule: audit.RuleCrossNamespace, Severity: audit.SeverityMedium, RoleARN: alertProdRole, Subject: alertStageSub,
					SourceIPs: []string{"10.9.9.9"}, Count: 3, First: alertNow.Add(-3 * time.Hour), Last: alertNow.Add(-3*time.Hour + 2*time.Minute)},
			}},
		{"refusals that are not service accounts, other errors, and old refusals are not cross-namespace",
			[]audit.Event{
				assume(alertProdRole, "user@example.com", time.Hour, "10.9.9.9", "t1", "AccessDenied"),
				assume(alertProdRole, alertStageSub, time.Hour, "10.9.9.9", "t2", "ExpiredTokenException"),
				assume(alertProdRole, alertStageSub, 25*time.Hour, "10.9.9.9", "t3", "AccessDenied"),
			}, audit.Rules{}, nil},
		{"an assumption from outside the cluster's networks",
			cat(steady(alertProdRole, 2, 3), []audit.Event{
				assume(alertProdRole, alertProdSub, 2*time.Hour, "203.0.113.7", "t1", ""),
				assume(alertProdRole, alertProdSub, time.Hour, "203.0.113.7", "t2", ""),
				assume(alertProdRole, alertProdSub, time.Hour, "::ffff:10.0.0.1", "t3", ""),                   // mapped, inside
				assume(alertProdRole, alertProdSub, time.Hour, "fd00::1", "t4", ""),                           // inside
				assume(alertProdRole, alertProdSub, time.Hour, "198.51.100.1", "t5", "ExpiredTokenException"), // refused: not an assumption
				{EventTime: alertNow.Add(-time.Hour), EventSource: audit.SourceSTS, EventName: "GetCallerIdentity", SourceIPAddress: "198.51.100.1"},
			}), withCIDRs,
			[]audit.Alert{
				{Rule: audit.RuleOutsideCIDR, Severity: audit.SeverityHigh, RoleARN: alertProdRole, Subject: alertProdSub,
					SourceIPs: []string{"203.0.113.7"}, Count: 2, First: alertNow.Add(-2 * time.Hour), Last: alertNow.Add(-time.Hour)},
			}},
		{"without allowed networks the outside rule is off",
			[]audit.Event{assume(alertProdRole, alertProdSub, time.Hour, "203.0.113.7", "t1", "")}, audit.Rules{}, nil},
		{"a token used from two addresses",
			[]audit.Event{
				assume(alertProdRole, alertProdSub, 50*time.Minute, "10.1.2.3", "stolen", ""),
				assume(alertProdRole, alertProdSub, 40*time.Minute, "10.1.2.3", "stolen", ""),
				assume(alertProdRole, alertProdSub, 10*time.Minute, "10.66.6.6", "stolen", "InvalidIdentityToken"),
				assume(alertProdRole, alertProdSub, 10*time.Minute, "10.1.2.4", "fine", ""),
				assume(alertProdRole, alertProdSub, 9*time.Minute, "10.1.2.4", "fine", ""),
			}, audit.Rules{},
			[]audit.Alert{
				{Rule: audit.RuleTokenReplay, Severity: audit.SeverityHigh, RoleARN: alertProdRole, Subject: alertProdSub, TokenHash: "stolen",
					SourceIPs: []string{"10.1.2.3", "10.66.6.6"}, Count: 3, First: alertNow.Add(-50 * time.Minute), Last: alertNow.Add(-10 * time.Minute)},
			}},
		{"a burst after a quiet baseline",
			cat(steady(alertOtherRole, 25, 2), steady(alertProdRole, 25, 2)[2:], // the last hour of prod-app is replaced by the burst
				repeat(30, assume(alertProdRole, alertProdSub, 40*time.Minute, "10.1.2.3", "", ""), time.Second)),
			audit.Rules{},
			[]audit.Alert{
				{Rule: audit.RuleVolume, Severity: audit.SeverityMedium, RoleARN: alertProdRole, Subject: alertProdSub,
					SourceIPs: []string{"10.1.2.3"}, Count: 30, First: alertNow.Add(-40 * time.Minute), Last: alertNow.Add(-40*time.Minute + 29*time.Second)},
			}},
		{"a burst below the floor is quiet",
			cat(steady(alertProdRole, 25, 1)[1:], repeat(19, assume(alertProdRole, alertProdSub, 40*time.Minute, "10.1.2.3", "", ""), time.Second)),
			audit.Rules{}, nil},
		{"a lower floor and a wider sigma are honored",
			cat(steady(alertProdRole, 25, 1)[1:], repeat(5, assume(alertProdRole, alertProdSub, 40*time.Minute, "10.1.2.3", "", ""), time.Second)),
			audit.Rules{MinCount: 5, Sigma: 1},
			[]audit.Alert{
				{Rule: audit.RuleVolume, Severity: audit.SeverityMedium, RoleARN: alertProdRole, Subject: alertProdSub,
					SourceIPs: []string{"10.1.2.3"}, Count: 5, First: alertNow.Add(-40 * time.Minute), Last: alertNow.Add(-40*time.Minute + 4*time.Second)},
			}},
		{"a noisy baseline absorbs the same burst",
			cat(steady(alertProdRole, 25, 30)[30:], repeat(31, assume(alertProdRole, alertProdSub, 40*time.Minute, "10.1.2.3", "", ""), time.Second),
				repeat(10, assume(alertProdRole, alertProdSub, 5*time.Hour, "10.1.2.3", "", ""), time.Second)),
			audit.Rules{}, nil},
		{"a trail that starts in the last window has no baseline",
			repeat(50, assume(alertProdRole, alertProdSub, 40*time.Minute, "10.1.2.3", "", ""), time.Second),
			audit.Rules{}, nil},
		{"events after now are ignored",
			[]audit.Event{assume(alertProdRole, alertStageSub, -time.Hour, "10.9.9.9", "t", "AccessDenied")}, audit.Rules{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := audit.Detect(tt.events, tt.rules, alertNow)
			for _, a := range got {
				if a.Message == "" {
					t.Errorf("alert without a message: %+v", a)
				}
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(audit.Alert{}, "Message")); diff != "" {
				t.Errorf("Detect (-want +got):\n%s", diff)
			}
		})
	}
}

// The volume rule's threshold is mean + sigma·stddev of the baseline
// windows: a count just above it alerts, one at it does not.
func TestDetectVolumeThreshold(t *testing.T) {
	// Baseline: 24 windows alternating 10 and 20 calls: mean 15, stddev 5;
	// with sigma 3 the threshold is 30.
	var base []audit.Event
	for w := 1; w <= 24; w++ {
		n := 10
		if w%2 == 0 {
			n = 20
		}
		base = append(base, repeat(n, assume(alertProdRole, alertProdSub, time.Duration(w)*time.Hour+30*time.Minute, "10.1.2.3", "", ""), time.Second)...)
	}
	for _, tc := range []struct {
		last int
		want bool
	}{{30, false}, {31, true}} {
		events := cat(base, repeat(tc.last, assume(alertProdRole, alertProdSub, 30*time.Minute, "10.1.2.3", "", ""), time.Second))
		got := audit.Detect(events, audit.Rules{}, alertNow)
		if (len(got) == 1) != tc.want || len(got) > 1 {
			t.Errorf("%d calls after a 15±5 baseline: %+v, want an alert: %v", tc.last, got, tc.want)
		}
		if tc.want && len(got) == 1 && !strings.Contains(got[0].Message, "15.0 ± 5.0") {
			t.Errorf("message %q does not give the baseline", got[0].Message)
		}
	}
	// The window boundaries: the last window is (now-1h, now], so calls at
	// now are in it and calls exactly one window before now are not.
	old := assume(alertOtherRole, alertProdSub, 10*time.Hour, "10.1.2.3", "", "")
	atNow := repeat(20, assume(alertProdRole, alertProdSub, 0, "10.1.2.3", "", ""), 0)
	if got := audit.Detect(append(atNow, old), audit.Rules{}, alertNow); len(got) != 1 || got[0].Count != 20 {
		t.Errorf("20 calls at now: %+v, want one alert of 20", got)
	}
	anHourAgo := repeat(20, assume(alertProdRole, alertProdSub, time.Hour, "10.1.2.3", "", ""), 0)
	if got := audit.Detect(append(anHourAgo, old), audit.Rules{}, alertNow); len(got) != 0 {
		t.Errorf("20 calls exactly a window before now: %+v, want none", got)
	}
}

// Detect orders alerts by rule, and reads the sub of AWS's own records
// (userName only) as well as irsa's.
func TestDetectOrderAndAWSRecords(t *testing.T) {
	aws := assume(alertProdRole, alertStageSub, time.Hour, "203.0.113.9", "", "AccessDenied")
	aws.UserIdentity = &audit.UserIdentity{Type: audit.IdentityWebIdentityUser, UserName: alertStageSub}
	events := []audit.Event{
		assume(alertProdRole, alertProdSub, time.Hour, "203.0.113.9", "x", ""),
		assume(alertProdRole, alertProdSub, time.Hour, "10.0.0.9", "x", ""),
		aws,
	}
	got := audit.Detect(events, audit.Rules{AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, alertNow)
	var rules []string
	for _, a := range got {
		rules = append(rules, a.Rule)
	}
	want := []string{audit.RuleCrossNamespace, audit.RuleOutsideCIDR, audit.RuleTokenReplay}
	if diff := cmp.Diff(want, rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if len(got) > 0 && got[0].Subject != alertStageSub {
		t.Errorf("the sub of an AWS record: %q", got[0].Subject)
	}
}

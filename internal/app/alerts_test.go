package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-dev/irsa/internal/app"
	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/issuer"
)

// The server runs the alert rules over its own trail: a staging pod trying
// the production role makes one cross-namespace alert, posted once to the
// webhook (a real HTTP server here) and counted in /metrics; legitimate
// calls alert nothing.
func TestServerAlerts(t *testing.T) {
	posted := make(chan audit.Notification, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n audit.Notification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		posted <- n
	}))
	defer hook.Close()
	s := newServerWith(t, func(c *app.Config) {
		c.Alerts = &app.AlertsConfig{Interval: 20 * time.Millisecond, Webhook: &app.WebhookConfig{URL: hook.URL + "/alerts", Timeout: time.Second}}
	})
	ctx := context.Background()
	b := s.a.Bootstrap
	sub := "system:serviceaccount:production:app"
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + b.IssuerProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.irsa.test/id/APPTEST:sub":"` + sub + `"}}}]}`
	iamc := awsiam.NewFromConfig(s.awsConfig(b.RootAccessKeyID, b.RootSecretKey, ""))
	if _, err := iamc.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("prod-app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	anonCfg := s.awsConfig("", "", "")
	anonCfg.Credentials = nil
	anon := awssts.NewFromConfig(anonCfg)
	assume := func(ns string) error {
		tok, err := s.a.Issuer.Mint(ctx, issuer.TokenRequest{Namespace: ns, ServiceAccount: "app"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = anon.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String("arn:aws:iam::000000000000:role/prod-app"), RoleSessionName: aws.String("pod"), WebIdentityToken: aws.String(tok)})
		return err
	}
	for range 3 {
		if err := assume("production"); err != nil {
			t.Fatal(err)
		}
	}
	// Normal traffic: several evaluations, no alert.
	waitEvaluations(t, s.a, 3)
	if got := s.a.ActiveAlerts(); len(got) != 0 {
		t.Fatalf("alerts on normal traffic: %+v", got)
	}

	for range 2 {
		if err := wantCode(assume("staging"), "AccessDenied"); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case n := <-posted:
		a := n.Alert
		if n.Status != "firing" || a.Rule != audit.RuleCrossNamespace || a.RoleARN != "arn:aws:iam::000000000000:role/prod-app" ||
			a.Subject != "system:serviceaccount:staging:app" || a.Count < 1 {
			t.Errorf("notification %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no alert was posted")
	}
	// The alert stays active and is not posted again.
	waitEvaluations(t, s.a, 3)
	select {
	case n := <-posted:
		t.Errorf("a second notification: %+v", n)
	default:
	}
	if got := s.a.ActiveAlerts(); len(got) != 1 || got[0].Count != 2 {
		t.Errorf("active alerts %+v, want the cross-namespace one with 2 attempts", got)
	}

	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`irsa_audit_alerts_total{rule="cross-namespace"} 1`,
		`irsa_audit_alerts_total{rule="outside-cidr"} 0`,
		`irsa_audit_alerts_active{rule="cross-namespace"} 1`,
		`irsa_audit_alerts_active{rule="volume-anomaly"} 0`,
		`irsa_audit_alert_notifications_failed_total 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// waitEvaluations waits until the server's alert monitor has evaluated n
// more times: then it has seen every call made before.
func waitEvaluations(t *testing.T, a *app.App, n int64) {
	t.Helper()
	start := a.AlertEvaluations()
	deadline := time.Now().Add(10 * time.Second)
	for a.AlertEvaluations() < start+n {
		if time.Now().After(deadline) {
			t.Fatal("the alert monitor does not evaluate")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A server without alert configuration runs no monitor and exports no
// alert metrics; a bad webhook URL fails the start.
func TestServerAlertsOff(t *testing.T) {
	s := newServer(t)
	if got := s.a.ActiveAlerts(); got != nil {
		t.Errorf("active alerts without a monitor: %v", got)
	}
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "irsa_audit_alerts_total") {
		t.Error("alert metrics without a monitor")
	}
	_, err = app.New(context.Background(), app.Config{DataDir: t.TempDir(), Alerts: &app.AlertsConfig{Webhook: &app.WebhookConfig{URL: "ftp://hooks.example/secret"}}})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("a bad webhook URL: %v", err)
	}
}

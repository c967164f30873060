package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/audit"
)

// irsa up with an audit section posts an alert to the webhook (a real
// HTTP server here) when a staging pod tries the production role, and
// counts it in /metrics.
func TestUpPostsAlerts(t *testing.T) {
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

	dir := t.TempDir()
	conf := filepath.Join(t.TempDir(), "irsa.yaml")
	doc := `roles:
  - name: s3-reader
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal:
            Federated: arn:aws:iam::{{accountId}}:oidc-provider/{{issuer}}
          Action: sts:AssumeRoleWithWebIdentity
          Condition:
            StringEquals:
              "{{issuer}}:sub": system:serviceaccount:production:s3-reader
audit:
  alertInterval: 1s
  allowedCidrs: [127.0.0.0/8]
  webhookUrl: ` + hook.URL + `/hooks/SECRETPATH
  webhookTimeout: 2s
`
	if err := os.WriteFile(conf, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, Env{Args: []string{"up", "--data-dir", dir, "--listen", "127.0.0.1:0", "--config", conf},
			Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("irsa up exited %d\n%s", code, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Error("irsa up did not stop")
		}
		if strings.Contains(stderr.String(), "SECRETPATH") || strings.Contains(stdout.String(), "SECRETPATH") {
			t.Error("irsa up printed the webhook URL")
		}
	}()
	addrRE := regexp.MustCompile(`irsa is serving on (http://\S+) `)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if m := addrRE.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("irsa up did not start:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	code, tok, errs := run(t, nil, "token", "--data-dir", dir, "--namespace", "staging", "--service-account", "s3-reader")
	if code != 0 {
		t.Fatalf("token: %d %s", code, errs)
	}
	resp, err := http.PostForm(base+"/", url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {"arn:aws:iam::000000000000:role/s3-reader"}, "RoleSessionName": {"pod"}, "WebIdentityToken": {strings.TrimSpace(tok)}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "AccessDenied") {
		t.Fatalf("staging assuming the production role: %d %s", resp.StatusCode, body)
	}
	select {
	case n := <-posted:
		if n.Alert.Rule != audit.RuleCrossNamespace || n.Alert.Subject != "system:serviceaccount:staging:s3-reader" {
			t.Errorf("posted %+v", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no alert posted\n%s", stderr.String())
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `irsa_audit_alerts_total{rule="cross-namespace"} 1`) {
		t.Errorf("/metrics lacks the alert:\n%s", metrics)
	}
}

func TestUpRejectsBadAuditSection(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "irsa.yaml")
	if err := os.WriteFile(conf, []byte("audit:\n  sigma: -1\n  webhookUrl: ftp://hooks.example.com/SECRETPATH\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, nil, "up", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--config", conf)
	if code != ExitInvalid || !strings.Contains(errs, "audit.sigma must be positive") || !strings.Contains(errs, "audit.webhookUrl must be") || strings.Contains(errs, "SECRETPATH") {
		t.Errorf("bad audit section: %d %s", code, errs)
	}
	code, _, errs = run(t, nil, "up", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--alert-interval", "10ms")
	if code != ExitUsage || !strings.Contains(errs, "--alert-interval must be at least 1s") {
		t.Errorf("--alert-interval 10ms: %d %s", code, errs)
	}
}

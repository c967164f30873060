package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// handlerWorld is the endpoint in front of a real cache, client and test
// EKS Auth server.
func handlerWorld(t *testing.T, hcfg HandlerConfig) (*Handler, *cacheWorld) {
	t.Helper()
	w := newCacheWorld(t, nil)
	hcfg.Source = w.cache
	if hcfg.AllowedHosts == nil {
		hcfg.AllowedHosts = DefaultBindHosts
	}
	hcfg.Metrics = w.m
	return NewHandler(hcfg), w
}

func call(h http.Handler, method, host, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://"+host+path, nil)
	r.Host = host
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

type errorDoc struct{ Code, Message string }

func readError(t *testing.T, rec *httptest.ResponseRecorder) errorDoc {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var d errorDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	return d
}

func TestHandlerSuccess(t *testing.T) {
	h, _ := handlerWorld(t, HandlerConfig{})
	raw, _ := mintToken(t, "pod-0", time.Hour)
	for _, host := range []string{"169.254.170.23", "169.254.170.23:80", "[fd00:ec2::23]", "[FD00:EC2::23]:80"} {
		rec := call(h, http.MethodGet, host, "/v1/credentials", raw+"\n")
		if rec.Code != 200 {
			t.Fatalf("Host %s: status %d %s", host, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", rec.Header())
		}
		var doc map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		exp, err := time.Parse(time.RFC3339, doc["Expiration"])
		if err != nil || time.Until(exp) < 59*time.Minute {
			t.Errorf("Expiration %q: %v", doc["Expiration"], err)
		}
		delete(doc, "Expiration")
		want := map[string]string{"AccessKeyId": "ASIA0000000000000001", "SecretAccessKey": "secret-1", "Token": "session-1", "AccountId": testAccount}
		if d := cmp.Diff(want, doc); d != "" {
			t.Errorf("Host %s: body (-want +got):\n%s", host, d)
		}
	}
}

func TestHandlerRefusals(t *testing.T) {
	expired := jws(t, map[string]string{"alg": "RS256"}, map[string]any{"exp": time.Now().Add(-time.Minute).Unix()})
	future := jws(t, map[string]string{"alg": "RS256"}, map[string]any{"exp": time.Now().Add(time.Hour).Unix(), "nbf": time.Now().Add(time.Hour).Unix()})
	raw, _ := mintToken(t, "pod-0", time.Hour)
	cases := []struct {
		name, method, host, path, token string
		status                          int
		code, message                   string
	}{
		{"other host", "GET", "evil.example", "/v1/credentials", raw, 403, "AccessDeniedException",
			"Access Denied. Called agent through invalid address, please use either [169.254.170.23 fd00:ec2::23] address not evil.example"},
		{"rebinding name", "GET", "169.254.170.23.nip.io", "/v1/credentials", raw, 403, "AccessDeniedException", ""},
		{"other IP", "GET", "169.254.170.2", "/v1/credentials", raw, 403, "AccessDeniedException", ""},
		{"no token", "GET", "169.254.170.23", "/v1/credentials", "", 400, "InvalidTokenException", "Service account token cannot be empty"},
		{"blank token", "GET", "169.254.170.23", "/v1/credentials", "  ", 400, "InvalidTokenException", "Service account token cannot be empty"},
		{"not a JWT", "GET", "169.254.170.23", "/v1/credentials", "Bearer abc", 400, "InvalidTokenException", ""},
		{"expired", "GET", "169.254.170.23", "/v1/credentials", expired, 400, "InvalidTokenException", ""},
		{"not yet valid", "GET", "169.254.170.23", "/v1/credentials", future, 400, "InvalidTokenException", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, w := handlerWorld(t, HandlerConfig{})
			rec := call(h, c.method, c.host, c.path, c.token)
			if rec.Code != c.status {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, c.status)
			}
			d := readError(t, rec)
			if d.Code != c.code || (c.message != "" && d.Message != c.message) {
				t.Errorf("error %+v, want code %s message %q", d, c.code, c.message)
			}
			if w.srv.calls.Load() != 0 {
				t.Errorf("a refused request reached EKS Auth")
			}
		})
	}
}

func TestHandlerRoutes(t *testing.T) {
	h, _ := handlerWorld(t, HandlerConfig{})
	raw, _ := mintToken(t, "pod-0", time.Hour)
	for _, c := range []struct {
		method, path string
		status       int
	}{{"GET", "/", 404}, {"GET", "/v1/credentials/", 404}, {"GET", "/v2/credentials", 404}, {"POST", "/v1/credentials", 405}, {"PUT", "/v1/credentials", 405}} {
		if rec := call(h, c.method, "169.254.170.23", c.path, raw); rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
		}
	}
}

func TestHandlerRequestRateLimit(t *testing.T) {
	h, w := handlerWorld(t, HandlerConfig{RequestRate: 1e-9, RequestBurst: 2})
	raw, _ := mintToken(t, "pod-0", time.Hour)
	codes := []int{}
	for range 3 {
		codes = append(codes, call(h, "GET", "169.254.170.23", "/v1/credentials", raw).Code)
	}
	if d := cmp.Diff([]int{200, 200, 429}, codes); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	rec := call(h, "GET", "169.254.170.23", "/v1/credentials", raw)
	if d := readError(t, rec); d.Code != "ThrottlingException" || d.Message != "Too Many Requests" {
		t.Errorf("429 body %+v", d)
	}
	if w.srv.calls.Load() != 1 {
		t.Errorf("EKS Auth calls = %d, want 1", w.srv.calls.Load())
	}
}

func TestHandlerUpstreamErrors(t *testing.T) {
	cases := []struct {
		status int
		code   string
	}{
		{400, "AccessDeniedException"}, {400, "ExpiredTokenException"}, {400, "InvalidTokenException"},
		{400, "InvalidParameterException"}, {400, "InvalidRequestException"}, {404, "ResourceNotFoundException"},
		{429, "ThrottlingException"}, {500, "InternalServerException"}, {503, "ServiceUnavailableException"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			h, w := handlerWorld(t, HandlerConfig{})
			w.srv.setFail(func(string) (int, string) { return c.status, c.code })
			raw, _ := mintToken(t, "pod-0", time.Hour)
			rec := call(h, "GET", "169.254.170.23", "/v1/credentials", raw)
			if rec.Code != c.status {
				t.Fatalf("status %d, want EKS Auth's %d", rec.Code, c.status)
			}
			d := readError(t, rec)
			if d.Code != c.code || d.Message != "[req-err]: refused by the test server" {
				t.Errorf("error %+v", d)
			}
			if strings.Contains(rec.Body.String(), raw) {
				t.Error("the error body contains the token")
			}
		})
	}
}

func TestHandlerAgentSideFailures(t *testing.T) {
	raw, _ := mintToken(t, "pod-0", time.Hour)
	t.Run("EKS Auth unreachable", func(t *testing.T) {
		h, w := handlerWorld(t, HandlerConfig{})
		w.srv.down.Store(true)
		rec := call(h, "GET", "169.254.170.23", "/v1/credentials", raw)
		if d := readError(t, rec); rec.Code != 500 || d.Code != "ServiceUnavailableException" || strings.Contains(d.Message, "10.0.0.1") {
			t.Errorf("%d %+v, want 500 ServiceUnavailableException without network details", rec.Code, d)
		}
	})
	t.Run("agent rate limit", func(t *testing.T) {
		h := NewHandler(HandlerConfig{AllowedHosts: DefaultBindHosts, Source: sourceFunc(func(context.Context, string, *Token) (*Credentials, error) {
			return nil, ErrThrottled
		})})
		rec := call(h, "GET", "169.254.170.23", "/v1/credentials", raw)
		if d := readError(t, rec); rec.Code != 429 || d.Code != "ThrottlingException" {
			t.Errorf("%d %+v, want 429 ThrottlingException", rec.Code, d)
		}
	})
	t.Run("unreadable answer", func(t *testing.T) {
		ts := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"credentials":{}}`))
		}))
		u := newTestUpstream(t, newEKSAuthServer(t))
		u.client.Transport = http.DefaultTransport
		u.url = ts.URL + "/clusters/" + testCluster + "/assume-role-for-pod-identity"
		c, _ := NewCache(CacheConfig{Upstream: u, MaxSize: 10, MaxRetention: time.Hour})
		h := NewHandler(HandlerConfig{AllowedHosts: DefaultBindHosts, Source: c})
		rec := call(h, "GET", "169.254.170.23", "/v1/credentials", raw)
		if d := readError(t, rec); rec.Code != 500 || d.Code != "InternalServerException" {
			t.Errorf("%d %+v, want 500 InternalServerException", rec.Code, d)
		}
	})
}

type sourceFunc func(context.Context, string, *Token) (*Credentials, error)

func (sourceFunc) Fresh(string) *Credentials { return nil }

func (f sourceFunc) Credentials(ctx context.Context, raw string, tok *Token) (*Credentials, error) {
	return f(ctx, raw, tok)
}

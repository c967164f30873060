package agent

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
)

func TestEKSAuthSuccess(t *testing.T) {
	s := newEKSAuthServer(t)
	u := newTestUpstream(t, s)
	raw, _ := mintToken(t, "pod-0", time.Hour)
	before := time.Now()
	got, err := u.AssumeRoleForPodIdentity(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Expiration.Before(before.Add(time.Hour-time.Second)) || got.Expiration.After(time.Now().Add(time.Hour)) {
		t.Errorf("Expiration = %s, want about an hour from now", got.Expiration)
	}
	got.Expiration = time.Time{}
	want := &Credentials{AccessKeyID: "ASIA0000000000000001", SecretAccessKey: "secret-1", SessionToken: "session-1", AccountID: testAccount,
		AssumedRoleARN: "arn:aws:sts::" + testAccount + ":assumed-role/app/eks-prod-1-pod-0", AssociationID: "a-0123456789abcdef0",
		Namespace: "team-a", ServiceAccount: "app"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("credentials (-want +got):\n%s", d)
	}
	if s.callsFor(raw) != 1 {
		t.Errorf("server saw the token %d times, want 1", s.callsFor(raw))
	}
}

func TestEKSAuthBadSignatureIsAnError(t *testing.T) {
	s := newEKSAuthServer(t)
	u := newTestUpstream(t, s)
	u.cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: "wrong"}, nil
	})
	raw, _ := mintToken(t, "pod-0", time.Hour)
	_, err := u.AssumeRoleForPodIdentity(t.Context(), raw)
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Status != 403 || ue.Code != "InvalidSignatureException" {
		t.Fatalf("err = %v, want the server's 403 InvalidSignatureException", err)
	}
}

func TestEKSAuthErrors(t *testing.T) {
	cases := []struct {
		status        int
		code          string
		irrecoverable bool
		calls         int64 // attempts made: transient errors are tried twice
	}{
		{400, "AccessDeniedException", true, 1},
		{400, "ExpiredTokenException", true, 1},
		{400, "InvalidTokenException", true, 1},
		{400, "InvalidParameterException", true, 1},
		{400, "InvalidRequestException", true, 1},
		{404, "ResourceNotFoundException", true, 1},
		{429, "ThrottlingException", false, 2},
		{500, "InternalServerException", false, 2},
		{503, "ServiceUnavailableException", false, 2},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			s := newEKSAuthServer(t)
			s.setFail(func(string) (int, string) { return c.status, c.code })
			u := newTestUpstream(t, s)
			raw, _ := mintToken(t, "pod-0", time.Hour)
			_, err := u.AssumeRoleForPodIdentity(t.Context(), raw)
			var ue *UpstreamError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want *UpstreamError", err)
			}
			want := &UpstreamError{Status: c.status, Code: c.code, Message: "refused by the test server", RequestID: "req-err"}
			if d := cmp.Diff(want, ue); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			if ue.Irrecoverable() != c.irrecoverable || irrecoverable(err) != c.irrecoverable {
				t.Errorf("Irrecoverable = %v, want %v", ue.Irrecoverable(), c.irrecoverable)
			}
			if got := s.calls.Load(); got != c.calls {
				t.Errorf("attempts = %d, want %d", got, c.calls)
			}
		})
	}
}

func TestEKSAuthRetriesTransientThenSucceeds(t *testing.T) {
	s := newEKSAuthServer(t)
	first := true
	s.setFail(func(string) (int, string) {
		if first {
			first = false
			return 503, "ServiceUnavailableException"
		}
		return 0, ""
	})
	u := newTestUpstream(t, s)
	raw, _ := mintToken(t, "pod-0", time.Hour)
	got, err := u.AssumeRoleForPodIdentity(t.Context(), raw)
	if err != nil || got.AccessKeyID != "ASIA0000000000000002" || s.calls.Load() != 2 {
		t.Fatalf("got %+v, %v after %d calls; want the second attempt's credentials", got, err, s.calls.Load())
	}
}

func TestEKSAuthNetworkError(t *testing.T) {
	s := newEKSAuthServer(t)
	s.down.Store(true)
	u := newTestUpstream(t, s)
	raw, _ := mintToken(t, "pod-0", time.Hour)
	_, err := u.AssumeRoleForPodIdentity(t.Context(), raw)
	var ue *UpstreamError
	if err == nil || errors.As(err, &ue) || irrecoverable(err) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want a recoverable network error", err)
	}
}

func TestEKSAuthRealTimeouts(t *testing.T) {
	// A server that accepts and never answers: the request timeout ends
	// each attempt.
	hang := make(chan struct{})
	defer close(hang)
	ts := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	u, err := NewEKSAuth(EKSAuthConfig{Endpoint: ts.URL, ClusterName: testCluster, Region: testRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}, nil
		}),
		RequestTimeout: 100 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = u.AssumeRoleForPodIdentity(t.Context(), "a.b.c")
	if el := time.Since(start); err == nil || el < 200*time.Millisecond || el > 2*time.Second {
		t.Fatalf("err = %v after %s, want a timeout after two attempts of 100ms", err, el)
	}
}

func TestNewEKSAuthValidation(t *testing.T) {
	creds := aws.AnonymousCredentials{}
	ok := EKSAuthConfig{Endpoint: "http://127.0.0.1:8080", ClusterName: "c", Region: "r", Credentials: creds}
	if _, err := NewEKSAuth(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := map[string]func(*EKSAuthConfig){
		"cluster empty":        func(c *EKSAuthConfig) { c.ClusterName = "" },
		"cluster leading dash": func(c *EKSAuthConfig) { c.ClusterName = "-c" },
		"cluster slash":        func(c *EKSAuthConfig) { c.ClusterName = "a/b" },
		"cluster 101 chars":    func(c *EKSAuthConfig) { c.ClusterName = strings.Repeat("a", 101) },
		"endpoint no scheme":   func(c *EKSAuthConfig) { c.Endpoint = "eks-auth.example.com" },
		"endpoint ftp":         func(c *EKSAuthConfig) { c.Endpoint = "ftp://example.com" },
		"endpoint query":       func(c *EKSAuthConfig) { c.Endpoint = "https://example.com/?a=b" },
		"no region":            func(c *EKSAuthConfig) { c.Region = "" },
		"no credentials":       func(c *EKSAuthConfig) { c.Credentials = nil },
	}
	for name, mut := range bad {
		c := ok
		mut(&c)
		if _, err := NewEKSAuth(c); err == nil {
			t.Errorf("%s: NewEKSAuth succeeded, want an error", name)
		}
	}
	u, err := NewEKSAuth(EKSAuthConfig{Endpoint: "https://h.example/base/", ClusterName: "c_1-x", Region: "r", Credentials: creds})
	if err != nil || u.url != "https://h.example/base/clusters/c_1-x/assume-role-for-pod-identity" {
		t.Errorf("url = %q, %v", u.url, err)
	}
}

func TestEndpointFor(t *testing.T) {
	cases := []struct{ explicit, eksAuth, all, region, want string }{
		{"http://flag", "http://eksauth", "http://all", "r", "http://flag"},
		{"", "http://eksauth", "http://all", "r", "http://eksauth"},
		{"", "", "http://all", "r", "http://all"},
		{"", "", "", "us-east-1", "https://eks-auth.us-east-1.api.aws"},
		{"", "", "", "", ""},
	}
	for _, c := range cases {
		if got := EndpointFor(c.explicit, c.eksAuth, c.all, c.region); got != c.want {
			t.Errorf("EndpointFor(%q, %q, %q, %q) = %q, want %q", c.explicit, c.eksAuth, c.all, c.region, got, c.want)
		}
	}
}

func TestParseErrorResponse(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   UpstreamError
	}{
		{"header with suffix", 400, h("X-Amzn-ErrorType", "InvalidTokenException:http://internal/", "X-Amzn-RequestId", "r1"), `{"message":"bad"}`,
			UpstreamError{400, "InvalidTokenException", "bad", "r1"}},
		{"__type with namespace", 404, h(), `{"__type":"com.amazonaws.eksauth#ResourceNotFoundException","Message":"gone"}`,
			UpstreamError{404, "ResourceNotFoundException", "gone", ""}},
		{"code field", 400, h(), `{"code":"AccessDeniedException","message":"no"}`, UpstreamError{400, "AccessDeniedException", "no", ""}},
		{"no code 429", 429, h(), `rate exceeded`, UpstreamError{429, "ThrottlingException", "", ""}},
		{"no code 502", 502, h(), `<html>`, UpstreamError{502, "InternalServerException", "", ""}},
		{"no code 403", 403, h(), ``, UpstreamError{403, "UnknownError", "", ""}},
		{"control characters dropped", 400, h("X-Amzn-ErrorType", "Bad\x01Code"), "{\"message\":\"a\\nb\"}", UpstreamError{400, "BadCode", "ab", ""}},
	}
	for _, c := range cases {
		got := ParseErrorResponse(c.status, c.header, []byte(c.body))
		if d := cmp.Diff(c.want, *got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
	}
}

func TestParseResponseRejects(t *testing.T) {
	bad := map[string]string{
		"not JSON":           `nope`,
		"array":              `[]`,
		"no credentials":     `{"assumedRoleUser":{}}`,
		"no session token":   `{"credentials":{"accessKeyId":"A","secretAccessKey":"S","expiration":1}}`,
		"string expiration":  `{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":"2026-01-01T00:00:00Z"}}`,
		"zero expiration":    `{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":0}}`,
		"trailing document":  `{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":1}} {}`,
		"no expiration":      `{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T"}}`,
		"expiration is null": `{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":null}}`,
	}
	for name, body := range bad {
		if got, err := ParseResponse([]byte(body)); err == nil {
			t.Errorf("%s: ParseResponse = %+v, want an error", name, got)
		}
	}
	got, err := ParseResponse([]byte(`{"assumedRoleUser":{"arn":"arn:aws:sts::12345678901x:assumed-role/r/s"},
		"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":1.7e9}}`))
	if err != nil || got.AccountID != "" || got.Expiration != time.Unix(1.7e9, 0).UTC() {
		t.Errorf("ParseResponse = %+v, %v: want no account from a malformed ARN and the float expiration", got, err)
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"subject":{"namespace":"ns","serviceAccount":"sa"},"audience":"pods.eks.amazonaws.com","podIdentityAssociation":{"associationArn":"arn:aws:eks:r:111122223333:podidentityassociation/c/a-1","associationId":"a-1"},"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/r/s","assumeRoleId":"AROA:s"},"credentials":{"sessionToken":"t","secretAccessKey":"s","accessKeyId":"ASIA","expiration":1735689600}}`))
	f.Add([]byte(`{"credentials":{"expiration":1.5}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseResponse(body)
		if err != nil {
			return
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" || c.Expiration.Unix() <= 0 {
			t.Fatalf("accepted incomplete credentials %+v", c)
		}
		if c.AccountID != "" && len(c.AccountID) != 12 {
			t.Fatalf("account %q", c.AccountID)
		}
	})
}

func FuzzParseErrorResponse(f *testing.F) {
	f.Add(400, "InvalidTokenException:http://x/", []byte(`{"message":"m"}`))
	f.Add(500, "", []byte(`{"__type":"a#B","Message":"m"}`))
	f.Add(429, "", []byte(`{`))
	f.Fuzz(func(t *testing.T, status int, code string, body []byte) {
		h := http.Header{}
		h.Set("X-Amzn-ErrorType", code)
		e := ParseErrorResponse(status, h, body)
		if e.Code == "" || e.Status != status || len(e.Code) > 128 || len(e.Message) > 1024 {
			t.Fatalf("ParseErrorResponse = %+v", e)
		}
		for _, s := range []string{e.Code, e.Message, e.RequestID} {
			for _, r := range s {
				if r < 0x20 || r >= 0x7f {
					t.Fatalf("unsanitized %q", s)
				}
			}
		}
	})
}

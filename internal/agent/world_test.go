package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/irsa-dev/irsa/internal/sigv4"
)

// The agent's own credentials and the cluster of the test world.
const (
	testAccessKey = "AKIAAGENTTEST0000001"
	testSecret    = "agent-secret-for-tests-only-000000000000"
	testRegion    = "eu-west-1"
	testCluster   = "prod-1"
	testAccount   = "111122223333"
)

// eksAuthServer is a small EKS Auth: it checks what the real service checks
// of the request's form (method, path, SigV4 for eks-auth with the agent's
// key, the JSON body) and answers the documented rest-json documents. fail,
// when set, decides an error answer per token.
type eksAuthServer struct {
	t        testing.TB
	lifetime time.Duration

	calls atomic.Int64
	down  atomic.Bool // the transport refuses connections
	gate  chan struct{}

	mu   sync.Mutex
	fail func(token string) (status int, code string)
	seen map[string]int // calls per token
}

func newEKSAuthServer(t testing.TB) *eksAuthServer {
	return &eksAuthServer{t: t, lifetime: time.Hour, seen: map[string]int{}}
}

func (s *eksAuthServer) setFail(f func(token string) (int, string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

func (s *eksAuthServer) callsFor(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[token]
}

func (s *eksAuthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.calls.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.answerError(w, 400, "InvalidRequestException", "unreadable body")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/clusters/"+testCluster+"/assume-role-for-pod-identity" {
		s.answerError(w, 404, "ResourceNotFoundException", "no route "+r.Method+" "+r.URL.Path)
		return
	}
	sig, err := sigv4.Parse(r)
	if err == nil {
		err = sig.Check(time.Now(), testRegion, "eks-auth")
	}
	if err == nil && sig.AccessKeyID != testAccessKey {
		err = errors.New("unknown access key")
	}
	if err == nil {
		err = sig.Verify(r, body, testSecret, time.Now())
	}
	if err != nil {
		s.answerError(w, 403, "InvalidSignatureException", err.Error())
		return
	}
	var in struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Token == "" {
		s.answerError(w, 400, "InvalidParameterException", "token is required")
		return
	}
	s.mu.Lock()
	s.seen[in.Token]++
	fail := s.fail
	s.mu.Unlock()
	if s.gate != nil {
		<-s.gate
	}
	if fail != nil {
		if status, code := fail(in.Token); status != 0 {
			s.answerError(w, status, code, "refused by the test server")
			return
		}
	}
	exp := time.Now().Add(s.lifetime)
	doc := map[string]any{
		"subject":                map[string]string{"namespace": "team-a", "serviceAccount": "app"},
		"audience":               "pods.eks.amazonaws.com",
		"podIdentityAssociation": map[string]string{"associationArn": "arn:aws:eks:eu-west-1:" + testAccount + ":podidentityassociation/" + testCluster + "/a-0123456789abcdef0", "associationId": "a-0123456789abcdef0"},
		"assumedRoleUser":        map[string]string{"arn": "arn:aws:sts::" + testAccount + ":assumed-role/app/eks-prod-1-pod-0", "assumeRoleId": "AROAEXAMPLE:eks-prod-1-pod-0"},
		"credentials": map[string]any{
			"accessKeyId":     fmt.Sprintf("ASIA%016d", n),
			"secretAccessKey": fmt.Sprintf("secret-%d", n),
			"sessionToken":    fmt.Sprintf("session-%d", n),
			"expiration":      exp.Unix(),
		},
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", fmt.Sprintf("req-%d", n))
	_ = json.NewEncoder(w).Encode(doc)
}

func (s *eksAuthServer) answerError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazon.eks.auth/")
	w.Header().Set("X-Amzn-RequestId", "req-err")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// inProcess carries requests to the server without a network, so that the
// real client runs inside synctest bubbles; down makes it refuse.
type inProcess struct{ s *eksAuthServer }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	if t.s.down.Load() {
		return nil, errors.New("dial tcp 10.0.0.1:443: connect: connection refused")
	}
	rec := httptest.NewRecorder()
	t.s.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// newTestUpstream is the real EKS Auth client talking to s in process.
func newTestUpstream(t testing.TB, s *eksAuthServer) *EKSAuth {
	t.Helper()
	u, err := NewEKSAuth(EKSAuthConfig{
		Endpoint:    "https://eks-auth.eu-west-1.api.aws",
		ClusterName: testCluster,
		Region:      testRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, Source: "test"}, nil
		}),
		Transport: inProcess{s},
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// mintToken builds a service-account token (unsigned garbage signature: the
// agent does not verify it, EKS Auth does) valid for d from now.
func mintToken(t testing.TB, pod string, d time.Duration) (string, *Token) {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": "https://oidc.example.com", "sub": "system:serviceaccount:team-a:app",
		"aud": []string{"pods.eks.amazonaws.com"},
		"exp": now.Add(d).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"kubernetes.io": map[string]any{
			"namespace":      "team-a",
			"serviceaccount": map[string]string{"name": "app", "uid": "sa-uid"},
			"pod":            map[string]string{"name": pod, "uid": pod + "-uid"},
		},
	}
	raw := jws(t, map[string]any{"alg": "RS256", "kid": "k1"}, claims)
	tok, err := ParseToken(raw)
	if err != nil {
		t.Fatalf("ParseToken(minted): %v", err)
	}
	return raw, tok
}

func jws(t testing.TB, header, claims any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64))
}

// newHTTPServer is a real HTTP server on loopback, closed by the test.
func newHTTPServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

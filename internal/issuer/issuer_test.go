package issuer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/irsa-dev/irsa/internal/issuer"
	"github.com/irsa-dev/irsa/internal/keys"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

func newIssuer(t *testing.T, now time.Time) *issuer.Issuer {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := func() time.Time { return now }
	m := keys.New(keys.Config{Store: st, Now: clock})
	if err := m.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &issuer.Issuer{URL: "https://oidc.irsa.local/id/ABC", Keys: m, Now: clock}
}

// The token carries exactly the claims kube-apiserver puts in a projected
// service-account token.
func TestMintClaims(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	iss := newIssuer(t, now)
	tok, err := iss.Mint(context.Background(), issuer.TokenRequest{Namespace: "production", ServiceAccount: "s3-reader", PodName: "web-0", NodeName: "node-a", ExpiresIn: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if h := parsed.Headers[0]; h.Algorithm != "RS256" || h.KeyID == "" || h.ExtraHeaders["typ"] != "JWT" {
		t.Fatalf("header %+v", h)
	}
	set, _ := iss.PublicKeys(context.Background())
	var claims map[string]any
	if err := parsed.Claims(set.Keys[0].Key, &claims); err != nil {
		t.Fatalf("the token does not verify with the published key: %v", err)
	}
	for k, want := range map[string]any{
		"iss": "https://oidc.irsa.local/id/ABC", "sub": "system:serviceaccount:production:s3-reader",
		"iat": float64(now.Unix()), "nbf": float64(now.Unix()), "exp": float64(now.Add(2 * time.Hour).Unix()),
	} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != "sts.amazonaws.com" {
		t.Errorf("aud = %v, want [sts.amazonaws.com]", claims["aud"])
	}
	if jti, _ := claims["jti"].(string); len(jti) != 36 {
		t.Errorf("jti %v", claims["jti"])
	}
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	sa, _ := k8s["serviceaccount"].(map[string]any)
	pod, _ := k8s["pod"].(map[string]any)
	node, _ := k8s["node"].(map[string]any)
	if k8s["namespace"] != "production" || sa["name"] != "s3-reader" || len(sa["uid"].(string)) != 36 || pod["name"] != "web-0" || node["name"] != "node-a" {
		t.Errorf("kubernetes.io = %v", k8s)
	}
	// The service account's UID is stable across tokens.
	tok2, _ := iss.Mint(context.Background(), issuer.TokenRequest{Namespace: "production", ServiceAccount: "s3-reader"})
	p2, _ := jwt.ParseSigned(tok2, []jose.SignatureAlgorithm{jose.RS256})
	var c2 map[string]any
	_ = p2.UnsafeClaimsWithoutVerification(&c2)
	if c2["kubernetes.io"].(map[string]any)["serviceaccount"].(map[string]any)["uid"] != sa["uid"] {
		t.Error("the service account UID changed between tokens")
	}
}

func TestMintRefusesBadRequests(t *testing.T) {
	iss := newIssuer(t, time.Now())
	for _, req := range []issuer.TokenRequest{
		{Namespace: "", ServiceAccount: "a"},
		{Namespace: "Prod", ServiceAccount: "a"},
		{Namespace: "a", ServiceAccount: "b:c"},
		{Namespace: "a", ServiceAccount: "-b"},
		{Namespace: "a", ServiceAccount: "b", ExpiresIn: time.Minute},
		{Namespace: "a", ServiceAccount: "b", ExpiresIn: 49 * time.Hour},
	} {
		if _, err := iss.Mint(context.Background(), req); err == nil {
			t.Errorf("Mint(%+v) accepted", req)
		}
	}
}

func TestDiscoveryAndJWKS(t *testing.T) {
	iss := newIssuer(t, time.Now())
	srv := httptest.NewServer(iss)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/id/ABC/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc issuer.Discovery
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if doc.Issuer != "https://oidc.irsa.local/id/ABC" || doc.JWKSURI != "https://oidc.irsa.local/id/ABC/openid/v1/jwks" ||
		strings.Join(doc.ResponseTypesSupported, ",") != "id_token" || strings.Join(doc.SubjectTypesSupported, ",") != "public" ||
		strings.Join(doc.IDTokenSigningAlgValuesSupported, ",") != "RS256" {
		t.Errorf("discovery %+v", doc)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	resp, err = http.Get(srv.URL + "/openid/v1/jwks")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/jwk-set+json" || len(set.Keys) != 1 || !set.Keys[0].IsPublic() {
		t.Errorf("jwks %s %+v", resp.Header.Get("Content-Type"), set)
	}
	post, _ := http.Post(srv.URL+"/openid/v1/jwks", "text/plain", nil)
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to the key set: %d", post.StatusCode)
	}
	if want := []string{"/.well-known/openid-configuration", "/openid/v1/jwks", "/id/ABC/.well-known/openid-configuration", "/id/ABC/openid/v1/jwks"}; strings.Join(iss.Routes(), " ") != strings.Join(want, " ") {
		t.Errorf("routes %v", iss.Routes())
	}
}

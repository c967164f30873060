//go:build unix

package e2e

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// TestBuiltinIssuerServesItsKeys checks, as an outside verifier would, that
// a token of `irsa token` verifies with the JWKS irsa serves for its
// built-in issuer (discovery and JWKS fetched from the listener, at the
// paths of the issuer URL), and that it carries kube-apiserver's claims.
func TestBuiltinIssuerServesItsKeys(t *testing.T) {
	srv := startServer(t, serverOptions{})
	tokenFile := srv.token(t, t.TempDir(), "token", "--namespace", "team-a", "--service-account", "worker", "--pod", "worker-5d8f7-abcde", "--expires-in", "2h")
	token := readToken(t, tokenFile)

	// The issuer is https://oidc.irsa.local/id/<ID>; its documents are
	// served by the listener under /id/<ID>.
	var claims struct {
		Iss string `json:"iss"`
	}
	parseUnverified(t, token, &claims)
	issuer, err := url.Parse(claims.Iss)
	if err != nil || issuer.Scheme != "https" || issuer.Host != "oidc.irsa.local" || !strings.HasPrefix(issuer.Path, "/id/") {
		t.Fatalf("iss = %q, want https://oidc.irsa.local/id/<ID>", claims.Iss)
	}
	var discovery struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, srv.URL+issuer.Path+"/.well-known/openid-configuration", "application/json", &discovery)
	if discovery.Issuer != claims.Iss {
		t.Errorf("discovery issuer = %q, want the token's iss %q", discovery.Issuer, claims.Iss)
	}
	jwksURI, err := url.Parse(discovery.JWKSURI)
	if err != nil || !strings.HasPrefix(discovery.JWKSURI, claims.Iss+"/") {
		t.Fatalf("jwks_uri = %q, want a URL under the issuer %s", discovery.JWKSURI, claims.Iss)
	}
	var set jose.JSONWebKeySet
	getJSON(t, srv.URL+jwksURI.Path, "application/jwk-set+json", &set)

	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("irsa token is not a compact JWS: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("JWKS holds %d keys with the token's kid %q, want 1", len(keys), kid)
	}
	der, err := x509.MarshalPKIXPublicKey(keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(der); kid != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("kid %q is not base64url(SHA-256(PKIX DER of the key))", kid)
	}
	if keys[0].Use != "sig" {
		t.Errorf("key use = %q, want sig", keys[0].Use)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("the token does not verify with the served key: %v", err)
	}

	var got map[string]any
	if err := json.Unmarshal(payload, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"iat", "nbf", "exp"} {
		if _, ok := got[k].(float64); !ok {
			t.Fatalf("claim %s = %v, want a number", k, got[k])
		}
	}
	iat, exp := time.Unix(int64(got["iat"].(float64)), 0), time.Unix(int64(got["exp"].(float64)), 0)
	if d := exp.Sub(iat); d != 2*time.Hour {
		t.Errorf("exp - iat = %v, want 2h (--expires-in)", d)
	}
	if d := time.Since(iat); d < -time.Minute || d > time.Minute {
		t.Errorf("iat is %v away from now", d)
	}
	if got["nbf"] != got["iat"] {
		t.Errorf("nbf = %v, want iat %v", got["nbf"], got["iat"])
	}
	if jti, _ := got["jti"].(string); jti == "" {
		t.Errorf("no jti")
	}
	// The rest, with the generated values blanked.
	k8s, _ := got["kubernetes.io"].(map[string]any)
	for _, obj := range []string{"serviceaccount", "pod"} {
		if m, ok := k8s[obj].(map[string]any); ok && m["uid"] != nil {
			m["uid"] = "<uid>"
		}
	}
	for _, k := range []string{"iat", "nbf", "exp", "jti"} {
		delete(got, k)
	}
	want := map[string]any{
		"iss": claims.Iss,
		"sub": "system:serviceaccount:team-a:worker",
		"aud": []any{stsAudience},
		"kubernetes.io": map[string]any{
			"namespace":      "team-a",
			"serviceaccount": map[string]any{"name": "worker", "uid": "<uid>"},
			"pod":            map[string]any{"name": "worker-5d8f7-abcde", "uid": "<uid>"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token claims (-want +got):\n%s", diff)
	}
}

// parseUnverified decodes a compact JWS's payload without verifying it.
func parseUnverified(t *testing.T, token string, out any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	if err := json.Unmarshal(payload, out); err != nil {
		t.Fatalf("token payload %s: %v", payload, err)
	}
}

// getJSON fetches url, checks its status and content type, and decodes it.
func getJSON(t *testing.T, url, contentType string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, contentType) {
		t.Errorf("GET %s: Content-Type %q, want %s", url, got, contentType)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

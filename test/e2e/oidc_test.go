//go:build unix

package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// oidcServer is an external OIDC provider in the test process: an HTTPS
// server holding several issuers, one per path (the root path is one of
// them), each with its own RSA-2048 key. Its certificate is written as PEM
// for irsa's --trust-ca.
type oidcServer struct {
	srv *httptest.Server
	// CAFile is the server certificate in PEM.
	CAFile string

	mu      sync.Mutex
	issuers map[string]*tokenIssuer // by path: "" or "/name"
}

// tokenIssuer is one issuer of the oidcServer, or a signer whose issuer is
// not served at all.
type tokenIssuer struct {
	// URL is the issuer identifier, https://127.0.0.1:PORT[/path].
	URL string
	key *rsa.PrivateKey
	kid string
}

func newOIDCServer(t *testing.T) *oidcServer {
	t.Helper()
	o := &oidcServer{issuers: map[string]*tokenIssuer{}}
	o.srv = httptest.NewTLSServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	o.CAFile = filepath.Join(t.TempDir(), "oidc-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.srv.Certificate().Raw})
	if err := os.WriteFile(o.CAFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return o
}

// addIssuer serves a new issuer at path ("" for the root) and returns it.
func (o *oidcServer) addIssuer(t *testing.T, path string) *tokenIssuer {
	t.Helper()
	ti := newTokenIssuer(t, o.srv.URL+path)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.issuers[path] = ti
	return ti
}

func newTokenIssuer(t *testing.T, url string) *tokenIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return &tokenIssuer{URL: url, key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// serve answers {issuer}/.well-known/openid-configuration and
// {issuer}/keys for every issuer added.
func (o *oidcServer) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if path, ok := strings.CutSuffix(r.URL.Path, "/.well-known/openid-configuration"); ok {
		if ti := o.issuers[path]; ti != nil {
			writeJSON(w, "application/json", map[string]any{
				"issuer":                                ti.URL,
				"jwks_uri":                              ti.URL + "/keys",
				"response_types_supported":              []string{"id_token"},
				"subject_types_supported":               []string{"public"},
				"id_token_signing_alg_values_supported": []string{"RS256"},
			})
			return
		}
	}
	if path, ok := strings.CutSuffix(r.URL.Path, "/keys"); ok {
		if ti := o.issuers[path]; ti != nil {
			w.Header().Set("Cache-Control", "public, max-age=300")
			writeJSON(w, "application/jwk-set+json", jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
				Key: &ti.key.PublicKey, KeyID: ti.kid, Algorithm: string(jose.RS256), Use: "sig",
			}}})
			return
		}
	}
	http.NotFound(w, r)
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(body)
}

// sign returns claims as a compact RS256 JWS with the issuer's kid.
func (ti *tokenIssuer) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: ti.key, KeyID: ti.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// projectedClaims are the claims kube-apiserver puts in a projected
// service-account token, valid from issuedAt to expiry.
func (ti *tokenIssuer) projectedClaims(namespace, serviceAccount string, aud []string, issuedAt, expiry time.Time) map[string]any {
	return map[string]any{
		"iss": ti.URL,
		"sub": "system:serviceaccount:" + namespace + ":" + serviceAccount,
		"aud": aud,
		"iat": issuedAt.Unix(),
		"nbf": issuedAt.Unix(),
		"exp": expiry.Unix(),
		"jti": randomHex(16),
		"kubernetes.io": map[string]any{
			"namespace": namespace,
			"pod":       map[string]any{"name": serviceAccount + "-7d9f8b6c5-x2x4z", "uid": randomUUID()},
			"serviceaccount": map[string]any{
				"name": serviceAccount,
				"uid":  randomUUID(),
			},
		},
	}
}

// legacyClaims are the claims of a legacy, secret-based service-account
// token: no aud, no exp, no iat.
func legacyClaims(iss, namespace, serviceAccount string) map[string]any {
	return map[string]any{
		"iss":                                    iss,
		"sub":                                    "system:serviceaccount:" + namespace + ":" + serviceAccount,
		"kubernetes.io/serviceaccount/namespace": namespace,
		"kubernetes.io/serviceaccount/secret.name":          serviceAccount + "-token-x7k2p",
		"kubernetes.io/serviceaccount/service-account.name": serviceAccount,
		"kubernetes.io/serviceaccount/service-account.uid":  randomUUID(),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomUUID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

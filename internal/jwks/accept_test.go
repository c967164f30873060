package jwks_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/jwks"
	"github.com/irsa-dev/irsa/internal/store"
)

// kube-apiserver serves its key set only as application/jwk-set+json and
// answers 406 to a client that accepts application/json alone.
func TestKeySetRequestAcceptsJWKSetMediaType(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/openid/v1/jwks"})
		case "/openid/v1/jwks":
			ok := false
			for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
				if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && (mt == "application/jwk-set+json" || mt == "*/*") {
					ok = true
				}
			}
			if !ok {
				http.Error(w, "not acceptable", http.StatusNotAcceptable)
				return
			}
			w.Header().Set("Content-Type", "application/jwk-set+json")
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := jwks.New(jwks.Config{Client: srv.Client()})
	k, err := c.Key(context.Background(), &store.OIDCProvider{URL: srv.URL}, "k1")
	if err != nil {
		t.Fatalf("the key set of an issuer that serves only application/jwk-set+json: %v", err)
	}
	if k.KeyID != "k1" {
		t.Fatalf("kid %s", k.KeyID)
	}
}

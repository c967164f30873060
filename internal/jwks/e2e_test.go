package jwks

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

type providers []store.OIDCProvider

func (p providers) ListOIDCProviders(_ context.Context, account string) ([]store.OIDCProvider, error) {
	var out []store.OIDCProvider
	for _, x := range p {
		if x.AccountID == account {
			out = append(out, x)
		}
	}
	return out, nil
}

// mint signs claims with go-jose, as an external issuer would.
func mint(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims ...any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b := jwt.Signed(signer)
	for _, c := range claims {
		b = b.Claims(c)
	}
	token, err := b.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// TestEndToEnd runs webidentity.Verifier on jwks.Cache against a TLS
// issuer whose tokens go-jose signs.
func TestEndToEnd(t *testing.T) {
	k := testKeys()
	is := newIssuer(t, true, publicJWK("k1", k.rsa1), publicJWK("e1", k.ec))
	clk := newClock()
	cache := newCache(is, clk)
	const account = "111122223333"
	provider := *is.provider()
	provider.ARN = "arn:aws:iam::" + account + ":oidc-provider/" + strings.TrimPrefix(is.url, "https://")
	v := &webidentity.Verifier{Providers: providers{provider}, Keys: cache, Now: clk.Now}
	now := clk.Now()
	std := jwt.Claims{
		Issuer: is.url, Subject: "system:serviceaccount:prod:app", Audience: jwt.Audience{"sts.amazonaws.com"},
		Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ID: "jti-1",
	}
	kube := map[string]any{"kubernetes.io": map[string]any{"namespace": "prod", "serviceaccount": map[string]string{"name": "app", "uid": "u-1"}}}
	verify := func(token string) (*webidentity.Identity, outcome) {
		id, err := v.Verify(context.Background(), account, token+"\n")
		if err != nil {
			e := awserr.As(err)
			return nil, outcome{Code: e.Code, Message: e.Message}
		}
		return id, outcome{}
	}

	id, got := verify(mint(t, jose.RS256, k.rsa1, "k1", std, kube))
	expect(t, got, outcome{})
	want := &webidentity.Identity{
		Provider: provider, Issuer: is.url, Subject: "system:serviceaccount:prod:app",
		Audience: []string{"sts.amazonaws.com"}, MatchedAudience: "sts.amazonaws.com",
		Expiry: now.Add(time.Hour).UTC(), IssuedAt: now.UTC(), NotBefore: now.UTC(),
		JTI: "jti-1", KeyID: "k1", Algorithm: "RS256",
		Kubernetes: &webidentity.KubernetesClaims{Namespace: "prod", ServiceAccountName: "app", ServiceAccountUID: "u-1"},
	}
	if diff := cmp.Diff(want, id, cmpopts.IgnoreFields(webidentity.Identity{}, "TokenID")); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}

	_, got = verify(mint(t, jose.ES256, k.ec, "e1", std))
	expect(t, got, outcome{})
	hits(t, is, 1, 1)

	for _, tc := range []struct {
		name  string
		token string
		want  outcome
	}{
		{"wrong audience", mint(t, jose.RS256, k.rsa1, "k1", withAudience(std, "apiserver")),
			outcome{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgIncorrectAudience}},
		{"unknown issuer", mint(t, jose.RS256, k.rsa1, "k1", withIssuer(std, is.url+"/")),
			outcome{Code: awserr.InvalidIdentityToken, Message: "No OpenIDConnect provider found in your account for " + is.url + "/"}},
		{"expired", mint(t, jose.RS256, k.rsa1, "k1", withExpiry(std, now.Add(-10*time.Minute))),
			outcome{Code: awserr.ExpiredTokenException, Message: "Token expired: current date/time " + itoa(now.Unix()) + " must be before the expiration date/time" + itoa(now.Add(-10*time.Minute).Unix())}},
		{"forged with another key under k1", mint(t, jose.RS256, k.rsa2, "k1", std),
			outcome{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgMalformed}},
		{"forged and expired", mint(t, jose.RS256, k.rsa2, "k1", withExpiry(std, now.Add(-10*time.Minute))),
			outcome{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgMalformed}},
		{"HS256 keyed with the public modulus", mint(t, jose.HS256, k.rsa1.N.Bytes(), "k1", std),
			outcome{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgMalformed}},
		{"PS256", mint(t, jose.PS256, k.rsa1, "k1", std),
			outcome{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgMalformed}},
		{"unknown kid", mint(t, jose.RS256, k.rsa2, "k2", std),
			outcome{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgKeyUnavailable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := verify(tc.token)
			expect(t, got, tc.want)
		})
	}
	hits(t, is, 1, 1) // the unknown kid came within MinRefresh of the first fetch

	// Key rotation: the issuer publishes k2; a token signed with it is
	// accepted once the refresh is due.
	is.set(func(is *issuer) {
		is.jwks = keySet(publicJWK("k1", k.rsa1), publicJWK("e1", k.ec), publicJWK("k2", k.rsa2))
	})
	clk.Advance(DefaultMinRefresh)
	_, got = verify(mint(t, jose.RS256, k.rsa2, "k2", std))
	expect(t, got, outcome{})
	hits(t, is, 2, 2)

	// The issuer goes down: keys are served from the cache until MaxStale
	// past their expiry, then the provider is unreachable.
	is.set(func(is *issuer) { is.status = http.StatusBadGateway })
	clk.Advance(2 * time.Hour)
	late := withExpiry(std, clk.Now().Add(time.Hour))
	_, got = verify(mint(t, jose.RS256, k.rsa1, "k1", late))
	expect(t, got, outcome{})
	clk.Advance(DefaultMaxStale)
	late = withExpiry(std, clk.Now().Add(time.Hour))
	_, got = verify(mint(t, jose.RS256, k.rsa1, "k1", late))
	expect(t, got, unreachableOutcome)
}

func withAudience(c jwt.Claims, aud ...string) jwt.Claims { c.Audience = aud; return c }
func withIssuer(c jwt.Claims, iss string) jwt.Claims      { c.Issuer = iss; return c }
func withExpiry(c jwt.Claims, exp time.Time) jwt.Claims {
	c.Expiry = jwt.NewNumericDate(exp)
	return c
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

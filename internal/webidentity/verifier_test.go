package webidentity

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
)

const seedIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/1234"

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// seedVerifier verifies the seed example: its provider in account
// 000000000000 with the key of pub.pem under the token's kid.
func seedVerifier(t testing.TB, now time.Time) *Verifier {
	t.Helper()
	block, _ := pem.Decode([]byte(readFile(t, "testdata/seed-example/pub.pem")))
	if block == nil {
		t.Fatal("pub.pem: no PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	p := store.OIDCProvider{
		AccountID: "000000000000",
		ARN:       "arn:aws:iam::000000000000:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/1234",
		URL:       seedIssuer,
		ClientIDs: []string{"sts.amazonaws.com"},
	}
	return &Verifier{
		Providers: fakeProviders{"000000000000": {p}},
		Keys: &fakeKeys{keys: map[string]*jose.JSONWebKey{
			"882014647bded49b37971f48ca11037e5c73461b": {Key: pub.(*rsa.PublicKey), KeyID: "882014647bded49b37971f48ca11037e5c73461b"},
		}},
		Now: func() time.Time { return now },
	}
}

func TestSeedExample(t *testing.T) {
	token := readFile(t, "testdata/seed-example/token.jwt") // as written, trailing newline or not
	const iat, exp = 1749753104, 1749839504

	t.Run("inside its lifetime", func(t *testing.T) {
		for _, now := range []int64{iat, iat + 3600, exp, exp + 300} {
			v := seedVerifier(t, time.Unix(now, 0))
			id, err := v.Verify(context.Background(), "000000000000", token+"\n")
			check(t, err, accept)
			wantID := &Identity{
				Provider:        v.Providers.(fakeProviders)["000000000000"][0],
				Issuer:          seedIssuer,
				Subject:         "system:serviceaccount:k8s-namespace:service-account-name",
				Audience:        []string{"sts.amazonaws.com"},
				MatchedAudience: "sts.amazonaws.com",
				Expiry:          time.Unix(exp, 0).UTC(),
				IssuedAt:        time.Unix(iat, 0).UTC(),
				NotBefore:       time.Unix(iat, 0).UTC(),
				JTI:             "d2e12799-1747-4af3-93e9-ae92e8713249",
				KeyID:           "882014647bded49b37971f48ca11037e5c73461b",
				Algorithm:       "RS256",
				TokenID:         tokenID(strings.Join(strings.Split(strings.TrimSpace(token), ".")[:2], ".")),
				Kubernetes: &KubernetesClaims{
					Namespace:          "k8s-namespace",
					ServiceAccountName: "service-account-name",
					ServiceAccountUID:  "d2e12799-1747-4af3-93e9-ae92e8713249",
					PodName:            "pod-name-5bc476f9b-cfvmb",
					PodUID:             "d2e12799-1747-4af3-93e9-ae92e8713249",
					NodeName:           "ip-192-168-0-1.us-west-2.compute.internal",
					NodeUID:            "d2e12799-1747-4af3-93e9-ae92e8713249",
				},
			}
			if diff := cmp.Diff(wantID, id); diff != "" {
				t.Errorf("identity at %d (-want +got):\n%s", now, diff)
			}
		}
	})

	t.Run("today", func(t *testing.T) {
		now := time.Now()
		v := seedVerifier(t, now)
		_, err := v.Verify(context.Background(), "000000000000", token)
		// The message carries the clock; compute it the way AWS writes it.
		check(t, err, want{code: awserr.ExpiredTokenException,
			msg: "Token expired: current date/time " + itoa(now.Unix()) + " must be before the expiration date/time1749839504"})
	})

	t.Run("one second past the skew", func(t *testing.T) {
		v := seedVerifier(t, time.Unix(exp+301, 0))
		_, err := v.Verify(context.Background(), "000000000000", token)
		check(t, err, want{code: awserr.ExpiredTokenException,
			msg: "Token expired: current date/time 1749839805 must be before the expiration date/time1749839504"})
	})

	t.Run("legacy secret token", func(t *testing.T) {
		// iss kubernetes/serviceaccount is no registered provider.
		v := seedVerifier(t, time.Unix(iat, 0))
		_, err := v.Verify(context.Background(), "000000000000", readFile(t, "testdata/seed-example/legacy-secret-token.jwt"))
		check(t, err, want{code: awserr.InvalidIdentityToken, msg: "No OpenIDConnect provider found in your account for kubernetes/serviceaccount"})
	})

	t.Run("legacy secret token with its issuer registered", func(t *testing.T) {
		// Even if someone registered its issuer, it has no aud.
		v := seedVerifier(t, time.Unix(iat, 0))
		p := v.Providers.(fakeProviders)["000000000000"][0]
		p.URL = "kubernetes/serviceaccount"
		v.Providers = fakeProviders{"000000000000": {p}}
		_, err := v.Verify(context.Background(), "000000000000", readFile(t, "testdata/seed-example/legacy-secret-token.jwt"))
		check(t, err, want{code: awserr.InvalidIdentityToken, msg: "Missing a required claim: aud"})
	})

	t.Run("another account", func(t *testing.T) {
		v := seedVerifier(t, time.Unix(iat, 0))
		_, err := v.Verify(context.Background(), "111111111111", token)
		check(t, err, want{code: awserr.InvalidIdentityToken, msg: "No OpenIDConnect provider found in your account for " + seedIssuer})
	})
}

func TestIdentityFields(t *testing.T) {
	v, keys := fixture(t)
	claims := payload(map[string]string{
		"aud": `["apiserver","sts.amazonaws.com","other-client"]`,
		"amr": `["authenticated","mfa"]`,
		"jti": `"id-1"`,
		TagsClaim: `{"principal_tags":{"Project":["Automation"],"CostCenter":["987654"],"Empty":[""]},
			"transitive_tag_keys":["Project"],"ignored":true}`,
		SourceIdentityClaim: `"alice@example.com"`,
		"kubernetes.io":     `{"namespace":"prod","serviceaccount":{"name":"app","uid":"u1"},"warnafter":1}`,
		"email":             `"ignored@example.com"`,
	})
	token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1", `"typ":"JWT"`), claims)
	id, err := v.Verify(context.Background(), testAccount, token)
	check(t, err, accept)
	wantID := &Identity{
		Provider:          testProvider,
		Issuer:            testIssuer,
		Subject:           "system:serviceaccount:prod:app",
		Audience:          []string{"apiserver", "sts.amazonaws.com", "other-client"},
		MatchedAudience:   "sts.amazonaws.com", // the first aud value that is a client ID
		Expiry:            testNow.Add(time.Hour).UTC(),
		IssuedAt:          testNow.Add(-time.Minute).UTC(),
		NotBefore:         testNow.Add(-time.Minute).UTC(),
		AMR:               []string{"authenticated", "mfa"},
		PrincipalTags:     []store.Tag{{Key: "CostCenter", Value: "987654"}, {Key: "Empty", Value: ""}, {Key: "Project", Value: "Automation"}},
		TransitiveTagKeys: []string{"Project"},
		SourceIdentity:    "alice@example.com",
		JTI:               "id-1",
		KeyID:             "k1",
		Algorithm:         "RS256",
		TokenID:           tokenID(token[:strings.LastIndexByte(token, '.')]),
		Kubernetes:        &KubernetesClaims{Namespace: "prod", ServiceAccountName: "app", ServiceAccountUID: "u1"},
	}
	if diff := cmp.Diff(wantID, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"k1"}, keys.Calls()); diff != "" {
		t.Errorf("key lookups (-want +got):\n%s", diff)
	}
}

func TestAlgorithms(t *testing.T) {
	v, _ := fixture(t)
	k := testKeys()
	for _, tc := range []struct {
		alg, kid string
		key      any
		want     want
	}{
		{"RS256", "k1", k.rsa, accept},
		{"RS384", "k1", k.rsa, accept},
		{"RS512", "k1", k.rsa, accept},
		{"ES256", "e256", k.ec256, accept},
		{"ES384", "e384", k.ec384, accept},
		{"ES512", "e521", k.ec521, accept},
		{"RS384", "k2", k.rsa2, malformedBecause("key alg RS256, token alg RS384")},
		{"PS256", "k1", k.rsa, malformedBecause(`alg "PS256" is not allowed`)},
		{"PS384", "k1", k.rsa, malformedBecause(`alg "PS384" is not allowed`)},
		{"PS512", "k1", k.rsa, malformedBecause(`alg "PS512" is not allowed`)},
	} {
		t.Run(tc.alg+"/"+tc.kid, func(t *testing.T) {
			token := signRaw(t, tc.key, tc.alg, header(tc.alg, tc.kid), payload(nil))
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, tc.want)
		})
	}
}

func TestTrimAndLength(t *testing.T) {
	v, _ := fixture(t)
	good := goodToken(t)
	for _, tc := range []struct {
		name, token string
		want        want
	}{
		{"trailing newline", good + "\n", accept},
		{"CRLF and spaces around", " \t" + good + "\r\n", accept},
		{"form feed and vertical tab", "\f" + good + "\v", accept},
		{"no-break space is not ASCII whitespace", good + "\u00a0", malformedBecause("not base64url")},
		{"newline inside", good[:20] + "\n" + good[20:], malformedBecause("not base64url")},
		{"empty", "", want{code: awserr.ValidationError, msg: "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"}},
		{"three characters", "a.b", want{code: awserr.ValidationError, msg: "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"}},
		{"four characters", "a.b.", malformedBecause("empty signature")},
		{"whitespace only", "    ", malformedBecause("three dot-separated parts")},
		{"20000 characters", strings.Repeat("a", 20000), malformedBecause("three dot-separated parts")},
		{"20001 characters", strings.Repeat("a", 20001), want{code: awserr.ValidationError, msg: "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000"}},
		{"20000 characters of two bytes each", strings.Repeat("é", 20000), malformedBecause("three dot-separated parts")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), testAccount, tc.token)
			check(t, err, tc.want)
			if err != nil && len(tc.token) > 0 && strings.Contains(err.Error(), tc.token) {
				t.Errorf("error %q echoes the token", err)
			}
		})
	}
}

func TestTypHeader(t *testing.T) {
	v, _ := fixture(t)
	for _, tc := range []struct {
		typ  string // raw JSON
		want want
	}{
		{`"JWT"`, accept},
		{`"jwt"`, accept},
		{`"application/jwt"`, accept},
		{`"Application/JWT"`, accept},
		{`"at+jwt"`, malformedBecause("typ must be JWT")},
		{`"JOSE"`, malformedBecause("typ must be JWT")},
		{`""`, malformedBecause("typ must be JWT")},
		{`null`, malformedBecause("typ must be JWT")},
		{`1`, malformedBecause("typ must be JWT")},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1", `"typ":`+tc.typ), payload(nil))
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, tc.want)
		})
	}
}

func TestUnknownHeadersAndClaimsIgnored(t *testing.T) {
	v, _ := fixture(t)
	token := signRaw(t, testKeys().rsa, "RS256",
		header("RS256", "k1", `"x5t":"abc"`, `"x5t#S256":"def"`, `"custom":{"a":[1,2]}`),
		payload(map[string]string{"groups": `["a","b"]`, "azp": `"x"`, "nested": `{"deep":{"deeper":[null,true,false,1.5e3]}}`}))
	_, err := v.Verify(context.Background(), testAccount, token)
	check(t, err, accept)
}

func TestKeySourceErrors(t *testing.T) {
	v, keys := fixture(t)
	keys.err = awserr.New(awserr.IDPCommunicationError, MsgIDPUnreachable)
	_, err := v.Verify(context.Background(), testAccount, goodToken(t))
	check(t, err, want{code: awserr.IDPCommunicationError, msg: MsgIDPUnreachable})

	keys.err = errors.New("not an AWS error")
	_, err = v.Verify(context.Background(), testAccount, goodToken(t))
	check(t, err, want{code: awserr.InternalFailure, msg: awserr.Internal(nil).Message})

	v.Providers = fakeProviders{}
	_, err = v.Verify(context.Background(), "broken", goodToken(t))
	check(t, err, want{code: awserr.InternalFailure, msg: awserr.Internal(nil).Message})
}

func TestKidlessToken(t *testing.T) {
	// The verifier asks the key source for kid ""; the source answers with
	// the provider's only key (fakeKeys does what jwks.Cache does).
	k := testKeys()
	keys := &fakeKeys{keys: map[string]*jose.JSONWebKey{"only": {Key: &k.rsa.PublicKey}}}
	v := &Verifier{Providers: fakeProviders{testAccount: {testProvider}}, Keys: keys, Now: func() time.Time { return testNow }}
	token := signRaw(t, k.rsa, "RS256", header("RS256", ""), payload(nil))
	_, err := v.Verify(context.Background(), testAccount, token)
	check(t, err, accept)
	if diff := cmp.Diff([]string{""}, keys.Calls()); diff != "" {
		t.Errorf("key lookups (-want +got):\n%s", diff)
	}

	// With several keys the source refuses.
	v2, _ := fixture(t)
	_, err = v2.Verify(context.Background(), testAccount, token)
	check(t, err, keyUnavailable)
}

func TestKeyFits(t *testing.T) {
	v, _ := fixture(t)
	k := testKeys()
	for _, tc := range []struct {
		name     string
		alg, kid string
		key      any
		want     want
	}{
		{"RSA key for ES256", "ES256", "k1", k.ec256, malformedBecause("RSA key, token alg ES256")},
		{"P-384 key for ES256", "ES256", "e384", k.ec256, malformedBecause("EC key on P-384, token alg ES256")},
		{"P-256 key for ES384", "ES384", "e256", k.ec384, malformedBecause("key alg ES256, token alg ES384")},
		{"EC key for RS256", "RS256", "e384", k.rsa, malformedBecause("EC key on P-384, token alg RS256")},
		{"1024-bit RSA key", "RS256", "weak", k.rsa1024, malformedBecause("1024 bits")},
		{"private key from the source", "RS256", "priv", k.rsa, malformedBecause("*rsa.PrivateKey")},
		{"other RSA key", "RS256", "k1", k.rsa2, malformedBecause("signature: go-jose/go-jose: error in cryptographic primitive")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := signRaw(t, tc.key, tc.alg, header(tc.alg, tc.kid), payload(nil))
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, tc.want)
		})
	}
}

func TestSourceIdentityAndTags(t *testing.T) {
	v, _ := fixture(t)
	tagErr := func(why string) want {
		return want{code: awserr.InvalidIdentityToken, msg: tagClaimMessage + why}
	}
	siErr := want{code: awserr.InvalidIdentityToken, msg: "The source identity in the token must be 2 to 64 characters of [\\w+=,.@-] and must not start with aws:"}
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	for _, tc := range []struct {
		name   string
		claims map[string]string
		want   want
	}{
		{"50 tags", map[string]string{TagsClaim: `{"principal_tags":{` + many(50, func(i int) string { return `"k` + itoa(int64(i)) + `":["v"]` }) + `}}`}, accept},
		{"51 tags", map[string]string{TagsClaim: `{"principal_tags":{` + many(51, func(i int) string { return `"k` + itoa(int64(i)) + `":["v"]` }) + `}}`}, tagErr("more than 50 tags")},
		{"key of 128", map[string]string{TagsClaim: `{"principal_tags":{"` + strings.Repeat("k", 128) + `":["v"]}}`}, accept},
		{"key of 129", map[string]string{TagsClaim: `{"principal_tags":{"` + strings.Repeat("k", 129) + `":["v"]}}`}, tagErr("a tag key must be 1 to 128 characters of letters, digits, spaces and _.:/=+-@, and must not start with aws:")},
		{"empty key", map[string]string{TagsClaim: `{"principal_tags":{"":["v"]}}`}, tagErr("a tag key must be 1 to 128 characters of letters, digits, spaces and _.:/=+-@, and must not start with aws:")},
		{"aws: key", map[string]string{TagsClaim: `{"principal_tags":{"AWS:x":["v"]}}`}, tagErr("a tag key must be 1 to 128 characters of letters, digits, spaces and _.:/=+-@, and must not start with aws:")},
		{"key with a bad character", map[string]string{TagsClaim: `{"principal_tags":{"a*b":["v"]}}`}, tagErr("a tag key must be 1 to 128 characters of letters, digits, spaces and _.:/=+-@, and must not start with aws:")},
		{"unicode key and value", map[string]string{TagsClaim: `{"principal_tags":{"Équipe 1":["données:/=+-@_."]}}`}, accept},
		{"value of 256", map[string]string{TagsClaim: `{"principal_tags":{"k":["` + strings.Repeat("é", 256) + `"]}}`}, accept},
		{"value of 257", map[string]string{TagsClaim: `{"principal_tags":{"k":["` + strings.Repeat("v", 257) + `"]}}`}, tagErr("a tag value must be at most 256 characters of letters, digits, spaces and _.:/=+-@")},
		{"two values", map[string]string{TagsClaim: `{"principal_tags":{"k":["a","b"]}}`}, tagErr("each tag value must be an array of one string")},
		{"no value", map[string]string{TagsClaim: `{"principal_tags":{"k":[]}}`}, tagErr("each tag value must be an array of one string")},
		{"bare string value", map[string]string{TagsClaim: `{"principal_tags":{"k":"v"}}`}, tagErr("each tag value must be an array of one string")},
		{"number value", map[string]string{TagsClaim: `{"principal_tags":{"k":[1]}}`}, tagErr("each tag value must be an array of one string")},
		{"keys differing in case", map[string]string{TagsClaim: `{"principal_tags":{"k":["a"],"K":["b"]}}`}, malformedBecause("duplicate member name")},
		{"claim not an object", map[string]string{TagsClaim: `["k"]`}, tagErr("the claim is not an object")},
		{"principal_tags not an object", map[string]string{TagsClaim: `{"principal_tags":null}`}, tagErr("principal_tags is not an object")},
		{"transitive key not a tag", map[string]string{TagsClaim: `{"principal_tags":{"k":["v"]},"transitive_tag_keys":["x"]}`}, tagErr("each transitive tag key must be one of the principal tags")},
		{"transitive key in other case", map[string]string{TagsClaim: `{"principal_tags":{"Key":["v"]},"transitive_tag_keys":["KEY"]}`}, accept},
		{"transitive key twice", map[string]string{TagsClaim: `{"principal_tags":{"k":["v"]},"transitive_tag_keys":["k","K"]}`}, tagErr("a transitive tag key is listed twice")},
		{"transitive keys not an array", map[string]string{TagsClaim: `{"principal_tags":{"k":["v"]},"transitive_tag_keys":"k"}`}, tagErr("transitive_tag_keys is not an array of strings")},
		{"source identity", map[string]string{SourceIdentityClaim: `"a_b+c=d,e.f@g-h"`}, accept},
		{"source identity of 1", map[string]string{SourceIdentityClaim: `"a"`}, siErr},
		{"source identity of 64", map[string]string{SourceIdentityClaim: quote(strings.Repeat("a", 64))}, accept},
		{"source identity of 65", map[string]string{SourceIdentityClaim: quote(strings.Repeat("a", 65))}, siErr},
		{"source identity with a space", map[string]string{SourceIdentityClaim: `"a b"`}, siErr},
		{"source identity aws:", map[string]string{SourceIdentityClaim: `"aws:me"`}, siErr},
		{"source identity not a string", map[string]string{SourceIdentityClaim: `12`}, siErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(tc.claims))
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, tc.want)
		})
	}
}

func TestClaimTypes(t *testing.T) {
	v, _ := fixture(t)
	for _, tc := range []struct {
		name   string
		claims map[string]string
		drop   []string
		want   want
	}{
		{"sub missing", nil, []string{"sub"}, want{code: awserr.InvalidIdentityToken, msg: "Missing a required claim: sub"}},
		{"sub not a string", map[string]string{"sub": `["a"]`}, nil, malformedBecause("sub is not a string")},
		{"sub null", map[string]string{"sub": `null`}, nil, malformedBecause("sub is not a string")},
		{"jti not a string", map[string]string{"jti": `1`}, nil, malformedBecause("jti is not a string")},
		{"amr a string", map[string]string{"amr": `"pwd"`}, nil, accept},
		{"amr with a number", map[string]string{"amr": `["pwd",1]`}, nil, malformedBecause("amr is not a string")},
		{"kubernetes.io not an object", map[string]string{"kubernetes.io": `"x"`}, nil, malformedBecause("kubernetes.io is not an object")},
		{"kubernetes.io namespace not a string", map[string]string{"kubernetes.io": `{"namespace":1}`}, nil, malformedBecause("kubernetes.io.namespace is not a string")},
		{"kubernetes.io pod not an object", map[string]string{"kubernetes.io": `{"pod":"p"}`}, nil, malformedBecause("kubernetes.io.pod is not an object")},
		{"kubernetes.io pod name not a string", map[string]string{"kubernetes.io": `{"pod":{"name":false}}`}, nil, malformedBecause("kubernetes.io.pod.name is not a string")},
		{"kubernetes.io node uid not a string", map[string]string{"kubernetes.io": `{"node":{"uid":{}}}`}, nil, malformedBecause("kubernetes.io.node.uid is not a string")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(tc.claims, tc.drop...))
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, tc.want)
		})
	}
	for _, body := range []string{`[]`, `"claims"`, `null`, `foo`, ``, `{}x`, "{\"sub\":\"\xff\"}"} {
		t.Run("payload "+body, func(t *testing.T) {
			token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), body)
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, malformedBecause("claims:"))
		})
	}
}

package webidentity

// One test per row of the attack table (shared/reference/
// security-attacks-corpora.md §1.1). Wycheproof's JWS and JWK vectors run
// in wycheproof_test.go.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// verifyNoLookup verifies token and checks that no key was looked up: the
// token is refused before the key source is asked.
func verifyNoLookup(t *testing.T, token string, w want) {
	t.Helper()
	v, keys := fixture(t)
	_, err := v.Verify(context.Background(), testAccount, token)
	check(t, err, w)
	if calls := keys.Calls(); len(calls) != 0 {
		t.Errorf("key source asked for %q; the token should be refused before", calls)
	}
}

func segments(token string) (h, p, s string) {
	parts := strings.Split(token, ".")
	return parts[0], parts[1], parts[2]
}

// Row 1.
func TestAttackAlgNone(t *testing.T) {
	body := b64([]byte(payload(nil)))
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		hdr := b64([]byte(header(alg, "k1")))
		t.Run(alg+" empty signature", func(t *testing.T) {
			verifyNoLookup(t, hdr+"."+body+".", malformedBecause("empty signature"))
		})
		t.Run(alg+" with a signature", func(t *testing.T) {
			verifyNoLookup(t, hdr+"."+body+".c2ln", malformedBecause(`alg "`+alg+`" is not allowed`))
		})
	}
	for _, h := range []string{`{"kid":"k1"}`, `{"alg":null}`, `{"alg":256}`, `{"alg":""}`, `{"alg":"rs256"}`, `{"alg":"RS256 "}`, `{"alg":["RS256"]}`} {
		t.Run(h, func(t *testing.T) {
			verifyNoLookup(t, signRaw(t, testKeys().rsa, "RS256", h, payload(nil)), malformedBecause("alg"))
		})
	}
}

// Row 2.
func TestAttackNullAndTruncatedSignature(t *testing.T) {
	good := goodToken(t)
	h, p, s := segments(good)
	for _, tc := range []struct {
		name, token string
		want        want
	}{
		{"null signature", h + "." + p + ".", malformedBecause("empty signature")},
		{"no signature part", h + "." + p, malformedBecause("three dot-separated parts")},
		{"header only", h, malformedBecause("three dot-separated parts")},
		{"extra part", good + "." + s, malformedBecause("three dot-separated parts")},
		{"extra empty part", good + ".", malformedBecause("three dot-separated parts")},
		{"no header", "." + p + "." + s, malformedBecause("empty header")},
		{"dots only", "....", malformedBecause("three dot-separated parts")},
		{"two dots", "a..b", malformedBecause("header")},
		{"empty payload", h + ".." + s, malformedBecause("claims: JSON value is not an object")},
		{"truncated signature", h + "." + p + "." + s[:len(s)-4], malformedBecause("signature")},
		{"empty string", "", want{code: awserr.ValidationError, msg: "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := fixture(t)
			_, err := v.Verify(context.Background(), testAccount, tc.token)
			check(t, err, tc.want)
		})
	}
}

// Row 3.
func TestAttackKeyConfusion(t *testing.T) {
	k := testKeys()
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &k.rsa.PublicKey, KeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []struct {
		name string
		key  []byte
	}{{"PEM", pemBytes}, {"DER", der}, {"JWK", jwk}, {"modulus", k.rsa.N.Bytes()}} {
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			t.Run(alg+" keyed with the public key "+secret.name, func(t *testing.T) {
				token := signRaw(t, secret.key, alg, header(alg, "k1"), payload(nil))
				verifyNoLookup(t, token, malformedBecause(`alg "`+alg+`" is not allowed`))
			})
		}
	}
}

// Row 4.
func TestAttackWrongPrimitive(t *testing.T) {
	k := testKeys()
	v, _ := fixture(t)
	for _, tc := range []struct {
		name           string
		headerAlg, kid string
		signAlg        string
		key            any
		want           want
	}{
		{"RS256 signature under RS384", "RS384", "k1", "RS256", k.rsa, malformedBecause("signature")},
		{"RS512 signature under RS256", "RS256", "k1", "RS512", k.rsa, malformedBecause("signature")},
		{"PS256 signature under RS256", "RS256", "k1", "PS256", k.rsa, malformedBecause("signature")},
		{"ES256 signature under ES384", "ES384", "e384", "ES256", k.ec256, malformedBecause("signature")},
		{"ES384 signature under ES256", "ES256", "e256", "ES384", k.ec384, malformedBecause("signature")},
		{"RS256 signature under ES256", "ES256", "e256", "RS256", k.rsa, malformedBecause("signature")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := b64([]byte(header(tc.headerAlg, tc.kid))) + "." + b64([]byte(payload(nil)))
			token := input + "." + b64(signature(t, tc.key, tc.signAlg, input))
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, tc.want)
		})
	}
}

// Row 5.
func TestAttackEmbeddedJWK(t *testing.T) {
	attacker := testKeys().rsa2
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &attacker.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{"k1", ""} {
		t.Run("kid "+kid, func(t *testing.T) {
			token := signRaw(t, attacker, "RS256", header("RS256", kid, `"jwk":`+string(jwk)), payload(nil))
			verifyNoLookup(t, token, malformedBecause("jwk is not accepted"))
		})
	}
}

// Row 6.
func TestAttackKeyURLsInHeader(t *testing.T) {
	for _, tc := range []struct{ name, member string }{
		{"jku", `"jku":"https://attacker.example/jwks.json"`},
		{"x5u", `"x5u":"https://attacker.example/cert.pem"`},
		{"x5c", `"x5c":["MIIB"]`},
		{"jku", `"jku":null`},
	} {
		t.Run(tc.member, func(t *testing.T) {
			token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1", tc.member), payload(nil))
			verifyNoLookup(t, token, malformedBecause(tc.name+" is not accepted"))
		})
	}
}

// Row 7.
func TestAttackKidInjection(t *testing.T) {
	for _, kid := range []string{
		"../../../../../../dev/null", "/dev/null", "/invalid_path", "|sleep 10", "x' UNION SELECT '1';--",
		"k1\x00", "K1", " k1", "k1/../k1", strings.Repeat("k", maxKeyIDLength),
	} {
		t.Run(truncate(kid, 30), func(t *testing.T) {
			v, keys := fixture(t)
			token := signRaw(t, testKeys().rsa, "RS256", header("RS256", kid), payload(nil))
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, keyUnavailable)
			if calls := keys.Calls(); len(calls) != 1 || calls[0] != kid {
				t.Errorf("key lookups %q, want exactly the kid as given", calls)
			}
		})
	}
	for _, tc := range []struct{ name, kid string }{
		{"empty", `""`}, {"number", `1`}, {"null", `null`}, {"array", `["k1"]`}, {"object", `{"k":"k1"}`},
		{"too long", quote(strings.Repeat("k", maxKeyIDLength+1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := signRaw(t, testKeys().rsa, "RS256", `{"alg":"RS256","kid":`+tc.kid+`}`, payload(nil))
			verifyNoLookup(t, token, malformedBecause("kid must be a string"))
		})
	}
}

// Row 8.
func TestAttackCrit(t *testing.T) {
	for _, tc := range []struct{ name, members, cause string }{
		{"crit exp", `"crit":["exp"],"exp":1`, "crit is not accepted"},
		{"crit b64", `"crit":["b64"],"b64":false`, "crit is not accepted"},
		{"crit empty", `"crit":[]`, "crit is not accepted"},
		{"b64 without crit", `"b64":false`, "b64 is not accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1", tc.members), payload(nil))
			verifyNoLookup(t, token, malformedBecause(tc.cause))
		})
	}
}

// Row 9: the ECDSA signature special cases (Wycheproof's SpecialCaseEs256
// group runs in TestWycheproofJWS as well).
func TestAttackECDSASpecialCases(t *testing.T) {
	k := testKeys()
	v, _ := fixture(t)
	input := b64([]byte(header("ES256", "e256"))) + "." + b64([]byte(payload(nil)))
	good := signature(t, k.ec256, "ES256", input)
	n := elliptic.P256().Params().N
	one, zero := big.NewInt(1), big.NewInt(0)
	nm1 := new(big.Int).Sub(n, one)
	r, s := new(big.Int).SetBytes(good[:32]), new(big.Int).SetBytes(good[32:])
	raw := func(r, s *big.Int) []byte {
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		if s.BitLen() <= 256 {
			s.FillBytes(out[32:])
		}
		return out
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sig  []byte
		want want
	}{
		{"valid", good, accept},
		{"r=0 s=0", raw(zero, zero), malformedBecause("signature")},
		{"r=1 s=1", raw(one, one), malformedBecause("signature")},
		{"r=0 s=valid", raw(zero, s), malformedBecause("signature")},
		{"r=n s=n", raw(n, n), malformedBecause("signature")},
		{"r=n-1 s=n-1", raw(nm1, nm1), malformedBecause("signature")},
		{"r+n", raw(new(big.Int).Add(r, n).Mod(new(big.Int).Add(r, n), new(big.Int).Lsh(one, 256)), s), malformedBecause("signature")},
		{"too long", append(append([]byte{}, good...), 0), malformedBecause("signature")},
		{"too short", good[:63], malformedBecause("signature")},
		{"leading zero", append([]byte{0}, good...), malformedBecause("signature")},
		{"DER instead of r||s", der, malformedBecause("signature")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), testAccount, input+"."+b64(tc.sig))
			check(t, err, tc.want)
		})
	}
}

// jwks wraps keys (JSON text) in a key set.
func jwks(keys ...string) []byte {
	return []byte(`{"keys":[` + strings.Join(keys, ",") + `]}`)
}

func jwkJSON(t testing.TB, key any, members ...string) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if len(members) > 0 {
		s = s[:len(s)-1] + "," + strings.Join(members, ",") + "}"
	}
	return s
}

// ecJWK writes an EC key with chosen coordinates.
func ecJWK(crv string, x, y []byte, members ...string) string {
	parts := append([]string{`"kty":"EC"`, `"crv":` + quote(crv), `"x":` + quote(b64(x)), `"y":` + quote(b64(y))}, members...)
	return "{" + strings.Join(parts, ",") + "}"
}

func rsaJWK(n *big.Int, e int, members ...string) string {
	parts := append([]string{`"kty":"RSA"`, `"n":` + quote(b64(n.Bytes())), `"e":` + quote(b64(big.NewInt(int64(e)).Bytes()))}, members...)
	return "{" + strings.Join(parts, ",") + "}"
}

type keySetCase struct {
	name  string
	jwks  []byte
	cause string // "" when the set is valid
}

func runKeySetCases(t *testing.T, cases []keySetCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := ValidateKeySet(tc.jwks)
			if tc.cause == "" {
				if err != nil {
					t.Fatalf("ValidateKeySet: %v, want a valid set", err)
				}
				if len(set.Keys) == 0 {
					t.Fatal("ValidateKeySet returned no keys")
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateKeySet accepted the set, want an error mentioning %q", tc.cause)
			}
			if !strings.Contains(err.Error(), tc.cause) {
				t.Fatalf("ValidateKeySet: %v, want it to mention %q", err, tc.cause)
			}
		})
	}
}

// Row 10.
func TestAttackInvalidCurveKeys(t *testing.T) {
	k := testKeys().ec256
	x, y := k.X.FillBytes(make([]byte, 32)), k.Y.FillBytes(make([]byte, 32))
	yBad := append([]byte{}, y...)
	yBad[31] ^= 1
	runKeySetCases(t, []keySetCase{
		{"valid P-256", jwks(ecJWK("P-256", x, y, `"kid":"a"`)), ""},
		{"point off the curve", jwks(ecJWK("P-256", x, yBad)), "not on declared curve"},
		{"point at zero", jwks(ecJWK("P-256", make([]byte, 32), make([]byte, 32))), "not on declared curve"},
		{"P-256 point declared P-384", jwks(ecJWK("P-384", x, y)), "wrong length"},
		{"secp256k1", jwks(ecJWK("secp256k1", x, y)), "unsupported elliptic curve"},
		{"no crv", jwks(`{"kty":"EC","x":` + quote(b64(x)) + `,"y":` + quote(b64(y)) + `}`), "unsupported elliptic curve"},
		{"short x", jwks(ecJWK("P-256", x[1:], y)), "wrong length"},
		{"EC key labeled RSA", jwks(`{"kty":"RSA","crv":"P-256","x":` + quote(b64(x)) + `,"y":` + quote(b64(y)) + `}`), "missing n/e"},
		{"OKP key", jwks(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`), `kty "OKP" is not RSA or EC`},
	})
}

// Row 11.
func TestAttackWeakRSA(t *testing.T) {
	k := testKeys()
	n := k.rsa.N
	evenN := new(big.Int).Add(n, big.NewInt(1))
	big4097 := new(big.Int).Lsh(big.NewInt(1), 4096)
	big4097.Add(big4097, big.NewInt(1))
	runKeySetCases(t, []keySetCase{
		{"2048 bits, e 65537", jwks(rsaJWK(n, 65537)), ""},
		{"e 3", jwks(rsaJWK(n, 3)), ""},
		{"1024 bits", jwks(rsaJWK(k.rsa1024.N, 65537)), "1024 bits, fewer than 2048"},
		{"2047 bits", jwks(rsaJWK(new(big.Int).Rsh(n, 1), 65537)), "fewer than 2048"},
		{"e 1", jwks(rsaJWK(n, 1)), "bad e value"},
		{"e 2", jwks(rsaJWK(n, 2)), "public exponent 2"},
		{"e 65536", jwks(rsaJWK(n, 65536)), "public exponent 65536"},
		{"even modulus", jwks(rsaJWK(evenN, 65537)), "modulus is even"},
		{"4097 bits", jwks(rsaJWK(big4097, 65537)), "modulus too large"},
		{"ROCA", jwks(wycheproofROCAKey(t)), "ROCA"},
	})
}

// wycheproofROCAKey is the public key of Wycheproof's JWK test 7.
func wycheproofROCAKey(t testing.TB) string {
	t.Helper()
	for _, g := range loadWycheproofJWK(t).TestGroups {
		if g.Comment == "jws_rsa_roca_key" {
			return string(g.Public.Keys[0])
		}
	}
	t.Fatal("no ROCA key in the Wycheproof file")
	return ""
}

func TestROCAFingerprint(t *testing.T) {
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON([]byte(wycheproofROCAKey(t))); err != nil {
		t.Fatal(err)
	}
	if !rocaFingerprint(key.Key.(*rsa.PublicKey).N) {
		t.Error("the Wycheproof ROCA key is not detected")
	}
	k := testKeys()
	for _, n := range []*big.Int{k.rsa.N, k.rsa2.N, k.rsa1024.N} {
		if rocaFingerprint(n) {
			t.Errorf("a freshly generated key is flagged as ROCA")
		}
	}
}

// Row 12.
func TestAttackKeySetHygiene(t *testing.T) {
	k := testKeys()
	good := func(members ...string) string { return jwkJSON(t, &k.rsa.PublicKey, members...) }
	ecGood := func(key *ecdsa.PrivateKey, members ...string) string { return jwkJSON(t, &key.PublicKey, members...) }
	priv, err := json.Marshal(jose.JSONWebKey{Key: k.rsa, KeyID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := json.Marshal(jose.JSONWebKey{Key: k.ec256, KeyID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	hundred := make([]string, 100)
	for i := range hundred {
		hundred[i] = good(`"kid":"k` + itoa(int64(i)) + `"`)
	}
	runKeySetCases(t, []keySetCase{
		{"two keys", jwks(good(`"kid":"a"`), ecGood(k.ec256, `"kid":"b"`)), ""},
		{"kid-less key alone", jwks(good()), ""},
		{"duplicate kid", jwks(good(`"kid":"a"`), ecGood(k.ec256, `"kid":"a"`)), `duplicate kid "a"`},
		{"two kid-less keys", jwks(good(), ecGood(k.ec256)), `duplicate kid ""`},
		{"private RSA key", jwks(string(priv)), "private or symmetric key material (d)"},
		{"private EC key", jwks(string(ecPriv)), "private or symmetric key material (d)"},
		{"symmetric key", jwks(`{"kty":"oct","k":"c2VjcmV0","kid":"s"}`), "private or symmetric key material (k)"},
		{"symmetric key without k", jwks(`{"kty":"oct","kid":"s"}`), `kty "oct" is not RSA or EC`},
		{"public and symmetric mixed", jwks(good(`"kid":"a"`), `{"kty":"oct","k":"c2VjcmV0","kid":"s"}`), "keys[1]: private or symmetric"},
		{"only p", jwks(good(`"p":"AQ"`)), "(p)"},
		{"use sig", jwks(good(`"use":"sig"`)), ""},
		{"use enc", jwks(good(`"use":"enc"`)), `use is not "sig"`},
		{"use null", jwks(good(`"use":null`)), `use is not "sig"`},
		{"key_ops verify", jwks(good(`"key_ops":["verify"]`)), ""},
		{"key_ops sign and verify", jwks(good(`"key_ops":["sign","verify"]`)), ""},
		{"key_ops encrypt", jwks(good(`"key_ops":["encrypt"]`)), `key_ops does not list "verify"`},
		{"key_ops empty", jwks(good(`"key_ops":[]`)), `key_ops does not list "verify"`},
		{"key_ops as a string", jwks(good(`"key_ops":"verify"`)), `key_ops does not list "verify"`},
		{"alg RS512", jwks(good(`"alg":"RS512"`)), ""},
		{"alg ES384 on P-384", jwks(ecGood(k.ec384, `"alg":"ES384"`)), ""},
		{"alg ES512 on P-521", jwks(ecGood(k.ec521, `"alg":"ES512"`)), ""},
		{"alg ES256 on an RSA key", jwks(good(`"alg":"ES256"`)), "token alg ES256"},
		{"alg RS256 on an EC key", jwks(ecGood(k.ec256, `"alg":"RS256"`)), "token alg RS256"},
		{"alg ES256 on P-384", jwks(ecGood(k.ec384, `"alg":"ES256"`)), "EC key on P-384, token alg ES256"},
		{"alg ES521", jwks(ecGood(k.ec521, `"alg":"ES521"`)), `alg "ES521" is not allowed`},
		{"alg HS256", jwks(good(`"alg":"HS256"`)), `alg "HS256" is not allowed`},
		{"alg PS256", jwks(good(`"alg":"PS256"`)), `alg "PS256" is not allowed`},
		{"alg none", jwks(good(`"alg":"none"`)), `alg "none" is not allowed`},
		{"kid not a string", jwks(good(`"kid":7`)), "kid must be a string"},
		{"kid too long", jwks(good(`"kid":` + quote(strings.Repeat("k", maxKeyIDLength+1)))), "kid must be a string"},
		{"100 keys", jwks(hundred...), ""},
		{"101 keys", jwks(append(hundred, good(`"kid":"last"`))...), "101 keys, more than 100"},
		{"no keys", jwks(), "no keys"},
		{"keys missing", []byte(`{"other":[]}`), "keys is missing"},
		{"keys not an array", []byte(`{"keys":{}}`), "keys is missing or not an array"},
		{"key not an object", jwks(`"key"`), "not an object"},
		{"not an object", []byte(`[]`), "not an object"},
		{"duplicate keys member", []byte(`{"keys":[],"keys":[` + good() + `]}`), "duplicate member name"},
		{"duplicate member in a key", jwks(good(`"kty":"EC"`)), "duplicate member name"},
		{"case-variant member in a key", jwks(good(`"KTY":"oct"`)), "duplicate member name"},
		{"invalid JSON", []byte(`{"keys":[`), "invalid JSON"},
		{"trailing data", append(jwks(good()), '!'), "trailing data"},
		{"invalid UTF-8", []byte("{\"keys\":[],\"x\":\"\xff\"}"), "UTF-8"},
	})
}

// Row 13.
func TestAttackDuplicateMembers(t *testing.T) {
	k := testKeys()
	base := payload(nil)
	withMember := func(member string) string { return base[:len(base)-1] + "," + member + "}" }
	for _, tc := range []struct {
		name, header, payload string
		want                  want
	}{
		{"alg twice", `{"alg":"RS256","kid":"k1","alg":"none"}`, base, malformedBecause(`header: invalid JSON: duplicate member name "alg"`)},
		{"alg and ALG", `{"alg":"RS256","kid":"k1","ALG":"none"}`, base, malformedBecause("duplicate member name")},
		{"kid twice", `{"alg":"RS256","kid":"k1","kid":"k2"}`, base, malformedBecause("duplicate member name")},
		{"sub twice", header("RS256", "k1"), withMember(`"sub":"system:serviceaccount:kube-system:admin"`), malformedBecause(`claims: invalid JSON: duplicate member name "sub"`)},
		{"sub and SUB", header("RS256", "k1"), withMember(`"SUB":"x"`), malformedBecause("duplicate member name")},
		{"aud and Aud", header("RS256", "k1"), withMember(`"Aud":["evil"]`), malformedBecause("duplicate member name")},
		{"sub escaped", header("RS256", "k1"), withMember(`"s\u0075b":"x"`), malformedBecause(`duplicate member name "sub"`)},
		{"iss escaped in header-like claim", header("RS256", "k1"), withMember(`"\u0069ss":"https://evil"`), malformedBecause(`duplicate member name "iss"`)},
		{"nested duplicate", header("RS256", "k1"), withMember(`"kubernetes.io":{"namespace":"a","namespace":"kube-system"}`), malformedBecause(`duplicate member name "namespace"`)},
		{"duplicate deep in an ignored claim", header("RS256", "k1"), withMember(`"x":[{"a":1,"a":2}]`), malformedBecause("duplicate member name")},
		{"only SUB", header("RS256", "k1"), payload(map[string]string{"SUB": `"x"`}, "sub"), want{code: awserr.InvalidIdentityToken, msg: "Missing a required claim: sub"}},
		{"only Aud", header("RS256", "k1"), payload(map[string]string{"Aud": `["sts.amazonaws.com"]`}, "aud"), want{code: awserr.InvalidIdentityToken, msg: "Missing a required claim: aud"}},
		{"same value twice is still a duplicate", header("RS256", "k1"), withMember(`"iss":` + quote(testIssuer)), malformedBecause("duplicate member name")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := fixture(t)
			_, err := v.Verify(context.Background(), testAccount, signRaw(t, k.rsa, "RS256", tc.header, tc.payload))
			check(t, err, tc.want)
		})
	}
}

// Row 14.
func TestAttackOversizedToken(t *testing.T) {
	tooLong := want{code: awserr.ValidationError, msg: "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000"}
	good := goodToken(t)
	h, p, s := segments(good)
	for _, tc := range []struct {
		name, token string
		want        want
	}{
		{"1 MB of dots", strings.Repeat(".", 1<<20), tooLong},
		{"1 MB of a.", strings.Repeat("a.", 1<<19), tooLong},
		{"1 MB header", b64([]byte(strings.Repeat(" ", 1<<20))) + "." + p + "." + s, tooLong},
		{"20000 characters of dots", strings.Repeat(".", 20000), malformedBecause("three dot-separated parts")},
		{"huge payload within the limit", h + "." + strings.Repeat("A", 19000) + "." + s, malformedBecause("claims: JSON value is not an object")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, keys := fixture(t)
			start := time.Now()
			_, err := v.Verify(context.Background(), testAccount, tc.token)
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("answered in %v, want it fast", d)
			}
			check(t, err, tc.want)
			if len(keys.Calls()) != 0 {
				t.Error("key source asked for an oversized token")
			}
		})
	}
}

// Row 15.
func TestAttackNestedJWEAndJSONSerialization(t *testing.T) {
	good := goodToken(t)
	h, p, s := segments(good)
	flattened, _ := json.Marshal(map[string]string{"protected": h, "payload": p, "signature": s})
	general, _ := json.Marshal(map[string]any{"payload": p, "signatures": []map[string]string{{"protected": h, "signature": s}}})
	for _, tc := range []struct {
		name, token string
		want        want
	}{
		{"JWE compact", b64([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".a.b.c.d", malformedBecause("three dot-separated parts")},
		{"JWS JSON flattened", string(flattened), malformedBecause("")},
		{"JWS JSON general", string(general), malformedBecause("")},
		{"nested JWT (cty JWT)", signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1", `"cty":"JWT"`), payload(nil)), malformedBecause("cty is not accepted")},
		{"enc in a JWS header", signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1", `"enc":"A256GCM"`), payload(nil)), malformedBecause("enc is not accepted")},
		{"zip", signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1", `"zip":"DEF"`), payload(nil)), malformedBecause("zip is not accepted")},
		{"a token as the payload", signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), good), malformedBecause("claims:")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLookup(t, tc.token, tc.want)
		})
	}
}

// withUnusedBits returns seg with its unused low bits set (non-canonical
// base64 of the same bytes).
func withUnusedBits(t testing.TB, seg string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var mask int
	switch len(seg) % 4 {
	case 2:
		mask = 0x0f
	case 3:
		mask = 0x03
	default:
		t.Fatalf("segment of length %d has no unused bits", len(seg))
	}
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last|mask])
}

// Row 16.
func TestAttackBase64Quirks(t *testing.T) {
	k := testKeys()
	// Pick claims whose encodings have unused bits in each segment.
	var token string
	for i := 0; ; i++ {
		token = signRaw(t, k.rsa, "RS256", header("RS256", "k1", `"pad":"`+strings.Repeat("x", i%3)+`"`), payload(map[string]string{"pad": quote(strings.Repeat("y", i/3))}))
		h, p, s := segments(token)
		if len(h)%4 > 1 && len(p)%4 > 1 && len(s)%4 > 1 {
			break
		}
	}
	h, p, s := segments(token)
	verifyNoLookup := func(t *testing.T, token string, w want) {
		t.Helper()
		v, _ := fixture(t)
		_, err := v.Verify(context.Background(), testAccount, token)
		check(t, err, w)
	}
	t.Run("canonical", func(t *testing.T) { verifyNoLookup(t, token, accept) })
	for _, tc := range []struct {
		name, token, cause string
	}{
		{"padding on header", h + "==." + p + "." + s, "not base64url"},
		{"padding on payload", h + "." + p + "==." + s, "not base64url"},
		{"padding on signature", h + "." + p + "." + s + "==", "not base64url"},
		{"standard alphabet +", h + "." + p + "." + s[:10] + "+" + s[11:], "not base64url"},
		{"standard alphabet /", h + "." + p + "." + s[:10] + "/" + s[11:], "not base64url"},
		{"space in header", h[:5] + " " + h[5:] + "." + p + "." + s, "not base64url"},
		{"newline in payload", h + "." + p[:5] + "\n" + p[5:] + "." + s, "not base64url"},
		{"CR in signature", h + "." + p + "." + s[:5] + "\r" + s[5:], "not base64url"},
		{"tab in signature", h + "." + p + "." + s[:5] + "\t" + s[5:], "not base64url"},
		{"unused bits in header", withUnusedBits(t, h) + "." + p + "." + s, "header: illegal base64"},
		{"unused bits in payload", h + "." + withUnusedBits(t, p) + "." + s, "payload: illegal base64"},
		{"unused bits in signature", h + "." + p + "." + withUnusedBits(t, s), "signature: illegal base64"},
		{"impossible length", h + "." + p + "." + s + strings.Repeat("A", (5-len(s)%4)%4), "signature: illegal base64"},
		{"invalid character", h + "." + p + "." + s[:10] + "?" + s[11:], "not base64url"},
		{"non-ASCII", h + "." + p + "." + s[:10] + "é" + s[11:], "not base64url"},
	} {
		t.Run(tc.name, func(t *testing.T) { verifyNoLookup(t, tc.token, malformedBecause(tc.cause)) })
	}
}

// Row 17.
func TestAttackTimeClaims(t *testing.T) {
	now := testNow.Unix()
	skew := int64(DefaultSkew / time.Second)
	expiredAt := func(exp int64) want {
		return want{code: awserr.ExpiredTokenException, msg: "Token expired: current date/time " + itoa(now) + " must be before the expiration date/time" + itoa(exp)}
	}
	notYet := func(claim string, at int64) want {
		return want{code: awserr.InvalidIdentityToken, msg: "Token not yet valid: current date/time " + itoa(now) + " must be after the " + claim + " date/time " + itoa(at)}
	}
	badDate := func(name string) want { return malformedBecause(name + " is not an integer NumericDate") }
	for _, tc := range []struct {
		name   string
		claims map[string]string
		drop   []string
		want   want
	}{
		{"exp in an hour", nil, nil, accept},
		{"exp now", map[string]string{"exp": itoa(now)}, nil, accept},
		{"exp at the end of the skew", map[string]string{"exp": itoa(now - skew)}, []string{"iat", "nbf"}, accept},
		{"exp a second past the skew", map[string]string{"exp": itoa(now - skew - 1)}, []string{"iat", "nbf"}, expiredAt(now - skew - 1)},
		{"exp zero", map[string]string{"exp": "0"}, []string{"iat", "nbf"}, expiredAt(0)},
		{"exp missing", nil, []string{"exp"}, want{code: awserr.InvalidIdentityToken, msg: "Missing a required claim: exp"}},
		{"exp as a string", map[string]string{"exp": `"` + itoa(now+60) + `"`}, nil, badDate("exp")},
		{"exp with a fraction", map[string]string{"exp": itoa(now+60) + ".5"}, nil, badDate("exp")},
		{"exp as .0", map[string]string{"exp": itoa(now+60) + ".0"}, nil, badDate("exp")},
		{"exp with an exponent", map[string]string{"exp": "1.9e9"}, nil, badDate("exp")},
		{"exp 1e300", map[string]string{"exp": "1e300"}, nil, badDate("exp")},
		{"exp negative", map[string]string{"exp": "-1"}, nil, badDate("exp")},
		{"exp huge", map[string]string{"exp": "99999999999999999999"}, nil, badDate("exp")},
		{"exp year 9999", map[string]string{"exp": "253402300799"}, nil, accept},
		{"exp year 10000", map[string]string{"exp": "253402300800"}, nil, badDate("exp")},
		{"exp null", map[string]string{"exp": "null"}, nil, badDate("exp")},
		{"exp true", map[string]string{"exp": "true"}, nil, badDate("exp")},
		{"nbf missing", nil, []string{"nbf"}, accept},
		{"nbf at the end of the skew", map[string]string{"nbf": itoa(now + skew)}, nil, accept},
		{"nbf a second past the skew", map[string]string{"nbf": itoa(now + skew + 1)}, nil, notYet("not-before", now+skew+1)},
		{"nbf as a string", map[string]string{"nbf": `"1"`}, nil, badDate("nbf")},
		{"iat missing", nil, []string{"iat"}, accept},
		{"iat at the end of the skew", map[string]string{"iat": itoa(now + skew)}, nil, accept},
		{"iat a second past the skew", map[string]string{"iat": itoa(now + skew + 1)}, nil, notYet("issued-at", now+skew+1)},
		{"iat negative", map[string]string{"iat": "-5"}, nil, badDate("iat")},
		{"iat after exp", map[string]string{"iat": itoa(now + 120), "exp": itoa(now + 60)}, nil, malformedBecause("iat")},
		{"nbf after exp", map[string]string{"nbf": itoa(now + 120), "exp": itoa(now + 60)}, nil, malformedBecause("nbf")},
		{"long lifetime", map[string]string{"iat": itoa(now - 86400*365), "exp": itoa(now + 86400*365)}, nil, accept},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := fixture(t)
			token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(tc.claims, tc.drop...))
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, tc.want)
		})
	}
	t.Run("custom skew", func(t *testing.T) {
		v, _ := fixture(t)
		v.Skew = time.Minute
		token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(map[string]string{"exp": itoa(now - 61)}))
		_, err := v.Verify(context.Background(), testAccount, token)
		check(t, err, expiredAt(now-61))
	})
}

// Row 18.
func TestAttackAudienceForms(t *testing.T) {
	incorrect := want{code: awserr.InvalidIdentityToken, msg: MsgIncorrectAudience}
	for _, tc := range []struct {
		name, aud string
		drop      bool
		matched   string
		want      want
	}{
		{"string", `"sts.amazonaws.com"`, false, "sts.amazonaws.com", accept},
		{"array of one", `["sts.amazonaws.com"]`, false, "sts.amazonaws.com", accept},
		{"apiserver and sts", `["https://kubernetes.default.svc","sts.amazonaws.com"]`, false, "sts.amazonaws.com", accept},
		{"first client ID wins", `["sts.amazonaws.com","other-client"]`, false, "sts.amazonaws.com", accept},
		{"other client ID", `"other-client"`, false, "other-client", accept},
		{"empty array", `[]`, false, "", incorrect},
		{"empty string", `""`, false, "", incorrect},
		{"wrong audience", `["https://kubernetes.default.svc"]`, false, "", incorrect},
		{"case differs", `"STS.amazonaws.com"`, false, "", incorrect},
		{"trailing space", `"sts.amazonaws.com "`, false, "", incorrect},
		{"missing", ``, true, "", want{code: awserr.InvalidIdentityToken, msg: "Missing a required claim: aud"}},
		{"null", `null`, false, "", malformedBecause("aud is not a string or an array of strings")},
		{"number", `1`, false, "", malformedBecause("aud is not a string or an array of strings")},
		{"object", `{"aud":"sts.amazonaws.com"}`, false, "", malformedBecause("aud is not a string or an array of strings")},
		{"array with a number", `["sts.amazonaws.com",1]`, false, "", malformedBecause("aud is not a string or an array of strings")},
		{"array with null", `[null,"sts.amazonaws.com"]`, false, "", malformedBecause("aud is not a string or an array of strings")},
		{"nested array", `[["sts.amazonaws.com"]]`, false, "", malformedBecause("aud is not a string or an array of strings")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := fixture(t)
			var token string
			if tc.drop {
				token = signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(nil, "aud"))
			} else {
				token = signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(map[string]string{"aud": tc.aud}))
			}
			id, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, tc.want)
			if err == nil && id.MatchedAudience != tc.matched {
				t.Errorf("MatchedAudience %q, want %q", id.MatchedAudience, tc.matched)
			}
		})
	}
}

// Row 19.
func TestAttackIssuerConfusion(t *testing.T) {
	noProviderFor := func(iss string) want {
		return want{code: awserr.InvalidIdentityToken, msg: "No OpenIDConnect provider found in your account for " + iss}
	}
	for _, tc := range []struct {
		name, iss string
		want      want
	}{
		{"exact", testIssuer, accept},
		{"trailing slash", testIssuer + "/", noProviderFor(testIssuer + "/")},
		{"upper-case host", "https://OIDC.example.com/id/ABCDEF", noProviderFor("https://OIDC.example.com/id/ABCDEF")},
		{"lower-case path", "https://oidc.example.com/id/abcdef", noProviderFor("https://oidc.example.com/id/abcdef")},
		{"http", "http://oidc.example.com/id/ABCDEF", noProviderFor("http://oidc.example.com/id/ABCDEF")},
		{"port 443", "https://oidc.example.com:443/id/ABCDEF", noProviderFor("https://oidc.example.com:443/id/ABCDEF")},
		{"no scheme", "oidc.example.com/id/ABCDEF", noProviderFor("oidc.example.com/id/ABCDEF")},
		{"prefix of the URL", "https://oidc.example.com/id", noProviderFor("https://oidc.example.com/id")},
		{"longer path", testIssuer + "/x", noProviderFor(testIssuer + "/x")},
		{"query", testIssuer + "?a=b", noProviderFor(testIssuer + "?a=b")},
		{"empty", "", noProviderFor("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, keys := fixture(t)
			token := signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(map[string]string{"iss": quote(tc.iss)}))
			_, err := v.Verify(context.Background(), testAccount, token)
			check(t, err, tc.want)
			if tc.want.code != "" && len(keys.Calls()) != 0 {
				t.Error("keys looked up for an unknown issuer")
			}
		})
	}
	t.Run("provider of another account", func(t *testing.T) {
		v, _ := fixture(t)
		_, err := v.Verify(context.Background(), "444455556666", goodToken(t))
		check(t, err, noProviderFor(testIssuer))
	})
	t.Run("iss missing", func(t *testing.T) {
		v, _ := fixture(t)
		_, err := v.Verify(context.Background(), testAccount, signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(nil, "iss")))
		check(t, err, want{code: awserr.InvalidIdentityToken, msg: "Missing a required claim: iss"})
	})
	t.Run("iss not a string", func(t *testing.T) {
		v, _ := fixture(t)
		_, err := v.Verify(context.Background(), testAccount, signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(map[string]string{"iss": `["` + testIssuer + `"]`})))
		check(t, err, malformedBecause("iss is not a string"))
	})
}

// Row 20.
func TestAttackExpiredAndBadSignature(t *testing.T) {
	k := testKeys()
	expiredClaims := payload(map[string]string{"exp": itoa(testNow.Add(-time.Hour).Unix()), "iat": itoa(testNow.Add(-2 * time.Hour).Unix()), "nbf": itoa(testNow.Add(-2 * time.Hour).Unix())})
	for _, tc := range []struct {
		name, token string
		want        want
	}{
		{"expired, good signature", signRaw(t, k.rsa, "RS256", header("RS256", "k1"), expiredClaims),
			want{code: awserr.ExpiredTokenException, msg: "Token expired: current date/time " + itoa(testNow.Unix()) + " must be before the expiration date/time" + itoa(testNow.Add(-time.Hour).Unix())}},
		{"expired, signed by another key", signRaw(t, k.rsa2, "RS256", header("RS256", "k1"), expiredClaims), malformedBecause("signature")},
		{"expired, unknown kid", signRaw(t, k.rsa, "RS256", header("RS256", "nope"), expiredClaims), keyUnavailable},
		{"expired, no exp and bad signature", signRaw(t, k.rsa2, "RS256", header("RS256", "k1"), payload(nil, "exp")), malformedBecause("signature")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := fixture(t)
			_, err := v.Verify(context.Background(), testAccount, tc.token)
			check(t, err, tc.want)
		})
	}
	t.Run("expired with a wrong audience", func(t *testing.T) {
		v, _ := fixture(t)
		claims := payload(map[string]string{"exp": itoa(testNow.Add(-time.Hour).Unix()), "aud": `"nope"`}, "iat", "nbf")
		_, err := v.Verify(context.Background(), testAccount, signRaw(t, k.rsa, "RS256", header("RS256", "k1"), claims))
		check(t, err, want{code: awserr.InvalidIdentityToken, msg: MsgIncorrectAudience})
	})
}

// Row 21.
func TestAttackPSSSaltLength(t *testing.T) {
	k := testKeys()
	input := b64([]byte(header("PS256", "k1"))) + "." + b64([]byte(payload(nil)))
	for _, salt := range []int{0, 20, 32} {
		t.Run("salt "+itoa(int64(salt)), func(t *testing.T) {
			d := sha256.Sum256([]byte(input))
			sig, err := rsa.SignPSS(rand.Reader, k.rsa, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: salt})
			if err != nil {
				t.Fatal(err)
			}
			verifyNoLookup(t, input+"."+b64(sig), malformedBecause(`alg "PS256" is not allowed`))
		})
	}
}

// Row 22.
func TestAttackTokenMalleability(t *testing.T) {
	k := testKeys()
	v, _ := fixture(t)
	// Claims whose encoding has unused bits, to spell them otherwise below.
	var input string
	for pad := ""; ; pad += "x" {
		input = b64([]byte(header("ES256", "e256"))) + "." + b64([]byte(payload(map[string]string{"pad": quote(pad)})))
		if len(input[strings.IndexByte(input, '.')+1:])%4 > 1 {
			break
		}
	}
	sig := signature(t, k.ec256, "ES256", input)
	n := elliptic.P256().Params().N
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	mirrored := p1363(elliptic.P256(), r, new(big.Int).Sub(n, s)) // (r, n-s) verifies too
	a, err := v.Verify(context.Background(), testAccount, input+"."+b64(sig))
	check(t, err, accept)
	b, err := v.Verify(context.Background(), testAccount, input+"."+b64(mirrored))
	check(t, err, accept)
	if a.TokenID != b.TokenID {
		t.Errorf("two signatures of the same content have TokenIDs %s and %s; want one", a.TokenID, b.TokenID)
	}
	resigned, err := v.Verify(context.Background(), testAccount, input+"."+b64(signature(t, k.ec256, "ES256", input)))
	check(t, err, accept)
	if resigned.TokenID != a.TokenID {
		t.Error("a fresh signature of the same content changed TokenID")
	}

	// Other spellings of the same content are refused, so they cannot
	// produce a second ID.
	h, p, sg := segments(input + "." + b64(sig))
	for _, spelling := range []string{h + "=." + p + "." + sg, h + "." + p + "=." + sg, h + "." + withUnusedBits(t, p) + "." + sg, " " + h + "." + p + "." + sg + " \n"} {
		_, err := v.Verify(context.Background(), testAccount, spelling)
		if strings.TrimSpace(spelling) == h+"."+p+"."+sg {
			check(t, err, accept) // surrounding whitespace is trimmed, same ID
			continue
		}
		check(t, err, malformedBecause("base64"))
	}

	// Different JSON spellings are different signed content (an issuer
	// signed each), and get different IDs.
	spaced := strings.ReplaceAll(payload(nil), ",", ", ")
	c, err := v.Verify(context.Background(), testAccount, signRaw(t, k.ec256, "ES256", header("ES256", "e256"), spaced))
	check(t, err, accept)
	if c.TokenID == a.TokenID {
		t.Error("differently spelled claims share a TokenID")
	}
	if a.TokenID != tokenID(input) || len(a.TokenID) != 64 {
		t.Errorf("TokenID %s is not the hex SHA-256 of header.payload", a.TokenID)
	}
}

func TestNoEcho(t *testing.T) {
	// Errors never contain the token; a token with a secret-looking
	// payload must not show up in the message or the cause.
	v, _ := fixture(t)
	secret := "TOPSECRETVALUE"
	for _, token := range []string{
		signRaw(t, testKeys().rsa2, "RS256", header("RS256", "k1"), payload(map[string]string{"x": quote(secret)})),
		b64([]byte(secret)) + "." + b64([]byte(secret)) + "." + b64([]byte(secret)),
		secret + "." + secret + "." + secret,
	} {
		_, err := v.Verify(context.Background(), testAccount, token)
		var e *awserr.Error
		if err == nil {
			t.Fatal("accepted")
		}
		e = awserr.As(err)
		text := e.Message
		if e.Cause != nil {
			text += e.Cause.Error()
		}
		if strings.Contains(text, secret) || strings.Contains(text, b64([]byte(secret))) || strings.Contains(text, token) {
			t.Errorf("error %q / %v echoes the token", e.Message, e.Cause)
		}
	}
}

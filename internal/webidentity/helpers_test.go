package webidentity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
)

// The test world: one account with one provider whose keys are the test
// keys below, and a fixed clock.
const (
	testAccount  = "111122223333"
	testIssuer   = "https://oidc.example.com/id/ABCDEF"
	testClientID = "sts.amazonaws.com"
)

var (
	testNow      = time.Unix(1_800_000_000, 0)
	testProvider = store.OIDCProvider{
		AccountID: testAccount,
		ARN:       "arn:aws:iam::" + testAccount + ":oidc-provider/oidc.example.com/id/ABCDEF",
		URL:       testIssuer,
		ClientIDs: []string{"other-client", testClientID},
	}
)

// Keys are generated once per test binary: RSA generation is slow.
var testKeys = sync.OnceValue(func() (k struct {
	rsa, rsa2 *rsa.PrivateKey
	rsa1024   *rsa.PrivateKey
	ec256     *ecdsa.PrivateKey
	ec384     *ecdsa.PrivateKey
	ec521     *ecdsa.PrivateKey
}) {
	var err error
	must := func(e error) {
		if e != nil {
			panic(e)
		}
	}
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.ec521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	return k
})

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signRaw signs header.payload (given as JSON text) with alg, whatever the
// header says: tests craft headers the verifier must refuse.
func signRaw(t testing.TB, key any, alg, header, payload string) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64([]byte(payload))
	return input + "." + b64(signature(t, key, alg, input))
}

func signature(t testing.TB, key any, alg, input string) []byte {
	t.Helper()
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	default:
		t.Fatalf("no hash for %s", alg)
	}
	digest := func() []byte {
		hh := h.New()
		hh.Write([]byte(input))
		return hh.Sum(nil)
	}
	switch {
	case strings.HasPrefix(alg, "RS"):
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), h, digest())
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case strings.HasPrefix(alg, "PS"):
		sig, err := rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), h, digest(), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case strings.HasPrefix(alg, "ES"):
		k := key.(*ecdsa.PrivateKey)
		r, s, err := ecdsa.Sign(rand.Reader, k, digest())
		if err != nil {
			t.Fatal(err)
		}
		return p1363(k.Curve, r, s)
	case strings.HasPrefix(alg, "HS"):
		var nh func() hash.Hash
		switch h {
		case crypto.SHA256:
			nh = sha256.New
		case crypto.SHA384:
			nh = sha512.New384
		default:
			nh = sha512.New
		}
		m := hmac.New(nh, key.([]byte))
		m.Write([]byte(input))
		return m.Sum(nil)
	}
	t.Fatalf("cannot sign %s", alg)
	return nil
}

// p1363 is JOSE's ECDSA signature format: r and s, each as wide as the
// curve order.
func p1363(c elliptic.Curve, r, s *big.Int) []byte {
	n := (c.Params().BitSize + 7) / 8
	out := make([]byte, 2*n)
	r.FillBytes(out[:n])
	s.FillBytes(out[n:])
	return out
}

// header builds a header with kid "k1" (unless kid is "") and extra
// members given as raw JSON text.
func header(alg, kid string, extra ...string) string {
	parts := []string{`"alg":` + quote(alg)}
	if kid != "" {
		parts = append(parts, `"kid":`+quote(kid))
	}
	parts = append(parts, extra...)
	return "{" + strings.Join(parts, ",") + "}"
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func goodClaims() map[string]string {
	return map[string]string{
		"iss": quote(testIssuer),
		"sub": quote("system:serviceaccount:prod:app"),
		"aud": `["` + testClientID + `"]`,
		"exp": itoa(testNow.Add(time.Hour).Unix()),
		"iat": itoa(testNow.Add(-time.Minute).Unix()),
		"nbf": itoa(testNow.Add(-time.Minute).Unix()),
	}
}

func itoa(n int64) string { return big.NewInt(n).String() }

// payload renders claims in sorted order.
func payload(set map[string]string, drop ...string) string {
	m := goodClaims()
	for k, v := range set {
		m[k] = v
	}
	for _, k := range drop {
		delete(m, k)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, quote(k)+":"+m[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// goodToken is a valid RS256 token at testNow signed with the "k1" key.
func goodToken(t testing.TB) string {
	return signRaw(t, testKeys().rsa, "RS256", header("RS256", "k1"), payload(nil))
}

type fakeProviders map[string][]store.OIDCProvider

func (f fakeProviders) ListOIDCProviders(_ context.Context, account string) ([]store.OIDCProvider, error) {
	if ps, ok := f[account]; ok {
		return ps, nil
	}
	if account == "broken" {
		return nil, errors.New("database is down")
	}
	return nil, nil
}

// fakeKeys is a KeySource over a fixed map; kid "" picks the only key.
type fakeKeys struct {
	mu    sync.Mutex
	keys  map[string]*jose.JSONWebKey
	err   error
	calls []string
}

func (f *fakeKeys) Key(_ context.Context, p *store.OIDCProvider, kid string) (*jose.JSONWebKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, kid)
	if f.err != nil {
		return nil, f.err
	}
	if p.URL != testIssuer && p.URL != seedIssuer {
		return nil, awserr.New(awserr.InvalidIdentityToken, MsgKeyUnavailable)
	}
	if kid == "" && len(f.keys) == 1 {
		for _, k := range f.keys {
			return k, nil
		}
	}
	k, ok := f.keys[kid]
	if !ok {
		return nil, awserr.New(awserr.InvalidIdentityToken, MsgKeyUnavailable)
	}
	return k, nil
}

func (f *fakeKeys) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// fixture is a verifier whose provider has keys k1 (RSA), k2 (second RSA),
// e256, e384, e521 (ECDSA), all public.
func fixture(t testing.TB) (*Verifier, *fakeKeys) {
	t.Helper()
	k := testKeys()
	keys := &fakeKeys{keys: map[string]*jose.JSONWebKey{
		"k1":   {Key: &k.rsa.PublicKey, KeyID: "k1", Use: "sig"},
		"k2":   {Key: &k.rsa2.PublicKey, KeyID: "k2", Algorithm: "RS256"},
		"e256": {Key: &k.ec256.PublicKey, KeyID: "e256", Algorithm: "ES256"},
		"e384": {Key: &k.ec384.PublicKey, KeyID: "e384"},
		"e521": {Key: &k.ec521.PublicKey, KeyID: "e521"},
		"weak": {Key: &k.rsa1024.PublicKey, KeyID: "weak"},
		"priv": {Key: k.rsa, KeyID: "priv"},
	}}
	v := &Verifier{
		Providers: fakeProviders{testAccount: {testProvider}},
		Keys:      keys,
		Now:       func() time.Time { return testNow },
	}
	return v, keys
}

// want describes an expected outcome of Verify: ok, or an error with code,
// message and (for malformed tokens) a substring of the logged cause.
type want struct {
	code, msg, cause string
}

var accept = want{}

func malformedBecause(cause string) want {
	return want{code: awserr.InvalidIdentityToken, msg: MsgMalformed, cause: cause}
}

var keyUnavailable = want{code: awserr.InvalidIdentityToken, msg: MsgKeyUnavailable}

func check(t testing.TB, err error, w want) {
	t.Helper()
	if w.code == "" {
		if err != nil {
			t.Fatalf("Verify: %v (cause %v), want success", err, errors.Unwrap(err))
		}
		return
	}
	if err == nil {
		t.Fatalf("Verify succeeded, want %s %q", w.code, w.msg)
	}
	var e *awserr.Error
	if !errors.As(err, &e) {
		t.Fatalf("Verify error %T %v is not an *awserr.Error", err, err)
	}
	if e.Code != w.code || e.Message != w.msg {
		t.Fatalf("Verify error\n got %s %q (cause %v)\nwant %s %q", e.Code, e.Message, e.Cause, w.code, w.msg)
	}
	if w.cause != "" && (e.Cause == nil || !strings.Contains(e.Cause.Error(), w.cause)) {
		t.Fatalf("Verify error %s: cause %v, want it to mention %q", e.Code, e.Cause, w.cause)
	}
}

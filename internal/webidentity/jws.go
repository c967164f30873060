package webidentity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// Algorithms returns the signature algorithm allowlist: RS256, RS384,
// RS512, ES256, ES384 and ES512.
func Algorithms() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}
}

// allowed reports whether alg is in the allowlist (exact spelling).
func allowed(alg string) bool {
	switch jose.SignatureAlgorithm(alg) {
	case jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512:
		return true
	}
	return false
}

// maxKeyIDLength bounds kid in headers and key sets. kid is an opaque map
// key; real ones are under 100 characters.
const maxKeyIDLength = 1024

// forbiddenHeaders are header parameters whose presence refuses a token:
// keys and certificates named by the token itself (the key comes only from
// the provider's JWKS), extensions (crit, b64), JWE parameters and content
// types (nested tokens).
var forbiddenHeaders = []string{"jku", "x5u", "jwk", "x5c", "crit", "b64", "enc", "zip", "cty"}

// jws is a compact JWS that passed the structural and header checks; its
// signature is not verified yet.
type jws struct {
	token        string // the compact serialization, exactly as received (trimmed)
	signingInput string // header.payload, the raw ASCII the signature covers
	alg          string
	kid          string
	hasKid       bool
	payload      []byte
	signature    []byte
}

// strictB64 decodes canonical unpadded base64url: only the 64 URL-safe
// characters, no padding, no whitespace (the standard decoder skips CR and
// LF), and zero unused bits (Strict).
var strictB64 = base64.RawURLEncoding.Strict()

func decodeSegment(seg, name string) ([]byte, *awserr.Error) {
	for i := 0; i < len(seg); i++ {
		b := seg[i]
		if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return nil, malformed("%s: character %q at offset %d is not base64url", name, b, i)
		}
	}
	out, err := strictB64.DecodeString(seg)
	if err != nil {
		return nil, malformed("%s: %v", name, err)
	}
	return out, nil
}

// parseJWS checks the structure and the protected header of a compact JWS.
// The payload is decoded but not interpreted (the JWS layer does not care
// whether it is JSON).
func parseJWS(token string) (*jws, *awserr.Error) {
	if strings.Count(token, ".") != 2 {
		return nil, malformed("a compact JWS has three dot-separated parts (a JWE has five; JSON serialization is not accepted)")
	}
	h, rest, _ := strings.Cut(token, ".")
	p, s, _ := strings.Cut(rest, ".")
	if h == "" {
		return nil, malformed("empty header")
	}
	if s == "" {
		return nil, malformed("empty signature")
	}
	header, e := decodeSegment(h, "header")
	if e != nil {
		return nil, e
	}
	payload, e := decodeSegment(p, "payload")
	if e != nil {
		return nil, e
	}
	sig, e := decodeSegment(s, "signature")
	if e != nil {
		return nil, e
	}
	fields, err := members(header)
	if err != nil {
		return nil, malformed("header: %v", err)
	}
	out := &jws{token: token, signingInput: token[:len(h)+1+len(p)], payload: payload, signature: sig}
	rawAlg, ok := fields["alg"]
	if !ok {
		return nil, malformed("header: no alg")
	}
	if out.alg, ok = jsonString(rawAlg); !ok {
		return nil, malformed("header: alg is not a string")
	}
	if !allowed(out.alg) {
		return nil, malformed("header: alg %q is not allowed", truncate(out.alg, 32))
	}
	for _, name := range forbiddenHeaders {
		if _, ok := fields[name]; ok {
			return nil, malformed("header: %s is not accepted", name)
		}
	}
	if raw, ok := fields["typ"]; ok {
		typ, ok := jsonString(raw)
		if !ok || !(strings.EqualFold(typ, "JWT") || strings.EqualFold(typ, "application/jwt")) {
			return nil, malformed("header: typ must be JWT")
		}
	}
	if raw, ok := fields["kid"]; ok {
		kid, ok := jsonString(raw)
		if !ok || kid == "" || len(kid) > maxKeyIDLength {
			return nil, malformed("header: kid must be a string of 1 to %d characters", maxKeyIDLength)
		}
		out.kid, out.hasKid = kid, true
	}
	return out, nil
}

// verify checks the signature with key, which must be a public key fitting
// the token's algorithm (RSA of at least 2048 bits for RS*, ECDSA on the
// matching curve for ES*) whose own alg and use, when set, agree.
func (t *jws) verify(key *jose.JSONWebKey) *awserr.Error {
	if key == nil {
		return badSignature(errors.New("no key"))
	}
	if err := keyFits(key, t.alg); err != nil {
		return badSignature(err)
	}
	// go-jose re-encodes what it decoded; the segments were checked to be
	// canonical, so it verifies exactly the bytes received.
	obj, err := jose.ParseSignedCompact(t.token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(t.alg)})
	if err != nil {
		return malformed("go-jose: %v", err)
	}
	if _, err := obj.Verify(key); err != nil {
		return badSignature(err)
	}
	return nil
}

// keyFits checks that key can verify alg.
func keyFits(key *jose.JSONWebKey, alg string) error {
	if key.Algorithm != "" && key.Algorithm != alg {
		return fmt.Errorf("%w: key alg %s, token alg %s", errKeyType, key.Algorithm, alg)
	}
	if key.Use != "" && key.Use != "sig" {
		return fmt.Errorf("%w: key use %q", errKeyType, key.Use)
	}
	switch k := key.Key.(type) {
	case *rsa.PublicKey:
		if !strings.HasPrefix(alg, "RS") {
			return fmt.Errorf("%w: RSA key, token alg %s", errKeyType, alg)
		}
		return checkRSA(k, false)
	case *ecdsa.PublicKey:
		want := curveFor(alg)
		if want == nil || k.Curve != want {
			return fmt.Errorf("%w: EC key on %s, token alg %s", errKeyType, k.Curve.Params().Name, alg)
		}
		return nil
	default:
		return fmt.Errorf("%w: key of type %T (only RSA and ECDSA public keys verify)", errKeyType, key.Key)
	}
}

// curveFor is the curve an ES* algorithm signs on.
func curveFor(alg string) elliptic.Curve {
	switch jose.SignatureAlgorithm(alg) {
	case jose.ES256:
		return elliptic.P256()
	case jose.ES384:
		return elliptic.P384()
	case jose.ES512:
		return elliptic.P521()
	}
	return nil
}

// claims checks the payload as a JSON object and returns its members.
func (t *jws) claims() (map[string]json.RawMessage, *awserr.Error) {
	m, err := members(t.payload)
	if err != nil {
		return nil, malformed("claims: %v", err)
	}
	return m, nil
}

package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// MaxTokenLength bounds the token a request may carry, as irsa's STS does.
const MaxTokenLength = 20000

// TokenSkew is the clock skew allowed for a token's nbf and iat: the token is
// minted by the API server, whose clock may run ahead of the node's. exp is
// checked without skew, as the EKS agent does.
const TokenSkew = time.Minute

// Token is what the agent reads from a service-account token without
// verifying it: EKS Auth verifies the signature. It is used to reject
// requests that cannot succeed before they reach the server, to stop
// renewals once the token has expired, and for log context.
type Token struct {
	Expiry, NotBefore, IssuedAt time.Time // zero when the claim is absent
	Namespace, ServiceAccount   string
	PodName, PodUID             string
}

// errToken is the cause of a token that is rejected locally.
var errToken = errors.New("invalid service account token")

// ParseToken reads the claims of a compact JWS without verifying its
// signature. The token must have three base64url segments (padding allowed,
// as EKS Auth's pattern does), a JSON object header with an alg, and a JSON
// object payload with a numeric exp.
func ParseToken(raw string) (*Token, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: empty", errToken)
	}
	if len(raw) > MaxTokenLength {
		return nil, fmt.Errorf("%w: longer than %d characters", errToken, MaxTokenLength)
	}
	header, rest, ok1 := strings.Cut(raw, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return nil, fmt.Errorf("%w: not a compact JWS of three segments", errToken)
	}
	for _, seg := range []string{header, payload, sig} {
		if !isSegment(seg) {
			return nil, fmt.Errorf("%w: segments must be non-empty base64url", errToken)
		}
	}
	hb, err := decodeSegment(header)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", errToken, err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := strictObject(hb, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errToken, err)
	}
	if h.Alg == "" || strings.EqualFold(h.Alg, "none") {
		return nil, fmt.Errorf("%w: header has no signing algorithm", errToken)
	}
	pb, err := decodeSegment(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", errToken, err)
	}
	var c struct {
		Exp, Nbf, Iat json.RawMessage
		Sub           string `json:"sub"`
		K8s           struct {
			Namespace string `json:"namespace"`
			Pod       struct {
				Name string `json:"name"`
				UID  string `json:"uid"`
			} `json:"pod"`
			ServiceAccount struct {
				Name string `json:"name"`
			} `json:"serviceaccount"`
		} `json:"kubernetes.io"`
	}
	if err := strictObject(pb, &c); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", errToken, err)
	}
	t := &Token{Namespace: c.K8s.Namespace, ServiceAccount: c.K8s.ServiceAccount.Name, PodName: c.K8s.Pod.Name, PodUID: c.K8s.Pod.UID}
	if t.Namespace == "" || t.ServiceAccount == "" {
		// A token of a legacy Secret or another issuer: the subject says it.
		if ns, sa, ok := subjectOf(c.Sub); ok {
			t.Namespace, t.ServiceAccount = ns, sa
		}
	}
	if c.Exp == nil || string(c.Exp) == "null" {
		return nil, fmt.Errorf("%w: no exp claim", errToken)
	}
	for _, f := range []struct {
		name string
		n    json.RawMessage
		to   *time.Time
	}{{"exp", c.Exp, &t.Expiry}, {"nbf", c.Nbf, &t.NotBefore}, {"iat", c.Iat, &t.IssuedAt}} {
		if f.n == nil {
			continue
		}
		v, ok := epochSeconds(f.n)
		if !ok {
			return nil, fmt.Errorf("%w: %s is not a time", errToken, f.name)
		}
		*f.to = v
	}
	return t, nil
}

// CheckTime rejects a token that is expired, not yet valid or issued in the
// future at now (nbf and iat with TokenSkew).
func (t *Token) CheckTime(now time.Time) error {
	switch {
	case !now.Before(t.Expiry):
		return fmt.Errorf("%w: expired at %s", errToken, t.Expiry.Format(time.RFC3339))
	case !t.NotBefore.IsZero() && now.Add(TokenSkew).Before(t.NotBefore):
		return fmt.Errorf("%w: not valid before %s", errToken, t.NotBefore.Format(time.RFC3339))
	case !t.IssuedAt.IsZero() && now.Add(TokenSkew).Before(t.IssuedAt):
		return fmt.Errorf("%w: issued in the future (%s)", errToken, t.IssuedAt.Format(time.RFC3339))
	}
	return nil
}

// epochSeconds reads a JSON number of seconds since 1970 (fractions
// allowed), between 1970 and about 5138.
func epochSeconds(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return time.Time{}, false
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return time.Time{}, false
	}
	v, err := n.Float64()
	if err != nil || math.IsNaN(v) || v < 0 || v > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// subjectOf splits system:serviceaccount:NS:SA.
func subjectOf(sub string) (ns, sa string, ok bool) {
	rest, found := strings.CutPrefix(sub, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	ns, sa, ok = strings.Cut(rest, ":")
	return ns, sa, ok && ns != "" && sa != "" && !strings.Contains(sa, ":")
}

// isSegment matches EKS Auth's token segment pattern [A-Za-z0-9-_=]+.
func isSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}

func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// strictObject decodes a JSON object and nothing after it.
func strictObject(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errors.New("malformed JSON")
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

// TokenID names a token in logs and metrics without revealing it: the first
// 12 hex digits of its SHA-256.
func TokenID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:6])
}

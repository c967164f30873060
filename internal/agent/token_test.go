package agent

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseToken(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	hdr := b64([]byte(`{"alg":"RS256","kid":"k"}`))
	sig := b64([]byte("signature"))
	tok := func(payload string) string { return hdr + "." + b64([]byte(payload)) + "." + sig }

	good := tok(`{"exp":1700003600,"iat":1700000000,"nbf":1700000000,"sub":"system:serviceaccount:ns:sa",
		"kubernetes.io":{"namespace":"ns","serviceaccount":{"name":"sa"},"pod":{"name":"p","uid":"u"}}}`)
	got, err := ParseToken(good)
	if err != nil {
		t.Fatal(err)
	}
	want := &Token{Expiry: time.Unix(1700003600, 0).UTC(), NotBefore: time.Unix(1700000000, 0).UTC(), IssuedAt: time.Unix(1700000000, 0).UTC(),
		Namespace: "ns", ServiceAccount: "sa", PodName: "p", PodUID: "u"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseToken (-want +got):\n%s", d)
	}

	// Subject only (another issuer), fractional exp, padded segments.
	got, err = ParseToken(tok(`{"exp":1700003600.5,"sub":"system:serviceaccount:kube-system:x"}`) + "==")
	if err != nil {
		t.Fatal(err)
	}
	if got.Namespace != "kube-system" || got.ServiceAccount != "x" || got.Expiry != time.Unix(1700003600, 5e8).UTC() {
		t.Errorf("subject-only token: %+v", got)
	}

	bad := map[string]string{
		"empty":             "",
		"two segments":      hdr + "." + b64([]byte(`{"exp":1}`)),
		"four segments":     good + ".x",
		"empty signature":   hdr + "." + b64([]byte(`{"exp":1}`)) + ".",
		"space":             " " + good,
		"bad base64":        hdr + ".%%%." + sig,
		"header not object": b64([]byte(`[1]`)) + "." + b64([]byte(`{"exp":1}`)) + "." + sig,
		"alg none":          b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(`{"exp":1}`)) + "." + sig,
		"no alg":            b64([]byte(`{"kid":"k"}`)) + "." + b64([]byte(`{"exp":1}`)) + "." + sig,
		"payload not JSON":  tok(`exp=1`),
		"trailing data":     tok(`{"exp":1}{}`),
		"no exp":            tok(`{"sub":"x"}`),
		"exp string":        tok(`{"exp":"1700000000"}`),
		"exp negative":      tok(`{"exp":-1}`),
		"exp huge":          tok(`{"exp":1e300}`),
		"nbf not a number":  tok(`{"exp":1,"nbf":true}`),
		"too long":          hdr + "." + b64([]byte(`{"exp":1,"x":"`+strings.Repeat("a", MaxTokenLength)+`"}`)) + "." + sig,
	}
	for name, raw := range bad {
		if got, err := ParseToken(raw); err == nil {
			t.Errorf("%s: ParseToken = %+v, want an error", name, got)
		}
	}
}

func TestTokenCheckTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		tok  Token
		ok   bool
	}{
		{"valid", Token{Expiry: now.Add(time.Hour), NotBefore: now.Add(-time.Minute), IssuedAt: now.Add(-time.Minute)}, true},
		{"no nbf or iat", Token{Expiry: now.Add(time.Second)}, true},
		{"expires now", Token{Expiry: now}, false},
		{"expired", Token{Expiry: now.Add(-time.Second)}, false},
		{"nbf within skew", Token{Expiry: now.Add(time.Hour), NotBefore: now.Add(TokenSkew)}, true},
		{"nbf beyond skew", Token{Expiry: now.Add(time.Hour), NotBefore: now.Add(TokenSkew + time.Second)}, false},
		{"iat within skew", Token{Expiry: now.Add(time.Hour), IssuedAt: now.Add(TokenSkew)}, true},
		{"iat beyond skew", Token{Expiry: now.Add(time.Hour), IssuedAt: now.Add(TokenSkew + time.Second)}, false},
	}
	for _, c := range cases {
		if err := c.tok.CheckTime(now); (err == nil) != c.ok {
			t.Errorf("%s: CheckTime = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestTokenID(t *testing.T) {
	id := TokenID("secret.token.value")
	if len(id) != 12 || strings.Contains("secret.token.value", id) || id != TokenID("secret.token.value") || id == TokenID("secret.token.valuf") {
		t.Errorf("TokenID = %q: want 12 stable hex digits that differ per token", id)
	}
}

func FuzzParseToken(f *testing.F) {
	b64 := base64.RawURLEncoding.EncodeToString
	f.Add(b64([]byte(`{"alg":"RS256"}`)) + "." + b64([]byte(`{"exp":1700000000,"kubernetes.io":{"namespace":"a"}}`)) + ".c2ln")
	f.Add(b64([]byte(`{"alg":"ES256"}`)) + "." + b64([]byte(`{"exp":1.5e9,"sub":"system:serviceaccount:a:b"}`)) + ".c2ln==")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := ParseToken(raw)
		if err != nil {
			if tok != nil {
				t.Fatal("a token with an error")
			}
			return
		}
		segs := strings.Split(raw, ".")
		if len(raw) > MaxTokenLength || len(segs) != 3 || !isSegment(segs[0]) || !isSegment(segs[1]) || !isSegment(segs[2]) {
			t.Fatalf("accepted %q", raw)
		}
		again, err := ParseToken(raw)
		if err != nil || *again != *tok {
			t.Fatalf("second parse differs: %+v, %v", again, err)
		}
		_ = tok.CheckTime(time.Now())
	})
}

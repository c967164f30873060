package session

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAccessKeyIDEncodesAccount(t *testing.T) {
	for _, acct := range []string{"000000000000", "123456789012", "999999999999", "000000000001"} {
		for i := 0; i < 20; i++ {
			id, err := NewAccessKeyID(PrefixTemporary, acct, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(id) {
				t.Fatalf("access key ID %q has the wrong form", id)
			}
			got, err := AccountFromAccessKeyID(id)
			if err != nil || got != acct {
				t.Fatalf("AccountFromAccessKeyID(%q) = %q, %v; want %q", id, got, err, acct)
			}
		}
	}
	if _, err := NewAccessKeyID(PrefixLongTerm, "12345", rand.Reader); err == nil {
		t.Error("a short account ID must be refused")
	}
}

// With no randomness the encoding is fixed: 123456789012 shifted left by
// seven bits (0x1CBE991A1400) in the first six bytes, then zeros.
func TestAccessKeyIDLayout(t *testing.T) {
	id, err := NewAccessKeyID(PrefixLongTerm, "123456789012", bytes.NewReader(make([]byte, 10)))
	if err != nil {
		t.Fatal(err)
	}
	if id != "AKIABZPUZDIKAAAAAAAA" {
		t.Fatalf("NewAccessKeyID = %s", id)
	}
}

func TestSecretAndUniqueIDs(t *testing.T) {
	s, _ := NewSecretAccessKey(rand.Reader)
	if len(s) != 40 {
		t.Fatalf("secret of %d characters, want 40", len(s))
	}
	id, _ := NewUniqueID(PrefixRole, rand.Reader)
	if !regexp.MustCompile(`^AROA[A-Z2-7]{17}$`).MatchString(id) {
		t.Fatalf("role ID %q", id)
	}
}

func newSealer(t *testing.T, ids ...string) *Sealer {
	t.Helper()
	var keys []Key
	for _, id := range ids {
		k := make([]byte, 32)
		copy(k, id)
		keys = append(keys, Key{ID: id, Key: k})
	}
	s, err := NewSealer(keys, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sample() *Session {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	return &Session{
		AccountID: "000000000000", RoleID: "AROAEXAMPLEEXAMPLE12", RoleName: "s3-reader",
		RoleARN: "arn:aws:iam::000000000000:role/app/s3-reader", SessionName: "botocore-session-1",
		AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", IssuedAt: now, Expiration: now.Add(time.Hour),
		SessionPolicies: []string{`{"Version":"2012-10-17","Statement":[]}`}, Tags: []Tag{{"team", "a"}},
		TransitiveTagKeys: []string{"team"}, SourceIdentity: "alice", FederatedProvider: "arn:aws:iam::000000000000:oidc-provider/x", Subject: "system:serviceaccount:a:b",
	}
}

func TestSealOpen(t *testing.T) {
	s := newSealer(t, "k1")
	want := sample()
	tok, err := s.Seal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Open(tok)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	if strings.Contains(tok, "secret") || strings.Contains(tok, "s3-reader") {
		t.Fatal("the token must not show its contents")
	}
	if got.ARN("aws") != "arn:aws:sts::000000000000:assumed-role/s3-reader/botocore-session-1" || got.UserID() != "AROAEXAMPLEEXAMPLE12:botocore-session-1" {
		t.Fatalf("ARN %s, UserID %s", got.ARN("aws"), got.UserID())
	}
	if !got.SameAccessKey("ASIAEXAMPLE") || got.SameAccessKey("ASIAEXAMPLF") {
		t.Fatal("SameAccessKey")
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	s := newSealer(t, "k1")
	tok, _ := s.Seal(sample())
	raw, _ := base64.StdEncoding.DecodeString(tok)
	for i := range raw {
		m := append([]byte(nil), raw...)
		m[i] ^= 0x01
		if _, err := s.Open(base64.StdEncoding.EncodeToString(m)); err == nil {
			t.Fatalf("flipping byte %d was not detected", i)
		}
	}
	for _, bad := range []string{"", "!!!", tok[:len(tok)-4], tok + "AAAA", strings.Repeat("A", MaxTokenLength+4)} {
		if _, err := s.Open(bad); err == nil {
			t.Errorf("Open(%.20q…) accepted", bad)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	old := newSealer(t, "k1")
	tok, _ := old.Seal(sample())
	rotated := newSealer(t, "k2", "k1")
	if _, err := rotated.Open(tok); err != nil {
		t.Fatalf("a ring that still holds the old key must open its tokens: %v", err)
	}
	tok2, _ := rotated.Seal(sample())
	if _, err := old.Open(tok2); err != ErrUnknownKey {
		t.Fatalf("a ring without the new key must refuse it with ErrUnknownKey, got %v", err)
	}
	other := newSealer(t, "k9")
	if _, err := other.Open(tok); err == nil {
		t.Fatal("a token from another ring must be refused")
	}
}

func FuzzOpen(f *testing.F) {
	s, _ := NewSealer([]Key{{ID: "k1", Key: make([]byte, 32)}}, rand.Reader)
	tok, _ := s.Seal(sample())
	f.Add(tok)
	f.Add("AQJrMQ==")
	f.Fuzz(func(t *testing.T, token string) {
		if got, err := s.Open(token); err == nil && got == nil {
			t.Fatal("nil session without error")
		}
	})
}

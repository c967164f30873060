package testutil

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSecretScan shows that the end-to-end tests' scans of logs can fail:
// they find a token, a token's signature alone, a session token and a
// secret key wherever they appear.
func TestSecretScan(t *testing.T) {
	s := NewSecrets()
	s.AddToken("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg", "token A")
	s.Add("FwoGZXIvYXdzEJr//////////session", "session token B")
	s.Add("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "secret key C")
	s.Add("short", "too short to scan")
	texts := map[string]string{
		"stdout": "level=INFO msg=ok sig=c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
		"stderr": "token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY short",
	}
	want := []string{
		"stderr holds the secret key C",
		"stderr holds the signature of token A",
		"stderr holds the token A",
		"stdout holds the signature of token A",
	}
	if diff := cmp.Diff(want, s.FindIn(texts)); diff != "" {
		t.Errorf("FindIn (-want +got):\n%s", diff)
	}
	if got := s.FindIn(map[string]string{"stderr": "nothing secret here"}); len(got) != 0 {
		t.Errorf("FindIn on a clean log = %q, want nothing", got)
	}
}

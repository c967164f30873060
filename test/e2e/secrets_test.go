//go:build unix

package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSecretScan shows that the server-log scan of TestIRSA can fail: it
// finds a token, a token's signature alone, a session token and a secret
// key wherever they appear.
func TestSecretScan(t *testing.T) {
	s := newSecretSet()
	s.addToken("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg", "token A")
	s.add("FwoGZXIvYXdzEJr//////////session", "session token B")
	s.add("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "secret key C")
	s.add("short", "too short to scan")
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
	if diff := cmp.Diff(want, s.findIn(texts)); diff != "" {
		t.Errorf("findIn (-want +got):\n%s", diff)
	}
	if got := s.findIn(map[string]string{"stderr": "nothing secret here"}); len(got) != 0 {
		t.Errorf("findIn on a clean log = %q, want nothing", got)
	}
}

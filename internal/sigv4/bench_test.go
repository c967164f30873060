package sigv4

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// benchRequest is a typical signed STS call: an AssumeRole form POST with a
// session token, five signed headers, as aws-sdk-go-v2 sends it.
func benchRequest(b *testing.B) (*http.Request, []byte) {
	b.Helper()
	body := []byte("Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fs3-reader&RoleSessionName=bench&Version=2011-06-15")
	r, err := http.NewRequest("POST", "https://sts.amazonaws.com/", strings.NewReader(string(body)))
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.0")
	Sign(r, body, wireAKID, wireSecret, wireToken, "us-east-1", "sts", testTime)
	return serverSide(r), body
}

func BenchmarkParse(b *testing.B) {
	r, _ := benchRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is the per-request cost of checking a signature once the
// secret is known: canonical request, payload hash, key derivation, HMAC.
func BenchmarkVerify(b *testing.B) {
	r, body := benchRequest(b)
	sig, err := Parse(r)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := sig.Verify(r, body, wireSecret, testTime); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseVerify(b *testing.B) {
	r, body := benchRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		sig, err := Parse(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := sig.Verify(r, body, wireSecret, testTime); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyMismatch is the cost of a refusal, which tries the
// alternatives (raw path, query without token) before giving up.
func BenchmarkVerifyMismatch(b *testing.B) {
	r, err := http.NewRequest("GET", "https://sts.amazonaws.com/a//b?Action=GetCallerIdentity&Version=2011-06-15", nil)
	if err != nil {
		b.Fatal(err)
	}
	Presign(r, nil, wireAKID, wireSecret, wireToken, "us-east-1", "sts", testTime, 15*time.Minute)
	s := serverSide(r)
	sig, err := Parse(s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := sig.Verify(s, nil, "wrong", testTime); err == nil {
			b.Fatal("verified with the wrong secret")
		}
	}
}

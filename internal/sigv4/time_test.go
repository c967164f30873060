package sigv4

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// serverSide turns a client request into what a handler receives: the
// target as RequestURI, the body read by the caller.
func serverSide(r *http.Request) *http.Request {
	s := r.Clone(r.Context())
	s.RequestURI = r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		s.RequestURI += "?" + r.URL.RawQuery
	}
	if s.Host == "" {
		s.Host = r.URL.Host
	}
	if r.ContentLength > 0 {
		s.Header.Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	}
	return s
}

func signedAt(t *testing.T, at time.Time) (*http.Request, *Signature) {
	t.Helper()
	r, err := http.NewRequest("POST", "https://sts.amazonaws.com/", nil)
	if err != nil {
		t.Fatal(err)
	}
	Sign(r, nil, "AKIDEXAMPLE", "secret", "", "us-east-1", "sts", at)
	s := serverSide(r)
	sig, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, sig
}

func presignedAt(t *testing.T, at time.Time, expires time.Duration, withExpires bool) (*http.Request, *Signature) {
	t.Helper()
	r, err := http.NewRequest("GET", "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	if err != nil {
		t.Fatal(err)
	}
	Presign(r, nil, "AKIDEXAMPLE", "secret", "", "us-east-1", "sts", at, expires)
	if !withExpires {
		// Re-sign without X-Amz-Expires, as a client that leaves it out would.
		q := r.URL.Query()
		q.Del("X-Amz-Expires")
		q.Del("X-Amz-Signature")
		r.URL.RawQuery = q.Encode()
		sig := &Signature{AccessKeyID: "AKIDEXAMPLE", Region: "us-east-1", Service: "sts", SignedHeaders: []string{"host"},
			Date: at, scopeDate: at.Format("20060102"), terminator: Terminator, amzDate: at.Format(isoLayout)}
		params, _ := parseQuery(r.URL.RawQuery)
		cr := canonicalRequest("GET", "/", canonicalQuery(params), canonicalHeaders(r, sig.SignedHeaders), hashHex(nil))
		r.URL.RawQuery += "&X-Amz-Signature=" + sig.sign("secret", cr)
	}
	s := serverSide(r)
	sig, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, sig
}

// TestClockSkew puts the server clock on both sides of the five-minute
// window. The boundary itself is accepted; the server clock is read to the
// second, as AWS prints it.
func TestClockSkew(t *testing.T) {
	expired := func(now string) *Error {
		return &Error{Code: CodeSignatureDoesNotMatch, Message: "Signature expired: 20150830T123600Z is now earlier than " + now}
	}
	tests := []struct {
		name string
		now  time.Duration // server clock minus signing time
		want *Error
	}{
		{name: "same second", now: 0},
		{name: "5:00 late", now: 5 * time.Minute},
		{name: "5:00.9 late", now: 5*time.Minute + 900*time.Millisecond},
		{name: "5:01 late", now: 5*time.Minute + time.Second, want: expired("20150830T123601Z (20150830T124101Z - 5 min.)")},
		{name: "10:00 late", now: 10 * time.Minute, want: expired("20150830T124100Z (20150830T124600Z - 5 min.)")},
		{name: "5:00 early", now: -5 * time.Minute},
		{name: "5:01 early", now: -5*time.Minute - time.Second, want: &Error{Code: CodeSignatureDoesNotMatch,
			Message: "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T123059Z + 5 min.)"}},
		{name: "a day early", now: -24 * time.Hour, want: &Error{Code: CodeSignatureDoesNotMatch,
			Message: "Signature not yet current: 20150830T123600Z is still later than 20150829T124100Z (20150829T123600Z + 5 min.)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, sig := signedAt(t, testTime)
			now := testTime.Add(tt.now)
			check(t, tt.want, sig.Check(now, "us-east-1", "sts"))
			check(t, tt.want, sig.Verify(r, nil, "secret", now))
			// A clock in another zone is the same instant.
			check(t, tt.want, sig.Verify(r, nil, "secret", now.In(time.FixedZone("x", 5*3600))))
		})
	}
}

func check(t *testing.T, want *Error, err error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("got %v, want success", err)
		}
		return
	}
	if diff := cmp.Diff(want, asError(t, err), cmp.FilterPath(func(p cmp.Path) bool {
		n := p.Last().String()
		return n == ".CanonicalRequest" || n == ".StringToSign"
	}, cmp.Ignore())); diff != "" {
		t.Fatalf("error (-want +got):\n%s", diff)
	}
}

// TestPresignedExpiry: a presigned request lives X-Amz-Expires seconds and
// may not be from more than five minutes in the future; without
// X-Amz-Expires it gets the header form's window.
func TestPresignedExpiry(t *testing.T) {
	requestExpired := &Error{Code: CodeRequestExpired, Message: "Request has expired."}
	tests := []struct {
		name        string
		expires     time.Duration
		withExpires bool
		now         time.Duration
		want        *Error
	}{
		{name: "at the end", expires: time.Minute, withExpires: true, now: time.Minute},
		{name: "a second after", expires: time.Minute, withExpires: true, now: time.Minute + time.Second, want: requestExpired},
		{name: "long life outlives the skew", expires: 7 * 24 * time.Hour, withExpires: true, now: 7 * 24 * time.Hour},
		{name: "a week and a second", expires: 7 * 24 * time.Hour, withExpires: true, now: 7*24*time.Hour + time.Second, want: requestExpired},
		{name: "zero lifetime, same second", expires: 0, withExpires: true, now: 0},
		{name: "zero lifetime, a second later", expires: 0, withExpires: true, now: time.Second, want: requestExpired},
		{name: "5:01 early", expires: time.Hour, withExpires: true, now: -5*time.Minute - time.Second, want: &Error{Code: CodeSignatureDoesNotMatch,
			Message: "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T123059Z + 5 min.)"}},
		{name: "5:00 early", expires: time.Hour, withExpires: true, now: -5 * time.Minute},
		{name: "no expiry, 5:00 late", now: 5 * time.Minute},
		{name: "no expiry, 5:01 late", now: 5*time.Minute + time.Second, want: &Error{Code: CodeSignatureDoesNotMatch,
			Message: "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, sig := presignedAt(t, testTime, tt.expires, tt.withExpires)
			if sig.Expires != tt.expires {
				t.Fatalf("Expires = %v, want %v", sig.Expires, tt.expires)
			}
			check(t, tt.want, sig.Verify(r, nil, "secret", testTime.Add(tt.now)))
		})
	}
}

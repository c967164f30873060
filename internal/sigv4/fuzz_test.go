package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

var knownCodes = []string{
	CodeMissingAuthenticationToken, CodeIncompleteSignature, CodeSignatureDoesNotMatch,
	CodeInvalidClientTokenID, CodeRequestExpired, CodeMalformedQueryString,
}

func checkError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *sigv4.Error", err, err)
	}
	if !slices.Contains(knownCodes, e.Code) || e.Message == "" {
		t.Fatalf("error %+v has an unknown code or no message", e)
	}
}

// seedVectors adds the suite's signed requests as seeds.
func seedVectors(f *testing.F, add func(auth, query, date string, body []byte)) {
	for _, v := range loadVectors(f) {
		for _, form := range forms {
			rr := parseRaw(f, v.file(f, form+"-signed-request.txt"))
			r := rr.request(f)
			add(r.Header.Get("Authorization"), rr.rawQuery(), r.Header.Get("X-Amz-Date"), rr.body)
		}
	}
}

// FuzzParse feeds arbitrary Authorization headers, query strings and dates
// through Parse and, when it accepts, Verify: no panic, every failure an
// *Error with a known code, and what Parse accepts is well formed.
func FuzzParse(f *testing.F) {
	seedVectors(f, func(auth, query, date string, body []byte) { f.Add(auth, query, date, body) })
	f.Add("AWS4- Signature=b Credential=a", "", "a", []byte(nil))
	f.Add("", "X-Amz-Algorithm&X-Amz-Expires=-1", "", []byte(nil))
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e/, SignedHeaders=host, Signature=00", "%zz", "20150830T123600Z", []byte("x"))
	f.Fuzz(func(t *testing.T, auth, query, date string, body []byte) {
		r := &http.Request{
			Method: "POST", RequestURI: "/?" + query, Host: "example.amazonaws.com",
			URL: &url.URL{Path: "/", RawQuery: query}, Header: http.Header{},
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		sig, err := Parse(r)
		if err != nil {
			checkError(t, err)
			return
		}
		if sig.AccessKeyID == "" || !slices.Contains(sig.SignedHeaders, "host") || !slices.IsSorted(sig.SignedHeaders) ||
			len(sig.SignedHeaders) > MaxSignedHeaders || sig.Date.Location() != nil && sig.Date.Location().String() != "UTC" {
			t.Fatalf("Parse accepted a malformed signature: %+v", sig)
		}
		if len(auth) > MaxAuthorizationLength || len(query) > MaxQueryLength {
			t.Fatalf("Parse accepted input over the limits (auth %d, query %d bytes)", len(auth), len(query))
		}
		if err := sig.Verify(r, body, "secret", sig.Date); err != nil {
			checkError(t, err)
		}
		_ = sig.Check(sig.Date, "us-east-1", "sts")
	})
}

// FuzzAuthorizationHeader targets the header parser alone.
func FuzzAuthorizationHeader(f *testing.F) {
	seedVectors(f, func(auth, _, _ string, _ []byte) { f.Add(auth) })
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e,,, ,SignedHeaders=host;host, Signature=")
	f.Add("AWS4-HMAC-SHA256 =, ==, Credential==")
	f.Fuzz(func(t *testing.T, auth string) {
		if !strings.HasPrefix(strings.TrimSpace(auth), "AWS4-") {
			return // Parse never hands such a header to the parser
		}
		r := &http.Request{Header: http.Header{"X-Amz-Date": {"20150830T123600Z"}}}
		sig, err := parseHeader(r, auth)
		if err != nil {
			checkError(t, err)
			if len(auth) > MaxAuthorizationLength && asError(t, err).Message != "Authorization header is longer than 8192 bytes." {
				t.Fatalf("oversized header refused for another reason: %v", err)
			}
			return
		}
		if !strings.Contains(auth, "Credential="+sig.AccessKeyID+"/") || !strings.Contains(auth, "Signature="+sig.Signature) {
			t.Fatalf("parsed %+v from %q", sig, auth)
		}
	})
}

// FuzzSignVerify: whatever irsa signs, irsa verifies once it has crossed
// the wire, and a changed body no longer verifies.
func FuzzSignVerify(f *testing.F) {
	f.Add("/", "Action=GetCallerIdentity&Version=2011-06-15", "text/plain", []byte("a=b"), "tok")
	f.Add("/a/./b/../c//d", "b=%2B&a=+&c", "  x   y  ", []byte(nil), "")
	f.Add("/\xe1\x88\xb4 ?#", "k=%E1%88%B4&k=", "\"q  q\"", []byte{0, 1}, "t/+=")
	f.Fuzz(func(t *testing.T, path, query, header string, body []byte, token string) {
		if !wireSafe(query, false) || !wireSafe(header, true) || !wireSafe(token, false) || len(path) > MaxPathLength {
			return // cannot be sent as is
		}
		if _, err := parseQuery(query); err != nil || len(query) > MaxQueryLength {
			return
		}
		r := &http.Request{
			Method: "POST", URL: &url.URL{Scheme: "https", Host: "sts.amazonaws.com", Path: "/" + strings.TrimPrefix(path, "/"), RawQuery: query},
			Header: http.Header{}, ContentLength: int64(len(body)),
		}
		if header != "" {
			r.Header.Set("X-Amz-Meta-Fuzz", header)
		}
		Sign(r, body, "AKIDEXAMPLE", "secret", token, "us-east-1", "sts", testTime)
		s := serverSide(r)
		if len(s.RequestURI) > MaxPathLength+MaxQueryLength {
			return
		}
		sig, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse of a signed request: %v", err)
		}
		if err := sig.Verify(s, body, "secret", testTime); err != nil {
			t.Fatalf("Verify of a signed request: %v\n%s", err, asError(t, err).CanonicalRequest)
		}
		changed := append([]byte{'x'}, body...)
		if err := sig.Verify(s, changed, "secret", testTime); err == nil {
			t.Fatal("a changed body verified")
		}
	})
}

// wireSafe reports whether s can travel in a query string (or, with
// header, a header value) unchanged.
func wireSafe(s string, header bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\t' && header:
		case c < 0x20 || c == 0x7f:
			return false
		case !header && (c == ' ' || c == '#' || c >= 0x80):
			return false
		}
	}
	return true
}

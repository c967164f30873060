package sigv4

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizePath(t *testing.T) {
	tests := map[string]string{
		"":                         "/",
		"/":                        "/",
		"//":                       "/",
		"/./":                      "/",
		"/.":                       "/",
		"/..":                      "/",
		"/../../a":                 "/a",
		"/example/..":              "/",
		"/example1/example2/../..": "/",
		"/a/b/..":                  "/a/",
		"/a/b/.":                   "/a/b/",
		"/./example":               "/example",
		"//example//":              "/example/",
		"/a//b":                    "/a/b",
		"a/b":                      "/a/b",
		"/a%2F../b":                "/a%2F../b", // an encoded slash does not split segments
		"/%2E%2E/a":                "/%2E%2E/a", // encoded dots are names, not dot segments
	}
	for in, want := range tests {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalURI(t *testing.T) {
	tests := []struct {
		raw       string
		normalize bool
		want      string
	}{
		{"/example%20space/", true, "/example%2520space/"}, // the wire form is encoded again
		{"/example space/", true, "/example%20space/"},
		{"/-._~AZaz09", true, "/-._~AZaz09"},
		{"/a+b=c:d@e", true, "/a%2Bb%3Dc%3Ad%40e"},
		{"//x//", false, "//x//"},
		{"", false, "/"},
		{"/\xe1\x88\xb4", true, "/%E1%88%B4"},
	}
	for _, tt := range tests {
		if got := canonicalURI(tt.raw, tt.normalize); got != tt.want {
			t.Errorf("canonicalURI(%q, %v) = %q, want %q", tt.raw, tt.normalize, got, tt.want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		raw  string
		skip []string
		want string
	}{
		{"", nil, ""},
		{"b=2&a=1", nil, "a=1&b=2"},
		{"a=2&a=1&a=10", nil, "a=1&a=10&a=2"}, // by value when keys tie
		{"Param-3=3&Param=2&%E1%88%B4=1", nil, "%E1%88%B4=1&Param=2&Param-3=3"}, // by encoded key
		{"a=b+c", nil, "a=b%20c"},     // '+' is a space, as net/url reads it
		{"a=b%2Bc", nil, "a=b%2Bc"},   // an encoded plus stays a plus
		{"a=%7e%7E~", nil, "a=~~~"},   // unreserved characters are not encoded
		{"flag&x=", nil, "flag=&x="},  // no '=' means an empty value
		{"a=1&&b=2&", nil, "a=1&b=2"}, // empty pieces are dropped
		{"k=v;w", nil, "k=v%3Bw"},     // ';' is data, not a separator
		{"X-Amz-Signature=s&X-Amz-Date=d", []string{"X-Amz-Signature"}, "X-Amz-Date=d"},
		{"a=%e1%88%b4", nil, "a=%E1%88%B4"}, // upper-case hex
		{"a=/?#[]", nil, "a=%2F%3F%23%5B%5D"},
	}
	for _, tt := range tests {
		params, err := parseQuery(tt.raw)
		if err != nil {
			t.Fatalf("parseQuery(%q): %v", tt.raw, err)
		}
		if got := canonicalQuery(params, tt.skip...); got != tt.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestCanonicalHeaders(t *testing.T) {
	r := &http.Request{Host: " example.com ", Header: http.Header{}, RequestURI: "/"}
	r.Header.Add("My-Header", "  a   b\t\tc  ")
	r.Header.Add("My-Header", "d")
	r.Header.Add("Quoted", `"a   b   c"`)
	r.Header.Add("Empty", "")
	got := canonicalHeaders(r, []string{"content-length", "empty", "host", "my-header", "quoted"})
	want := "content-length:\nempty:\nhost:example.com\nmy-header:a b c,d\nquoted:\"a b c\"\n\ncontent-length;empty;host;my-header;quoted"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A client request keeps its length outside the header map.
	client := &http.Request{URL: &url.URL{Host: "example.com"}, Header: http.Header{}, ContentLength: 13}
	if got, want := canonicalHeaders(client, []string{"content-length", "host"}), "content-length:13\nhost:example.com\n\ncontent-length;host"; got != want {
		t.Errorf("client request: got %q, want %q", got, want)
	}
}

func TestWireTarget(t *testing.T) {
	tests := []struct {
		name      string
		r         *http.Request
		path, raw string
	}{
		{"server", &http.Request{RequestURI: "/a%20b?x=1", URL: &url.URL{Path: "/a b", RawQuery: "x=1"}}, "/a%20b", "x=1"},
		{"server, absolute form", &http.Request{RequestURI: "http://h:1/p?q", URL: &url.URL{}}, "/p", "q"},
		{"server, absolute form without path", &http.Request{RequestURI: "http://h?q", URL: &url.URL{}}, "/", "q"},
		{"server, authority only", &http.Request{RequestURI: "http://h", URL: &url.URL{}}, "/", ""},
		{"client", &http.Request{URL: &url.URL{Path: "/a b/c", RawQuery: "y=2"}}, "/a%20b/c", "y=2"},
		{"client, raw path kept", &http.Request{URL: &url.URL{Path: "/a/b", RawPath: "/a%2Fb"}}, "/a%2Fb", ""},
		{"client, opaque", &http.Request{URL: &url.URL{Opaque: "//h/a%2Fb", RawQuery: "z"}}, "/a%2Fb", "z"},
		{"client, opaque without path", &http.Request{URL: &url.URL{Opaque: "//h"}}, "/", ""},
		{"no URL", &http.Request{}, "/", ""},
	}
	for _, tt := range tests {
		path, raw := wireTarget(tt.r)
		if path != tt.path || raw != tt.raw {
			t.Errorf("%s: got (%q, %q), want (%q, %q)", tt.name, path, raw, tt.path, tt.raw)
		}
	}
}

// TestPayloadHash: a declared hash must be the body's; UNSIGNED-PAYLOAD
// only for a presigned request without a body.
func TestPayloadHash(t *testing.T) {
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	sum := hashHex(body)
	tests := []struct {
		name      string
		presigned bool
		header    []string
		query     string
		body      []byte
		want      string // payload line, or the error code
	}{
		{name: "none declared", body: body, want: sum},
		{name: "declared and right", header: []string{sum}, body: body, want: sum},
		{name: "declared and wrong", header: []string{hashHex(nil)}, body: body, want: CodeSignatureDoesNotMatch},
		{name: "upper-case hex", header: []string{"9095672BBD1F56DFC5B65F3E153ADC8731A4A654192329106275F4C7B24D0B6E"}, body: []byte("Param1=value1"), want: CodeSignatureDoesNotMatch},
		{name: "declared twice", header: []string{sum, sum}, body: body, want: CodeSignatureDoesNotMatch},
		{name: "unsigned, header form", header: []string{UnsignedPayload}, want: CodeSignatureDoesNotMatch},
		{name: "streaming", header: []string{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, body: body, want: CodeSignatureDoesNotMatch},
		{name: "unsigned, presigned, empty body", presigned: true, query: "X-Amz-Content-Sha256=UNSIGNED-PAYLOAD", want: UnsignedPayload},
		{name: "unsigned, presigned header, empty body", presigned: true, header: []string{UnsignedPayload}, want: UnsignedPayload},
		{name: "unsigned, presigned, with a body", presigned: true, query: "X-Amz-Content-Sha256=UNSIGNED-PAYLOAD", body: body, want: CodeSignatureDoesNotMatch},
		{name: "presigned, query hash right", presigned: true, query: "X-Amz-Content-Sha256=" + sum, body: body, want: sum},
		{name: "query hash ignored in header form", query: "X-Amz-Content-Sha256=" + hashHex(nil), body: body, want: sum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Header: http.Header{"X-Amz-Content-Sha256": tt.header}}
			params, err := parseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			s := &Signature{Presigned: tt.presigned}
			got, err := s.payloadHash(r, params, tt.body)
			if err != nil {
				e := asError(t, err)
				if e.Message != MsgPayloadHashMismatch {
					t.Errorf("message %q", e.Message)
				}
				got = e.Code
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

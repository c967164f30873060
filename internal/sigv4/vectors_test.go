package sigv4

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The aws-c-auth signing suite (testdata/v4, see testdata/SOURCE): each case
// has a request, its signed forms (Authorization header and presigned
// query), and the canonical request, string to sign and signature of each.

const vectorCount = 38

type vectorContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	ExpirationInSeconds int       `json:"expiration_in_seconds"`
	Normalize           bool      `json:"normalize"`
	Region              string    `json:"region"`
	Service             string    `json:"service"`
	SignBody            bool      `json:"sign_body"`
	Timestamp           time.Time `json:"timestamp"`
	OmitSessionToken    bool      `json:"omit_session_token"`
}

type vector struct {
	name  string
	ctx   vectorContext
	files map[string]string
}

// forms are the two signed shapes of every case, by file prefix.
var forms = []string{"header", "query"}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	dirs, err := filepath.Glob("testdata/v4/*")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	for _, dir := range dirs {
		v := vector{name: filepath.Base(dir), files: map[string]string{}}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			v.files[e.Name()] = string(b)
		}
		if err := json.Unmarshal([]byte(v.files["context.json"]), &v.ctx); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		vs = append(vs, v)
	}
	if len(vs) != vectorCount {
		t.Fatalf("found %d cases in testdata/v4, want %d", len(vs), vectorCount)
	}
	return vs
}

func (v vector) file(t testing.TB, name string) string {
	t.Helper()
	s, ok := v.files[name]
	if !ok {
		t.Fatalf("%s: no %s", v.name, name)
	}
	return s
}

// rawRequest is a request as text on the wire, kept in pieces so tests can
// change any of them the way an intermediary could.
type rawRequest struct {
	method  string
	path    string
	query   []rawParam // as sent, still percent-encoded
	headers []rawHeader
	body    []byte
}

type rawParam struct {
	key, value string
	noEquals   bool
}

type rawHeader struct{ name, value string }

// parseRaw reads the suite's request format: a request line, "Name:value"
// header lines (a line starting with a blank continues the previous value,
// unfolded as net/textproto does), a blank line, the body.
func parseRaw(t testing.TB, text string) *rawRequest {
	t.Helper()
	head, body, _ := strings.Cut(text, "\n\n")
	lines := strings.Split(strings.TrimRight(head, "\n"), "\n")
	line := lines[0]
	sp1, sp2 := strings.IndexByte(line, ' '), strings.LastIndexByte(line, ' ')
	if sp1 < 0 || sp2 <= sp1 {
		t.Fatalf("bad request line %q", line)
	}
	target := line[sp1+1 : sp2]
	rr := &rawRequest{method: line[:sp1], body: []byte(body)}
	path, query, hasQuery := strings.Cut(target, "?")
	rr.path = path
	if hasQuery {
		for _, part := range strings.Split(query, "&") {
			k, v, ok := strings.Cut(part, "=")
			rr.query = append(rr.query, rawParam{key: k, value: v, noEquals: !ok})
		}
	}
	for _, l := range lines[1:] {
		if l[0] == ' ' || l[0] == '\t' {
			last := &rr.headers[len(rr.headers)-1]
			last.value += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		rr.headers = append(rr.headers, rawHeader{name, strings.TrimSpace(value)})
	}
	return rr
}

func (rr *rawRequest) rawQuery() string {
	parts := make([]string, len(rr.query))
	for i, p := range rr.query {
		parts[i] = p.key
		if !p.noEquals {
			parts[i] += "=" + p.value
		}
	}
	return strings.Join(parts, "&")
}

// request builds what net/http's server would hand a handler: RequestURI
// verbatim, Host moved out of the header map, names canonicalised.
func (rr *rawRequest) request(t testing.TB) *http.Request {
	t.Helper()
	target := rr.path
	if len(rr.query) > 0 {
		target += "?" + rr.rawQuery()
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		// The suite's paths and queries are not all valid URIs (a space,
		// raw UTF-8); the verifier reads RequestURI, so keep what parses.
		u = &url.URL{Path: rr.path, RawQuery: rr.rawQuery()}
	}
	r := &http.Request{
		Method:     rr.method,
		URL:        u,
		RequestURI: target,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{},
	}
	for _, h := range rr.headers {
		if strings.EqualFold(h.name, "Host") {
			r.Host = h.value
			continue
		}
		r.Header.Add(h.name, h.value)
	}
	if n, err := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64); err == nil {
		r.ContentLength = n
	}
	return r
}

func (rr *rawRequest) header(name string) (int, bool) {
	for i, h := range rr.headers {
		if strings.EqualFold(h.name, name) {
			return i, true
		}
	}
	return -1, false
}

func (rr *rawRequest) param(name string) (int, bool) {
	for i, p := range rr.query {
		if p.key == name {
			return i, true
		}
	}
	return -1, false
}

func (rr *rawRequest) clone() *rawRequest {
	c := *rr
	c.query = append([]rawParam(nil), rr.query...)
	c.headers = append([]rawHeader(nil), rr.headers...)
	c.body = append([]byte(nil), rr.body...)
	return &c
}

func asError(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *sigv4.Error", err, err)
	}
	return e
}

func TestVectorsVerify(t *testing.T) {
	for _, v := range loadVectors(t) {
		for _, form := range forms {
			t.Run(v.name+"/"+form, func(t *testing.T) {
				rr := parseRaw(t, v.file(t, form+"-signed-request.txt"))
				r := rr.request(t)
				sig, err := Parse(r)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				// The token travels with the request whether or not it was signed.
				wantToken := v.ctx.Credentials.Token
				got := sigSummary{sig.AccessKeyID, iso(sig.Date), sig.Region, sig.Service, sig.Presigned, sig.SecurityToken, sig.Expires}
				want := sigSummary{v.ctx.Credentials.AccessKeyID, iso(v.ctx.Timestamp), v.ctx.Region, v.ctx.Service, form == "query", wantToken, 0}
				if form == "query" {
					want.Expires = time.Duration(v.ctx.ExpirationInSeconds) * time.Second
				}
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(sigSummary{})); diff != "" {
					t.Errorf("Parse (-want +got):\n%s", diff)
				}
				if err := sig.Verify(r, rr.body, v.ctx.Credentials.SecretAccessKey, v.ctx.Timestamp); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				// The same request fails with any other secret.
				err = sig.Verify(r, rr.body, v.ctx.Credentials.SecretAccessKey+"x", v.ctx.Timestamp)
				if e := asError(t, err); e.Code != CodeSignatureDoesNotMatch || e.Message != MsgSignatureDoesNotMatch {
					t.Errorf("wrong secret: got %v, want SignatureDoesNotMatch", e)
				}
			})
		}
	}
}

type sigSummary struct {
	akid, date, region, service string
	presigned                   bool
	token                       string
	Expires                     time.Duration
}

// TestVectorsCanonical compares each intermediate value with the suite's
// files, built with the suite's own options (normalisation, token left out
// of the signature).
func TestVectorsCanonical(t *testing.T) {
	for _, v := range loadVectors(t) {
		for _, form := range forms {
			t.Run(v.name+"/"+form, func(t *testing.T) {
				rr := parseRaw(t, v.file(t, form+"-signed-request.txt"))
				r := rr.request(t)
				sig, err := Parse(r)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				rawPath, rawQuery := wireTarget(r)
				params, err := parseQuery(rawQuery)
				if err != nil {
					t.Fatal(err)
				}
				var skip []string
				if form == "query" {
					skip = append(skip, "X-Amz-Signature")
					if v.ctx.OmitSessionToken {
						skip = append(skip, "X-Amz-Security-Token")
					}
				}
				payload, err := sig.payloadHash(r, params, rr.body)
				if err != nil {
					t.Fatal(err)
				}
				cr := canonicalRequest(r.Method, canonicalURI(rawPath, v.ctx.Normalize), canonicalQuery(params, skip...), canonicalHeaders(r, sig.SignedHeaders), payload)
				if diff := cmp.Diff(v.file(t, form+"-canonical-request.txt"), cr); diff != "" {
					t.Errorf("canonical request (-want +got):\n%s", diff)
				}
				sts := sig.stringToSign(cr)
				if diff := cmp.Diff(v.file(t, form+"-string-to-sign.txt"), sts); diff != "" {
					t.Errorf("string to sign (-want +got):\n%s", diff)
				}
				got := hmacHex(sig.signingKey(v.ctx.Credentials.SecretAccessKey), sts)
				if diff := cmp.Diff(strings.TrimSpace(v.file(t, form+"-signature.txt")), got); diff != "" {
					t.Errorf("signature (-want +got):\n%s", diff)
				}
				if got != sig.Signature {
					t.Errorf("computed signature %s, request carries %s", got, sig.Signature)
				}
				// A failed verification reports the canonical request and string
				// to sign of its first attempt, which are the suite's unless the
				// case opts out of normalisation or of signing the token.
				err = sig.Verify(r, rr.body, "wrong", v.ctx.Timestamp)
				e := asError(t, err)
				if v.ctx.Normalize && !(form == "query" && v.ctx.OmitSessionToken) {
					if diff := cmp.Diff(cr, e.CanonicalRequest); diff != "" {
						t.Errorf("Error.CanonicalRequest (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(sts, e.StringToSign); diff != "" {
						t.Errorf("Error.StringToSign (-want +got):\n%s", diff)
					}
				}
			})
		}
	}
}

// TestVectorsSign signs each unsigned request and expects the suite's
// Authorization header, and presigns it and expects the suite's signature.
func TestVectorsSign(t *testing.T) {
	for _, v := range loadVectors(t) {
		c := v.ctx
		token := c.Credentials.Token
		if c.OmitSessionToken {
			token = "" // the suite adds it after signing
		}
		t.Run(v.name+"/header", func(t *testing.T) {
			rr := parseRaw(t, v.file(t, "request.txt"))
			r := rr.request(t)
			if c.SignBody {
				r.Header.Set("X-Amz-Content-Sha256", hashHex(rr.body))
			}
			if c.Normalize {
				Sign(r, rr.body, c.Credentials.AccessKeyID, c.Credentials.SecretAccessKey, token, c.Region, c.Service, c.Timestamp)
			} else {
				sign(r, rr.body, c.Credentials.AccessKeyID, c.Credentials.SecretAccessKey, token, c.Region, c.Service, c.Timestamp, false)
			}
			want := parseRaw(t, v.file(t, "header-signed-request.txt")).request(t)
			for _, h := range []string{"Authorization", "X-Amz-Date"} {
				if diff := cmp.Diff(want.Header.Get(h), r.Header.Get(h)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", h, diff)
				}
			}
		})
		t.Run(v.name+"/query", func(t *testing.T) {
			rr := parseRaw(t, v.file(t, "request.txt"))
			r := rr.request(t)
			expires := time.Duration(c.ExpirationInSeconds) * time.Second
			if c.Normalize {
				Presign(r, rr.body, c.Credentials.AccessKeyID, c.Credentials.SecretAccessKey, token, c.Region, c.Service, c.Timestamp, expires)
			} else {
				presign(r, rr.body, c.Credentials.AccessKeyID, c.Credentials.SecretAccessKey, token, c.Region, c.Service, c.Timestamp, expires, false)
			}
			got := queryValues(t, r.URL.RawQuery)
			if c.OmitSessionToken {
				got.Set("X-Amz-Security-Token", c.Credentials.Token)
			}
			want := queryValues(t, parseRaw(t, v.file(t, "query-signed-request.txt")).rawQuery())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			if r.RequestURI != rr.path+"?"+r.URL.RawQuery {
				t.Errorf("RequestURI %q not updated to the new query %q", r.RequestURI, r.URL.RawQuery)
			}
		})
	}
}

// queryValues decodes a query the way the suite's files are written
// (literal UTF-8 included), sorted for comparison.
func queryValues(t testing.TB, raw string) url.Values {
	t.Helper()
	params, err := parseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	vals := url.Values{}
	for _, p := range params {
		vals.Add(p.key, p.value)
	}
	for _, vs := range vals {
		sort.Strings(vs)
	}
	return vals
}

func TestVectorFilesAreComplete(t *testing.T) {
	want := []string{"context.json", "request.txt"}
	for _, form := range forms {
		for _, f := range []string{"canonical-request.txt", "string-to-sign.txt", "signature.txt", "signed-request.txt"} {
			want = append(want, form+"-"+f)
		}
	}
	sort.Strings(want)
	for _, v := range loadVectors(t) {
		var got []string
		for name := range v.files {
			got = append(got, name)
		}
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s files (-want +got):\n%s", v.name, diff)
		}
		if v.ctx.Timestamp.IsZero() || v.ctx.Region == "" || v.ctx.Service == "" {
			t.Errorf("%s: context.json lacks a timestamp, region or service", v.name)
		}
	}
}

package sigv4

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ignoredHeaders are never signed: proxies and transports may change them
// (the same list aws-sdk-go-v2 leaves out).
var ignoredHeaders = map[string]bool{
	"authorization":     true,
	"user-agent":        true,
	"x-amzn-trace-id":   true,
	"expect":            true,
	"transfer-encoding": true,
}

// Sign signs r in the Authorization-header form, as the AWS SDKs do: it sets
// X-Amz-Date (and X-Amz-Security-Token when sessionToken is not empty), then
// Authorization over host and every other header present except those
// proxies rewrite. The payload hash is the SHA-256 of body, or the
// X-Amz-Content-Sha256 header when the caller set one. r may be a client
// request (its URL is what will be sent) or a server-side one (RequestURI).
func Sign(r *http.Request, body []byte, accessKeyID, secret, sessionToken, region, service string, now time.Time) {
	sign(r, body, accessKeyID, secret, sessionToken, region, service, now, true)
}

func sign(r *http.Request, body []byte, accessKeyID, secret, sessionToken, region, service string, now time.Time, normalize bool) {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Del("Authorization")
	s := newSigning(accessKeyID, region, service, now)
	r.Header.Set("X-Amz-Date", s.amzDate)
	if sessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", sessionToken)
	}
	s.SignedHeaders = headersToSign(r)

	payload := hashHex(body)
	if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" {
		payload = v
	}
	rawPath, rawQuery := wireTarget(r)
	params, _ := parseQuery(rawQuery) // a query that does not decode is signed as empty and will not verify
	cr := canonicalRequest(r.Method, canonicalURI(rawPath, normalize), canonicalQuery(params), canonicalHeaders(r, s.SignedHeaders), payload)
	r.Header.Set("Authorization", Algorithm+" Credential="+accessKeyID+"/"+s.scope()+
		", SignedHeaders="+strings.Join(s.SignedHeaders, ";")+", Signature="+s.sign(secret, cr))
}

// Presign signs r in the presigned query form: it appends X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
// X-Amz-Security-Token (when sessionToken is not empty) and X-Amz-Signature
// to the query, which must not already carry them. Headers are chosen as
// Sign chooses them; the payload hash is the SHA-256 of body. expires is
// rounded down to whole seconds.
func Presign(r *http.Request, body []byte, accessKeyID, secret, sessionToken, region, service string, now time.Time, expires time.Duration) {
	presign(r, body, accessKeyID, secret, sessionToken, region, service, now, expires, true)
}

func presign(r *http.Request, body []byte, accessKeyID, secret, sessionToken, region, service string, now time.Time, expires time.Duration, normalize bool) {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	s := newSigning(accessKeyID, region, service, now)
	s.SignedHeaders = headersToSign(r)

	rawPath, rawQuery := wireTarget(r)
	add := []pair{
		{"X-Amz-Algorithm", Algorithm},
		{"X-Amz-Credential", accessKeyID + "/" + s.scope()},
		{"X-Amz-Date", s.amzDate},
		{"X-Amz-Expires", strconv.FormatInt(int64(expires/time.Second), 10)},
		{"X-Amz-SignedHeaders", strings.Join(s.SignedHeaders, ";")},
	}
	if sessionToken != "" {
		add = append(add, pair{"X-Amz-Security-Token", sessionToken})
	}
	query := []byte(rawQuery)
	for _, p := range add {
		if len(query) > 0 {
			query = append(query, '&')
		}
		query = appendEncoded(query, p.key, false)
		query = append(query, '=')
		query = appendEncoded(query, p.value, false)
	}
	params, _ := parseQuery(string(query))
	cr := canonicalRequest(r.Method, canonicalURI(rawPath, normalize), canonicalQuery(params), canonicalHeaders(r, s.SignedHeaders), hashHex(body))
	query = append(query, "&X-Amz-Signature="...)
	query = append(query, s.sign(secret, cr)...)

	if r.URL != nil {
		r.URL.RawQuery = string(query)
	}
	if r.RequestURI != "" {
		r.RequestURI = rawPath + "?" + string(query)
	}
}

func newSigning(accessKeyID, region, service string, now time.Time) *Signature {
	t := now.UTC().Truncate(time.Second)
	amz := t.Format(isoLayout)
	return &Signature{
		AccessKeyID: accessKeyID, Date: t, Region: region, Service: service,
		scopeDate: amz[:8], terminator: Terminator, amzDate: amz,
	}
}

func (s *Signature) sign(secret, canonicalRequest string) string {
	return hmacHex(s.signingKey(secret), s.stringToSign(canonicalRequest))
}

// headersToSign names host and every header of r that may be signed, lower
// case and sorted; content-length too when the length lives only in
// r.ContentLength, as in client requests.
func headersToSign(r *http.Request) []string {
	names := []string{"host"}
	for k := range r.Header {
		n := strings.ToLower(k)
		if n != "host" && !ignoredHeaders[n] && validHeaderName(n) {
			names = append(names, n)
		}
	}
	if r.ContentLength > 0 && r.Header.Get("Content-Length") == "" {
		names = append(names, "content-length")
	}
	slices.Sort(names)
	return slices.Compact(names)
}

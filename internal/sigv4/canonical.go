package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// pair is one decoded query parameter, in arrival order.
type pair struct{ key, value string }

func lookup(params []pair, key string) (string, bool) {
	for _, p := range params {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

func count(params []pair, key string) int {
	n := 0
	for _, p := range params {
		if p.key == key {
			n++
		}
	}
	return n
}

// parseQuery splits a raw query string on '&' and decodes each key and
// value. Like Go's url.ParseQuery (which irsa's Query codec uses to read the
// same parameters), '+' decodes to a space, so the signature covers exactly
// what the application reads. A key without '=' has an empty value.
func parseQuery(raw string) ([]pair, error) {
	if raw == "" {
		return nil, nil
	}
	if strings.Count(raw, "&") >= MaxQueryParams {
		return nil, newError(CodeMalformedQueryString, "Query string has more than "+strconv.Itoa(MaxQueryParams)+" parameters.")
	}
	params := make([]pair, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := unescape(k)
		if err != nil {
			return nil, err
		}
		value, err := unescape(v)
		if err != nil {
			return nil, err
		}
		params = append(params, pair{key, value})
	}
	return params, nil
}

func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) {
				return "", newError(CodeMalformedQueryString, "Incomplete trailing escape % sequence")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", newError(CodeMalformedQueryString, "Illegal hex character in escape % pattern: %"+s[i+1:i+3])
			}
			b = append(b, hi<<4|lo)
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const upperhex = "0123456789ABCDEF"

// appendEncoded percent-encodes every byte outside AWS's unreserved set
// (A-Z a-z 0-9 - _ . ~), with upper-case hex; '/' is kept when keepSlash.
func appendEncoded(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', keepSlash && c == '/':
			dst = append(dst, c)
		default:
			dst = append(dst, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return dst
}

func encode(s string) string { return string(appendEncoded(nil, s, false)) }

// wireTarget returns the path and query as the client sent them. On the
// server that is r.RequestURI, which net/http keeps verbatim; a request
// built by a client has none, and its URL is what will be sent.
func wireTarget(r *http.Request) (path, query string) {
	if t := r.RequestURI; t != "" && t != "*" {
		if t[0] != '/' {
			// Absolute form: scheme://authority/path?query.
			if i := strings.Index(t, "://"); i >= 0 {
				t = t[i+3:]
				switch j := strings.IndexAny(t, "/?"); {
				case j < 0:
					t = "/"
				case t[j] == '?':
					t = "/" + t[j:]
				default:
					t = t[j:]
				}
			}
		}
		path, query, _ = strings.Cut(t, "?")
		return path, query
	}
	if r.URL == nil {
		return "/", ""
	}
	if o := r.URL.Opaque; o != "" {
		// An opaque "//host/path" pins the path's encoding on the wire.
		if rest, ok := strings.CutPrefix(o, "//"); ok {
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				return rest[j:], r.URL.RawQuery
			}
			return "/", r.URL.RawQuery
		}
		return o, r.URL.RawQuery
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

// normalizePath removes "." and ".." segments and empty segments (so "//"
// becomes "/"), keeping a trailing slash when the path ends in a directory.
func normalizePath(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	last := segs[len(segs)-1]
	res := "/" + strings.Join(out, "/")
	if len(out) > 0 && (last == "" || last == "." || last == "..") {
		res += "/"
	}
	return res
}

// canonicalURI encodes the path as sent once more: the wire path is already
// percent-encoded, so a '%' becomes "%25" (AWS's "double encoding" for
// every service but S3).
func canonicalURI(rawPath string, normalize bool) string {
	if normalize {
		rawPath = normalizePath(rawPath)
	} else if rawPath == "" {
		rawPath = "/"
	}
	return string(appendEncoded(make([]byte, 0, len(rawPath)+8), rawPath, true))
}

// canonicalQuery encodes every parameter except those skip names, sorted by
// encoded key, then encoded value.
func canonicalQuery(params []pair, skip ...string) string {
	if len(params) == 0 {
		return ""
	}
	type kv struct{ k, v string }
	enc := make([]kv, 0, len(params))
	size := 0
	for _, p := range params {
		if slices.Contains(skip, p.key) {
			continue
		}
		e := kv{encode(p.key), encode(p.value)}
		size += len(e.k) + len(e.v) + 2
		enc = append(enc, e)
	}
	slices.SortFunc(enc, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	b := make([]byte, 0, size)
	for i, e := range enc {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, e.k...)
		b = append(b, '=')
		b = append(b, e.v...)
	}
	return string(b)
}

// canonicalHeaders is the header block of the canonical request followed by
// the signed header list: "name:value\n" for each signed header, a blank
// line, then "name;name".
func canonicalHeaders(r *http.Request, names []string) string {
	b := make([]byte, 0, 256)
	for _, name := range names {
		b = append(b, name...)
		b = append(b, ':')
		b = appendHeaderValue(b, r, name)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, name := range names {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, name...)
	}
	return string(b)
}

// appendHeaderValue writes the canonical value of one header: each value
// trimmed, inner runs of blanks collapsed to one space, repeated headers
// joined with ',' in arrival order. net/http keeps Host out of r.Header, and
// a client request (no RequestURI) keeps its length in r.ContentLength; a
// server request is judged on the headers that arrived.
func appendHeaderValue(dst []byte, r *http.Request, name string) []byte {
	if name == "host" {
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		return appendTrimmed(dst, h)
	}
	values := r.Header[textproto.CanonicalMIMEHeaderKey(name)]
	if len(values) == 0 && name == "content-length" && r.ContentLength > 0 && r.RequestURI == "" {
		return strconv.AppendInt(dst, r.ContentLength, 10)
	}
	for i, v := range values {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTrimmed(dst, v)
	}
	return dst
}

func appendTrimmed(dst []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	blank := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' {
			blank = true
			continue
		}
		if blank {
			dst = append(dst, ' ')
			blank = false
		}
		dst = append(dst, c)
	}
	return dst
}

func canonicalRequest(method, uri, query, headers, payloadHash string) string {
	var b strings.Builder
	b.Grow(len(method) + len(uri) + len(query) + len(headers) + len(payloadHash) + 4)
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	b.WriteString(headers)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func (s *Signature) scope() string {
	return s.scopeDate + "/" + s.Region + "/" + s.Service + "/" + s.terminator
}

func (s *Signature) stringToSign(canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + s.amzDate + "\n" + s.scope() + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives the key for one day, region and service.
func (s *Signature) signingKey(secret string) []byte {
	k := hmacSum([]byte("AWS4"+secret), s.scopeDate)
	k = hmacSum(k, s.Region)
	k = hmacSum(k, s.Service)
	return hmacSum(k, s.terminator)
}

func hmacSum(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacHex(key []byte, data string) string { return hex.EncodeToString(hmacSum(key, data)) }

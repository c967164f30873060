package awsquery

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// Namespaces of the Query APIs irsa serves.
const (
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	// FaultNamespace is the generic namespace AWS answers InvalidAction in,
	// whichever service was called. MarshalError uses it for that code.
	FaultNamespace = "http://webservices.amazon.com/AWSFault/2005-15-09"
)

// API versions, as the Version parameter carries them.
const (
	STSVersion = "2011-06-15"
	IAMVersion = "2010-05-08"
)

// Content types of the two renderings.
const (
	ContentTypeXML  = "text/xml"
	ContentTypeJSON = "application/json"
)

// Limits that bound the memory one request can make the codec use.
const (
	// MaxBodySize is the largest form body ParseRequest accepts. The
	// largest legitimate parameter, a 131,072-character IAM policy document,
	// is at most three times that once percent-encoded. The HTTP layer
	// should stop reading at this size too (http.MaxBytesReader).
	MaxBodySize = 1 << 20
	// MaxParams is the largest number of name=value pairs in the query
	// string and the body together.
	MaxParams = 10000
	// MaxListMembers is the largest index accepted in Name.member.N.
	MaxListMembers = 1000
)

// CodeMalformedInput is the code AWS answers when a parameter cannot be
// deserialised (a DurationSeconds of "abc" or "900.0"). awserr has no
// constant for it yet; its status is the default 400.
const CodeMalformedInput = "MalformedInput"

// CodeRequestEntityTooLarge is irsa's answer to a body over MaxBodySize,
// with status 413.
const CodeRequestEntityTooLarge = "RequestEntityTooLarge"

// Request is a Query API request: the operation and every parameter, from
// the query string and (for POST) the form body, query string first.
type Request struct {
	Action  string
	Version string
	// Params holds every parameter, Action and Version included.
	Params url.Values
}

// ParseRequest reads a Query request. query is the decoded query string
// (use ParseQuery on the raw query for strict decoding); body is read only
// for POST with Content-Type application/x-www-form-urlencoded (any
// parameters, such as charset, are allowed). Like AWS, a body sent with any
// other content type is ignored.
//
// Errors are *awserr.Error: MissingAction when there is no Action
// parameter; InvalidParameterValue when Action or Version is repeated or
// there are more than MaxParams parameters; MalformedQueryString when a
// query name or value is not UTF-8;
// MalformedInput for a body that is not valid form encoding or UTF-8;
// RequestEntityTooLarge (413) for a body over MaxBodySize. An Action that is
// present but empty is not an error here: the dispatcher answers it, like
// any unknown action, with r.InvalidAction().
func ParseRequest(method string, query url.Values, contentType string, body []byte) (*Request, error) {
	params := make(url.Values, len(query)+8)
	n := 0
	for k, vs := range query {
		if !utf8.ValidString(k) {
			return nil, malformedQuery(errors.New("parameter name is not UTF-8"))
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, malformedQuery(fmt.Errorf("value of %q is not UTF-8", k))
			}
		}
		n += len(vs)
		params[k] = append([]string(nil), vs...)
	}
	if n > MaxParams {
		return nil, tooManyParams()
	}
	if method == "POST" && isForm(contentType) && len(body) > 0 {
		if len(body) > MaxBodySize {
			return nil, awserr.Newf(CodeRequestEntityTooLarge,
				"The request body is larger than %d bytes.", MaxBodySize).WithStatus(413)
		}
		if err := parseForm(string(body), params, n, bodyError); err != nil {
			return nil, err
		}
	}

	actions, ok := params["Action"]
	if !ok {
		return nil, awserr.New(awserr.MissingAction, "The request must contain the parameter Action.")
	}
	if len(actions) > 1 {
		return nil, repeated("Action")
	}
	r := &Request{Action: actions[0], Params: params}
	if vs := params["Version"]; len(vs) > 1 {
		return nil, repeated("Version")
	} else if len(vs) == 1 {
		r.Version = vs[0]
	}
	return r, nil
}

// InvalidAction is the error for an Action this service does not have at
// r.Version, worded as AWS words it.
func (r *Request) InvalidAction() *awserr.Error {
	v := r.Version
	if _, ok := r.Params["Version"]; !ok {
		v = "NO_VERSION_SPECIFIED"
	}
	return awserr.Newf(awserr.InvalidAction, "Could not find operation %s for version %s", r.Action, v)
}

// ParseQuery decodes a raw query string strictly: a malformed percent
// escape or a name or value that is not UTF-8 is an error
// (MalformedQueryString), where url.ParseQuery and http.Request.URL.Query
// would skip the pair. "+" is a space; ";" is an ordinary character;
// empty pairs ("a=1&&b=2") are skipped; a name without "=" has the empty
// value.
func ParseQuery(raw string) (url.Values, error) {
	v := make(url.Values)
	if err := parseForm(raw, v, 0, queryError); err != nil {
		return nil, err
	}
	return v, nil
}

// WantsJSON reports whether an Accept header asks for the JSON rendering:
// application/json is listed with a quality above zero and above that of
// text/xml and application/xml. Wildcards count for neither, so "*/*" and
// an absent header keep XML.
func WantsJSON(accept string) bool {
	var qJSON, qXML float64
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			} else {
				continue
			}
		}
		switch mt {
		case "application/json":
			qJSON = max(qJSON, q)
		case "text/xml", "application/xml":
			qXML = max(qXML, q)
		}
	}
	return qJSON > 0 && qJSON > qXML
}

func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

type errorKind int

const (
	queryError errorKind = iota
	bodyError
)

func (k errorKind) wrap(cause error) error {
	if k == queryError {
		return malformedQuery(cause)
	}
	return &awserr.Error{Code: CodeMalformedInput, Message: "The request body is not valid application/x-www-form-urlencoded data.", Cause: cause}
}

func malformedQuery(cause error) error {
	return &awserr.Error{Code: awserr.MalformedQueryString, Message: "The query string contains a syntax error.", Cause: cause}
}

func tooManyParams() error {
	return awserr.Newf(awserr.InvalidParameterValue, "The request has more than %d parameters.", MaxParams)
}

func repeated(name string) error {
	return awserr.Newf(awserr.InvalidParameterValue, "The parameter %s is given more than once.", name)
}

// parseForm adds the pairs of s to dst. n is the number of values already
// in dst, counted against MaxParams.
func parseForm(s string, dst url.Values, n int, kind errorKind) error {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		n++
		if n > MaxParams {
			return tooManyParams()
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := unescape(rawKey)
		if err != nil {
			return kind.wrap(err)
		}
		value, err := unescape(rawValue)
		if err != nil {
			return kind.wrap(fmt.Errorf("parameter %q: %w", key, err))
		}
		if key == "" {
			continue
		}
		dst[key] = append(dst[key], value)
	}
	return nil
}

// unescape decodes form encoding: %XX (either case) is a byte, + is a
// space. The result must be UTF-8.
func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		if !utf8.ValidString(s) {
			return "", errors.New("not UTF-8")
		}
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", fmt.Errorf("malformed percent escape at byte %d", i)
			}
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		case '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return "", errors.New("not UTF-8 once decoded")
	}
	return out, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

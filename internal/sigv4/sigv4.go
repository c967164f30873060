package sigv4

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// Terminator ends every credential scope.
const Terminator = "aws4_request"

// UnsignedPayload is the payload hash a presigned request may declare
// instead of the body's SHA-256. irsa accepts it only when the body is empty.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// Time limits.
const (
	// MaxSkew is how far a request's timestamp may be from the server's
	// clock, either way. The boundary itself is allowed.
	MaxSkew = 5 * time.Minute
	// MaxExpires is the longest X-Amz-Expires a presigned request may carry
	// (seven days, as AWS allows).
	MaxExpires = 7 * 24 * time.Hour
)

// Input limits. Anything larger is refused before any canonicalisation work.
const (
	MaxAuthorizationLength = 8 << 10  // bytes of the Authorization header
	MaxSignedHeaders       = 64       // names in SignedHeaders
	MaxQueryLength         = 64 << 10 // bytes of the raw query string
	MaxQueryParams         = 1000     // key=value pairs in the query string
	MaxPathLength          = 16 << 10 // bytes of the raw request path
	maxCredentialLength    = 1 << 10
	maxSignatureLength     = 256
	maxDateLength          = 64
)

// Error codes, AWS's wire names for the Query protocol.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	CodeIncompleteSignature        = "IncompleteSignature"
	CodeSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	CodeInvalidClientTokenID       = "InvalidClientTokenId"
	CodeRequestExpired             = "RequestExpired"
	CodeMalformedQueryString       = "MalformedQueryString"
)

// Messages AWS sends verbatim.
const (
	MsgMissingAuthenticationToken = "Request is missing Authentication Token"
	MsgSignatureDoesNotMatch      = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	MsgInvalidClientTokenID       = "The security token included in the request is invalid."
	MsgRequestExpired             = "Request has expired."
	MsgPayloadHashMismatch        = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgBothForms                  = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
	msgHostNotSigned              = "'Host' must be a 'SignedHeader' in the AWS Authorization."
)

// Error is a signature failure: Code and Message are what AWS answers.
// For SignatureDoesNotMatch raised by the comparison itself,
// CanonicalRequest and StringToSign hold what irsa computed (AWS appends
// them to the message; see DetailedMessage). They are never secret.
type Error struct {
	Code    string
	Message string

	CanonicalRequest string
	StringToSign     string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// DetailedMessage is Message followed, when known, by the canonical request
// and string to sign in the layout AWS's Query services use.
func (e *Error) DetailedMessage() string {
	if e.CanonicalRequest == "" {
		return e.Message
	}
	return e.Message + "\n\nThe Canonical String for this request should have been\n'" +
		e.CanonicalRequest + "'\n\nThe String-to-Sign should have been\n'" + e.StringToSign + "'\n"
}

func newError(code, message string) *Error { return &Error{Code: code, Message: message} }

func incomplete(format string, args ...any) *Error {
	return newError(CodeIncompleteSignature, fmt.Sprintf(format, args...))
}

func mismatch(format string, args ...any) *Error {
	return newError(CodeSignatureDoesNotMatch, fmt.Sprintf(format, args...))
}

// Signature is what a request claims: who signed it, when, for which scope,
// over which headers. Parse fills it; Check and Verify judge it. Treat it as
// read-only: Verify relies on the values Parse found.
type Signature struct {
	AccessKeyID   string
	Date          time.Time // UTC, whole seconds
	Region        string
	Service       string
	SignedHeaders []string      // lower case, sorted, unique, includes "host"
	Signature     string        // hex, as sent
	SecurityToken string        // X-Amz-Security-Token, "" when absent
	Presigned     bool          // query-string form
	Expires       time.Duration // X-Amz-Expires of a presigned request, 0 when absent

	scopeDate  string // YYYYMMDD from the credential
	terminator string // last credential element
	amzDate    string // the request time in ISO 8601 basic format
	hasExpires bool
}

const isoLayout = "20060102T150405Z"

// Parse reads the signature of r, from the Authorization header or from the
// presigned query parameters. It checks the form only; the signature itself
// is checked by Verify.
func Parse(r *http.Request) (*Signature, error) {
	_, rawQuery := wireTarget(r)
	if len(rawQuery) > MaxQueryLength {
		return nil, newError(CodeMalformedQueryString, fmt.Sprintf("Query string is longer than %d bytes.", MaxQueryLength))
	}
	params, err := parseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	auths := r.Header.Values("Authorization")
	_, queryForm := lookup(params, "X-Amz-Algorithm")
	switch {
	case len(auths) > 1:
		return nil, incomplete("Found more than one 'Authorization' header.")
	case len(auths) == 1 && auths[0] != "" && queryForm:
		return nil, mismatch(msgBothForms)
	case len(auths) == 1 && auths[0] != "":
		if !strings.HasPrefix(strings.TrimSpace(auths[0]), "AWS4-") {
			return nil, newError(CodeMissingAuthenticationToken, MsgMissingAuthenticationToken)
		}
		return parseHeader(r, auths[0])
	case queryForm:
		return parsePresigned(params)
	}
	return nil, newError(CodeMissingAuthenticationToken, MsgMissingAuthenticationToken)
}

// parseHeader reads "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
// Signature=…". Like AWS it splits on blanks and commas, so both ", " and
// "," separate parameters.
func parseHeader(r *http.Request, auth string) (*Signature, error) {
	if len(auth) > MaxAuthorizationLength {
		return nil, incomplete("Authorization header is longer than %d bytes.", MaxAuthorizationLength)
	}
	fields := strings.FieldsFunc(auth, func(c rune) bool { return c == ' ' || c == '\t' || c == ',' })
	algorithm := fields[0] // non-empty: the header starts with "AWS4-"
	var credential, signedHeaders, signature string
	var seen [3]bool
	for _, f := range fields[1:] {
		key, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, incomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", f, auth)
		}
		var dst *string
		var i int
		switch key {
		case "Credential":
			dst, i = &credential, 0
		case "SignedHeaders":
			dst, i = &signedHeaders, 1
		case "Signature":
			dst, i = &signature, 2
		default:
			continue // AWS ignores parameters it does not know
		}
		if seen[i] {
			return nil, incomplete("Authorization header has more than one '%s' parameter. Authorization=%s", key, auth)
		}
		seen[i] = true
		*dst = value
	}

	amzDates := r.Header.Values("X-Amz-Date")
	dates := r.Header.Values("Date")
	var missing strings.Builder
	for _, p := range [...]struct{ name, value string }{
		{"Credential", credential}, {"Signature", signature}, {"SignedHeaders", signedHeaders},
	} {
		if p.value == "" {
			fmt.Fprintf(&missing, "Authorization header requires '%s' parameter. ", p.name)
		}
	}
	if !nonEmpty(amzDates) && !nonEmpty(dates) {
		missing.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if missing.Len() > 0 {
		return nil, incomplete("%sAuthorization=%s", missing.String(), auth)
	}

	s := &Signature{Signature: signature}
	var err error
	if nonEmpty(amzDates) {
		s.Date, err = parseAmzDate(amzDates)
	} else {
		s.Date, err = parseHTTPDate(dates)
	}
	if err != nil {
		return nil, err
	}
	if err := s.finish(algorithm, credential, signedHeaders); err != nil {
		return nil, err
	}
	if len(signature) > maxSignatureLength {
		return nil, mismatch(MsgSignatureDoesNotMatch)
	}
	tokens := r.Header.Values("X-Amz-Security-Token")
	if len(tokens) > 1 {
		return nil, incomplete("Found more than one 'X-Amz-Security-Token' header.")
	}
	if len(tokens) == 1 {
		s.SecurityToken = tokens[0]
	}
	return s, nil
}

// presignParams are the query parameters that carry a presigned signature.
// None may repeat: a second copy is exactly the ambiguity that let
// aws-iam-authenticator be fooled (CVE-2022-2385).
var presignParams = [...]string{
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Content-Sha256",
}

func parsePresigned(params []pair) (*Signature, error) {
	for _, name := range presignParams {
		if count(params, name) > 1 {
			return nil, incomplete("AWS query-string parameters must not repeat '%s'. Re-examine the query-string parameters.", name)
		}
	}
	get := func(name string) string { v, _ := lookup(params, name); return v }
	var missing strings.Builder
	for _, name := range [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
		if get(name) == "" {
			fmt.Fprintf(&missing, "AWS query-string parameters must include '%s'. ", name)
		}
	}
	if missing.Len() > 0 {
		return nil, incomplete("%sRe-examine the query-string parameters.", missing.String())
	}

	s := &Signature{Signature: get("X-Amz-Signature"), Presigned: true, SecurityToken: get("X-Amz-Security-Token")}
	var err error
	if s.Date, err = parseAmzDate([]string{get("X-Amz-Date")}); err != nil {
		return nil, err
	}
	if err := s.finish(get("X-Amz-Algorithm"), get("X-Amz-Credential"), get("X-Amz-SignedHeaders")); err != nil {
		return nil, err
	}
	if len(s.Signature) > maxSignatureLength {
		return nil, mismatch(MsgSignatureDoesNotMatch)
	}
	if v, ok := lookup(params, "X-Amz-Expires"); ok {
		if s.Expires, err = parseExpires(v); err != nil {
			return nil, err
		}
		s.hasExpires = true
	}
	return s, nil
}

// finish checks what both forms share, in AWS's order: the signed header
// list (which must name host), the algorithm, then the credential's shape.
func (s *Signature) finish(algorithm, credential, signedHeaders string) error {
	names, err := parseSignedHeaders(signedHeaders)
	if err != nil {
		return err
	}
	s.SignedHeaders = names
	if algorithm != Algorithm {
		return incomplete("Unsupported AWS 'algorithm': '%s' (only %s for now). ", truncate(algorithm, 128), Algorithm)
	}
	if len(credential) > maxCredentialLength {
		return incomplete("Credential is longer than %d bytes.", maxCredentialLength)
	}
	// AWS ignores trailing slashes when counting the elements.
	parts := strings.Split(strings.TrimRight(credential, "/"), "/")
	if len(parts) != 5 {
		return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", credential)
	}
	if parts[0] == "" {
		return newError(CodeInvalidClientTokenID, MsgInvalidClientTokenID)
	}
	s.AccessKeyID, s.scopeDate, s.Region, s.Service, s.terminator = parts[0], parts[1], parts[2], parts[3], parts[4]
	s.amzDate = s.Date.Format(isoLayout)
	return nil
}

// parseSignedHeaders accepts what the specification describes and every SDK
// sends: lower-case header names, sorted, without repeats, host among them.
func parseSignedHeaders(list string) ([]string, error) {
	names := strings.Split(list, ";")
	if len(names) > MaxSignedHeaders {
		return nil, incomplete("SignedHeaders names more than %d headers.", MaxSignedHeaders)
	}
	host := false
	for i, n := range names {
		if !validHeaderName(n) || (i > 0 && n <= names[i-1]) {
			return nil, incomplete("SignedHeaders must be a sorted, semicolon-separated list of unique lower-case header names, got '%s'.", truncate(list, 256))
		}
		host = host || n == "host"
	}
	if !host {
		return nil, mismatch(msgHostNotSigned)
	}
	return names, nil
}

func validHeaderName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func parseAmzDate(values []string) (time.Time, error) {
	v := strings.Join(values, ",")
	if len(values) != 1 || !isISOBasic(v) {
		return time.Time{}, badDate(v)
	}
	t, err := time.Parse(isoLayout, v)
	if err != nil {
		return time.Time{}, badDate(v)
	}
	return t, nil
}

// isISOBasic checks the exact shape YYYYMMDD'T'HHMMSS'Z'; time.Parse alone
// would accept a one-digit hour.
func isISOBasic(v string) bool {
	if len(v) != len(isoLayout) || v[8] != 'T' || v[15] != 'Z' {
		return false
	}
	for i := 0; i < 15; i++ {
		if i != 8 && (v[i] < '0' || v[i] > '9') {
			return false
		}
	}
	return true
}

func parseHTTPDate(values []string) (time.Time, error) {
	v := strings.Join(values, ",")
	if len(values) != 1 {
		return time.Time{}, badDate(v)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return time.Time{}, badDate(v)
	}
	return t.UTC(), nil
}

func badDate(v string) *Error {
	return incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", truncate(v, maxDateLength))
}

// parseExpires reads X-Amz-Expires: whole seconds, 0 to seven days. The
// messages are S3's, the only AWS service that documents the parameter.
func parseExpires(v string) (time.Duration, error) {
	digits := strings.TrimPrefix(v, "-")
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, incomplete("X-Amz-Expires should be a number")
		}
	}
	switch {
	case digits == "":
		return 0, incomplete("X-Amz-Expires should be a number")
	case len(digits) != len(v):
		return 0, incomplete("X-Amz-Expires must be non-negative")
	}
	const limit = int64(MaxExpires / time.Second)
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > limit {
		return 0, incomplete("X-Amz-Expires must be less than a week (in seconds) that is %d", limit)
	}
	return time.Duration(n) * time.Second, nil
}

func nonEmpty(values []string) bool {
	for _, v := range values {
		if v != "" {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

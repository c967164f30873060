package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// Check makes the checks AWS makes before it looks up the access key: the
// request time against now (MaxSkew either way; for a presigned request with
// X-Amz-Expires, until that many seconds after X-Amz-Date), then the
// credential scope. region and service are what the endpoint serves; ""
// skips that comparison. The scope's terminator and date are always checked.
// Verify runs Check itself, so calling it first is only needed to answer
// with AWS's error precedence before a key lookup.
func (s *Signature) Check(now time.Time, region, service string) error {
	if s == nil || s.amzDate == "" {
		// Not a Signature from Parse.
		return newError(CodeMissingAuthenticationToken, MsgMissingAuthenticationToken)
	}
	if err := s.checkTime(now); err != nil {
		return err
	}
	if msg := s.scopeProblems(region, service); msg != "" {
		return mismatch("%s", msg)
	}
	return nil
}

func iso(t time.Time) string { return t.UTC().Format(isoLayout) }

func (s *Signature) checkTime(now time.Time) error {
	now = now.UTC().Truncate(time.Second)
	minutes := int(MaxSkew / time.Minute)
	if latest := now.Add(MaxSkew); s.Date.After(latest) {
		return mismatch("Signature not yet current: %s is still later than %s (%s + %d min.)", s.amzDate, iso(latest), iso(now), minutes)
	}
	if s.Presigned && s.hasExpires {
		if now.After(s.Date.Add(s.Expires)) {
			return newError(CodeRequestExpired, MsgRequestExpired)
		}
		return nil
	}
	if earliest := now.Add(-MaxSkew); s.Date.Before(earliest) {
		return mismatch("Signature expired: %s is now earlier than %s (%s - %d min.)", s.amzDate, iso(earliest), iso(now), minutes)
	}
	return nil
}

// scopeProblems lists every way the credential scope is wrong, in one
// message, as AWS does.
func (s *Signature) scopeProblems(region, service string) string {
	var msg string
	if region != "" && s.Region != region {
		msg += fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", s.Region)
	}
	if service != "" && s.Service != service {
		msg += fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", service)
	}
	if s.terminator != Terminator {
		msg += fmt.Sprintf("Credential should be scoped with a valid terminator: '%s', not '%s'. ", Terminator, s.terminator)
	}
	if s.scopeDate != s.amzDate[:8] {
		msg += fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", s.scopeDate, s.amzDate[:8], s.amzDate)
	}
	return msg
}

// Verify checks that r was signed with secret: Check (time, terminator,
// scope date), the payload hash, then the signature over the canonical
// request, compared in constant time. body is the request body already read
// by the caller (who bounds its size). It returns nil or an *Error.
func (s *Signature) Verify(r *http.Request, body []byte, secret string, now time.Time) error {
	if err := s.Check(now, "", ""); err != nil {
		return err
	}
	rawPath, rawQuery := wireTarget(r)
	if len(rawPath) > MaxPathLength {
		return mismatch("Request path is longer than %d bytes.", MaxPathLength)
	}
	if len(rawQuery) > MaxQueryLength {
		return newError(CodeMalformedQueryString, fmt.Sprintf("Query string is longer than %d bytes.", MaxQueryLength))
	}
	params, err := parseQuery(rawQuery)
	if err != nil {
		return err
	}
	payload, err := s.payloadHash(r, params, body)
	if err != nil {
		return err
	}
	headers := canonicalHeaders(r, s.SignedHeaders)
	key := s.signingKey(secret)

	uris := []string{canonicalURI(rawPath, true)}
	if raw := canonicalURI(rawPath, false); raw != uris[0] {
		uris = append(uris, raw)
	}
	var queries []string
	if s.Presigned {
		queries = append(queries, canonicalQuery(params, "X-Amz-Signature"))
		if _, ok := lookup(params, "X-Amz-Security-Token"); ok {
			queries = append(queries, canonicalQuery(params, "X-Amz-Signature", "X-Amz-Security-Token"))
		}
	} else {
		queries = append(queries, canonicalQuery(params))
	}

	var first *Error
	for _, query := range queries {
		for _, uri := range uris {
			cr := canonicalRequest(r.Method, uri, query, headers, payload)
			sts := s.stringToSign(cr)
			if s.matches(key, sts) {
				return nil
			}
			if first == nil {
				first = &Error{Code: CodeSignatureDoesNotMatch, Message: MsgSignatureDoesNotMatch, CanonicalRequest: cr, StringToSign: sts}
			}
		}
	}
	return first
}

func (s *Signature) matches(key []byte, stringToSign string) bool {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stringToSign))
	var sum [sha256.Size]byte
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], m.Sum(sum[:0]))
	return hmac.Equal(want[:], []byte(s.Signature))
}

// payloadHash is the last line of the canonical request: the SHA-256 of the
// body. A declared x-amz-content-sha256 (header, or query parameter of a
// presigned request) must equal it; the one exception is UNSIGNED-PAYLOAD
// on a presigned request with an empty body, where nothing goes unsigned.
func (s *Signature) payloadHash(r *http.Request, params []pair, body []byte) (string, error) {
	computed := hashHex(body)
	var declared []string
	declared = append(declared, r.Header.Values("X-Amz-Content-Sha256")...)
	if s.Presigned {
		if v, ok := lookup(params, "X-Amz-Content-Sha256"); ok {
			declared = append(declared, v)
		}
	}
	switch {
	case len(declared) == 0:
		return computed, nil
	case len(declared) > 1:
		return "", mismatch(MsgPayloadHashMismatch)
	case declared[0] == computed:
		return computed, nil
	case declared[0] == UnsignedPayload && s.Presigned && len(body) == 0:
		return UnsignedPayload, nil
	}
	return "", mismatch(MsgPayloadHashMismatch)
}

package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/webidentity"
)

// secretParams are the Query parameters that never reach the trail,
// compared ignoring case. Policy documents are kept: they are not secret
// and explain the call.
var secretParams = map[string]bool{
	"webidentitytoken": true, // hashed into tokenHash instead
	"samlassertion":    true,
	"sessiontoken":     true,
	"secretaccesskey":  true,
	"password":         true,
	"oldpassword":      true,
	"newpassword":      true,
	"privatekey":       true,
	"tokencode":        true, // an MFA code
	"clientsecret":     true,
	"providedcontexts": true, // signed context assertions
}

// Redact turns the parameters of an AWS Query request into CloudTrail's
// requestParameters, and returns the tokenHash of its WebIdentityToken ("" when
// there is none). Names lose their capital first letter as in CloudTrail
// (RoleArn → roleArn); X.member.N lists become arrays, of objects when
// their members have fields (Tags.member.1.Key → tags: [{key: …}]);
// numbers of parameters named *Seconds, *Duration and MaxItems become JSON
// numbers. Action, Version, the X-Amz-* parameters of presigned requests
// and every secret (the web identity token, SAML assertions, session
// tokens, secret keys, passwords) are dropped. The result is never nil.
func Redact(params url.Values) (requestParameters map[string]any, tokenHash string) {
	return redact(params, "")
}

// RedactVerified is Redact for a request whose web identity token has been
// verified: tokenID is the verified token's webidentity.Identity.TokenID,
// which is its TokenHash, so the token is not hashed a second time. When
// the request's token is not the one parameter WebIdentityToken with one
// value (the only token the Query decoder accepts), tokenID is not used.
func RedactVerified(params url.Values, tokenID string) (requestParameters map[string]any, tokenHash string) {
	return redact(params, tokenID)
}

func redact(params url.Values, tokenID string) (map[string]any, string) {
	out := make(map[string]any, len(params))
	var buf [16]string
	names := buf[:0]
	tokens := 0
	for k, vs := range params {
		names = append(names, k)
		if len(vs) > 0 && tokenID != "" && isTokenName(k) {
			tokens++
		}
	}
	if tokens != 1 || len(params["WebIdentityToken"]) != 1 {
		tokenID = ""
	}
	slices.Sort(names) // members in a stable order
	var tokenHash string
	var lbuf [64]byte
	for _, name := range names {
		vs := params[name]
		if len(vs) == 0 {
			continue
		}
		first, _, dotted := strings.Cut(name, ".")
		switch lower := lowerName(lbuf[:0], first); {
		case string(lower) == "action" || string(lower) == "version" || bytes.HasPrefix(lower, []byte("x-amz-")):
			continue
		case string(lower) == "webidentitytoken":
			if tokenID != "" {
				tokenHash = tokenID
			} else {
				tokenHash = TokenHash(vs[0])
			}
			continue
		case secretParams[string(lower)]:
			continue
		}
		if !dotted {
			putLeaf(out, camel(name), typed(name, vs[0]))
			continue
		}
		put(out, strings.Split(name, "."), typed(name, vs[0]))
	}
	return out, tokenHash
}

// isTokenName reports whether a parameter name is a web identity token
// for Redact: its first part is WebIdentityToken in any case.
func isTokenName(name string) bool {
	first, _, _ := strings.Cut(name, ".")
	var buf [64]byte
	return string(lowerName(buf[:0], first)) == "webidentitytoken"
}

// lowerName appends strings.ToLower(s) to dst, without allocating for the
// ASCII names of Query parameters.
func lowerName(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(dst[:0], strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// putLeaf stores v under key in m, unless key is taken: put for a name
// without dots.
func putLeaf(m map[string]any, key string, v any) {
	if _, taken := m[key]; !taken {
		m[key] = v
	}
}

// put stores v at the path of a Query parameter name in m. A path that
// clashes with one already stored (X=1 and X.member.1=2) keeps the first.
func put(m map[string]any, path []string, v any) {
	key := camel(path[0])
	rest := path[1:]
	if len(rest) == 0 {
		putLeaf(m, key, v)
		return
	}
	// X.member.N[.Field…] or X.entry.N…: a list.
	if len(rest) >= 2 && (rest[0] == "member" || rest[0] == "entry") {
		n, err := strconv.Atoi(rest[1])
		if err != nil || n < 1 || n > 1000 {
			return
		}
		list, ok := m[key].([]any)
		if _, taken := m[key]; taken && !ok {
			return
		}
		for len(list) < n {
			list = append(list, nil)
		}
		if len(rest) == 2 {
			if list[n-1] == nil {
				list[n-1] = v
			}
		} else {
			obj, ok := list[n-1].(map[string]any)
			if list[n-1] != nil && !ok {
				return
			}
			if obj == nil {
				obj = map[string]any{}
			}
			put(obj, rest[2:], v)
			list[n-1] = obj
		}
		m[key] = list
		return
	}
	obj, ok := m[key].(map[string]any)
	if _, taken := m[key]; taken && !ok {
		return
	}
	if obj == nil {
		obj = map[string]any{}
	}
	put(obj, rest, v)
	m[key] = obj
}

// camel lowers the first letter of a Query name, and the whole of a
// leading acronym (RoleARN stays roleARN: only the first rune).
func camel(s string) string {
	if c, ok := camelNames[s]; ok {
		return c
	}
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// camelNames are camel's results for the names of the parameters of the
// common calls, made once.
var camelNames = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		// STS
		"RoleArn", "RoleSessionName", "DurationSeconds", "Policy", "PolicyArns", "ProviderId",
		"ExternalId", "SerialNumber", "SourceIdentity", "Tags", "TransitiveTagKeys", "Key", "Value", "Arn",
		// IAM
		"RoleName", "UserName", "PolicyArn", "PolicyName", "PolicyDocument", "AssumeRolePolicyDocument",
		"Path", "PathPrefix", "Description", "MaxSessionDuration", "PermissionsBoundary",
		"Marker", "MaxItems", "TagKeys", "VersionId", "SetAsDefault",
	} {
		r, n := utf8.DecodeRuneInString(s)
		m[s] = string(unicode.ToLower(r)) + s[n:]
	}
	return m
}()

// typed makes numbers of the parameters CloudTrail shows as numbers.
func typed(name, v string) any {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if strings.HasSuffix(last, "Seconds") || strings.HasSuffix(last, "Duration") || last == "MaxItems" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return v
}

// TokenHash names a web identity token in the trail without revealing it:
// the hex SHA-256 of the token's signed content ("header.payload", the
// token without its signature), the same value as webidentity.Identity's
// TokenID, so that a token's failed and successful uses share one hash.
// A string that is not a compact JWS is hashed whole.
func TokenHash(token string) string {
	content := token
	if strings.Count(token, ".") == 2 {
		content = token[:strings.LastIndexByte(token, '.')]
	}
	sum := sha256.Sum256([]byte(content))
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// CredentialsElement is the credentials element of responseElements:
// the access key ID and the expiration, never the secret access key or
// the session token.
func CredentialsElement(accessKeyID string, expiration time.Time) Credentials {
	return Credentials{AccessKeyID: accessKeyID, Expiration: expiration}
}

// Credentials is the credentials element of responseElements, made by
// CredentialsElement: it has no field for a secret. Its JSON is that of
// the map {"accessKeyId": …, "expiration": …}, the expiration in
// TimeFormat.
type Credentials struct {
	AccessKeyID string
	Expiration  time.Time
}

// MarshalJSON writes c as the map of its two keys.
func (c Credentials) MarshalJSON() ([]byte, error) { return c.appendJSON(nil), nil }

func (c Credentials) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"accessKeyId":`...)
	dst = appendString(dst, c.AccessKeyID)
	dst = append(dst, `,"expiration":"`...)
	dst = c.Expiration.UTC().AppendFormat(dst, TimeFormat)
	return append(dst, '"', '}')
}

// WebIdentityUser is the userIdentity of a call made with a verified web
// identity token: the provider's ARN, and the token's sub as the
// federated identity. principalId is provider ARN:aud:sub as in
// CloudTrail.
func WebIdentityUser(id *webidentity.Identity) *UserIdentity {
	p := id.Provider.ARN
	attrs := make(map[string]string, 4)
	if id.MatchedAudience != "" {
		attrs["aud"] = id.MatchedAudience
	}
	if k := id.Kubernetes; k != nil {
		attrs["kubernetes.io/namespace"] = k.Namespace
		attrs["kubernetes.io/serviceaccount/name"] = k.ServiceAccountName
		if k.PodName != "" {
			attrs["kubernetes.io/pod/name"] = k.PodName
		}
	}
	if len(attrs) == 0 {
		attrs = nil
	}
	// One allocation for both.
	both := &struct {
		u UserIdentity
		w WebIDFederationData
	}{
		u: UserIdentity{
			Type:             IdentityWebIdentityUser,
			PrincipalID:      p + ":" + id.MatchedAudience + ":" + id.Subject,
			UserName:         id.Subject,
			AccountID:        id.Provider.AccountID,
			IdentityProvider: p,
		},
		w: WebIDFederationData{
			FederatedProvider: p,
			FederatedIdentity: id.Subject,
			Attributes:        attrs,
		},
	}
	both.u.WebIDFederationData = &both.w
	return &both.u
}

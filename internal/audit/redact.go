package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
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
	out := map[string]any{}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names) // members in a stable order
	for _, name := range names {
		vs := params[name]
		if len(vs) == 0 {
			continue
		}
		first, _, _ := strings.Cut(name, ".")
		lower := strings.ToLower(first)
		switch {
		case lower == "action" || lower == "version" || strings.HasPrefix(lower, "x-amz-"):
			continue
		case lower == "webidentitytoken":
			tokenHash = TokenHash(vs[0])
			continue
		case secretParams[lower]:
			continue
		}
		put(out, strings.Split(name, "."), typed(name, vs[0]))
	}
	return out, tokenHash
}

// put stores v at the path of a Query parameter name in m. A path that
// clashes with one already stored (X=1 and X.member.1=2) keeps the first.
func put(m map[string]any, path []string, v any) {
	key := camel(path[0])
	rest := path[1:]
	if len(rest) == 0 {
		if _, taken := m[key]; !taken {
			m[key] = v
		}
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
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

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
	return hex.EncodeToString(sum[:])
}

// CredentialsElement is the credentials element of responseElements:
// the access key ID and the expiration, never the secret access key or
// the session token.
func CredentialsElement(accessKeyID string, expiration time.Time) map[string]any {
	return map[string]any{
		"accessKeyId": accessKeyID,
		"expiration":  expiration.UTC().Format(TimeFormat),
	}
}

// WebIdentityUser is the userIdentity of a call made with a verified web
// identity token: the provider's ARN, and the token's sub as the
// federated identity. principalId is provider ARN:aud:sub as in
// CloudTrail.
func WebIdentityUser(id *webidentity.Identity) *UserIdentity {
	p := id.Provider.ARN
	attrs := map[string]string{}
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
	return &UserIdentity{
		Type:             IdentityWebIdentityUser,
		PrincipalID:      p + ":" + id.MatchedAudience + ":" + id.Subject,
		UserName:         id.Subject,
		AccountID:        id.Provider.AccountID,
		IdentityProvider: p,
		WebIDFederationData: &WebIDFederationData{
			FederatedProvider: p,
			FederatedIdentity: id.Subject,
			Attributes:        attrs,
		},
	}
}

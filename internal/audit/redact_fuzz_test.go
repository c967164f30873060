package audit_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/irsa-dev/irsa/internal/audit"
)

// strs collects every string of a decoded JSON value, keys included.
func strs(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		*out = append(*out, v)
	case []any:
		for _, e := range v {
			strs(e, out)
		}
	case map[string]any:
		for k, e := range v {
			*out = append(*out, k)
			strs(e, out)
		}
	}
}

// FuzzRedact: Redact never panics, and the secrets of a request never
// reach requestParameters, whatever the other parameters are.
func FuzzRedact(f *testing.F) {
	f.Add("RoleArn", "arn:aws:iam::000000000000:role/r", "tok.en.sig")
	f.Add("Tags.member.1.Key", "k", "secret-value")
	f.Add("A.member.1", "x", "s3cr3t")
	f.Add("A.member.1.B.member.2.C", "x", "s3cr3t")
	f.Fuzz(func(t *testing.T, name, value, secret string) {
		if len(secret) < 4 || strings.Contains(strings.ToLower(name+value), strings.ToLower(secret)) {
			return
		}
		params := url.Values{name: {value}}
		for _, s := range []string{"WebIdentityToken", "SessionToken", "SecretAccessKey", "SAMLAssertion", "Password", "X-Amz-Security-Token"} {
			if _, taken := params[s]; !taken {
				params[s] = []string{secret}
			}
		}
		out, _ := audit.Redact(params)
		var all []string
		strs(map[string]any(out), &all)
		for _, s := range all {
			if strings.Contains(s, secret) {
				t.Fatalf("Redact(%v) kept the secret: %v", params, out)
			}
		}
	})
}

package audit

import (
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// redactReference is Redact as first written, with strings.ToLower,
// strings.Split and camel for every name: the reference that the
// allocation-free Redact must match.
func redactReference(params url.Values) (map[string]any, string) {
	out := map[string]any{}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var tokenHash string
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

func checkRedact(t *testing.T, params url.Values) {
	t.Helper()
	want, wantHash := redactReference(params)
	got, hash := Redact(params)
	if d := cmp.Diff(want, got); d != "" || hash != wantHash {
		t.Fatalf("Redact(%q) (-reference +got):\n%s\nhash %q, reference %q", params, d, hash, wantHash)
	}
	// With the hash of the token already known, the same result; with a
	// wrong one, the known hash is used only for the one token the Query
	// decoder accepts.
	if tok := params["WebIdentityToken"]; len(tok) == 1 {
		got, hash = RedactVerified(params, TokenHash(tok[0]))
		if d := cmp.Diff(want, got); d != "" || hash != wantHash {
			t.Fatalf("RedactVerified(%q) (-reference +got):\n%s\nhash %q, reference %q", params, d, hash, wantHash)
		}
	}
	if _, hash = RedactVerified(params, "known"); hash != wantHash && hash != "known" {
		t.Fatalf("RedactVerified(%q, known) hash %q, reference %q", params, hash, wantHash)
	}
}

func TestRedactMatchesReference(t *testing.T) {
	for _, p := range []url.Values{
		{},
		{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::1:role/r"},
			"RoleSessionName": {"s"}, "WebIdentityToken": {"a.b.c"}, "DurationSeconds": {"900"}},
		{"WebIdentityToken": {"a.b.c"}, "webidentitytoken": {"x.y.z"}},
		{"WebIdentityToken": {"a.b.c", "d.e.f"}},
		{"WEBIDENTITYTOKEN": {"a.b.c"}},
		{"RoleArn": {"x"}, "roleArn": {"y"}, "ROLEARN": {"z"}, "Rolearn": {"w"}},
		{"Tags.member.1.Key": {"k"}, "Tags.member.1.Value": {"v"}, "Tags.member.2.Key": {"k2"}, "Tags": {"flat"}},
		{"PolicyArns.member.1.arn": {"a"}, "MaxItems": {"12"}, "MaxItems.x": {"1"}, "FooSeconds": {"x"}},
		{"To\u212aenCode": {"123456"}, "Pass\u212aword": {"p"}, "Émile": {"e"}, "ÉMILE": {"e2"}, "émile": {"e3"}},
		{"X-Amz-Signature": {"s"}, "x-amz-credential": {"c"}, "X-Amz": {"kept"}, "": {"empty"}, ".": {"dot"}},
		{strings.Repeat("A", 70): {"long"}, strings.Repeat("Secret", 12): {"x"}, "Empty": {}},
		{"A.member.1": {"x"}, "A.member.1.B": {"y"}, "B.entry.2.K": {"k"}, "C.member.1001": {"big"}},
	} {
		checkRedact(t, p)
	}
}

// FuzzRedactMatchesReference holds Redact to redactReference.
func FuzzRedactMatchesReference(f *testing.F) {
	f.Add("RoleArn", "arn:aws:iam::000000000000:role/r", "WebIdentityToken", "a.b.c")
	f.Add("Tags.member.1.Key", "k", "Tags.member.1.Value", "v")
	f.Add("To\u212aenCode", "1", "webIdentityToken", "x")
	f.Add("DurationSeconds", "3600", "X-Amz-Date", "20260101")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		params := url.Values{n1: {v1}}
		params[n2] = append(params[n2], v2)
		params["Action"] = []string{"AssumeRole"}
		checkRedact(t, params)
	})
}

package awsquery

import (
	"strings"
	"testing"
)

// BenchmarkWebIdentityRoundTrip is the codec's share of one
// AssumeRoleWithWebIdentity call: parse the body, decode it, render the
// result.
func BenchmarkWebIdentityRoundTrip(b *testing.B) {
	body := []byte("Action=AssumeRoleWithWebIdentity&Version=2011-06-15" +
		"&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fs3-reader&RoleSessionName=botocore-session-1767225600" +
		"&WebIdentityToken=" + strings.Repeat("eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ", 30))
	result := resultCases()[0].result
	b.ReportAllocs()
	for b.Loop() {
		r, err := ParseRequest("POST", nil, form, body)
		if err != nil {
			b.Fatal(err)
		}
		var in assumeRoleWithWebIdentityInput
		if err := Decode(r.Params, &in); err != nil {
			b.Fatal(err)
		}
		if _, _, err := MarshalResult(r.Action, STSNamespace, testRequestID, result, false); err != nil {
			b.Fatal(err)
		}
	}
}

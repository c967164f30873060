package awsquery

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// The expected messages are AWS's, as STS and IAM answer them (see doc.go
// and the recorded snapshots).
func TestViolations(t *testing.T) {
	const arnPattern = `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`
	for _, tc := range []struct {
		name string
		add  func(v *Violations)
		want string
	}{
		{"none", func(*Violations) {}, ""},
		{"absent", func(v *Violations) { v.Add("roleArn", nil, NotNull) },
			"1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"},
		{"too short", func(v *Violations) { v.Add("roleArn", ptr("not-an-arn"), MinLength(20)) },
			"1 validation error detected: Value 'not-an-arn' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{"pattern", func(v *Violations) { v.Add("roleSessionName", ptr("Session1:2"), Pattern(`[\w+=,.@-]*`)) },
			`1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"too long", func(v *Violations) { v.Add("roleSessionName", ptr("aaa"), MaxLength(64)) },
			"1 validation error detected: Value 'aaa' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"below", func(v *Violations) { v.Add("durationSeconds", ptr("899"), MinValue(900)) },
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"above", func(v *Violations) { v.Add("durationSeconds", ptr("43201"), MaxValue(43200)) },
			"1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"two", func(v *Violations) {
			v.Add("roleArn", ptr(""), Pattern(arnPattern))
			v.Add("roleArn", ptr(""), MinLength(20))
		}, `2 validation errors detected: Value '' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ` + arnPattern + `; Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20`},
		{"IAM hides the value", func(v *Violations) { v.AddHidden("status", EnumValue) },
			"1 validation error detected: Value at 'status' failed to satisfy constraint: Member must satisfy enum value set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v Violations
			tc.add(&v)
			err := v.Err()
			if tc.want == "" {
				if err != nil || v.Len() != 0 {
					t.Fatalf("Err() = %v, Len() = %d; want nil, 0", err, v.Len())
				}
				return
			}
			e := awserr.As(err)
			if diff := cmp.Diff([]any{awserr.ValidationError, tc.want, 400}, []any{e.Code, e.Message, e.Status()}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

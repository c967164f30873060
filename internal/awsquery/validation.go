package awsquery

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// Constraint texts of AWS's model validation, as they appear after
// "failed to satisfy constraint: ".
const (
	NotNull   = "Member must not be null"
	EnumValue = "Member must satisfy enum value set"
)

// MinLength is the constraint text for a value shorter than n. AWS counts
// length in Unicode code points.
func MinLength(n int) string {
	return "Member must have length greater than or equal to " + strconv.Itoa(n)
}

// MaxLength is the constraint text for a value longer than n.
func MaxLength(n int) string {
	return "Member must have length less than or equal to " + strconv.Itoa(n)
}

// MinValue is the constraint text for a number below n.
func MinValue(n int64) string {
	return "Member must have value greater than or equal to " + strconv.FormatInt(n, 10)
}

// MaxValue is the constraint text for a number above n.
func MaxValue(n int64) string {
	return "Member must have value less than or equal to " + strconv.FormatInt(n, 10)
}

// Pattern is the constraint text for a value that does not match the
// model's regular expression, given as the model writes it.
func Pattern(re string) string {
	return "Member must satisfy regular expression pattern: " + re
}

// Violations collects the constraint violations of one request, in the
// order found, and renders them as AWS's ValidationError does:
//
//	1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2
//	2 validation errors detected: Value '' at 'roleArn' failed to satisfy constraint: …; Value '' at 'roleArn' failed to satisfy constraint: …
//
// member is the model's member name in lower camel case ('roleArn',
// 'durationSeconds'), as AWS writes it.
type Violations struct {
	msgs []string
}

// Add records that member's value does not satisfy constraint. A nil value
// means the parameter is absent and renders as "Value null".
func (v *Violations) Add(member string, value *string, constraint string) {
	val := "null"
	if value != nil {
		val = "'" + *value + "'"
	}
	v.msgs = append(v.msgs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", val, member, constraint))
}

// AddHidden records a violation without echoing the value, the form IAM
// uses ("Value at 'status' failed to satisfy constraint: …").
func (v *Violations) AddHidden(member, constraint string) {
	v.msgs = append(v.msgs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", member, constraint))
}

// Len is the number of violations recorded.
func (v *Violations) Len() int { return len(v.msgs) }

// Err returns the ValidationError for the recorded violations, or nil
// when there are none.
func (v *Violations) Err() error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return awserr.New(awserr.ValidationError, "1 validation error detected: "+v.msgs[0])
	}
	return awserr.Newf(awserr.ValidationError, "%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; "))
}

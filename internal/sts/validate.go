package sts

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// violations collects constraint violations and renders them as AWS's
// ValidationError: "1 validation error detected: Value 'x' at 'name' failed
// to satisfy constraint: Member must …" with "; " between several.
type violations []string

// add records a violation. A sensitive value (a token, a policy) is never
// echoed, as AWS does not echo it.
func (v *violations) add(value *string, field, constraint string) {
	if value == nil {
		*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", field, constraint))
		return
	}
	*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", *value, field, constraint))
}

func (v *violations) addSensitive(field, constraint string) {
	*v = append(*v, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", field, constraint))
}

func (v violations) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return awserr.New(awserr.ValidationError, "1 validation error detected: "+v[0])
	}
	return awserr.New(awserr.ValidationError, fmt.Sprintf("%d validation errors detected: %s", len(v), strings.Join(v, "; ")))
}

func (v *violations) length(value *string, field string, lo, hi int, sensitive bool) bool {
	if value == nil {
		v.add(nil, field, "Member must not be null")
		return false
	}
	n := utf8.RuneCountInString(*value)
	ok := true
	if n < lo {
		if sensitive {
			v.addSensitive(field, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
		} else {
			v.add(value, field, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
		}
		ok = false
	}
	if n > hi {
		if sensitive {
			v.addSensitive(field, fmt.Sprintf("Member must have length less than or equal to %d", hi))
		} else {
			v.add(value, field, fmt.Sprintf("Member must have length less than or equal to %d", hi))
		}
		ok = false
	}
	return ok
}

func (v *violations) pattern(value *string, field string, re *regexp.Regexp, text string) {
	if value != nil && !re.MatchString(*value) {
		v.add(value, field, "Member must satisfy regular expression pattern: "+text)
	}
}

func (v *violations) intRange(value *int32, field string, lo, hi int32) {
	if value == nil {
		return
	}
	s := fmt.Sprint(*value)
	if *value < lo {
		v.add(&s, field, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
	if *value > hi {
		v.add(&s, field, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
}

var (
	sessionNameRE   = regexp.MustCompile(`^[\w+=,.@-]*$`)
	sessionNameText = `[\w+=,.@-]*`
	externalIDRE    = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	externalIDText  = `[\w+=,.@:\/-]*`
	tagKeyRE        = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagKeyText      = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	tagValueRE      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	tagValueText    = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
	policyCharsRE   = regexp.MustCompile("^[\u0009\u000A\u000D\u0020-\u00FF]+$")
	policyCharsText = `[\u0009\u000A\u000D\u0020-\u00FF]+`
)

// tags checks session tags: at most MaxSessionTags, keys and values of
// STS's lengths and characters.
func (v *violations) tags(tags []Tag) {
	if len(tags) > MaxSessionTags {
		v.addSensitive("tags", fmt.Sprintf("Member must have length less than or equal to %d", MaxSessionTags))
	}
	for i := range tags {
		k, val := tags[i].Key, tags[i].Value
		field := fmt.Sprintf("tags.%d.member.key", i+1)
		if v.length(&k, field, 1, 128, false) {
			v.pattern(&k, field, tagKeyRE, tagKeyText)
		}
		vfield := fmt.Sprintf("tags.%d.member.value", i+1)
		if v.length(&val, vfield, 0, 256, false) {
			v.pattern(&val, vfield, tagValueRE, tagValueText)
		}
	}
}

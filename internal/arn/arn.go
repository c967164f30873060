package arn

import (
	"errors"
	"strings"
)

// ARN is a parsed Amazon Resource Name:
// arn:partition:service:region:account-id:resource.
type ARN struct {
	Partition string
	Service   string
	Region    string
	Account   string
	Resource  string
}

// ErrMalformed is returned for text that is not an ARN.
var ErrMalformed = errors.New("arn: not of the form arn:partition:service:region:account-id:resource")

// Split cuts s into its six segments. The resource segment is everything
// after the fifth colon and may itself contain colons. ok is false when s
// does not start with "arn:" or has fewer than five colons.
func Split(s string) (segs [6]string, ok bool) {
	rest := s
	for i := 0; i < 5; i++ {
		c := strings.IndexByte(rest, ':')
		if c < 0 {
			return segs, false
		}
		segs[i] = rest[:c]
		rest = rest[c+1:]
	}
	segs[5] = rest
	return segs, segs[0] == "arn"
}

// Parse parses s as an ARN.
func Parse(s string) (ARN, error) {
	segs, ok := Split(s)
	if !ok || segs[1] == "" || segs[2] == "" {
		return ARN{}, ErrMalformed
	}
	return ARN{Partition: segs[1], Service: segs[2], Region: segs[3], Account: segs[4], Resource: segs[5]}, nil
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RoleName returns the name of an IAM role ARN (the last path element of
// "role/path/name") and whether s is one.
func RoleName(a ARN) (string, bool) {
	if a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return "", false
	}
	return a.Resource[strings.LastIndexByte(a.Resource, '/')+1:], true
}

// AssumedRole returns the role and session names of an STS assumed-role
// ARN ("assumed-role/ROLE/SESSION") and whether s is one.
func AssumedRole(a ARN) (role, session string, ok bool) {
	if a.Service != "sts" || !strings.HasPrefix(a.Resource, "assumed-role/") {
		return "", "", false
	}
	rest := a.Resource[len("assumed-role/"):]
	slash := strings.IndexByte(rest, '/')
	if slash <= 0 || slash == len(rest)-1 {
		return "", "", false
	}
	return rest[:slash], rest[slash+1:], true
}

package podidentity

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/awserr"
)

var (
	// clusterNameRE is the EKS model's ClusterName: 1–100 characters.
	clusterNameRE = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]*$`)
	// dns1123Label is a Kubernetes namespace name (63 characters at most).
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// dns1123Subdomain is a Kubernetes ServiceAccount name (253 at most).
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// jwtRE is EKS Auth's JwtToken pattern.
	jwtRE = regexp.MustCompile(`^[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+$`)
	// idRE is an association ID: "a-" and 17 lower-case letters and digits.
	idRE = regexp.MustCompile(`^a-[a-z0-9]{17}$`)
)

// Limits of EKS.
const (
	MaxTags           = 50
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
	MaxPolicyLength   = 2048
	MaxListResults    = 100
	MaxClientToken    = 64
)

// validClusterName reports whether name can name an EKS cluster.
func validClusterName(name string) bool {
	return len(name) >= 1 && len(name) <= 100 && clusterNameRE.MatchString(name)
}

func invalidParameter(format string, args ...any) error {
	return awserr.New(awserr.InvalidParameterException, fmt.Sprintf(format, args...))
}

// clusterNotFound is EKS's answer for a cluster that does not exist.
func clusterNotFound(name string) error {
	return awserr.Newf(awserr.ResourceNotFoundException, "No cluster found for name: %s.", name)
}

// associationNotFound is the answer for an association ID that does not
// exist in the cluster.
func associationNotFound(id string) error {
	return awserr.Newf(awserr.ResourceNotFoundException, "No Pod Identity Association found for id: %s.", id)
}

// checkNamespace checks a Kubernetes namespace name.
func checkNamespace(ns string) error {
	if ns == "" {
		return invalidParameter("Namespace must not be empty.")
	}
	if len(ns) > 63 || !dns1123Label.MatchString(ns) {
		return invalidParameter("Namespace %s is invalid: it must be a lowercase RFC 1123 label (at most 63 characters of a-z, 0-9 and '-', starting and ending with an alphanumeric character).", ns)
	}
	return nil
}

// checkServiceAccount checks a Kubernetes ServiceAccount name.
func checkServiceAccount(sa string) error {
	if sa == "" {
		return invalidParameter("ServiceAccount must not be empty.")
	}
	if len(sa) > 253 || !dns1123Subdomain.MatchString(sa) {
		return invalidParameter("ServiceAccount %s is invalid: it must be a lowercase RFC 1123 subdomain (at most 253 characters of a-z, 0-9, '-' and '.', each part starting and ending with an alphanumeric character).", sa)
	}
	return nil
}

// checkRoleARN checks an IAM role ARN; with account set, the role must be
// in that account.
func checkRoleARN(field, value, partition, account string) error {
	a, err := arn.Parse(value)
	if err != nil || a.Partition != partition || a.Service != "iam" || a.Region != "" || !arn.IsAccountID(a.Account) {
		return invalidParameter("%s %s is not a valid IAM role ARN.", field, value)
	}
	if name, ok := arn.RoleName(a); !ok || name == "" {
		return invalidParameter("%s %s is not a valid IAM role ARN.", field, value)
	}
	if account != "" && a.Account != account {
		return invalidParameter("%s %s must be in the account of the cluster, %s.", field, value, account)
	}
	return nil
}

// checkPolicy checks an association's session policy: JSON of at most
// 2048 characters, which requires session tags to be disabled (the policy
// and the tags would share STS's packed size).
func checkPolicy(policy string, disableSessionTags bool) error {
	if utf8.RuneCountInString(policy) > MaxPolicyLength {
		return invalidParameter("Policy must be at most %d characters.", MaxPolicyLength)
	}
	if !disableSessionTags {
		return invalidParameter("A policy can only be set on an association with disableSessionTags set to true.")
	}
	return nil
}

// checkTags checks tags as EKS does: at most 50, keys of 1–128 and values
// of at most 256 characters, no key with the reserved aws: prefix.
func checkTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return invalidParameter("The number of tags, %d, exceeds the limit of %d.", len(tags), MaxTags)
	}
	for k, v := range tags {
		if n := utf8.RuneCountInString(k); n < 1 || n > MaxTagKeyLength {
			return invalidParameter("Tag key %q must be 1 to %d characters.", k, MaxTagKeyLength)
		}
		if utf8.RuneCountInString(v) > MaxTagValueLength {
			return invalidParameter("The value of tag %q must be at most %d characters.", k, MaxTagValueLength)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidParameter("Tag keys starting with aws: are reserved for AWS use.")
		}
	}
	return nil
}

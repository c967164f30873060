package podidentity

import (
	"context"
	"errors"
	"strings"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/store"
)

// RoleReader reads the roles of an account. store.Store satisfies it.
type RoleReader interface {
	GetRole(ctx context.Context, accountID, name string) (store.Role, error)
}

// MsgTrustInvalid is EKS's answer when the association's role does not
// trust pods.eks.amazonaws.com for sts:AssumeRole and sts:TagSession
// (quoted in several public infrastructure-as-code comments).
const MsgTrustInvalid = "Trust policy of the role provided is invalid."

// checkTrust checks, as EKS does when an association is created or its role
// changes, that the role exists and that its trust policy has Allow
// statements naming the service principal for sts:AssumeRole and, unless
// session tags are disabled, sts:TagSession. Conditions are not evaluated:
// they depend on the pod. Without Roles nothing is checked.
func (s *Service) checkTrust(ctx context.Context, roleARN string, tags bool) error {
	if s.Roles == nil {
		return nil
	}
	a, err := arn.Parse(roleARN)
	if err != nil {
		return invalidParameter("RoleArn %s is not a valid IAM role ARN.", roleARN)
	}
	name, _ := arn.RoleName(a)
	role, err := s.Roles.GetRole(ctx, a.Account, name)
	if errors.Is(err, store.ErrNotFound) {
		return invalidParameter("The role with name %s cannot be found.", name)
	}
	if err != nil {
		return awserr.Internal(err)
	}
	// "role/name" names the role whatever its path; "role/p/name" must
	// match it.
	if strings.Count(a.Resource, "/") > 1 && !strings.EqualFold("role"+role.Path+role.Name, a.Resource) {
		return invalidParameter("The role with name %s cannot be found.", name)
	}
	p, err := policy.ParseWithLimits([]byte(role.TrustPolicy), policy.KindTrust, policy.Limits{Size: policy.MaxDocumentBytes})
	if err != nil {
		return invalidParameter(MsgTrustInvalid)
	}
	if !trusts(p, "sts:AssumeRole") || (tags && !trusts(p, "sts:TagSession")) {
		return invalidParameter(MsgTrustInvalid)
	}
	return nil
}

// trusts reports whether an Allow statement of p names the pod identity
// service principal (or everyone) for action.
func trusts(p *policy.Policy, action string) bool {
	for _, st := range p.Statements {
		if st.Effect != "Allow" || !namesService(st.Principal) {
			continue
		}
		if st.Action != nil && anyMatch(st.Action, action) {
			return true
		}
		if st.NotAction != nil && !anyMatch(st.NotAction, action) {
			return true
		}
	}
	return false
}

func namesService(pr map[string][]string) bool {
	for _, v := range pr["Service"] {
		if strings.EqualFold(v, Audience) {
			return true
		}
	}
	for _, v := range pr["AWS"] {
		if v == "*" {
			return true
		}
	}
	return false
}

func anyMatch(patterns []string, action string) bool {
	for _, pat := range patterns {
		if glob(strings.ToLower(pat), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

// glob matches s against a pattern of IAM's wildcards: * (any run) and ?
// (one character).
func glob(pat, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pat) && (pat[px] == '?' || pat[px] == s[sx]):
			px++
			sx++
		case px < len(pat) && pat[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pat) && pat[px] == '*' {
		px++
	}
	return px == len(pat)
}

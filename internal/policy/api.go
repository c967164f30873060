package policy

import "fmt"

// Kind says where a policy document is attached. It decides which elements a
// statement may carry, which actions are allowed and the size limit.
type Kind int

const (
	// KindIdentity is an inline policy of a role, user or group.
	KindIdentity Kind = iota
	// KindManaged is a customer managed policy.
	KindManaged
	// KindResource is a resource-based policy such as an S3 bucket policy.
	KindResource
	// KindTrust is a role trust policy (AssumeRolePolicyDocument).
	KindTrust
	// KindSession is a session policy passed to an AssumeRole* call.
	KindSession
	// KindBoundary is a permissions boundary.
	KindBoundary
	// KindSCP is an AWS Organizations service control policy.
	KindSCP
)

var kindNames = [...]string{
	KindIdentity: "identity",
	KindManaged:  "managed",
	KindResource: "resource",
	KindTrust:    "trust",
	KindSession:  "session",
	KindBoundary: "boundary",
	KindSCP:      "scp",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind reads a Kind from its name.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown policy type %q: want one of identity, managed, resource, trust, session, boundary, scp", s)
}

// usesPrincipal reports whether statements of this kind name a principal.
func (k Kind) usesPrincipal() bool { return k == KindResource || k == KindTrust }

// Decision is the outcome of an evaluation, in the words of IAM's EvalDecision.
type Decision string

const (
	Allowed      Decision = "allowed"
	ExplicitDeny Decision = "explicitDeny"
	ImplicitDeny Decision = "implicitDeny"
)

// Error is a policy document that AWS would reject. Code is the AWS error
// code (MalformedPolicyDocument for most problems, LimitExceeded for size
// quotas, ValidationError for characters outside the allowed set), Message
// is AWS's own text, and Path locates the offending element for people (for
// example "Statement[1].Condition"); Path is never part of the wire message.
type Error struct {
	Code    string
	Message string
	Path    string
}

func (e *Error) Error() string { return e.Message }

// Request is one authorization question: may Principal perform Action on
// Resource, given the request context?
type Request struct {
	// Action is "service:Action", compared case-insensitively.
	Action string
	// Resource is the ARN the action is performed on, or "*".
	Resource string
	// Principal is the caller: an IAM user or role ARN, an assumed-role
	// session ARN, an account ID or root ARN, a federated provider ARN
	// (oidc-provider/… or saml-provider/…) or well-known federation host, or a
	// service principal such as "pods.eks.amazonaws.com". Empty means
	// anonymous. It is matched against Principal and NotPrincipal elements of
	// resource and trust policies.
	Principal string
	// ResourceAccount is the account that owns Resource. When empty it is
	// taken from the Resource ARN, and when the ARN has none (S3) the
	// resource is taken to be in the principal's account.
	ResourceAccount string
	// Context holds the condition keys of the request. Nil is empty.
	Context *Context
}

// Set is every policy that applies to one request, grouped by type.
type Set struct {
	// Identity are the principal's identity-based policies (inline and
	// attached). Any one of them may allow.
	Identity []*Policy
	// Resource is the resource-based or trust policy of the resource, if any.
	Resource *Policy
	// Boundary is the principal's permissions boundary, if any.
	Boundary *Policy
	// Session are the session policies of the caller's session (the inline
	// Policy and the managed PolicyArns together). When present, one of them
	// must allow.
	Session []*Policy
	// SCPs are the service control policies from the organization root down
	// to the account, one slice per level. Every level must allow.
	SCPs [][]*Policy
}

// Result is an explained decision.
type Result struct {
	Decision Decision `json:"decision"`
	// MatchedStatements are the statements whose Action, Resource, Principal
	// and Condition all matched the request, in evaluation order.
	MatchedStatements []StatementRef `json:"matchedStatements"`
	// Explanation says why: for an allow, which statements allowed; for a
	// denial, the deny that matched or, for each statement that came
	// closest, the element or condition that failed.
	Explanation []Reason `json:"explanation"`
}

// StatementRef names one statement of one policy of a Set.
type StatementRef struct {
	PolicyType string `json:"policyType"` // identity, resource, trust, boundary, session, scp
	PolicyName string `json:"policyName,omitempty"`
	// Index is the statement's position in its policy, from 0; -1 when a
	// reason is about a policy type as a whole.
	Index  int    `json:"statementIndex"`
	Sid    string `json:"sid,omitempty"`
	Effect string `json:"effect,omitempty"`
}

// Reason is one line of an explanation.
type Reason struct {
	StatementRef
	// Element is the part of the statement the reason is about: Action,
	// NotAction, Resource, NotResource, Principal, NotPrincipal, Condition,
	// or empty for a reason about the whole policy type.
	Element string `json:"element,omitempty"`
	// Operator and Key name the failed condition.
	Operator string `json:"operator,omitempty"`
	Key      string `json:"key,omitempty"`
	// Expected are the values the policy wanted, Actual the request's.
	Expected []string `json:"expected,omitempty"`
	Actual   []string `json:"actual,omitempty"`
	// Message is the reason in words.
	Message string `json:"message"`
}

package policy_test

import (
	"fmt"
	"testing"

	"github.com/irsa-dev/irsa/internal/policy"
)

// The evaluation flow tested here is taken from these AWS pages (IAM User
// Guide; the archived sources are awsdocs/iam-user-guide doc_source/*.md):
//
// [denyallow]  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
//              (and reference_policies_evaluation-logic.md#policy-eval-denyallow):
//              explicit deny in any policy wins; SCPs must allow; within one
//              account a resource-based Allow naming the IAM user or the role
//              session itself is final, one naming the role ARN is still limited
//              by the boundary and session policies; trust policies must allow
//              on their own; then identity, boundary and session policy must
//              each allow.
// [basics]     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-basics
//              identity and resource policies form a union within one account.
// [cross]      https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
//              cross-account requests are evaluated in both accounts and need an
//              Allow in each: the identity side (with its boundary, session
//              policy and SCPs) and the resource policy.
// [session]    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
//              session permissions are identity ∩ session; a resource policy
//              naming the role is also intersected with the session policy; one
//              naming the session ARN is not; Policy and PolicyArns are both
//              session policies.
// [boundary]   https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html#access_policies_boundaries-eval-logic
//              effective permissions are identity ∩ boundary; within an account
//              an implicit deny in a boundary does not limit a resource policy
//              grant (to the user or session itself); SCP ∩ boundary ∩ identity.
// [notprinc]   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
//              Deny with NotPrincipal denies everyone except the listed
//              principals; list the account (and the role) with the user (or
//              session) to exempt them reliably.
// [trust]      https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_compare-resource-policies.html
//              and [denyallow]: a role trust policy must explicitly allow the
//              principal; for OIDC federation the principal is the provider and
//              the token claims arrive as <issuer>:sub / <issuer>:aud keys
//              (https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html).
// [podid]      https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
//              EKS Pod Identity trusts the service principal
//              pods.eks.amazonaws.com for sts:AssumeRole and sts:TagSession.

const (
	evAccount      = "111111111111"
	evOtherAccount = "222222222222"
	evUser         = "arn:aws:iam::111111111111:user/alice"
	evRole         = "arn:aws:iam::111111111111:role/app"
	evSession      = "arn:aws:sts::111111111111:assumed-role/app/worker-1"
	evAction       = "sqs:SendMessage"
)

// evQueue is the queue every flow test asks about, owned by account.
func evQueue(account string) string { return "arn:aws:sqs:us-east-1:" + account + ":orders" }

// evParse parses doc as a policy of kind and names it.
func evParse(t testing.TB, name string, kind policy.Kind, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc), kind)
	if err != nil {
		t.Fatalf("Parse(%s as %v): %v\n%s", name, kind, err, doc)
	}
	p.Name = name
	return p
}

// evDoc wraps statement objects into a 2012-10-17 policy document.
func evDoc(statements ...string) string {
	doc := `{"Version":"2012-10-17","Statement":[`
	for i, s := range statements {
		if i > 0 {
			doc += ","
		}
		doc += s
	}
	return doc + "]}"
}

// ----- The combinatorial flow table -----

type evCaller int

const (
	evCallerUser    evCaller = iota // an IAM user calling with its own keys
	evCallerSession                 // a session of role "app"
)

func (c evCaller) String() string { return [...]string{"user", "session"}[c] }

func (c evCaller) arn() string {
	if c == evCallerUser {
		return evUser
	}
	return evSession
}

type evIdentity int

const (
	evIDNone  evIdentity = iota // the only identity policy allows another action
	evIDAllow                   // an identity policy allows the request
	evIDDeny                    // one identity policy allows, another denies
)

func (v evIdentity) String() string { return [...]string{"none", "allow", "deny"}[v] }

// evLimit is the state of a limiting policy type: a permissions boundary or
// the session policies.
type evLimit int

const (
	evLimitAbsent  evLimit = iota // no such policy
	evLimitAllow                  // present and allows the request
	evLimitNoAllow                // present, allows only other actions
	evLimitDeny                   // present, allows everything and denies the request
)

func (v evLimit) String() string { return [...]string{"absent", "allow", "noallow", "deny"}[v] }

type evResource int

const (
	evResAbsent       evResource = iota // the queue has no policy
	evResAllowCaller                    // Allow naming exactly the caller (user or session ARN)
	evResAllowRole                      // Allow naming role/app, the role behind the session
	evResAllowAccount                   // Allow naming the caller's account
	evResDeny                           // Deny for "*"
)

func (v evResource) String() string {
	return [...]string{"absent", "allow-caller", "allow-role", "allow-account", "deny"}[v]
}

// evSCP is the state of the two SCP levels (organization root, then OU).
type evSCP int

const (
	evSCPAbsent      evSCP = iota // account not in an organization
	evSCPAllow                    // both levels allow
	evSCPNoAllowRoot              // the root level allows only other actions
	evSCPNoAllowOU                // the OU level allows only other actions
	evSCPDenyRoot                 // the root level denies the request
	evSCPDenyOU                   // the OU level denies the request
)

func (v evSCP) String() string {
	return [...]string{"absent", "allow", "noallow-root", "noallow-ou", "deny-root", "deny-ou"}[v]
}

type evCombo struct {
	caller       evCaller
	crossAccount bool
	identity     evIdentity
	boundary     evLimit
	session      evLimit
	resource     evResource
	scp          evSCP
}

func (c evCombo) String() string {
	acct := "same"
	if c.crossAccount {
		acct = "cross"
	}
	return fmt.Sprintf("%s/%s/id=%s/pb=%s/sess=%s/res=%s/scp=%s",
		c.caller, acct, c.identity, c.boundary, c.session, c.resource, c.scp)
}

// evGrant is what a resource policy's Allow gives the caller.
type evGrant int

const (
	evGrantNone    evGrant = iota // the Allow does not name the caller at all
	evGrantDirect                 // names the user or the session itself
	evGrantRole                   // names the role the session belongs to
	evGrantAccount                // names the caller's account
)

func (c evCombo) grant() evGrant {
	switch c.resource {
	case evResAllowCaller:
		return evGrantDirect
	case evResAllowRole:
		if c.caller == evCallerSession {
			return evGrantRole
		}
		return evGrantNone // role/app is not the user alice
	case evResAllowAccount:
		return evGrantAccount
	}
	return evGrantNone
}

// evOracle is the AWS evaluation logic for one combination, written from the
// pages listed at the top of this file and independent of the implementation.
func evOracle(c evCombo) policy.Decision {
	// [denyallow] step 1: an explicit Deny in any policy decides.
	if c.identity == evIDDeny || c.boundary == evLimitDeny || c.session == evLimitDeny ||
		c.resource == evResDeny || c.scp == evSCPDenyRoot || c.scp == evSCPDenyOU {
		return policy.ExplicitDeny
	}
	// [denyallow] step 2: when SCPs apply, every level must allow.
	if c.scp == evSCPNoAllowRoot || c.scp == evSCPNoAllowOU {
		return policy.ImplicitDeny
	}

	// A boundary or session policy that is present must allow ([boundary],
	// [session]); an absent one does not limit.
	boundaryOK := c.boundary != evLimitNoAllow
	sessionOK := c.session != evLimitNoAllow
	// The identity side: identity ∩ boundary ∩ session.
	identityOK := c.identity == evIDAllow && boundaryOK && sessionOK

	grant := c.grant()
	if c.crossAccount {
		// [cross]: both accounts must allow; any form of naming the caller
		// satisfies the resource side, and the identity side must allow.
		if grant != evGrantNone && identityOK {
			return policy.Allowed
		}
		return policy.ImplicitDeny
	}
	// Same account ([denyallow] step 3, [basics]): union of identity and
	// resource, with the principal named deciding what else limits it.
	switch grant {
	case evGrantDirect:
		// Granted to the user or the session itself: final.
		return policy.Allowed
	case evGrantRole:
		// Granted to the role: still limited by boundary and session policy.
		if boundaryOK && sessionOK {
			return policy.Allowed
		}
	}
	// Naming the account grants nothing by itself; the identity side decides.
	if identityOK {
		return policy.Allowed
	}
	return policy.ImplicitDeny
}

// evPolicies holds every policy the flow table uses, parsed once.
type evPolicies struct {
	identity map[evIdentity][]*policy.Policy
	boundary map[evLimit]*policy.Policy
	session  map[evLimit][]*policy.Policy
	scps     map[evSCP][][]*policy.Policy
	// resource[account][variant][caller]
	resource map[string]map[evResource]map[evCaller]*policy.Policy
}

func evBuildPolicies(t testing.TB) *evPolicies {
	t.Helper()
	allowQueue := `{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:*:orders"}`
	allowOther := `{"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"*"}`
	allowS3 := `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`
	allowAll := `{"Effect":"Allow","Action":"*","Resource":"*"}`
	denyQueue := `{"Effect":"Deny","Action":"sqs:SendMessage","Resource":"*"}`

	ps := &evPolicies{
		identity: map[evIdentity][]*policy.Policy{
			evIDNone:  {evParse(t, "id-other", policy.KindIdentity, evDoc(allowOther))},
			evIDAllow: {evParse(t, "id-other", policy.KindIdentity, evDoc(allowOther)), evParse(t, "id-allow", policy.KindManaged, evDoc(allowQueue))},
			evIDDeny:  {evParse(t, "id-allow", policy.KindManaged, evDoc(allowQueue)), evParse(t, "id-deny", policy.KindIdentity, evDoc(denyQueue))},
		},
		boundary: map[evLimit]*policy.Policy{
			evLimitAbsent:  nil,
			evLimitAllow:   evParse(t, "pb-allow", policy.KindBoundary, evDoc(`{"Effect":"Allow","Action":"sqs:*","Resource":"*"}`)),
			evLimitNoAllow: evParse(t, "pb-s3", policy.KindBoundary, evDoc(allowS3)),
			evLimitDeny:    evParse(t, "pb-deny", policy.KindBoundary, evDoc(allowAll, denyQueue)),
		},
		// Two session policies each time: the inline Policy and one of the
		// PolicyArns. Either one may allow ([session]).
		session: map[evLimit][]*policy.Policy{
			evLimitAbsent:  nil,
			evLimitAllow:   {evParse(t, "sess-inline", policy.KindSession, evDoc(allowS3)), evParse(t, "sess-arn", policy.KindSession, evDoc(allowQueue))},
			evLimitNoAllow: {evParse(t, "sess-inline", policy.KindSession, evDoc(allowS3)), evParse(t, "sess-arn-other", policy.KindSession, evDoc(allowOther))},
			evLimitDeny:    {evParse(t, "sess-inline-all", policy.KindSession, evDoc(allowAll)), evParse(t, "sess-arn-deny", policy.KindSession, evDoc(denyQueue))},
		},
		resource: map[string]map[evResource]map[evCaller]*policy.Policy{},
	}

	fullAccess := evParse(t, "FullAWSAccess", policy.KindSCP, evDoc(allowAll))
	s3Only := evParse(t, "s3-only", policy.KindSCP, evDoc(allowS3))
	sqsOnly := evParse(t, "sqs-only", policy.KindSCP, evDoc(`{"Effect":"Allow","Action":"sqs:*","Resource":"*"}`))
	denySQS := evParse(t, "deny-sqs", policy.KindSCP, evDoc(denyQueue))
	ps.scps = map[evSCP][][]*policy.Policy{
		evSCPAbsent: nil,
		// At the OU level only one of two SCPs allows; that is enough.
		evSCPAllow:       {{fullAccess}, {s3Only, sqsOnly}},
		evSCPNoAllowRoot: {{s3Only}, {fullAccess}},
		evSCPNoAllowOU:   {{fullAccess}, {s3Only}},
		evSCPDenyRoot:    {{fullAccess, denySQS}, {fullAccess}},
		evSCPDenyOU:      {{fullAccess}, {fullAccess, denySQS}},
	}

	for _, account := range []string{evAccount, evOtherAccount} {
		queue := evQueue(account)
		byVariant := map[evResource]map[evCaller]*policy.Policy{}
		for _, caller := range []evCaller{evCallerUser, evCallerSession} {
			allowFor := func(principal string) string {
				return fmt.Sprintf(`{"Sid":"Grant","Effect":"Allow","Principal":{"AWS":%q},"Action":"sqs:SendMessage","Resource":%q}`, principal, queue)
			}
			set := func(v evResource, p *policy.Policy) {
				if byVariant[v] == nil {
					byVariant[v] = map[evCaller]*policy.Policy{}
				}
				byVariant[v][caller] = p
			}
			set(evResAbsent, nil)
			set(evResAllowCaller, evParse(t, "queue-caller", policy.KindResource, evDoc(allowFor(caller.arn()))))
			set(evResAllowRole, evParse(t, "queue-role", policy.KindResource, evDoc(allowFor(evRole))))
			set(evResAllowAccount, evParse(t, "queue-account", policy.KindResource, evDoc(allowFor("arn:aws:iam::"+evAccount+":root"))))
			set(evResDeny, evParse(t, "queue-deny", policy.KindResource, evDoc(
				fmt.Sprintf(`{"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":%q}`, queue))))
		}
		ps.resource[account] = byVariant
	}
	return ps
}

func (ps *evPolicies) set(c evCombo) *policy.Set {
	account := evAccount
	if c.crossAccount {
		account = evOtherAccount
	}
	return &policy.Set{
		Identity: ps.identity[c.identity],
		Resource: ps.resource[account][c.resource][c.caller],
		Boundary: ps.boundary[c.boundary],
		Session:  ps.session[c.session],
		SCPs:     ps.scps[c.scp],
	}
}

func evCombos() []evCombo {
	var out []evCombo
	for _, caller := range []evCaller{evCallerUser, evCallerSession} {
		sessions := []evLimit{evLimitAbsent, evLimitAllow, evLimitNoAllow, evLimitDeny}
		if caller == evCallerUser {
			// An IAM user calling with its own keys has no session policy.
			sessions = []evLimit{evLimitAbsent}
		}
		for _, cross := range []bool{false, true} {
			for id := evIDNone; id <= evIDDeny; id++ {
				for pb := evLimitAbsent; pb <= evLimitDeny; pb++ {
					for _, sess := range sessions {
						for res := evResAbsent; res <= evResDeny; res++ {
							for scp := evSCPAbsent; scp <= evSCPDenyOU; scp++ {
								out = append(out, evCombo{caller, cross, id, pb, sess, res, scp})
							}
						}
					}
				}
			}
		}
	}
	return out
}

func TestEvalFlowCombinations(t *testing.T) {
	ps := evBuildPolicies(t)
	combos := evCombos()
	counts := map[policy.Decision]int{}
	for _, c := range combos {
		want := evOracle(c)
		counts[want]++
		t.Run(c.String(), func(t *testing.T) {
			account := evAccount
			if c.crossAccount {
				account = evOtherAccount
			}
			set := ps.set(c)
			req := &policy.Request{Action: evAction, Resource: evQueue(account), Principal: c.caller.arn()}
			if got := policy.Evaluate(set, req); got != want {
				t.Errorf("Evaluate = %s, want %s", got, want)
			}
			res := policy.Explain(set, req)
			if res == nil {
				t.Fatalf("Explain returned nil")
			}
			if res.Decision != want {
				t.Errorf("Explain().Decision = %s, want %s", res.Decision, want)
			}
			evCheckExplanationShape(t, res)
		})
	}
	// The table is only a test if the oracle produces every outcome often.
	for _, d := range []policy.Decision{policy.Allowed, policy.ExplicitDeny, policy.ImplicitDeny} {
		if counts[d] < 50 {
			t.Errorf("oracle produced %s only %d times in %d combinations", d, counts[d], len(combos))
		}
	}
}

// evCheckExplanationShape checks what every explanation must have,
// whatever the decision: an allow cites matched statements, an explicit
// deny cites a matched Deny statement, an implicit deny says something.
func evCheckExplanationShape(t *testing.T, res *policy.Result) {
	t.Helper()
	matched := map[policy.StatementRef]bool{}
	for _, m := range res.MatchedStatements {
		matched[m] = true
	}
	switch res.Decision {
	case policy.Allowed:
		if len(res.MatchedStatements) == 0 || len(res.Explanation) == 0 {
			t.Errorf("allowed without matched statements or explanation: %+v", res)
		}
		for _, r := range res.Explanation {
			if r.Element != "" || (r.Effect != "" && !matched[r.StatementRef]) {
				t.Errorf("allowed decision explained by an unmatched statement or a failed element: %+v", r)
			}
		}
	case policy.ExplicitDeny:
		cited := false
		for _, r := range res.Explanation {
			if r.Effect == "Deny" && matched[r.StatementRef] {
				cited = true
			}
		}
		if !cited {
			t.Errorf("explicit deny does not cite a matched Deny statement: %+v", res.Explanation)
		}
	case policy.ImplicitDeny:
		if len(res.Explanation) == 0 {
			t.Errorf("implicit deny without explanation")
		}
		for _, m := range res.MatchedStatements {
			if m.Effect == "Deny" {
				t.Errorf("implicit deny although Deny statement %+v matched", m)
			}
		}
	}
}

// TestEvalOracleSpotChecks pins the oracle itself to the statements of the
// AWS pages, so a mistake in the oracle cannot hide a mistake in the engine.
func TestEvalOracleSpotChecks(t *testing.T) {
	tests := []struct {
		name string
		c    evCombo
		want policy.Decision
	}{
		// [basics]: within one account identity OR resource allows.
		{"same account identity alone", evCombo{evCallerUser, false, evIDAllow, evLimitAbsent, evLimitAbsent, evResAbsent, evSCPAbsent}, policy.Allowed},
		{"same account resource names user alone", evCombo{evCallerUser, false, evIDNone, evLimitAbsent, evLimitAbsent, evResAllowCaller, evSCPAbsent}, policy.Allowed},
		// [denyallow] IAM user: not limited by an implicit deny in a boundary.
		{"resource names user beats boundary", evCombo{evCallerUser, false, evIDNone, evLimitNoAllow, evLimitAbsent, evResAllowCaller, evSCPAbsent}, policy.Allowed},
		// [session]/[boundary]: naming the session ARN is not limited.
		{"resource names session beats session policy", evCombo{evCallerSession, false, evIDNone, evLimitNoAllow, evLimitNoAllow, evResAllowCaller, evSCPAbsent}, policy.Allowed},
		// [denyallow] IAM role: limited by boundary or session policy.
		{"resource names role, boundary lacks", evCombo{evCallerSession, false, evIDAllow, evLimitNoAllow, evLimitAbsent, evResAllowRole, evSCPAbsent}, policy.ImplicitDeny},
		{"resource names role, session lacks", evCombo{evCallerSession, false, evIDAllow, evLimitAbsent, evLimitNoAllow, evResAllowRole, evSCPAbsent}, policy.ImplicitDeny},
		{"resource names role, no identity needed", evCombo{evCallerSession, false, evIDNone, evLimitAllow, evLimitAllow, evResAllowRole, evSCPAbsent}, policy.Allowed},
		// Naming the account needs the identity side.
		{"resource names account alone", evCombo{evCallerSession, false, evIDNone, evLimitAbsent, evLimitAbsent, evResAllowAccount, evSCPAbsent}, policy.ImplicitDeny},
		// [cross]: both sides.
		{"cross account identity alone", evCombo{evCallerUser, true, evIDAllow, evLimitAbsent, evLimitAbsent, evResAbsent, evSCPAbsent}, policy.ImplicitDeny},
		{"cross account resource names user alone", evCombo{evCallerUser, true, evIDNone, evLimitAbsent, evLimitAbsent, evResAllowCaller, evSCPAbsent}, policy.ImplicitDeny},
		{"cross account both", evCombo{evCallerSession, true, evIDAllow, evLimitAllow, evLimitAllow, evResAllowAccount, evSCPAllow}, policy.Allowed},
		// [denyallow] step 2: an SCP level without an allow denies even a direct grant.
		{"scp ou lacks allow", evCombo{evCallerUser, false, evIDAllow, evLimitAbsent, evLimitAbsent, evResAllowCaller, evSCPNoAllowOU}, policy.ImplicitDeny},
		{"boundary deny beats direct grant", evCombo{evCallerUser, false, evIDNone, evLimitDeny, evLimitAbsent, evResAllowCaller, evSCPAbsent}, policy.ExplicitDeny},
	}
	for _, tt := range tests {
		if got := evOracle(tt.c); got != tt.want {
			t.Errorf("%s: evOracle(%v) = %s, want %s", tt.name, tt.c, got, tt.want)
		}
	}
}

// ----- Hand-written cases -----

const (
	evIssuer   = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	evProvider = "arn:aws:iam::111111111111:oidc-provider/" + evIssuer
	evS3Reader = "arn:aws:iam::111111111111:role/s3-reader"
)

type evCase struct {
	name string
	set  *policy.Set
	req  policy.Request
	want policy.Decision
}

func evRun(t *testing.T, tests []evCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if got := policy.Evaluate(tt.set, &req); got != tt.want {
				t.Errorf("Evaluate = %s, want %s", got, tt.want)
			}
			res := policy.Explain(tt.set, &req)
			if res == nil {
				t.Fatalf("Explain returned nil")
			}
			if res.Decision != tt.want {
				t.Errorf("Explain().Decision = %s, want %s", res.Decision, tt.want)
			}
		})
	}
}

// evCtx builds a context from key, value pairs.
func evCtx(kv ...string) *policy.Context {
	c := policy.NewContext()
	for i := 0; i+1 < len(kv); i += 2 {
		c.Add(kv[i], kv[i+1])
	}
	return c
}

// TestEvalTrustPolicy: a role trust policy must allow on its own [denyallow],
// [trust]; an identity policy allowing sts:AssumeRole is not enough.
func TestEvalTrustPolicy(t *testing.T) {
	const target = "arn:aws:iam::111111111111:role/deployer"
	const bob = "arn:aws:iam::222222222222:user/bob"
	trust := func(name, principal string) *policy.Policy {
		return evParse(t, name, policy.KindTrust, evDoc(
			fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":%q},"Action":"sts:AssumeRole"}`, principal)))
	}
	idAssume := []*policy.Policy{evParse(t, "may-assume", policy.KindIdentity, evDoc(
		`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/deployer"}`))}
	trustsOther := trust("trusts-carol", "arn:aws:iam::111111111111:user/carol")
	trustsAlice := trust("trusts-alice", evUser)
	trustsAccount := trust("trusts-account", "arn:aws:iam::111111111111:root")
	trustsAccountID := trust("trusts-account-id", evAccount)
	trustsBob := trust("trusts-bob", bob)
	trustsRole := trust("trusts-app-role", evRole)
	trustsWebIdentityOnly := evParse(t, "web-identity-only", policy.KindTrust, evDoc(
		fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":%q},"Action":"sts:AssumeRoleWithWebIdentity"}`, evUser)))
	trustDeniesAlice := evParse(t, "denies-alice", policy.KindTrust, evDoc(
		`{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}`,
		fmt.Sprintf(`{"Effect":"Deny","Principal":{"AWS":%q},"Action":"sts:AssumeRole"}`, evUser)))
	sessOnlyS3 := []*policy.Policy{evParse(t, "sess-s3", policy.KindSession, evDoc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))}

	assume := func(principal string) policy.Request {
		return policy.Request{Action: "sts:AssumeRole", Resource: target, Principal: principal}
	}
	evRun(t, []evCase{
		{"identity allows but trust names someone else", &policy.Set{Identity: idAssume, Resource: trustsOther}, assume(evUser), policy.ImplicitDeny},
		{"identity allows but trust allows another action only", &policy.Set{Identity: idAssume, Resource: trustsWebIdentityOnly}, assume(evUser), policy.ImplicitDeny},
		{"trust names the user, no identity policy", &policy.Set{Resource: trustsAlice}, assume(evUser), policy.Allowed},
		{"trust names the user and identity allows", &policy.Set{Identity: idAssume, Resource: trustsAlice}, assume(evUser), policy.Allowed},
		{"trust names the account, no identity policy", &policy.Set{Resource: trustsAccount}, assume(evUser), policy.ImplicitDeny},
		{"trust names the account and identity allows", &policy.Set{Identity: idAssume, Resource: trustsAccount}, assume(evUser), policy.Allowed},
		{"trust names the account by ID and identity allows", &policy.Set{Identity: idAssume, Resource: trustsAccountID}, assume(evUser), policy.Allowed},
		{"trust names the account by ID, no identity policy", &policy.Set{Resource: trustsAccountID}, assume(evUser), policy.ImplicitDeny},
		{"trust deny for the user beats account allow", &policy.Set{Identity: idAssume, Resource: trustDeniesAlice}, assume(evUser), policy.ExplicitDeny},
		{"cross account: trust names bob and bob's identity allows", &policy.Set{Identity: idAssume, Resource: trustsBob}, assume(bob), policy.Allowed},
		{"cross account: trust names bob, no identity policy", &policy.Set{Resource: trustsBob}, assume(bob), policy.ImplicitDeny},
		{"cross account: identity allows, trust names another", &policy.Set{Identity: idAssume, Resource: trustsAlice}, assume(bob), policy.ImplicitDeny},
		// Role chaining: the trust policy names the role behind the caller's
		// session, so only boundary and session policies still limit it.
		{"trust names caller's role, no identity policy", &policy.Set{Resource: trustsRole}, assume(evSession), policy.Allowed},
		{"trust names caller's role, session policy lacks allow", &policy.Set{Identity: idAssume, Resource: trustsRole, Session: sessOnlyS3}, assume(evSession), policy.ImplicitDeny},
	})
}

// TestEvalWebIdentity: IRSA trust policies for AssumeRoleWithWebIdentity,
// allowed or denied by the token's sub and aud ([trust]).
func TestEvalWebIdentity(t *testing.T) {
	sub, aud := evIssuer+":sub", evIssuer+":aud"
	irsa := evParse(t, "s3-reader-trust", policy.KindTrust, evDoc(fmt.Sprintf(
		`{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity",
		  "Condition":{"StringEquals":{%q:"system:serviceaccount:production:s3-reader",%q:"sts.amazonaws.com"}}}`,
		evProvider, sub, aud)))
	teamA := evParse(t, "team-a-trust", policy.KindTrust, evDoc(fmt.Sprintf(
		`{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity",
		  "Condition":{"StringLike":{%q:"system:serviceaccount:team-a*"},"StringEquals":{%q:"sts.amazonaws.com"}}}`,
		evProvider, sub, aud)))
	denyStaging := evParse(t, "deny-staging", policy.KindTrust, evDoc(
		fmt.Sprintf(`{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity"}`, evProvider),
		fmt.Sprintf(`{"Effect":"Deny","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{%q:"system:serviceaccount:staging:*"}}}`, evProvider, sub)))

	web := func(principal string, ctx *policy.Context) policy.Request {
		return policy.Request{Action: "sts:AssumeRoleWithWebIdentity", Resource: evS3Reader, Principal: principal, Context: ctx}
	}
	good := func() *policy.Context {
		return evCtx(sub, "system:serviceaccount:production:s3-reader", aud, "sts.amazonaws.com")
	}
	evRun(t, []evCase{
		{"sub and aud match", &policy.Set{Resource: irsa}, web(evProvider, good()), policy.Allowed},
		{"sub from another namespace", &policy.Set{Resource: irsa}, web(evProvider, evCtx(sub, "system:serviceaccount:staging:s3-reader", aud, "sts.amazonaws.com")), policy.ImplicitDeny},
		{"aud wrong", &policy.Set{Resource: irsa}, web(evProvider, evCtx(sub, "system:serviceaccount:production:s3-reader", aud, "vault")), policy.ImplicitDeny},
		{"sub absent", &policy.Set{Resource: irsa}, web(evProvider, evCtx(aud, "sts.amazonaws.com")), policy.ImplicitDeny},
		{"no context", &policy.Set{Resource: irsa}, web(evProvider, nil), policy.ImplicitDeny},
		{"sub value differs in case", &policy.Set{Resource: irsa}, web(evProvider, evCtx(sub, "system:serviceaccount:Production:s3-reader", aud, "sts.amazonaws.com")), policy.ImplicitDeny},
		{"context key differs in case", &policy.Set{Resource: irsa}, web(evProvider, evCtx("OIDC.EKS.US-WEST-2.AMAZONAWS.COM/id/EXAMPLED539D4633E53DE1B71EXAMPLE:SUB", "system:serviceaccount:production:s3-reader", aud, "sts.amazonaws.com")), policy.Allowed},
		{"another provider", &policy.Set{Resource: irsa}, web("arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/OTHER", good()), policy.ImplicitDeny},
		{"an IAM user cannot use the federated grant", &policy.Set{Resource: irsa}, web(evUser, good()), policy.ImplicitDeny},
		{"AssumeRole instead of web identity", &policy.Set{Resource: irsa}, policy.Request{Action: "sts:AssumeRole", Resource: evS3Reader, Principal: evProvider, Context: good()}, policy.ImplicitDeny},
		{"action name case-insensitive", &policy.Set{Resource: irsa}, policy.Request{Action: "STS:assumerolewithwebidentity", Resource: evS3Reader, Principal: evProvider, Context: good()}, policy.Allowed},
		{"StringLike team-a*", &policy.Set{Resource: teamA}, web(evProvider, evCtx(sub, "system:serviceaccount:team-a:reader", aud, "sts.amazonaws.com")), policy.Allowed},
		{"StringLike team-a* crosses into team-a-evil", &policy.Set{Resource: teamA}, web(evProvider, evCtx(sub, "system:serviceaccount:team-a-evil:x", aud, "sts.amazonaws.com")), policy.Allowed},
		{"StringLike team-a* rejects team-b", &policy.Set{Resource: teamA}, web(evProvider, evCtx(sub, "system:serviceaccount:team-b:reader", aud, "sts.amazonaws.com")), policy.ImplicitDeny},
		{"deny on staging namespace", &policy.Set{Resource: denyStaging}, web(evProvider, evCtx(sub, "system:serviceaccount:staging:s3-reader")), policy.ExplicitDeny},
		{"deny does not hit production", &policy.Set{Resource: denyStaging}, web(evProvider, evCtx(sub, "system:serviceaccount:production:s3-reader")), policy.Allowed},
	})
}

// TestEvalPodIdentity: EKS Pod Identity trusts the pods.eks.amazonaws.com
// service principal for sts:AssumeRole and sts:TagSession ([podid]).
func TestEvalPodIdentity(t *testing.T) {
	trust := evParse(t, "pod-identity-trust", policy.KindTrust, `{
		"Version": "2012-10-17",
		"Statement": [{
			"Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
			"Effect": "Allow",
			"Principal": {"Service": "pods.eks.amazonaws.com"},
			"Action": ["sts:AssumeRole", "sts:TagSession"]
		}]
	}`)
	req := func(action, principal string) policy.Request {
		return policy.Request{Action: action, Resource: evS3Reader, Principal: principal}
	}
	evRun(t, []evCase{
		{"AssumeRole by pods.eks", &policy.Set{Resource: trust}, req("sts:AssumeRole", "pods.eks.amazonaws.com"), policy.Allowed},
		{"TagSession by pods.eks", &policy.Set{Resource: trust}, req("sts:TagSession", "pods.eks.amazonaws.com"), policy.Allowed},
		{"web identity by pods.eks", &policy.Set{Resource: trust}, req("sts:AssumeRoleWithWebIdentity", "pods.eks.amazonaws.com"), policy.ImplicitDeny},
		{"AssumeRole by ec2", &policy.Set{Resource: trust}, req("sts:AssumeRole", "ec2.amazonaws.com"), policy.ImplicitDeny},
		{"AssumeRole by a user", &policy.Set{Resource: trust}, req("sts:AssumeRole", evUser), policy.ImplicitDeny},
		{"AssumeRole anonymously", &policy.Set{Resource: trust}, req("sts:AssumeRole", ""), policy.ImplicitDeny},
	})
}

// TestEvalPrincipalStar: "Principal": "*" in a resource policy means every
// principal, anonymous included (reference_policies_elements_principal.html).
// That such a grant is final within an account follows the lead's rule that
// naming the caller (or "*") is final; the AWS pages do not discuss "*".
func TestEvalPrincipalStar(t *testing.T) {
	star := func(account string) *policy.Policy {
		return evParse(t, "public-"+account, policy.KindResource, evDoc(
			fmt.Sprintf(`{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":%q}`, evQueue(account))))
	}
	awsStar := evParse(t, "aws-star", policy.KindResource, evDoc(
		fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sqs:SendMessage","Resource":%q}`, evQueue(evAccount))))
	account := evParse(t, "account", policy.KindResource, evDoc(
		fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sqs:SendMessage","Resource":%q}`, evQueue(evAccount))))
	idAllow := []*policy.Policy{evParse(t, "id-allow", policy.KindIdentity, evDoc(`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}`))}
	req := func(account, principal string) policy.Request {
		return policy.Request{Action: evAction, Resource: evQueue(account), Principal: principal}
	}
	evRun(t, []evCase{
		{"same account session, no identity policy", &policy.Set{Resource: star(evAccount)}, req(evAccount, evSession), policy.Allowed},
		{"same account, AWS * form", &policy.Set{Resource: awsStar}, req(evAccount, evUser), policy.Allowed},
		{"anonymous", &policy.Set{Resource: star(evAccount)}, req(evAccount, ""), policy.Allowed},
		{"anonymous, AWS * form", &policy.Set{Resource: awsStar}, req(evAccount, ""), policy.Allowed},
		{"anonymous against an account grant", &policy.Set{Resource: account}, req(evAccount, ""), policy.ImplicitDeny},
		{"cross account, no identity policy", &policy.Set{Resource: star(evOtherAccount)}, req(evOtherAccount, evUser), policy.ImplicitDeny},
		{"cross account with identity allow", &policy.Set{Identity: idAllow, Resource: star(evOtherAccount)}, req(evOtherAccount, evUser), policy.Allowed},
		{"wrong action", &policy.Set{Resource: star(evAccount)}, policy.Request{Action: "sqs:DeleteQueue", Resource: evQueue(evAccount), Principal: evUser}, policy.ImplicitDeny},
	})
}

// TestEvalNotPrincipalDeny: Deny with NotPrincipal denies everyone but the
// listed principals ([notprinc]). Only cases the page states without a
// "might" are asserted.
func TestEvalNotPrincipalDeny(t *testing.T) {
	const bob = "arn:aws:iam::111111111111:user/bob"
	queue := evQueue(evAccount)
	allowAccount := fmt.Sprintf(`{"Sid":"AllowAccounts","Effect":"Allow","Principal":{"AWS":["111111111111","222222222222"]},"Action":"sqs:*","Resource":%q}`, queue)
	exceptBobAndAccount := evParse(t, "except-bob", policy.KindResource, evDoc(allowAccount,
		fmt.Sprintf(`{"Sid":"DenyOthers","Effect":"Deny","NotPrincipal":{"AWS":[%q,"arn:aws:iam::111111111111:root"]},"Action":"sqs:*","Resource":%q}`, bob, queue)))
	exceptBobOnly := evParse(t, "except-bob-only", policy.KindResource, evDoc(allowAccount,
		fmt.Sprintf(`{"Sid":"DenyOthers","Effect":"Deny","NotPrincipal":{"AWS":%q},"Action":"sqs:*","Resource":%q}`, bob, queue)))
	exceptSession := evParse(t, "except-session", policy.KindResource, evDoc(allowAccount,
		fmt.Sprintf(`{"Sid":"DenyOthers","Effect":"Deny","NotPrincipal":{"AWS":[%q,%q,"arn:aws:iam::111111111111:root"]},"Action":"sqs:*","Resource":%q}`, evSession, evRole, queue)))
	idAllow := []*policy.Policy{evParse(t, "id-allow", policy.KindIdentity, evDoc(`{"Effect":"Allow","Action":"sqs:*","Resource":"*"}`))}
	req := func(principal string) policy.Request {
		return policy.Request{Action: evAction, Resource: queue, Principal: principal}
	}
	evRun(t, []evCase{
		{"bob is exempt", &policy.Set{Identity: idAllow, Resource: exceptBobAndAccount}, req(bob), policy.Allowed},
		{"alice is denied", &policy.Set{Identity: idAllow, Resource: exceptBobOnly}, req(evUser), policy.ExplicitDeny},
		{"other account user is denied", &policy.Set{Identity: idAllow, Resource: exceptBobAndAccount}, req("arn:aws:iam::222222222222:user/bob"), policy.ExplicitDeny},
		{"anonymous is denied", &policy.Set{Resource: exceptBobOnly}, req(""), policy.ExplicitDeny},
		{"listed session is exempt", &policy.Set{Identity: idAllow, Resource: exceptSession}, req(evSession), policy.Allowed},
		{"another session of another role is denied", &policy.Set{Identity: idAllow, Resource: exceptSession}, req("arn:aws:sts::222222222222:assumed-role/ops/s"), policy.ExplicitDeny},
		{"deny applies only to its actions", &policy.Set{Identity: idAllow, Resource: evParse(t, "except-bob-send", policy.KindResource, evDoc(
			fmt.Sprintf(`{"Effect":"Deny","NotPrincipal":{"AWS":%q},"Action":"sqs:DeleteQueue","Resource":%q}`, bob, queue)))}, req(evUser), policy.Allowed},
	})
}

// TestEvalSCP: SCPs at every level must allow, and their explicit deny
// overrides every allow ([denyallow] steps 1-2, [boundary]).
func TestEvalSCP(t *testing.T) {
	queue := evQueue(evAccount)
	full := evParse(t, "FullAWSAccess", policy.KindSCP, evDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`))
	s3 := evParse(t, "s3-only", policy.KindSCP, evDoc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	sqs := evParse(t, "sqs-only", policy.KindSCP, evDoc(`{"Effect":"Allow","Action":"sqs:*","Resource":"*"}`))
	deny := evParse(t, "deny-send", policy.KindSCP, evDoc(`{"Effect":"Deny","Action":"sqs:SendMessage","Resource":"*"}`))
	everything := func(scps [][]*policy.Policy) *policy.Set {
		return &policy.Set{
			Identity: []*policy.Policy{evParse(t, "admin", policy.KindIdentity, evDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`))},
			Boundary: evParse(t, "pb", policy.KindBoundary, evDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`)),
			Session:  []*policy.Policy{evParse(t, "sess", policy.KindSession, evDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`))},
			Resource: evParse(t, "queue", policy.KindResource, evDoc(fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":%q},"Action":"*","Resource":%q}`, evSession, queue))),
			SCPs:     scps,
		}
	}
	req := policy.Request{Action: evAction, Resource: queue, Principal: evSession}
	evRun(t, []evCase{
		{"no SCP", everything(nil), req, policy.Allowed},
		{"one level allows", everything([][]*policy.Policy{{full}}), req, policy.Allowed},
		{"three levels allow", everything([][]*policy.Policy{{full}, {sqs}, {s3, full}}), req, policy.Allowed},
		{"explicit deny at the account level overrides everything", everything([][]*policy.Policy{{full}, {full}, {full, deny}}), req, policy.ExplicitDeny},
		{"explicit deny at the root overrides everything", everything([][]*policy.Policy{{full, deny}, {full}}), req, policy.ExplicitDeny},
		{"middle level lacks an allow", everything([][]*policy.Policy{{full}, {s3}, {full}}), req, policy.ImplicitDeny},
		{"last level lacks an allow", everything([][]*policy.Policy{{full}, {full}, {s3}}), req, policy.ImplicitDeny},
		{"allow at another level does not fill the gap", everything([][]*policy.Policy{{sqs, full}, {s3}}), req, policy.ImplicitDeny},
		{"an empty level is a level without an allow", everything([][]*policy.Policy{{full}, {}}), req, policy.ImplicitDeny},
	})
}

// TestEvalSessionPolicies: the inline Policy and the PolicyArns are all
// session policies; one of them allowing is enough, and a deny in any of
// them denies ([session]).
func TestEvalSessionPolicies(t *testing.T) {
	queue := evQueue(evAccount)
	id := []*policy.Policy{evParse(t, "role-policy", policy.KindIdentity, evDoc(`{"Effect":"Allow","Action":["sqs:*","s3:*"],"Resource":"*"}`))}
	inlineS3 := evParse(t, "Policy", policy.KindSession, evDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`))
	arnSQS := evParse(t, "PolicyArns[0]", policy.KindSession, evDoc(fmt.Sprintf(`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":%q}`, queue)))
	arnOther := evParse(t, "PolicyArns[1]", policy.KindSession, evDoc(`{"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"*"}`))
	arnDeny := evParse(t, "PolicyArns[2]", policy.KindSession, evDoc(`{"Effect":"Deny","Action":"sqs:*","Resource":"*"}`))
	sessionWide := evParse(t, "Policy-all", policy.KindSession, evDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`))
	req := policy.Request{Action: evAction, Resource: queue, Principal: evSession}
	evRun(t, []evCase{
		{"inline lacks, managed allows", &policy.Set{Identity: id, Session: []*policy.Policy{inlineS3, arnSQS}}, req, policy.Allowed},
		{"managed allows, inline lacks (other order)", &policy.Set{Identity: id, Session: []*policy.Policy{arnSQS, inlineS3}}, req, policy.Allowed},
		{"neither allows", &policy.Set{Identity: id, Session: []*policy.Policy{inlineS3, arnOther}}, req, policy.ImplicitDeny},
		{"one allows, one denies", &policy.Set{Identity: id, Session: []*policy.Policy{sessionWide, arnDeny}}, req, policy.ExplicitDeny},
		{"session allows but identity does not", &policy.Set{Identity: []*policy.Policy{evParse(t, "s3-role", policy.KindIdentity, evDoc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))}, Session: []*policy.Policy{sessionWide}}, req, policy.ImplicitDeny},
		{"session policy cannot grant on its own", &policy.Set{Session: []*policy.Policy{sessionWide}}, req, policy.ImplicitDeny},
	})
}

// TestEvalResourceAccount: an ARN without an account (S3) belongs to the
// account given in ResourceAccount, or to the principal's account when that
// is empty (the Request documentation).
func TestEvalResourceAccount(t *testing.T) {
	id := []*policy.Policy{evParse(t, "s3-read", policy.KindIdentity, evDoc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}`))}
	bucket := evParse(t, "bucket", policy.KindResource, evDoc(
		fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":%q},"Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}`, evUser)))
	get := func(owner string) policy.Request {
		return policy.Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::reports/2024/q1.csv", Principal: evUser, ResourceAccount: owner}
	}
	evRun(t, []evCase{
		{"owner unknown: same account, identity allows", &policy.Set{Identity: id}, get(""), policy.Allowed},
		{"owner is the caller's account", &policy.Set{Identity: id}, get(evAccount), policy.Allowed},
		{"owner is another account, no bucket policy", &policy.Set{Identity: id}, get(evOtherAccount), policy.ImplicitDeny},
		{"owner is another account, bucket names the user", &policy.Set{Identity: id, Resource: bucket}, get(evOtherAccount), policy.Allowed},
		{"owner is another account, only the bucket allows", &policy.Set{Resource: bucket}, get(evOtherAccount), policy.ImplicitDeny},
		{"same account, only the bucket allows", &policy.Set{Resource: bucket}, get(""), policy.Allowed},
	})
}

// TestEvalEmptySet: with no policy at all everything is implicitly denied.
func TestEvalEmptySet(t *testing.T) {
	evRun(t, []evCase{
		{"empty set", &policy.Set{}, policy.Request{Action: evAction, Resource: evQueue(evAccount), Principal: evUser}, policy.ImplicitDeny},
		{"anonymous, empty set", &policy.Set{}, policy.Request{Action: evAction, Resource: evQueue(evAccount)}, policy.ImplicitDeny},
	})
}

// TestEvalPrincipalNaming: how a resource or trust policy names the caller
// ([denyallow] table of principal types; reference_policies_elements_principal.html).
func TestEvalPrincipalNaming(t *testing.T) {
	queue := evQueue(evAccount)
	grant := func(name string, principals ...string) *policy.Policy {
		var stmts []string
		for i, p := range principals {
			stmts = append(stmts, fmt.Sprintf(`{"Sid":"G%d","Effect":"Allow","Principal":{"AWS":%q},"Action":"sqs:SendMessage","Resource":%q}`, i, p, queue))
		}
		return evParse(t, name, policy.KindResource, evDoc(stmts...))
	}
	sessS3 := []*policy.Policy{evParse(t, "sess-s3", policy.KindSession, evDoc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))}
	req := evSendTo(queue)
	evRun(t, []evCase{
		// Several statements: the one naming the caller most directly decides.
		{"account then session statements", &policy.Set{Resource: grant("acct-then-session", "arn:aws:iam::111111111111:root", evSession)}, req(evSession), policy.Allowed},
		{"role then session statements, session policy lacks", &policy.Set{Resource: grant("role-then-session", evRole, evSession), Session: sessS3}, req(evSession), policy.Allowed},
		{"role statement, session policy lacks", &policy.Set{Resource: grant("role-only", evRole), Session: sessS3}, req(evSession), policy.ImplicitDeny},
		// A role ARN with a path names the sessions of that role; the session
		// ARN carries no path.
		{"role with a path names its sessions", &policy.Set{Resource: grant("role-path", "arn:aws:iam::111111111111:role/team/app")}, req(evSession), policy.Allowed},
		{"same role name in another account", &policy.Set{Resource: grant("other-acct-role", "arn:aws:iam::222222222222:role/app")}, req(evSession), policy.ImplicitDeny},
		{"another role", &policy.Set{Resource: grant("other-role", "arn:aws:iam::111111111111:role/app2")}, req(evSession), policy.ImplicitDeny},
		{"another session of the same role", &policy.Set{Resource: grant("other-session", "arn:aws:sts::111111111111:assumed-role/app/worker-2")}, req(evSession), policy.ImplicitDeny},
		{"another user", &policy.Set{Resource: grant("other-user", "arn:aws:iam::111111111111:user/bob")}, req(evUser), policy.ImplicitDeny},
		{"a user is not a role", &policy.Set{Resource: grant("user-as-role", "arn:aws:iam::111111111111:role/alice")}, req(evUser), policy.ImplicitDeny},
		{"another account", &policy.Set{Resource: grant("other-acct", "222222222222")}, req(evUser), policy.ImplicitDeny},
	})
}

// evSendTo returns a request builder for sqs:SendMessage on queue.
func evSendTo(queue string) func(principal string) policy.Request {
	return func(principal string) policy.Request {
		return policy.Request{Action: evAction, Resource: queue, Principal: principal}
	}
}

// TestEvalFederatedNotAccount: a trust policy naming the account does not
// let an OIDC provider or a service assume the role; those principals are
// named by Federated and Service ([trust]).
func TestEvalFederatedNotAccount(t *testing.T) {
	trust := evParse(t, "account-trust", policy.KindTrust, evDoc(
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["sts:AssumeRole","sts:AssumeRoleWithWebIdentity"]}`))
	evRun(t, []evCase{
		{"OIDC provider of the same account", &policy.Set{Resource: trust}, policy.Request{Action: "sts:AssumeRoleWithWebIdentity", Resource: evS3Reader, Principal: evProvider}, policy.ImplicitDeny},
		{"service principal", &policy.Set{Resource: trust}, policy.Request{Action: "sts:AssumeRole", Resource: evS3Reader, Principal: "pods.eks.amazonaws.com"}, policy.ImplicitDeny},
	})
}

// TestEvalRootUser: [denyallow] "By default, all requests are implicitly
// denied with the exception of the AWS account root user, which has full
// access"; the root user is still subject to SCPs and explicit denies
// (access_policies.html#access_policies-root).
func TestEvalRootUser(t *testing.T) {
	const root = "arn:aws:iam::111111111111:root"
	queue := evQueue(evAccount)
	s3Only := evParse(t, "s3-only", policy.KindSCP, evDoc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	lockdown := evParse(t, "lockdown", policy.KindResource, evDoc(
		fmt.Sprintf(`{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":%q}`, queue)))
	req := evSendTo(queue)
	evRun(t, []evCase{
		{"root, no policies", &policy.Set{}, req(root), policy.Allowed},
		{"root by account ID, no policies", &policy.Set{}, req(evAccount), policy.Allowed},
		{"root, SCP lacks allow", &policy.Set{SCPs: [][]*policy.Policy{{s3Only}}}, req(root), policy.ImplicitDeny},
		{"root, resource policy denies", &policy.Set{Resource: lockdown}, req(root), policy.ExplicitDeny},
		{"root of another account", &policy.Set{}, req("arn:aws:iam::222222222222:root"), policy.ImplicitDeny},
	})
}

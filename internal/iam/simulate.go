package iam

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
)

// ContextEntry is AWS's ContextEntry: one condition key of a simulated
// request.
type ContextEntry struct {
	ContextKeyName   *string  `query:"ContextKeyName"`
	ContextKeyValues []string `query:"ContextKeyValues"`
	ContextKeyType   *string  `query:"ContextKeyType"`
}

// SimulateCustomPolicyInput is AWS's SimulateCustomPolicyRequest.
type SimulateCustomPolicyInput struct {
	PolicyInputList                    []string       `query:"PolicyInputList"`
	PermissionsBoundaryPolicyInputList []string       `query:"PermissionsBoundaryPolicyInputList"`
	ActionNames                        []string       `query:"ActionNames"`
	ResourceArns                       []string       `query:"ResourceArns"`
	ResourcePolicy                     *string        `query:"ResourcePolicy"`
	ResourceOwner                      *string        `query:"ResourceOwner"`
	CallerArn                          *string        `query:"CallerArn"`
	ContextEntries                     []ContextEntry `query:"ContextEntries"`
	ResourceHandlingOption             *string        `query:"ResourceHandlingOption"`
	MaxItems                           *int32         `query:"MaxItems"`
	Marker                             *string        `query:"Marker"`
}

// SimulatePrincipalPolicyInput is AWS's SimulatePrincipalPolicyRequest.
type SimulatePrincipalPolicyInput struct {
	PolicySourceArn                    *string        `query:"PolicySourceArn"`
	PolicyInputList                    []string       `query:"PolicyInputList"`
	PermissionsBoundaryPolicyInputList []string       `query:"PermissionsBoundaryPolicyInputList"`
	ActionNames                        []string       `query:"ActionNames"`
	ResourceArns                       []string       `query:"ResourceArns"`
	ResourcePolicy                     *string        `query:"ResourcePolicy"`
	ResourceOwner                      *string        `query:"ResourceOwner"`
	CallerArn                          *string        `query:"CallerArn"`
	ContextEntries                     []ContextEntry `query:"ContextEntries"`
	ResourceHandlingOption             *string        `query:"ResourceHandlingOption"`
	MaxItems                           *int32         `query:"MaxItems"`
	Marker                             *string        `query:"Marker"`
}

// custom is the request without its PolicySourceArn.
func (in *SimulatePrincipalPolicyInput) custom() *SimulateCustomPolicyInput {
	return &SimulateCustomPolicyInput{
		PolicyInputList:                    in.PolicyInputList,
		PermissionsBoundaryPolicyInputList: in.PermissionsBoundaryPolicyInputList,
		ActionNames:                        in.ActionNames,
		ResourceArns:                       in.ResourceArns,
		ResourcePolicy:                     in.ResourcePolicy,
		ResourceOwner:                      in.ResourceOwner,
		CallerArn:                          in.CallerArn,
		ContextEntries:                     in.ContextEntries,
		ResourceHandlingOption:             in.ResourceHandlingOption,
		MaxItems:                           in.MaxItems,
		Marker:                             in.Marker,
	}
}

// SimulatePolicyOutput is AWS's SimulatePolicyResponse: one result per
// action and resource, in the order given (actions outer).
type SimulatePolicyOutput struct {
	EvaluationResults []EvaluationResult
	Page
}

// EvaluationResult is AWS's EvaluationResult.
type EvaluationResult struct {
	EvalActionName    string
	EvalResourceName  string
	EvalDecision      string // allowed, explicitDeny, implicitDeny
	MatchedStatements []Statement
	// MissingContextValues are the condition keys (and policy variables)
	// that statements applying to the action use and the request lacks.
	MissingContextValues []string
	// AllowedByOrganizations is always true: irsa has no organizations.
	AllowedByOrganizations bool
	// PermissionsBoundaryDecisionDetail is set when a permissions boundary
	// took part: whether it allows the request.
	PermissionsBoundaryDecisionDetail *bool
	// ResourceSpecificResults repeats the result for the resource when
	// ResourceArns were given, as AWS does.
	ResourceSpecificResults []ResourceSpecificResult
}

// ResourceSpecificResult is AWS's ResourceSpecificResult.
type ResourceSpecificResult struct {
	EvalResourceName                  string
	EvalResourceDecision              string
	MatchedStatements                 []Statement
	MissingContextValues              []string
	PermissionsBoundaryDecisionDetail *bool
}

// Statement is AWS's Statement: a statement that decided a result.
// StartPosition and EndPosition are nil when the document could not be
// located (never for documents irsa accepted).
type Statement struct {
	SourcePolicyId   string //nolint:revive // AWS wire name
	SourcePolicyType string
	StartPosition    *Position
	EndPosition      *Position
}

func checkSimulation(v *violations, in *SimulateCustomPolicyInput) {
	if in.ActionNames == nil {
		v.null("actionNames")
	}
	v.strList(in.ActionNames, "actionNames", 3, 128, nil, "")
	v.strList(in.ResourceArns, "resourceArns", 1, 2048, nil, "")
	v.optional(in.ResourceOwner, "resourceOwner", 1, 2048, nil, "")
	v.optional(in.CallerArn, "callerArn", 1, 2048, nil, "")
	v.optional(in.ResourceHandlingOption, "resourceHandlingOption", 1, 64, nil, "")
	for i, e := range in.ContextEntries {
		member := fmt.Sprintf("contextEntries.%d.member", i+1)
		v.optional(e.ContextKeyName, member+".contextKeyName", 5, 256, nil, "")
		v.enum(e.ContextKeyType, member+".contextKeyType", "string", "stringList", "numeric", "numericList", "boolean", "booleanList", "ip", "ipList", "binary", "binaryList", "date", "dateList")
	}
	v.page(in.Marker, in.MaxItems)
}

// simPolicy is a compiled input policy and where it came from.
type simPolicy struct {
	src source
	p   *policy.Policy
}

func compileInputs(docs []string, member, typ string, kind policy.Kind) ([]simPolicy, error) {
	var out []simPolicy
	for i, d := range docs {
		src := source{id: fmt.Sprintf("%s.%d", member, i+1), typ: typ, doc: d, kind: kind}
		p, err := compileSim(src)
		if err != nil {
			return nil, err
		}
		out = append(out, simPolicy{src, p})
	}
	return out, nil
}

// compileSim parses a simulated policy; a document AWS would reject is
// InvalidInput, the error SimulateCustomPolicy documents, with the policy
// package's AWS message.
func compileSim(src source) (*policy.Policy, error) {
	p, err := policy.ParseWithLimits([]byte(src.doc), src.kind, policy.Limits{Size: policy.MaxDocumentBytes})
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return nil, awserr.New(awserr.InvalidInput, pe.Message)
		}
		return nil, awserr.Internal(err)
	}
	return p, nil
}

// SimulateCustomPolicy evaluates the given policies against each action and
// resource.
func (s *Service) SimulateCustomPolicy(ctx context.Context, accountID string, in *SimulateCustomPolicyInput) (*SimulatePolicyOutput, error) {
	var v violations
	if in.PolicyInputList == nil {
		v.null("policyInputList")
	}
	checkSimulation(&v, in)
	if err := v.err(); err != nil {
		return nil, err
	}
	ids, err := compileInputs(in.PolicyInputList, "PolicyInputList", sourceIdentity, policy.KindIdentity)
	if err != nil {
		return nil, err
	}
	return s.simulate(accountID, in, ids, nil, str(in.CallerArn))
}

// SimulatePrincipalPolicy evaluates a role's policies (inline, attached and
// its permissions boundary), plus any given, against each action and
// resource. irsa has no IAM users or groups: their ARNs are NoSuchEntity.
func (s *Service) SimulatePrincipalPolicy(ctx context.Context, accountID string, in *SimulatePrincipalPolicyInput) (*SimulatePolicyOutput, error) {
	var v violations
	v.required(in.PolicySourceArn, "policySourceArn", 20, 2048, nil, "")
	cin := in.custom()
	checkSimulation(&v, cin)
	if err := v.err(); err != nil {
		return nil, err
	}
	src := *in.PolicySourceArn
	ra, err := ParseRoleARN(src)
	if err != nil {
		a, perr := arn.Parse(src)
		if perr != nil || a.Service != "iam" {
			return nil, awserr.Newf(awserr.InvalidInput, "Invalid ARN: %s is not the ARN of a user, group or role.", src)
		}
		name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
		switch {
		case strings.HasPrefix(a.Resource, "user/"):
			return nil, awserr.Newf(awserr.NoSuchEntity, "The user with name %s cannot be found.", name)
		case strings.HasPrefix(a.Resource, "group/"):
			return nil, awserr.Newf(awserr.NoSuchEntity, "The group with name %s cannot be found.", name)
		}
		return nil, awserr.Newf(awserr.InvalidInput, "Invalid ARN: %s is not the ARN of a user, group or role.", src)
	}
	if ra.AccountID != accountID {
		return nil, noSuchRole(ra.Name)
	}
	r, err := s.role(ctx, accountID, ra.Name)
	if err != nil {
		return nil, err
	}
	rsrc, rbnd, err := s.roleSources(ctx, &r)
	if err != nil {
		return nil, err
	}
	var ids []simPolicy
	for _, src := range rsrc {
		p, err := compileSim(src)
		if err != nil {
			return nil, awserr.Internal(fmt.Errorf("iam: stored policy %s of role %s does not compile: %w", src.name, r.Name, err))
		}
		ids = append(ids, simPolicy{src, p})
	}
	extra, err := compileInputs(in.PolicyInputList, "PolicyInputList", sourceIdentity, policy.KindIdentity)
	if err != nil {
		return nil, err
	}
	ids = append(ids, extra...)
	var bnd *simPolicy
	if rbnd != nil {
		p, err := compileSim(*rbnd)
		if err != nil {
			return nil, awserr.Internal(fmt.Errorf("iam: permissions boundary %s of role %s does not compile: %w", rbnd.name, r.Name, err))
		}
		bnd = &simPolicy{*rbnd, p}
	}
	caller := r.ARN
	if in.CallerArn != nil {
		caller = *in.CallerArn
	}
	return s.simulate(accountID, cin, ids, bnd, caller)
}

// simulate evaluates every action and resource. A boundary given in
// PermissionsBoundaryPolicyInputList replaces the principal's own.
func (s *Service) simulate(accountID string, in *SimulateCustomPolicyInput, ids []simPolicy, bnd *simPolicy, caller string) (*SimulatePolicyOutput, error) {
	if len(in.PermissionsBoundaryPolicyInputList) > 1 {
		return nil, awserr.New(awserr.InvalidInput, "Only one permissions boundary policy can be given in PermissionsBoundaryPolicyInputList.")
	}
	if len(in.PermissionsBoundaryPolicyInputList) == 1 {
		bs, err := compileInputs(in.PermissionsBoundaryPolicyInputList, "PermissionsBoundaryPolicyInputList", sourceBoundary, policy.KindBoundary)
		if err != nil {
			return nil, err
		}
		bnd = &bs[0]
	}
	resources := in.ResourceArns
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	var res *simPolicy
	if in.ResourcePolicy != nil {
		kind := policy.KindResource
		if trustScenario(in.ActionNames, in.ResourceArns) {
			kind = policy.KindTrust
		}
		rs := source{id: "ResourcePolicy", typ: sourceResource, doc: *in.ResourcePolicy, kind: kind}
		p, err := compileSim(rs)
		if err != nil {
			return nil, err
		}
		res = &simPolicy{rs, p}
	}
	owner := resourceOwner(accountID, str(in.ResourceOwner), caller)
	reqCtx, err := simContext(in.ContextEntries)
	if err != nil {
		return nil, err
	}

	// Every compiled policy is named by its index into all, so matched
	// statements lead back to their source.
	var all []simPolicy
	set := &policy.Set{}
	for _, sp := range ids {
		sp.p.Name = fmt.Sprint(len(all))
		all = append(all, sp)
		set.Identity = append(set.Identity, sp.p)
	}
	if bnd != nil {
		bnd.p.Name = fmt.Sprint(len(all))
		all = append(all, *bnd)
		set.Boundary = bnd.p
	}
	if res != nil {
		res.p.Name = fmt.Sprint(len(all))
		all = append(all, *res)
		set.Resource = res.p
	}
	spans := make([][]span, len(all))
	for i := range all {
		spans[i] = statementSpans(all[i].src.doc)
	}

	type item struct {
		n int
		r EvaluationResult
	}
	var items []item
	for _, action := range in.ActionNames {
		for _, resource := range resources {
			req := &policy.Request{Action: action, Resource: resource, Principal: caller, ResourceAccount: owner, Context: reqCtx}
			ex := policy.Explain(set, req)
			er := EvaluationResult{
				EvalActionName:         action,
				EvalResourceName:       resource,
				EvalDecision:           string(ex.Decision),
				MatchedStatements:      matched(ex, all, spans),
				MissingContextValues:   missingKeys(all, action, resource, reqCtx),
				AllowedByOrganizations: true,
			}
			if bnd != nil {
				allowed := boundaryAllows(ex)
				er.PermissionsBoundaryDecisionDetail = &allowed
			}
			if len(in.ResourceArns) > 0 {
				er.ResourceSpecificResults = []ResourceSpecificResult{{
					EvalResourceName:                  resource,
					EvalResourceDecision:              er.EvalDecision,
					MatchedStatements:                 er.MatchedStatements,
					MissingContextValues:              er.MissingContextValues,
					PermissionsBoundaryDecisionDetail: er.PermissionsBoundaryDecisionDetail,
				}}
			}
			items = append(items, item{len(items), er})
		}
	}
	page, pg, err := paginate(items, func(it item) string { return fmt.Sprintf("%08d", it.n) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &SimulatePolicyOutput{EvaluationResults: []EvaluationResult{}, Page: pg}
	for _, it := range page {
		out.EvaluationResults = append(out.EvaluationResults, it.r)
	}
	return out, nil
}

// resourceOwner is the account that owns the simulated resources: that of
// ResourceOwner (an account ID or an ARN such as arn:aws:iam::A:root), else
// the caller's account, else the account simulating, as AWS documents.
func resourceOwner(accountID, owner, caller string) string {
	if arn.IsAccountID(owner) {
		return owner
	}
	if segs, ok := arn.Split(owner); ok && arn.IsAccountID(segs[4]) {
		return segs[4]
	}
	if segs, ok := arn.Split(caller); ok && arn.IsAccountID(segs[4]) {
		return segs[4]
	}
	return accountID
}

// trustScenario reports whether the resource policy is a role's trust
// policy: every resource is a role ARN and every action an sts: action.
func trustScenario(actions, resources []string) bool {
	if len(resources) == 0 {
		return false
	}
	for _, r := range resources {
		if _, err := ParseRoleARN(r); err != nil {
			return false
		}
	}
	for _, a := range actions {
		if !strings.HasPrefix(strings.ToLower(a), "sts:") {
			return false
		}
	}
	return true
}

// simContext builds the request context from ContextEntries.
func simContext(entries []ContextEntry) (*policy.Context, error) {
	c := policy.NewContext()
	for _, e := range entries {
		if e.ContextKeyName == nil {
			continue
		}
		c.Set(*e.ContextKeyName, e.ContextKeyValues...)
		if e.ContextKeyType != nil {
			t, err := policy.ParseContextType(*e.ContextKeyType)
			if err != nil {
				return nil, awserr.New(awserr.InvalidInput, err.Error())
			}
			c.SetType(*e.ContextKeyName, t)
		}
	}
	return c, nil
}

// matched lists the statements that decided: the allowing identity and
// resource statements of an allow, the denying statements of an explicit
// deny, none for an implicit deny.
func matched(ex *policy.Result, all []simPolicy, spans [][]span) []Statement {
	out := []Statement{}
	for _, ref := range ex.MatchedStatements {
		switch ex.Decision {
		case policy.Allowed:
			if ref.Effect != "Allow" || ref.PolicyType == "boundary" {
				continue
			}
		case policy.ExplicitDeny:
			if ref.Effect != "Deny" {
				continue
			}
		default:
			continue
		}
		var i int
		if _, err := fmt.Sscan(ref.PolicyName, &i); err != nil || i < 0 || i >= len(all) {
			continue
		}
		st := Statement{SourcePolicyId: all[i].src.id, SourcePolicyType: all[i].src.typ}
		if ref.Index >= 0 && ref.Index < len(spans[i]) {
			sp := spans[i][ref.Index]
			st.StartPosition, st.EndPosition = &sp.Start, &sp.End
		}
		out = append(out, st)
	}
	return out
}

func boundaryAllows(ex *policy.Result) bool {
	allow := false
	for _, ref := range ex.MatchedStatements {
		if ref.PolicyType != "boundary" {
			continue
		}
		if ref.Effect == "Deny" {
			return false
		}
		allow = true
	}
	return allow
}

var reVariable = regexp.MustCompile(`\$\{([^}]*)\}`)

// missingKeys lists the condition keys, and the keys of policy variables,
// used by the statements that apply to the action and resource, that the
// request context lacks, in the order they first appear.
func missingKeys(all []simPolicy, action, resource string, c *policy.Context) []string {
	out := []string{}
	seen := map[string]bool{}
	add := func(k string) {
		lk := strings.ToLower(k)
		if k == "" || seen[lk] {
			return
		}
		if _, ok := c.Get(k); ok {
			return
		}
		seen[lk] = true
		out = append(out, k)
	}
	vars := func(s string) {
		for _, m := range reVariable.FindAllStringSubmatch(s, -1) {
			k := strings.TrimSpace(m[1])
			if i := strings.IndexByte(k, ','); i >= 0 {
				k = strings.TrimSpace(k[:i])
			}
			if k != "*" && k != "?" && k != "$" {
				add(k)
			}
		}
	}
	for _, sp := range all {
		v2012 := sp.p.Version == policy.Version2012
		for _, st := range sp.p.Statements {
			if !appliesTo(st, action, resource) {
				continue
			}
			for _, cond := range st.Conditions {
				add(cond.Key)
				if v2012 {
					for _, val := range cond.Values {
						vars(val)
					}
				}
			}
			if v2012 {
				for _, r := range append(append([]string{}, st.Resource...), st.NotResource...) {
					vars(r)
				}
			}
		}
	}
	return out
}

// appliesTo is a coarse test of whether a statement's Action and Resource
// elements cover the request; it only chooses which condition keys to
// report as missing.
func appliesTo(st policy.Statement, action, resource string) bool {
	la := strings.ToLower(action)
	anyMatch := func(patterns []string, text string, fold bool) bool {
		for _, p := range patterns {
			if fold {
				p = strings.ToLower(p)
			}
			if strings.Contains(p, "${") || policy.Match(p, text) {
				return true
			}
		}
		return false
	}
	switch {
	case st.Action != nil && !anyMatch(st.Action, la, true):
		return false
	case st.NotAction != nil && anyMatch(st.NotAction, la, true):
		return false
	}
	if resource == "*" {
		return true
	}
	switch {
	case st.Resource != nil && !anyMatch(st.Resource, resource, false):
		return false
	case st.NotResource != nil && anyMatch(st.NotResource, resource, false):
		return false
	}
	return true
}

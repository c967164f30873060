package sts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
)

// Tag is a session tag of a request.
type Tag struct {
	Key   string
	Value string
}

// AssumeRoleInput is the request.
type AssumeRoleInput struct {
	RoleArn           *string
	RoleSessionName   *string
	PolicyArns        []string
	Policy            *string
	DurationSeconds   *int32
	Tags              []Tag
	TransitiveTagKeys []string
	ExternalID        *string
	SerialNumber      *string
	TokenCode         *string
	SourceIdentity    *string
}

// AssumeRoleOutput is the result.
type AssumeRoleOutput struct {
	Credentials      Credentials
	AssumedRoleUser  AssumedRoleUser
	PackedPolicySize *int
	SourceIdentity   string
}

// AssumeRole gives a signed caller a session of a role: the role's trust
// policy and the caller's own permissions must both allow it (or the trust
// policy alone, when it names the caller itself).
func (s *Service) AssumeRole(ctx context.Context, in *AssumeRoleInput) (*AssumeRoleOutput, *policy.Result, error) {
	caller := reqctx.From(ctx).Caller
	if caller == nil {
		return nil, nil, awserr.New(awserr.MissingAuthenticationToken, "Request is missing Authentication Token")
	}
	var v violations
	v.length(in.RoleArn, "roleArn", 20, 2048, false)
	if v.length(in.RoleSessionName, "roleSessionName", 2, 64, false) {
		v.pattern(in.RoleSessionName, "roleSessionName", sessionNameRE, sessionNameText)
	}
	v.intRange(in.DurationSeconds, "durationSeconds", MinDuration, MaxDuration)
	if in.Policy != nil && !policyCharsRE.MatchString(*in.Policy) {
		v.addSensitive("policy", "Member must satisfy regular expression pattern: "+policyCharsText)
	}
	if len(in.PolicyArns) > MaxSessionPolicyARNs {
		v.addSensitive("policyArns", fmt.Sprintf("Member must have length less than or equal to %d", MaxSessionPolicyARNs))
	}
	if in.ExternalID != nil && v.length(in.ExternalID, "externalId", 2, 1224, false) {
		v.pattern(in.ExternalID, "externalId", externalIDRE, externalIDText)
	}
	if in.SourceIdentity != nil && v.length(in.SourceIdentity, "sourceIdentity", 2, 64, false) {
		v.pattern(in.SourceIdentity, "sourceIdentity", sessionNameRE, sessionNameText)
	}
	v.tags(in.Tags)
	if len(in.TransitiveTagKeys) > MaxSessionTags {
		v.addSensitive("transitiveTagKeys", fmt.Sprintf("Member must have length less than or equal to %d", MaxSessionTags))
	}
	if err := v.err(); err != nil {
		return nil, nil, err
	}
	if in.SourceIdentity != nil && strings.HasPrefix(strings.ToLower(*in.SourceIdentity), "aws:") {
		return nil, nil, awserr.New(awserr.ValidationError, "SourceIdentity must not start with the reserved prefix aws:.")
	}
	if in.SerialNumber != nil || in.TokenCode != nil {
		return nil, nil, awserr.New(awserr.AccessDenied, "MultiFactorAuthentication failed: irsa has no MFA devices, so no one-time code can be verified.")
	}

	account, roleName, err := s.parseRoleARN(*in.RoleArn)
	if err != nil {
		return nil, nil, err
	}
	denied := awserr.Newf(awserr.AccessDenied, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, *in.RoleArn)
	role, err := s.Roles.GetRole(ctx, account, roleName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &policy.Result{Decision: policy.ImplicitDeny, Explanation: []policy.Reason{{Message: "role " + *in.RoleArn + " does not exist"}}}, denied
	}
	if err != nil {
		return nil, nil, awserr.Internal(err)
	}
	if !sameRole(role, *in.RoleArn) {
		return nil, &policy.Result{Decision: policy.ImplicitDeny}, denied
	}
	trust, err := s.trustPolicy(role)
	if err != nil {
		return nil, nil, err
	}

	var parent *session.Session
	if ps, ok := caller.Session.(*session.Session); ok {
		parent = ps
	}
	// Tags: those the parent session passes on, then the new ones, which
	// may not override a transitive key.
	var tags []session.Tag
	var transitive []string
	seen := map[string]bool{}
	if parent != nil {
		tkeys := map[string]bool{}
		for _, k := range parent.TransitiveTagKeys {
			tkeys[strings.ToLower(k)] = true
		}
		for _, t := range parent.Tags {
			if tkeys[strings.ToLower(t.Key)] {
				tags = append(tags, t)
				seen[strings.ToLower(t.Key)] = true
			}
		}
		transitive = append(transitive, parent.TransitiveTagKeys...)
	}
	requestKeys := map[string]bool{}
	for _, t := range in.Tags {
		lk := strings.ToLower(t.Key)
		if requestKeys[lk] {
			return nil, nil, awserr.New(awserr.InvalidParameterValue, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		requestKeys[lk] = true
		if seen[lk] {
			return nil, nil, awserr.Newf(awserr.InvalidParameterValue, "One or more tags could not be applied because the tag key %s is a transitive tag of the calling session and cannot be overridden.", t.Key)
		}
		tags = append(tags, session.Tag{Key: t.Key, Value: t.Value})
	}
	for _, k := range in.TransitiveTagKeys {
		if !requestKeys[strings.ToLower(k)] {
			return nil, nil, awserr.Newf(awserr.InvalidParameterValue, "The transitive tag key %s is not one of the session tags of this request.", k)
		}
		transitive = append(transitive, k)
	}
	sourceIdentity := ""
	if parent != nil {
		sourceIdentity = parent.SourceIdentity
	}
	if in.SourceIdentity != nil {
		if sourceIdentity != "" && sourceIdentity != *in.SourceIdentity {
			return nil, nil, awserr.New(awserr.InvalidParameterValue, "The source identity of a session cannot be changed once set; the calling session's source identity is passed on.")
		}
		sourceIdentity = *in.SourceIdentity
	}

	set, principalCtx, err := s.callerPolicies(ctx, caller)
	if err != nil {
		return nil, nil, err
	}
	set.Resource = trust
	c := s.baseContext(ctx)
	principalCtx(c)
	c.Add("sts:RoleSessionName", *in.RoleSessionName)
	if in.ExternalID != nil {
		c.Add("sts:ExternalId", *in.ExternalID)
	}
	var newTags []session.Tag
	for _, t := range in.Tags {
		newTags = append(newTags, session.Tag{Key: t.Key, Value: t.Value})
	}
	addTagContext(c, newTags, in.TransitiveTagKeys)
	if in.SourceIdentity != nil {
		c.Add("sts:SourceIdentity", *in.SourceIdentity)
	}
	req := &policy.Request{Action: "sts:AssumeRole", Resource: role.ARN, Principal: caller.ARN, Context: c}
	result := policy.Explain(set, req)
	if result.Decision != policy.Allowed {
		return nil, result, denied
	}
	if len(in.Tags) > 0 {
		if r := policy.Explain(set, withAction(req, "sts:TagSession")); r.Decision != policy.Allowed {
			return nil, r, awserr.Newf(awserr.AccessDenied, "User: %s is not authorized to perform: sts:TagSession on resource: %s", caller.ARN, *in.RoleArn)
		}
	}
	if in.SourceIdentity != nil {
		if r := policy.Explain(set, withAction(req, "sts:SetSourceIdentity")); r.Decision != policy.Allowed {
			return nil, r, awserr.Newf(awserr.AccessDenied, "User: %s is not authorized to perform: sts:SetSourceIdentity on resource: %s", caller.ARN, *in.RoleArn)
		}
	}

	duration, err := s.duration(in.DurationSeconds, role, parent != nil)
	if err != nil {
		return nil, result, err
	}
	docs, err := s.sessionPolicies(ctx, account, in.Policy, in.PolicyArns)
	if err != nil {
		return nil, result, err
	}
	packed, err := packedSize(docs, tags)
	if err != nil {
		return nil, result, err
	}
	sess := &session.Session{
		AccountID: account, RoleID: role.ID, RoleName: role.Name, RoleARN: role.ARN,
		SessionName: *in.RoleSessionName, SessionPolicies: docs, PolicyARNs: in.PolicyArns,
		Tags: tags, TransitiveTagKeys: transitive, SourceIdentity: sourceIdentity, Chained: parent != nil,
	}
	if parent != nil {
		sess.FederatedProvider, sess.Subject = parent.FederatedProvider, parent.Subject
	}
	creds, err := s.mint(ctx, sess, duration)
	if err != nil {
		return nil, result, err
	}
	out := &AssumeRoleOutput{
		Credentials:     creds,
		AssumedRoleUser: AssumedRoleUser{AssumedRoleID: sess.UserID(), ARN: sess.ARN(s.partition())},
		SourceIdentity:  sourceIdentity,
	}
	if len(docs) > 0 || len(tags) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, result, nil
}

// callerPolicies returns the policies that limit what caller may do, and a
// function adding the caller's principal condition keys to a context.
func (s *Service) callerPolicies(ctx context.Context, caller *reqctx.Caller) (*policy.Set, func(*policy.Context), error) {
	set := &policy.Set{}
	add := func(c *policy.Context) {
		c.Add("aws:PrincipalAccount", caller.AccountID)
		c.Add("aws:userid", caller.UserID)
		switch caller.Type {
		case "Root":
			c.Add("aws:PrincipalArn", caller.ARN)
			c.Add("aws:PrincipalType", "Account")
		}
	}
	sess, ok := caller.Session.(*session.Session)
	if !ok {
		return set, add, nil
	}
	identity, boundary, err := s.Policies.RolePolicies(ctx, sess.AccountID, sess.RoleName)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// The role was deleted: its sessions have no permissions left.
			return set, func(c *policy.Context) {}, nil
		}
		return nil, nil, awserr.Internal(err)
	}
	set.Identity, set.Boundary = identity, boundary
	for i, doc := range sess.SessionPolicies {
		p, err := policy.ParseWithLimits([]byte(doc), policy.KindSession, policy.Limits{Size: policy.MaxDocumentBytes})
		if err != nil {
			return nil, nil, awserr.Internal(fmt.Errorf("session policy %d of %s: %w", i, sess.ARN(s.partition()), err))
		}
		p.Name = fmt.Sprintf("session policy %d", i+1)
		set.Session = append(set.Session, p)
	}
	add = func(c *policy.Context) {
		c.Add("aws:PrincipalAccount", sess.AccountID)
		c.Add("aws:PrincipalArn", sess.RoleARN)
		c.Add("aws:PrincipalType", "AssumedRole")
		c.Add("aws:userid", sess.UserID())
		for _, t := range sess.Tags {
			c.Add("aws:PrincipalTag/"+t.Key, t.Value)
		}
		if sess.SourceIdentity != "" {
			c.Add("aws:SourceIdentity", sess.SourceIdentity)
		}
		if sess.FederatedProvider != "" {
			c.Add("aws:FederatedProvider", sess.FederatedProvider)
		}
		c.Add("aws:TokenIssueTime", sess.IssuedAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return set, add, nil
}

// CallerIdentity is GetCallerIdentity's answer.
type CallerIdentity struct {
	UserID  string
	Account string
	ARN     string
}

// GetCallerIdentity names the signed caller. It needs no permission.
func (s *Service) GetCallerIdentity(ctx context.Context) (*CallerIdentity, error) {
	caller := reqctx.From(ctx).Caller
	if caller == nil {
		return nil, awserr.New(awserr.MissingAuthenticationToken, "Request is missing Authentication Token")
	}
	return &CallerIdentity{UserID: caller.UserID, Account: caller.AccountID, ARN: caller.ARN}, nil
}

// Authorize decides whether the signed caller may perform action on
// resource with its own permissions (identity policies, boundary, session
// policies). The account root may do anything.
func (s *Service) Authorize(ctx context.Context, action, resource string) error {
	caller := reqctx.From(ctx).Caller
	if caller == nil {
		return awserr.New(awserr.MissingAuthenticationToken, "Request is missing Authentication Token")
	}
	if caller.Type == "Root" {
		return nil
	}
	set, principalCtx, err := s.callerPolicies(ctx, caller)
	if err != nil {
		return err
	}
	c := s.baseContext(ctx)
	principalCtx(c)
	d := policy.Evaluate(set, &policy.Request{Action: action, Resource: resource, Principal: caller.ARN, Context: c})
	switch d {
	case policy.Allowed:
		return nil
	case policy.ExplicitDeny:
		return awserr.Newf(awserr.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s with an explicit deny", caller.ARN, action, resource)
	}
	return awserr.Newf(awserr.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action", caller.ARN, action, resource, action)
}

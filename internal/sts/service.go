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

// ServiceAssumeInput is an AssumeRole made by an AWS service principal on
// behalf of a customer, as EKS Auth does for pods.eks.amazonaws.com. The
// service is trusted to have authenticated the workload; only the role's
// trust policy decides.
type ServiceAssumeInput struct {
	// Service is the service principal, such as "pods.eks.amazonaws.com".
	Service         string
	RoleArn         string
	RoleSessionName string
	// Policy is an inline session policy (nil for none).
	Policy *string
	// DurationSeconds defaults to DefaultDuration. With ClampDuration, a
	// duration beyond the role's MaxSessionDuration is lowered to it
	// rather than refused.
	DurationSeconds *int32
	ClampDuration   bool
	// Tags are session tags; TransitiveTagKeys those of them passed on to
	// chained sessions.
	Tags              []Tag
	TransitiveTagKeys []string
	// SourceAccount and SourceArn, when set, are the aws:SourceAccount and
	// aws:SourceArn of the request: the customer account and resource the
	// service acts for, against the confused deputy.
	SourceAccount, SourceArn string
}

// notAuthorizedService is the refusal of a service principal's AssumeRole:
// it never says which check failed.
func notAuthorizedService(service, action, roleARN string) error {
	return awserr.Newf(awserr.AccessDenied, "%s is not authorized to perform: %s on resource: %s", service, action, roleARN)
}

// AssumeRoleForService gives a service principal a session of a role. The
// role's trust policy must allow sts:AssumeRole for Principal {"Service":
// in.Service} and, when tags are given, sts:TagSession. The request
// context holds the global keys, aws:PrincipalServiceName,
// aws:PrincipalIsAWSService, sts:RoleSessionName, aws:SourceAccount and
// aws:SourceArn when given, aws:RequestTag/<key>, aws:TagKeys and
// sts:TransitiveTagKeys. Credentials are minted as
// AssumeRole mints them; the session records the service.
//
// Errors are *awserr.Error: ValidationError for bad parameters,
// AccessDenied for every trust failure (a missing role included) with the
// policy evaluation that refused, when there was one.
func (s *Service) AssumeRoleForService(ctx context.Context, in *ServiceAssumeInput) (*AssumeRoleOutput, *policy.Result, error) {
	var v violations
	if in.Service == "" {
		v.add(nil, "service", "Member must not be null")
	}
	roleARN, name := in.RoleArn, in.RoleSessionName
	v.length(&roleARN, "roleArn", 20, 2048, false)
	if v.length(&name, "roleSessionName", 2, 64, false) {
		v.pattern(&name, "roleSessionName", sessionNameRE, sessionNameText)
	}
	v.intRange(in.DurationSeconds, "durationSeconds", MinDuration, MaxDuration)
	if in.Policy != nil && v.length(in.Policy, "policy", 1, 2048, true) && !policyCharsRE.MatchString(*in.Policy) {
		v.addSensitive("policy", "Member must satisfy regular expression pattern: "+policyCharsText)
	}
	v.tags(in.Tags)
	if err := v.err(); err != nil {
		return nil, nil, err
	}
	tags := make([]session.Tag, 0, len(in.Tags))
	keys := map[string]bool{}
	for _, t := range in.Tags {
		lk := strings.ToLower(t.Key)
		if keys[lk] {
			return nil, nil, awserr.New(awserr.InvalidParameterValue, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		keys[lk] = true
		tags = append(tags, session.Tag{Key: t.Key, Value: t.Value})
	}
	for _, k := range in.TransitiveTagKeys {
		if !keys[strings.ToLower(k)] {
			return nil, nil, awserr.Newf(awserr.InvalidParameterValue, "The transitive tag key %s is not one of the session tags of this request.", k)
		}
	}

	account, roleName, err := s.parseRoleARN(roleARN)
	if err != nil {
		return nil, nil, err
	}
	denied := notAuthorizedService(in.Service, "sts:AssumeRole", roleARN)
	role, err := s.Roles.GetRole(ctx, account, roleName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &policy.Result{Decision: policy.ImplicitDeny, Explanation: []policy.Reason{{Message: "role " + roleARN + " does not exist"}}}, denied
	}
	if err != nil {
		return nil, nil, awserr.Internal(err)
	}
	if !sameRole(role, roleARN) {
		return nil, &policy.Result{Decision: policy.ImplicitDeny, Explanation: []policy.Reason{{Message: "role " + roleARN + " does not exist (the role with that name has another path)"}}}, denied
	}
	trust, err := s.trustPolicy(role)
	if err != nil {
		return nil, nil, err
	}

	c := s.baseContext(ctx)
	c.Add("aws:PrincipalServiceName", in.Service)
	c.Add("aws:PrincipalIsAWSService", "true")
	c.Add("sts:RoleSessionName", name)
	if in.SourceAccount != "" {
		c.Add("aws:SourceAccount", in.SourceAccount)
	}
	if in.SourceArn != "" {
		c.Add("aws:SourceArn", in.SourceArn)
	}
	addTagContext(c, tags, in.TransitiveTagKeys)
	req := &policy.Request{Action: "sts:AssumeRole", Resource: role.ARN, Principal: in.Service, Context: c}
	set := &policy.Set{Resource: trust}
	result := policy.Explain(set, req)
	if result.Decision != policy.Allowed {
		return nil, result, denied
	}
	if len(tags) > 0 {
		if r := policy.Explain(set, withAction(req, "sts:TagSession")); r.Decision != policy.Allowed {
			return nil, r, notAuthorizedService(in.Service, "sts:TagSession", roleARN)
		}
	}

	requested := in.DurationSeconds
	if in.ClampDuration && requested != nil {
		maxDur := int32(role.MaxSessionDuration) //nolint:gosec // stored values are validated to 3600..43200 by iam
		if maxDur == 0 {
			maxDur = DefaultDuration
		}
		if *requested > maxDur {
			requested = &maxDur
		}
	}
	duration, err := s.duration(requested, role, false)
	if err != nil {
		return nil, result, err
	}
	docs, err := s.sessionPolicies(ctx, account, in.Policy, nil)
	if err != nil {
		return nil, result, err
	}
	packed, err := packedSize(docs, tags)
	if err != nil {
		return nil, result, err
	}
	var transitive []string
	if len(in.TransitiveTagKeys) > 0 {
		transitive = append(transitive, in.TransitiveTagKeys...)
	}
	if len(tags) == 0 {
		tags = nil
	}
	sess := &session.Session{
		AccountID: account, RoleID: role.ID, RoleName: role.Name, RoleARN: role.ARN,
		SessionName: name, SessionPolicies: docs,
		Tags: tags, TransitiveTagKeys: transitive, Service: in.Service,
	}
	creds, err := s.mint(ctx, sess, duration)
	if err != nil {
		return nil, result, err
	}
	out := &AssumeRoleOutput{
		Credentials:     creds,
		AssumedRoleUser: AssumedRoleUser{AssumedRoleID: sess.UserID(), ARN: sess.ARN(s.partition())},
	}
	if len(docs) > 0 || len(tags) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, result, nil
}

// CallerOf is the caller that signs with creds, credentials this Service
// minted: what the app would make of a request signed with them. It lets a
// service chain a role (AssumeRole from a session it was just given)
// without a round trip through the wire.
func (s *Service) CallerOf(ctx context.Context, creds Credentials) (*reqctx.Caller, error) {
	sealer, err := s.Sealers.Sealer(ctx)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	sess, err := sealer.Open(creds.SessionToken)
	if err != nil || !sess.SameAccessKey(creds.AccessKeyID) {
		return nil, awserr.Internal(fmt.Errorf("sts: credentials to chain from do not open: %w", err))
	}
	return &reqctx.Caller{
		Type: "AssumedRole", AccountID: sess.AccountID, ARN: sess.ARN(s.partition()), UserID: sess.UserID(),
		AccessKeyID: sess.AccessKeyID, RoleName: sess.RoleName, Session: sess,
	}, nil
}

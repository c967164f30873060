package sts

import (
	"context"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
)

// AuthorizeExplain decides like Authorize and also returns the decision,
// so that a denial's audit event can say why. The policies are evaluated
// once on the fast path; only a denial is evaluated again with the
// explanation traced. The result is nil for the account root (who is not
// evaluated) and when the caller's policies could not be read; for an
// allow it holds the decision without explanation.
func (s *Service) AuthorizeExplain(ctx context.Context, action, resource string) (*policy.Result, error) {
	caller := reqctx.From(ctx).Caller
	if caller == nil {
		return nil, awserr.New(awserr.MissingAuthenticationToken, "Request is missing Authentication Token")
	}
	if caller.Type == "Root" {
		return nil, nil
	}
	set, principalCtx, err := s.callerPolicies(ctx, caller)
	if err != nil {
		return nil, err
	}
	c := s.baseContext(ctx)
	principalCtx(c)
	req := &policy.Request{Action: action, Resource: resource, Principal: caller.ARN, Context: c}
	switch policy.Evaluate(set, req) {
	case policy.Allowed:
		return &policy.Result{Decision: policy.Allowed}, nil
	case policy.ExplicitDeny:
		return policy.Explain(set, req), awserr.Newf(awserr.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s with an explicit deny", caller.ARN, action, resource)
	}
	return policy.Explain(set, req), awserr.Newf(awserr.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action", caller.ARN, action, resource, action)
}

package iam

import (
	"context"
	"errors"
	"fmt"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/store"
)

// Source policy types of simulation results. AWS answers "IAM Policy" for a
// principal's identity policies (recorded in aws-recorded/iam.snapshot.json);
// the other two are irsa's words for what AWS's model does not fix.
const (
	sourceIdentity = "IAM Policy"
	sourceBoundary = "PermissionsBoundaryPolicy"
	sourceResource = "Resource Policy"
)

// source is one policy document taking part in an evaluation, with the
// identifier a simulation reports for it.
type source struct {
	id   string // SourcePolicyId
	typ  string // SourcePolicyType
	name string // policy.Policy.Name for RolePolicies
	doc  string
	kind policy.Kind
}

func (src *source) compile() (*policy.Policy, error) {
	p, err := policy.ParseWithLimits([]byte(src.doc), src.kind, policy.Limits{Size: policy.MaxDocumentBytes})
	if err != nil {
		return nil, err
	}
	p.Name = src.name
	return p, nil
}

// roleSources gathers a role's inline policies, the default versions of its
// attached managed policies and its permissions boundary. An attached policy
// deleted under a concurrent detach is skipped; a boundary that cannot be
// read is an error, so that callers fail closed.
func (s *Service) roleSources(ctx context.Context, r *store.Role) (identity []source, boundary *source, err error) {
	for _, p := range r.InlinePolicies {
		identity = append(identity, source{id: p.Name, typ: sourceIdentity, name: p.Name, doc: p.Document, kind: policy.KindIdentity})
	}
	for _, a := range r.AttachedPolicyARNs {
		mp, err := s.Store.GetPolicy(ctx, a)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, storeErr(err)
		}
		doc, ok := defaultDocument(&mp)
		if !ok {
			return nil, nil, awserr.Internal(fmt.Errorf("iam: policy %s has no default version %s", mp.ARN, mp.DefaultVersion))
		}
		identity = append(identity, source{id: mp.Name, typ: sourceIdentity, name: mp.ARN, doc: doc, kind: policy.KindManaged})
	}
	if r.BoundaryARN != "" {
		mp, err := s.Store.GetPolicy(ctx, r.BoundaryARN)
		if err != nil {
			return nil, nil, awserr.Internal(fmt.Errorf("iam: reading permissions boundary %s of role %s: %w", r.BoundaryARN, r.Name, err))
		}
		doc, ok := defaultDocument(&mp)
		if !ok {
			return nil, nil, awserr.Internal(fmt.Errorf("iam: policy %s has no default version %s", mp.ARN, mp.DefaultVersion))
		}
		boundary = &source{id: mp.Name, typ: sourceBoundary, name: mp.ARN, doc: doc, kind: policy.KindBoundary}
	}
	return identity, boundary, nil
}

func defaultDocument(p *store.ManagedPolicy) (string, bool) {
	for _, v := range p.Versions {
		if v.ID == p.DefaultVersion {
			return v.Document, true
		}
	}
	return "", false
}

// RolePolicies compiles the permissions of a role: its inline policies
// (named by policy name), the default versions of its attached managed
// policies (named by ARN) and its permissions boundary (nil when it has
// none). A role that does not exist is NoSuchEntity.
func (s *Service) RolePolicies(ctx context.Context, accountID, roleName string) (identity []*policy.Policy, boundary *policy.Policy, err error) {
	r, err := s.role(ctx, accountID, roleName)
	if err != nil {
		return nil, nil, err
	}
	ids, bnd, err := s.roleSources(ctx, &r)
	if err != nil {
		return nil, nil, err
	}
	for i := range ids {
		p, err := ids[i].compile()
		if err != nil {
			return nil, nil, awserr.Internal(fmt.Errorf("iam: stored policy %s of role %s does not compile: %w", ids[i].name, r.Name, err))
		}
		identity = append(identity, p)
	}
	if bnd != nil {
		boundary, err = bnd.compile()
		if err != nil {
			return nil, nil, awserr.Internal(fmt.Errorf("iam: permissions boundary %s of role %s does not compile: %w", bnd.name, r.Name, err))
		}
	}
	return identity, boundary, nil
}

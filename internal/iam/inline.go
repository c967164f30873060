package iam

import (
	"context"
	"sort"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/store"
)

// PutRolePolicyInput is AWS's PutRolePolicyRequest.
type PutRolePolicyInput struct {
	RoleName       *string `query:"RoleName"`
	PolicyName     *string `query:"PolicyName"`
	PolicyDocument *string `query:"PolicyDocument"`
}

// RolePolicyInput names an inline policy of a role: the request of
// GetRolePolicy and DeleteRolePolicy.
type RolePolicyInput struct {
	RoleName   *string `query:"RoleName"`
	PolicyName *string `query:"PolicyName"`
}

// GetRolePolicyOutput is AWS's GetRolePolicyResponse. PolicyDocument is the
// document as it was given.
type GetRolePolicyOutput struct {
	RoleName       string
	PolicyName     string
	PolicyDocument string
}

// ListRolePoliciesInput is AWS's ListRolePoliciesRequest.
type ListRolePoliciesInput struct {
	RoleName *string `query:"RoleName"`
	Marker   *string `query:"Marker"`
	MaxItems *int32  `query:"MaxItems"`
}

// ListRolePoliciesOutput is AWS's ListRolePoliciesResponse.
type ListRolePoliciesOutput struct {
	PolicyNames []string
	Page
}

func checkPolicyName(v *violations, name *string) {
	v.required(name, "policyName", 1, 128, reName, patName)
}

// PutRolePolicy adds or replaces an inline policy of a role. All inline
// policies of a role together hold at most 10,240 characters without
// whitespace.
func (s *Service) PutRolePolicy(ctx context.Context, accountID string, in *PutRolePolicyInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	checkPolicyName(&v, in.PolicyName)
	checkDocument(&v, in.PolicyDocument, "policyDocument")
	if err := v.err(); err != nil {
		return err
	}
	if _, err := s.role(ctx, accountID, *in.RoleName); err != nil {
		return err
	}
	// The per-role total is checked below with the role's name in the
	// message, so the document alone is held only to the API's limit.
	if _, err := policy.ParseWithLimits([]byte(*in.PolicyDocument), policy.KindIdentity, policy.Limits{Size: maxPolicyDocumentLength}); err != nil {
		return policyErr(err)
	}
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		total := nonSpace(*in.PolicyDocument)
		var kept []store.InlinePolicy
		for _, p := range r.InlinePolicies {
			if p.Name == *in.PolicyName {
				continue
			}
			total += nonSpace(p.Document)
			kept = append(kept, p)
		}
		if total > policy.MaxInlineSize {
			return awserr.Newf(awserr.LimitExceeded, "Maximum policy size of %d bytes exceeded for role %s", policy.MaxInlineSize, r.Name)
		}
		kept = append(kept, store.InlinePolicy{Name: *in.PolicyName, Document: *in.PolicyDocument})
		sort.Slice(kept, func(i, j int) bool { return kept[i].Name < kept[j].Name })
		r.InlinePolicies = kept
		return nil
	})
	return err
}

func noSuchRolePolicy(name string) error {
	return awserr.Newf(awserr.NoSuchEntity, "The role policy with name %s cannot be found.", name)
}

// GetRolePolicy returns an inline policy of a role.
func (s *Service) GetRolePolicy(ctx context.Context, accountID string, in *RolePolicyInput) (*GetRolePolicyOutput, error) {
	var v violations
	checkRoleName(&v, in.RoleName)
	checkPolicyName(&v, in.PolicyName)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := s.role(ctx, accountID, *in.RoleName)
	if err != nil {
		return nil, err
	}
	for _, p := range r.InlinePolicies {
		if p.Name == *in.PolicyName {
			return &GetRolePolicyOutput{RoleName: r.Name, PolicyName: p.Name, PolicyDocument: p.Document}, nil
		}
	}
	return nil, noSuchRolePolicy(*in.PolicyName)
}

// DeleteRolePolicy deletes an inline policy of a role.
func (s *Service) DeleteRolePolicy(ctx context.Context, accountID string, in *RolePolicyInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	checkPolicyName(&v, in.PolicyName)
	if err := v.err(); err != nil {
		return err
	}
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		for i, p := range r.InlinePolicies {
			if p.Name == *in.PolicyName {
				r.InlinePolicies = append(r.InlinePolicies[:i:i], r.InlinePolicies[i+1:]...)
				return nil
			}
		}
		return noSuchRolePolicy(*in.PolicyName)
	})
	return err
}

// ListRolePolicies lists the names of a role's inline policies.
func (s *Service) ListRolePolicies(ctx context.Context, accountID string, in *ListRolePoliciesInput) (*ListRolePoliciesOutput, error) {
	var v violations
	checkRoleName(&v, in.RoleName)
	v.page(in.Marker, in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := s.role(ctx, accountID, *in.RoleName)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(r.InlinePolicies))
	for _, p := range r.InlinePolicies {
		names = append(names, p.Name)
	}
	page, pg, err := paginate(names, func(n string) string { return n }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListRolePoliciesOutput{PolicyNames: page, Page: pg}, nil
}

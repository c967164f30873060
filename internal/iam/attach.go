package iam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
)

// RolePolicyARNInput names a role and a managed policy: the request of
// AttachRolePolicy and DetachRolePolicy.
type RolePolicyARNInput struct {
	RoleName  *string `query:"RoleName"`
	PolicyArn *string `query:"PolicyArn"`
}

// ListAttachedRolePoliciesInput is AWS's ListAttachedRolePoliciesRequest.
type ListAttachedRolePoliciesInput struct {
	RoleName   *string `query:"RoleName"`
	PathPrefix *string `query:"PathPrefix"`
	Marker     *string `query:"Marker"`
	MaxItems   *int32  `query:"MaxItems"`
}

// AttachedPolicy is AWS's AttachedPolicy.
type AttachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

// ListAttachedRolePoliciesOutput is AWS's ListAttachedRolePoliciesResponse,
// in attachment order.
type ListAttachedRolePoliciesOutput struct {
	AttachedPolicies []AttachedPolicy
	Page
}

// ListEntitiesForPolicyInput is AWS's ListEntitiesForPolicyRequest.
type ListEntitiesForPolicyInput struct {
	PolicyArn         *string `query:"PolicyArn"`
	EntityFilter      *string `query:"EntityFilter"`
	PathPrefix        *string `query:"PathPrefix"`
	PolicyUsageFilter *string `query:"PolicyUsageFilter"`
	Marker            *string `query:"Marker"`
	MaxItems          *int32  `query:"MaxItems"`
}

// PolicyRole is AWS's PolicyRole.
type PolicyRole struct {
	RoleName string
	RoleId   string //nolint:revive // AWS wire name
}

// ListEntitiesForPolicyOutput is AWS's ListEntitiesForPolicyResponse. irsa
// has roles only: PolicyGroups and PolicyUsers are always empty.
type ListEntitiesForPolicyOutput struct {
	PolicyGroups []string
	PolicyUsers  []string
	PolicyRoles  []PolicyRole
	Page
}

// errAlreadyAttached stops an attach that has nothing to do.
var errAlreadyAttached = errors.New("iam: already attached")

// AttachRolePolicy attaches a customer managed policy to a role; attaching
// one that is attached already does nothing. A role holds at most ten.
func (s *Service) AttachRolePolicy(ctx context.Context, accountID string, in *RolePolicyARNInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	checkPolicyARN(&v, in.PolicyArn)
	if err := v.err(); err != nil {
		return err
	}
	a := *in.PolicyArn
	if _, err := arn.Parse(a); err != nil {
		return invalidARN()
	}
	if _, err := s.role(ctx, accountID, *in.RoleName); err != nil {
		return err
	}
	if _, err := s.managed(ctx, accountID, a); err != nil {
		if awserr.As(err).Code == awserr.NoSuchEntity {
			return notAttachable(a)
		}
		return err
	}
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		if slices.Contains(r.AttachedPolicyARNs, a) {
			return errAlreadyAttached
		}
		if len(r.AttachedPolicyARNs) >= maxManagedPerRole {
			return awserr.Newf(awserr.LimitExceeded, "Cannot exceed quota for PoliciesPerRole: %d", maxManagedPerRole)
		}
		r.AttachedPolicyARNs = append(r.AttachedPolicyARNs, a)
		return nil
	})
	if errors.Is(err, errAlreadyAttached) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.Store.UpdatePolicy(ctx, a, func(p *store.ManagedPolicy) error {
		p.AttachmentCount++
		return nil
	})
	if err != nil {
		// The policy went away between the two writes: undo the
		// attachment so the role never names a missing policy.
		_, _ = s.Store.UpdateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
			r.AttachedPolicyARNs = slices.DeleteFunc(r.AttachedPolicyARNs, func(x string) bool { return x == a })
			return nil
		})
		if errors.Is(err, store.ErrNotFound) {
			return notAttachable(a)
		}
		return storeErr(err)
	}
	return nil
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Service) DetachRolePolicy(ctx context.Context, accountID string, in *RolePolicyARNInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	checkPolicyARN(&v, in.PolicyArn)
	if err := v.err(); err != nil {
		return err
	}
	a := *in.PolicyArn
	if _, err := arn.Parse(a); err != nil {
		return invalidARN()
	}
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		if !slices.Contains(r.AttachedPolicyARNs, a) {
			return noSuchPolicy(a)
		}
		r.AttachedPolicyARNs = slices.DeleteFunc(r.AttachedPolicyARNs, func(x string) bool { return x == a })
		return nil
	})
	if err != nil {
		return err
	}
	_, err = s.Store.UpdatePolicy(ctx, a, func(p *store.ManagedPolicy) error {
		if p.AttachmentCount > 0 {
			p.AttachmentCount--
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return storeErr(err)
	}
	return nil
}

// policyPathName splits a policy ARN's resource "policy/PATH/NAME".
func policyPathName(a string) (path, name string) {
	segs, _ := arn.Split(a)
	res := strings.TrimPrefix(segs[5], "policy")
	slash := strings.LastIndexByte(res, '/')
	if slash < 0 {
		return "/", res
	}
	return res[:slash+1], res[slash+1:]
}

// ListAttachedRolePolicies lists the managed policies attached to a role.
func (s *Service) ListAttachedRolePolicies(ctx context.Context, accountID string, in *ListAttachedRolePoliciesInput) (*ListAttachedRolePoliciesOutput, error) {
	var v violations
	checkRoleName(&v, in.RoleName)
	v.optional(in.PathPrefix, "pathPrefix", 1, 512, rePolicyPath, patPolicyPath)
	v.page(in.Marker, in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := s.role(ctx, accountID, *in.RoleName)
	if err != nil {
		return nil, err
	}
	type item struct {
		n int
		p AttachedPolicy
	}
	var items []item
	for i, a := range r.AttachedPolicyARNs {
		path, name := policyPathName(a)
		if in.PathPrefix != nil && !strings.HasPrefix(path, *in.PathPrefix) {
			continue
		}
		items = append(items, item{i, AttachedPolicy{PolicyName: name, PolicyArn: a}})
	}
	page, pg, err := paginate(items, func(it item) string { return fmt.Sprintf("%04d", it.n) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListAttachedRolePoliciesOutput{AttachedPolicies: []AttachedPolicy{}, Page: pg}
	for _, it := range page {
		out.AttachedPolicies = append(out.AttachedPolicies, it.p)
	}
	return out, nil
}

// ListEntitiesForPolicy lists the roles that use a managed policy, as a
// permissions policy, as a permissions boundary, or either when
// PolicyUsageFilter is absent.
func (s *Service) ListEntitiesForPolicy(ctx context.Context, accountID string, in *ListEntitiesForPolicyInput) (*ListEntitiesForPolicyOutput, error) {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	v.enum(in.EntityFilter, "entityFilter", "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
	v.optional(in.PathPrefix, "pathPrefix", 1, 512, rePath, patPath)
	v.enum(in.PolicyUsageFilter, "policyUsageFilter", "PermissionsPolicy", "PermissionsBoundary")
	v.page(in.Marker, in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, err := s.managed(ctx, accountID, *in.PolicyArn)
	if err != nil {
		return nil, err
	}
	out := &ListEntitiesForPolicyOutput{PolicyGroups: []string{}, PolicyUsers: []string{}, PolicyRoles: []PolicyRole{}}
	if f := str(in.EntityFilter); f != "" && f != "Role" {
		return out, nil
	}
	prefix := "/"
	if in.PathPrefix != nil {
		prefix = *in.PathPrefix
	}
	roles, err := s.Store.ListRoles(ctx, accountID, prefix)
	if err != nil {
		return nil, storeErr(err)
	}
	var matched []store.Role
	for _, r := range roles {
		attached := slices.Contains(r.AttachedPolicyARNs, p.ARN)
		boundary := r.BoundaryARN == p.ARN
		switch str(in.PolicyUsageFilter) {
		case "PermissionsPolicy":
			if !attached {
				continue
			}
		case "PermissionsBoundary":
			if !boundary {
				continue
			}
		default:
			if !attached && !boundary {
				continue
			}
		}
		matched = append(matched, r)
	}
	page, pg, err := paginate(matched, func(r store.Role) string { return strings.ToLower(r.Name) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	for _, r := range page {
		out.PolicyRoles = append(out.PolicyRoles, PolicyRole{RoleName: r.Name, RoleId: r.ID})
	}
	out.Page = pg
	return out, nil
}

package iam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
)

// ManagedPolicy is a customer managed policy as IAM describes it: the stored
// record and how many roles use it as their permissions boundary.
type ManagedPolicy struct {
	store.ManagedPolicy
	PermissionsBoundaryUsageCount int
}

// CreatePolicyInput is AWS's CreatePolicyRequest.
type CreatePolicyInput struct {
	PolicyName     *string `query:"PolicyName"`
	Path           *string `query:"Path"`
	PolicyDocument *string `query:"PolicyDocument"`
	Description    *string `query:"Description"`
	Tags           []Tag   `query:"Tags"`
}

// PolicyOutput carries one managed policy: the response of CreatePolicy
// and GetPolicy.
type PolicyOutput struct {
	Policy ManagedPolicy
}

// PolicyARNInput names a managed policy: the request of GetPolicy and
// DeletePolicy.
type PolicyARNInput struct {
	PolicyArn *string `query:"PolicyArn"`
}

// ListPoliciesInput is AWS's ListPoliciesRequest.
type ListPoliciesInput struct {
	Scope             *string `query:"Scope"`
	OnlyAttached      bool    `query:"OnlyAttached"`
	PathPrefix        *string `query:"PathPrefix"`
	PolicyUsageFilter *string `query:"PolicyUsageFilter"`
	Marker            *string `query:"Marker"`
	MaxItems          *int32  `query:"MaxItems"`
}

// ListPoliciesOutput is AWS's ListPoliciesResponse.
type ListPoliciesOutput struct {
	Policies []ManagedPolicy
	Page
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	Document         string
	VersionId        string //nolint:revive // AWS wire name
	IsDefaultVersion bool
	CreateDate       time.Time
}

// CreatePolicyVersionInput is AWS's CreatePolicyVersionRequest.
type CreatePolicyVersionInput struct {
	PolicyArn      *string `query:"PolicyArn"`
	PolicyDocument *string `query:"PolicyDocument"`
	SetAsDefault   bool    `query:"SetAsDefault"`
}

// PolicyVersionOutput carries one version: the response of
// CreatePolicyVersion and GetPolicyVersion.
type PolicyVersionOutput struct {
	PolicyVersion PolicyVersion
}

// PolicyVersionInput names a version: the request of GetPolicyVersion,
// DeletePolicyVersion and SetDefaultPolicyVersion.
type PolicyVersionInput struct {
	PolicyArn *string `query:"PolicyArn"`
	VersionId *string `query:"VersionId"` //nolint:revive // AWS wire name
}

// ListPolicyVersionsInput is AWS's ListPolicyVersionsRequest.
type ListPolicyVersionsInput struct {
	PolicyArn *string `query:"PolicyArn"`
	Marker    *string `query:"Marker"`
	MaxItems  *int32  `query:"MaxItems"`
}

// ListPolicyVersionsOutput is AWS's ListPolicyVersionsResponse, newest
// version first.
type ListPolicyVersionsOutput struct {
	Versions []PolicyVersion
	Page
}

// TagPolicyInput is AWS's TagPolicyRequest.
type TagPolicyInput struct {
	PolicyArn *string `query:"PolicyArn"`
	Tags      []Tag   `query:"Tags"`
}

// UntagPolicyInput is AWS's UntagPolicyRequest.
type UntagPolicyInput struct {
	PolicyArn *string  `query:"PolicyArn"`
	TagKeys   []string `query:"TagKeys"`
}

// ListPolicyTagsInput is AWS's ListPolicyTagsRequest.
type ListPolicyTagsInput struct {
	PolicyArn *string `query:"PolicyArn"`
	Marker    *string `query:"Marker"`
	MaxItems  *int32  `query:"MaxItems"`
}

// PolicyARN is the ARN of a customer managed policy:
// arn:aws:iam::ACCOUNT:policy{path}{name}.
func PolicyARN(accountID, path, name string) string {
	return "arn:aws:iam::" + accountID + ":policy" + path + name
}

func checkPolicyARN(v *violations, a *string) {
	v.required(a, "policyArn", 20, 2048, nil, "")
}

func checkVersionID(v *violations, id *string) {
	v.required(id, "versionId", 0, 0, reVersionID, patVersionID)
}

// managed reads a customer managed policy of the account. Text that is not
// an ARN is ValidationError; any ARN that does not name one of the
// account's policies (AWS managed policies included) is NoSuchEntity.
func (s *Service) managed(ctx context.Context, accountID, a string) (store.ManagedPolicy, error) {
	if _, err := arn.Parse(a); err != nil {
		return store.ManagedPolicy{}, invalidARN()
	}
	if !inAccount(a, accountID) {
		return store.ManagedPolicy{}, noSuchPolicy(a)
	}
	p, err := s.Store.GetPolicy(ctx, a)
	if errors.Is(err, store.ErrNotFound) {
		return p, noSuchPolicy(a)
	}
	if err != nil {
		return p, storeErr(err)
	}
	return p, nil
}

// updateManaged applies fn to a managed policy of the account.
func (s *Service) updateManaged(ctx context.Context, accountID, a string, fn func(*store.ManagedPolicy) error) (store.ManagedPolicy, error) {
	if _, err := s.managed(ctx, accountID, a); err != nil {
		return store.ManagedPolicy{}, err
	}
	p, err := s.Store.UpdatePolicy(ctx, a, fn)
	if errors.Is(err, store.ErrNotFound) {
		return p, noSuchPolicy(a)
	}
	if err != nil {
		return p, storeErr(err)
	}
	return p, nil
}

// boundaryUsage counts, per policy ARN, the roles of the account that use
// it as their permissions boundary.
func (s *Service) boundaryUsage(ctx context.Context, accountID string) (map[string]int, error) {
	roles, err := s.Store.ListRoles(ctx, accountID, "/")
	if err != nil {
		return nil, storeErr(err)
	}
	use := map[string]int{}
	for _, r := range roles {
		if r.BoundaryARN != "" {
			use[r.BoundaryARN]++
		}
	}
	return use, nil
}

func parseManaged(doc string) error {
	if _, err := policy.Parse([]byte(doc), policy.KindManaged); err != nil {
		return policyErr(err)
	}
	return nil
}

// CreatePolicy creates a customer managed policy with version v1.
func (s *Service) CreatePolicy(ctx context.Context, accountID string, in *CreatePolicyInput) (*PolicyOutput, error) {
	var v violations
	checkPolicyName(&v, in.PolicyName)
	v.optional(in.Path, "path", 1, 512, rePolicyPath, patPolicyPath)
	checkDocument(&v, in.PolicyDocument, "policyDocument")
	v.optional(in.Description, "description", 0, maxDescription, nil, "")
	checkTags(&v, in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := duplicateTags(in.Tags); err != nil {
		return nil, err
	}
	if err := parseManaged(*in.PolicyDocument); err != nil {
		return nil, err
	}
	path := "/"
	if in.Path != nil {
		path = *in.Path
	}
	existing, err := s.Store.ListPolicies(ctx, accountID, "/")
	if err != nil {
		return nil, storeErr(err)
	}
	exists := awserr.Newf(awserr.EntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", *in.PolicyName)
	for _, e := range existing {
		if strings.EqualFold(e.Name, *in.PolicyName) {
			return nil, exists
		}
	}
	id, err := s.newID(session.PrefixPolicy)
	if err != nil {
		return nil, err
	}
	now := s.now()
	p := store.ManagedPolicy{
		AccountID:      accountID,
		Name:           *in.PolicyName,
		Path:           path,
		ID:             id,
		ARN:            PolicyARN(accountID, path, *in.PolicyName),
		Description:    str(in.Description),
		DefaultVersion: "v1",
		Versions:       []store.PolicyVersion{{ID: "v1", Document: *in.PolicyDocument, CreatedAt: now}},
		NextVersion:    2,
		Tags:           toStoreTags(in.Tags),
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	if err := s.Store.CreatePolicy(ctx, p); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return nil, exists
		}
		return nil, storeErr(err)
	}
	return &PolicyOutput{Policy: ManagedPolicy{ManagedPolicy: p}}, nil
}

// GetPolicy describes a managed policy.
func (s *Service) GetPolicy(ctx context.Context, accountID string, in *PolicyARNInput) (*PolicyOutput, error) {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, err := s.managed(ctx, accountID, *in.PolicyArn)
	if err != nil {
		return nil, err
	}
	use, err := s.boundaryUsage(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return &PolicyOutput{Policy: ManagedPolicy{ManagedPolicy: p, PermissionsBoundaryUsageCount: use[p.ARN]}}, nil
}

var errPolicyInUse = awserr.New(awserr.DeleteConflict, "Cannot delete a policy attached to entities.")

// DeletePolicy deletes a managed policy that no role uses and that has no
// version but its default one.
func (s *Service) DeletePolicy(ctx context.Context, accountID string, in *PolicyARNInput) error {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	if err := v.err(); err != nil {
		return err
	}
	p, err := s.managed(ctx, accountID, *in.PolicyArn)
	if err != nil {
		return err
	}
	if p.AttachmentCount > 0 {
		return errPolicyInUse
	}
	roles, err := s.Store.ListRoles(ctx, accountID, "/")
	if err != nil {
		return storeErr(err)
	}
	for _, r := range roles {
		if r.BoundaryARN == p.ARN || slices.Contains(r.AttachedPolicyARNs, p.ARN) {
			return errPolicyInUse
		}
	}
	if len(p.Versions) > 1 {
		return awserr.New(awserr.DeleteConflict, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	err = s.Store.DeletePolicy(ctx, p.ARN)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchPolicy(p.ARN)
	}
	if err != nil {
		return storeErr(err)
	}
	return nil
}

// ListPolicies lists the account's customer managed policies by name. There
// are no AWS managed policies in irsa: Scope=AWS lists nothing.
func (s *Service) ListPolicies(ctx context.Context, accountID string, in *ListPoliciesInput) (*ListPoliciesOutput, error) {
	var v violations
	v.enum(in.Scope, "scope", "All", "AWS", "Local")
	v.optional(in.PathPrefix, "pathPrefix", 1, 512, rePolicyPath, patPolicyPath)
	v.enum(in.PolicyUsageFilter, "policyUsageFilter", "PermissionsPolicy", "PermissionsBoundary")
	v.page(in.Marker, in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	out := &ListPoliciesOutput{Policies: []ManagedPolicy{}}
	if str(in.Scope) == "AWS" {
		return out, nil
	}
	prefix := "/"
	if in.PathPrefix != nil {
		prefix = *in.PathPrefix
	}
	ps, err := s.Store.ListPolicies(ctx, accountID, prefix)
	if err != nil {
		return nil, storeErr(err)
	}
	use, err := s.boundaryUsage(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var all []ManagedPolicy
	for _, p := range ps {
		mp := ManagedPolicy{ManagedPolicy: p, PermissionsBoundaryUsageCount: use[p.ARN]}
		switch str(in.PolicyUsageFilter) {
		case "PermissionsBoundary":
			if mp.PermissionsBoundaryUsageCount == 0 {
				continue
			}
		case "PermissionsPolicy":
			if in.OnlyAttached && mp.AttachmentCount == 0 {
				continue
			}
		default:
			if in.OnlyAttached && mp.AttachmentCount == 0 && mp.PermissionsBoundaryUsageCount == 0 {
				continue
			}
		}
		all = append(all, mp)
	}
	page, pg, err := paginate(all, func(p ManagedPolicy) string { return strings.ToLower(p.Name) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	if page != nil {
		out.Policies = page
	}
	out.Page = pg
	return out, nil
}

func version(p *store.ManagedPolicy, v store.PolicyVersion) PolicyVersion {
	return PolicyVersion{Document: v.Document, VersionId: v.ID, IsDefaultVersion: v.ID == p.DefaultVersion, CreateDate: v.CreatedAt}
}

// CreatePolicyVersion adds a version to a managed policy (at most five),
// the new default when SetAsDefault is true.
func (s *Service) CreatePolicyVersion(ctx context.Context, accountID string, in *CreatePolicyVersionInput) (*PolicyVersionOutput, error) {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	checkDocument(&v, in.PolicyDocument, "policyDocument")
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, err := s.managed(ctx, accountID, *in.PolicyArn); err != nil {
		return nil, err
	}
	if err := parseManaged(*in.PolicyDocument); err != nil {
		return nil, err
	}
	now := s.now()
	var created store.PolicyVersion
	p, err := s.updateManaged(ctx, accountID, *in.PolicyArn, func(p *store.ManagedPolicy) error {
		if len(p.Versions) >= maxPolicyVersions {
			return awserr.New(awserr.LimitExceeded, "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
		}
		next := p.NextVersion
		if next < 2 {
			next = len(p.Versions) + 1
		}
		created = store.PolicyVersion{ID: fmt.Sprintf("v%d", next), Document: *in.PolicyDocument, CreatedAt: now}
		p.Versions = append(p.Versions, created)
		p.NextVersion = next + 1
		if in.SetAsDefault {
			p.DefaultVersion = created.ID
		}
		p.UpdatedAt = now
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &PolicyVersionOutput{PolicyVersion: version(&p, created)}, nil
}

// GetPolicyVersion returns one version of a managed policy.
func (s *Service) GetPolicyVersion(ctx context.Context, accountID string, in *PolicyVersionInput) (*PolicyVersionOutput, error) {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	checkVersionID(&v, in.VersionId)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, err := s.managed(ctx, accountID, *in.PolicyArn)
	if err != nil {
		return nil, err
	}
	for _, pv := range p.Versions {
		if pv.ID == *in.VersionId {
			return &PolicyVersionOutput{PolicyVersion: version(&p, pv)}, nil
		}
	}
	return nil, noSuchVersion(p.ARN, *in.VersionId)
}

// DeletePolicyVersion deletes a version that is not the default one.
func (s *Service) DeletePolicyVersion(ctx context.Context, accountID string, in *PolicyVersionInput) error {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	checkVersionID(&v, in.VersionId)
	if err := v.err(); err != nil {
		return err
	}
	_, err := s.updateManaged(ctx, accountID, *in.PolicyArn, func(p *store.ManagedPolicy) error {
		for i, pv := range p.Versions {
			if pv.ID != *in.VersionId {
				continue
			}
			if pv.ID == p.DefaultVersion {
				return awserr.New(awserr.DeleteConflict, "Cannot delete the default version of a policy.")
			}
			p.Versions = append(p.Versions[:i:i], p.Versions[i+1:]...)
			return nil
		}
		return noSuchVersion(p.ARN, *in.VersionId)
	})
	return err
}

// ListPolicyVersions lists the versions of a managed policy, newest first.
func (s *Service) ListPolicyVersions(ctx context.Context, accountID string, in *ListPolicyVersionsInput) (*ListPolicyVersionsOutput, error) {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	v.page(in.Marker, in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, err := s.managed(ctx, accountID, *in.PolicyArn)
	if err != nil {
		return nil, err
	}
	vs := make([]PolicyVersion, 0, len(p.Versions))
	for _, pv := range p.Versions {
		vs = append(vs, version(&p, pv))
	}
	// Newest first: the key orders version numbers from the highest.
	key := func(pv PolicyVersion) string {
		var n int
		_, _ = fmt.Sscanf(pv.VersionId, "v%d", &n)
		return fmt.Sprintf("%010d", 1<<30-n)
	}
	page, pg, err := paginate(vs, key, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListPolicyVersionsOutput{Versions: page, Page: pg}, nil
}

// SetDefaultPolicyVersion makes a version the default.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, accountID string, in *PolicyVersionInput) error {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	checkVersionID(&v, in.VersionId)
	if err := v.err(); err != nil {
		return err
	}
	now := s.now()
	_, err := s.updateManaged(ctx, accountID, *in.PolicyArn, func(p *store.ManagedPolicy) error {
		for _, pv := range p.Versions {
			if pv.ID == *in.VersionId {
				p.DefaultVersion = pv.ID
				p.UpdatedAt = now
				return nil
			}
		}
		return noSuchVersion(p.ARN, *in.VersionId)
	})
	return err
}

// TagPolicy adds or overwrites a managed policy's tags.
func (s *Service) TagPolicy(ctx context.Context, accountID string, in *TagPolicyInput) error {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	if in.Tags == nil {
		v.null("tags")
	}
	checkTags(&v, in.Tags)
	if err := v.err(); err != nil {
		return err
	}
	if err := duplicateTags(in.Tags); err != nil {
		return err
	}
	_, err := s.updateManaged(ctx, accountID, *in.PolicyArn, func(p *store.ManagedPolicy) error {
		tags, err := mergeTags(p.Tags, in.Tags, "TagsPerPolicy")
		p.Tags = tags
		return err
	})
	return err
}

// UntagPolicy removes tags from a managed policy.
func (s *Service) UntagPolicy(ctx context.Context, accountID string, in *UntagPolicyInput) error {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	checkTagKeys(&v, in.TagKeys)
	if err := v.err(); err != nil {
		return err
	}
	_, err := s.updateManaged(ctx, accountID, *in.PolicyArn, func(p *store.ManagedPolicy) error {
		p.Tags = removeTags(p.Tags, in.TagKeys)
		return nil
	})
	return err
}

// ListPolicyTags lists a managed policy's tags by key.
func (s *Service) ListPolicyTags(ctx context.Context, accountID string, in *ListPolicyTagsInput) (*ListTagsOutput, error) {
	var v violations
	checkPolicyARN(&v, in.PolicyArn)
	v.page(in.Marker, in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, err := s.managed(ctx, accountID, *in.PolicyArn)
	if err != nil {
		return nil, err
	}
	return listTags(p.Tags, in.Marker, in.MaxItems)
}

package iam

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
)

// CreateRoleInput is AWS's CreateRoleRequest.
type CreateRoleInput struct {
	Path                     *string `query:"Path"`
	RoleName                 *string `query:"RoleName"`
	AssumeRolePolicyDocument *string `query:"AssumeRolePolicyDocument"`
	Description              *string `query:"Description"`
	MaxSessionDuration       *int32  `query:"MaxSessionDuration"`
	PermissionsBoundary      *string `query:"PermissionsBoundary"`
	Tags                     []Tag   `query:"Tags"`
}

// RoleOutput carries one role: the response of CreateRole, GetRole and
// UpdateRoleDescription.
type RoleOutput struct {
	Role store.Role
}

// RoleNameInput names a role: the request of GetRole, DeleteRole and
// DeleteRolePermissionsBoundary.
type RoleNameInput struct {
	RoleName *string `query:"RoleName"`
}

// ListRolesInput is AWS's ListRolesRequest.
type ListRolesInput struct {
	PathPrefix *string `query:"PathPrefix"`
	Marker     *string `query:"Marker"`
	MaxItems   *int32  `query:"MaxItems"`
}

// ListRolesOutput is AWS's ListRolesResponse.
type ListRolesOutput struct {
	Roles []store.Role
	Page
}

// UpdateRoleInput is AWS's UpdateRoleRequest.
type UpdateRoleInput struct {
	RoleName           *string `query:"RoleName"`
	Description        *string `query:"Description"`
	MaxSessionDuration *int32  `query:"MaxSessionDuration"`
}

// UpdateRoleDescriptionInput is AWS's UpdateRoleDescriptionRequest.
type UpdateRoleDescriptionInput struct {
	RoleName    *string `query:"RoleName"`
	Description *string `query:"Description"`
}

// UpdateAssumeRolePolicyInput is AWS's UpdateAssumeRolePolicyRequest.
type UpdateAssumeRolePolicyInput struct {
	RoleName       *string `query:"RoleName"`
	PolicyDocument *string `query:"PolicyDocument"`
}

// TagRoleInput is AWS's TagRoleRequest.
type TagRoleInput struct {
	RoleName *string `query:"RoleName"`
	Tags     []Tag   `query:"Tags"`
}

// UntagRoleInput is AWS's UntagRoleRequest.
type UntagRoleInput struct {
	RoleName *string  `query:"RoleName"`
	TagKeys  []string `query:"TagKeys"`
}

// ListRoleTagsInput is AWS's ListRoleTagsRequest.
type ListRoleTagsInput struct {
	RoleName *string `query:"RoleName"`
	Marker   *string `query:"Marker"`
	MaxItems *int32  `query:"MaxItems"`
}

// PutRolePermissionsBoundaryInput is AWS's PutRolePermissionsBoundaryRequest.
type PutRolePermissionsBoundaryInput struct {
	RoleName            *string `query:"RoleName"`
	PermissionsBoundary *string `query:"PermissionsBoundary"`
}

func checkRoleName(v *violations, name *string) {
	v.required(name, "roleName", 1, 64, reName, patName)
}

func checkDescription(v *violations, d *string) {
	v.optional(d, "description", 0, maxDescription, reRoleDesc, patRoleDesc)
}

// checkDocument validates a policy document member's length; its
// characters are checked by policy.Parse with AWS's message.
func checkDocument(v *violations, doc *string, member string) {
	if doc == nil {
		v.null(member)
		return
	}
	switch n := utf8.RuneCountInString(*doc); {
	case n == 0:
		v.addHidden(member, cMinLen(1))
	case n > maxPolicyDocumentLength:
		v.addHidden(member, cMaxLen(maxPolicyDocumentLength))
	}
}

// RoleARN is the ARN of a role: arn:aws:iam::ACCOUNT:role{path}{name}.
func RoleARN(accountID, path, name string) string {
	return "arn:aws:iam::" + accountID + ":role" + path + name
}

// ParsedRoleARN is a role ARN read by ParseRoleARN.
type ParsedRoleARN struct {
	Partition string
	AccountID string
	Path      string // "/" or "/a/b/"
	Name      string
}

// ErrNotRoleARN is returned by ParseRoleARN for text that is not an IAM role
// ARN.
var ErrNotRoleARN = errors.New("iam: not an IAM role ARN (arn:aws:iam::ACCOUNT:role/[PATH/]NAME)")

var rePartition = regexp.MustCompile(`^aws(-[a-z]+)*$`)

// ParseRoleARN reads an IAM role ARN, arn:PARTITION:iam::ACCOUNT:role/NAME
// or …:role/PATH/NAME, checking the account, path and name as IAM does.
func ParseRoleARN(s string) (ParsedRoleARN, error) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" || a.Region != "" || !arn.IsAccountID(a.Account) ||
		!rePartition.MatchString(a.Partition) || !strings.HasPrefix(a.Resource, "role/") {
		return ParsedRoleARN{}, ErrNotRoleARN
	}
	rest := a.Resource[len("role"):]
	slash := strings.LastIndexByte(rest, '/')
	path, name := rest[:slash+1], rest[slash+1:]
	if !rePath.MatchString(path) || len(path) > 512 || len(name) > 64 || !reName.MatchString(name) {
		return ParsedRoleARN{}, ErrNotRoleARN
	}
	return ParsedRoleARN{Partition: a.Partition, AccountID: a.Account, Path: path, Name: name}, nil
}

// role reads a role of the account.
func (s *Service) role(ctx context.Context, accountID, name string) (store.Role, error) {
	r, err := s.Store.GetRole(ctx, accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return r, noSuchRole(name)
	}
	if err != nil {
		return r, storeErr(err)
	}
	return r, nil
}

// updateRole applies fn to a role of the account.
func (s *Service) updateRole(ctx context.Context, accountID, name string, fn func(*store.Role) error) (store.Role, error) {
	r, err := s.Store.UpdateRole(ctx, accountID, name, fn)
	if errors.Is(err, store.ErrNotFound) {
		return r, noSuchRole(name)
	}
	if err != nil {
		return r, storeErr(err)
	}
	return r, nil
}

// RoleResourceARN is the ARN of a role for authorization: the role's real
// ARN, path included, or the ARN with path "/" when the role does not exist.
func (s *Service) RoleResourceARN(ctx context.Context, accountID, name string) string {
	if r, err := s.Store.GetRole(ctx, accountID, name); err == nil {
		return r.ARN
	}
	return RoleARN(accountID, "/", name)
}

func (s *Service) parseTrust(doc string) error {
	_, err := policy.ParseWithLimits([]byte(doc), policy.KindTrust, policy.Limits{Size: s.trustLimit()})
	if err != nil {
		return policyErr(err)
	}
	return nil
}

var rePolicyARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::(aws|\d{12}):policy/.+$`)

// boundaryPolicy checks a PermissionsBoundary ARN and that it names a
// customer managed policy of the account.
func (s *Service) boundaryPolicy(ctx context.Context, accountID, a string) error {
	if !rePolicyARN.MatchString(a) {
		return awserr.Newf(awserr.InvalidParameterValue, "Value (%s) for parameter PermissionsBoundary is invalid.", a)
	}
	if _, err := s.managed(ctx, accountID, a); err != nil {
		if ae := awserr.As(err); ae.Code == awserr.NoSuchEntity {
			return awserr.Newf(awserr.NoSuchEntity, "Scope ARN: %s does not exist or is not attachable.", a)
		}
		return err
	}
	return nil
}

// CreateRole creates a role.
func (s *Service) CreateRole(ctx context.Context, accountID string, in *CreateRoleInput) (*RoleOutput, error) {
	var v violations
	v.optional(in.Path, "path", 1, 512, rePath, patPath)
	checkRoleName(&v, in.RoleName)
	checkDocument(&v, in.AssumeRolePolicyDocument, "assumeRolePolicyDocument")
	checkDescription(&v, in.Description)
	v.intRange(in.MaxSessionDuration, "maxSessionDuration", minSessionDuration, maxSessionDuration)
	v.optional(in.PermissionsBoundary, "permissionsBoundary", 20, 2048, nil, "")
	checkTags(&v, in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := duplicateTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.parseTrust(*in.AssumeRolePolicyDocument); err != nil {
		return nil, err
	}
	if in.PermissionsBoundary != nil {
		if err := s.boundaryPolicy(ctx, accountID, *in.PermissionsBoundary); err != nil {
			return nil, err
		}
	}
	id, err := s.newID(session.PrefixRole)
	if err != nil {
		return nil, err
	}
	path := "/"
	if in.Path != nil {
		path = *in.Path
	}
	r := store.Role{
		AccountID:          accountID,
		Name:               *in.RoleName,
		Path:               path,
		ID:                 id,
		ARN:                RoleARN(accountID, path, *in.RoleName),
		TrustPolicy:        *in.AssumeRolePolicyDocument,
		Description:        str(in.Description),
		MaxSessionDuration: defaultMaxSession,
		BoundaryARN:        str(in.PermissionsBoundary),
		Tags:               toStoreTags(in.Tags),
		CreatedAt:          s.now(),
	}
	if in.MaxSessionDuration != nil {
		r.MaxSessionDuration = int(*in.MaxSessionDuration)
	}
	if err := s.Store.CreateRole(ctx, r); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return nil, awserr.Newf(awserr.EntityAlreadyExists, "Role with name %s already exists.", *in.RoleName)
		}
		return nil, storeErr(err)
	}
	return &RoleOutput{Role: r}, nil
}

// GetRole describes a role.
func (s *Service) GetRole(ctx context.Context, accountID string, in *RoleNameInput) (*RoleOutput, error) {
	var v violations
	checkRoleName(&v, in.RoleName)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := s.role(ctx, accountID, *in.RoleName)
	if err != nil {
		return nil, err
	}
	return &RoleOutput{Role: r}, nil
}

// ListRoles lists the account's roles whose path starts with PathPrefix, by
// name.
func (s *Service) ListRoles(ctx context.Context, accountID string, in *ListRolesInput) (*ListRolesOutput, error) {
	var v violations
	v.optional(in.PathPrefix, "pathPrefix", 1, 512, rePathPrefix, patPathPrefix)
	v.page(in.Marker, in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	prefix := "/"
	if in.PathPrefix != nil {
		prefix = *in.PathPrefix
	}
	roles, err := s.Store.ListRoles(ctx, accountID, prefix)
	if err != nil {
		return nil, storeErr(err)
	}
	page, pg, err := paginate(roles, func(r store.Role) string { return strings.ToLower(r.Name) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListRolesOutput{Roles: page, Page: pg}, nil
}

// DeleteRole deletes a role that has neither attached nor inline policies.
func (s *Service) DeleteRole(ctx context.Context, accountID string, in *RoleNameInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	if err := v.err(); err != nil {
		return err
	}
	r, err := s.role(ctx, accountID, *in.RoleName)
	if err != nil {
		return err
	}
	if len(r.AttachedPolicyARNs) > 0 {
		return awserr.New(awserr.DeleteConflict, "Cannot delete entity, must detach all policies first.")
	}
	if len(r.InlinePolicies) > 0 {
		return awserr.New(awserr.DeleteConflict, "Cannot delete entity, must delete policies first.")
	}
	err = s.Store.DeleteRole(ctx, accountID, *in.RoleName)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchRole(*in.RoleName)
	}
	if err != nil {
		return storeErr(err)
	}
	return nil
}

// UpdateRole changes a role's description and maximum session duration,
// each only when given.
func (s *Service) UpdateRole(ctx context.Context, accountID string, in *UpdateRoleInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	checkDescription(&v, in.Description)
	v.intRange(in.MaxSessionDuration, "maxSessionDuration", minSessionDuration, maxSessionDuration)
	if err := v.err(); err != nil {
		return err
	}
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		if in.Description != nil {
			r.Description = *in.Description
		}
		if in.MaxSessionDuration != nil {
			r.MaxSessionDuration = int(*in.MaxSessionDuration)
		}
		return nil
	})
	return err
}

// UpdateRoleDescription changes a role's description and returns the role.
func (s *Service) UpdateRoleDescription(ctx context.Context, accountID string, in *UpdateRoleDescriptionInput) (*RoleOutput, error) {
	var v violations
	checkRoleName(&v, in.RoleName)
	if in.Description == nil {
		v.null("description")
	}
	checkDescription(&v, in.Description)
	if err := v.err(); err != nil {
		return nil, err
	}
	r, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		r.Description = *in.Description
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &RoleOutput{Role: r}, nil
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, accountID string, in *UpdateAssumeRolePolicyInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	checkDocument(&v, in.PolicyDocument, "policyDocument")
	if err := v.err(); err != nil {
		return err
	}
	if _, err := s.role(ctx, accountID, *in.RoleName); err != nil {
		return err
	}
	if err := s.parseTrust(*in.PolicyDocument); err != nil {
		// The policy package names the member as CreateRole does.
		if ae := awserr.As(err); ae.Code == awserr.ValidationError {
			return awserr.New(ae.Code, strings.Replace(ae.Message, "'assumeRolePolicyDocument'", "'policyDocument'", 1))
		}
		return err
	}
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		r.TrustPolicy = *in.PolicyDocument
		return nil
	})
	return err
}

// TagRole adds or overwrites a role's tags.
func (s *Service) TagRole(ctx context.Context, accountID string, in *TagRoleInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
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
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		tags, err := mergeTags(r.Tags, in.Tags, "TagsPerRole")
		r.Tags = tags
		return err
	})
	return err
}

// UntagRole removes tags from a role.
func (s *Service) UntagRole(ctx context.Context, accountID string, in *UntagRoleInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	checkTagKeys(&v, in.TagKeys)
	if err := v.err(); err != nil {
		return err
	}
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		r.Tags = removeTags(r.Tags, in.TagKeys)
		return nil
	})
	return err
}

// ListRoleTags lists a role's tags by key.
func (s *Service) ListRoleTags(ctx context.Context, accountID string, in *ListRoleTagsInput) (*ListTagsOutput, error) {
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
	return listTags(r.Tags, in.Marker, in.MaxItems)
}

// PutRolePermissionsBoundary sets a role's permissions boundary to a
// customer managed policy of the account.
func (s *Service) PutRolePermissionsBoundary(ctx context.Context, accountID string, in *PutRolePermissionsBoundaryInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	v.required(in.PermissionsBoundary, "permissionsBoundary", 20, 2048, nil, "")
	if err := v.err(); err != nil {
		return err
	}
	if _, err := s.role(ctx, accountID, *in.RoleName); err != nil {
		return err
	}
	if err := s.boundaryPolicy(ctx, accountID, *in.PermissionsBoundary); err != nil {
		return err
	}
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		r.BoundaryARN = *in.PermissionsBoundary
		return nil
	})
	return err
}

// DeleteRolePermissionsBoundary removes a role's permissions boundary; a
// role without one is left as it is.
func (s *Service) DeleteRolePermissionsBoundary(ctx context.Context, accountID string, in *RoleNameInput) error {
	var v violations
	checkRoleName(&v, in.RoleName)
	if err := v.err(); err != nil {
		return err
	}
	_, err := s.updateRole(ctx, accountID, *in.RoleName, func(r *store.Role) error {
		r.BoundaryARN = ""
		return nil
	})
	return err
}

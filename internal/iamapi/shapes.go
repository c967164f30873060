package iamapi

import (
	"time"

	"github.com/irsa-dev/irsa/internal/awsquery"
	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/store"
)

// The XML shapes of IAM's responses, element order as in AWS's model.

type tagXML = awsquery.Tag

func tags(in []store.Tag) []tagXML {
	out := make([]tagXML, len(in))
	for i, t := range in {
		out[i] = tagXML{Key: t.Key, Value: t.Value}
	}
	return out
}

// RoleXML is AWS's Role.
type RoleXML struct {
	Path                     string                  `xml:"Path"`
	RoleName                 string                  `xml:"RoleName"`
	RoleId                   string                  `xml:"RoleId"` //nolint:revive // AWS wire name
	Arn                      string                  `xml:"Arn"`
	CreateDate               time.Time               `xml:"CreateDate"`
	AssumeRolePolicyDocument string                  `xml:"AssumeRolePolicyDocument"`
	Description              string                  `xml:"Description,omitempty"`
	MaxSessionDuration       *int                    `xml:"MaxSessionDuration,omitempty"`
	PermissionsBoundary      *PermissionsBoundaryXML `xml:"PermissionsBoundary,omitempty"`
	Tags                     []tagXML                `xml:"Tags>member,omitempty"`
	RoleLastUsed             *RoleLastUsedXML        `xml:"RoleLastUsed"`
}

// PermissionsBoundaryXML is AWS's AttachedPermissionsBoundary.
type PermissionsBoundaryXML struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

// RoleLastUsedXML is AWS's RoleLastUsed; empty for a role never used.
type RoleLastUsedXML struct {
	LastUsedDate time.Time `xml:"LastUsedDate,omitempty"`
	Region       string    `xml:"Region,omitempty"`
}

// roleView says which optional parts of a role an action renders.
type roleView int

const (
	roleGet    roleView = iota // GetRole, UpdateRoleDescription: everything
	roleCreate                 // CreateRole: no MaxSessionDuration, no RoleLastUsed
	roleList                   // ListRoles: no Tags, RoleLastUsed or PermissionsBoundary
)

func role(r *store.Role, view roleView) RoleXML {
	x := RoleXML{
		Path:                     r.Path,
		RoleName:                 r.Name,
		RoleId:                   r.ID,
		Arn:                      r.ARN,
		CreateDate:               r.CreatedAt,
		AssumeRolePolicyDocument: awsquery.EncodePolicyDocument(r.TrustPolicy),
		Description:              r.Description,
	}
	if view != roleCreate {
		d := r.MaxSessionDuration
		x.MaxSessionDuration = &d
	}
	if view != roleList {
		if r.BoundaryARN != "" {
			x.PermissionsBoundary = &PermissionsBoundaryXML{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: r.BoundaryARN}
		}
		x.Tags = tags(r.Tags)
	}
	if view == roleGet {
		x.RoleLastUsed = &RoleLastUsedXML{LastUsedDate: r.LastUsedAt, Region: r.LastUsedRegion}
	}
	return x
}

// PolicyXML is AWS's Policy.
type PolicyXML struct {
	PolicyName                    string    `xml:"PolicyName"`
	PolicyId                      string    `xml:"PolicyId"` //nolint:revive // AWS wire name
	Arn                           string    `xml:"Arn"`
	Path                          string    `xml:"Path"`
	DefaultVersionId              string    `xml:"DefaultVersionId"` //nolint:revive // AWS wire name
	AttachmentCount               int       `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int       `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool      `xml:"IsAttachable"`
	Description                   string    `xml:"Description,omitempty"`
	CreateDate                    time.Time `xml:"CreateDate"`
	UpdateDate                    time.Time `xml:"UpdateDate"`
	Tags                          []tagXML  `xml:"Tags>member,omitempty"`
}

// managedPolicy renders a policy; list leaves out Description and Tags as
// ListPolicies does.
func managedPolicy(p *iam.ManagedPolicy, list bool) PolicyXML {
	x := PolicyXML{
		PolicyName:                    p.Name,
		PolicyId:                      p.ID,
		Arn:                           p.ARN,
		Path:                          p.Path,
		DefaultVersionId:              p.DefaultVersion,
		AttachmentCount:               p.AttachmentCount,
		PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount,
		IsAttachable:                  true,
		CreateDate:                    p.CreatedAt,
		UpdateDate:                    p.UpdatedAt,
	}
	if !list {
		x.Description = p.Description
		x.Tags = tags(p.Tags)
	}
	return x
}

// PolicyVersionXML is AWS's PolicyVersion.
type PolicyVersionXML struct {
	Document         string    `xml:"Document,omitempty"`
	VersionId        string    `xml:"VersionId"` //nolint:revive // AWS wire name
	IsDefaultVersion bool      `xml:"IsDefaultVersion"`
	CreateDate       time.Time `xml:"CreateDate"`
}

func policyVersion(v *iam.PolicyVersion, withDocument bool) PolicyVersionXML {
	x := PolicyVersionXML{VersionId: v.VersionId, IsDefaultVersion: v.IsDefaultVersion, CreateDate: v.CreateDate}
	if withDocument {
		x.Document = awsquery.EncodePolicyDocument(v.Document)
	}
	return x
}

// Results of the actions, named as AWS names the result elements.

// CreateOpenIDConnectProviderResult is the result of CreateOpenIDConnectProvider.
type CreateOpenIDConnectProviderResult struct {
	OpenIDConnectProviderArn string   `xml:"OpenIDConnectProviderArn"`
	Tags                     []tagXML `xml:"Tags>member,omitempty"`
}

// GetOpenIDConnectProviderResult is the result of GetOpenIDConnectProvider.
type GetOpenIDConnectProviderResult struct {
	Url            string    `xml:"Url"` //nolint:revive // AWS wire name
	ClientIDList   []string  `xml:"ClientIDList>member"`
	ThumbprintList []string  `xml:"ThumbprintList>member"`
	CreateDate     time.Time `xml:"CreateDate"`
	Tags           []tagXML  `xml:"Tags>member,omitempty"`
}

type providerEntryXML struct {
	Arn string `xml:"Arn"`
}

// ListOpenIDConnectProvidersResult is the result of ListOpenIDConnectProviders.
type ListOpenIDConnectProvidersResult struct {
	OpenIDConnectProviderList []providerEntryXML `xml:"OpenIDConnectProviderList>member"`
}

// PageXML is the pagination part of list results.
type PageXML struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

func page(p iam.Page) PageXML { return PageXML{IsTruncated: p.IsTruncated, Marker: p.Marker} }

// ListTagsResult is the result of ListRoleTags, ListPolicyTags and
// ListOpenIDConnectProviderTags.
type ListTagsResult struct {
	Tags []tagXML `xml:"Tags>member"`
	PageXML
}

// RoleResult is the result of the actions that return one role.
type RoleResult struct {
	Role RoleXML `xml:"Role"`
}

// ListRolesResult is the result of ListRoles.
type ListRolesResult struct {
	Roles []RoleXML `xml:"Roles>member"`
	PageXML
}

// UpdateRoleResult is empty, as AWS's is.
type UpdateRoleResult struct{}

// GetRolePolicyResult is the result of GetRolePolicy.
type GetRolePolicyResult struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

// ListRolePoliciesResult is the result of ListRolePolicies.
type ListRolePoliciesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	PageXML
}

// PolicyResult is the result of the actions that return one managed policy.
type PolicyResult struct {
	Policy PolicyXML `xml:"Policy"`
}

// ListPoliciesResult is the result of ListPolicies.
type ListPoliciesResult struct {
	Policies []PolicyXML `xml:"Policies>member"`
	PageXML
}

// PolicyVersionResult is the result of the actions that return one policy version.
type PolicyVersionResult struct {
	PolicyVersion PolicyVersionXML `xml:"PolicyVersion"`
}

// ListPolicyVersionsResult is the result of ListPolicyVersions.
type ListPolicyVersionsResult struct {
	Versions []PolicyVersionXML `xml:"Versions>member"`
	PageXML
}

type attachedPolicyXML struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

// ListAttachedRolePoliciesResult is the result of ListAttachedRolePolicies.
type ListAttachedRolePoliciesResult struct {
	AttachedPolicies []attachedPolicyXML `xml:"AttachedPolicies>member"`
	PageXML
}

type policyGroupXML struct {
	GroupName string `xml:"GroupName"`
	GroupId   string `xml:"GroupId"` //nolint:revive // AWS wire name
}

type policyUserXML struct {
	UserName string `xml:"UserName"`
	UserId   string `xml:"UserId"` //nolint:revive // AWS wire name
}

type policyRoleXML struct {
	RoleName string `xml:"RoleName"`
	RoleId   string `xml:"RoleId"` //nolint:revive // AWS wire name
}

// ListEntitiesForPolicyResult is the result of ListEntitiesForPolicy.
type ListEntitiesForPolicyResult struct {
	PolicyGroups []policyGroupXML `xml:"PolicyGroups>member"`
	PolicyUsers  []policyUserXML  `xml:"PolicyUsers>member"`
	PolicyRoles  []policyRoleXML  `xml:"PolicyRoles>member"`
	PageXML
}

type positionXML struct {
	Line   int `xml:"Line"`
	Column int `xml:"Column"`
}

type statementXML struct {
	SourcePolicyId   string       `xml:"SourcePolicyId"` //nolint:revive // AWS wire name
	SourcePolicyType string       `xml:"SourcePolicyType"`
	StartPosition    *positionXML `xml:"StartPosition,omitempty"`
	EndPosition      *positionXML `xml:"EndPosition,omitempty"`
}

type organizationsDetailXML struct {
	AllowedByOrganizations bool `xml:"AllowedByOrganizations"`
}

type boundaryDetailXML struct {
	AllowedByPermissionsBoundary bool `xml:"AllowedByPermissionsBoundary"`
}

type resourceResultXML struct {
	EvalResourceName                  string             `xml:"EvalResourceName"`
	EvalResourceDecision              string             `xml:"EvalResourceDecision"`
	MatchedStatements                 []statementXML     `xml:"MatchedStatements>member"`
	MissingContextValues              []string           `xml:"MissingContextValues>member"`
	PermissionsBoundaryDecisionDetail *boundaryDetailXML `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
}

type evaluationResultXML struct {
	EvalActionName                    string                 `xml:"EvalActionName"`
	EvalResourceName                  string                 `xml:"EvalResourceName"`
	EvalDecision                      string                 `xml:"EvalDecision"`
	MatchedStatements                 []statementXML         `xml:"MatchedStatements>member"`
	MissingContextValues              []string               `xml:"MissingContextValues>member"`
	OrganizationsDecisionDetail       organizationsDetailXML `xml:"OrganizationsDecisionDetail"`
	PermissionsBoundaryDecisionDetail *boundaryDetailXML     `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
	EvalDecisionDetails               map[string]string      `xml:"EvalDecisionDetails"`
	ResourceSpecificResults           []resourceResultXML    `xml:"ResourceSpecificResults>member,omitempty"`
}

// SimulatePolicyResult is the result of SimulateCustomPolicy and
// SimulatePrincipalPolicy.
type SimulatePolicyResult struct {
	EvaluationResults []evaluationResultXML `xml:"EvaluationResults>member"`
	PageXML
}

func statements(in []iam.Statement) []statementXML {
	out := make([]statementXML, len(in))
	for i, s := range in {
		out[i] = statementXML{SourcePolicyId: s.SourcePolicyId, SourcePolicyType: s.SourcePolicyType}
		if s.StartPosition != nil {
			out[i].StartPosition = &positionXML{Line: s.StartPosition.Line, Column: s.StartPosition.Column}
		}
		if s.EndPosition != nil {
			out[i].EndPosition = &positionXML{Line: s.EndPosition.Line, Column: s.EndPosition.Column}
		}
	}
	return out
}

func boundaryDetail(b *bool) *boundaryDetailXML {
	if b == nil {
		return nil
	}
	return &boundaryDetailXML{AllowedByPermissionsBoundary: *b}
}

func simulation(out *iam.SimulatePolicyOutput) *SimulatePolicyResult {
	res := &SimulatePolicyResult{EvaluationResults: []evaluationResultXML{}, PageXML: page(out.Page)}
	for _, r := range out.EvaluationResults {
		x := evaluationResultXML{
			EvalActionName:                    r.EvalActionName,
			EvalResourceName:                  r.EvalResourceName,
			EvalDecision:                      r.EvalDecision,
			MatchedStatements:                 statements(r.MatchedStatements),
			MissingContextValues:              r.MissingContextValues,
			OrganizationsDecisionDetail:       organizationsDetailXML{AllowedByOrganizations: r.AllowedByOrganizations},
			PermissionsBoundaryDecisionDetail: boundaryDetail(r.PermissionsBoundaryDecisionDetail),
			EvalDecisionDetails:               map[string]string{},
		}
		for _, rr := range r.ResourceSpecificResults {
			x.ResourceSpecificResults = append(x.ResourceSpecificResults, resourceResultXML{
				EvalResourceName:                  rr.EvalResourceName,
				EvalResourceDecision:              rr.EvalResourceDecision,
				MatchedStatements:                 statements(rr.MatchedStatements),
				MissingContextValues:              rr.MissingContextValues,
				PermissionsBoundaryDecisionDetail: boundaryDetail(rr.PermissionsBoundaryDecisionDetail),
			})
		}
		res.EvaluationResults = append(res.EvaluationResults, x)
	}
	return res
}

package awsquery

import "time"

// Example result shapes of STS and IAM, written from the botocore service
// models (element names and order). The real ones live in stsapi and
// iamapi; these exist so the codec can be tested against AWS's recorded
// responses without importing them.

type credentials struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	SessionToken    string    `xml:"SessionToken"`
	Expiration      time.Time `xml:"Expiration"`
}

type assumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

// assumeRoleWithWebIdentityResult follows the element order seen in real
// responses: Audience, AssumedRoleUser, Provider, Credentials,
// SubjectFromWebIdentityToken.
type assumeRoleWithWebIdentityResult struct {
	Audience                    string          `xml:"Audience"`
	AssumedRoleUser             assumedRoleUser `xml:"AssumedRoleUser"`
	Provider                    string          `xml:"Provider"`
	Credentials                 credentials     `xml:"Credentials"`
	SubjectFromWebIdentityToken string          `xml:"SubjectFromWebIdentityToken"`
	PackedPolicySize            *int            `xml:"PackedPolicySize"`
	SourceIdentity              string          `xml:"SourceIdentity,omitempty"`
}

type assumeRoleResult struct {
	AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
	Credentials      credentials     `xml:"Credentials"`
	PackedPolicySize *int            `xml:"PackedPolicySize"`
	SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
}

type getCallerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type permissionsBoundary struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

type roleLastUsed struct {
	LastUsedDate *time.Time `xml:"LastUsedDate"`
	Region       string     `xml:"Region,omitempty"`
}

type role struct {
	Path                     string               `xml:"Path"`
	RoleName                 string               `xml:"RoleName"`
	RoleID                   string               `xml:"RoleId"`
	Arn                      string               `xml:"Arn"`
	CreateDate               time.Time            `xml:"CreateDate"`
	AssumeRolePolicyDocument string               `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              *string              `xml:"Description"`
	MaxSessionDuration       *int32               `xml:"MaxSessionDuration"`
	PermissionsBoundary      *permissionsBoundary `xml:"PermissionsBoundary"`
	Tags                     []Tag                `xml:"Tags>member,omitempty"`
	RoleLastUsed             *roleLastUsed        `xml:"RoleLastUsed"`
}

type roleResult struct {
	Role role `xml:"Role"`
}

type listRolesResult struct {
	Roles       []role `xml:"Roles>member"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

type createOpenIDConnectProviderResult struct {
	OpenIDConnectProviderArn string `xml:"OpenIDConnectProviderArn"`
	Tags                     []Tag  `xml:"Tags>member,omitempty"`
}

type getOpenIDConnectProviderResult struct {
	URL            string    `xml:"Url"`
	ClientIDList   []string  `xml:"ClientIDList>member"`
	ThumbprintList []string  `xml:"ThumbprintList>member"`
	CreateDate     time.Time `xml:"CreateDate"`
	Tags           []Tag     `xml:"Tags>member,omitempty"`
}

type oidcProviderListEntry struct {
	Arn string `xml:"Arn"`
}

type listOpenIDConnectProvidersResult struct {
	OpenIDConnectProviderList []oidcProviderListEntry `xml:"OpenIDConnectProviderList>member"`
}

type getRolePolicyResult struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type listRolePoliciesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool     `xml:"IsTruncated"`
	Marker      string   `xml:"Marker,omitempty"`
}

type attachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type listAttachedRolePoliciesResult struct {
	AttachedPolicies []attachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool             `xml:"IsTruncated"`
	Marker           string           `xml:"Marker,omitempty"`
}

type managedPolicy struct {
	PolicyName                    string    `xml:"PolicyName"`
	PolicyID                      string    `xml:"PolicyId"`
	Arn                           string    `xml:"Arn"`
	Path                          string    `xml:"Path"`
	DefaultVersionID              string    `xml:"DefaultVersionId"`
	AttachmentCount               int32     `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int32     `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool      `xml:"IsAttachable"`
	Description                   string    `xml:"Description,omitempty"`
	CreateDate                    time.Time `xml:"CreateDate"`
	UpdateDate                    time.Time `xml:"UpdateDate"`
	Tags                          []Tag     `xml:"Tags>member,omitempty"`
}

type createPolicyResult struct {
	Policy managedPolicy `xml:"Policy"`
}

type policyVersion struct {
	Document         string    `xml:"Document"`
	VersionID        string    `xml:"VersionId"`
	IsDefaultVersion bool      `xml:"IsDefaultVersion"`
	CreateDate       time.Time `xml:"CreateDate"`
}

type getPolicyVersionResult struct {
	PolicyVersion policyVersion `xml:"PolicyVersion"`
}

type position struct {
	Line   int32 `xml:"Line"`
	Column int32 `xml:"Column"`
}

type statement struct {
	SourcePolicyID   string   `xml:"SourcePolicyId"`
	SourcePolicyType string   `xml:"SourcePolicyType"`
	StartPosition    position `xml:"StartPosition"`
	EndPosition      position `xml:"EndPosition"`
}

type organizationsDecisionDetail struct {
	AllowedByOrganizations bool `xml:"AllowedByOrganizations"`
}

type resourceSpecificResult struct {
	EvalResourceName     string            `xml:"EvalResourceName"`
	EvalResourceDecision string            `xml:"EvalResourceDecision"`
	MatchedStatements    []statement       `xml:"MatchedStatements>member"`
	MissingContextValues []string          `xml:"MissingContextValues>member"`
	EvalDecisionDetails  map[string]string `xml:"EvalDecisionDetails,omitempty"`
}

type evaluationResult struct {
	EvalActionName              string                       `xml:"EvalActionName"`
	EvalResourceName            string                       `xml:"EvalResourceName"`
	EvalDecision                string                       `xml:"EvalDecision"`
	MatchedStatements           []statement                  `xml:"MatchedStatements>member"`
	MissingContextValues        []string                     `xml:"MissingContextValues>member"`
	OrganizationsDecisionDetail *organizationsDecisionDetail `xml:"OrganizationsDecisionDetail"`
	EvalDecisionDetails         map[string]string            `xml:"EvalDecisionDetails"`
	ResourceSpecificResults     []resourceSpecificResult     `xml:"ResourceSpecificResults>member,omitempty"`
}

type simulatePolicyResult struct {
	EvaluationResults []evaluationResult `xml:"EvaluationResults>member"`
	IsTruncated       bool               `xml:"IsTruncated"`
	Marker            string             `xml:"Marker,omitempty"`
}

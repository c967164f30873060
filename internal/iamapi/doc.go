// Package iamapi owns the IAM Query API edge: a dispatch table from each
// IAM action to its typed input, its authorization (the iam: action and the
// resource ARN), the iam.Service method that decides, and the XML result
// shape AWS answers with. It translates; it decides nothing.
//
// Response shapes follow AWS's: policy documents are URL-encoded, dates are
// ISO 8601 in UTC, lists are wrapped in <member> elements, and each action
// leaves out what AWS leaves out (CreateRole has no MaxSessionDuration or
// RoleLastUsed, ListRoles no Tags, RoleLastUsed or PermissionsBoundary,
// ListPolicies no Description or Tags, ListPolicyVersions and
// CreatePolicyVersion no Document), as recorded in AWS's own responses.
package iamapi

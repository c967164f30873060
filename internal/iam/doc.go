// Package iam owns the IAM service of irsa: one method per IAM action
// (OpenID Connect providers, roles, inline and managed policies, attachments,
// tags and the policy simulator), each validating its input with AWS's own
// error codes and messages before it touches the store, plus the helpers the
// STS service uses to read a role's permissions (RolePolicies,
// ParseRoleARN).
//
// The package decides; it does not speak the wire. Inputs carry `query`
// tags so the Query codec can fill them, outputs are plain records that the
// iamapi package renders as XML.
//
// Choices where AWS's behavior is unknown or not reproducible here:
//
//   - AWS managed policies (arn:aws:iam::aws:policy/…) do not exist in irsa:
//     attaching one answers NoSuchEntity with AWS's "does not exist or is
//     not attachable" text, reading one "was not found", and ListPolicies
//     with Scope=AWS is empty.
//   - An OIDC provider URL must be https:// (http:// only for a loopback
//     host when AllowHTTPLoopbackProviders is set), with a host, without
//     user, query or fragment; a port is kept and appears in the ARN, as
//     does a trailing slash. A refused URL answers InvalidInput "Invalid
//     Open ID Connect Provider URL". GetOpenIDConnectProvider returns the
//     URL without its scheme, as AWS does.
//   - A thumbprint must be 40 hexadecimal characters. AWS's model only
//     checks the length; the hexadecimal check answers InvalidInput with a
//     message of irsa's own.
//   - Tags beyond 50 on one entity answer LimitExceeded "Cannot exceed
//     quota for TagsPerRole: 50" (TagsPerPolicy, TagsPerOpenIdConnectProvider),
//     in the style of AWS's other quota messages.
//   - Markers are opaque strings irsa makes from the sort key of the next
//     item; a marker irsa did not make answers InvalidInput.
//   - Attaching a policy updates the role, then the policy's attachment
//     count, in two transactions; an attach that loses a race with
//     DeletePolicy is undone. RolePolicies skips an attached policy that no
//     longer exists and fails (InternalFailure) when the boundary does not,
//     so a broken record never widens permissions.
//
// Simulation (SimulateCustomPolicy, SimulatePrincipalPolicy):
//
//   - There is one EvaluationResult per action and resource (resource "*"
//     when ResourceArns is absent); ResourceSpecificResults repeats it when
//     ResourceArns were given, as AWS's recorded answers show.
//   - MatchedStatements are the allowing identity and resource statements
//     of an allow, the denying statements of an explicit deny, none for an
//     implicit deny. SourcePolicyId is the policy name for a role's inline
//     and attached policies and its boundary, "PolicyInputList.N",
//     "PermissionsBoundaryPolicyInputList.1" or "ResourcePolicy" for given
//     documents. SourcePolicyType is "IAM Policy" for identity policies (as
//     AWS answers), "PermissionsBoundaryPolicy" and "Resource Policy"
//     otherwise (irsa's words).
//   - StartPosition and EndPosition are exact: the line and column just
//     after the statement's opening and closing braces, which is what AWS
//     reports (its recorded answer places braces at columns 40 and 112 at
//     41 and 113).
//   - MissingContextValues lists the condition keys, and the keys of policy
//     variables, that statements whose Action and Resource cover the request
//     use and the request lacks, in order of appearance.
//   - The resource owner is ResourceOwner, else the caller's account, else
//     the account simulating, as AWS documents; a ResourcePolicy is read as
//     a trust policy when every resource is a role ARN and every action an
//     sts: action. Documents AWS would reject answer InvalidInput with the
//     MalformedPolicyDocument text.
package iam

package policy_test

import (
	"testing"

	"github.com/irsa-dev/irsa/internal/policy"
)

// Language tests: one row per case of ../shared/reference/iam-policy-semantics.md
// §1 that can be written as an evaluation. The AWS pages behind them:
//
// [action]    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
// [notaction] https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
// [resource]  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
// [notres]    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
// [principal] https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
// [vars]      https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
// [ops]       https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
// [eks]       https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
//             (the IRSA trust policy with <issuer>:sub and <issuer>:aud)

const (
	langAccount = "111122223333"
	langOther   = "444455556666"
	langAlice   = "arn:aws:iam::111122223333:user/alice"
	langBob     = "arn:aws:iam::111122223333:user/bob"
	langBucket  = "arn:aws:s3:::amzn-s3-demo-bucket"

	langIssuer   = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	langProvider = "arn:aws:iam::111122223333:oidc-provider/" + langIssuer
	langRole     = "arn:aws:iam::111122223333:role/irsa-app"
	langSub      = langIssuer + ":sub"
	langAud      = langIssuer + ":aud"
	langWebID    = "sts:AssumeRoleWithWebIdentity"
)

// langAllow is a one-statement identity policy.
func langAllow(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + action + `,"Resource":` + resource + `}]}`
}

// langTrust is an IRSA trust policy for langProvider with the given condition.
func langTrust(cond string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + langProvider +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + cond + `}]}`
}

// TestLanguageActions covers §1.3: action names compare case-insensitively and
// take * anywhere; NotAction inverts the list.
func TestLanguageActions(t *testing.T) {
	const all = `"*"`
	notIAM := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`
	notIAMUpper := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"IAM:*","Resource":"*"}]}`
	notIAMOnBucket := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"` + langBucket + `/*"}]}`
	denyNotAction := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},` +
		`{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*"}]}`
	accessKeys := langAllow(`"iam:*AccessKey*"`, `"arn:aws:iam::111122223333:user/*"`)
	user := "arn:aws:iam::111122223333:user/alice"
	rows := []semRow{
		{name: "action/prefix and name in any case in the policy", doc: langAllow(`"IAM:listaccesskeys"`, all), action: "iam:ListAccessKeys", resource: user, want: policy.Allowed},
		{name: "action/prefix and name in any case in the request", doc: langAllow(`"iam:ListAccessKeys"`, all), action: "IAM:LISTACCESSKEYS", resource: user, want: policy.Allowed},
		{name: "action/iam:*AccessKey* covers CreateAccessKey", doc: accessKeys, action: "iam:CreateAccessKey", resource: user, want: policy.Allowed},
		{name: "action/iam:*AccessKey* covers ListAccessKeys", doc: accessKeys, action: "iam:ListAccessKeys", resource: user, want: policy.Allowed},
		{name: "action/iam:*AccessKey* covers UpdateAccessKey", doc: accessKeys, action: "iam:UpdateAccessKey", resource: user, want: policy.Allowed},
		{name: "action/iam:*AccessKey* does not cover ListUsers", doc: accessKeys, action: "iam:ListUsers", resource: user, want: policy.ImplicitDeny},
		{name: "action/iam:*AccessKey* does not cover another service", doc: accessKeys, action: "sts:GetAccessKeyInfo", resource: user, want: policy.ImplicitDeny},
		{name: "action/lower-case wildcard pattern", doc: langAllow(`"s3:get*"`, all), action: "s3:GetObject", resource: langBucket + "/k", want: policy.Allowed},
		{name: "action/s3:Get* does not cover PutObject", doc: langAllow(`"s3:Get*"`, all), action: "s3:PutObject", resource: langBucket + "/k", want: policy.ImplicitDeny},
		{name: "action/star covers every action", doc: langAllow(`"*"`, all), action: "dynamodb:GetItem", resource: "arn:aws:dynamodb:us-east-1:111122223333:table/Books", want: policy.Allowed},
		{name: "action/iam:* does not cover sts", doc: langAllow(`"iam:*"`, all), action: "sts:AssumeRole", resource: "arn:aws:iam::111122223333:role/x", want: policy.ImplicitDeny},
		{name: "action/no wildcard means no prefix match", doc: langAllow(`"s3:GetObject"`, all), action: "s3:GetObjectAcl", resource: langBucket + "/k", want: policy.ImplicitDeny},
		{name: "action/list of actions is ORed", doc: langAllow(`["s3:PutObject","s3:GetObject"]`, all), action: "s3:GetObject", resource: langBucket + "/k", want: policy.Allowed},

		{name: "notaction/allow everything but IAM allows S3", doc: notIAM, action: "s3:GetObject", resource: langBucket + "/k", want: policy.Allowed},
		{name: "notaction/allow everything but IAM does not allow IAM", doc: notIAM, action: "iam:CreateUser", resource: "arn:aws:iam::111122223333:user/x", want: policy.ImplicitDeny},
		{name: "notaction/NotAction compares case-insensitively", doc: notIAMUpper, action: "iam:CreateUser", resource: "arn:aws:iam::111122223333:user/x", want: policy.ImplicitDeny},
		{name: "notaction/limited by Resource, inside", doc: notIAMOnBucket, action: "s3:GetObject", resource: langBucket + "/k", want: policy.Allowed},
		{name: "notaction/limited by Resource, outside", doc: notIAMOnBucket, action: "s3:GetObject", resource: "arn:aws:s3:::other-bucket/k", want: policy.ImplicitDeny},
		{name: "notaction/deny everything but IAM and STS denies S3", doc: denyNotAction, action: "s3:GetObject", resource: langBucket + "/k", want: policy.ExplicitDeny},
		{name: "notaction/deny everything but IAM and STS leaves IAM", doc: denyNotAction, action: "iam:ListUsers", resource: "*", want: policy.Allowed},
	}
	runSemRows(t, rows)
}

// TestLanguageResources covers §1.4: ARNs are compared part by part; * and ?
// stay inside one of the first five parts; in the resource part * also
// crosses '/' and ':'; comparison is case-sensitive. NotResource inverts.
func TestLanguageResources(t *testing.T) {
	allow := func(resource string) string { return langAllow(`"*"`, `"`+resource+`"`) }
	notSecret := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret-bucket/*"}]}`
	denyOutside := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},` +
		`{"Effect":"Deny","Action":"*","NotResource":["arn:aws:s3:::allowed-bucket","arn:aws:s3:::allowed-bucket/*"]}]}`
	rows := []semRow{
		{name: "resource/star in the resource part crosses slashes", doc: allow(langBucket + "/*"), action: "s3:GetObject", resource: langBucket + "/a/b/c.txt", want: policy.Allowed},
		{name: "resource/bucket ARN does not cover its objects", doc: allow(langBucket), action: "s3:GetObject", resource: langBucket + "/k", want: policy.ImplicitDeny},
		{name: "resource/star inside the bucket name", doc: allow(langBucket + "*"), action: "s3:GetObject", resource: "arn:aws:s3:::amzn-s3-demo-bucket-logs/k", want: policy.Allowed},
		{name: "resource/question mark is one character", doc: allow("arn:aws:s3:::bucket-?"), action: "s3:ListBucket", resource: "arn:aws:s3:::bucket-a", want: policy.Allowed},
		{name: "resource/question mark is not two characters", doc: allow("arn:aws:s3:::bucket-?"), action: "s3:ListBucket", resource: "arn:aws:s3:::bucket-ab", want: policy.ImplicitDeny},
		{name: "resource/star for the account", doc: allow("arn:aws:iam::*:role/x"), action: "iam:GetRole", resource: "arn:aws:iam::111122223333:role/x", want: policy.Allowed},
		{name: "resource/account star does not cross a colon", doc: allow("arn:aws:iam::*:role/x"), action: "iam:GetRole", resource: "arn:aws:iam::111122223333:extra:role/x", want: policy.ImplicitDeny},
		{name: "resource/region star does not swallow the account", doc: allow("arn:aws:sns:*:123456789012:topic"), action: "sns:Publish", resource: "arn:aws:sns:us-east-1:extra:123456789012:topic", want: policy.ImplicitDeny},
		{name: "resource/star within the region part", doc: allow("arn:aws:ec2:us-*-1:*:instance/*"), action: "ec2:StartInstances", resource: "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc", want: policy.Allowed},
		{name: "resource/star within the region part, other region", doc: allow("arn:aws:ec2:us-*-1:*:instance/*"), action: "ec2:StartInstances", resource: "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc", want: policy.ImplicitDeny},
		{name: "resource/star in the resource part crosses colons", doc: allow("arn:aws:logs:us-east-1:111122223333:log-group:*"), action: "logs:PutLogEvents", resource: "arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:s1", want: policy.Allowed},
		{name: "resource/resource part is case-sensitive", doc: allow("arn:aws:s3:::Amzn-S3-Demo-Bucket/*"), action: "s3:GetObject", resource: langBucket + "/k", want: policy.ImplicitDeny},
		{name: "resource/star matches an empty account", doc: allow("arn:aws:ec2:*:*:image/*"), action: "ec2:RunInstances", resource: "arn:aws:ec2:us-east-1::image/ami-0abc", want: policy.Allowed},
		{name: "resource/empty account in the pattern needs an empty account", doc: allow("arn:aws:ec2:*::image/*"), action: "ec2:RunInstances", resource: "arn:aws:ec2:us-east-1:111122223333:image/ami-0abc", want: policy.ImplicitDeny},
		{name: "resource/everything in one account", doc: allow("arn:aws:iam::111122223333:*"), action: "iam:GetRole", resource: "arn:aws:iam::111122223333:role/path/to/x", want: policy.Allowed},
		{name: "resource/everything in one account, other account", doc: allow("arn:aws:iam::111122223333:*"), action: "iam:GetRole", resource: "arn:aws:iam::444455556666:role/x", want: policy.ImplicitDeny},
		{name: "resource/table ARN does not cover its index", doc: allow("arn:aws:dynamodb:us-east-1:111122223333:table/Books"), action: "dynamodb:Query", resource: "arn:aws:dynamodb:us-east-1:111122223333:table/Books/index/ByAuthor", want: policy.ImplicitDeny},
		{name: "resource/list of resources is ORed", doc: langAllow(`"s3:GetObject"`, `["arn:aws:s3:::a/*","arn:aws:s3:::b/*"]`), action: "s3:GetObject", resource: "arn:aws:s3:::b/k", want: policy.Allowed},

		{name: "notresource/allow outside the secret bucket", doc: notSecret, action: "s3:GetObject", resource: "arn:aws:s3:::public-bucket/x", want: policy.Allowed},
		{name: "notresource/not inside the secret bucket", doc: notSecret, action: "s3:GetObject", resource: "arn:aws:s3:::secret-bucket/x", want: policy.ImplicitDeny},
		{name: "notresource/deny outside the allowed bucket leaves it", doc: denyOutside, action: "s3:GetObject", resource: "arn:aws:s3:::allowed-bucket/x", want: policy.Allowed},
		{name: "notresource/deny outside the allowed bucket denies others", doc: denyOutside, action: "s3:GetObject", resource: "arn:aws:s3:::other-bucket/x", want: policy.ExplicitDeny},
	}
	runSemRows(t, rows)
}

// TestLanguageStatements covers §1.1: a single statement object, and element
// order, do not change the meaning.
func TestLanguageStatements(t *testing.T) {
	single := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`
	reordered := `{"Statement":[{"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}},"Action":"s3:GetObject","Effect":"Allow"}],"Version":"2012-10-17"}`
	allowAndDeny := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}`
	rows := []semRow{
		{name: "statement/single object", doc: single, action: "s3:GetObject", resource: langBucket + "/k", want: policy.Allowed},
		{name: "statement/elements in any order", doc: reordered, action: "s3:GetObject", resource: langBucket + "/k", ctx: []ctxOp{ckv("aws:SecureTransport", "true")}, want: policy.Allowed},
		{name: "statement/explicit deny wins in one policy", doc: allowAndDeny, action: "s3:GetObject", resource: langBucket + "/k", want: policy.ExplicitDeny},
		{name: "statement/the deny does not cover another action", doc: allowAndDeny, action: "s3:PutObject", resource: langBucket + "/k", want: policy.Allowed},
	}
	runSemRows(t, rows)
}

// TestLanguagePrincipals covers §1.2: "*" is {"AWS":"*"} and includes
// anonymous callers; an account ID is the root ARN and means the account.
func TestLanguagePrincipals(t *testing.T) {
	bucketPolicy := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal +
			`,"Action":"s3:GetObject","Resource":"` + langBucket + `/*"}]}`
	}
	trust := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sts:AssumeRole"}]}`
	}
	notPrincipal := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + langBucket + `/*"},` +
		`{"Effect":"Deny","NotPrincipal":{"AWS":"` + langAlice + `"},"Action":"s3:*","Resource":"` + langBucket + `/*"}]}`
	// [ops] "Example ARN condition operator": an SQS queue policy for SNS.
	queuePolicy := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},` +
		`"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:QUEUE-ID",` +
		`"Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:TOPIC-ID"}}}}`
	const queue = "arn:aws:sqs:us-east-1:123456789012:QUEUE-ID"
	target := "arn:aws:iam::111122223333:role/target"
	caller := "arn:aws:iam::111122223333:role/caller"
	outsider := "arn:aws:iam::444455556666:role/caller"
	assume := langAllow(`"sts:AssumeRole"`, `"*"`)
	object := langBucket + "/report.csv"
	rows := []semRow{
		{name: "principal/star allows a user of the account", kind: policy.KindResource, doc: bucketPolicy(`"*"`), action: "s3:GetObject", resource: object, principal: langAlice, want: policy.Allowed},
		{name: "principal/AWS star allows a user of the account", kind: policy.KindResource, doc: bucketPolicy(`{"AWS":"*"}`), action: "s3:GetObject", resource: object, principal: langAlice, want: policy.Allowed},
		{name: "principal/star allows anonymous callers", kind: policy.KindResource, doc: bucketPolicy(`"*"`), action: "s3:GetObject", resource: object, want: policy.Allowed},
		{name: "principal/AWS star allows anonymous callers", kind: policy.KindResource, doc: bucketPolicy(`{"AWS":"*"}`), action: "s3:GetObject", resource: object, want: policy.Allowed},
		{name: "principal/named user does not cover another user", kind: policy.KindResource, doc: bucketPolicy(`{"AWS":"` + langBob + `"}`), action: "s3:GetObject", resource: object, principal: langAlice, want: policy.ImplicitDeny},
		{name: "principal/named user", kind: policy.KindResource, doc: bucketPolicy(`{"AWS":"` + langBob + `"}`), action: "s3:GetObject", resource: object, principal: langBob, want: policy.Allowed},

		{name: "principal/account ID with an identity allow", kind: policy.KindTrust, doc: trust(langAccount), identity: assume, action: "sts:AssumeRole", resource: target, principal: caller, want: policy.Allowed},
		{name: "principal/root ARN with an identity allow", kind: policy.KindTrust, doc: trust("arn:aws:iam::111122223333:root"), identity: assume, action: "sts:AssumeRole", resource: target, principal: caller, want: policy.Allowed},
		{name: "principal/account ID needs an identity allow", kind: policy.KindTrust, doc: trust(langAccount), action: "sts:AssumeRole", resource: target, principal: caller, want: policy.ImplicitDeny},
		{name: "principal/root ARN needs an identity allow", kind: policy.KindTrust, doc: trust("arn:aws:iam::111122223333:root"), action: "sts:AssumeRole", resource: target, principal: caller, want: policy.ImplicitDeny},
		{name: "principal/root ARN does not cover another account", kind: policy.KindTrust, doc: trust("arn:aws:iam::111122223333:root"), identity: assume, action: "sts:AssumeRole", resource: target, principal: outsider, want: policy.ImplicitDeny},
		{name: "principal/other account by ID", kind: policy.KindTrust, doc: trust(langOther), identity: assume, action: "sts:AssumeRole", resource: target, principal: outsider, want: policy.Allowed},
		{name: "principal/other account by root ARN", kind: policy.KindTrust, doc: trust("arn:aws:iam::444455556666:root"), identity: assume, action: "sts:AssumeRole", resource: target, principal: outsider, want: policy.Allowed},

		{name: "principal/deny with NotPrincipal denies everyone else", kind: policy.KindResource, doc: notPrincipal, action: "s3:GetObject", resource: object, principal: langBob, want: policy.ExplicitDeny},
		{name: "principal/deny with NotPrincipal exempts the named user", kind: policy.KindResource, doc: notPrincipal, action: "s3:GetObject", resource: object, principal: langAlice, want: policy.Allowed},

		// [ops] ARN example table, evaluated as the queue policy it comes
		// from; SQS:SendMessage also checks action case-insensitivity.
		{name: "principal/service with the right source topic", kind: policy.KindResource, doc: queuePolicy, action: "sqs:SendMessage", resource: queue, principal: "sns.amazonaws.com",
			ctx: []ctxOp{ckv("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:TOPIC-ID")}, want: policy.Allowed},
		{name: "principal/service with a topic of another account", kind: policy.KindResource, doc: queuePolicy, action: "sqs:SendMessage", resource: queue, principal: "sns.amazonaws.com",
			ctx: []ctxOp{ckv("aws:SourceArn", "arn:aws:sns:us-east-1:777788889999:TOPIC-ID")}, want: policy.ImplicitDeny},
		{name: "principal/service without a source topic", kind: policy.KindResource, doc: queuePolicy, action: "sqs:SendMessage", resource: queue, principal: "sns.amazonaws.com", want: policy.ImplicitDeny},
		{name: "principal/another service", kind: policy.KindResource, doc: queuePolicy, action: "sqs:SendMessage", resource: queue, principal: "events.amazonaws.com",
			ctx: []ctxOp{ckv("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:TOPIC-ID")}, want: policy.ImplicitDeny},
	}
	runSemRows(t, rows)
}

// TestLanguageVariables covers §1.6 ([vars]).
func TestLanguageVariables(t *testing.T) {
	home := langAllow(`"s3:GetObject"`, `"`+langBucket+`/home/${aws:username}/*"`)
	homeUpper := langAllow(`"s3:GetObject"`, `"`+langBucket+`/home/${AWS:UserName}/*"`)
	teamBucket := langAllow(`"s3:ListBucket"`, `"arn:aws:s3:::amzn-s3-demo-bucket-${aws:PrincipalTag/team, 'company-wide'}"`)
	teamTag := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",` +
		`"Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team, 'company-wide'}"}}}]}`
	starVar := langAllow(`"s3:GetObject"`, `"`+langBucket+`/literal${*}name"`)
	cond := func(op, key, value string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"` + op + `":{"` + key + `":"` + value + `"}}}]}`
	}
	// Policies without Version or with 2008-10-17 keep ${...} as text. IAM
	// refuses such identity policies, so these are bucket policies.
	oldBucket := func(version string) string {
		return `{` + version + `"Statement":[{"Effect":"Allow","Principal":{"AWS":"` + langAlice + `"},"Action":"s3:GetObject","Resource":"` + langBucket + `/home/${aws:username}/*"}]}`
	}
	oldCondition := `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + langAlice + `"},"Action":"s3:ListBucket","Resource":"` + langBucket +
		`","Condition":{"StringEquals":{"s3:prefix":"home/${aws:username}"}}}]}`
	// [vars] "Policy variables with no value": a Deny whose StringNotEquals
	// compares against a missing principal tag.
	teamDeny := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},` +
		`{"Effect":"Deny","Action":"s3:GetObject","Resource":"` + langBucket + `/*","Condition":{"StringNotEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/Team}"}}}]}`
	// [vars] "AllowUnlessOwnedBySomeoneElse".
	ownerAllow := `{"Version":"2012-10-17","Statement":[{"Sid":"AllowUnlessOwnedBySomeoneElse","Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"],` +
		`"Condition":{"StringEquals":{"s3:ExistingObjectTag/owner":"${aws:PrincipalTag/owner}"}}}]}`
	deptNotResource := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","NotResource":"` + langBucket + `/${aws:PrincipalTag/dept}/*"}]}`
	// [vars] the SNS example with three tag variables in one ARN.
	snsTopics := `{"Version":"2012-10-17","Statement":[{"Sid":"AllowAccessBasedOnArnMatching","Effect":"Allow","Action":["sns:CreateTopic","sns:DeleteTopic"],` +
		`"Resource":["arn:aws:sns:*:*:${aws:PrincipalTag/access-project}-${aws:PrincipalTag/access-application}-${aws:PrincipalTag/access-environment}-*"]}]}`
	snsTags := func(env string) []ctxOp {
		ops := []ctxOp{ckv("aws:PrincipalTag/access-project", "p1"), ckv("aws:PrincipalTag/access-application", "app")}
		if env != "" {
			ops = append(ops, ckv("aws:PrincipalTag/access-environment", env))
		}
		return ops
	}
	// [vars] team prefix example.
	teamPrefix := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket"],"Resource":["` + langBucket +
		`"],"Condition":{"StringLike":{"s3:prefix":["${aws:PrincipalTag/team}/*"]}}}]}`
	userPrefix := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"` + langBucket +
		`","Condition":{"StringLike":{"s3:prefix":"home/${aws:username}/"}}}]}`
	sourceUser := cond("ArnEquals", "aws:SourceArn", "arn:aws:iam::111122223333:user/${aws:username}")
	object := func(key string) string { return langBucket + "/" + key }

	rows := []semRow{
		{name: "vars/username in Resource, own home", doc: home, action: "s3:GetObject", resource: object("home/martha_rivera/notes.txt"), ctx: []ctxOp{ckv("aws:username", "martha_rivera")}, want: policy.Allowed},
		{name: "vars/username in Resource, someone else's home", doc: home, action: "s3:GetObject", resource: object("home/nikki_wolf/notes.txt"), ctx: []ctxOp{ckv("aws:username", "martha_rivera")}, want: policy.ImplicitDeny},
		{name: "vars/unresolved variable in Resource matches nothing", doc: home, action: "s3:GetObject", resource: object("home//notes.txt"), want: policy.ImplicitDeny},
		{name: "vars/unresolved variable in Resource does not match its own text", doc: home, action: "s3:GetObject", resource: object("home/${aws:username}/notes.txt"), want: policy.ImplicitDeny},
		{name: "vars/variable name is case-insensitive", doc: homeUpper, action: "s3:GetObject", resource: object("home/martha_rivera/notes.txt"), ctx: []ctxOp{ckv("aws:username", "martha_rivera")}, want: policy.Allowed},
		{name: "vars/substituted star is literal, other user", doc: home, action: "s3:GetObject", resource: object("home/bob/notes.txt"), ctx: []ctxOp{ckv("aws:username", "*")}, want: policy.ImplicitDeny},
		{name: "vars/substituted star is literal, same text", doc: home, action: "s3:GetObject", resource: object("home/*/notes.txt"), ctx: []ctxOp{ckv("aws:username", "*")}, want: policy.Allowed},

		{name: "vars/default not used when the tag exists", doc: teamBucket, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket-yellow", ctx: []ctxOp{ckv("aws:PrincipalTag/team", "yellow")}, want: policy.Allowed},
		{name: "vars/team member cannot use the default bucket", doc: teamBucket, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket-company-wide", ctx: []ctxOp{ckv("aws:PrincipalTag/team", "yellow")}, want: policy.ImplicitDeny},
		{name: "vars/default used without the tag", doc: teamBucket, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket-company-wide", want: policy.Allowed},
		{name: "vars/without the tag no team bucket", doc: teamBucket, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket-yellow", want: policy.ImplicitDeny},
		{name: "vars/default in a condition value", doc: teamTag, action: "s3:GetObject", resource: object("k"), ctx: []ctxOp{ckv("aws:ResourceTag/team", "company-wide")}, want: policy.Allowed},
		{name: "vars/default in a condition value, tag present", doc: teamTag, action: "s3:GetObject", resource: object("k"), ctx: []ctxOp{ckv("aws:PrincipalTag/team", "red"), ckv("aws:ResourceTag/team", "company-wide")}, want: policy.ImplicitDeny},

		{name: "vars/${*} is a literal star in Resource", doc: starVar, action: "s3:GetObject", resource: object("literal*name"), want: policy.Allowed},
		{name: "vars/${*} is not a wildcard in Resource", doc: starVar, action: "s3:GetObject", resource: object("literalXname"), want: policy.ImplicitDeny},
		{name: "vars/${?} is a literal question mark", doc: cond("StringLike", "s3:prefix", "what${?}"), action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("s3:prefix", "what?")}, want: policy.Allowed},
		{name: "vars/${?} is not a wildcard", doc: cond("StringLike", "s3:prefix", "what${?}"), action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("s3:prefix", "whats")}, want: policy.ImplicitDeny},
		{name: "vars/${$} is a literal dollar", doc: cond("StringEquals", "s3:prefix", "cost${$}"), action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("s3:prefix", "cost$")}, want: policy.Allowed},
		{name: "vars/${*} in StringLike is a literal star", doc: cond("StringLike", "s3:prefix", "a${*}b"), action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("s3:prefix", "axyb")}, want: policy.ImplicitDeny},

		{name: "vars/no Version keeps the text, literal resource", kind: policy.KindResource, doc: oldBucket(""), action: "s3:GetObject", resource: object("home/${aws:username}/x"), principal: langAlice, ctx: []ctxOp{ckv("aws:username", "alice")}, want: policy.Allowed},
		{name: "vars/no Version keeps the text, substituted resource", kind: policy.KindResource, doc: oldBucket(""), action: "s3:GetObject", resource: object("home/alice/x"), principal: langAlice, ctx: []ctxOp{ckv("aws:username", "alice")}, want: policy.ImplicitDeny},
		{name: "vars/2008-10-17 keeps the text, literal resource", kind: policy.KindResource, doc: oldBucket(`"Version":"2008-10-17",`), action: "s3:GetObject", resource: object("home/${aws:username}/x"), principal: langAlice, ctx: []ctxOp{ckv("aws:username", "alice")}, want: policy.Allowed},
		{name: "vars/2008-10-17 keeps the text, substituted resource", kind: policy.KindResource, doc: oldBucket(`"Version":"2008-10-17",`), action: "s3:GetObject", resource: object("home/alice/x"), principal: langAlice, ctx: []ctxOp{ckv("aws:username", "alice")}, want: policy.ImplicitDeny},
		{name: "vars/2008-10-17 keeps the text in a condition", kind: policy.KindResource, doc: oldCondition, action: "s3:ListBucket", resource: langBucket, principal: langAlice, ctx: []ctxOp{ckv("aws:username", "alice"), ckv("s3:prefix", "home/${aws:username}")}, want: policy.Allowed},
		{name: "vars/2008-10-17 does not substitute in a condition", kind: policy.KindResource, doc: oldCondition, action: "s3:ListBucket", resource: langBucket, principal: langAlice, ctx: []ctxOp{ckv("aws:username", "alice"), ckv("s3:prefix", "home/alice")}, want: policy.ImplicitDeny},

		{name: "vars/no-value example, same team", doc: teamDeny, action: "s3:GetObject", resource: object("k"), ctx: []ctxOp{ckv("aws:PrincipalTag/Team", "red"), ckv("s3:ExistingObjectTag/Team", "red")}, want: policy.Allowed},
		{name: "vars/no-value example, other team", doc: teamDeny, action: "s3:GetObject", resource: object("k"), ctx: []ctxOp{ckv("aws:PrincipalTag/Team", "red"), ckv("s3:ExistingObjectTag/Team", "blue")}, want: policy.ExplicitDeny},
		{name: "vars/no-value example, principal has no Team tag", doc: teamDeny, action: "s3:GetObject", resource: object("k"), ctx: []ctxOp{ckv("s3:ExistingObjectTag/Team", "red")}, want: policy.ExplicitDeny},
		{name: "vars/no-value example, tag keys in other case", doc: teamDeny, action: "s3:GetObject", resource: object("k"), ctx: []ctxOp{ckv("aws:principaltag/team", "red"), ckv("s3:existingobjecttag/team", "red")}, want: policy.Allowed},
		{name: "vars/owner example, same owner", doc: ownerAllow, action: "s3:GetObject", resource: object("k"), ctx: []ctxOp{ckv("aws:PrincipalTag/owner", "alice"), ckv("s3:ExistingObjectTag/owner", "alice")}, want: policy.Allowed},
		{name: "vars/owner example, other owner", doc: ownerAllow, action: "s3:GetObject", resource: object("k"), ctx: []ctxOp{ckv("aws:PrincipalTag/owner", "alice"), ckv("s3:ExistingObjectTag/owner", "bob")}, want: policy.ImplicitDeny},
		{name: "vars/owner example, unresolved variable never equals", doc: ownerAllow, action: "s3:GetObject", resource: object("k"), ctx: []ctxOp{ckv("s3:ExistingObjectTag/owner", "")}, want: policy.ImplicitDeny},

		// An unresolved variable makes that NotResource entry match nothing,
		// so nothing is excluded.
		{name: "vars/unresolved variable in NotResource excludes nothing", doc: deptNotResource, action: "s3:GetObject", resource: object("finance/x"), want: policy.Allowed},
		{name: "vars/resolved variable in NotResource excludes the department", doc: deptNotResource, action: "s3:GetObject", resource: object("finance/x"), ctx: []ctxOp{ckv("aws:PrincipalTag/dept", "finance")}, want: policy.ImplicitDeny},

		{name: "vars/three tags in one ARN", doc: snsTopics, action: "sns:CreateTopic", resource: "arn:aws:sns:us-east-1:111122223333:p1-app-prod-topic", ctx: snsTags("prod"), want: policy.Allowed},
		{name: "vars/three tags in one ARN, other environment", doc: snsTopics, action: "sns:CreateTopic", resource: "arn:aws:sns:us-east-1:111122223333:p1-app-dev-topic", ctx: snsTags("prod"), want: policy.ImplicitDeny},
		{name: "vars/three tags in one ARN, one tag missing", doc: snsTopics, action: "sns:CreateTopic", resource: "arn:aws:sns:us-east-1:111122223333:p1-app--topic", ctx: snsTags(""), want: policy.ImplicitDeny},

		{name: "vars/tag variable before a wildcard", doc: teamPrefix, action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("aws:PrincipalTag/team", "red"), ckv("s3:prefix", "red/docs")}, want: policy.Allowed},
		{name: "vars/tag variable before a wildcard, other team", doc: teamPrefix, action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("aws:PrincipalTag/team", "red"), ckv("s3:prefix", "blue/docs")}, want: policy.ImplicitDeny},
		{name: "vars/substituted star in StringLike is literal", doc: userPrefix, action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("aws:username", "a*"), ckv("s3:prefix", "home/abc/")}, want: policy.ImplicitDeny},
		{name: "vars/substituted star in StringLike, same text", doc: userPrefix, action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("aws:username", "a*"), ckv("s3:prefix", "home/a*/")}, want: policy.Allowed},
		{name: "vars/variable in an ARN operator", doc: sourceUser, action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("aws:username", "alice"), ckv("aws:SourceArn", langAlice)}, want: policy.Allowed},
		{name: "vars/variable in an ARN operator, other user", doc: sourceUser, action: "s3:ListBucket", resource: langBucket, ctx: []ctxOp{ckv("aws:username", "alice"), ckv("aws:SourceArn", langBob)}, want: policy.ImplicitDeny},
	}
	runSemRows(t, rows)
}

// TestLanguageIRSATrust covers IRSA trust policies: the federated OIDC
// provider as principal, <issuer>:sub and <issuer>:aud conditions, and the
// StringLike mistake where team-a* also admits team-a-evil.
func TestLanguageIRSATrust(t *testing.T) {
	sa := func(ns, name string) string { return "system:serviceaccount:" + ns + ":" + name }
	claims := func(sub, aud string) []ctxOp {
		var ops []ctxOp
		if sub != "" {
			ops = append(ops, ckv(langSub, sub))
		}
		if aud != "" {
			ops = append(ops, ckv(langAud, aud))
		}
		return ops
	}
	exact := langTrust(`{"StringEquals":{"` + langSub + `":"system:serviceaccount:default:my-sa","` + langAud + `":"sts.amazonaws.com"}}`)
	upperKeys := langTrust(`{"StringEquals":{"OIDC.EKS.US-WEST-2.AMAZONAWS.COM/ID/EXAMPLED539D4633E53DE1B71EXAMPLE:SUB":"system:serviceaccount:default:my-sa",` +
		`"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:AUD":"sts.amazonaws.com"}}`)
	ignoreCase := langTrust(`{"StringEqualsIgnoreCase":{"` + langSub + `":"system:serviceaccount:default:my-sa"}}`)
	teamAStar := langTrust(`{"StringLike":{"` + langSub + `":"system:serviceaccount:team-a*"},"StringEquals":{"` + langAud + `":"sts.amazonaws.com"}}`)
	teamANamespace := langTrust(`{"StringLike":{"` + langSub + `":"system:serviceaccount:team-a:*"},"StringEquals":{"` + langAud + `":"sts.amazonaws.com"}}`)
	questionMark := langTrust(`{"StringLike":{"` + langSub + `":"system:serviceaccount:jobs:worker-?"}}`)
	starInEquals := langTrust(`{"StringEquals":{"` + langSub + `":"system:serviceaccount:team-a:*"}}`)
	forAll := langTrust(`{"ForAllValues:StringEquals":{"` + langSub + `":"system:serviceaccount:default:my-sa"}}`)
	negated := langTrust(`{"StringNotEquals":{"` + langSub + `":"system:serviceaccount:kube-system:admin"}}`)
	twoSAs := langTrust(`{"StringEquals":{"` + langSub + `":["system:serviceaccount:a:x","system:serviceaccount:b:y"]}}`)
	denyKubeSystem := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"Federated":"` + langProvider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"` + langSub + `":"system:serviceaccount:*"}}},` +
		`{"Effect":"Deny","Principal":{"Federated":"` + langProvider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"` + langSub + `":"system:serviceaccount:kube-system:*"}}}]}`
	const otherProvider = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0000000000000000000000000000CAFE"
	twoProviders := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":["` + otherProvider + `","` + langProvider +
		`"]},"Action":"sts:AssumeRoleWithWebIdentity"}]}`

	trustRow := func(name, doc, principal, action string, ctx []ctxOp, want policy.Decision) semRow {
		return semRow{name: name, kind: policy.KindTrust, doc: doc, action: action, resource: langRole, principal: principal, ctx: ctx, want: want}
	}
	rows := []semRow{
		trustRow("irsa/exact sub and aud", exact, langProvider, langWebID, claims(sa("default", "my-sa"), "sts.amazonaws.com"), policy.Allowed),
		trustRow("irsa/other service account", exact, langProvider, langWebID, claims(sa("default", "other"), "sts.amazonaws.com"), policy.ImplicitDeny),
		trustRow("irsa/other audience", exact, langProvider, langWebID, claims(sa("default", "my-sa"), "https://example.com"), policy.ImplicitDeny),
		trustRow("irsa/no aud claim", exact, langProvider, langWebID, claims(sa("default", "my-sa"), ""), policy.ImplicitDeny),
		trustRow("irsa/no sub claim", exact, langProvider, langWebID, claims("", "sts.amazonaws.com"), policy.ImplicitDeny),
		trustRow("irsa/keys upper-cased in the policy still match", upperKeys, langProvider, langWebID, claims(sa("default", "my-sa"), "sts.amazonaws.com"), policy.Allowed),
		trustRow("irsa/value case differs", exact, langProvider, langWebID, claims("System:ServiceAccount:Default:My-SA", "sts.amazonaws.com"), policy.ImplicitDeny),
		trustRow("irsa/value case differs under IgnoreCase", ignoreCase, langProvider, langWebID, claims("System:ServiceAccount:Default:My-SA", ""), policy.Allowed),
		trustRow("irsa/another OIDC provider", exact, otherProvider, langWebID, claims(sa("default", "my-sa"), "sts.amazonaws.com"), policy.ImplicitDeny),
		trustRow("irsa/AssumeRole instead of AssumeRoleWithWebIdentity", exact, langProvider, "sts:AssumeRole", claims(sa("default", "my-sa"), "sts.amazonaws.com"), policy.ImplicitDeny),

		// StringLike * crosses ':', so a namespace prefix without the colon
		// also admits every namespace that starts with it.
		trustRow("irsa/team-a* admits team-a", teamAStar, langProvider, langWebID, claims(sa("team-a", "app"), "sts.amazonaws.com"), policy.Allowed),
		trustRow("irsa/team-a* also admits team-a-evil", teamAStar, langProvider, langWebID, claims(sa("team-a-evil", "app"), "sts.amazonaws.com"), policy.Allowed),
		trustRow("irsa/team-a* does not admit team-b", teamAStar, langProvider, langWebID, claims(sa("team-b", "app"), "sts.amazonaws.com"), policy.ImplicitDeny),
		trustRow("irsa/team-a:* admits a service account of team-a", teamANamespace, langProvider, langWebID, claims(sa("team-a", "app"), "sts.amazonaws.com"), policy.Allowed),
		trustRow("irsa/team-a:* does not admit team-a-evil", teamANamespace, langProvider, langWebID, claims(sa("team-a-evil", "app"), "sts.amazonaws.com"), policy.ImplicitDeny),
		trustRow("irsa/question mark is one character", questionMark, langProvider, langWebID, claims(sa("jobs", "worker-1"), ""), policy.Allowed),
		trustRow("irsa/question mark is not two characters", questionMark, langProvider, langWebID, claims(sa("jobs", "worker-12"), ""), policy.ImplicitDeny),
		trustRow("irsa/star under StringEquals is literal", starInEquals, langProvider, langWebID, claims(sa("team-a", "app"), ""), policy.ImplicitDeny),
		trustRow("irsa/one of two listed service accounts", twoSAs, langProvider, langWebID, claims(sa("b", "y"), ""), policy.Allowed),
		trustRow("irsa/a service account not in the list", twoSAs, langProvider, langWebID, claims(sa("b", "x"), ""), policy.ImplicitDeny),

		// Mistakes a linter should flag, evaluated as AWS would.
		trustRow("irsa/ForAllValues on sub admits a token without sub", forAll, langProvider, langWebID, claims("", "sts.amazonaws.com"), policy.Allowed),
		trustRow("irsa/ForAllValues on sub, other service account", forAll, langProvider, langWebID, claims(sa("default", "other"), ""), policy.ImplicitDeny),
		trustRow("irsa/StringNotEquals on sub admits a token without sub", negated, langProvider, langWebID, claims("", "sts.amazonaws.com"), policy.Allowed),
		trustRow("irsa/StringNotEquals on sub refuses the named account", negated, langProvider, langWebID, claims(sa("kube-system", "admin"), ""), policy.ImplicitDeny),

		trustRow("irsa/deny kube-system over a broad allow", denyKubeSystem, langProvider, langWebID, claims(sa("kube-system", "coredns"), ""), policy.ExplicitDeny),
		trustRow("irsa/broad allow outside kube-system", denyKubeSystem, langProvider, langWebID, claims(sa("default", "app"), ""), policy.Allowed),
		trustRow("irsa/two trusted providers, second", twoProviders, langProvider, langWebID, nil, policy.Allowed),
		trustRow("irsa/two trusted providers, neither", twoProviders, "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com", langWebID, nil, policy.ImplicitDeny),
	}
	runSemRows(t, rows)
}

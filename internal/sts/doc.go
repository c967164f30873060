// Package sts owns the Security Token Service's rules: who may assume
// which role (AssumeRoleWithWebIdentity, AssumeRole), with which session
// policies, tags, source identity and duration; who a signed caller is
// (GetCallerIdentity); and whether a caller's session may perform an
// action at all (Authorize), all decided by the policy engine.
package sts

// Package arn owns Amazon Resource Names: splitting them into their six
// segments without allocation, and the few structural facts about IAM and
// STS ARNs (roles, users, assumed-role sessions, OIDC providers) that other
// packages need.
package arn

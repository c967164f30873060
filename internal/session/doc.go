// Package session owns the formats of credentials irsa issues: access key
// IDs that encode their account as AWS's do, secret keys, IAM unique IDs,
// and sealed session tokens, which carry a whole temporary session
// (role, name, expiry, secret, session policies, tags, source identity)
// under authenticated encryption so that any replica can validate a session
// without reading the database.
package session

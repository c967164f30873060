// Package store owns the persistence contract: the plain records irsa keeps
// (accounts, access keys, OIDC providers, roles, managed policies, signing
// and sealing keys), one small interface per aggregate, and the sentinel
// errors every backend returns. Backends live in subpackages and all pass
// the conformance suite in storetest.
package store

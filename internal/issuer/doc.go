// Package issuer owns irsa's built-in OIDC issuer on the wire: its
// discovery document and JSON Web Key Set, served as kube-apiserver and
// EKS serve them, and the minting of service-account tokens with exactly
// kube-apiserver's claims.
package issuer

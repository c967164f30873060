// Package keys owns irsa's own key material: the built-in OIDC issuer's
// signing keys, rotated with overlap (the next key is published before it
// signs, and a retired key stays published past the longest token
// lifetime), and the ring of keys that seal session tokens.
package keys

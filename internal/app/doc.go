// Package app is the composition root: it turns a Config into a running
// server by opening the store, creating what a first start needs (account,
// root key, issuer keys, the built-in issuer's OIDC provider), composing
// the IAM and STS services and their Query handlers, and serving them on
// one listener with the issuer's discovery, health and metrics routes.
package app

// Package reqctx owns the request-scoped facts every layer may need to
// read: the request ID, the caller's network address and user agent, the
// region from the signature, and the authenticated caller. It carries data,
// never services.
package reqctx

// Package audit owns irsa's audit trail: the CloudTrail-shaped event of
// every STS and IAM call, with secrets removed; the Recorder that makes
// events durable in groups before their calls answer; and the tamper
// evidence of the trail, a hash chain with Ed25519-signed checkpoints that
// Verify checks.
//
// The chain: record n has Hash = SHA-256(Hash of record n-1 || Event), the
// Hash before record 1 being 32 zero bytes. The store assigns Seq and Hash
// (store.Audit.AppendAudit). A checkpoint is a signed note
// (golang.org/x/mod/sumdb/note) naming the Seq and Hash of the head of the
// chain at a moment: a record modified or deleted before it, or the tail cut
// after it, no longer matches. Checkpoints and their signing key live in the
// store's settings, so they prove nothing against someone who can rewrite
// the whole database with the key: keep copies of checkpoints elsewhere (a
// witness) for that.
package audit

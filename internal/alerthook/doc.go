// Package alerthook delivers the audit trail's alerts to an HTTP webhook:
// one JSON POST per alert that starts firing (audit.Notification), with
// retries and timeouts, and the URL, which may hold a secret, kept out of
// every log line and error.
package alerthook

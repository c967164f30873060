// Package sigv4 owns AWS Signature Version 4 as irsa speaks it: parsing the
// Authorization header and presigned query forms, verifying a request's
// signature against a secret key (canonical request, string to sign, clock
// skew, presigned expiry, payload hash, constant-time comparison), and
// signing requests for clients and tests.
//
// The package knows nothing about accounts or keys. A caller parses the
// request, checks the credential scope against its region and service, looks
// up the secret for Signature.AccessKeyID (and, for temporary credentials,
// compares Signature.SecurityToken with the session's token), then calls
// Verify. Every failure is an *Error carrying AWS's error code and, where AWS
// publishes or has been observed to send one, AWS's message text.
//
// Canonicalisation follows the non-S3 rules: the path is normalised (dot
// segments removed, empty segments collapsed) and the path as sent on the
// wire is URI-encoded once more ("double encoding"); the query string is
// decoded, re-encoded with AWS's unreserved set and sorted by key then value;
// header values are trimmed, inner runs of blanks collapsed, and repeated
// headers joined with commas in arrival order.
//
// Two leniencies let every case of the aws-c-auth signing suite verify. If
// the signature does not match with the normalised path, Verify also tries
// the path as sent (clients that sign S3-style, without normalisation). For
// presigned requests carrying X-Amz-Security-Token it also tries the
// canonical query without the token (clients that append the token after
// signing, as the suite's omit_session_token cases do). Neither widens what
// an attacker can change: the path carries no meaning for the Query APIs,
// and a session token is only ever accepted by the caller when it is the
// token bound to the access key.
package sigv4

// Package awserr owns the one error type every AWS-facing operation returns:
// an AWS error code with its message, HTTP status and fault side (Sender or
// Receiver), from one table, so that handlers render errors exactly as AWS
// does and unknown failures never leak their cause.
package awserr

// Package policy owns the IAM policy language: it parses and validates policy
// documents with AWS's own MalformedPolicyDocument messages, compiles them
// once, and evaluates requests against identity, resource, trust, permissions
// boundary, session and service control policies the way AWS does, explaining
// each decision.
//
// The package is pure: no I/O, no clock, no global state. Evaluation of a
// compiled policy set does not allocate; explanation does.
//
// Wildcard matching (`*` and `?`) is linear in the product of pattern and text
// length for every input, so a hostile pattern cannot stall the evaluator.
package policy

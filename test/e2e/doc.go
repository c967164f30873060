// Package e2e owns irsa's black-box end-to-end tests: they build the real
// irsa binary, start `irsa up` on a loopback port with a fresh data
// directory, and drive it with unmodified AWS clients — aws-sdk-go-v2, the
// AWS CLI, boto3 and the AWS SDK for JavaScript v3 — through their default
// web identity credential chains and their IAM clients, against the
// built-in issuer and an external OIDC provider served by the test itself.
//
// The tests need the AWS CLI (v1 on botocore ≥ 1.31, or v2 ≥ 2.13),
// python3 with boto3 (botocore ≥ 1.31) and Node.js ≥ 18 with npm; the
// JavaScript dependencies are installed from js/package-lock.json with
// `npm ci` when js/node_modules is missing. A missing client is a test
// failure, never a skip.
//
// Run them with `go test ./test/e2e/` from the module root (-v shows each
// client and case). Under -race the server is built with the race detector
// too, and a data race it reports fails the test.
package e2e

// Package agent owns irsa's node-local EKS Pod Identity credentials agent:
// the container-credentials endpoint that AWS SDKs in pods call
// (GET /v1/credentials on 169.254.170.23 and fd00:ec2::23), the EKS Auth
// AssumeRoleForPodIdentity client it calls upstream, and the cache between
// the two.
//
// # Compatibility
//
// The endpoint answers as aws/eks-pod-identity-agent does. The Authorization
// header carries the raw contents of the pod's token file. The Host header
// must name one of the bound addresses (403 otherwise, which defeats DNS
// rebinding); an empty token is 400, a token that is not a JWT or whose
// exp, nbf or iat says it cannot be valid now is 400; over the request rate
// limit the answer is 429. Success is 200 with the container-credentials
// JSON document {"AccessKeyId","SecretAccessKey","Token","AccountId",
// "Expiration"} (RFC 3339). An error from EKS Auth keeps its HTTP status;
// an unreachable or failing server is 500.
//
// Errors are JSON {"code","message"} with Content-Type application/json,
// the form the SDKs' container-credentials clients decode (the EKS agent
// answers text/plain, which the SDKs show without a code).
//
// # Beyond the EKS agent
//
//   - One upstream call per token at a time: concurrent requests with the
//     same token share the call (the EKS agent polls for up to 1.8 s).
//   - Credentials are renewed ahead of time, at half their lifetime or after
//     the retention limit, whichever comes first, so a pod's SDK never gets
//     credentials it would immediately consider expired; an entry that is
//     due is served at once while its renewal runs in the background.
//   - Renewals stop for tokens nobody asked for within the credentials'
//     lifetime (a deleted pod), instead of running until the token expires.
//   - While EKS Auth is down or throttling, cached credentials are served
//     until they expire; an error that says the token or association is no
//     longer good (AccessDenied, ExpiredToken, InvalidToken,
//     ResourceNotFound, InvalidParameter, InvalidRequest) evicts.
//   - Background renewals never use more than half of the upstream rate
//     limiter's burst, so requests of new pods are not starved by them.
//   - An IPv6 bind address the node lacks is skipped, not fatal; the
//     listeners set SO_REUSEPORT so a rolling update can surge.
//   - Tokens are never logged: a token is named by the first 12 hex digits
//     of its SHA-256.
package agent

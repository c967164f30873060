// Package jwks owns the verification keys of external OIDC providers: it
// fetches a provider's discovery document and JSON Web Key Set over HTTPS,
// validates the set (webidentity.ValidateKeySet), caches it, and serves
// keys by kid as a webidentity.KeySource.
//
// Fetching follows AWS's rules and irsa's security decisions:
//
//   - {issuer}/.well-known/openid-configuration must name the provider's
//     URL, byte for byte, as its issuer; its jwks_uri must be https (plain
//     http only with Config.InsecureAllowHTTPLoopback, and only to
//     localhost or a loopback IP); redirects follow the same rule;
//   - bodies are limited to 1 MiB and each request to 5 seconds;
//   - when the provider has thumbprints, the SHA-1 of the top intermediate
//     CA certificate of each host (the certificate just below the root in
//     the verified chain, the leaf when the root signed it directly, or
//     the last certificate the server sent, which is what AWS's openssl
//     instructions measure) must match one of them;
//   - a key set is kept for its Cache-Control max-age, bounded to between
//     1 minute and 24 hours (1 hour when absent); no-cache and no-store
//     count as the minimum;
//   - a kid missing from the cached set triggers a refresh, at most one per
//     provider per Config.MinRefresh (30 seconds): concurrent callers share
//     one fetch, and callers within the interval get the cached answer;
//   - when a refresh fails, the previous keys are served up to
//     Config.MaxStale (24 hours) past their expiry;
//   - an unreachable provider (network error, timeout, HTTP 5xx, 408, 429)
//     is IDPCommunicationError, which SDKs retry; anything else that makes
//     the keys unusable is InvalidIdentityToken, with AWS's messages.
//
// A token without kid gets the provider's key when the set holds exactly
// one key.
package jwks

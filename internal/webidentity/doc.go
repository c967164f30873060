// Package webidentity owns the verification of web identity tokens: it turns
// the token an AssumeRoleWithWebIdentity caller presents into a verified
// Identity, checking it in AWS's order (structure, issuer, audience,
// signature, lifetime) and failing with AWS's error codes and messages.
//
// Only compact JWS tokens signed with RS256, RS384, RS512, ES256, ES384 or
// ES512 are accepted. The parser is stricter than the JOSE specifications
// demand, on purpose: every ambiguity an attacker could use to make two
// parsers disagree is a rejection. In particular:
//
//   - segments must be canonical unpadded base64url (no padding, no
//     whitespace, no non-zero unused bits), so one token has exactly one
//     spelling and TokenID (a hash of the raw header and payload) identifies
//     the signed content whatever the signature bytes are;
//   - the header and the claims must be valid UTF-8 JSON objects without
//     duplicate member names, where names differing only in case count as
//     duplicates ("sub" and "SUB");
//   - the header may not carry jku, x5u, jwk, x5c (keys come only from the
//     provider's key set), crit, b64, zip, enc or cty; typ, when present,
//     must be JWT or application/jwt (compared without case), so access
//     tokens typed at+jwt are refused;
//   - numeric dates must be non-negative JSON integers no later than the
//     year 9999; exp is required, nbf and iat are optional, and each is
//     checked with Verifier.Skew (5 minutes) of tolerance.
//
// A token without kid is verified with the provider's only key; when the
// key set holds several keys such a token is refused, because irsa does not
// try keys in turn. ValidateKeySet is the key-set hygiene every JWKS passes
// before its keys are used.
package webidentity

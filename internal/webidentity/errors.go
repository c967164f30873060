package webidentity

import (
	"errors"
	"fmt"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// AWS's messages. The sources are recorded next to each one; where AWS's
// text is not known, the message is irsa's own and says so.
const (
	// MsgMalformed is STS's answer to a token that is not a usable JWT
	// (seen from real STS in client logs, for example a Vault awskms seal
	// log and a Kubernetes controller comment about non-RSA tokens). irsa
	// also gives it for a bad signature, a refused header and malformed
	// claims; the precise reason goes to Error.Cause, for the operator's
	// log only.
	MsgMalformed = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	// MsgIncorrectAudience is STS's answer when no aud value is a client ID
	// of the provider (STS XML error quoted in
	// aws/amazon-eks-pod-identity-webhook#232).
	MsgIncorrectAudience = "Incorrect token audience"
	// MsgKeyUnavailable is STS's answer when the provider's keys cannot be
	// used: no key with the token's kid, an unusable key set (knowledge
	// center article iam-sts-invalididentitytoken; the two spaces are
	// AWS's).
	MsgKeyUnavailable = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	// MsgThumbprintMismatch is STS's answer when the provider's TLS
	// certificate chain does not match a configured thumbprint.
	MsgThumbprintMismatch = "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
	// MsgIDPUnreachable is irsa's own text for IDPCommunicationError (AWS's
	// wire text for it is not known).
	MsgIDPUnreachable = "Couldn't contact your identity provider to retrieve its verification keys; retry the request."
)

// malformed is the answer to a token that fails a structural or policy
// check; why goes to the log.
func malformed(why string, args ...any) *awserr.Error {
	return &awserr.Error{Code: awserr.InvalidIdentityToken, Message: MsgMalformed, Cause: fmt.Errorf(why, args...)}
}

// badSignature is the answer to a token whose signature does not verify
// with the provider's key. AWS's own text for this case is not known; irsa
// answers with the generic malformed-token message.
func badSignature(cause error) *awserr.Error {
	return &awserr.Error{Code: awserr.InvalidIdentityToken, Message: MsgMalformed, Cause: fmt.Errorf("signature: %w", cause)}
}

// missingClaim follows the shape of STS's "Missing a required claim: aud"
// (reported in aws/aws-sdk-ruby#2698); irsa uses the same words for the
// other claims it requires.
func missingClaim(name string) *awserr.Error {
	return awserr.New(awserr.InvalidIdentityToken, "Missing a required claim: "+name)
}

// noProvider is STS's answer when no OIDC provider of the account has the
// token's issuer as its URL.
func noProvider(iss string) *awserr.Error {
	return awserr.New(awserr.InvalidIdentityToken, "No OpenIDConnect provider found in your account for "+iss)
}

// expired is STS's answer to a token past exp and the skew. AWS writes no
// space before the second number (STS message quoted in the wire
// reference, §2).
func expired(now, exp int64) *awserr.Error {
	return awserr.Newf(awserr.ExpiredTokenException, "Token expired: current date/time %d must be before the expiration date/time%d", now, exp)
}

// notYetValid is irsa's own text (AWS's is not known) for a token whose
// nbf or iat lies beyond the skew in the future.
func notYetValid(claim string, now, at int64) *awserr.Error {
	return &awserr.Error{
		Code:    awserr.InvalidIdentityToken,
		Message: fmt.Sprintf("Token not yet valid: current date/time %d must be after the %s date/time %d", now, claim, at),
	}
}

// lengthError is the model validation error of the WebIdentityToken
// parameter. The value is sensitive, so AWS omits it ("Value at", not
// "Value '…' at").
func lengthError(constraint string) *awserr.Error {
	return awserr.New(awserr.ValidationError, "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length "+constraint)
}

// errKeyType is the cause when the provider's key cannot verify the token's
// algorithm.
var errKeyType = errors.New("the key does not fit the token's algorithm")

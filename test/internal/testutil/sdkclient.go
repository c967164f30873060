package testutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Identity is what a client's GetCallerIdentity printed: the answer with
// the temporary credentials that signed it, or the error the client
// surfaced while getting credentials.
type Identity struct {
	Arn             string       `json:"Arn,omitempty"`
	Account         string       `json:"Account,omitempty"`
	UserID          string       `json:"UserId,omitempty"`
	AccessKeyID     string       `json:"AccessKeyId,omitempty"`
	SecretAccessKey string       `json:"SecretAccessKey,omitempty"`
	SessionToken    string       `json:"SessionToken,omitempty"`
	Error           *ClientError `json:"error,omitempty"`
}

// ClientError is an AWS error as a client surfaced it.
type ClientError struct {
	// Code is the wire error code.
	Code string `json:"code"`
	// Name is the client's modeled exception name (e.g.
	// InvalidIdentityTokenException), or the code when the client has no
	// modeled exception for it.
	Name string `json:"name"`
	// Operation is the failing operation when the client tells it.
	Operation string `json:"operation,omitempty"`
	Message   string `json:"message"`
}

// GoWhoami is the aws-sdk-go-v2 client process of the end-to-end tests:
// config.LoadDefaultConfig resolves credentials through the default chain,
// configured by nothing but the environment (as in a pod), then
// GetCallerIdentity. It prints one Identity as JSON to w and returns the
// process's exit code: 0, 2 for an AWS error, 3 when it cannot print.
func GoWhoami(ctx context.Context, w io.Writer) int {
	var id Identity
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		var out *sts.GetCallerIdentityOutput
		if out, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			id.Arn, id.Account, id.UserID = aws.ToString(out.Arn), aws.ToString(out.Account), aws.ToString(out.UserId)
			// The cache answers with the credentials that signed the call.
			creds, cerr := cfg.Credentials.Retrieve(ctx)
			err = cerr
			id.AccessKeyID, id.SecretAccessKey, id.SessionToken = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
		}
	}
	code := 0
	if err != nil {
		id = Identity{Error: DescribeGoError(err)}
		code = 2
	}
	//nolint:gosec // the child hands the temporary credentials to its parent test, which scans logs for them
	if err := json.NewEncoder(w).Encode(id); err != nil {
		return 3
	}
	return code
}

// DescribeGoError finds the API error and the innermost failing operation
// in an aws-sdk-go-v2 error chain.
func DescribeGoError(err error) *ClientError {
	ce := &ClientError{Message: err.Error()}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		ce.Code = apiErr.ErrorCode()
		ce.Name = ce.Code
		if typ := fmt.Sprintf("%T", apiErr); strings.HasPrefix(typ, "*types.") {
			ce.Name = strings.TrimPrefix(typ, "*types.")
		}
	}
	// The outermost operation is GetCallerIdentity; the one that failed
	// while getting credentials is wrapped inside it.
	for e := err; e != nil; e = errors.Unwrap(e) {
		if op, ok := e.(*smithy.OperationError); ok {
			ce.Operation = op.OperationName
		}
	}
	return ce
}

//go:build linux

package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// goClientEnv selects the aws-sdk-go-v2 client mode of the test binary.
const goClientEnv = "IRSA_KUBE_GO_CLIENT"

// identity is what the client printed: the caller identity with the
// temporary credentials that signed the call, or the error the SDK
// surfaced while getting credentials.
type identity struct {
	Arn             string       `json:"Arn,omitempty"`
	Account         string       `json:"Account,omitempty"`
	UserID          string       `json:"UserId,omitempty"`
	AccessKeyID     string       `json:"AccessKeyId,omitempty"`
	SecretAccessKey string       `json:"SecretAccessKey,omitempty"`
	SessionToken    string       `json:"SessionToken,omitempty"`
	Error           *clientError `json:"error,omitempty"`
}

type clientError struct {
	Code      string `json:"code"`
	Operation string `json:"operation,omitempty"`
	Message   string `json:"message"`
}

// runGoClient is the child process: aws-sdk-go-v2's default credential
// chain, configured by nothing but the environment (as in a pod), then
// STS GetCallerIdentity. It prints one JSON identity.
func runGoClient(mode string) int {
	if mode != "whoami" {
		fmt.Fprintf(os.Stderr, "unknown %s mode %q\n", goClientEnv, mode)
		return 3
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var id identity
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		var out *sts.GetCallerIdentityOutput
		if out, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			id.Arn, id.Account, id.UserID = aws.ToString(out.Arn), aws.ToString(out.Account), aws.ToString(out.UserId)
			creds, cerr := cfg.Credentials.Retrieve(ctx)
			err = cerr
			id.AccessKeyID, id.SecretAccessKey, id.SessionToken = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
		}
	}
	code := 0
	if err != nil {
		id = identity{Error: describeGoError(err)}
		code = 2
	}
	if err := json.NewEncoder(os.Stdout).Encode(id); err != nil {
		return 3
	}
	return code
}

// describeGoError finds the API error and the innermost failing operation
// in an aws-sdk-go-v2 error chain.
func describeGoError(err error) *clientError {
	ce := &clientError{Message: err.Error()}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		ce.Code = apiErr.ErrorCode()
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if op, ok := e.(*smithy.OperationError); ok {
			ce.Operation = op.OperationName
		}
	}
	return ce
}

// goWhoami runs the test binary as the aws-sdk-go-v2 client with exactly
// env (plus the mode switch) and returns what it printed.
func goWhoami(t *testing.T, dir string, env []string) identity {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	stdout, stderr, err := runCommand(ctx, dir, append(append([]string{}, env...), goClientEnv+"=whoami"), nil, testBinary)
	var id identity
	if jerr := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &id); jerr != nil {
		t.Fatalf("the aws-sdk-go-v2 client printed no identity (%v, exit %v):\nstdout:\n%s\nstderr:\n%s", jerr, err, stdout, stderr)
	}
	if (id.Error == nil) != (err == nil) {
		t.Errorf("the aws-sdk-go-v2 client exited with %v but printed %+v", err, id)
	}
	return id
}

//go:build linux

package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/test/internal/testutil"
)

// goClientEnv selects the aws-sdk-go-v2 client mode of the test binary.
const goClientEnv = "IRSA_KUBE_GO_CLIENT"

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
	return testutil.GoWhoami(ctx, os.Stdout)
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

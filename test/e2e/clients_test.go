//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/test/internal/testutil"
)

// goClientEnv selects the aws-sdk-go-v2 client mode of the test binary.
const goClientEnv = "IRSA_E2E_GO_CLIENT"

// processTimeout bounds every client process.
const processTimeout = 90 * time.Second

// stsClient runs one AWS client as a pod would: a fresh process whose
// default credential chain reads the web identity variables of env.
type stsClient struct {
	name string
	// tellsOperation: the client says which operation failed.
	tellsOperation bool
	// modelsExceptions: the client raises modeled exceptions
	// (InvalidIdentityTokenException for InvalidIdentityToken, ...).
	modelsExceptions bool
	// successOnly: run only the cases that must succeed (a second
	// provider of the same SDK).
	successOnly bool
	// parallelCases: start every case's process at once. aws-sdk-go-v2
	// retries InvalidIdentityToken with backoff, sleeping rather than
	// computing, so its cases overlap well.
	parallelCases bool
	require       func(t *testing.T)
	// start starts the client process; parse reads what it printed.
	start func(env []string) *process
	parse func(t *testing.T, env []string, p *process) identity
}

// whoami runs the client to its end.
func (c stsClient) whoami(t *testing.T, env []string) identity {
	t.Helper()
	return c.parse(t, env, c.start(env))
}

var (
	goClient = stsClient{
		name: "aws-sdk-go-v2", tellsOperation: true, modelsExceptions: true, parallelCases: true,
		require: func(*testing.T) {},
		// This test binary is the client (runGoClient).
		start: func(env []string) *process {
			return startProcess("", append(env, goClientEnv+"=whoami"), testBinary)
		},
		parse: parseIdentity,
	}
	awsCLI = stsClient{
		name: "aws-cli", tellsOperation: true,
		require: requireAWSCLI,
		start: func(env []string) *process {
			return startProcess("", env, "aws", "sts", "get-caller-identity", "--output", "json")
		},
		parse: parseCLIIdentity,
	}
	boto3Client = stsClient{
		name: "boto3", tellsOperation: true, modelsExceptions: true,
		require: requireBoto3,
		start: func(env []string) *process {
			return startProcess("", env, "python3", filepath.Join(moduleRoot, "test", "e2e", "py", "whoami.py"))
		},
		parse: parseIdentity,
	}
	jsClient = stsClient{
		name: "js-sdk-v3", modelsExceptions: true,
		require: requireNodeModules,
		start: func(env []string) *process {
			return startProcess(filepath.Join(moduleRoot, "test", "e2e", "js"), env, "node", "whoami.mjs")
		},
		parse: parseIdentity,
	}
	// fromTokenFile() of @aws-sdk/credential-providers, the provider the
	// default chain uses, called explicitly as many applications do.
	jsFromTokenFile = stsClient{
		name: "js-sdk-v3-fromTokenFile", modelsExceptions: true, successOnly: true,
		require: requireNodeModules,
		start: func(env []string) *process {
			return startProcess(filepath.Join(moduleRoot, "test", "e2e", "js"), env, "node", "whoami.mjs", "--from-token-file")
		},
		parse: parseIdentity,
	}
	stsClients = []stsClient{goClient, awsCLI, boto3Client, jsClient, jsFromTokenFile}
)

// runGoClient is the aws-sdk-go-v2 client process: config.LoadDefaultConfig
// resolves credentials through the default chain (the web identity
// provider when AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are set), then
// GetCallerIdentity. It prints one identity as JSON.
func runGoClient(mode string) int {
	if mode != "whoami" {
		fmt.Fprintf(os.Stderr, "unknown %s mode %q\n", goClientEnv, mode)
		return 3
	}
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	return testutil.GoWhoami(ctx, os.Stdout)
}

// cliError is how the AWS CLI reports an AWS error on stderr.
var cliError = regexp.MustCompile(`An error occurred \(([^)]+)\) when calling the (\w+) operation(?: \([^)]*\))?: (.*)`)

// parseCLIIdentity reads `aws sts get-caller-identity`; the temporary
// credentials come from the CLI's cache in the fresh HOME.
func parseCLIIdentity(t *testing.T, env []string, p *process) identity {
	t.Helper()
	stdout, stderr, code := p.wait(t)
	if code != 0 {
		m := cliError.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("aws sts get-caller-identity failed (exit %d) without an AWS error:\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		return identity{Error: &clientError{Code: m[1], Name: m[1], Operation: m[2], Message: m[3]}}
	}
	var id identity
	if err := json.Unmarshal([]byte(stdout), &id); err != nil {
		t.Fatalf("aws sts get-caller-identity printed %q: %v", stdout, err)
	}
	cached, err := filepath.Glob(filepath.Join(envValue(env, "HOME"), ".aws", "cli", "cache", "*.json"))
	if err != nil || len(cached) != 1 {
		t.Fatalf("expected one cached web identity credential file in the fresh HOME, found %v (%v)", cached, err)
	}
	raw, err := os.ReadFile(cached[0])
	if err != nil {
		t.Fatal(err)
	}
	var cache struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string } //nolint:revive // AWS wire name
	}
	if err := json.Unmarshal(raw, &cache); err != nil {
		t.Fatalf("CLI credential cache %s: %v", cached[0], err)
	}
	id.AccessKeyID, id.SecretAccessKey, id.SessionToken = cache.Credentials.AccessKeyId, cache.Credentials.SecretAccessKey, cache.Credentials.SessionToken
	return id
}

// parseIdentity reads the one JSON line a client script printed.
func parseIdentity(t *testing.T, _ []string, p *process) identity {
	t.Helper()
	stdout, stderr, _ := p.wait(t)
	var id identity
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &id); err != nil {
		t.Fatalf("%s printed no identity (%v):\nstdout:\n%s\nstderr:\n%s", p.desc, err, stdout, stderr)
	}
	if id.Error == nil && id.Arn == "" {
		t.Fatalf("%s printed neither an identity nor an error:\nstdout:\n%s\nstderr:\n%s", p.desc, stdout, stderr)
	}
	return id
}

// process is a client process running in the background.
type process struct {
	desc           string
	done           chan struct{}
	stdout, stderr bytes.Buffer
	exitCode       int
	err            error
	took           time.Duration
}

// startProcess starts name with env in dir; wait collects the result.
func startProcess(dir string, env []string, name string, args ...string) *process {
	p := &process{desc: strings.Join(append([]string{name}, args...), " "), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		begin := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = dir, env
		cmd.Stdout, cmd.Stderr = &p.stdout, &p.stderr
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		p.took = time.Since(begin)
		var exitErr *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exitErr) && ctx.Err() == nil:
			p.exitCode = exitErr.ExitCode()
		case ctx.Err() != nil:
			p.err = fmt.Errorf("still running after %v: %w", processTimeout, err)
		default:
			p.err = err
		}
	}()
	return p
}

// wait returns the output and exit status of p; a process that could not
// start or timed out fails the test.
func (p *process) wait(t *testing.T) (stdout, stderr string, exitCode int) {
	t.Helper()
	<-p.done
	if p.err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", p.desc, p.err, p.stdout.String(), p.stderr.String())
	}
	return p.stdout.String(), p.stderr.String(), p.exitCode
}

// runProcess runs a process to its end.
func runProcess(t *testing.T, dir string, env []string, name string, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	return startProcess(dir, env, name, args...).wait(t)
}

// clientEnv is a pod's environment: nothing of the test's AWS settings, a
// fresh empty HOME (the CLI caches web identity credentials there), no
// instance metadata service, plus extra.
func clientEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	env := append(cleanEnv(), "HOME="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true")
	return append(env, extra...)
}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// Tool checks. A missing or too old client is a failure with instructions,
// in CI and elsewhere: these tests are the proof that real clients work.

var (
	awsCLIOnce, boto3Once, nodeOnce sync.Once
	awsCLIErr, boto3Err, nodeErr    error
)

func requireAWSCLI(t *testing.T) {
	t.Helper()
	awsCLIOnce.Do(func() { awsCLIErr = checkAWSCLI() })
	if awsCLIErr != nil {
		t.Fatalf("the AWS CLI is needed: %v\n%s", awsCLIErr, installHint)
	}
}

func requireBoto3(t *testing.T) {
	t.Helper()
	boto3Once.Do(func() { boto3Err = checkBoto3() })
	if boto3Err != nil {
		t.Fatalf("python3 with boto3 is needed: %v\n%s", boto3Err, installHint)
	}
}

func requireNodeModules(t *testing.T) {
	t.Helper()
	nodeOnce.Do(func() { nodeErr = installNodeModules() })
	if nodeErr != nil {
		t.Fatalf("Node.js with npm and the JavaScript SDK are needed: %v\n%s", nodeErr, installHint)
	}
}

const installHint = `Install the clients the end-to-end tests drive (CI=true or not, they never skip):
  pip install awscli boto3        # AWS CLI v1 >= 1.29 with botocore >= 1.31, or AWS CLI v2 >= 2.13
  apt-get install nodejs npm      # Node.js >= 18; the tests run npm ci in test/e2e/js
Debian's awscli and python3-boto3 packages are too old: they ignore AWS_ENDPOINT_URL.`

func checkAWSCLI() error {
	out, err := exec.Command("aws", "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("aws --version: %v: %s", err, out)
	}
	v := string(out)
	if m := regexp.MustCompile(`aws-cli/2\.(\d+)`).FindStringSubmatch(v); m != nil {
		if minor, _ := strconv.Atoi(m[1]); minor < 13 {
			return fmt.Errorf("%s is too old to honor AWS_ENDPOINT_URL (needs 2.13 or newer)", strings.TrimSpace(v))
		}
		return nil
	}
	return checkBotocore(strings.TrimSpace(v), regexp.MustCompile(`botocore/(\d+)\.(\d+)`).FindStringSubmatch(v))
}

func checkBoto3() error {
	out, err := exec.Command("python3", "-c", "import boto3, botocore; print('botocore/' + botocore.__version__)").CombinedOutput()
	if err != nil {
		return fmt.Errorf("python3 -c 'import boto3': %v: %s", err, out)
	}
	return checkBotocore(strings.TrimSpace(string(out)), regexp.MustCompile(`botocore/(\d+)\.(\d+)`).FindStringSubmatch(string(out)))
}

// checkBotocore wants botocore 1.31 or newer, the first to honor
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>.
func checkBotocore(version string, m []string) error {
	if m == nil {
		return fmt.Errorf("cannot tell the botocore version from %q", version)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major < 1 || major == 1 && minor < 31 {
		return fmt.Errorf("%s is too old to honor AWS_ENDPOINT_URL (needs botocore 1.31 or newer)", version)
	}
	return nil
}

// installNodeModules checks node and runs `npm ci` in test/e2e/js (`npm
// install` without a lock file) when its node_modules lacks the SDK.
func installNodeModules() error {
	out, err := exec.Command("node", "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("node --version: %v: %s", err, out)
	}
	m := regexp.MustCompile(`^v(\d+)\.`).FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		return fmt.Errorf("cannot tell the Node.js version from %q", out)
	}
	if major, _ := strconv.Atoi(m[1]); major < 18 {
		return fmt.Errorf("node %s is too old (the JavaScript SDK v3 needs 18 or newer)", strings.TrimSpace(string(out)))
	}
	dir := filepath.Join(moduleRoot, "test", "e2e", "js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@aws-sdk", "client-sts", "package.json")); err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := "ci" // exactly the versions of package-lock.json
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err != nil {
		install = "install"
	}
	cmd := exec.CommandContext(ctx, "npm", install, "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm %s in %s: %v: %s", install, dir, err, out)
	}
	return nil
}

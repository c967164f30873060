package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), Env{Args: args, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return code, out.String(), errb.String()
}

func TestApplyTokenAndRotate(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := run(t, nil, "apply", "--data-dir", dir, "../../examples/quickstart.yaml")
	if code != 0 || out != "applied ../../examples/quickstart.yaml: 5 created, 1 updated, 0 unchanged\n" {
		t.Fatalf("apply: %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, nil, "apply", "--data-dir", dir, "../../examples/quickstart.yaml")
	if code != 0 || !strings.HasSuffix(out, "0 created, 0 updated, 6 unchanged\n") {
		t.Fatalf("second apply: %d %q", code, out)
	}
	code, out, errs = run(t, nil, "token", "--data-dir", dir, "--namespace", "production", "--service-account", "s3-reader", "--audience", "sts.amazonaws.com", "--audience", "other")
	if code != 0 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("token: %d %q %q", code, out, errs)
	}
	tok, err := jwt.ParseSigned(strings.TrimSpace(out), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	if c.Subject != "system:serviceaccount:production:s3-reader" || len(c.Audience) != 2 || !strings.HasPrefix(c.Issuer, "https://oidc.irsa.local/id/") {
		t.Errorf("claims %+v", c)
	}
	code, out, _ = run(t, nil, "keys", "rotate", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "The key set now holds 2 keys.") {
		t.Errorf("rotate: %d %q", code, out)
	}
}

func TestServerCommandErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		env  map[string]string
		code int
		want string
	}{
		{[]string{"token", "--data-dir", dir}, nil, ExitUsage, "--namespace and --service-account are required"},
		{[]string{"token", "--data-dir", dir + "/missing", "--namespace", "a", "--service-account", "b"}, nil, ExitUsage, "start irsa up first"},
		{[]string{"token", "--data-dir", dir, "--namespace", "A", "--service-account", "b"}, nil, ExitUsage, "lower-case"},
		{[]string{"apply", "--data-dir", dir, "testdata/nope.yaml"}, nil, ExitInvalid, "reading config"},
		{[]string{"up", "--data-dir", dir, "--account-id", "12"}, nil, ExitUsage, "--account-id must be 12 digits"},
		{[]string{"up", "--data-dir", dir, "--issuer-url", "http://x"}, nil, ExitUsage, "--issuer-url must start with https://"},
		{[]string{"up", "--data-dir", dir, "--trust-policy-max-size", "100"}, nil, ExitUsage, "--trust-policy-max-size must be between 2048 and 4096"},
		{[]string{"apply", "--data-dir", dir, "../../examples/quickstart.yaml"}, map[string]string{"IRSA_ROOT_ACCESS_KEY_ID": "bad"}, ExitUsage, "IRSA_ROOT_ACCESS_KEY_ID must be AKIA"},
	}
	for _, tt := range tests {
		code, _, errs := run(t, tt.env, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("irsa %s: exit %d, stderr %q; want %d containing %q", strings.Join(tt.args, " "), code, errs, tt.code, tt.want)
		}
	}
}

func TestConfiguredRootKey(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"IRSA_ROOT_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "IRSA_ROOT_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if code, _, errs := run(t, env, "apply", "--data-dir", dir, "../../examples/quickstart.yaml"); code != 0 {
		t.Fatalf("apply: %s", errs)
	}
	b, err := readFile(dir + "/root-credentials")
	if err != nil || !strings.Contains(b, "aws_access_key_id = AKIAIOSFODNN7EXAMPLE") {
		t.Fatalf("credentials file %q, %v", b, err)
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

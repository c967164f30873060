package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// runCLI runs irsa in process and returns what it printed and its exit code.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), Env{
		Args:    args,
		Stdin:   strings.NewReader(stdin),
		Stdout:  &out,
		Stderr:  &errOut,
		Version: "v0.0.0-test",
	})
	return out.String(), errOut.String(), code
}

// repoRoot is the directory holding go.mod; example paths are relative to it.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

const (
	trust    = "examples/policies/irsa-trust.json"
	oidcHost = "oidc.irsa.local/id/EXAMPLE"
	roleARN  = "arn:aws:iam::000000000000:role/s3-reader"
	provider = "arn:aws:iam::000000000000:oidc-provider/" + oidcHost
)

// irsaArgs is a web identity role assumption by the given service account.
func irsaArgs(policyFlag, policyFile, namespace, sa string) []string {
	return []string{"policy", "simulate", policyFlag, policyFile,
		"--action", "sts:AssumeRoleWithWebIdentity",
		"--resource", roleARN,
		"--principal", provider,
		"--context", oidcHost + ":sub=system:serviceaccount:" + namespace + ":" + sa,
		"--context", oidcHost + ":aud=sts.amazonaws.com",
	}
}

func withFlags(args []string, extra ...string) []string {
	return append(append([]string(nil), args...), extra...)
}

// TestGolden runs each command and compares what it prints with
// testdata/NAME.golden. Run `go test ./internal/cli -update` to rewrite them.
func TestGolden(t *testing.T) {
	const p = "examples/policies/"
	s3Chain := []string{"policy", "simulate",
		"--policy", p + "s3-read-prefix.json",
		"--boundary", p + "boundary.json",
		"--session-policy", p + "session-2026.json",
		"--scp", p + "scp-region-guard.json",
		"--action", "s3:GetObject",
		"--principal", "arn:aws:sts::000000000000:assumed-role/s3-reader/pod-1",
		"--context", "aws:RequestedRegion=eu-west-1",
	}
	tagPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"OnlyTeamTags","Effect":"Allow","Action":"ec2:CreateTags","Resource":"*",
	  "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]},"StringEquals":{"aws:RequestTag/team":"a"}}}]}`

	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
	}{
		{name: "version", args: []string{"version"}},
		{name: "validate_examples", args: []string{"policy", "validate",
			p + "irsa-trust.json", p + "irsa-trust-team-wildcard.json", p + "s3-read-prefix.json", p + "bucket-policy.json"}},
		{name: "validate_typed", args: []string{"policy", "validate", "--type", "boundary", p + "boundary.json"}},
		{name: "validate_scp", args: []string{"policy", "validate", "--type", "scp", p + "scp-region-guard.json"}},
		{name: "validate_invalid", wantCode: ExitInvalid, args: []string{"policy", "validate",
			p + "invalid/duplicate-sid.json", p + "invalid/lowercase-effect.json", p + "invalid/missing-action.json",
			p + "invalid/old-version.json", p + "invalid/trailing-comma.json"}},
		{name: "validate_mixed_one_invalid", wantCode: ExitInvalid, args: []string{"policy", "validate", trust, p + "invalid/duplicate-sid.json"}},
		{name: "validate_trust_with_resource", wantCode: ExitInvalid, args: []string{"policy", "validate", "--type", "trust", p + "invalid/trust-with-resource.json"}},
		{name: "validate_json", wantCode: ExitInvalid, args: []string{"policy", "validate", "--output", "json", trust, p + "invalid/lowercase-effect.json"}},
		{name: "validate_stdin", args: []string{"policy", "validate", "-"}, stdin: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}}`},
		{name: "validate_unreadable", wantCode: ExitUsage, args: []string{"policy", "validate", trust, p + "does-not-exist.json"}},
		{name: "validate_bad_type", wantCode: ExitUsage, args: []string{"policy", "validate", "--type", "inline", trust}},
		{name: "validate_no_files", wantCode: ExitUsage, args: []string{"policy", "validate"}},
		{name: "unknown_command", wantCode: ExitUsage, args: []string{"policy", "evaluate"}},

		{name: "simulate_irsa_allowed", args: irsaArgs("--trust-policy", trust, "production", "s3-reader")},
		{name: "simulate_irsa_denied_staging", args: irsaArgs("--trust-policy", trust, "staging", "s3-reader")},
		{name: "simulate_irsa_denied_json", args: withFlags(irsaArgs("--trust-policy", trust, "staging", "s3-reader"), "--output", "json")},
		{name: "simulate_irsa_allowed_json", args: withFlags(irsaArgs("--trust-policy", trust, "production", "s3-reader"), "--output", "json")},
		{name: "simulate_irsa_exit_code_denied", wantCode: ExitDenied, args: withFlags(irsaArgs("--trust-policy", trust, "staging", "s3-reader"), "--exit-code")},
		{name: "simulate_irsa_exit_code_allowed", args: withFlags(irsaArgs("--trust-policy", trust, "production", "s3-reader"), "--exit-code")},
		{name: "simulate_resource_policy_read_as_trust", args: irsaArgs("--resource-policy", trust, "production", "s3-reader")},
		{name: "simulate_irsa_wrong_provider", args: []string{"policy", "simulate", "--trust-policy", trust,
			"--action", "sts:AssumeRoleWithWebIdentity", "--resource", roleARN,
			"--principal", "arn:aws:iam::000000000000:oidc-provider/oidc.other.local/id/OTHER",
			"--context", oidcHost + ":sub=system:serviceaccount:production:s3-reader",
			"--context", oidcHost + ":aud=sts.amazonaws.com"}},
		{name: "simulate_wildcard_crosses_colon", args: irsaArgs("--trust-policy", p+"irsa-trust-team-wildcard.json", "team-a-evil", "x")},
		{name: "simulate_chain_allowed", args: withFlags(s3Chain, "--resource", "arn:aws:s3:::example-bucket/reports/2026/q1.csv")},
		{name: "simulate_chain_session_denies", args: withFlags(s3Chain, "--resource", "arn:aws:s3:::example-bucket/reports/2025/q1.csv")},
		{name: "simulate_chain_boundary_denies", wantCode: ExitDenied, args: withFlags(s3Chain, "--resource", "arn:aws:s3:::example-bucket/reports/secret/2026/keys", "--exit-code")},
		{name: "simulate_scp_region_denies", args: []string{"policy", "simulate", "--policy", p + "s3-read-prefix.json", "--scp", p + "scp-region-guard.json",
			"--action", "s3:GetObject", "--resource", "arn:aws:s3:::example-bucket/reports/2026/q1.csv", "--context", "aws:RequestedRegion=ap-south-1"}},
		{name: "simulate_condition_key_missing", args: []string{"policy", "simulate", "--policy", p + "s3-read-prefix.json",
			"--action", "s3:ListBucket", "--resource", "arn:aws:s3:::example-bucket"}},
		{name: "simulate_multivalued_context_stdin", stdin: tagPolicy, args: []string{"policy", "simulate", "--policy", "-",
			"--action", "ec2:CreateTags", "--context", "aws:TagKeys=team", "--context", "aws:TagKeys=owner", "--context", "aws:RequestTag/team=a"}},
		{name: "simulate_context_type_list", stdin: tagPolicy, args: []string{"policy", "simulate", "--policy", "-",
			"--action", "ec2:CreateTags", "--context", "aws:TagKeys=team", "--context-type", "aws:TagKeys=stringList", "--context", "aws:RequestTag/team=a"}},
		{name: "simulate_no_policies", args: []string{"policy", "simulate", "--action", "s3:GetObject"}},
		{name: "simulate_malformed", wantCode: ExitInvalid, args: []string{"policy", "simulate", "--action", "s3:GetObject",
			"--policy", p + "invalid/duplicate-sid.json", "--boundary", p + "invalid/trailing-comma.json", "--policy", p + "s3-read-prefix.json"}},
		{name: "simulate_unreadable", wantCode: ExitUsage, args: []string{"policy", "simulate", "--action", "s3:GetObject", "--policy", p + "missing.json"}},
		{name: "simulate_missing_action", wantCode: ExitUsage, args: []string{"policy", "simulate", "--policy", p + "s3-read-prefix.json"}},
		{name: "simulate_resource_and_trust", wantCode: ExitUsage, args: []string{"policy", "simulate", "--action", "sts:AssumeRole",
			"--resource-policy", trust, "--trust-policy", trust}},
		{name: "simulate_bad_context", wantCode: ExitUsage, args: []string{"policy", "simulate", "--action", "s3:GetObject", "--context", "aws:SourceIp"}},
		{name: "simulate_bad_context_type", wantCode: ExitUsage, args: []string{"policy", "simulate", "--action", "s3:GetObject", "--context-type", "aws:SourceIp=cidr"}},
		{name: "simulate_bad_output", wantCode: ExitUsage, args: []string{"policy", "simulate", "--action", "s3:GetObject", "--output", "yaml"}},
	}

	t.Chdir(repoRoot(t))
	seen := map[string]bool{}
	for _, tt := range tests {
		if seen[tt.name] {
			t.Fatalf("duplicate case name %q", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			got := stdout
			if stderr != "" {
				got += "-- stderr --\n" + stderr
			}
			golden := filepath.Join("internal", "cli", "testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}

	// Every golden file belongs to a case, so a renamed case leaves nothing stale.
	files, err := filepath.Glob(filepath.Join("internal", "cli", "testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".golden")
		if !seen[name] {
			if *update {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("%s has no test case; delete it or run with -update", f)
		}
	}
}

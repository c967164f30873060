//go:build unix

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewcomerLines runs the lines `irsa up` prints on first start, as a
// newcomer pastes them into a shell: the root key answers
// `aws sts get-caller-identity` as the account root, then the pod's token
// and role answer it as the assumed role. Only the token file path
// (/tmp/irsa-token) is replaced by a temporary one.
func TestNewcomerLines(t *testing.T) {
	requireAWSCLI(t)
	srv := startServer(t, serverOptions{})
	var lines []string
	for _, line := range strings.Split(srv.stdout.String(), "\n") {
		if strings.HasPrefix(line, "  ") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	tokenFile := filepath.Join(t.TempDir(), "irsa-token")
	script := "set -eu\n" + strings.ReplaceAll(strings.Join(lines, "\n"), "/tmp/irsa-token", tokenFile) + "\n"
	if got := strings.Count(script, "aws sts get-caller-identity"); got != 2 {
		t.Fatalf("want two `aws sts get-caller-identity` lines in the welcome text, found %d:\n%s", got, srv.stdout.String())
	}
	env := clientEnv(t, "PATH="+filepath.Dir(irsaBin)+string(os.PathListSeparator)+envValue(cleanEnv(), "PATH"))
	stdout, stderr, code := runProcess(t, "", env, "bash", "-c", script)
	if code != 0 {
		t.Fatalf("the pasted lines failed (exit %d):\n%s\nstdout:\n%s\nstderr:\n%s", code, script, stdout, stderr)
	}
	if raw, err := os.ReadFile(tokenFile); err == nil {
		srv.Secrets.AddToken(strings.TrimSpace(string(raw)), "token of the welcome lines")
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var got []string
	for dec.More() {
		var id identity
		if err := dec.Decode(&id); err != nil {
			t.Fatalf("the pasted lines printed %q: %v", stdout, err)
		}
		got = append(got, id.Arn)
	}
	if len(got) != 2 {
		t.Fatalf("want two identities, got %q", stdout)
	}
	if want := "arn:aws:iam::" + accountID + ":root"; got[0] != want {
		t.Errorf("first get-caller-identity: Arn = %q, want %q", got[0], want)
	}
	if prefix := "arn:aws:sts::" + accountID + ":assumed-role/s3-reader/"; !strings.HasPrefix(got[1], prefix) {
		t.Errorf("second get-caller-identity: Arn = %q, want %s<session>", got[1], prefix)
	}
}

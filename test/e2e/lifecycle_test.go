//go:build unix

package e2e

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// TestRestartKeepsState stops irsa and starts it again on the same data
// directory: the root key file is unchanged, a token minted before the
// restart still assumes the role (the issuer's keys persisted), and the
// session credentials issued before the restart still work (the sealing
// keys persisted).
func TestRestartKeepsState(t *testing.T) {
	first := startServer(t, serverOptions{})
	tokenFile := first.token(t, t.TempDir(), "token", "--namespace", "production", "--service-account", "s3-reader")
	rootBefore, err := os.ReadFile(first.rootCredentialsFile())
	if err != nil {
		t.Fatal(err)
	}
	before := goClient.whoami(t, clientEnv(t, webIdentityEnv(first, "s3-reader", tokenFile)...))
	checkAssumedRole(t, first, before, "s3-reader", "", "")
	first.Stop(t)

	second := startServer(t, serverOptions{DataDir: first.DataDir})
	second.Secrets.AddToken(readToken(t, tokenFile), "token minted before the restart")
	second.Secrets.Add(before.SecretAccessKey, "secret key of the session issued before the restart")
	second.Secrets.Add(before.SessionToken, "session token issued before the restart")
	rootAfter, err := os.ReadFile(second.rootCredentialsFile())
	if err != nil {
		t.Fatal(err)
	}
	if string(rootAfter) != string(rootBefore) {
		t.Errorf("root-credentials changed across the restart:\nbefore:\n%s\nafter:\n%s", rootBefore, rootAfter)
	}
	if out := second.stdout.String(); strings.Contains(out, "export AWS_") {
		t.Errorf("the second start printed the first-start lines again:\n%s", out)
	}
	after := goClient.whoami(t, clientEnv(t, webIdentityEnv(second, "s3-reader", tokenFile)...))
	checkAssumedRole(t, second, after, "s3-reader", "", "")

	// The session of the first server, used against the second.
	got, err := callerIdentity(second, before.AccessKeyID, before.SecretAccessKey, before.SessionToken)
	if err != nil {
		t.Fatalf("GetCallerIdentity with the session issued before the restart: %v", err)
	}
	if got != before.Arn {
		t.Errorf("GetCallerIdentity with the old session: Arn = %q, want %q", got, before.Arn)
	}
}

// TestRootKeyFromEnvironment starts irsa with IRSA_ROOT_ACCESS_KEY_ID and
// IRSA_ROOT_SECRET_ACCESS_KEY: root-credentials holds that key, it signs
// as the account root, and a wrong secret is refused.
func TestRootKeyFromEnvironment(t *testing.T) {
	const keyID = "AKIAE2ETESTROOTKEY01"
	secret := "e2e/" + randomHex(18)
	srv := startServer(t, serverOptions{Env: []string{"IRSA_ROOT_ACCESS_KEY_ID=" + keyID, "IRSA_ROOT_SECRET_ACCESS_KEY=" + secret}})
	srv.Secrets.Add(secret, "root secret access key from IRSA_ROOT_SECRET_ACCESS_KEY")
	raw, err := os.ReadFile(srv.rootCredentialsFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aws_access_key_id = " + keyID, "aws_secret_access_key = " + secret} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("root-credentials lacks %q:\n%s", want, raw)
		}
	}
	arn, err := callerIdentity(srv, keyID, secret, "")
	if err != nil {
		t.Fatalf("GetCallerIdentity with the configured root key: %v", err)
	}
	if want := "arn:aws:iam::" + accountID + ":root"; arn != want {
		t.Errorf("Arn = %q, want %q", arn, want)
	}
	_, err = callerIdentity(srv, keyID, secret+"x", "")
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("GetCallerIdentity with a wrong secret: got %v, want SignatureDoesNotMatch", err)
	}
}

// callerIdentity calls GetCallerIdentity with static credentials and no
// retries, and returns the caller's ARN.
func callerIdentity(srv *server, keyID, secret, sessionToken string) (string, error) {
	client := sts.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, sessionToken),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	})
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

func readToken(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

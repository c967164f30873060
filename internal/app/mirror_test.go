package app_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/irsa-dev/irsa/internal/app"
)

// A cluster whose issuer URL points at irsa: irsa reads the keys from the
// API server (a TLS server with a private CA here) and publishes them, and
// STS accepts the cluster's tokens.
func TestClusterIssuerMirror(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: key.Public(), KeyID: "cluster-key-1", Algorithm: "RS256", Use: "sig"}
	var fetches atomic.Int32
	apiserver := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/openid/v1/jwks" || r.Header.Get("Authorization") != "Bearer reader-token" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		fetches.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	}))
	defer apiserver.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	tokenFile := filepath.Join(dir, "token")
	_ = os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: apiserver.Certificate().Raw}), 0o600)
	_ = os.WriteFile(tokenFile, []byte("reader-token\n"), 0o600)

	const issuer = "https://irsa.example.test/clusters/prod"
	a, err := app.New(context.Background(), app.Config{DataDir: filepath.Join(dir, "data"), Mirrors: []app.Mirror{{Issuer: issuer, JWKSURL: apiserver.URL + "/openid/v1/jwks", CAFile: caFile, BearerTokenFile: tokenFile}}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	// The discovery document and key set are served at the issuer's path.
	resp, err := http.Get(srv.URL + "/clusters/prod/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"issuer":"`+issuer+`"`) || !strings.Contains(string(body), `"jwks_uri":"`+issuer+`/openid/v1/jwks"`) {
		t.Fatalf("discovery %d %s", resp.StatusCode, body)
	}
	resp, _ = http.Get(srv.URL + "/clusters/prod/openid/v1/jwks")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"kid":"cluster-key-1"`) || strings.Contains(string(body), `"d":`) {
		t.Fatalf("jwks %s", body)
	}

	// Register the issuer and a role, then exchange a cluster token.
	ctx := context.Background()
	b := a.Bootstrap
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	root := cfg
	root.Credentials = staticCreds(b.RootAccessKeyID, b.RootSecretKey)
	iamc := awsiam.NewFromConfig(root)
	if _, err := iamc.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{"sts.amazonaws.com"}}); err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/irsa.example.test/clusters/prod"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"irsa.example.test/clusters/prod:sub":"system:serviceaccount:prod:app"}}}]}`
	if _, err := iamc.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("prod-app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "cluster-key-1"))
	now := time.Now()
	tok, _ := jwt.Signed(signer).Claims(map[string]any{"iss": issuer, "sub": "system:serviceaccount:prod:app", "aud": []string{"sts.amazonaws.com"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).Serialize()
	out, err := awssts.NewFromConfig(cfg).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/prod-app"), RoleSessionName: aws.String("pod"), WebIdentityToken: aws.String(tok)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::000000000000:assumed-role/prod-app/pod" {
		t.Fatalf("assumed %s", aws.ToString(out.AssumedRoleUser.Arn))
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("the API server's key set was fetched %d times, want once (cached by Cache-Control)", n)
	}
}

func staticCreds(id, secret string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
	})
}

package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/irsa-dev/irsa/internal/issuer"
)

// BenchmarkAssumeRoleWithWebIdentity measures the whole server path of one
// call, in process: Query parsing, token verification, trust policy,
// minting and sealing, XML.
func BenchmarkAssumeRoleWithWebIdentity(b *testing.B) {
	t := &testing.T{}
	s := newServer(t)
	ctx := context.Background()
	bs := s.a.Bootstrap
	iamc := awsiam.NewFromConfig(s.awsConfig(bs.RootAccessKeyID, bs.RootSecretKey, ""))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + bs.IssuerProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.irsa.test/id/APPTEST:sub":"system:serviceaccount:production:app","oidc.irsa.test/id/APPTEST:aud":"sts.amazonaws.com"}}}]}`
	if _, err := iamc.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		b.Fatal(err)
	}
	tok, err := s.a.Issuer.Mint(ctx, issuer.TokenRequest{Namespace: "production", ServiceAccount: "app"})
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::000000000000:role/app"}, "RoleSessionName": {"bench"}, "WebIdentityToken": {tok}}.Encode()
	h := s.a.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	}
}

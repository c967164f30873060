package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/issuer"
	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/store"
)

const (
	eksAccount = "000000000000"
	eksCluster = "dev-1"
)

// eksWorld is a server with one cluster whose issuer is the built-in one,
// a role pods may assume, and the clients of the test.
type eksWorld struct {
	s       *server
	eks     *awseks.Client
	iam     *awsiam.Client
	roleARN string
	// secrets are every token, secret key and session token the test saw:
	// none may reach the audit trail.
	secrets []string
}

func newEKSWorld(t *testing.T) *eksWorld {
	t.Helper()
	s := newServer(t)
	ctx := context.Background()
	b := s.a.Bootstrap
	w := &eksWorld{s: s, secrets: []string{b.RootSecretKey}}
	if err := s.a.Store.PutCluster(ctx, store.Cluster{AccountID: eksAccount, Name: eksCluster, ARN: "arn:aws:eks:us-east-1:" + eksAccount + ":cluster/" + eksCluster,
		Issuer: b.IssuerURL, CreatedAt: s.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	cfg := s.awsConfig(b.RootAccessKeyID, b.RootSecretKey, "")
	w.eks, w.iam = awseks.NewFromConfig(cfg), awsiam.NewFromConfig(cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],` +
		`"Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"team-a"}}}]}`
	for _, name := range []string{"app", "other"} {
		out, err := w.iam.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
		if err != nil {
			t.Fatal(err)
		}
		if name == "app" {
			w.roleARN = aws.ToString(out.Role.Arn)
		}
	}
	return w
}

func (w *eksWorld) mint(t *testing.T, ns, sa string, aud []string, d time.Duration) string {
	t.Helper()
	tok, err := w.s.a.Issuer.Mint(context.Background(), issuer.TokenRequest{Namespace: ns, ServiceAccount: sa, Audiences: aud, ExpiresIn: d,
		PodName: "web-7d4b9-x2x", PodUID: "6f1c7c1e-1b7a-4bb5-9a53-1f0d0c7c0e01", NodeName: "node-1", NodeUID: "1b2f"})
	if err != nil {
		t.Fatal(err)
	}
	w.secrets = append(w.secrets, tok, strings.SplitN(tok, ".", 3)[2])
	return tok
}

// rawResponse is one HTTP answer.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r rawResponse) errorType() string { return r.header.Get("X-Amzn-ErrorType") }

// eksAuth posts body to EKS Auth's AssumeRoleForPodIdentity of cluster,
// signed with the v4 signer of aws-sdk-go-v2 for service (eks-auth unless
// a test wants another scope); no signature when id is "".
func (w *eksWorld) eksAuth(t *testing.T, cluster, body, id, secret, token, service string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.s.url+"/clusters/"+cluster+"/assume-role-for-pod-identity", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "eks-pod-identity-agent/test")
	if id != "" {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", w.s.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func (w *eksWorld) rootAuth(t *testing.T, cluster, body string) rawResponse {
	t.Helper()
	b := w.s.a.Bootstrap
	return w.eksAuth(t, cluster, body, b.RootAccessKeyID, b.RootSecretKey, "", "eks-auth")
}

func tokenBody(tok string) string {
	b, _ := json.Marshal(map[string]string{"token": tok})
	return string(b)
}

// apiError is the code, message and HTTP status of a client error.
func apiError(t *testing.T, err error) (code, message string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an API error", err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), ae.ErrorMessage(), status
}

func TestEKSAssociationsWithTheGoClient(t *testing.T) {
	w := newEKSWorld(t)
	ctx := context.Background()
	c := w.eks
	tr := &trail{st: w.s.a.Store}
	tr.next(t) // the setup's events

	created, err := c.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String(eksCluster), Namespace: aws.String("team-a"), ServiceAccount: aws.String("app"),
		RoleArn: aws.String(w.roleARN), Tags: map[string]string{"owner": "team-a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := created.Association
	id := aws.ToString(a.AssociationId)
	wantARN := "arn:aws:eks:us-east-1:" + eksAccount + ":podidentityassociation/" + eksCluster + "/" + id
	if !strings.HasPrefix(id, "a-") || aws.ToString(a.AssociationArn) != wantARN || aws.ToString(a.ClusterName) != eksCluster ||
		aws.ToString(a.Namespace) != "team-a" || aws.ToString(a.ServiceAccount) != "app" || aws.ToString(a.RoleArn) != w.roleARN ||
		a.CreatedAt == nil || a.ModifiedAt == nil || aws.ToBool(a.DisableSessionTags) || a.Tags["owner"] != "team-a" {
		t.Fatalf("created association %+v", a)
	}

	got, err := c.DescribePodIdentityAssociation(ctx, &awseks.DescribePodIdentityAssociationInput{ClusterName: aws.String(eksCluster), AssociationId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got.Association, cmp.AllowUnexported(ekstypes.PodIdentityAssociation{})); diff != "" {
		t.Errorf("described association (-created +described):\n%s", diff)
	}
	checkEKSEvents(t, tr.next(t), id, w.roleARN, w.s.a.Bootstrap.RootAccessKeyID)

	// A second association, to see the filters work.
	if _, err := c.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster),
		Namespace: aws.String("team-b"), ServiceAccount: aws.String("worker"), RoleArn: aws.String(w.roleARN)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ns, sa *string
		want   []string
	}{
		{nil, nil, []string{"team-a/app", "team-b/worker"}},
		{aws.String("team-b"), nil, []string{"team-b/worker"}},
		{nil, aws.String("app"), []string{"team-a/app"}},
		{aws.String("team-c"), nil, nil},
	} {
		list, err := c.ListPodIdentityAssociations(ctx, &awseks.ListPodIdentityAssociationsInput{ClusterName: aws.String(eksCluster), Namespace: tc.ns, ServiceAccount: tc.sa})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range list.Associations {
			names = append(names, aws.ToString(s.Namespace)+"/"+aws.ToString(s.ServiceAccount))
		}
		if diff := cmp.Diff(tc.want, names); diff != "" {
			t.Errorf("list ns=%v sa=%v (-want +got):\n%s", aws.ToString(tc.ns), aws.ToString(tc.sa), diff)
		}
	}
	// Pages of one, through the SDK's paginator.
	var paged []string
	p := awseks.NewListPodIdentityAssociationsPaginator(c, &awseks.ListPodIdentityAssociationsInput{ClusterName: aws.String(eksCluster), MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Associations) > 1 {
			t.Fatalf("page of %d, want at most 1", len(page.Associations))
		}
		for _, s := range page.Associations {
			paged = append(paged, aws.ToString(s.ServiceAccount))
		}
	}
	if diff := cmp.Diff([]string{"app", "worker"}, paged); diff != "" {
		t.Errorf("paginated (-want +got):\n%s", diff)
	}

	updated, err := c.UpdatePodIdentityAssociation(ctx, &awseks.UpdatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster), AssociationId: aws.String(id),
		DisableSessionTags: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(updated.Association.DisableSessionTags) || aws.ToString(updated.Association.RoleArn) != w.roleARN {
		t.Errorf("updated association %+v", updated.Association)
	}

	// Tags on the association's ARN.
	if _, err := c.TagResource(ctx, &awseks.TagResourceInput{ResourceArn: aws.String(wantARN), Tags: map[string]string{"env": "dev", "tier": "web"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &awseks.UntagResourceInput{ResourceArn: aws.String(wantARN), TagKeys: []string{"tier"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &awseks.ListTagsForResourceInput{ResourceArn: aws.String(wantARN)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"owner": "team-a", "env": "dev"}, tags.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// Clusters.
	dc, err := c.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(eksCluster)})
	if err != nil {
		t.Fatal(err)
	}
	if dc.Cluster.Identity == nil || dc.Cluster.Identity.Oidc == nil || aws.ToString(dc.Cluster.Identity.Oidc.Issuer) != w.s.a.Bootstrap.IssuerURL ||
		aws.ToString(dc.Cluster.Name) != eksCluster || aws.ToString(dc.Cluster.Arn) != "arn:aws:eks:us-east-1:"+eksAccount+":cluster/"+eksCluster ||
		dc.Cluster.Status != ekstypes.ClusterStatusActive {
		t.Errorf("cluster %+v", dc.Cluster)
	}
	for _, name := range []string{"dev-2", "dev-3"} {
		if err := w.s.a.Store.PutCluster(ctx, store.Cluster{AccountID: eksAccount, Name: name, ARN: "arn:aws:eks:us-east-1:" + eksAccount + ":cluster/" + name,
			Issuer: "https://issuer.example/" + name, CreatedAt: w.s.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var clusters []string
	cp := awseks.NewListClustersPaginator(c, &awseks.ListClustersInput{MaxResults: aws.Int32(2)})
	for cp.HasMorePages() {
		page, err := cp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clusters = append(clusters, page.Clusters...)
	}
	if diff := cmp.Diff([]string{"dev-1", "dev-2", "dev-3"}, clusters); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}

	deleted, err := c.DeletePodIdentityAssociation(ctx, &awseks.DeletePodIdentityAssociationInput{ClusterName: aws.String(eksCluster), AssociationId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(deleted.Association.AssociationId) != id {
		t.Errorf("deleted %+v", deleted.Association)
	}
	_, err = c.DescribePodIdentityAssociation(ctx, &awseks.DescribePodIdentityAssociationInput{ClusterName: aws.String(eksCluster), AssociationId: aws.String(id)})
	var nf *ekstypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("describe after delete: %v, want ResourceNotFoundException", err)
	}
}

func TestEKSErrorsWithTheGoClient(t *testing.T) {
	w := newEKSWorld(t)
	ctx := context.Background()
	c := w.eks
	first, err := c.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster),
		Namespace: aws.String("team-a"), ServiceAccount: aws.String("app"), RoleArn: aws.String(w.roleARN)})
	if err != nil {
		t.Fatal(err)
	}
	assocARN := aws.ToString(first.Association.AssociationArn)

	cases := []struct {
		name       string
		call       func() error
		wantCode   string
		wantStatus int
		// wantCluster is the clusterName member of the error, when the
		// shape has one.
		wantCluster string
	}{
		{"no such cluster", func() error {
			_, err := c.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", 404, ""},
		{"association in no such cluster", func() error {
			_, err := c.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String("nope"),
				Namespace: aws.String("team-a"), ServiceAccount: aws.String("x"), RoleArn: aws.String(w.roleARN)})
			return err
		}, "ResourceNotFoundException", 404, "nope"},
		{"no such association", func() error {
			_, err := c.DescribePodIdentityAssociation(ctx, &awseks.DescribePodIdentityAssociationInput{ClusterName: aws.String(eksCluster), AssociationId: aws.String("a-00000000000000000")})
			return err
		}, "ResourceNotFoundException", 404, eksCluster},
		{"delete no such association", func() error {
			_, err := c.DeletePodIdentityAssociation(ctx, &awseks.DeletePodIdentityAssociationInput{ClusterName: aws.String(eksCluster), AssociationId: aws.String("a-00000000000000000")})
			return err
		}, "ResourceNotFoundException", 404, eksCluster},
		{"the service account has one already", func() error {
			_, err := c.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster),
				Namespace: aws.String("team-a"), ServiceAccount: aws.String("app"), RoleArn: aws.String(w.roleARN)})
			return err
		}, "ResourceInUseException", 409, eksCluster},
		{"namespace not a Kubernetes name", func() error {
			_, err := c.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster),
				Namespace: aws.String("Team_A"), ServiceAccount: aws.String("app"), RoleArn: aws.String(w.roleARN)})
			return err
		}, "InvalidParameterException", 400, eksCluster},
		{"role ARN not a role", func() error {
			_, err := c.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster),
				Namespace: aws.String("team-a"), ServiceAccount: aws.String("web"), RoleArn: aws.String("arn:aws:iam::000000000000:user/bob")})
			return err
		}, "InvalidParameterException", 400, eksCluster},
		{"list maxResults out of range", func() error {
			_, err := c.ListPodIdentityAssociations(ctx, &awseks.ListPodIdentityAssociationsInput{ClusterName: aws.String(eksCluster), MaxResults: aws.Int32(500)})
			return err
		}, "InvalidParameterException", 400, eksCluster},
		{"tag an unknown association", func() error {
			_, err := c.TagResource(ctx, &awseks.TagResourceInput{ResourceArn: aws.String(otherID(assocARN)), Tags: map[string]string{"a": "b"}})
			return err
		}, "NotFoundException", 404, ""},
		{"tag something that is not an EKS ARN", func() error {
			_, err := c.TagResource(ctx, &awseks.TagResourceInput{ResourceArn: aws.String("not-an-arn"), Tags: map[string]string{"a": "b"}})
			return err
		}, "BadRequestException", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			code, msg, status := apiError(t, err)
			if code != tc.wantCode || status != tc.wantStatus || msg == "" {
				t.Errorf("got %s %d %q, want %s %d", code, status, msg, tc.wantCode, tc.wantStatus)
			}
			var rnf *ekstypes.ResourceNotFoundException
			var ip *ekstypes.InvalidParameterException
			var riu *ekstypes.ResourceInUseException
			switch {
			case errors.As(err, &rnf):
				if aws.ToString(rnf.ClusterName) != tc.wantCluster {
					t.Errorf("clusterName %q, want %q", aws.ToString(rnf.ClusterName), tc.wantCluster)
				}
			case errors.As(err, &ip):
				if aws.ToString(ip.ClusterName) != tc.wantCluster {
					t.Errorf("clusterName %q, want %q", aws.ToString(ip.ClusterName), tc.wantCluster)
				}
			case errors.As(err, &riu):
				if aws.ToString(riu.ClusterName) != tc.wantCluster {
					t.Errorf("clusterName %q, want %q", aws.ToString(riu.ClusterName), tc.wantCluster)
				}
			}
		})
	}

	t.Run("bad signature", func(t *testing.T) {
		cfg := w.s.awsConfig(w.s.a.Bootstrap.RootAccessKeyID, "wrong-secret-wrong-secret", "")
		_, err := awseks.NewFromConfig(cfg).ListClusters(ctx, &awseks.ListClustersInput{})
		if code, _, status := apiError(t, err); code != "InvalidSignatureException" || status != 403 {
			t.Errorf("got %s %d, want InvalidSignatureException 403", code, status)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		cfg := w.s.awsConfig("AKIAAAAAAAAAAAAAAAAA", "wrong-secret-wrong-secret", "")
		_, err := awseks.NewFromConfig(cfg).ListClusters(ctx, &awseks.ListClustersInput{})
		if code, _, status := apiError(t, err); code != "UnrecognizedClientException" || status != 403 {
			t.Errorf("got %s %d, want UnrecognizedClientException 403", code, status)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		resp, err := http.Get(w.s.url + "/clusters")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
			t.Errorf("got %d %s, want 403 MissingAuthenticationTokenException", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		resp, err := http.Post(w.s.url+"/clusters/dev-1/node-groups", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
			t.Errorf("got %d %s, want 404 UnknownOperationException", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})
	t.Run("body over 1 MiB", func(t *testing.T) {
		b := w.s.a.Bootstrap
		body := `{"namespace":"` + strings.Repeat("a", 1<<20) + `"}`
		req, _ := http.NewRequest(http.MethodPost, w.s.url+"/clusters/dev-1/pod-identity-associations", strings.NewReader(body))
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: b.RootAccessKeyID, SecretAccessKey: b.RootSecretKey}, req, hex.EncodeToString(sum[:]), "eks", "us-east-1", w.s.clock.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestException" {
			t.Errorf("got %d %s, want 400 InvalidRequestException", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})
}

// assumeResponse is EKS Auth's answer, as the agent reads it.
type assumeResponse struct {
	Subject struct {
		Namespace      string `json:"namespace"`
		ServiceAccount string `json:"serviceAccount"`
	} `json:"subject"`
	Audience               string `json:"audience"`
	PodIdentityAssociation struct {
		AssociationArn string `json:"associationArn"`
		AssociationID  string `json:"associationId"`
	} `json:"podIdentityAssociation"`
	AssumedRoleUser struct {
		Arn          string `json:"arn"`
		AssumeRoleID string `json:"assumeRoleId"`
	} `json:"assumedRoleUser"`
	Credentials struct {
		SessionToken    string  `json:"sessionToken"`
		SecretAccessKey string  `json:"secretAccessKey"`
		AccessKeyID     string  `json:"accessKeyId"`
		Expiration      float64 `json:"expiration"`
	} `json:"credentials"`
}

func TestEKSAuthAssumeRoleForPodIdentity(t *testing.T) {
	w := newEKSWorld(t)
	ctx := context.Background()
	tr := &trail{st: w.s.a.Store}
	created, err := w.eks.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster),
		Namespace: aws.String("team-a"), ServiceAccount: aws.String("app"), RoleArn: aws.String(w.roleARN)})
	if err != nil {
		t.Fatal(err)
	}
	// A service account whose role's trust policy does not allow its
	// namespace.
	if _, err := w.eks.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster),
		Namespace: aws.String("team-b"), ServiceAccount: aws.String("app"), RoleArn: aws.String("arn:aws:iam::" + eksAccount + ":role/other")}); err != nil {
		t.Fatal(err)
	}
	tr.next(t) // the setup's events

	pods := []string{"pods.eks.amazonaws.com"}
	good := w.mint(t, "team-a", "app", pods, time.Hour)
	resp := w.rootAuth(t, eksCluster, tokenBody(good+"\n"))
	if resp.status != 200 || resp.header.Get("Content-Type") != "application/json" || resp.header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("AssumeRoleForPodIdentity: %d %v %s", resp.status, resp.header, resp.body)
	}
	var got assumeResponse
	if err := json.Unmarshal(resp.body, &got); err != nil {
		t.Fatalf("%v: %s", err, resp.body)
	}
	w.secrets = append(w.secrets, got.Credentials.SecretAccessKey, got.Credentials.SessionToken)
	if got.Subject.Namespace != "team-a" || got.Subject.ServiceAccount != "app" || got.Audience != "pods.eks.amazonaws.com" ||
		got.PodIdentityAssociation.AssociationArn != aws.ToString(created.Association.AssociationArn) ||
		got.PodIdentityAssociation.AssociationID != aws.ToString(created.Association.AssociationId) ||
		!strings.HasPrefix(got.AssumedRoleUser.Arn, "arn:aws:sts::"+eksAccount+":assumed-role/app/eks-dev-1-web-7d4b9-x2x-") ||
		!strings.HasPrefix(got.AssumedRoleUser.AssumeRoleID, "AROA") || !strings.HasPrefix(got.Credentials.AccessKeyID, "ASIA") ||
		got.Credentials.SecretAccessKey == "" || got.Credentials.SessionToken == "" {
		t.Fatalf("answer %s", resp.body)
	}
	if exp := time.Unix(int64(got.Credentials.Expiration), 0); !exp.After(w.s.clock.Now()) {
		t.Errorf("expiration %v is not in the future", exp)
	}
	// The credentials work, as the pod's SDK uses them.
	id, err := w.s.stsClient(got.Credentials.AccessKeyID, got.Credentials.SecretAccessKey, got.Credentials.SessionToken).GetCallerIdentity(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != got.AssumedRoleUser.Arn {
		t.Errorf("GetCallerIdentity %s, want %s", aws.ToString(id.Arn), got.AssumedRoleUser.Arn)
	}
	// They carry no EKS permission: the role has no identity policy.
	sessCfg := w.s.awsConfig(got.Credentials.AccessKeyID, got.Credentials.SecretAccessKey, got.Credentials.SessionToken)
	_, err = awseks.NewFromConfig(sessCfg).DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(eksCluster)})
	if code, _, status := apiError(t, err); code != "AccessDeniedException" || status != 403 {
		t.Errorf("EKS call of the pod's session: %s %d, want AccessDeniedException 403", code, status)
	}
	// …and no EKS Auth permission either (an agent needs
	// eks-auth:AssumeRoleForPodIdentity).
	if r := w.eksAuth(t, eksCluster, tokenBody(good), got.Credentials.AccessKeyID, got.Credentials.SecretAccessKey, got.Credentials.SessionToken, "eks-auth"); r.status != 400 || r.errorType() != "AccessDeniedException" {
		t.Errorf("EKS Auth call of the pod's session: %d %s, want 400 AccessDeniedException", r.status, r.errorType())
	}

	events := tr.next(t)
	if len(events) != 4 {
		t.Fatalf("%d events, want 4 (assume, GetCallerIdentity, DescribeCluster, assume)", len(events))
	}
	var ev audit.Event
	if err := json.Unmarshal(events[0], &ev); err != nil {
		t.Fatal(err)
	}
	if ev.EventSource != "eks-auth.amazonaws.com" || ev.EventName != "AssumeRoleForPodIdentity" || ev.ErrorCode != "" || !ev.ReadOnly ||
		ev.TokenHash != audit.TokenHash(good) || ev.UserIdentity == nil || ev.UserIdentity.Type != "Root" || ev.RequestParameters["clusterName"] != eksCluster ||
		ev.RecipientAccountID != eksAccount {
		t.Errorf("event %s", events[0])
	}
	cred, _ := ev.ResponseElements["credentials"].(map[string]any)
	if cred["accessKeyId"] != got.Credentials.AccessKeyID {
		t.Errorf("responseElements %v", ev.ResponseElements)
	}
	var denied audit.Event
	if err := json.Unmarshal(events[2], &denied); err != nil {
		t.Fatal(err)
	}
	if denied.EventSource != "eks.amazonaws.com" || denied.EventName != "DescribeCluster" || denied.ErrorCode != "AccessDeniedException" ||
		len(denied.Explanation) == 0 || denied.UserIdentity == nil || denied.UserIdentity.Type != "AssumedRole" {
		t.Errorf("denied event %s", events[2])
	}

	b := w.s.a.Bootstrap
	cases := []struct {
		name       string
		resp       func() rawResponse
		wantStatus int
		wantType   string
	}{
		{"token for STS, not pods", func() rawResponse {
			return w.rootAuth(t, eksCluster, tokenBody(w.mint(t, "team-a", "app", []string{"sts.amazonaws.com"}, time.Hour)))
		}, 400, "InvalidTokenException"},
		{"not a JWT", func() rawResponse { return w.rootAuth(t, eksCluster, `{"token":"not-a-jwt"}`) }, 400, "InvalidTokenException"},
		{"forged signature", func() rawResponse {
			return w.rootAuth(t, eksCluster, tokenBody(good[:strings.LastIndexByte(good, '.')]+".AAAA"))
		}, 400, "InvalidTokenException"},
		{"no token", func() rawResponse { return w.rootAuth(t, eksCluster, `{}`) }, 400, "InvalidParameterException"},
		{"body not JSON", func() rawResponse { return w.rootAuth(t, eksCluster, `{"token":`) }, 400, "InvalidRequestException"},
		{"no association", func() rawResponse {
			return w.rootAuth(t, eksCluster, tokenBody(w.mint(t, "team-a", "nobody", pods, time.Hour)))
		}, 400, "AccessDeniedException"},
		{"no such cluster", func() rawResponse { return w.rootAuth(t, "nope", tokenBody(good)) }, 404, "ResourceNotFoundException"},
		{"trust policy refuses the namespace", func() rawResponse {
			return w.rootAuth(t, eksCluster, tokenBody(w.mint(t, "team-b", "app", pods, time.Hour)))
		}, 400, "AccessDeniedException"},
		{"unsigned", func() rawResponse { return w.eksAuth(t, eksCluster, tokenBody(good), "", "", "", "") }, 403, "MissingAuthenticationTokenException"},
		{"signed for eks", func() rawResponse {
			return w.eksAuth(t, eksCluster, tokenBody(good), b.RootAccessKeyID, b.RootSecretKey, "", "eks")
		}, 403, "InvalidSignatureException"},
		{"wrong secret", func() rawResponse {
			return w.eksAuth(t, eksCluster, tokenBody(good), b.RootAccessKeyID, "wrong-secret-wrong-secret", "", "eks-auth")
		}, 403, "InvalidSignatureException"},
		{"expired token", func() rawResponse {
			tok := w.mint(t, "team-a", "app", pods, 10*time.Minute)
			w.s.clock.Add(16 * time.Minute)
			defer w.s.clock.Add(-16 * time.Minute)
			return w.rootAuth(t, eksCluster, tokenBody(tok))
		}, 400, "ExpiredTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.resp()
			if r.status != tc.wantStatus || r.errorType() != tc.wantType {
				t.Fatalf("got %d %s %s, want %d %s", r.status, r.errorType(), r.body, tc.wantStatus, tc.wantType)
			}
			var body map[string]any
			if err := json.Unmarshal(r.body, &body); err != nil || body["message"] == nil || body["message"] == "" {
				t.Errorf("error body %s", r.body)
			}
			evs := tr.next(t)
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1", len(evs))
			}
			var e audit.Event
			if err := json.Unmarshal(evs[0], &e); err != nil {
				t.Fatal(err)
			}
			if e.EventSource != "eks-auth.amazonaws.com" || e.EventName != "AssumeRoleForPodIdentity" || e.ErrorCode != tc.wantType || e.ResponseElements != nil {
				t.Errorf("event %s", evs[0])
			}
		})
	}

	// No token, secret key or session token reached the trail.
	all, err := w.s.a.Store.ListAudit(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		for _, s := range w.secrets {
			if s != "" && bytes.Contains(r.Event, []byte(s)) {
				t.Errorf("event %d holds a secret: %s", r.Seq, r.Event)
			}
		}
	}
}

// otherID is an association ARN with another ID of the same form.
func otherID(arn string) string {
	last := arn[len(arn)-1]
	if last == '0' {
		return arn[:len(arn)-1] + "1"
	}
	return arn[:len(arn)-1] + "0"
}

// checkEKSEvents checks the events of a CreatePodIdentityAssociation and a
// DescribePodIdentityAssociation by the account root.
func checkEKSEvents(t *testing.T, events [][]byte, id, roleARN, rootKey string) {
	t.Helper()
	if len(events) != 2 {
		t.Fatalf("%d events, want 2", len(events))
	}
	var create, describe audit.Event
	if err := json.Unmarshal(events[0], &create); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(events[1], &describe); err != nil {
		t.Fatal(err)
	}
	wantParams := map[string]any{"clusterName": eksCluster, "namespace": "team-a", "serviceAccount": "app", "roleArn": roleARN,
		"tags": map[string]any{"owner": "team-a"}}
	params := create.RequestParameters
	delete(params, "clientRequestToken") // the SDK's idempotency token, a fresh UUID
	if diff := cmp.Diff(wantParams, params); diff != "" {
		t.Errorf("create requestParameters (-want +got):\n%s", diff)
	}
	assoc, _ := create.ResponseElements["association"].(map[string]any)
	if create.EventSource != "eks.amazonaws.com" || create.EventName != "CreatePodIdentityAssociation" || create.ReadOnly || create.ErrorCode != "" ||
		create.UserIdentity == nil || create.UserIdentity.Type != "Root" || create.UserIdentity.AccessKeyID != rootKey || create.RecipientAccountID != eksAccount ||
		assoc["associationId"] != id {
		t.Errorf("create event %s", events[0])
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(assoc["createdAt"])); err != nil {
		t.Errorf("responseElements.association.createdAt %v is not a CloudTrail time", assoc["createdAt"])
	}
	if describe.EventName != "DescribePodIdentityAssociation" || !describe.ReadOnly || describe.ResponseElements != nil ||
		describe.RequestParameters["associationId"] != id || describe.RequestParameters["clusterName"] != eksCluster {
		t.Errorf("describe event %s", events[1])
	}
}

func TestEKSAuthRoleChainingAndIdempotency(t *testing.T) {
	w := newEKSWorld(t)
	ctx := context.Background()
	// The first hop: a role pods may assume with no condition (the
	// association disables session tags, which the world's roles require).
	hop, err := w.iam.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("hop"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	hopARN := aws.ToString(hop.Role.Arn)
	targetTrust := func(externalID string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + hopARN + `"},"Action":["sts:AssumeRole","sts:TagSession"],` +
			`"Condition":{"StringEquals":{"sts:ExternalId":"` + externalID + `"}}}]}`
	}
	target, err := w.iam.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("target"), AssumeRolePolicyDocument: aws.String(targetTrust("unknown-yet"))})
	if err != nil {
		t.Fatal(err)
	}
	targetARN := aws.ToString(target.Role.Arn)
	sessionPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	in := &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster), Namespace: aws.String("team-a"), ServiceAccount: aws.String("app"),
		RoleArn: aws.String(hopARN), TargetRoleArn: aws.String(targetARN), Policy: aws.String(sessionPolicy), DisableSessionTags: aws.Bool(true),
		ClientRequestToken: aws.String("retry-1")}
	created, err := w.eks.CreatePodIdentityAssociation(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	a := created.Association
	if aws.ToString(a.TargetRoleArn) != targetARN || aws.ToString(a.ExternalId) == "" || aws.ToString(a.Policy) != sessionPolicy {
		t.Fatalf("created %+v", a)
	}
	// A retry with the same client request token gets the same association.
	again, err := w.eks.CreatePodIdentityAssociation(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(again.Association.AssociationId) != aws.ToString(a.AssociationId) {
		t.Errorf("retry created %s, want %s", aws.ToString(again.Association.AssociationId), aws.ToString(a.AssociationId))
	}
	// The same token with other input is refused.
	other := *in
	other.ServiceAccount = aws.String("other")
	_, err = w.eks.CreatePodIdentityAssociation(ctx, &other)
	if code, _, status := apiError(t, err); code != "InvalidRequestException" || status != 400 {
		t.Errorf("reused token: %s %d, want InvalidRequestException 400", code, status)
	}

	pods := []string{"pods.eks.amazonaws.com"}
	tok := w.mint(t, "team-a", "app", pods, time.Hour)
	// Until the target's trust policy names the association's external ID,
	// the chain is refused.
	if r := w.rootAuth(t, eksCluster, tokenBody(tok)); r.status != 400 || r.errorType() != "AccessDeniedException" ||
		!strings.Contains(string(r.body), podidentity.MsgTargetDenied) {
		t.Fatalf("chain without the external ID: %d %s %s, want 400 AccessDeniedException: %s", r.status, r.errorType(), r.body, podidentity.MsgTargetDenied)
	}
	if _, err := w.iam.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("target"),
		PolicyDocument: aws.String(targetTrust(aws.ToString(a.ExternalId)))}); err != nil {
		t.Fatal(err)
	}
	r := w.rootAuth(t, eksCluster, tokenBody(tok))
	if r.status != 200 {
		t.Fatalf("chained AssumeRoleForPodIdentity: %d %s %s", r.status, r.errorType(), r.body)
	}
	var got assumeResponse
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	w.secrets = append(w.secrets, got.Credentials.SecretAccessKey, got.Credentials.SessionToken)
	if !strings.HasPrefix(got.AssumedRoleUser.Arn, "arn:aws:sts::"+eksAccount+":assumed-role/target/eks-dev-1-") {
		t.Errorf("assumedRoleUser %s, want a session of the target role", got.AssumedRoleUser.Arn)
	}
	id, err := w.s.stsClient(got.Credentials.AccessKeyID, got.Credentials.SecretAccessKey, got.Credentials.SessionToken).GetCallerIdentity(ctx, nil)
	if err != nil || aws.ToString(id.Arn) != got.AssumedRoleUser.Arn {
		t.Errorf("GetCallerIdentity = %v, %v; want %s", id, err, got.AssumedRoleUser.Arn)
	}
}

// BenchmarkAssumeRoleForPodIdentity measures EKS Auth's server path of one
// call, in process: SigV4 verification (root key from the store), token
// verification, association lookup, trust policy with the six session
// tags, minting and sealing, the audit event, JSON. One signed request is
// replayed, as the signature stays valid for minutes.
func BenchmarkAssumeRoleForPodIdentity(b *testing.B) {
	t := &testing.T{}
	w := newEKSWorld(t)
	ctx := context.Background()
	if _, err := w.eks.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{ClusterName: aws.String(eksCluster),
		Namespace: aws.String("team-a"), ServiceAccount: aws.String("app"), RoleArn: aws.String(w.roleARN)}); err != nil {
		b.Fatal(err)
	}
	body := tokenBody(w.mint(t, "team-a", "app", []string{"pods.eks.amazonaws.com"}, time.Hour))
	signed, err := http.NewRequest(http.MethodPost, "http://irsa.test/clusters/"+eksCluster+"/assume-role-for-pod-identity", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	signed.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	bs := w.s.a.Bootstrap
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: bs.RootAccessKeyID, SecretAccessKey: bs.RootSecretKey}, signed,
		hex.EncodeToString(sum[:]), "eks-auth", "us-east-1", w.s.clock.Now()); err != nil {
		b.Fatal(err)
	}
	// A server request is checked on the headers that arrived.
	signed.Header.Set("Content-Length", strconv.Itoa(len(body)))
	h := w.s.a.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, signed.URL.String(), strings.NewReader(body))
		req.Header = signed.Header.Clone()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	}
}

// TestEKSAuthIssuerUnreachable: a cluster whose issuer's keys cannot be
// fetched answers 503 ServiceUnavailableException, which the agent
// retries, rather than blaming the token.
func TestEKSAuthIssuerUnreachable(t *testing.T) {
	w := newEKSWorld(t)
	ctx := context.Background()
	const issuerURL = "https://127.0.0.1:1/far"
	if err := w.s.a.Store.PutCluster(ctx, store.Cluster{AccountID: eksAccount, Name: "far", ARN: "arn:aws:eks:us-east-1:" + eksAccount + ":cluster/far",
		Issuer: issuerURL, CreatedAt: w.s.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "far-1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := w.s.clock.Now().Unix()
	claims, err := json.Marshal(map[string]any{
		"iss": issuerURL, "sub": "system:serviceaccount:team-a:app", "aud": []string{"pods.eks.amazonaws.com"},
		"exp": now + 3600, "iat": now, "nbf": now,
		"kubernetes.io": map[string]any{"namespace": "team-a", "serviceaccount": map[string]string{"name": "app", "uid": "u1"},
			"pod": map[string]string{"name": "web-1", "uid": "p1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	w.secrets = append(w.secrets, tok)
	r := w.rootAuth(t, "far", tokenBody(tok))
	if r.status != 503 || r.errorType() != "ServiceUnavailableException" {
		t.Fatalf("got %d %s %s, want 503 ServiceUnavailableException", r.status, r.errorType(), r.body)
	}
}

package eksapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/eksapi"
)

// wire is a server that matches each request with eksapi.Match and
// answers what the test set for the matched action, with eksapi's
// encoders: the real client's serializer meets the router, and its
// deserializer meets the shapes.
type wire struct {
	mu      sync.Mutex
	matched []*eksapi.Request
	answer  func(req *eksapi.Request) (any, error)
}

func newWire(t *testing.T) (*wire, *awseks.Client) {
	t.Helper()
	w := &wire{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := eksapi.Match(r.Method, r.URL, body)
		if err != nil {
			eksapi.WriteError(rw, "req-1", eksapi.ServiceOf(r.URL), eksapi.WireError(eksapi.ServiceOf(r.URL), err), "")
			return
		}
		w.mu.Lock()
		w.matched = append(w.matched, req)
		answer := w.answer
		w.mu.Unlock()
		res, err := answer(req)
		if err != nil {
			eksapi.WriteError(rw, "req-1", req.Service, eksapi.WireError(req.Service, err), req.ClusterName())
			return
		}
		b, err := eksapi.Encode(res)
		if err != nil {
			t.Errorf("Encode(%T): %v", res, err)
		}
		eksapi.WriteResult(rw, "req-1", b)
	}))
	t.Cleanup(srv.Close)
	client := awseks.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAEXAMPLEEXAMPLE12", "secret-secret-secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
	return w, client
}

func (w *wire) last(t *testing.T) *eksapi.Request {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.matched) == 0 {
		t.Fatal("no request matched")
	}
	return w.matched[len(w.matched)-1]
}

// matchedView is what a test compares of a matched request.
type matchedView struct {
	Service, Action string
	Labels          map[string]string
	Query           map[string][]string
	Body            string
}

func view(r *eksapi.Request) matchedView {
	q := map[string][]string{}
	for k, v := range r.Query {
		q[k] = v
	}
	return matchedView{Service: r.Service, Action: r.Action, Labels: r.Labels, Query: q, Body: string(r.Body)}
}

var (
	created  = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	modified = time.Date(2026, 11, 23, 11, 30, 15, 250_000_000, time.UTC)
)

const assocARN = "arn:aws:eks:us-east-1:000000000000:podidentityassociation/dev-1/a-0123456789abcdefg"

func sampleAssociation() eksapi.Association {
	return eksapi.Association{
		ClusterName: "dev-1", Namespace: "team-a", ServiceAccount: "app", RoleArn: "arn:aws:iam::000000000000:role/app",
		AssociationArn: assocARN, AssociationID: "a-0123456789abcdefg", Tags: map[string]string{"team": "a"},
		CreatedAt: eksapi.Epoch(created), ModifiedAt: eksapi.Epoch(modified), DisableSessionTags: true,
		TargetRoleArn: "arn:aws:iam::111111111111:role/target", ExternalID: "ext-1", Policy: `{"Version":"2012-10-17"}`,
	}
}

// wantAssociation is sampleAssociation as the client reads it.
func wantAssociation() *types.PodIdentityAssociation {
	return &types.PodIdentityAssociation{
		ClusterName: aws.String("dev-1"), Namespace: aws.String("team-a"), ServiceAccount: aws.String("app"),
		RoleArn: aws.String("arn:aws:iam::000000000000:role/app"), AssociationArn: aws.String(assocARN),
		AssociationId: aws.String("a-0123456789abcdefg"), Tags: map[string]string{"team": "a"},
		CreatedAt: aws.Time(created), ModifiedAt: aws.Time(modified), DisableSessionTags: aws.Bool(true),
		TargetRoleArn: aws.String("arn:aws:iam::111111111111:role/target"), ExternalId: aws.String("ext-1"),
		Policy: aws.String(`{"Version":"2012-10-17"}`),
	}
}

var cmpAssoc = cmp.Options{cmp.AllowUnexported(types.PodIdentityAssociation{}), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}

func TestGoClientRequestsMatchTheirActions(t *testing.T) {
	w, client := newWire(t)
	ctx := context.Background()
	w.answer = func(req *eksapi.Request) (any, error) {
		switch req.Action {
		case eksapi.ListPodIdentityAssociations:
			return &eksapi.ListAssociationsResult{Associations: []eksapi.AssociationSummary{}}, nil
		case eksapi.DescribeCluster:
			return &eksapi.DescribeClusterResult{}, nil
		case eksapi.ListClusters:
			return &eksapi.ListClustersResult{Clusters: []string{}}, nil
		case eksapi.TagResource, eksapi.UntagResource:
			return eksapi.EmptyResult{}, nil
		case eksapi.ListTagsForResource:
			return &eksapi.TagsResult{Tags: map[string]string{}}, nil
		}
		return &eksapi.AssociationResult{Association: sampleAssociation()}, nil
	}
	cases := []struct {
		name string
		call func() error
		want matchedView
	}{
		{"create", func() error {
			_, err := client.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{
				ClusterName: aws.String("dev-1"), Namespace: aws.String("team-a"), ServiceAccount: aws.String("app"),
				RoleArn: aws.String("arn:aws:iam::000000000000:role/app"), ClientRequestToken: aws.String("tok-1"),
				Tags: map[string]string{"k": "v"}, DisableSessionTags: aws.Bool(false),
			})
			return err
		}, matchedView{Service: "eks", Action: "CreatePodIdentityAssociation", Labels: map[string]string{"clusterName": "dev-1"}, Query: map[string][]string{},
			Body: `{"clientRequestToken":"tok-1","disableSessionTags":false,"namespace":"team-a","roleArn":"arn:aws:iam::000000000000:role/app","serviceAccount":"app","tags":{"k":"v"}}`}},
		{"describe", func() error {
			_, err := client.DescribePodIdentityAssociation(ctx, &awseks.DescribePodIdentityAssociationInput{ClusterName: aws.String("dev-1"), AssociationId: aws.String("a-1")})
			return err
		}, matchedView{Service: "eks", Action: "DescribePodIdentityAssociation", Labels: map[string]string{"clusterName": "dev-1", "associationId": "a-1"}, Query: map[string][]string{}}},
		{"list", func() error {
			_, err := client.ListPodIdentityAssociations(ctx, &awseks.ListPodIdentityAssociationsInput{ClusterName: aws.String("dev-1"), Namespace: aws.String("team-a"),
				ServiceAccount: aws.String("app"), MaxResults: aws.Int32(5), NextToken: aws.String("n/1=")})
			return err
		}, matchedView{Service: "eks", Action: "ListPodIdentityAssociations", Labels: map[string]string{"clusterName": "dev-1"},
			Query: map[string][]string{"namespace": {"team-a"}, "serviceAccount": {"app"}, "maxResults": {"5"}, "nextToken": {"n/1="}}}},
		{"update", func() error {
			_, err := client.UpdatePodIdentityAssociation(ctx, &awseks.UpdatePodIdentityAssociationInput{ClusterName: aws.String("dev-1"), AssociationId: aws.String("a-1"),
				RoleArn: aws.String("arn:aws:iam::000000000000:role/b"), ClientRequestToken: aws.String("tok-2")})
			return err
		}, matchedView{Service: "eks", Action: "UpdatePodIdentityAssociation", Labels: map[string]string{"clusterName": "dev-1", "associationId": "a-1"}, Query: map[string][]string{},
			Body: `{"clientRequestToken":"tok-2","roleArn":"arn:aws:iam::000000000000:role/b"}`}},
		{"delete", func() error {
			_, err := client.DeletePodIdentityAssociation(ctx, &awseks.DeletePodIdentityAssociationInput{ClusterName: aws.String("dev-1"), AssociationId: aws.String("a-1")})
			return err
		}, matchedView{Service: "eks", Action: "DeletePodIdentityAssociation", Labels: map[string]string{"clusterName": "dev-1", "associationId": "a-1"}, Query: map[string][]string{}}},
		{"describe cluster", func() error {
			_, err := client.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("dev-1")})
			return err
		}, matchedView{Service: "eks", Action: "DescribeCluster", Labels: map[string]string{"name": "dev-1"}, Query: map[string][]string{}}},
		{"list clusters", func() error {
			_, err := client.ListClusters(ctx, &awseks.ListClustersInput{MaxResults: aws.Int32(2), Include: []string{"all"}})
			return err
		}, matchedView{Service: "eks", Action: "ListClusters", Query: map[string][]string{"maxResults": {"2"}, "include": {"all"}}}},
		{"tag", func() error {
			_, err := client.TagResource(ctx, &awseks.TagResourceInput{ResourceArn: aws.String(assocARN), Tags: map[string]string{"a": "b"}})
			return err
		}, matchedView{Service: "eks", Action: "TagResource", Labels: map[string]string{"resourceArn": assocARN}, Query: map[string][]string{}, Body: `{"tags":{"a":"b"}}`}},
		{"untag", func() error {
			_, err := client.UntagResource(ctx, &awseks.UntagResourceInput{ResourceArn: aws.String(assocARN), TagKeys: []string{"a", "c/d"}})
			return err
		}, matchedView{Service: "eks", Action: "UntagResource", Labels: map[string]string{"resourceArn": assocARN}, Query: map[string][]string{"tagKeys": {"a", "c/d"}}}},
		{"list tags", func() error {
			_, err := client.ListTagsForResource(ctx, &awseks.ListTagsForResourceInput{ResourceArn: aws.String(assocARN)})
			return err
		}, matchedView{Service: "eks", Action: "ListTagsForResource", Labels: map[string]string{"resourceArn": assocARN}, Query: map[string][]string{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tc.want, view(w.last(t))); diff != "" {
				t.Errorf("matched request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoClientReadsTheShapes(t *testing.T) {
	w, client := newWire(t)
	ctx := context.Background()
	w.answer = func(req *eksapi.Request) (any, error) {
		switch req.Action {
		case eksapi.ListPodIdentityAssociations:
			return &eksapi.ListAssociationsResult{Associations: []eksapi.AssociationSummary{{
				ClusterName: "dev-1", Namespace: "team-a", ServiceAccount: "app", AssociationArn: assocARN, AssociationID: "a-0123456789abcdefg",
			}}, NextToken: "next-1"}, nil
		case eksapi.DescribeCluster:
			return &eksapi.DescribeClusterResult{Cluster: eksapi.Cluster{Name: "dev-1", Arn: "arn:aws:eks:us-east-1:000000000000:cluster/dev-1",
				CreatedAt: eksapi.Epoch(created), Identity: eksapi.ClusterIdentity{OIDC: eksapi.ClusterOIDC{Issuer: "https://issuer.example/id/1"}},
				Status: "ACTIVE", Tags: map[string]string{}}}, nil
		case eksapi.ListClusters:
			return &eksapi.ListClustersResult{Clusters: []string{"a", "b"}, NextToken: "YQ"}, nil
		case eksapi.ListTagsForResource:
			return &eksapi.TagsResult{Tags: map[string]string{"x": "y"}}, nil
		}
		return &eksapi.AssociationResult{Association: sampleAssociation()}, nil
	}

	got, err := client.DescribePodIdentityAssociation(ctx, &awseks.DescribePodIdentityAssociationInput{ClusterName: aws.String("dev-1"), AssociationId: aws.String("a-0123456789abcdefg")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantAssociation(), got.Association, cmpAssoc); diff != "" {
		t.Errorf("association (-want +got):\n%s", diff)
	}

	list, err := client.ListPodIdentityAssociations(ctx, &awseks.ListPodIdentityAssociationsInput{ClusterName: aws.String("dev-1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Associations) != 1 || aws.ToString(list.Associations[0].AssociationArn) != assocARN || aws.ToString(list.Associations[0].Namespace) != "team-a" ||
		aws.ToString(list.NextToken) != "next-1" {
		t.Errorf("list = %+v, next %q", list.Associations, aws.ToString(list.NextToken))
	}

	c, err := client.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("dev-1")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster == nil || c.Cluster.Identity == nil || c.Cluster.Identity.Oidc == nil ||
		aws.ToString(c.Cluster.Identity.Oidc.Issuer) != "https://issuer.example/id/1" || c.Cluster.Status != types.ClusterStatusActive ||
		!aws.ToTime(c.Cluster.CreatedAt).Equal(created) || aws.ToString(c.Cluster.Arn) != "arn:aws:eks:us-east-1:000000000000:cluster/dev-1" {
		t.Errorf("cluster = %+v", c.Cluster)
	}

	lc, err := client.ListClusters(ctx, &awseks.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, lc.Clusters); diff != "" || aws.ToString(lc.NextToken) != "YQ" {
		t.Errorf("clusters (-want +got):\n%s next %q", diff, aws.ToString(lc.NextToken))
	}

	tags, err := client.ListTagsForResource(ctx, &awseks.ListTagsForResourceInput{ResourceArn: aws.String(assocARN)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"x": "y"}, tags.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

func TestGoClientReadsTheErrors(t *testing.T) {
	w, client := newWire(t)
	ctx := context.Background()
	cases := []struct {
		err         error
		wantCode    string
		wantStatus  int
		wantMessage string
		check       func(t *testing.T, err error)
	}{
		{awserr.New(awserr.ResourceNotFoundException, "No cluster found for name: dev-1."), "ResourceNotFoundException", 404, "No cluster found for name: dev-1.",
			func(t *testing.T, err error) {
				var e *types.ResourceNotFoundException
				if !errors.As(err, &e) || aws.ToString(e.ClusterName) != "dev-1" {
					t.Errorf("want *types.ResourceNotFoundException naming dev-1, got %#v", err)
				}
			}},
		{awserr.New(awserr.InvalidParameterException, "bad namespace"), "InvalidParameterException", 400, "bad namespace",
			func(t *testing.T, err error) {
				var e *types.InvalidParameterException
				if !errors.As(err, &e) || aws.ToString(e.ClusterName) != "dev-1" {
					t.Errorf("want *types.InvalidParameterException naming dev-1, got %#v", err)
				}
			}},
		{awserr.New(awserr.ResourceInUseException, "Association already exists: a-1"), "ResourceInUseException", 409, "Association already exists: a-1",
			func(t *testing.T, err error) {
				var e *types.ResourceInUseException
				if !errors.As(err, &e) {
					t.Errorf("want *types.ResourceInUseException, got %#v", err)
				}
			}},
		{awserr.New(awserr.InvalidRequestException, "nope"), "InvalidRequestException", 400, "nope", nil},
		{awserr.New(awserr.ResourceLimitExceededException, "too many"), "ResourceLimitExceededException", 400, "too many", nil},
		{awserr.New(awserr.AccessDenied, "User: x is not authorized"), "AccessDeniedException", 403, "User: x is not authorized",
			func(t *testing.T, err error) {
				var e *types.AccessDeniedException
				if !errors.As(err, &e) {
					t.Errorf("want *types.AccessDeniedException, got %#v", err)
				}
			}},
		{errors.New("disk on fire"), "ServerException", 500, "An internal error occurred; see the server log for this request ID.",
			func(t *testing.T, err error) {
				var e *types.ServerException
				if !errors.As(err, &e) {
					t.Errorf("want *types.ServerException, got %#v", err)
				}
				if strings.Contains(err.Error(), "disk on fire") {
					t.Errorf("the cause reached the client: %v", err)
				}
			}},
		{awserr.New(awserr.InvalidClientTokenID, "The security token included in the request is invalid."), "UnrecognizedClientException", 403, "The security token included in the request is invalid.", nil},
		{awserr.New(awserr.SignatureDoesNotMatch, "sig"), "InvalidSignatureException", 403, "sig", nil},
		{awserr.New(awserr.MissingAuthenticationToken, "Missing Authentication Token"), "MissingAuthenticationTokenException", 403, "Missing Authentication Token", nil},
		{awserr.New(awserr.ExpiredToken, "The security token included in the request is expired"), "ExpiredTokenException", 403, "The security token included in the request is expired", nil},
	}
	for _, tc := range cases {
		t.Run(tc.wantCode, func(t *testing.T) {
			w.answer = func(*eksapi.Request) (any, error) { return nil, tc.err }
			_, err := client.DescribePodIdentityAssociation(ctx, &awseks.DescribePodIdentityAssociationInput{ClusterName: aws.String("dev-1"), AssociationId: aws.String("a-1")})
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an API error", err)
			}
			if ae.ErrorCode() != tc.wantCode || ae.ErrorMessage() != tc.wantMessage {
				t.Errorf("code, message = %q, %q; want %q, %q", ae.ErrorCode(), ae.ErrorMessage(), tc.wantCode, tc.wantMessage)
			}
			var re *awshttp.ResponseError
			if errors.As(err, &re) && re.HTTPStatusCode() != tc.wantStatus {
				t.Errorf("status = %d, want %d", re.HTTPStatusCode(), tc.wantStatus)
			}
			if re == nil {
				t.Errorf("no HTTP response error in %v", err)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}

}

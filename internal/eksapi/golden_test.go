package eksapi_test

import (
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/eksapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// render is an answer as the golden files hold it: status, the headers a
// client reads, and the body.
func render(rec *httptest.ResponseRecorder) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d\n", rec.Code)
	var names []string
	for k := range rec.Header() {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(rec.Header()[k], ", "))
	}
	b.WriteString("\n")
	b.WriteString(rec.Body.String())
	b.WriteString("\n")
	return b.String()
}

// TestGoldenAnswers pins every result shape and the error answers, one
// case per file in testdata (go test -run TestGoldenAnswers -update
// rewrites them).
func TestGoldenAnswers(t *testing.T) {
	exp := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	minimal := eksapi.Association{ClusterName: "dev-1", Namespace: "team-a", ServiceAccount: "app", RoleArn: "arn:aws:iam::000000000000:role/app",
		AssociationArn: assocARN, AssociationID: "a-0123456789abcdefg", Tags: map[string]string{}, CreatedAt: eksapi.Epoch(created), ModifiedAt: eksapi.Epoch(created)}
	results := map[string]any{
		"CreatePodIdentityAssociation":         &eksapi.AssociationResult{Association: sampleAssociation()},
		"DescribePodIdentityAssociation_plain": &eksapi.AssociationResult{Association: minimal},
		"ListPodIdentityAssociations": &eksapi.ListAssociationsResult{Associations: []eksapi.AssociationSummary{{
			ClusterName: "dev-1", Namespace: "team-a", ServiceAccount: "app", AssociationArn: assocARN, AssociationID: "a-0123456789abcdefg",
		}}, NextToken: "dGVhbS1hL2FwcA"},
		"ListPodIdentityAssociations_empty": &eksapi.ListAssociationsResult{Associations: []eksapi.AssociationSummary{}},
		"DescribeCluster": &eksapi.DescribeClusterResult{Cluster: eksapi.Cluster{Name: "dev-1", Arn: "arn:aws:eks:us-east-1:000000000000:cluster/dev-1",
			CreatedAt: eksapi.Epoch(created), Identity: eksapi.ClusterIdentity{OIDC: eksapi.ClusterOIDC{Issuer: "https://oidc.irsa.local/id/ABC"}},
			Status: "ACTIVE", Tags: map[string]string{"env": "dev"}}},
		"ListClusters":        &eksapi.ListClustersResult{Clusters: []string{"dev-1", "dev-2"}, NextToken: "ZGV2LTI"},
		"ListTagsForResource": &eksapi.TagsResult{Tags: map[string]string{"owner": "team-a"}},
		"TagResource":         eksapi.EmptyResult{},
		"AssumeRoleForPodIdentity": &eksapi.AssumeRoleForPodIdentityResult{
			Subject: eksapi.Subject{Namespace: "team-a", ServiceAccount: "app"}, Audience: "pods.eks.amazonaws.com",
			PodIdentityAssociation: eksapi.AssociationRef{AssociationArn: assocARN, AssociationID: "a-0123456789abcdefg"},
			AssumedRoleUser: eksapi.AssumedRoleUser{Arn: "arn:aws:sts::000000000000:assumed-role/app/eks-dev-1-web-5d8f7-abcde-3f2a9c1e-0d4b-4e8a-9a51-0c2f6b7d8e90",
				AssumeRoleID: "AROAEXAMPLEEXAMPLE123:eks-dev-1-web-5d8f7-abcde-3f2a9c1e-0d4b-4e8a-9a51-0c2f6b7d8e90"},
			Credentials: eksapi.Credentials{SessionToken: "EXAMPLE-SESSION-TOKEN", SecretAccessKey: "EXAMPLE-SECRET", AccessKeyID: "ASIAEXAMPLEEXAMPLE12", Expiration: eksapi.Epoch(exp)},
		},
	}
	for name, res := range results {
		t.Run(name, func(t *testing.T) {
			b, err := eksapi.Encode(res)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			eksapi.WriteResult(rec, "11111111-2222-4333-8444-555555555555", b)
			golden(t, name, render(rec))
		})
	}

	errs := []struct {
		name, service, cluster string
		err                    error
	}{
		{"error_ResourceNotFoundException_association", "eks", "dev-1", awserr.New(awserr.ResourceNotFoundException, "No Pod Identity Association found for id: a-00000000000000000.")},
		{"error_ResourceNotFoundException_cluster", "eks", "", awserr.New(awserr.ResourceNotFoundException, "No cluster found for name: nope.")},
		{"error_ResourceInUseException", "eks", "dev-1", awserr.New(awserr.ResourceInUseException, "Association already exists: a-0123456789abcdefg")},
		{"error_AccessDeniedException_eks", "eks", "dev-1", awserr.New(awserr.AccessDenied, "User: arn:aws:sts::000000000000:assumed-role/app/s is not authorized to perform: eks:ListPodIdentityAssociations on resource: arn:aws:eks:us-east-1:000000000000:cluster/dev-1")},
		{"error_AccessDeniedException_eks-auth", "eks-auth", "dev-1", awserr.EKSAuthAccessDenied("Not authorized to perform sts:AssumeRole.")},
		{"error_InvalidTokenException", "eks-auth", "dev-1", awserr.New(awserr.InvalidTokenException, "The token is not a valid JWT.")},
		{"error_ServerException", "eks", "dev-1", errors.New("a cause that stays in the log")},
		{"error_InternalServerException", "eks-auth", "dev-1", errors.New("a cause that stays in the log")},
		{"error_UnrecognizedClientException", "eks", "", awserr.New(awserr.InvalidClientTokenID, "The security token included in the request is invalid.")},
		{"error_UnknownOperationException", "eks", "", awserr.New(eksapi.UnknownOperationException, "No operation matches PUT /clusters").WithStatus(404)},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			eksapi.WriteError(rec, "11111111-2222-4333-8444-555555555555", tc.service, eksapi.WireError(tc.service, tc.err), tc.cluster)
			golden(t, tc.name, render(rec))
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

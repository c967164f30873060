package eksapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/eksapi"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		method, path string
		want         *matchedView // nil: no action
	}{
		{"POST", "/clusters/dev-1/assume-role-for-pod-identity", &matchedView{Service: "eks-auth", Action: "AssumeRoleForPodIdentity", Labels: map[string]string{"clusterName": "dev-1"}}},
		{"POST", "/clusters/dev-1/pod-identity-associations", &matchedView{Service: "eks", Action: "CreatePodIdentityAssociation", Labels: map[string]string{"clusterName": "dev-1"}}},
		{"GET", "/clusters/dev-1/pod-identity-associations", &matchedView{Service: "eks", Action: "ListPodIdentityAssociations", Labels: map[string]string{"clusterName": "dev-1"}}},
		{"GET", "/clusters/dev-1/pod-identity-associations/a-1", &matchedView{Service: "eks", Action: "DescribePodIdentityAssociation", Labels: map[string]string{"clusterName": "dev-1", "associationId": "a-1"}}},
		{"POST", "/clusters/dev-1/pod-identity-associations/a-1", &matchedView{Service: "eks", Action: "UpdatePodIdentityAssociation", Labels: map[string]string{"clusterName": "dev-1", "associationId": "a-1"}}},
		{"DELETE", "/clusters/dev-1/pod-identity-associations/a-1", &matchedView{Service: "eks", Action: "DeletePodIdentityAssociation", Labels: map[string]string{"clusterName": "dev-1", "associationId": "a-1"}}},
		{"GET", "/clusters/dev-1", &matchedView{Service: "eks", Action: "DescribeCluster", Labels: map[string]string{"name": "dev-1"}}},
		{"GET", "/clusters", &matchedView{Service: "eks", Action: "ListClusters"}},
		// An ARN label keeps its escaped slashes inside the segment.
		{"GET", "/tags/arn%3Aaws%3Aeks%3Aus-east-1%3A000000000000%3Apodidentityassociation%2Fdev-1%2Fa-1", &matchedView{Service: "eks", Action: "ListTagsForResource",
			Labels: map[string]string{"resourceArn": "arn:aws:eks:us-east-1:000000000000:podidentityassociation/dev-1/a-1"}}},
		{"POST", "/tags/arn%3Ax", &matchedView{Service: "eks", Action: "TagResource", Labels: map[string]string{"resourceArn": "arn:x"}}},
		{"DELETE", "/tags/arn%3Ax", &matchedView{Service: "eks", Action: "UntagResource", Labels: map[string]string{"resourceArn": "arn:x"}}},
		{"GET", "/clusters/dev-1/assume-role-for-pod-identity", nil},
		{"PUT", "/clusters/dev-1/pod-identity-associations", nil},
		{"GET", "/clusters/", nil},
		{"GET", "/clusters//pod-identity-associations", nil},
		{"GET", "/clusters/dev-1/pod-identity-associations/a-1/extra", nil},
		{"GET", "/tags/", nil},
		{"POST", "/clusters", nil},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			u, err := url.Parse("http://h" + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			req, err := eksapi.Match(tc.method, u, nil)
			if tc.want == nil {
				e := awserr.As(err)
				if req != nil || e.Code != eksapi.UnknownOperationException || e.Status() != 404 {
					t.Fatalf("Match = %+v, %v; want UnknownOperationException 404", req, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := view(req)
			got.Query = nil
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestServiceOf(t *testing.T) {
	for path, want := range map[string]string{
		"/clusters/x/assume-role-for-pod-identity": "eks-auth",
		"/clusters/x/pod-identity-associations":    "eks",
		"/tags/x":                                  "eks",
		"/clusters":                                "eks",
	} {
		if got := eksapi.ServiceOf(&url.URL{Path: path}); got != want {
			t.Errorf("ServiceOf(%s) = %s, want %s", path, got, want)
		}
	}
}

func TestWireError(t *testing.T) {
	cases := []struct {
		service    string
		in         error
		wantCode   string
		wantStatus int
	}{
		{"eks", awserr.New(awserr.AccessDenied, "m"), "AccessDeniedException", 403},
		{"eks-auth", awserr.New(awserr.AccessDenied, "m"), "AccessDeniedException", 400},
		{"eks-auth", awserr.New(awserr.AccessDeniedException, "m"), "AccessDeniedException", 400},
		{"eks-auth", awserr.EKSAuthAccessDenied("m"), "AccessDeniedException", 400},
		{"eks", awserr.New(awserr.InternalFailure, "m"), "ServerException", 500},
		{"eks-auth", awserr.New(awserr.InternalFailure, "m"), "InternalServerException", 500},
		{"eks-auth", awserr.New(awserr.ServerException, "m"), "InternalServerException", 500},
		{"eks", awserr.New(awserr.InternalServerException, "m"), "ServerException", 500},
		{"eks", errors.New("boom"), "ServerException", 500},
		{"eks-auth", errors.New("boom"), "InternalServerException", 500},
		{"eks-auth", awserr.New(awserr.InvalidIdentityToken, "m"), "InvalidTokenException", 400},
		{"eks-auth", awserr.New(awserr.InvalidTokenException, "m"), "InvalidTokenException", 400},
		{"eks-auth", awserr.New(awserr.ExpiredTokenException, "m"), "ExpiredTokenException", 400},
		{"eks-auth", awserr.New(awserr.ExpiredToken, "m"), "ExpiredTokenException", 403},
		{"eks", awserr.New(awserr.ExpiredToken, "m"), "ExpiredTokenException", 403},
		{"eks-auth", awserr.New(awserr.IDPCommunicationError, "m"), "ServiceUnavailableException", 503},
		{"eks-auth", awserr.New(awserr.ThrottlingException, "m"), "ThrottlingException", 429},
		{"eks-auth", awserr.New(awserr.Throttling, "m"), "ThrottlingException", 429},
		{"eks-auth", awserr.New(awserr.ResourceNotFoundException, "m"), "ResourceNotFoundException", 404},
		{"eks-auth", awserr.New(awserr.MalformedPolicyDocument, "m"), "InvalidParameterException", 400},
		{"eks", awserr.New(awserr.ValidationError, "m"), "InvalidParameterException", 400},
		{"eks", awserr.New(awserr.NoSuchEntity, "m"), "ResourceNotFoundException", 404},
		{"eks", awserr.New(awserr.ResourceInUseException, "m"), "ResourceInUseException", 409},
		{"eks", awserr.New(awserr.BadRequestException, "m"), "BadRequestException", 400},
		{"eks", awserr.New(awserr.NotFoundException, "m"), "NotFoundException", 404},
		{"eks", awserr.New(awserr.InvalidClientTokenID, "m"), "UnrecognizedClientException", 403},
		{"eks-auth", awserr.New(awserr.SignatureDoesNotMatch, "m"), "InvalidSignatureException", 403},
		{"eks", awserr.New(awserr.RequestExpired, "m"), "InvalidSignatureException", 403},
		{"eks", awserr.New(awserr.IncompleteSignature, "m"), "IncompleteSignatureException", 400},
		{"eks-auth", awserr.New(awserr.MissingAuthenticationToken, "m"), "MissingAuthenticationTokenException", 403},
		// Codes outside the service's model.
		{"eks", awserr.New(awserr.InvalidTokenException, "m"), "InvalidRequestException", 400},
		{"eks-auth", awserr.New(awserr.ResourceInUseException, "m"), "InvalidRequestException", 400},
		{"eks", awserr.New("SomethingElse", "m").WithStatus(502), "ServerException", 500},
	}
	for _, tc := range cases {
		got := eksapi.WireError(tc.service, tc.in)
		if got.Code != tc.wantCode || got.Status() != tc.wantStatus {
			t.Errorf("WireError(%s, %v) = %s %d, want %s %d", tc.service, tc.in, got.Code, got.Status(), tc.wantCode, tc.wantStatus)
		}
		if ae := awserr.As(tc.in); ae.Cause == nil && got.Message != ae.Message {
			t.Errorf("WireError(%s, %v) message %q, want %q", tc.service, tc.in, got.Message, ae.Message)
		}
	}
}

func TestWriteError(t *testing.T) {
	cases := []struct {
		service, cluster string
		err              *awserr.Error
		wantBody         string
	}{
		{"eks", "dev-1", awserr.New(awserr.ResourceNotFoundException, "No association found"), `{"message":"No association found","clusterName":"dev-1"}`},
		{"eks", "", awserr.New(awserr.ResourceNotFoundException, "No cluster found for name: x."), `{"message":"No cluster found for name: x."}`},
		{"eks", "dev-1", awserr.New(awserr.AccessDeniedException, "denied <&>").WithStatus(403), `{"message":"denied <&>"}`},
		{"eks-auth", "dev-1", awserr.New(awserr.ResourceNotFoundException, "m"), `{"message":"m"}`},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		eksapi.WriteError(rec, "rid-1", tc.service, tc.err, tc.cluster)
		if rec.Code != tc.err.Status() || rec.Header().Get("X-Amzn-ErrorType") != tc.err.Code ||
			rec.Header().Get("x-amzn-RequestId") != "rid-1" || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: status %d, headers %v", tc.err.Code, rec.Code, rec.Header())
		}
		if got := rec.Body.String(); got != tc.wantBody {
			t.Errorf("%s: body %s, want %s", tc.err.Code, got, tc.wantBody)
		}
	}
}

func TestEpoch(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1735689600, 0), "1735689600"},
		{time.Unix(1735689600, 250_000_000), "1735689600.25"},
		{time.Unix(1735689600, 999_999), "1735689600"}, // below a millisecond
	} {
		b, err := json.Marshal(eksapi.Epoch(tc.t))
		if err != nil || string(b) != tc.want {
			t.Errorf("Epoch(%v) = %s, %v; want %s", tc.t, b, err, tc.want)
		}
	}
}

// callerCtx is a context with an authenticated root caller.
func callerCtx() context.Context {
	return reqctx.With(context.Background(), &reqctx.Info{RequestID: "r", Caller: &reqctx.Caller{Type: "AssumedRole", AccountID: "000000000000", ARN: "arn:aws:sts::000000000000:assumed-role/r/s"}})
}

func request(t *testing.T, method, target, body string) *eksapi.Request {
	t.Helper()
	u, err := url.Parse("http://h" + target)
	if err != nil {
		t.Fatal(err)
	}
	req, err := eksapi.Match(method, u, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// The handler's own checks, which answer before the service is called
// (Service is nil here: reaching it would panic).
func TestServeRefusesBeforeTheService(t *testing.T) {
	var authorized []string
	h := &eksapi.Handler{Region: "eu-west-1", Authorize: func(_ context.Context, action, resource string) (*policy.Result, error) {
		authorized = append(authorized, action+" "+resource)
		if strings.Contains(resource, "forbidden") {
			return &policy.Result{Decision: policy.ImplicitDeny}, awserr.New(awserr.AccessDenied, "User: u is not authorized to perform: "+action)
		}
		return nil, nil
	}}
	cases := []struct {
		name                 string
		method, target, body string
		wantCode             string
		wantAuthorized       string
		wantDecision         bool
	}{
		{"denied create", "POST", "/clusters/forbidden/pod-identity-associations", `{}`, "AccessDenied",
			"eks:CreatePodIdentityAssociation arn:aws:eks:eu-west-1:000000000000:cluster/forbidden", true},
		{"denied describe", "GET", "/clusters/forbidden/pod-identity-associations/a-1", ``, "AccessDenied",
			"eks:DescribePodIdentityAssociation arn:aws:eks:eu-west-1:000000000000:podidentityassociation/forbidden/a-1", true},
		{"denied assume", "POST", "/clusters/forbidden/assume-role-for-pod-identity", `{"token":"a.b.c"}`, "AccessDenied",
			"eks-auth:AssumeRoleForPodIdentity arn:aws:eks:eu-west-1:000000000000:cluster/forbidden", true},
		{"denied tag", "POST", "/tags/arn%3Aaws%3Aeks%3Aeu-west-1%3A000000000000%3Apodidentityassociation%2Fforbidden%2Fa-1", `{"tags":{"a":"b"}}`, "AccessDenied",
			"eks:TagResource arn:aws:eks:eu-west-1:000000000000:podidentityassociation/forbidden/a-1", true},
		{"body not JSON", "POST", "/clusters/dev/pod-identity-associations", `{"namespace":`, "InvalidRequestException",
			"eks:CreatePodIdentityAssociation arn:aws:eks:eu-west-1:000000000000:cluster/dev", false},
		{"member of the wrong type", "POST", "/clusters/dev/pod-identity-associations/a-1", `{"disableSessionTags":"yes"}`, "InvalidRequestException",
			"eks:UpdatePodIdentityAssociation arn:aws:eks:eu-west-1:000000000000:podidentityassociation/dev/a-1", false},
		{"trailing data", "POST", "/clusters/dev/pod-identity-associations", `{} {}`, "InvalidRequestException",
			"eks:CreatePodIdentityAssociation arn:aws:eks:eu-west-1:000000000000:cluster/dev", false},
		{"maxResults not a number", "GET", "/clusters/dev/pod-identity-associations?maxResults=ten", ``, "InvalidParameterException",
			"eks:ListPodIdentityAssociations arn:aws:eks:eu-west-1:000000000000:cluster/dev", false},
		{"list clusters maxResults 0", "GET", "/clusters?maxResults=0", ``, "InvalidParameterException", "eks:ListClusters *", false},
		{"list clusters maxResults 101", "GET", "/clusters?maxResults=101", ``, "InvalidParameterException", "eks:ListClusters *", false},
		{"list clusters bad token", "GET", "/clusters?nextToken=%21%21", ``, "InvalidParameterException", "eks:ListClusters *", false},
		{"assume without token", "POST", "/clusters/dev/assume-role-for-pod-identity", `{}`, "InvalidParameterException",
			"eks-auth:AssumeRoleForPodIdentity arn:aws:eks:eu-west-1:000000000000:cluster/dev", false},
		{"assume with a bad cluster name", "POST", "/clusters/-dev/assume-role-for-pod-identity", `{"token":"a.b.c"}`, "InvalidParameterException",
			"eks-auth:AssumeRoleForPodIdentity arn:aws:eks:eu-west-1:000000000000:cluster/-dev", false},
		{"tag without tags", "POST", "/tags/arn%3Ax", `{"tags":{}}`, "BadRequestException", "eks:TagResource arn:x", false},
		{"untag without keys", "DELETE", "/tags/arn%3Ax", ``, "BadRequestException", "eks:UntagResource arn:x", false},
		{"no tagger", "GET", "/tags/arn%3Ax", ``, "NotFoundException", "eks:ListTagsForResource arn:x", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			authorized = nil
			res, decision, err := h.Serve(callerCtx(), request(t, tc.method, tc.target, tc.body))
			if res != nil {
				t.Errorf("result %v, want none", res)
			}
			if got := awserr.As(err).Code; got != tc.wantCode {
				t.Errorf("code %s (%v), want %s", got, err, tc.wantCode)
			}
			if (decision != nil) != tc.wantDecision {
				t.Errorf("decision %v, want one: %v", decision, tc.wantDecision)
			}
			if diff := cmp.Diff([]string{tc.wantAuthorized}, authorized); diff != "" {
				t.Errorf("authorized (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("no caller", func(t *testing.T) {
		_, _, err := h.Serve(context.Background(), request(t, "GET", "/clusters", ""))
		if got := awserr.As(err).Code; got != awserr.MissingAuthenticationToken {
			t.Errorf("code %s, want MissingAuthenticationToken", got)
		}
	})
}

func TestAuditParameters(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	req := request(t, "POST", "/clusters/dev/assume-role-for-pod-identity?x-amz-foo=1", `{"token":"`+token+`","eksNodeName":"node-1","secretAccessKey":"s"}`)
	params, hash := eksapi.AuditParameters(req)
	want := map[string]any{"clusterName": "dev", "eksNodeName": "node-1"}
	if diff := cmp.Diff(want, params); diff != "" {
		t.Errorf("requestParameters (-want +got):\n%s", diff)
	}
	if hash != audit.TokenHash(token) || hash == "" {
		t.Errorf("tokenHash %q, want %q", hash, audit.TokenHash(token))
	}

	req = request(t, "GET", "/clusters/dev/pod-identity-associations?namespace=ns&maxResults=5&nextToken=t", "")
	params, hash = eksapi.AuditParameters(req)
	want = map[string]any{"clusterName": "dev", "namespace": "ns", "maxResults": int64(5), "nextToken": "t"}
	if diff := cmp.Diff(want, params); diff != "" || hash != "" {
		t.Errorf("requestParameters (-want +got):\n%s tokenHash %q", diff, hash)
	}

	req = request(t, "DELETE", "/tags/arn%3Ax?tagKeys=a&tagKeys=b", "")
	params, _ = eksapi.AuditParameters(req)
	want = map[string]any{"resourceArn": "arn:x", "tagKeys": []any{"a", "b"}}
	if diff := cmp.Diff(want, params); diff != "" {
		t.Errorf("requestParameters (-want +got):\n%s", diff)
	}

	req = request(t, "POST", "/clusters/dev/pod-identity-associations", `{"namespace":"ns","disableSessionTags":true,"tags":{"a":"b"}}`)
	params, _ = eksapi.AuditParameters(req)
	want = map[string]any{"clusterName": "dev", "namespace": "ns", "disableSessionTags": true, "tags": map[string]any{"a": "b"}}
	if diff := cmp.Diff(want, params); diff != "" {
		t.Errorf("requestParameters (-want +got):\n%s", diff)
	}

	if params, hash := eksapi.AuditParameters(nil); params == nil || len(params) != 0 || hash != "" {
		t.Errorf("AuditParameters(nil) = %v, %q", params, hash)
	}
}

func TestAuditResponse(t *testing.T) {
	exp := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	res := &eksapi.AssumeRoleForPodIdentityResult{
		Subject: eksapi.Subject{Namespace: "ns", ServiceAccount: "sa"}, Audience: "pods.eks.amazonaws.com",
		PodIdentityAssociation: eksapi.AssociationRef{AssociationArn: assocARN, AssociationID: "a-1"},
		AssumedRoleUser:        eksapi.AssumedRoleUser{Arn: "arn:aws:sts::000000000000:assumed-role/r/eks-dev-pod-1", AssumeRoleID: "AROAEXAMPLE:eks-dev-pod-1"},
		Credentials:            eksapi.Credentials{SessionToken: "SESSION-TOKEN-VALUE", SecretAccessKey: "SECRET-KEY-VALUE", AccessKeyID: "ASIAEXAMPLE", Expiration: eksapi.Epoch(exp)},
	}
	got := eksapi.AuditResponse(eksapi.AssumeRoleForPodIdentity, res)
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "SESSION-TOKEN-VALUE") || strings.Contains(string(b), "SECRET-KEY-VALUE") {
		t.Fatalf("responseElements hold a secret: %s", b)
	}
	want := map[string]any{
		"subject":                map[string]any{"namespace": "ns", "serviceAccount": "sa"},
		"audience":               "pods.eks.amazonaws.com",
		"podIdentityAssociation": map[string]any{"associationArn": assocARN, "associationId": "a-1"},
		"assumedRoleUser":        map[string]any{"arn": "arn:aws:sts::000000000000:assumed-role/r/eks-dev-pod-1", "assumeRoleId": "AROAEXAMPLE:eks-dev-pod-1"},
		"credentials":            map[string]any{"accessKeyId": "ASIAEXAMPLE", "expiration": "2026-11-23T12:00:00Z"},
	}
	// Compared as the event holds them: JSON.
	var written map[string]any
	if err := json.Unmarshal(b, &written); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, written); diff != "" {
		t.Errorf("responseElements (-want +got):\n%s", diff)
	}

	if got := eksapi.AuditResponse(eksapi.DescribePodIdentityAssociation, &eksapi.AssociationResult{Association: sampleAssociation()}); got != nil {
		t.Errorf("a read-only call has responseElements %v", got)
	}
	got = eksapi.AuditResponse(eksapi.CreatePodIdentityAssociation, &eksapi.AssociationResult{Association: sampleAssociation()})
	a, ok := got["association"].(map[string]any)
	if !ok || a["associationArn"] != assocARN || a["createdAt"] != "2026-11-23T10:00:00Z" {
		t.Errorf("create responseElements %v", got)
	}
	if got := eksapi.AuditResponse(eksapi.TagResource, eksapi.EmptyResult{}); got != nil {
		t.Errorf("tag responseElements %v, want null", got)
	}
}

func TestReadOnly(t *testing.T) {
	for action, want := range map[string]bool{
		"DescribeCluster": true, "ListClusters": true, "ListTagsForResource": true, "DescribePodIdentityAssociation": true,
		"AssumeRoleForPodIdentity": true, "CreatePodIdentityAssociation": false, "TagResource": false, "DeletePodIdentityAssociation": false,
	} {
		if got := eksapi.ReadOnly(action); got != want {
			t.Errorf("ReadOnly(%s) = %v", action, got)
		}
	}
}

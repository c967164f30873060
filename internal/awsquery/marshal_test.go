package awsquery

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const testRequestID = "c6104cbe-af31-11e0-8154-cbc7ccf896c7"

var (
	issued  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	expires = time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.irsa.local/id/4F0B1A"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.irsa.local/id/4F0B1A:sub":"system:serviceaccount:production:s3-reader","oidc.irsa.local/id/4F0B1A:aud":"sts.amazonaws.com"}}}]}`

const readPolicy = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": \"s3:GetObject\",\n      \"Resource\": \"arn:aws:s3:::bucket/team-a/*\"\n    }\n  ]\n}"

func exampleRole() role {
	return role{
		Path:                     "/team-a/",
		RoleName:                 "s3-reader",
		RoleID:                   "AROA4Q7OQAZYHVKH4GGNZ",
		Arn:                      "arn:aws:iam::111122223333:role/team-a/s3-reader",
		CreateDate:               issued,
		AssumeRolePolicyDocument: EncodePolicyDocument(trustPolicy),
		Description:              ptr("Reads team-a's objects"),
		MaxSessionDuration:       ptr(int32(3600)),
		PermissionsBoundary: &permissionsBoundary{
			PermissionsBoundaryType: "Policy",
			PermissionsBoundaryArn:  "arn:aws:iam::111122223333:policy/boundary",
		},
		Tags:         []Tag{{Key: "team", Value: "a"}, {Key: "cost-center", Value: "12345"}},
		RoleLastUsed: &roleLastUsed{LastUsedDate: ptr(expires), Region: "us-west-2"},
	}
}

func exampleCredentials() credentials {
	return credentials{
		AccessKeyID:     "ASIAQAAAAAAABQ2JMLMB",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		SessionToken:    "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE",
		Expiration:      expires,
	}
}

type resultCase struct {
	name   string
	action string
	ns     string
	result any
	json   bool
}

func resultCases() []resultCase {
	matched := []statement{{
		SourcePolicyID:   "s3-read",
		SourcePolicyType: "IAM Policy",
		StartPosition:    position{Line: 1, Column: 41},
		EndPosition:      position{Line: 1, Column: 113},
	}}
	simulate := simulatePolicyResult{
		EvaluationResults: []evaluationResult{
			{
				EvalActionName:              "s3:GetObject",
				EvalResourceName:            "arn:aws:s3:::bucket/team-a/report.csv",
				EvalDecision:                "allowed",
				MatchedStatements:           matched,
				MissingContextValues:        []string{},
				OrganizationsDecisionDetail: &organizationsDecisionDetail{AllowedByOrganizations: true},
				EvalDecisionDetails:         map[string]string{},
				ResourceSpecificResults: []resourceSpecificResult{{
					EvalResourceName:     "arn:aws:s3:::bucket/team-a/report.csv",
					EvalResourceDecision: "allowed",
					MatchedStatements:    matched,
					MissingContextValues: []string{},
				}},
			},
			{
				EvalActionName:       "s3:PutObject",
				EvalResourceName:     "*",
				EvalDecision:         "implicitDeny",
				MatchedStatements:    []statement{},
				MissingContextValues: []string{"aws:SourceIp", "s3:prefix"},
				EvalDecisionDetails:  map[string]string{"IAM Policy": "implicitDeny"},
			},
		},
		IsTruncated: false,
	}
	webIdentity := assumeRoleWithWebIdentityResult{
		Audience: "sts.amazonaws.com",
		AssumedRoleUser: assumedRoleUser{
			AssumedRoleID: "AROA4Q7OQAZYHVKH4GGNZ:botocore-session-1767225600",
			Arn:           "arn:aws:sts::111122223333:assumed-role/s3-reader/botocore-session-1767225600",
		},
		Provider:                    "arn:aws:iam::111122223333:oidc-provider/oidc.irsa.local/id/4F0B1A",
		Credentials:                 exampleCredentials(),
		SubjectFromWebIdentityToken: "system:serviceaccount:production:s3-reader",
		PackedPolicySize:            ptr(6),
		SourceIdentity:              "alice@example.com",
	}
	callerIdentity := getCallerIdentityResult{
		Arn:     "arn:aws:sts::111122223333:assumed-role/s3-reader/botocore-session-1767225600",
		UserID:  "AROA4Q7OQAZYHVKH4GGNZ:botocore-session-1767225600",
		Account: "111122223333",
	}
	listed := exampleRole()
	listed.Tags, listed.RoleLastUsed, listed.PermissionsBoundary = nil, nil, nil
	getRole := roleResult{Role: exampleRole()}
	return []resultCase{
		{name: "AssumeRoleWithWebIdentity", action: "AssumeRoleWithWebIdentity", ns: STSNamespace, result: webIdentity},
		{name: "AssumeRoleWithWebIdentity_json", action: "AssumeRoleWithWebIdentity", ns: STSNamespace, result: webIdentity, json: true},
		{name: "AssumeRole", action: "AssumeRole", ns: STSNamespace, result: &assumeRoleResult{
			AssumedRoleUser: assumedRoleUser{
				AssumedRoleID: "AROA4Q7OQAZYHVKH4GGNZ:ops",
				Arn:           "arn:aws:sts::111122223333:assumed-role/s3-reader/ops",
			},
			Credentials: exampleCredentials(),
		}},
		{name: "GetCallerIdentity", action: "GetCallerIdentity", ns: STSNamespace, result: callerIdentity},
		{name: "GetCallerIdentity_json", action: "GetCallerIdentity", ns: STSNamespace, result: callerIdentity, json: true},
		{name: "CreateOpenIDConnectProvider", action: "CreateOpenIDConnectProvider", ns: IAMNamespace, result: createOpenIDConnectProviderResult{
			OpenIDConnectProviderArn: "arn:aws:iam::111122223333:oidc-provider/oidc.irsa.local/id/4F0B1A",
			Tags:                     []Tag{{Key: "cluster", Value: "kind"}},
		}},
		{name: "GetOpenIDConnectProvider", action: "GetOpenIDConnectProvider", ns: IAMNamespace, result: getOpenIDConnectProviderResult{
			URL:            "oidc.irsa.local/id/4F0B1A",
			ClientIDList:   []string{"sts.amazonaws.com"},
			ThumbprintList: []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"},
			CreateDate:     issued,
			Tags:           []Tag{{Key: "cluster", Value: "kind"}},
		}},
		{name: "ListOpenIDConnectProviders", action: "ListOpenIDConnectProviders", ns: IAMNamespace, result: listOpenIDConnectProvidersResult{
			OpenIDConnectProviderList: []oidcProviderListEntry{
				{Arn: "arn:aws:iam::111122223333:oidc-provider/oidc.irsa.local/id/4F0B1A"},
				{Arn: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
			},
		}},
		{name: "CreateRole", action: "CreateRole", ns: IAMNamespace, result: roleResult{Role: func() role {
			r := exampleRole()
			r.MaxSessionDuration, r.RoleLastUsed = nil, nil
			return r
		}()}},
		{name: "GetRole", action: "GetRole", ns: IAMNamespace, result: getRole},
		{name: "GetRole_json", action: "GetRole", ns: IAMNamespace, result: getRole, json: true},
		{name: "ListRoles", action: "ListRoles", ns: IAMNamespace, result: listRolesResult{
			Roles:       []role{listed},
			IsTruncated: true,
			Marker:      "c3Rhcn", // opaque to clients
		}},
		{name: "ListRoles_empty", action: "ListRoles", ns: IAMNamespace, result: listRolesResult{}},
		{name: "GetRolePolicy", action: "GetRolePolicy", ns: IAMNamespace, result: getRolePolicyResult{
			RoleName:       "s3-reader",
			PolicyName:     "read",
			PolicyDocument: EncodePolicyDocument(readPolicy),
		}},
		{name: "ListRolePolicies_empty", action: "ListRolePolicies", ns: IAMNamespace, result: listRolePoliciesResult{PolicyNames: []string{}}},
		{name: "ListAttachedRolePolicies", action: "ListAttachedRolePolicies", ns: IAMNamespace, result: listAttachedRolePoliciesResult{
			AttachedPolicies: []attachedPolicy{{PolicyName: "ReadOnlyAccess", PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess"}},
		}},
		{name: "CreatePolicy", action: "CreatePolicy", ns: IAMNamespace, result: createPolicyResult{Policy: managedPolicy{
			PolicyName:       "read",
			PolicyID:         "ANPA4Q7OQAZYHVKH4GGNZ",
			Arn:              "arn:aws:iam::111122223333:policy/read",
			Path:             "/",
			DefaultVersionID: "v1",
			IsAttachable:     true,
			CreateDate:       issued,
			UpdateDate:       issued,
		}}},
		{name: "GetPolicyVersion", action: "GetPolicyVersion", ns: IAMNamespace, result: getPolicyVersionResult{PolicyVersion: policyVersion{
			Document:         EncodePolicyDocument(readPolicy),
			VersionID:        "v1",
			IsDefaultVersion: true,
			CreateDate:       issued,
		}}},
		{name: "SimulatePrincipalPolicy", action: "SimulatePrincipalPolicy", ns: IAMNamespace, result: simulate},
		{name: "SimulatePrincipalPolicy_json", action: "SimulatePrincipalPolicy", ns: IAMNamespace, result: simulate, json: true},
		{name: "AttachRolePolicy", action: "AttachRolePolicy", ns: IAMNamespace, result: nil},
		{name: "AttachRolePolicy_json", action: "AttachRolePolicy", ns: IAMNamespace, result: nil, json: true},
	}
}

type errorCase struct {
	name string
	ns   string
	err  *awserr.Error
	json bool
}

// errorCases has every error code of SPEC.md, with AWS's own message where
// one was observed (see sts-iam-eksauth-wire.md and the recorded snapshots).
func errorCases() []errorCase {
	return []errorCase{
		{"InvalidIdentityToken", STSNamespace, awserr.New(awserr.InvalidIdentityToken, "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com"), false},
		{"InvalidIdentityToken_audience", STSNamespace, awserr.New(awserr.InvalidIdentityToken, "Incorrect token audience"), false},
		{"ExpiredTokenException", STSNamespace, awserr.New(awserr.ExpiredTokenException, "Token expired: current date/time 1624482533 must be before the expiration date/time1624482335"), false},
		{"IDPCommunicationError", STSNamespace, awserr.New(awserr.IDPCommunicationError, "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"), false},
		{"AccessDenied", STSNamespace, awserr.New(awserr.AccessDenied, "Not authorized to perform sts:AssumeRoleWithWebIdentity"), false},
		{"ValidationError", STSNamespace, awserr.New(awserr.ValidationError, `1 validation error detected: Value 'x y' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`), false},
		{"MalformedPolicyDocument", STSNamespace, awserr.New(awserr.MalformedPolicyDocument, "This policy contains invalid Json"), false},
		{"PackedPolicyTooLarge", STSNamespace, awserr.New(awserr.PackedPolicyTooLarge, "Packed size of session tags consumes 142% of allotted space."), false},
		{"InvalidClientTokenId", STSNamespace, awserr.New(awserr.InvalidClientTokenID, "The security token included in the request is invalid."), false},
		{"InvalidClientTokenId_json", STSNamespace, awserr.New(awserr.InvalidClientTokenID, "The security token included in the request is invalid."), true},
		{"SignatureDoesNotMatch", STSNamespace, awserr.New(awserr.SignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."), false},
		{"ExpiredToken", STSNamespace, awserr.New(awserr.ExpiredToken, "The security token included in the request is expired"), false},
		{"IncompleteSignature", STSNamespace, awserr.New(awserr.IncompleteSignature, "'value' not a valid key=value pair (missing equal-sign) in Authorization header"), false},
		{"MissingAuthenticationToken", STSNamespace, awserr.New(awserr.MissingAuthenticationToken, "Request is missing Authentication Token"), false},
		{"InvalidAction", STSNamespace, awserr.New(awserr.InvalidAction, "Could not find operation NoSuchAction for version 2011-06-15"), false},
		{"InvalidAction_json", STSNamespace, awserr.New(awserr.InvalidAction, "Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED"), true},
		{"MissingParameter", STSNamespace, awserr.New(awserr.MissingParameter, "The request must contain the parameter Action."), false},
		{"MalformedInput", STSNamespace, &awserr.Error{Code: CodeMalformedInput}, false},
		{"NoSuchEntity", IAMNamespace, awserr.New(awserr.NoSuchEntity, "The role with name s3-reader cannot be found."), false},
		{"EntityAlreadyExists", IAMNamespace, awserr.New(awserr.EntityAlreadyExists, "Role with name s3-reader already exists."), false},
		{"MalformedPolicyDocument_iam", IAMNamespace, awserr.New(awserr.MalformedPolicyDocument, "This policy contains invalid Json"), false},
		{"LimitExceeded", IAMNamespace, awserr.New(awserr.LimitExceeded, "Cannot exceed quota for PoliciesPerRole: 10"), false},
		{"InvalidInput", IAMNamespace, awserr.New(awserr.InvalidInput, "Service role name AWSServiceRoleForBatch has been taken in this account, please try a different suffix."), false},
		{"DeleteConflict", IAMNamespace, awserr.New(awserr.DeleteConflict, "Cannot delete entity, must remove referenced objects first."), false},
		{"InternalFailure", IAMNamespace, awserr.Internal(errors.New("disk on fire")), false},
	}
}

// golden compares got with testdata/name.golden, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/awsquery -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, diff)
	}
}

// checkWellFormed fails unless body is one well-formed document of the
// content type.
func checkWellFormed(t *testing.T, body []byte, contentType string) {
	t.Helper()
	switch contentType {
	case ContentTypeJSON:
		if !json.Valid(body) {
			t.Errorf("not valid JSON:\n%s", body)
		}
	case ContentTypeXML:
		d := xml.NewDecoder(bytes.NewReader(body))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("not well-formed XML: %v\n%s", err, body)
			}
		}
		if bytes.HasPrefix(body, []byte("<?xml")) {
			t.Errorf("AWS sends no XML declaration:\n%s", body)
		}
		if !bytes.HasSuffix(body, []byte(">\n")) {
			t.Errorf("AWS ends the document with a newline:\n%q", body)
		}
	default:
		t.Errorf("content type %q", contentType)
	}
}

func TestMarshalResultGolden(t *testing.T) {
	for _, tc := range resultCases() {
		t.Run(tc.name, func(t *testing.T) {
			body, ct, err := MarshalResult(tc.action, tc.ns, testRequestID, tc.result, tc.json)
			if err != nil {
				t.Fatal(err)
			}
			wantCT := ContentTypeXML
			if tc.json {
				wantCT = ContentTypeJSON
			}
			if ct != wantCT {
				t.Errorf("content type %q, want %q", ct, wantCT)
			}
			checkWellFormed(t, body, ct)
			golden(t, "result_"+tc.name, body)
		})
	}
}

func TestMarshalErrorGolden(t *testing.T) {
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := MarshalError(tc.ns, tc.err, testRequestID, tc.json)
			checkWellFormed(t, body, ct)
			golden(t, "error_"+tc.name, body)
		})
	}
}

// TestMarshalErrorFields decodes each rendered error back and checks the
// fields, so the golden files cannot drift from the error they render.
func TestMarshalErrorFields(t *testing.T) {
	type xmlError struct {
		XMLName   xml.Name
		Type      string  `xml:"Error>Type"`
		Code      string  `xml:"Error>Code"`
		Message   *string `xml:"Error>Message"`
		RequestID string  `xml:"RequestId"`
	}
	type jsonError struct {
		Error struct {
			Code    string
			Message *string
			Type    string
		}
		RequestID string `json:"RequestId"`
	}
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := MarshalError(tc.ns, tc.err, testRequestID, tc.json)
			var got xmlError
			if tc.json {
				var j jsonError
				if err := json.Unmarshal(body, &j); err != nil {
					t.Fatal(err)
				}
				got = xmlError{Type: j.Error.Type, Code: j.Error.Code, Message: j.Error.Message, RequestID: j.RequestID}
			} else if err := xml.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			want := xmlError{Type: tc.err.Fault(), Code: tc.err.Code, RequestID: testRequestID}
			if tc.err.Message != "" {
				want.Message = &tc.err.Message
			}
			if !tc.json {
				want.XMLName = xml.Name{Space: tc.ns, Local: "ErrorResponse"}
				if tc.err.Code == awserr.InvalidAction {
					want.XMLName.Space = FaultNamespace
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalErrorNil(t *testing.T) {
	body, _ := MarshalError(STSNamespace, nil, "r", false)
	if !bytes.Contains(body, []byte("<Code>InternalFailure</Code>")) || !bytes.Contains(body, []byte("<Type>Receiver</Type>")) {
		t.Errorf("nil error rendered as:\n%s", body)
	}
}

func TestMarshalEscaping(t *testing.T) {
	type result struct {
		Text  string `xml:"Text"`
		Lines string `xml:"Lines"`
	}
	in := result{Text: `a<b & "c" 'd' >e`, Lines: "one\r\ntwo\tthree\x00\xff\u2028"}
	body, _, err := MarshalResult("Echo", `urn:"x"`, `<id>`, in, false)
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, body, ContentTypeXML)
	var got struct {
		XMLName xml.Name
		Text    string `xml:"EchoResult>Text"`
		Lines   string `xml:"EchoResult>Lines"`
		ID      string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := "one\r\ntwo\tthree\uFFFD\uFFFD\u2028"
	if got.Text != in.Text || got.Lines != want || got.ID != "<id>" || got.XMLName.Space != `urn:"x"` {
		t.Errorf("round trip through XML: %+v\n%s", got, body)
	}

	body, _, err = MarshalResult("Echo", "", `"id"`, in, true)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		EchoResponse struct {
			EchoResult       result
			ResponseMetadata struct {
				RequestID string `json:"RequestId"`
			}
		}
	}
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	// JSON can carry NUL; only the invalid byte is replaced.
	wantJSON := "one\r\ntwo\tthree\x00\uFFFD\u2028"
	if j.EchoResponse.EchoResult.Text != in.Text || j.EchoResponse.EchoResult.Lines != wantJSON || j.EchoResponse.ResponseMetadata.RequestID != `"id"` {
		t.Errorf("round trip through JSON: %+v\n%s", j, body)
	}
	if !bytes.Contains(body, []byte(`a<b & `)) {
		t.Errorf("JSON escapes <, > or & where AWS does not:\n%s", body)
	}
}

func TestMarshalShapes(t *testing.T) {
	type inner struct {
		A string `xml:"A,omitempty"`
	}
	type Embedded struct {
		E string `xml:"E"`
	}
	type shapes struct {
		XMLName   xml.Name `xml:"ignored"`
		Embedded           // its fields render in place
		Skip      string   `xml:"-"`
		hidden    string
		Untagged  int64
		U         uint8             `xml:"U"`
		F         float64           `xml:"F"`
		Flat      []string          `xml:"Flat"`
		Wrapped   []string          `xml:"Wrapped>item"`
		NilList   []string          `xml:"NilList>member"`
		OmitList  []string          `xml:"OmitList>member,omitempty"`
		PtrItems  []*inner          `xml:"PtrItems>member"`
		Empty     inner             `xml:"Empty"`
		OmitEmpty inner             `xml:"OmitEmpty,omitempty"`
		Any       any               `xml:"Any"`
		NilAny    any               `xml:"NilAny"`
		Map       map[string]string `xml:"Map"`
		When      *time.Time        `xml:"When"`
		ZeroWhen  time.Time         `xml:"ZeroWhen,omitempty"`
		False     bool              `xml:"False,omitempty"`
		Zero      int               `xml:"Zero,omitempty"`
	}
	in := shapes{
		Embedded: Embedded{E: "e"}, Skip: "no", hidden: "no", Untagged: -7, U: 200, F: 1.5,
		Flat: []string{"x", "y"}, Wrapped: []string{"w"}, PtrItems: []*inner{{A: "a"}, nil},
		Any: 3, Map: map[string]string{"b": "2", "a": "1"}, When: ptr(time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("x", 3600))),
	}
	body, _, err := MarshalResult("Shapes", "urn:x", "r", in, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `<ShapesResponse xmlns="urn:x">
  <ShapesResult>
    <E>e</E>
    <Untagged>-7</Untagged>
    <U>200</U>
    <F>1.5</F>
    <Flat>x</Flat>
    <Flat>y</Flat>
    <Wrapped>
      <item>w</item>
    </Wrapped>
    <NilList/>
    <PtrItems>
      <member>
        <A>a</A>
      </member>
    </PtrItems>
    <Empty/>
    <Any>3</Any>
    <Map>
      <entry>
        <key>a</key>
        <value>1</value>
      </entry>
      <entry>
        <key>b</key>
        <value>2</value>
      </entry>
    </Map>
    <When>2026-03-04T04:06:07Z</When>
  </ShapesResult>
  <ResponseMetadata>
    <RequestId>r</RequestId>
  </ResponseMetadata>
</ShapesResponse>
`
	if diff := cmp.Diff(want, string(body)); diff != "" {
		t.Errorf("XML (-want +got):\n%s", diff)
	}
	body, _, err = MarshalResult("Shapes", "urn:x", "r", &in, true)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"ShapesResponse":{"ShapesResult":{"E":"e","Untagged":-7,"U":200,"F":1.5,"Flat":["x","y"],"Wrapped":["w"],"NilList":[],"PtrItems":[{"A":"a"}],"Empty":{},"Any":3,"Map":{"a":"1","b":"2"},"When":1772597167},"ResponseMetadata":{"RequestId":"r"}}}`
	if diff := cmp.Diff(wantJSON, string(body)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestMarshalResultRejects(t *testing.T) {
	type attr struct {
		A string `xml:"a,attr"`
	}
	type DupA struct {
		A string `xml:"X"`
	}
	type dup struct {
		DupA
		B string `xml:"X"`
	}
	type nested struct {
		A string `xml:"A>B"`
	}
	type bytesField struct {
		B []byte `xml:"B"`
	}
	type intMap struct {
		M map[int]string `xml:"M"`
	}
	type nan struct {
		F float64 `xml:"F"`
	}
	type ch struct {
		C chan int `xml:"C"`
	}
	type badName struct {
		A string `xml:"1A"`
	}
	type loop struct {
		Next *loop `xml:"Next"`
	}
	deep := &loop{}
	for i := 0; i < 40; i++ {
		deep = &loop{Next: deep}
	}
	for name, tc := range map[string]struct {
		action string
		result any
	}{
		"action with a dot":  {"A.B", struct{}{}},
		"empty action":       {"", struct{}{}},
		"not a struct":       {"A", 42},
		"attribute":          {"A", attr{}},
		"duplicate element":  {"A", dup{}},
		"nested non-list":    {"A", nested{}},
		"byte slice":         {"A", bytesField{B: []byte("x")}},
		"int map keys":       {"A", intMap{M: map[int]string{1: "a"}}},
		"NaN":                {"A", nan{F: nanValue()}},
		"channel":            {"A", ch{C: make(chan int)}},
		"bad element name":   {"A", badName{}},
		"runaway recursion":  {"A", deep},
		"xml.Marshaler type": {"A", struct{ T timeMarshaler }{}},
	} {
		t.Run(name, func(t *testing.T) {
			if body, _, err := MarshalResult(tc.action, "", "r", tc.result, false); err == nil {
				t.Errorf("no error; rendered\n%s", body)
			}
		})
	}
}

type timeMarshaler struct{}

func (timeMarshaler) MarshalXML(*xml.Encoder, xml.StartElement) error { return nil }

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestMarshalResultNilPointer(t *testing.T) {
	var r *getCallerIdentityResult
	body, _, err := MarshalResult("GetCallerIdentity", STSNamespace, "r", r, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), "Result") {
		t.Errorf("a nil result rendered a Result element:\n%s", body)
	}
}

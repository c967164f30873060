package sigv4

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testRequest is a server-side request: RequestURI as received, Host out of
// the header map.
func testRequest(method, target string, headers ...string) *http.Request {
	r := &http.Request{Method: method, RequestURI: target, Host: "sts.amazonaws.com", Header: http.Header{}}
	path, query, _ := strings.Cut(target, "?")
	r.URL = &url.URL{Path: path, RawQuery: query}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

const (
	testDate   = "20150830T123600Z"
	testCred   = "AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request"
	testSigHex = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
)

var testTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

func authz(params string) string { return "AWS4-HMAC-SHA256 " + params }

// TestParseErrors pins the code and text of every refusal. Sources of the
// texts: AWS responses quoted in public issue threads (aws/chalice#828,
// brendanhay/amazonka#316, Hadoop's S3A troubleshooting guide quoting STS,
// cognitect-labs/aws-api#27 quoting STS) and the responses recorded from
// AWS by mhart/dynalite (lib/index.js, test/connection.js). Texts marked
// "irsa" have no AWS counterpart.
func TestParseErrors(t *testing.T) {
	full := authz("Credential=" + testCred + ", SignedHeaders=host;x-amz-date, Signature=" + testSigHex)
	tests := []struct {
		name string
		r    *http.Request
		want *Error
	}{
		{
			name: "no authentication",
			r:    testRequest("POST", "/"),
			want: &Error{Code: CodeMissingAuthenticationToken, Message: "Request is missing Authentication Token"},
		},
		{
			name: "empty Authorization",
			r:    testRequest("POST", "/", "Authorization", ""),
			want: &Error{Code: CodeMissingAuthenticationToken, Message: "Request is missing Authentication Token"},
		},
		{
			name: "not AWS4",
			r:    testRequest("POST", "/", "Authorization", "Basic Zm9vOmJhcg=="),
			want: &Error{Code: CodeMissingAuthenticationToken, Message: "Request is missing Authentication Token"},
		},
		{
			name: "AWS4 without dash",
			r:    testRequest("POST", "/", "Authorization", "AWS4"),
			want: &Error{Code: CodeMissingAuthenticationToken, Message: "Request is missing Authentication Token"},
		},
		{
			name: "presigned parameters without X-Amz-Algorithm",
			r:    testRequest("GET", "/?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d"),
			want: &Error{Code: CodeMissingAuthenticationToken, Message: "Request is missing Authentication Token"},
		},
		{
			name: "AWS4- alone, no date",
			r:    testRequest("POST", "/", "Authorization", "AWS4-"),
			want: &Error{Code: CodeIncompleteSignature, Message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-"},
		},
		{
			name: "credential only",
			r:    testRequest("POST", "/", "Authorization", authz("Credential="+testCred), "X-Amz-Date", testDate),
			want: &Error{Code: CodeIncompleteSignature, Message: "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=" + testCred},
		},
		{
			name: "blank separated, Date header present",
			r:    testRequest("POST", "/", "Authorization", "AWS4- Signature=b Credential=a", "Date", "a"),
			want: &Error{Code: CodeIncompleteSignature, Message: "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b Credential=a"},
		},
		{
			name: "comma separated without blank",
			r:    testRequest("POST", "/", "Authorization", "AWS4- Signature=b,Credential=a", "Date", "a"),
			want: &Error{Code: CodeIncompleteSignature, Message: "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b,Credential=a"},
		},
		{
			name: "empty values count as missing",
			r:    testRequest("POST", "/", "Authorization", authz("Credential=, SignedHeaders=, Signature="), "X-Amz-Date", testDate),
			want: &Error{Code: CodeIncompleteSignature, Message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature="},
		},
		{
			name: "blank after Credential=",
			r: testRequest("POST", "/", "X-Amz-Date", testDate,
				"Authorization", authz("Credential= "+testCred+", SignedHeaders=host;x-amz-date, Signature="+testSigHex)),
			want: &Error{Code: CodeIncompleteSignature, Message: "'" + testCred + "' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential= " + testCred + ", SignedHeaders=host;x-amz-date, Signature=" + testSigHex + "'."},
		},
		{
			name: "both forms",
			r:    testRequest("GET", "/?X-Amz-Algorithm", "Authorization", "X"),
			want: &Error{Code: CodeSignatureDoesNotMatch, Message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},
		},
		{
			name: "empty X-Amz-Algorithm",
			r:    testRequest("GET", "/?X-Amz-Algorithm"),
			want: &Error{Code: CodeIncompleteSignature, Message: "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."},
		},
		{
			name: "presigned without X-Amz-SignedHeaders",
			r:    testRequest("GET", "/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d"),
			want: &Error{Code: CodeIncompleteSignature, Message: "AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."},
		},
		{
			name: "X-Amz-Date not ISO 8601 basic",
			r:    testRequest("POST", "/", "Authorization", full, "X-Amz-Date", "2015/08/30T12/36/00Z"),
			want: &Error{Code: CodeIncompleteSignature, Message: "Date must be in ISO-8601 'basic format'. Got '2015/08/30T12/36/00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		},
		{
			name: "X-Amz-Date with a one-digit hour",
			r:    testRequest("POST", "/", "Authorization", full, "X-Amz-Date", "20150830T93600Z"),
			want: &Error{Code: CodeIncompleteSignature, Message: "Date must be in ISO-8601 'basic format'. Got '20150830T93600Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		},
		{
			name: "Date header unreadable",
			r:    testRequest("POST", "/", "Authorization", full, "Date", "zzzzzzzzz"),
			want: &Error{Code: CodeIncompleteSignature, Message: "Date must be in ISO-8601 'basic format'. Got 'zzzzzzzzz'. See http://en.wikipedia.org/wiki/ISO_8601"},
		},
		{
			name: "two X-Amz-Date headers",
			r:    testRequest("POST", "/", "Authorization", full, "X-Amz-Date", testDate, "X-Amz-Date", testDate),
			want: &Error{Code: CodeIncompleteSignature, Message: "Date must be in ISO-8601 'basic format'. Got '" + testDate + "," + testDate + "'. See http://en.wikipedia.org/wiki/ISO_8601"},
		},
		{
			name: "host not signed",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", authz("Credential="+testCred+", SignedHeaders=x-amz-date, Signature="+testSigHex)),
			want: &Error{Code: CodeSignatureDoesNotMatch, Message: "'Host' must be a 'SignedHeader' in the AWS Authorization."},
		},
		{
			name: "signed headers unsorted (irsa)",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", authz("Credential="+testCred+", SignedHeaders=x-amz-date;host, Signature="+testSigHex)),
			want: &Error{Code: CodeIncompleteSignature, Message: "SignedHeaders must be a sorted, semicolon-separated list of unique lower-case header names, got 'x-amz-date;host'."},
		},
		{
			name: "signed headers upper case (irsa)",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", authz("Credential="+testCred+", SignedHeaders=Host;X-Amz-Date, Signature="+testSigHex)),
			want: &Error{Code: CodeIncompleteSignature, Message: "SignedHeaders must be a sorted, semicolon-separated list of unique lower-case header names, got 'Host;X-Amz-Date'."},
		},
		{
			name: "signed headers repeated (irsa)",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", authz("Credential="+testCred+", SignedHeaders=host;host, Signature="+testSigHex)),
			want: &Error{Code: CodeIncompleteSignature, Message: "SignedHeaders must be a sorted, semicolon-separated list of unique lower-case header names, got 'host;host'."},
		},
		{
			name: "signed headers with an empty name (irsa)",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", authz("Credential="+testCred+", SignedHeaders=;host, Signature="+testSigHex)),
			want: &Error{Code: CodeIncompleteSignature, Message: "SignedHeaders must be a sorted, semicolon-separated list of unique lower-case header names, got ';host'."},
		},
		{
			name: "too many signed headers (irsa)",
			r: testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization",
				authz("Credential="+testCred+", SignedHeaders="+manyHeaders(MaxSignedHeaders+1)+", Signature="+testSigHex)),
			want: &Error{Code: CodeIncompleteSignature, Message: "SignedHeaders names more than 64 headers."},
		},
		{
			name: "unsupported algorithm",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", strings.Replace(full, "SHA256", "SHA25", 1)),
			want: &Error{Code: CodeIncompleteSignature, Message: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now). "},
		},
		{
			name: "credential with four elements",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", authz("Credential=a/b/c/d, SignedHeaders=host;x-amz-date, Signature="+testSigHex)),
			want: &Error{Code: CodeIncompleteSignature, Message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'"},
		},
		{
			name: "credential with six elements",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", authz("Credential="+testCred+"/x, SignedHeaders=host;x-amz-date, Signature="+testSigHex)),
			want: &Error{Code: CodeIncompleteSignature, Message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + testCred + "/x'"},
		},
		{
			name: "empty access key id",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", authz("Credential=/20150830/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature="+testSigHex)),
			want: &Error{Code: CodeInvalidClientTokenID, Message: "The security token included in the request is invalid."},
		},
		{
			name: "Credential twice (irsa)",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", full+", Credential="+testCred),
			want: &Error{Code: CodeIncompleteSignature, Message: "Authorization header has more than one 'Credential' parameter. Authorization=" + full + ", Credential=" + testCred},
		},
		{
			name: "two Authorization headers (irsa)",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", full, "Authorization", full),
			want: &Error{Code: CodeIncompleteSignature, Message: "Found more than one 'Authorization' header."},
		},
		{
			name: "two security tokens (irsa)",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", full, "X-Amz-Security-Token", "a", "X-Amz-Security-Token", "b"),
			want: &Error{Code: CodeIncompleteSignature, Message: "Found more than one 'X-Amz-Security-Token' header."},
		},
		{
			name: "Authorization too long (irsa)",
			r:    testRequest("POST", "/", "X-Amz-Date", testDate, "Authorization", full+", X="+strings.Repeat("a", MaxAuthorizationLength)),
			want: &Error{Code: CodeIncompleteSignature, Message: "Authorization header is longer than 8192 bytes."},
		},
		{
			name: "query too long (irsa)",
			r:    testRequest("GET", "/?a="+strings.Repeat("b", MaxQueryLength), "X-Amz-Date", testDate, "Authorization", full),
			want: &Error{Code: CodeMalformedQueryString, Message: "Query string is longer than 65536 bytes."},
		},
		{
			name: "too many query parameters (irsa)",
			r:    testRequest("GET", "/?"+strings.Repeat("a&", MaxQueryParams), "X-Amz-Date", testDate, "Authorization", full),
			want: &Error{Code: CodeMalformedQueryString, Message: "Query string has more than 1000 parameters."},
		},
		{
			name: "bad escape in query",
			r:    testRequest("GET", "/aaa?a%yy", "X-Amz-Date", testDate, "Authorization", full),
			want: &Error{Code: CodeMalformedQueryString, Message: "Illegal hex character in escape % pattern: %yy"},
		},
		{
			name: "truncated escape in query",
			r:    testRequest("GET", "/?a=%4", "X-Amz-Date", testDate, "Authorization", full),
			want: &Error{Code: CodeMalformedQueryString, Message: "Incomplete trailing escape % sequence"},
		},
		{
			name: "repeated presigned parameter (irsa)",
			r:    testRequest("GET", "/?"+presignedQuery("")+"&X-Amz-Credential=AKIDEVIL%2F20150830%2Fus-east-1%2Fsts%2Faws4_request"),
			want: &Error{Code: CodeIncompleteSignature, Message: "AWS query-string parameters must not repeat 'X-Amz-Credential'. Re-examine the query-string parameters."},
		},
		{
			name: "X-Amz-Expires not a number",
			r:    testRequest("GET", "/?"+presignedQuery("abc")),
			want: &Error{Code: CodeIncompleteSignature, Message: "X-Amz-Expires should be a number"},
		},
		{
			name: "X-Amz-Expires empty",
			r:    testRequest("GET", "/?"+presignedQuery("")+"&X-Amz-Expires="),
			want: &Error{Code: CodeIncompleteSignature, Message: "X-Amz-Expires should be a number"},
		},
		{
			name: "X-Amz-Expires negative",
			r:    testRequest("GET", "/?"+presignedQuery("-5")),
			want: &Error{Code: CodeIncompleteSignature, Message: "X-Amz-Expires must be non-negative"},
		},
		{
			name: "X-Amz-Expires over a week",
			r:    testRequest("GET", "/?"+presignedQuery("604801")),
			want: &Error{Code: CodeIncompleteSignature, Message: "X-Amz-Expires must be less than a week (in seconds) that is 604800"},
		},
		{
			name: "X-Amz-Expires overflowing",
			r:    testRequest("GET", "/?"+presignedQuery("99999999999999999999999")),
			want: &Error{Code: CodeIncompleteSignature, Message: "X-Amz-Expires must be less than a week (in seconds) that is 604800"},
		},
		{
			name: "presigned date in the Date format",
			r:    testRequest("GET", "/?"+strings.Replace(presignedQuery("60"), testDate, "Sun,%2030%20Aug%202015%2012:36:00%20GMT", 1)),
			want: &Error{Code: CodeIncompleteSignature, Message: "Date must be in ISO-8601 'basic format'. Got 'Sun, 30 Aug 2015 12:36:00 GMT'. See http://en.wikipedia.org/wiki/ISO_8601"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := Parse(tt.r)
			if err == nil {
				t.Fatalf("Parse accepted the request: %+v", sig)
			}
			if diff := cmp.Diff(tt.want, asError(t, err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// presignedQuery is a well-formed presigned query; expires "" leaves
// X-Amz-Expires out.
func presignedQuery(expires string) string {
	q := "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=" + testDate + "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + testSigHex
	if expires != "" {
		q += "&X-Amz-Expires=" + expires
	}
	return q
}

func manyHeaders(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = "h" + strconv.Itoa(1000+i)
	}
	names[len(names)-1] = "host"
	return strings.Join(names, ";")
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		r    *http.Request
		want sigSummary
	}{
		{
			name: "header form",
			r: testRequest("POST", "/", "X-Amz-Date", testDate, "X-Amz-Security-Token", "tok",
				"Authorization", authz("Credential="+testCred+", SignedHeaders=host;x-amz-date, Signature="+testSigHex)),
			want: sigSummary{"AKIDEXAMPLE", testDate, "us-east-1", "sts", false, "tok", 0},
		},
		{
			name: "parameters in any order, comma without blank, trailing slash on the credential",
			r: testRequest("POST", "/", "X-Amz-Date", testDate,
				"Authorization", authz("Signature="+testSigHex+",SignedHeaders=host;x-amz-date,Credential="+testCred+"/")),
			want: sigSummary{"AKIDEXAMPLE", testDate, "us-east-1", "sts", false, "", 0},
		},
		{
			name: "unknown parameters ignored",
			r: testRequest("POST", "/", "X-Amz-Date", testDate,
				"Authorization", authz("Credential="+testCred+", Foo=bar, SignedHeaders=host;x-amz-date, Signature="+testSigHex)),
			want: sigSummary{"AKIDEXAMPLE", testDate, "us-east-1", "sts", false, "", 0},
		},
		{
			name: "Date header when X-Amz-Date is absent",
			r: testRequest("POST", "/", "Date", "Sun, 30 Aug 2015 12:36:00 GMT",
				"Authorization", authz("Credential="+testCred+", SignedHeaders=date;host, Signature="+testSigHex)),
			want: sigSummary{"AKIDEXAMPLE", testDate, "us-east-1", "sts", false, "", 0},
		},
		{
			name: "X-Amz-Date wins over Date",
			r: testRequest("POST", "/", "Date", "Mon, 31 Aug 2015 00:00:00 GMT", "X-Amz-Date", testDate,
				"Authorization", authz("Credential="+testCred+", SignedHeaders=host;x-amz-date, Signature="+testSigHex)),
			want: sigSummary{"AKIDEXAMPLE", testDate, "us-east-1", "sts", false, "", 0},
		},
		{
			name: "presigned with expiry",
			r:    testRequest("GET", "/?"+presignedQuery("604800")+"&X-Amz-Security-Token=a%2Bb%2F"),
			want: sigSummary{"AKIDEXAMPLE", testDate, "us-east-1", "sts", true, "a+b/", 7 * 24 * time.Hour},
		},
		{
			name: "presigned without expiry",
			r:    testRequest("GET", "/?"+presignedQuery("")),
			want: sigSummary{"AKIDEXAMPLE", testDate, "us-east-1", "sts", true, "", 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := Parse(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			got := sigSummary{sig.AccessKeyID, iso(sig.Date), sig.Region, sig.Service, sig.Presigned, sig.SecurityToken, sig.Expires}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(sigSummary{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckScope pins the credential-scope messages: every problem in one
// message, region, service and terminator each ending ". " and the date
// part ending "." (dynalite's recording of AWS; the trailing blank after a
// lone region or service problem is in STS and Batch responses quoted in
// cognitect-labs/aws-api#27 and cllunsford/aws-signing-proxy#25).
func TestCheckScope(t *testing.T) {
	tests := []struct {
		name       string
		credential string
		region     string
		service    string
		want       *Error
	}{
		{name: "good", credential: testCred, region: "us-east-1", service: "sts"},
		{name: "region and service not checked", credential: "AKIDEXAMPLE/20150830/eu-west-3/iam/aws4_request"},
		{
			name: "wrong region", credential: testCred, region: "us-west-2", service: "sts",
			want: &Error{Code: CodeSignatureDoesNotMatch, Message: "Credential should be scoped to a valid region, not 'us-east-1'. "},
		},
		{
			name: "wrong service", credential: testCred, region: "us-east-1", service: "iam",
			want: &Error{Code: CodeSignatureDoesNotMatch, Message: "Credential should be scoped to correct service: 'iam'. "},
		},
		{
			name: "everything wrong", credential: "AKIDEXAMPLE/20150831/c/d/e", region: "us-east-1", service: "sts",
			want: &Error{Code: CodeSignatureDoesNotMatch, Message: "Credential should be scoped to a valid region, not 'c'. Credential should be scoped to correct service: 'sts'. Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'."},
		},
		{
			name: "terminator checked even unasked", credential: "AKIDEXAMPLE/20150830/us-east-1/sts/aws4_reques",
			want: &Error{Code: CodeSignatureDoesNotMatch, Message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reques'. "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest("POST", "/", "X-Amz-Date", testDate,
				"Authorization", authz("Credential="+tt.credential+", SignedHeaders=host;x-amz-date, Signature="+testSigHex))
			sig, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			err = sig.Check(testTime, tt.region, tt.service)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if diff := cmp.Diff(tt.want, asError(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// Verify applies the terminator and date checks itself.
			if tt.region == "" {
				if diff := cmp.Diff(tt.want, asError(t, sig.Verify(r, nil, "secret", testTime))); diff != "" {
					t.Errorf("Verify (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Code: CodeSignatureDoesNotMatch, Message: MsgSignatureDoesNotMatch, CanonicalRequest: "GET\n/", StringToSign: "AWS4-HMAC-SHA256\nx"}
	if got, want := e.Error(), "SignatureDoesNotMatch: "+MsgSignatureDoesNotMatch; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// The layout of STS's answer quoted in boto/boto3#756.
	want := MsgSignatureDoesNotMatch + "\n\nThe Canonical String for this request should have been\n'GET\n/'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\nx'\n"
	if diff := cmp.Diff(want, e.DetailedMessage()); diff != "" {
		t.Errorf("DetailedMessage (-want +got):\n%s", diff)
	}
	plain := &Error{Code: CodeIncompleteSignature, Message: "m"}
	if got := plain.DetailedMessage(); got != "m" {
		t.Errorf("DetailedMessage without details = %q, want %q", got, "m")
	}
}

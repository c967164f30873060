package awsquery

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
)

const form = "application/x-www-form-urlencoded"

// errCode returns the AWS code of err, "" for nil, and fails the test for
// an error that is not an *awserr.Error.
func errCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *awserr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *awserr.Error", err, err)
	}
	return e.Code
}

func TestParseRequest(t *testing.T) {
	type want struct {
		Action, Version string
		Params          url.Values
		Code            string
		Message         string
		Status          int
	}
	for _, tc := range []struct {
		name        string
		method      string
		query       url.Values
		contentType string
		body        string
		want        want
	}{
		{
			name: "GET query string", method: "GET",
			query: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}},
			want:  want{Action: "GetCallerIdentity", Version: "2011-06-15", Params: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}},
		},
		{
			name: "POST form body", method: "POST", contentType: form,
			body: "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=a%2Bb+c&Tags.member.1.Key=k",
			want: want{Action: "AssumeRoleWithWebIdentity", Version: "2011-06-15", Params: url.Values{
				"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleSessionName": {"a+b c"}, "Tags.member.1.Key": {"k"},
			}},
		},
		{
			name: "charset parameter and case", method: "POST", contentType: "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
			body: "Action=GetCallerIdentity&Version=2011-06-15",
			want: want{Action: "GetCallerIdentity", Version: "2011-06-15", Params: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}},
		},
		{
			name: "POST with the parameters in the query string", method: "POST",
			query: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}},
			want:  want{Action: "GetCallerIdentity", Version: "2011-06-15", Params: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}},
		},
		{
			name: "query string and body merge, query first", method: "POST", contentType: form,
			query: url.Values{"Action": {"GetRole"}, "X-Amz-Date": {"20260101T000000Z"}, "Tag": {"q"}},
			body:  "Version=2010-05-08&RoleName=r&Tag=b",
			want: want{Action: "GetRole", Version: "2010-05-08", Params: url.Values{
				"Action": {"GetRole"}, "Version": {"2010-05-08"}, "X-Amz-Date": {"20260101T000000Z"}, "RoleName": {"r"}, "Tag": {"q", "b"},
			}},
		},
		{
			name: "empty pairs, bare names, semicolons, empty names", method: "POST", contentType: form,
			body: "&Action=A&&Version=V&Flag&=ignored&Semi=a;b&",
			want: want{Action: "A", Version: "V", Params: url.Values{"Action": {"A"}, "Version": {"V"}, "Flag": {""}, "Semi": {"a;b"}}},
		},
		{
			name: "empty Action is for the dispatcher", method: "POST", contentType: form,
			body: "Action=&Version=2011-06-15",
			want: want{Action: "", Version: "2011-06-15", Params: url.Values{"Action": {""}, "Version": {"2011-06-15"}}},
		},
		{
			name: "no Version", method: "GET", query: url.Values{"Action": {"GetCallerIdentity"}},
			want: want{Action: "GetCallerIdentity", Params: url.Values{"Action": {"GetCallerIdentity"}}},
		},
		{
			name: "a GET body is not read", method: "GET", contentType: form,
			query: url.Values{"Action": {"GetCallerIdentity"}},
			body:  "Action=AssumeRole",
			want:  want{Action: "GetCallerIdentity", Params: url.Values{"Action": {"GetCallerIdentity"}}},
		},
		{
			name: "no Action", method: "POST", contentType: form, body: "Version=2011-06-15",
			want: want{Code: awserr.MissingAction, Message: "The request must contain the parameter Action.", Status: 400},
		},
		{
			name: "a body without content type is ignored, as AWS ignores it", method: "POST",
			body: "Action=GetCallerIdentity&Version=2011-06-15",
			want: want{Code: awserr.MissingAction, Message: "The request must contain the parameter Action.", Status: 400},
		},
		{
			name: "a JSON body is ignored", method: "POST", contentType: "application/x-amz-json-1.0",
			body: "Action=GetCallerIdentity&Version=2011-06-15",
			want: want{Code: awserr.MissingAction, Message: "The request must contain the parameter Action.", Status: 400},
		},
		{
			name: "repeated Action", method: "POST", contentType: form,
			body: "Action=GetCallerIdentity&Action=NoSuchAction&Version=2011-06-15",
			want: want{Code: awserr.InvalidParameterValue, Message: "The parameter Action is given more than once.", Status: 400},
		},
		{
			name: "Action in query string and body", method: "POST", contentType: form,
			query: url.Values{"Action": {"GetCallerIdentity"}},
			body:  "Action=AssumeRole&Version=2011-06-15",
			want:  want{Code: awserr.InvalidParameterValue, Message: "The parameter Action is given more than once.", Status: 400},
		},
		{
			name: "repeated Version", method: "POST", contentType: form,
			body: "Action=GetCallerIdentity&Version=2011-06-15&Version=2000-01-01",
			want: want{Code: awserr.InvalidParameterValue, Message: "The parameter Version is given more than once.", Status: 400},
		},
		{
			name: "malformed escape in the body", method: "POST", contentType: form,
			body: "Action=GetCallerIdentity&Version=2011-06-15&RoleArn=%zz",
			want: want{Code: CodeMalformedInput, Message: "The request body is not valid application/x-www-form-urlencoded data.", Status: 400},
		},
		{
			name: "truncated escape in the body", method: "POST", contentType: form,
			body: "Action=GetCallerIdentity&Version=2011-06-15&RoleArn=%4",
			want: want{Code: CodeMalformedInput, Message: "The request body is not valid application/x-www-form-urlencoded data.", Status: 400},
		},
		{
			name: "malformed escape in a name", method: "POST", contentType: form,
			body: "Act%ion=GetCallerIdentity",
			want: want{Code: CodeMalformedInput, Message: "The request body is not valid application/x-www-form-urlencoded data.", Status: 400},
		},
		{
			name: "escape that is not UTF-8", method: "POST", contentType: form,
			body: "Action=GetCallerIdentity&RoleSessionName=%FF",
			want: want{Code: CodeMalformedInput, Message: "The request body is not valid application/x-www-form-urlencoded data.", Status: 400},
		},
		{
			name: "raw bytes that are not UTF-8", method: "POST", contentType: form,
			body: "Action=GetCallerIdentity&RoleSessionName=\xc3",
			want: want{Code: CodeMalformedInput, Message: "The request body is not valid application/x-www-form-urlencoded data.", Status: 400},
		},
		{
			name: "query value that is not UTF-8", method: "GET",
			query: url.Values{"Action": {"GetCallerIdentity"}, "X": {"\xff"}},
			want:  want{Code: awserr.MalformedQueryString, Message: "The query string contains a syntax error.", Status: 404},
		},
		{
			name: "query name that is not UTF-8", method: "GET",
			query: url.Values{"Action": {"GetCallerIdentity"}, "\xff": {"x"}},
			want:  want{Code: awserr.MalformedQueryString, Message: "The query string contains a syntax error.", Status: 404},
		},
		{
			name: "body over the limit", method: "POST", contentType: form,
			body: "Action=GetCallerIdentity&Pad=" + strings.Repeat("a", MaxBodySize),
			want: want{Code: CodeRequestEntityTooLarge, Message: "The request body is larger than 1048576 bytes.", Status: 413},
		},
		{
			name: "too many parameters in the body", method: "POST", contentType: form,
			body: "Action=GetCallerIdentity" + strings.Repeat("&a=1", MaxParams),
			want: want{Code: awserr.InvalidParameterValue, Message: "The request has more than 10000 parameters.", Status: 400},
		},
		{
			name: "too many parameters across query string and body", method: "POST", contentType: form,
			query: url.Values{"q": make([]string, MaxParams-1)},
			body:  "Action=GetCallerIdentity&b=1",
			want:  want{Code: awserr.InvalidParameterValue, Message: "The request has more than 10000 parameters.", Status: 400},
		},
		{
			name: "too many parameters in the query string", method: "GET",
			query: url.Values{"Action": {"A"}, "q": make([]string, MaxParams)},
			want:  want{Code: awserr.InvalidParameterValue, Message: "The request has more than 10000 parameters.", Status: 400},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRequest(tc.method, tc.query, tc.contentType, []byte(tc.body))
			var got want
			if err != nil {
				got.Code = errCode(t, err)
				e := awserr.As(err)
				got.Message, got.Status = e.Message, e.Status()
			} else {
				got = want{Action: r.Action, Version: r.Version, Params: r.Params}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRequestDoesNotAliasQuery(t *testing.T) {
	q := url.Values{"Action": {"GetCallerIdentity"}, "X": {"1"}}
	r, err := ParseRequest("POST", q, form, []byte("X=2"))
	if err != nil {
		t.Fatal(err)
	}
	r.Params["Action"][0] = "changed"
	if diff := cmp.Diff(url.Values{"Action": {"GetCallerIdentity"}, "X": {"1"}}, q); diff != "" {
		t.Errorf("the caller's query values changed (-want +got):\n%s", diff)
	}
}

func TestInvalidAction(t *testing.T) {
	for _, tc := range []struct {
		body, want string
	}{
		// The messages AWS STS answers (see doc.go).
		{"Action=NoSuchAction&Version=2011-06-15", "Could not find operation NoSuchAction for version 2011-06-15"},
		{"Action=GetCallerIdentity", "Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED"},
		{"Action=GetCallerIdentity&Version=", "Could not find operation GetCallerIdentity for version "},
		{"Action=GetCallerIdentity&Version=2000-01-01", "Could not find operation GetCallerIdentity for version 2000-01-01"},
		{"Action=&Version=2011-06-15", "Could not find operation  for version 2011-06-15"},
		{"Action=ReplaceIamInstanceProfileAssociation&Version=2010-05-08", "Could not find operation ReplaceIamInstanceProfileAssociation for version 2010-05-08"},
	} {
		r, err := ParseRequest("POST", nil, form, []byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		e := r.InvalidAction()
		if e.Code != awserr.InvalidAction || e.Message != tc.want || e.Status() != 400 {
			t.Errorf("%s: %s %q (%d), want InvalidAction %q (400)", tc.body, e.Code, e.Message, e.Status(), tc.want)
		}
	}
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want url.Values
		code string
	}{
		{raw: "", want: url.Values{}},
		{raw: "Action=GetCallerIdentity&Version=2011-06-15", want: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}},
		{raw: "a=1&a=2&b", want: url.Values{"a": {"1", "2"}, "b": {""}}},
		{raw: "s=a+b%20c%2B%2b%7e~", want: url.Values{"s": {"a b c++~~"}}},
		{raw: "s=x;y", want: url.Values{"s": {"x;y"}}},
		{raw: "e=%C3%A9", want: url.Values{"e": {"é"}}},
		{raw: "e=é", want: url.Values{"e": {"é"}}},
		{raw: "a=%", code: awserr.MalformedQueryString},
		{raw: "a=%2", code: awserr.MalformedQueryString},
		{raw: "a=%g0", code: awserr.MalformedQueryString},
		{raw: "%=1", code: awserr.MalformedQueryString},
		{raw: "a=%C3", code: awserr.MalformedQueryString},
		{raw: "a=\x80", code: awserr.MalformedQueryString},
		{raw: strings.Repeat("a=1&", MaxParams+1), code: awserr.InvalidParameterValue},
	} {
		got, err := ParseQuery(tc.raw)
		if code := errCode(t, err); code != tc.code {
			t.Errorf("ParseQuery(%.40q): error %v, want code %q", tc.raw, err, tc.code)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseQuery(%q) (-want +got):\n%s", tc.raw, diff)
		}
	}
}

func TestWantsJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                 false,
		"*/*":                              false,
		"application/json":                 true,
		"Application/JSON; charset=utf-8":  true,
		"text/xml":                         false,
		"application/xml":                  false,
		"application/json, */*":            true,
		"text/xml, application/json":       false,
		"application/json, text/xml":       false,
		"text/xml;q=0.5, application/json": true,
		"application/json;q=0":             false,
		"application/json;q=0.9, text/xml": false,
		"application/json;q=abc":           false,
		"application/json;q=2":             false,
		"garbage;;, application/json":      true,
		"application/xml;q=0.1, application/json;q=0.2": true,
	} {
		if got := WantsJSON(accept); got != want {
			t.Errorf("WantsJSON(%q) = %v, want %v", accept, got, want)
		}
	}
}

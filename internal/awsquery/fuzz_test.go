package awsquery

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"testing"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// fuzzShape is decoded from fuzzed parameters and rendered back, so the
// fuzzer also feeds arbitrary decoded text to the XML and JSON writers.
type fuzzShape struct {
	Name    string             `query:"Name" xml:"Name"`
	Opt     *string            `query:"Opt" xml:"Opt"`
	N       *int32             `query:"N" xml:"N"`
	B       bool               `query:"B" xml:"B"`
	Tags    []Tag              `query:"Tags" xml:"Tags>member"`
	Keys    []string           `query:"Keys" xml:"Keys>member"`
	Arns    []PolicyDescriptor `query:"PolicyArns" xml:"PolicyArns>member"`
	Entries []struct {
		Key    string   `query:"Key" xml:"Key"`
		Values []string `query:"Values" xml:"Values>member"`
	} `query:"Entries" xml:"Entries>member"`
}

func checkAWSError(t *testing.T, err error) {
	t.Helper()
	var e *awserr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *awserr.Error", err, err)
	}
	if e.Code == awserr.InternalFailure || e.Status() >= 500 {
		t.Fatalf("bad input answered as a server fault: %v", err)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("POST", "", form, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&Tags.member.1.Key=a")
	f.Add("GET", "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Signature=abc", "", "")
	f.Add("POST", "Action=GetRole", form+"; charset=utf-8", "Version=2010-05-08&RoleName=r&Action=x")
	f.Add("POST", "", form, "Action=%zz&%C3=%")
	f.Add("POST", "a=%2", "text/plain", "Action=A")
	f.Fuzz(func(t *testing.T, method, rawQuery, contentType, body string) {
		q, err := ParseQuery(rawQuery)
		if err != nil {
			checkAWSError(t, err)
			return
		}
		r, err := ParseRequest(method, q, contentType, []byte(body))
		if err != nil {
			checkAWSError(t, err)
			return
		}
		if got := r.Params["Action"]; len(got) != 1 || got[0] != r.Action {
			t.Fatalf("Action %q, params %q", r.Action, got)
		}
		if vs := r.Params["Version"]; len(vs) > 1 || (len(vs) == 1 && vs[0] != r.Version) {
			t.Fatalf("Version %q, params %q", r.Version, vs)
		}
		if e := r.InvalidAction(); e.Code != awserr.InvalidAction {
			t.Fatalf("InvalidAction() = %v", e)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add("Name=a&Opt=&N=%2B900&B=TRUE&Tags.member.1.Key=k&Tags.member.1.Value=v&Keys.member.1=x&PolicyArns.member.1.arn=a")
	f.Add("Entries.member.1.Key=k&Entries.member.1.Values.member.1=v&Entries.member.2.Values=")
	f.Add("Keys.member.2=x&N=2147483648&Name=a&Name=b")
	f.Add("Tags=&Keys.member.01=a&Name=%3C%26%3E%00%EF%BF%BF")
	f.Fuzz(func(t *testing.T, raw string) {
		params, err := ParseQuery(raw)
		if err != nil {
			checkAWSError(t, err)
			return
		}
		var s fuzzShape
		if err := Decode(params, &s); err != nil {
			checkAWSError(t, err)
			return
		}
		body, _, err := MarshalResult("Fuzz", STSNamespace, raw, &s, false)
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(body))
		for {
			if _, err := d.Token(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("ill-formed XML: %v\n%s", err, body)
			}
		}
		body, _, err = MarshalResult("Fuzz", STSNamespace, raw, &s, true)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON:\n%s", body)
		}
	})
}

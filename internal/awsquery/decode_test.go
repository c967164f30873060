package awsquery

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// Request shapes as stsapi and iamapi would declare them.

type assumeRoleWithWebIdentityInput struct {
	RoleArn          string             `query:"RoleArn"`
	RoleSessionName  string             `query:"RoleSessionName"`
	WebIdentityToken string             `query:"WebIdentityToken"`
	ProviderID       *string            `query:"ProviderId"`
	Policy           *string            `query:"Policy"`
	PolicyArns       []PolicyDescriptor `query:"PolicyArns"`
	DurationSeconds  *int32             `query:"DurationSeconds"`
}

type assumeRoleInput struct {
	RoleArn           string   `query:"RoleArn"`
	RoleSessionName   string   `query:"RoleSessionName"`
	Tags              []Tag    `query:"Tags"`
	TransitiveTagKeys []string `query:"TransitiveTagKeys"`
	ExternalID        *string  `query:"ExternalId"`
	DurationSeconds   int      `query:"DurationSeconds"`
}

type contextEntry struct {
	ContextKeyName   string   `query:"ContextKeyName"`
	ContextKeyValues []string `query:"ContextKeyValues"`
	ContextKeyType   string   `query:"ContextKeyType"`
}

type boundary struct {
	Arn string `query:"Arn"`
}

// Common is embedded to test that embedded fields are decoded in place.
type Common struct {
	Marker   *string `query:"Marker"`
	MaxItems *int    `query:"MaxItems"`
}

type kitchenSink struct {
	Common
	ActionNames    []string       `query:"ActionNames"`
	ContextEntries []contextEntry `query:"ContextEntries"`
	Boundary       *boundary      `query:"Boundary"`
	Inline         boundary       `query:"Inline"`
	SetAsDefault   bool           `query:"SetAsDefault"`
	Recursive      *bool          `query:"Recursive"`
	Small          int8           `query:"Small"`
	Big            *int64         `query:"Big"`
	Ignored        string         `query:"-"`
	Untagged       string
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		out  any // a pointer to the zero value of the shape
		want any
	}{
		{
			name: "AssumeRoleWithWebIdentity",
			in:   "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&RoleSessionName=s&WebIdentityToken=eyJ.x.y&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FA&PolicyArns.member.2.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FB&DurationSeconds=900&Unknown=ignored",
			out:  &assumeRoleWithWebIdentityInput{},
			want: &assumeRoleWithWebIdentityInput{
				RoleArn: "arn:aws:iam::111122223333:role/r", RoleSessionName: "s", WebIdentityToken: "eyJ.x.y",
				PolicyArns:      []PolicyDescriptor{{ARN: "arn:aws:iam::aws:policy/A"}, {ARN: "arn:aws:iam::aws:policy/B"}},
				DurationSeconds: ptr(int32(900)),
			},
		},
		{
			name: "absent optional fields stay nil",
			in:   "RoleArn=a",
			out:  &assumeRoleWithWebIdentityInput{},
			want: &assumeRoleWithWebIdentityInput{RoleArn: "a"},
		},
		{
			name: "empty strings are kept",
			in:   "RoleArn=&Policy=",
			out:  &assumeRoleWithWebIdentityInput{},
			want: &assumeRoleWithWebIdentityInput{Policy: ptr("")},
		},
		{
			name: "tags, members out of order, transitive keys",
			in:   "Tags.member.2.Value=12345&Tags.member.1.Key=Project&Tags.member.1.Value=Pegasus&Tags.member.2.Key=Cost-Center&TransitiveTagKeys.member.1=Project&ExternalId=123ABC&DurationSeconds=1800",
			out:  &assumeRoleInput{},
			want: &assumeRoleInput{
				Tags:              []Tag{{Key: "Project", Value: "Pegasus"}, {Key: "Cost-Center", Value: "12345"}},
				TransitiveTagKeys: []string{"Project"},
				ExternalID:        ptr("123ABC"),
				DurationSeconds:   1800,
			},
		},
		{
			name: "a tag without a value",
			in:   "Tags.member.1.Key=k",
			out:  &assumeRoleInput{},
			want: &assumeRoleInput{Tags: []Tag{{Key: "k"}}},
		},
		{
			name: "empty lists are given as Name=",
			in:   "Tags=&TransitiveTagKeys=",
			out:  &assumeRoleInput{},
			want: &assumeRoleInput{Tags: []Tag{}, TransitiveTagKeys: []string{}},
		},
		{
			name: "numbers the way AWS reads them",
			in:   "DurationSeconds=%2B900",
			out:  &assumeRoleInput{},
			want: &assumeRoleInput{DurationSeconds: 900},
		},
		{
			name: "leading zeros",
			in:   "DurationSeconds=0900",
			out:  &assumeRoleInput{},
			want: &assumeRoleInput{DurationSeconds: 900},
		},
		{
			name: "negative numbers are for the service to refuse",
			in:   "DurationSeconds=-2147483648",
			out:  &assumeRoleInput{},
			want: &assumeRoleInput{DurationSeconds: -2147483648},
		},
		{
			name: "every kind",
			in: "Marker=m&MaxItems=100&ActionNames.member.1=s3:GetObject&ActionNames.member.2=s3:PutObject" +
				"&ContextEntries.member.1.ContextKeyName=aws:SourceIp&ContextEntries.member.1.ContextKeyType=ip" +
				"&ContextEntries.member.1.ContextKeyValues.member.1=10.0.0.1&ContextEntries.member.1.ContextKeyValues.member.2=10.0.0.2" +
				"&ContextEntries.member.2.ContextKeyName=s3:prefix&ContextEntries.member.2.ContextKeyValues=" +
				"&ContextEntries.member.2.Unknown=x&ContextEntries.member.3=ignored" +
				"&Boundary.Arn=arn&Inline.Arn=in&SetAsDefault=TRUE&Recursive=false&Small=-128&Big=9223372036854775807" +
				"&Ignored=x&Untagged=x&ActionNames.member.1.Sub=ignored",
			out: &kitchenSink{},
			want: &kitchenSink{
				Common:      Common{Marker: ptr("m"), MaxItems: ptr(100)},
				ActionNames: []string{"s3:GetObject", "s3:PutObject"},
				ContextEntries: []contextEntry{
					{ContextKeyName: "aws:SourceIp", ContextKeyType: "ip", ContextKeyValues: []string{"10.0.0.1", "10.0.0.2"}},
					{ContextKeyName: "s3:prefix", ContextKeyValues: []string{}},
				},
				Boundary:     &boundary{Arn: "arn"},
				Inline:       boundary{Arn: "in"},
				SetAsDefault: true,
				Recursive:    ptr(false),
				Small:        -128,
				Big:          ptr(int64(9223372036854775807)),
			},
		},
		{
			name: "a nested struct stays nil without its parameters",
			in:   "Boundaryx=1&Boundary=2",
			out:  &kitchenSink{},
			want: &kitchenSink{},
		},
		{
			name: "the largest list",
			in:   members("ActionNames", MaxListMembers),
			out:  &kitchenSink{},
			want: &kitchenSink{ActionNames: names(MaxListMembers)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params, err := ParseQuery(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if err := Decode(params, tc.out); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.out); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func members(name string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "&%s.member.%d=a%d", name, i, i)
	}
	return b.String()[1:]
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("a%d", i+1)
	}
	return out
}

func TestDecodeErrors(t *testing.T) {
	type result struct {
		Code    string
		Message string
	}
	malformed := func(msg string) result { return result{CodeMalformedInput, msg} }
	repeatedParam := func(name string) result {
		return result{awserr.InvalidParameterValue, "The parameter " + name + " is given more than once."}
	}
	for _, tc := range []struct {
		name string
		in   string
		out  any
		want result
	}{
		// Numbers: AWS answers MalformedInput, with a message only for the
		// empty value.
		{"empty number", "DurationSeconds=", &assumeRoleInput{}, malformed("missing value for decimal type")},
		{"not a number", "DurationSeconds=abc", &assumeRoleInput{}, malformed("")},
		{"decimal", "DurationSeconds=900.0", &assumeRoleInput{}, malformed("")},
		{"int32 overflow", "DurationSeconds=2147483648", &assumeRoleWithWebIdentityInput{}, malformed("")},
		{"int32 underflow", "DurationSeconds=-2147483649", &assumeRoleInput{}, malformed("")},
		{"space", "DurationSeconds=+900+", &assumeRoleInput{}, malformed("")},
		{"hex", "DurationSeconds=0x10", &assumeRoleInput{}, malformed("")},
		{"underscore", "DurationSeconds=1_000", &assumeRoleInput{}, malformed("")},
		{"int8 overflow", "Small=128", &kitchenSink{}, malformed("")},
		{"bad boolean", "SetAsDefault=yes", &kitchenSink{}, malformed("")},
		{"empty boolean", "Recursive=", &kitchenSink{}, malformed("")},
		{"parameters of another shape", "ContextEntries.member.1.ContextKeyName=a", &struct {
			L []struct {
				N int `query:"N"`
			} `query:"L"`
		}{}, result{}},
		{"bad number deep in a list", "L.member.1.N=x", &struct {
			L []struct {
				N int `query:"N"`
			} `query:"L"`
		}{}, malformed("")},

		// Repeated parameters: AWS would take the first; irsa refuses.
		{"repeated string", "RoleArn=a&RoleArn=b", &assumeRoleInput{}, repeatedParam("RoleArn")},
		{"repeated number", "DurationSeconds=900&DurationSeconds=899", &assumeRoleInput{}, repeatedParam("DurationSeconds")},
		{"repeated member field", "Tags.member.1.Key=a&Tags.member.1.Key=b", &assumeRoleInput{}, repeatedParam("Tags.member.1.Key")},
		{"repeated string member", "TransitiveTagKeys.member.1=a&TransitiveTagKeys.member.1=b", &assumeRoleInput{}, repeatedParam("TransitiveTagKeys.member.1")},
		{"repeated empty list", "Tags=&Tags=", &assumeRoleInput{}, repeatedParam("Tags")},
		{"repeated nested field", "Boundary.Arn=a&Boundary.Arn=b", &kitchenSink{}, repeatedParam("Boundary.Arn")},

		// List structure.
		{"gap", "TransitiveTagKeys.member.1=a&TransitiveTagKeys.member.3=c", &assumeRoleInput{},
			malformed("List parameter TransitiveTagKeys: member 2 is missing; members must be numbered 1 to 2 without gaps.")},
		{"not starting at 1", "Tags.member.2.Key=a", &assumeRoleInput{},
			malformed("List parameter Tags: member 1 is missing; members must be numbered 1 to 1 without gaps.")},
		{"index zero", "Tags.member.0.Key=a", &assumeRoleInput{},
			malformed(`List parameter Tags: "Tags.member.0.Key": the member index must be a number from 1 without leading zeros`)},
		{"leading zero", "TransitiveTagKeys.member.01=a", &assumeRoleInput{},
			malformed(`List parameter TransitiveTagKeys: "TransitiveTagKeys.member.01": the member index must be a number from 1 without leading zeros`)},
		{"not a number", "TransitiveTagKeys.member.x=a", &assumeRoleInput{},
			malformed(`List parameter TransitiveTagKeys: "TransitiveTagKeys.member.x": the member index must be a number from 1 without leading zeros`)},
		{"empty index", "TransitiveTagKeys.member.=a", &assumeRoleInput{},
			malformed(`List parameter TransitiveTagKeys: "TransitiveTagKeys.member.": the member index must be a number from 1 without leading zeros`)},
		{"index above the cap", "TransitiveTagKeys.member.1001=a", &assumeRoleInput{},
			malformed(`List parameter TransitiveTagKeys: "TransitiveTagKeys.member.1001": the member index is above 1000`)},
		{"huge index", "TransitiveTagKeys.member.99999999999999999999=a", &assumeRoleInput{},
			malformed(`List parameter TransitiveTagKeys: "TransitiveTagKeys.member.99999999999999999999": the member index is above 1000`)},
		{"list given a value", "TransitiveTagKeys=a", &assumeRoleInput{},
			malformed("List parameter TransitiveTagKeys: give members as TransitiveTagKeys.member.N, or an empty value for an empty list.")},
		{"list given empty and with members", "Tags=&Tags.member.1.Key=a", &assumeRoleInput{},
			malformed("List parameter Tags: it is given both empty and with members.")},
		{"nested list gap", "ContextEntries.member.1.ContextKeyValues.member.2=x", &kitchenSink{},
			malformed("List parameter ContextEntries.member.1.ContextKeyValues: member 1 is missing; members must be numbered 1 to 1 without gaps.")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params, err := ParseQuery(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			err = Decode(params, tc.out)
			var got result
			if err != nil {
				got.Code = errCode(t, err)
				got.Message = awserr.As(err).Message
				if got.Code == CodeMalformedInput && got.Message == "" && awserr.As(err).Cause == nil {
					t.Errorf("MalformedInput without a message has no cause for the log")
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeProgrammingErrors(t *testing.T) {
	type unsupported struct {
		M map[string]string `query:"M"`
	}
	type unsignedField struct {
		U uint `query:"U"`
	}
	type ptrSlice struct {
		P *[]string `query:"P"`
	}
	type dotted struct {
		A string `query:"A.B"`
	}
	type unexported struct {
		a string `query:"A"` //nolint:unused // test data: Decode must reject a tagged, unexported field
	}
	type Dup struct {
		A string `query:"A"`
	}
	type dup struct {
		Dup
		B string `query:"A"`
	}
	type self struct {
		Next []self `query:"Next"`
	}
	var nilPtr *assumeRoleInput
	n := 0
	for name, out := range map[string]any{
		"nil":                nil,
		"not a pointer":      assumeRoleInput{},
		"nil pointer":        nilPtr,
		"pointer to string":  new(string),
		"map field":          &unsupported{},
		"unsigned field":     &unsignedField{},
		"pointer to a slice": &ptrSlice{},
		"dotted name":        &dotted{},
		"unexported field":   &unexported{},
		"two fields, a name": &dup{},
		"self reference":     &self{},
	} {
		err := Decode(url.Values{"A": {"1"}}, out)
		if code := errCode(t, err); code != awserr.InternalFailure {
			t.Errorf("%s: error %v, want InternalFailure", name, err)
		}
		n++
	}
	if n != 11 {
		t.Fatalf("ran %d cases", n)
	}
}

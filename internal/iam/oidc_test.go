package iam

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/store"
)

func TestProviderURL(t *testing.T) {
	cases := []struct {
		url      string
		loopback bool
		wantARN  string // empty: rejected
	}{
		{"https://oidc.eks.us-west-2.amazonaws.com/id/ABC", false, "arn:aws:iam::000000000000:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC"},
		{"https://x.auth0.com/", false, "arn:aws:iam::000000000000:oidc-provider/x.auth0.com/"},
		{"https://127.0.0.1:6443", false, "arn:aws:iam::000000000000:oidc-provider/127.0.0.1:6443"},
		{"https://Issuer.Example.com/Path", false, "arn:aws:iam::000000000000:oidc-provider/Issuer.Example.com/Path"},
		{"http://127.0.0.1:8080/issuer", true, "arn:aws:iam::000000000000:oidc-provider/127.0.0.1:8080/issuer"},
		{"http://localhost:8080", true, "arn:aws:iam::000000000000:oidc-provider/localhost:8080"},
		{"http://[::1]:8080", true, "arn:aws:iam::000000000000:oidc-provider/[::1]:8080"},
		{"http://127.0.0.1:8080", false, ""},
		{"http://example.com", true, ""},
		{"https://example.com?a=b", false, ""},
		{"https://example.com/?", false, ""},
		{"https://example.com#frag", false, ""},
		{"https://user@example.com", false, ""},
		{"example.com", false, ""},
		{"https://", false, ""},
		{"ftp://example.com", false, ""},
		{"HTTPS://example.com", false, ""},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			s := newService(t)
			s.AllowHTTPLoopbackProviders = c.loopback
			out, err := s.CreateOpenIDConnectProvider(context.Background(), acct, &CreateOpenIDConnectProviderInput{Url: ptr(c.url), ClientIDList: []string{"sts.amazonaws.com"}})
			if c.wantARN == "" {
				wantErr(t, err, "InvalidInput: Invalid Open ID Connect Provider URL")
				return
			}
			must(t, err)
			if out.OpenIDConnectProviderArn != c.wantARN {
				t.Errorf("ARN %s, want %s", out.OpenIDConnectProviderArn, c.wantARN)
			}
			if got := ProviderARN(acct, c.url); got != c.wantARN {
				t.Errorf("ProviderARN = %s, want %s", got, c.wantARN)
			}
		})
	}
}

func TestOIDCProviderLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	thumb := strings.Repeat("9e99a48a9960b14926bb7f3b02e22da2b0ab7280"[:40], 1)
	out, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{
		Url:            ptr("https://oidc.example.com/id/1"),
		ClientIDList:   []string{"sts.amazonaws.com", "sts.amazonaws.com", "other"},
		ThumbprintList: []string{thumb},
		Tags:           []Tag{{Key: "env", Value: "dev"}},
	})
	must(t, err)
	a := out.OpenIDConnectProviderArn
	if diff := cmp.Diff([]store.Tag{{Key: "env", Value: "dev"}}, out.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	_, err = s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr("https://oidc.example.com/id/1")})
	wantErr(t, err, "EntityAlreadyExists: Provider with url https://oidc.example.com/id/1 already exists")

	// The same URL in another account is another provider.
	_, err = s.CreateOpenIDConnectProvider(ctx, other, &CreateOpenIDConnectProviderInput{Url: ptr("https://oidc.example.com/id/1")})
	must(t, err)

	get := func() *GetOpenIDConnectProviderOutput {
		t.Helper()
		g, err := s.GetOpenIDConnectProvider(ctx, acct, &ProviderARNInput{OpenIDConnectProviderArn: ptr(a)})
		must(t, err)
		return g
	}
	g := get()
	want := &GetOpenIDConnectProviderOutput{
		Url:            "oidc.example.com/id/1",
		ClientIDList:   []string{"sts.amazonaws.com", "other"},
		ThumbprintList: []string{thumb},
		CreateDate:     g.CreateDate,
		Tags:           []store.Tag{{Key: "env", Value: "dev"}},
	}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	if !g.CreateDate.After(t0) {
		t.Errorf("CreateDate %v not from the service clock", g.CreateDate)
	}

	// Client IDs: adding one twice and removing an absent one do nothing.
	must(t, s.AddClientIDToOpenIDConnectProvider(ctx, acct, &ClientIDInput{OpenIDConnectProviderArn: ptr(a), ClientID: ptr("third")}))
	must(t, s.AddClientIDToOpenIDConnectProvider(ctx, acct, &ClientIDInput{OpenIDConnectProviderArn: ptr(a), ClientID: ptr("third")}))
	must(t, s.RemoveClientIDFromOpenIDConnectProvider(ctx, acct, &ClientIDInput{OpenIDConnectProviderArn: ptr(a), ClientID: ptr("other")}))
	must(t, s.RemoveClientIDFromOpenIDConnectProvider(ctx, acct, &ClientIDInput{OpenIDConnectProviderArn: ptr(a), ClientID: ptr("absent")}))
	if diff := cmp.Diff([]string{"sts.amazonaws.com", "third"}, get().ClientIDList); diff != "" {
		t.Errorf("client IDs (-want +got):\n%s", diff)
	}

	// Thumbprints: replaced, emptied.
	t2 := strings.Repeat("A", 40)
	must(t, s.UpdateOpenIDConnectProviderThumbprint(ctx, acct, &UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: ptr(a), ThumbprintList: []string{t2}}))
	if diff := cmp.Diff([]string{t2}, get().ThumbprintList); diff != "" {
		t.Errorf("thumbprints (-want +got):\n%s", diff)
	}
	must(t, s.UpdateOpenIDConnectProviderThumbprint(ctx, acct, &UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: ptr(a), ThumbprintList: []string{}}))
	if got := get().ThumbprintList; len(got) != 0 {
		t.Errorf("thumbprints %v, want none", got)
	}

	// Tags: overwrite case-insensitively, add, remove, list in pages.
	must(t, s.TagOpenIDConnectProvider(ctx, acct, &TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: ptr(a), Tags: []Tag{{Key: "ENV", Value: "prod"}, {Key: "team", Value: "a"}, {Key: "b", Value: "1"}}}))
	must(t, s.UntagOpenIDConnectProvider(ctx, acct, &UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: ptr(a), TagKeys: []string{"B", "nothere"}}))
	lt, err := s.ListOpenIDConnectProviderTags(ctx, acct, &ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: ptr(a), MaxItems: ptr(int32(1))})
	must(t, err)
	if diff := cmp.Diff(&ListTagsOutput{Tags: []store.Tag{{Key: "ENV", Value: "prod"}}, Page: Page{IsTruncated: true, Marker: lt.Marker}}, lt); diff != "" || lt.Marker == "" {
		t.Errorf("first tag page (-want +got):\n%s", diff)
	}
	lt, err = s.ListOpenIDConnectProviderTags(ctx, acct, &ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: ptr(a), Marker: ptr(lt.Marker)})
	must(t, err)
	if diff := cmp.Diff(&ListTagsOutput{Tags: []store.Tag{{Key: "team", Value: "a"}}}, lt); diff != "" {
		t.Errorf("second tag page (-want +got):\n%s", diff)
	}

	list, err := s.ListOpenIDConnectProviders(ctx, acct)
	must(t, err)
	if diff := cmp.Diff([]string{a}, list.OpenIDConnectProviderList); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	// Another account cannot see or change the provider.
	_, err = s.GetOpenIDConnectProvider(ctx, other, &ProviderARNInput{OpenIDConnectProviderArn: ptr(a)})
	wantErr(t, err, "NoSuchEntity: OpenIDConnect Provider not found for arn "+a)
	err = s.DeleteOpenIDConnectProvider(ctx, other, &ProviderARNInput{OpenIDConnectProviderArn: ptr(a)})
	wantErr(t, err, "NoSuchEntity: OpenIDConnect Provider not found for arn "+a)

	must(t, s.DeleteOpenIDConnectProvider(ctx, acct, &ProviderARNInput{OpenIDConnectProviderArn: ptr(a)}))
	err = s.DeleteOpenIDConnectProvider(ctx, acct, &ProviderARNInput{OpenIDConnectProviderArn: ptr(a)})
	wantErr(t, err, "NoSuchEntity: OpenIDConnect Provider not found for arn "+a)
	_, err = s.GetOpenIDConnectProvider(ctx, acct, &ProviderARNInput{OpenIDConnectProviderArn: ptr(a)})
	wantErr(t, err, "NoSuchEntity: OpenIDConnect Provider not found for arn "+a)
	list, err = s.ListOpenIDConnectProviders(ctx, acct)
	must(t, err)
	if len(list.OpenIDConnectProviderList) != 0 {
		t.Errorf("list after delete: %v", list.OpenIDConnectProviderList)
	}
}

func TestOIDCProviderErrors(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	missing := "arn:aws:iam::000000000000:oidc-provider/missing.example.com"
	hex := strings.Repeat("0", 40)
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("client-%d", i)
		}
		return out
	}
	out, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr("https://full.example.com"), ClientIDList: many(100)})
	must(t, err)
	full := out.OpenIDConnectProviderArn
	tags := make([]Tag, 50)
	for i := range tags {
		tags[i] = Tag{Key: fmt.Sprintf("k%d", i)}
	}
	must(t, s.TagOpenIDConnectProvider(ctx, acct, &TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: ptr(full), Tags: tags}))

	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"six thumbprints", func() error {
			_, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr("https://a.example.com"), ThumbprintList: []string{hex, hex, hex, hex, hex, hex}})
			return err
		}, "InvalidInput: Thumbprint list must contain fewer than 5 entries."},
		{"thumbprint not hexadecimal", func() error {
			_, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr("https://a.example.com"), ThumbprintList: []string{strings.Repeat("g", 40)}})
			return err
		}, "InvalidInput: Thumbprint " + strings.Repeat("g", 40) + " is not 40 hexadecimal characters."},
		{"update thumbprint not hexadecimal", func() error {
			return s.UpdateOpenIDConnectProviderThumbprint(ctx, acct, &UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: ptr(full), ThumbprintList: []string{strings.Repeat("z", 40)}})
		}, "InvalidInput: Thumbprint " + strings.Repeat("z", 40) + " is not 40 hexadecimal characters."},
		{"101 client IDs", func() error {
			_, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr("https://a.example.com"), ClientIDList: many(101)})
			return err
		}, "LimitExceeded: Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"},
		{"add a 101st client ID", func() error {
			return s.AddClientIDToOpenIDConnectProvider(ctx, acct, &ClientIDInput{OpenIDConnectProviderArn: ptr(full), ClientID: ptr("one-more")})
		}, "LimitExceeded: Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"},
		{"add an existing client ID to a full provider", func() error {
			return s.AddClientIDToOpenIDConnectProvider(ctx, acct, &ClientIDInput{OpenIDConnectProviderArn: ptr(full), ClientID: ptr("client-7")})
		}, ""},
		{"a 51st tag", func() error {
			return s.TagOpenIDConnectProvider(ctx, acct, &TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: ptr(full), Tags: []Tag{{Key: "new"}}})
		}, "LimitExceeded: Cannot exceed quota for TagsPerOpenIdConnectProvider: 50"},
		{"retagging an existing key at the quota", func() error {
			return s.TagOpenIDConnectProvider(ctx, acct, &TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: ptr(full), Tags: []Tag{{Key: "K1", Value: "x"}}})
		}, ""},
		{"duplicate tags at create", func() error {
			_, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr("https://a.example.com"), Tags: []Tag{{Key: "a"}, {Key: "A"}}})
			return err
		}, "InvalidInput: Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{"get missing", func() error {
			_, err := s.GetOpenIDConnectProvider(ctx, acct, &ProviderARNInput{OpenIDConnectProviderArn: ptr(missing)})
			return err
		}, "NoSuchEntity: OpenIDConnect Provider not found for arn " + missing},
		{"add client ID to missing", func() error {
			return s.AddClientIDToOpenIDConnectProvider(ctx, acct, &ClientIDInput{OpenIDConnectProviderArn: ptr(missing), ClientID: ptr("x")})
		}, "NoSuchEntity: OpenIDConnect Provider not found for arn " + missing},
		{"remove client ID from missing", func() error {
			return s.RemoveClientIDFromOpenIDConnectProvider(ctx, acct, &ClientIDInput{OpenIDConnectProviderArn: ptr(missing), ClientID: ptr("x")})
		}, "NoSuchEntity: OpenIDConnect Provider not found for arn " + missing},
		{"update thumbprint of missing", func() error {
			return s.UpdateOpenIDConnectProviderThumbprint(ctx, acct, &UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: ptr(missing), ThumbprintList: []string{hex}})
		}, "NoSuchEntity: OpenIDConnect Provider not found for arn " + missing},
		{"tag missing", func() error {
			return s.TagOpenIDConnectProvider(ctx, acct, &TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: ptr(missing), Tags: []Tag{{Key: "a"}}})
		}, "NoSuchEntity: OpenIDConnect Provider not found for arn " + missing},
		{"untag missing", func() error {
			return s.UntagOpenIDConnectProvider(ctx, acct, &UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: ptr(missing), TagKeys: []string{"a"}})
		}, "NoSuchEntity: OpenIDConnect Provider not found for arn " + missing},
		{"list tags of missing", func() error {
			_, err := s.ListOpenIDConnectProviderTags(ctx, acct, &ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: ptr(missing)})
			return err
		}, "NoSuchEntity: OpenIDConnect Provider not found for arn " + missing},
		{"not an ARN", func() error {
			_, err := s.GetOpenIDConnectProvider(ctx, acct, &ProviderARNInput{OpenIDConnectProviderArn: ptr("oidc.example.com/not-an-arn")})
			return err
		}, "NoSuchEntity: OpenIDConnect Provider not found for arn oidc.example.com/not-an-arn"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, c.call(), c.want)
		})
	}
}

func TestOIDCProviderQuota(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	for i := range maxOIDCProviders {
		_, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr(fmt.Sprintf("https://p%d.example.com", i))})
		must(t, err)
	}
	_, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr("https://one-more.example.com")})
	wantErr(t, err, "LimitExceeded: Cannot exceed quota for OpenIdConnectProvidersPerAccount: 100")
}

package iam

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
)

// CreateOpenIDConnectProviderInput is AWS's CreateOpenIDConnectProviderRequest.
type CreateOpenIDConnectProviderInput struct {
	Url            *string  `query:"Url"` //nolint:revive // AWS wire name
	ClientIDList   []string `query:"ClientIDList"`
	ThumbprintList []string `query:"ThumbprintList"`
	Tags           []Tag    `query:"Tags"`
}

// CreateOpenIDConnectProviderOutput is AWS's CreateOpenIDConnectProviderResponse.
type CreateOpenIDConnectProviderOutput struct {
	OpenIDConnectProviderArn string
	Tags                     []store.Tag
}

// ProviderARNInput names an OIDC provider: the request of
// GetOpenIDConnectProvider and DeleteOpenIDConnectProvider.
type ProviderARNInput struct {
	OpenIDConnectProviderArn *string `query:"OpenIDConnectProviderArn"`
}

// GetOpenIDConnectProviderOutput is AWS's GetOpenIDConnectProviderResponse.
// Url is the provider's URL without its scheme, as AWS returns it.
type GetOpenIDConnectProviderOutput struct {
	Url            string //nolint:revive // AWS wire name
	ClientIDList   []string
	ThumbprintList []string
	CreateDate     time.Time
	Tags           []store.Tag
}

// ListOpenIDConnectProvidersOutput is AWS's ListOpenIDConnectProvidersResponse.
type ListOpenIDConnectProvidersOutput struct {
	OpenIDConnectProviderList []string // ARNs
}

// ClientIDInput is AWS's AddClientIDToOpenIDConnectProviderRequest and
// RemoveClientIDFromOpenIDConnectProviderRequest.
type ClientIDInput struct {
	OpenIDConnectProviderArn *string `query:"OpenIDConnectProviderArn"`
	ClientID                 *string `query:"ClientID"`
}

// UpdateOpenIDConnectProviderThumbprintInput is AWS's request of the same name.
type UpdateOpenIDConnectProviderThumbprintInput struct {
	OpenIDConnectProviderArn *string  `query:"OpenIDConnectProviderArn"`
	ThumbprintList           []string `query:"ThumbprintList"`
}

// TagOpenIDConnectProviderInput is AWS's request of the same name.
type TagOpenIDConnectProviderInput struct {
	OpenIDConnectProviderArn *string `query:"OpenIDConnectProviderArn"`
	Tags                     []Tag   `query:"Tags"`
}

// UntagOpenIDConnectProviderInput is AWS's request of the same name.
type UntagOpenIDConnectProviderInput struct {
	OpenIDConnectProviderArn *string  `query:"OpenIDConnectProviderArn"`
	TagKeys                  []string `query:"TagKeys"`
}

// ListOpenIDConnectProviderTagsInput is AWS's request of the same name.
type ListOpenIDConnectProviderTagsInput struct {
	OpenIDConnectProviderArn *string `query:"OpenIDConnectProviderArn"`
	Marker                   *string `query:"Marker"`
	MaxItems                 *int32  `query:"MaxItems"`
}

// ListTagsOutput is the output of the List…Tags actions.
type ListTagsOutput struct {
	Tags []store.Tag
	Page
}

var errProviderURL = awserr.New(awserr.InvalidInput, "Invalid Open ID Connect Provider URL")

// providerURL checks an OIDC provider URL and returns the part after the
// scheme, which names the provider in its ARN and condition keys.
func (s *Service) providerURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" || u.Hostname() == "" ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return "", errProviderURL
	}
	switch {
	case u.Scheme == "https" && strings.HasPrefix(raw, "https://"):
	case u.Scheme == "http" && strings.HasPrefix(raw, "http://") && s.AllowHTTPLoopbackProviders && isLoopback(u.Hostname()):
	default:
		return "", errProviderURL
	}
	return raw[len(u.Scheme)+len("://"):], nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// ProviderARN is the ARN of the OIDC provider with the given URL in the
// account: arn:aws:iam::ACCOUNT:oidc-provider/<URL without scheme>.
func ProviderARN(accountID, providerURL string) string {
	rest := providerURL
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	return "arn:aws:iam::" + accountID + ":oidc-provider/" + rest
}

func checkThumbprints(v *violations, list []string) {
	v.strList(list, "thumbprintList", 40, 40, nil, "")
}

// thumbprintsValid applies the semantic checks of a thumbprint list once
// the model constraints hold.
func thumbprintsValid(list []string) error {
	if len(list) > maxThumbprints {
		return awserr.New(awserr.InvalidInput, "Thumbprint list must contain fewer than 5 entries.")
	}
	for _, t := range list {
		for i := 0; i < len(t); i++ {
			c := t[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return awserr.Newf(awserr.InvalidInput, "Thumbprint %s is not 40 hexadecimal characters.", t)
			}
		}
	}
	return nil
}

// CreateOpenIDConnectProvider registers an OIDC provider.
func (s *Service) CreateOpenIDConnectProvider(ctx context.Context, accountID string, in *CreateOpenIDConnectProviderInput) (*CreateOpenIDConnectProviderOutput, error) {
	var v violations
	v.required(in.Url, "url", 1, 255, nil, "")
	v.strList(in.ClientIDList, "clientIDList", 1, 255, nil, "")
	checkThumbprints(&v, in.ThumbprintList)
	checkTags(&v, in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	rest, err := s.providerURL(*in.Url)
	if err != nil {
		return nil, err
	}
	if err := thumbprintsValid(in.ThumbprintList); err != nil {
		return nil, err
	}
	clients := uniq(in.ClientIDList)
	if len(clients) > maxClientIDs {
		return nil, awserr.Newf(awserr.LimitExceeded, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", maxClientIDs)
	}
	if err := duplicateTags(in.Tags); err != nil {
		return nil, err
	}
	existing, err := s.Store.ListOIDCProviders(ctx, accountID)
	if err != nil {
		return nil, storeErr(err)
	}
	p := store.OIDCProvider{
		AccountID:   accountID,
		ARN:         "arn:aws:iam::" + accountID + ":oidc-provider/" + rest,
		URL:         *in.Url,
		ClientIDs:   clients,
		Thumbprints: uniq(in.ThumbprintList),
		Tags:        toStoreTags(in.Tags),
		CreatedAt:   s.now(),
	}
	for _, e := range existing {
		if e.ARN == p.ARN {
			return nil, awserr.Newf(awserr.EntityAlreadyExists, "Provider with url %s already exists", *in.Url)
		}
	}
	if len(existing) >= maxOIDCProviders {
		return nil, awserr.Newf(awserr.LimitExceeded, "Cannot exceed quota for OpenIdConnectProvidersPerAccount: %d", maxOIDCProviders)
	}
	if err := s.Store.CreateOIDCProvider(ctx, p); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return nil, awserr.Newf(awserr.EntityAlreadyExists, "Provider with url %s already exists", *in.Url)
		}
		return nil, storeErr(err)
	}
	return &CreateOpenIDConnectProviderOutput{OpenIDConnectProviderArn: p.ARN, Tags: p.Tags}, nil
}

func uniq(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// checkProviderARN validates the OpenIDConnectProviderArn member.
func checkProviderARN(v *violations, a *string) {
	v.required(a, "openIDConnectProviderArn", 20, 2048, nil, "")
}

// provider reads a provider of the account.
func (s *Service) provider(ctx context.Context, accountID, providerARN string) (store.OIDCProvider, error) {
	if !inAccount(providerARN, accountID) {
		return store.OIDCProvider{}, noSuchProvider(providerARN)
	}
	p, err := s.Store.GetOIDCProvider(ctx, providerARN)
	if errors.Is(err, store.ErrNotFound) {
		return p, noSuchProvider(providerARN)
	}
	if err != nil {
		return p, storeErr(err)
	}
	return p, nil
}

// updateProvider applies fn to a provider of the account.
func (s *Service) updateProvider(ctx context.Context, accountID, providerARN string, fn func(*store.OIDCProvider) error) (store.OIDCProvider, error) {
	if !inAccount(providerARN, accountID) {
		return store.OIDCProvider{}, noSuchProvider(providerARN)
	}
	p, err := s.Store.UpdateOIDCProvider(ctx, providerARN, fn)
	if errors.Is(err, store.ErrNotFound) {
		return p, noSuchProvider(providerARN)
	}
	if err != nil {
		return p, storeErr(err)
	}
	return p, nil
}

// inAccount reports whether an IAM ARN belongs to the account.
func inAccount(a, accountID string) bool {
	segs, ok := arn.Split(a)
	return ok && segs[2] == "iam" && segs[4] == accountID
}

// GetOpenIDConnectProvider describes a provider.
func (s *Service) GetOpenIDConnectProvider(ctx context.Context, accountID string, in *ProviderARNInput) (*GetOpenIDConnectProviderOutput, error) {
	var v violations
	checkProviderARN(&v, in.OpenIDConnectProviderArn)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, err := s.provider(ctx, accountID, *in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	u := p.URL
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	return &GetOpenIDConnectProviderOutput{Url: u, ClientIDList: p.ClientIDs, ThumbprintList: p.Thumbprints, CreateDate: p.CreatedAt, Tags: p.Tags}, nil
}

// ListOpenIDConnectProviders lists the account's providers by ARN.
func (s *Service) ListOpenIDConnectProviders(ctx context.Context, accountID string) (*ListOpenIDConnectProvidersOutput, error) {
	ps, err := s.Store.ListOIDCProviders(ctx, accountID)
	if err != nil {
		return nil, storeErr(err)
	}
	out := &ListOpenIDConnectProvidersOutput{OpenIDConnectProviderList: []string{}}
	for _, p := range ps {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, p.ARN)
	}
	slices.Sort(out.OpenIDConnectProviderList)
	return out, nil
}

// DeleteOpenIDConnectProvider deletes a provider; a provider that does not
// exist is NoSuchEntity.
func (s *Service) DeleteOpenIDConnectProvider(ctx context.Context, accountID string, in *ProviderARNInput) error {
	var v violations
	checkProviderARN(&v, in.OpenIDConnectProviderArn)
	if err := v.err(); err != nil {
		return err
	}
	a := *in.OpenIDConnectProviderArn
	if !inAccount(a, accountID) {
		return noSuchProvider(a)
	}
	err := s.Store.DeleteOIDCProvider(ctx, a)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchProvider(a)
	}
	if err != nil {
		return storeErr(err)
	}
	return nil
}

func checkClientID(v *violations, in *ClientIDInput) {
	checkProviderARN(v, in.OpenIDConnectProviderArn)
	v.required(in.ClientID, "clientID", 1, 255, nil, "")
}

// AddClientIDToOpenIDConnectProvider adds a client ID (audience); adding one
// that is already there does nothing, as AWS documents.
func (s *Service) AddClientIDToOpenIDConnectProvider(ctx context.Context, accountID string, in *ClientIDInput) error {
	var v violations
	checkClientID(&v, in)
	if err := v.err(); err != nil {
		return err
	}
	_, err := s.updateProvider(ctx, accountID, *in.OpenIDConnectProviderArn, func(p *store.OIDCProvider) error {
		if slices.Contains(p.ClientIDs, *in.ClientID) {
			return nil
		}
		if len(p.ClientIDs) >= maxClientIDs {
			return awserr.Newf(awserr.LimitExceeded, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", maxClientIDs)
		}
		p.ClientIDs = append(p.ClientIDs, *in.ClientID)
		return nil
	})
	return err
}

// RemoveClientIDFromOpenIDConnectProvider removes a client ID; removing one
// that is not there does nothing, as AWS documents.
func (s *Service) RemoveClientIDFromOpenIDConnectProvider(ctx context.Context, accountID string, in *ClientIDInput) error {
	var v violations
	checkClientID(&v, in)
	if err := v.err(); err != nil {
		return err
	}
	_, err := s.updateProvider(ctx, accountID, *in.OpenIDConnectProviderArn, func(p *store.OIDCProvider) error {
		p.ClientIDs = slices.DeleteFunc(p.ClientIDs, func(c string) bool { return c == *in.ClientID })
		return nil
	})
	return err
}

// UpdateOpenIDConnectProviderThumbprint replaces the thumbprint list. An
// empty list is accepted: thumbprints are optional since 2024.
func (s *Service) UpdateOpenIDConnectProviderThumbprint(ctx context.Context, accountID string, in *UpdateOpenIDConnectProviderThumbprintInput) error {
	var v violations
	checkProviderARN(&v, in.OpenIDConnectProviderArn)
	checkThumbprints(&v, in.ThumbprintList)
	if err := v.err(); err != nil {
		return err
	}
	if err := thumbprintsValid(in.ThumbprintList); err != nil {
		return err
	}
	_, err := s.updateProvider(ctx, accountID, *in.OpenIDConnectProviderArn, func(p *store.OIDCProvider) error {
		p.Thumbprints = uniq(in.ThumbprintList)
		return nil
	})
	return err
}

// TagOpenIDConnectProvider adds or overwrites tags.
func (s *Service) TagOpenIDConnectProvider(ctx context.Context, accountID string, in *TagOpenIDConnectProviderInput) error {
	var v violations
	checkProviderARN(&v, in.OpenIDConnectProviderArn)
	if in.Tags == nil {
		v.null("tags")
	}
	checkTags(&v, in.Tags)
	if err := v.err(); err != nil {
		return err
	}
	if err := duplicateTags(in.Tags); err != nil {
		return err
	}
	_, err := s.updateProvider(ctx, accountID, *in.OpenIDConnectProviderArn, func(p *store.OIDCProvider) error {
		tags, err := mergeTags(p.Tags, in.Tags, "TagsPerOpenIdConnectProvider")
		p.Tags = tags
		return err
	})
	return err
}

// UntagOpenIDConnectProvider removes tags.
func (s *Service) UntagOpenIDConnectProvider(ctx context.Context, accountID string, in *UntagOpenIDConnectProviderInput) error {
	var v violations
	checkProviderARN(&v, in.OpenIDConnectProviderArn)
	checkTagKeys(&v, in.TagKeys)
	if err := v.err(); err != nil {
		return err
	}
	_, err := s.updateProvider(ctx, accountID, *in.OpenIDConnectProviderArn, func(p *store.OIDCProvider) error {
		p.Tags = removeTags(p.Tags, in.TagKeys)
		return nil
	})
	return err
}

// ListOpenIDConnectProviderTags lists a provider's tags by key.
func (s *Service) ListOpenIDConnectProviderTags(ctx context.Context, accountID string, in *ListOpenIDConnectProviderTagsInput) (*ListTagsOutput, error) {
	var v violations
	checkProviderARN(&v, in.OpenIDConnectProviderArn)
	v.page(in.Marker, in.MaxItems)
	if err := v.err(); err != nil {
		return nil, err
	}
	p, err := s.provider(ctx, accountID, *in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	return listTags(p.Tags, in.Marker, in.MaxItems)
}

func listTags(tags []store.Tag, marker *string, maxItems *int32) (*ListTagsOutput, error) {
	items := append([]store.Tag{}, tags...)
	page, pg, err := paginate(items, func(t store.Tag) string { return strings.ToLower(t.Key) }, marker, maxItems)
	if err != nil {
		return nil, err
	}
	return &ListTagsOutput{Tags: page, Page: pg}, nil
}

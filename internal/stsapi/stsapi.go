package stsapi

import (
	"context"
	"time"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/awsquery"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/sts"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// Version is the STS API version.
const Version = "2011-06-15"

// Handler serves STS actions.
type Handler struct {
	Service *sts.Service
}

type action struct {
	signed bool
	serve  func(h *Handler, ctx context.Context, p *awsquery.Request) (any, *policy.Result, error)
}

var actions = map[string]action{
	"AssumeRoleWithWebIdentity": {signed: false, serve: (*Handler).assumeRoleWithWebIdentity},
	"AssumeRole":                {signed: true, serve: (*Handler).assumeRole},
	"GetCallerIdentity":         {signed: true, serve: (*Handler).getCallerIdentity},
}

// RequiresSignature reports whether an action needs a signed request. An
// unknown action is treated as signed.
func RequiresSignature(actionName string) bool {
	a, ok := actions[actionName]
	return !ok || a.signed
}

// Serve handles one request. With an error the result is nil, except
// for AssumeRoleWithWebIdentity refused after its token verified (see
// AssumeRoleWithWebIdentityResult.Identity); the caller must not send it.
func (h *Handler) Serve(ctx context.Context, req *awsquery.Request) (any, *policy.Result, error) {
	a, ok := actions[req.Action]
	if !ok {
		return nil, nil, awserr.Newf(awserr.InvalidAction, "Could not find operation %s for version %s", req.Action, Version)
	}
	return a.serve(h, ctx, req)
}

// XML shapes.

type credentialsXML struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	SessionToken    string    `xml:"SessionToken"`
	Expiration      time.Time `xml:"Expiration"`
}

type assumedRoleUserXML struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

// AssumeRoleWithWebIdentityResult is the result element.
type AssumeRoleWithWebIdentityResult struct {
	Audience                    string             `xml:"Audience,omitempty"`
	AssumedRoleUser             assumedRoleUserXML `xml:"AssumedRoleUser"`
	Provider                    string             `xml:"Provider,omitempty"`
	Credentials                 credentialsXML     `xml:"Credentials"`
	SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken,omitempty"`
	PackedPolicySize            *int               `xml:"PackedPolicySize,omitempty"`
	SourceIdentity              string             `xml:"SourceIdentity,omitempty"`
	// Identity is the verified web identity token, for the audit record;
	// it is never rendered. When the call fails after the token verified,
	// Serve returns a result holding only Identity along with the error.
	Identity *webidentity.Identity `xml:"-"`
}

// AssumeRoleResult is the result element.
type AssumeRoleResult struct {
	AssumedRoleUser  assumedRoleUserXML `xml:"AssumedRoleUser"`
	Credentials      credentialsXML     `xml:"Credentials"`
	PackedPolicySize *int               `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string             `xml:"SourceIdentity,omitempty"`
}

// GetCallerIdentityResult is the result element.
type GetCallerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type policyARN struct {
	Arn string `query:"arn"`
}

type tag struct {
	Key   string `query:"Key"`
	Value string `query:"Value"`
}

func arns(in []policyARN) []string {
	out := make([]string, len(in))
	for i, p := range in {
		out[i] = p.Arn
	}
	return out
}

func creds(c sts.Credentials) credentialsXML {
	return credentialsXML{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expiration: c.Expiration.UTC()}
}

func (h *Handler) assumeRoleWithWebIdentity(ctx context.Context, p *awsquery.Request) (any, *policy.Result, error) {
	var in struct {
		RoleArn          *string     `query:"RoleArn"`
		RoleSessionName  *string     `query:"RoleSessionName"`
		WebIdentityToken *string     `query:"WebIdentityToken"`
		ProviderID       *string     `query:"ProviderId"`
		PolicyArns       []policyARN `query:"PolicyArns"`
		Policy           *string     `query:"Policy"`
		DurationSeconds  *int32      `query:"DurationSeconds"`
	}
	if err := awsquery.Decode(p.Params, &in); err != nil {
		return nil, nil, err
	}
	out, decision, err := h.Service.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: in.RoleArn, RoleSessionName: in.RoleSessionName, WebIdentityToken: in.WebIdentityToken,
		ProviderID: in.ProviderID, PolicyArns: arns(in.PolicyArns), Policy: in.Policy, DurationSeconds: in.DurationSeconds,
	})
	if err != nil {
		if out != nil && out.Identity != nil {
			return &AssumeRoleWithWebIdentityResult{Identity: out.Identity}, decision, err
		}
		return nil, decision, err
	}
	return &AssumeRoleWithWebIdentityResult{
		Audience:                    out.Audience,
		AssumedRoleUser:             assumedRoleUserXML{AssumedRoleID: out.AssumedRoleUser.AssumedRoleID, Arn: out.AssumedRoleUser.ARN},
		Provider:                    out.Provider,
		Credentials:                 creds(out.Credentials),
		SubjectFromWebIdentityToken: out.SubjectFromWebIdentityToken,
		PackedPolicySize:            out.PackedPolicySize,
		SourceIdentity:              out.SourceIdentity,
		Identity:                    out.Identity,
	}, decision, nil
}

func (h *Handler) assumeRole(ctx context.Context, p *awsquery.Request) (any, *policy.Result, error) {
	var in struct {
		RoleArn           *string     `query:"RoleArn"`
		RoleSessionName   *string     `query:"RoleSessionName"`
		PolicyArns        []policyARN `query:"PolicyArns"`
		Policy            *string     `query:"Policy"`
		DurationSeconds   *int32      `query:"DurationSeconds"`
		Tags              []tag       `query:"Tags"`
		TransitiveTagKeys []string    `query:"TransitiveTagKeys"`
		ExternalID        *string     `query:"ExternalId"`
		SerialNumber      *string     `query:"SerialNumber"`
		TokenCode         *string     `query:"TokenCode"`
		SourceIdentity    *string     `query:"SourceIdentity"`
	}
	if err := awsquery.Decode(p.Params, &in); err != nil {
		return nil, nil, err
	}
	tags := make([]sts.Tag, len(in.Tags))
	for i, t := range in.Tags {
		tags[i] = sts.Tag{Key: t.Key, Value: t.Value}
	}
	out, decision, err := h.Service.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: in.RoleArn, RoleSessionName: in.RoleSessionName, PolicyArns: arns(in.PolicyArns), Policy: in.Policy,
		DurationSeconds: in.DurationSeconds, Tags: tags, TransitiveTagKeys: in.TransitiveTagKeys, ExternalID: in.ExternalID,
		SerialNumber: in.SerialNumber, TokenCode: in.TokenCode, SourceIdentity: in.SourceIdentity,
	})
	if err != nil {
		return nil, decision, err
	}
	return &AssumeRoleResult{
		AssumedRoleUser:  assumedRoleUserXML{AssumedRoleID: out.AssumedRoleUser.AssumedRoleID, Arn: out.AssumedRoleUser.ARN},
		Credentials:      creds(out.Credentials),
		PackedPolicySize: out.PackedPolicySize,
		SourceIdentity:   out.SourceIdentity,
	}, decision, nil
}

func (h *Handler) getCallerIdentity(ctx context.Context, _ *awsquery.Request) (any, *policy.Result, error) {
	id, err := h.Service.GetCallerIdentity(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &GetCallerIdentityResult{Arn: id.ARN, UserID: id.UserID, Account: id.Account}, nil, nil
}

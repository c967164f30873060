package iamapi

import (
	"context"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/awsquery"
	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
)

// Handler serves the IAM actions.
type Handler struct {
	Service *iam.Service
	// Authorize decides whether the request's caller may perform action
	// ("iam:CreateRole") on resource (an ARN, or "*"), and returns the
	// explained decision (nil when there is none to tell, as for the
	// account root) for the call's audit event. Nil allows every request.
	Authorize func(ctx context.Context, action, resource string) (*policy.Result, error)
}

// action is one row of the dispatch table.
type action struct {
	// run decodes the input, authorizes it and calls the service. The
	// decision is Authorize's.
	run func(h *Handler, ctx context.Context, account string, req *awsquery.Request) (any, *policy.Result, error)
}

// op builds a table row: decode the parameters into an In, authorize
// iam:NAME on the resource that resource names, and call serve.
func op[In any](resource func(h *Handler, ctx context.Context, account string, in *In) string, serve func(h *Handler, ctx context.Context, account string, in *In) (any, error)) action {
	return action{run: func(h *Handler, ctx context.Context, account string, req *awsquery.Request) (any, *policy.Result, error) {
		in := new(In)
		if err := awsquery.Decode(req.Params, in); err != nil {
			return nil, nil, err
		}
		var decision *policy.Result
		if h.Authorize != nil {
			d, err := h.Authorize(ctx, "iam:"+req.Action, resource(h, ctx, account, in))
			if err != nil {
				return nil, d, err
			}
			decision = d
		}
		res, err := serve(h, ctx, account, in)
		return res, decision, err
	}}
}

// Serve handles one IAM request and returns the result element to render
// (nil for actions without output) and the authorization decision, which
// explains an AccessDenied (nil when Authorize was not consulted or had
// nothing to tell).
func (h *Handler) Serve(ctx context.Context, req *awsquery.Request) (result any, decision *policy.Result, err error) {
	a, ok := actions[req.Action]
	if !ok {
		return nil, nil, req.InvalidAction()
	}
	caller := reqctx.From(ctx).Caller
	if caller == nil || caller.AccountID == "" {
		return nil, nil, awserr.New(awserr.MissingAuthenticationToken, "Request is missing Authentication Token")
	}
	return a.run(h, ctx, caller.AccountID, req)
}

// Actions lists the actions the handler serves.
func Actions() []string {
	out := make([]string, 0, len(actions))
	for name := range actions {
		out = append(out, name)
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Resource builders.

func anyResource[In any](*Handler, context.Context, string, *In) string { return "*" } //nolint:revive // the receiver comes first, as in the method expressions op pairs it with

func roleResource(h *Handler, ctx context.Context, account string, name *string) string { //nolint:revive // the receiver comes first, as in the method expressions op pairs it with
	return h.Service.RoleResourceARN(ctx, account, deref(name))
}

func providerResource(a *string) string { return deref(a) }

// actions is the dispatch table.
var actions = map[string]action{
	// OpenID Connect providers.
	"CreateOpenIDConnectProvider": op(
		func(_ *Handler, _ context.Context, account string, in *iam.CreateOpenIDConnectProviderInput) string {
			return iam.ProviderARN(account, deref(in.Url))
		},
		func(h *Handler, ctx context.Context, account string, in *iam.CreateOpenIDConnectProviderInput) (any, error) {
			out, err := h.Service.CreateOpenIDConnectProvider(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &CreateOpenIDConnectProviderResult{OpenIDConnectProviderArn: out.OpenIDConnectProviderArn, Tags: tags(out.Tags)}, nil
		}),
	"GetOpenIDConnectProvider": op(
		func(_ *Handler, _ context.Context, _ string, in *iam.ProviderARNInput) string {
			return providerResource(in.OpenIDConnectProviderArn)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.ProviderARNInput) (any, error) {
			out, err := h.Service.GetOpenIDConnectProvider(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &GetOpenIDConnectProviderResult{
				Url:            out.Url,
				ClientIDList:   nonNil(out.ClientIDList),
				ThumbprintList: nonNil(out.ThumbprintList),
				CreateDate:     out.CreateDate,
				Tags:           tags(out.Tags),
			}, nil
		}),
	"ListOpenIDConnectProviders": op(anyResource[struct{}],
		func(h *Handler, ctx context.Context, account string, _ *struct{}) (any, error) {
			out, err := h.Service.ListOpenIDConnectProviders(ctx, account)
			if err != nil {
				return nil, err
			}
			res := &ListOpenIDConnectProvidersResult{OpenIDConnectProviderList: []providerEntryXML{}}
			for _, a := range out.OpenIDConnectProviderList {
				res.OpenIDConnectProviderList = append(res.OpenIDConnectProviderList, providerEntryXML{Arn: a})
			}
			return res, nil
		}),
	"DeleteOpenIDConnectProvider": op(
		func(_ *Handler, _ context.Context, _ string, in *iam.ProviderARNInput) string {
			return providerResource(in.OpenIDConnectProviderArn)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.ProviderARNInput) (any, error) {
			return nil, h.Service.DeleteOpenIDConnectProvider(ctx, account, in)
		}),
	"AddClientIDToOpenIDConnectProvider": op(
		func(_ *Handler, _ context.Context, _ string, in *iam.ClientIDInput) string {
			return providerResource(in.OpenIDConnectProviderArn)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.ClientIDInput) (any, error) {
			return nil, h.Service.AddClientIDToOpenIDConnectProvider(ctx, account, in)
		}),
	"RemoveClientIDFromOpenIDConnectProvider": op(
		func(_ *Handler, _ context.Context, _ string, in *iam.ClientIDInput) string {
			return providerResource(in.OpenIDConnectProviderArn)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.ClientIDInput) (any, error) {
			return nil, h.Service.RemoveClientIDFromOpenIDConnectProvider(ctx, account, in)
		}),
	"UpdateOpenIDConnectProviderThumbprint": op(
		func(_ *Handler, _ context.Context, _ string, in *iam.UpdateOpenIDConnectProviderThumbprintInput) string {
			return providerResource(in.OpenIDConnectProviderArn)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.UpdateOpenIDConnectProviderThumbprintInput) (any, error) {
			return nil, h.Service.UpdateOpenIDConnectProviderThumbprint(ctx, account, in)
		}),
	"TagOpenIDConnectProvider": op(
		func(_ *Handler, _ context.Context, _ string, in *iam.TagOpenIDConnectProviderInput) string {
			return providerResource(in.OpenIDConnectProviderArn)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.TagOpenIDConnectProviderInput) (any, error) {
			return nil, h.Service.TagOpenIDConnectProvider(ctx, account, in)
		}),
	"UntagOpenIDConnectProvider": op(
		func(_ *Handler, _ context.Context, _ string, in *iam.UntagOpenIDConnectProviderInput) string {
			return providerResource(in.OpenIDConnectProviderArn)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.UntagOpenIDConnectProviderInput) (any, error) {
			return nil, h.Service.UntagOpenIDConnectProvider(ctx, account, in)
		}),
	"ListOpenIDConnectProviderTags": op(
		func(_ *Handler, _ context.Context, _ string, in *iam.ListOpenIDConnectProviderTagsInput) string {
			return providerResource(in.OpenIDConnectProviderArn)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.ListOpenIDConnectProviderTagsInput) (any, error) {
			out, err := h.Service.ListOpenIDConnectProviderTags(ctx, account, in)
			return listTags(out, err)
		}),

	// Roles.
	"CreateRole": op(
		func(_ *Handler, _ context.Context, account string, in *iam.CreateRoleInput) string {
			path := "/"
			if in.Path != nil {
				path = *in.Path
			}
			return iam.RoleARN(account, path, deref(in.RoleName))
		},
		func(h *Handler, ctx context.Context, account string, in *iam.CreateRoleInput) (any, error) {
			out, err := h.Service.CreateRole(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &RoleResult{Role: role(&out.Role, roleCreate)}, nil
		}),
	"GetRole": op(
		func(h *Handler, ctx context.Context, account string, in *iam.RoleNameInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.RoleNameInput) (any, error) {
			out, err := h.Service.GetRole(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &RoleResult{Role: role(&out.Role, roleGet)}, nil
		}),
	"ListRoles": op(anyResource[iam.ListRolesInput],
		func(h *Handler, ctx context.Context, account string, in *iam.ListRolesInput) (any, error) {
			out, err := h.Service.ListRoles(ctx, account, in)
			if err != nil {
				return nil, err
			}
			res := &ListRolesResult{Roles: []RoleXML{}, PageXML: page(out.Page)}
			for i := range out.Roles {
				res.Roles = append(res.Roles, role(&out.Roles[i], roleList))
			}
			return res, nil
		}),
	"DeleteRole": op(
		func(h *Handler, ctx context.Context, account string, in *iam.RoleNameInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.RoleNameInput) (any, error) {
			return nil, h.Service.DeleteRole(ctx, account, in)
		}),
	"UpdateRole": op(
		func(h *Handler, ctx context.Context, account string, in *iam.UpdateRoleInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.UpdateRoleInput) (any, error) {
			if err := h.Service.UpdateRole(ctx, account, in); err != nil {
				return nil, err
			}
			return &UpdateRoleResult{}, nil
		}),
	"UpdateRoleDescription": op(
		func(h *Handler, ctx context.Context, account string, in *iam.UpdateRoleDescriptionInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.UpdateRoleDescriptionInput) (any, error) {
			out, err := h.Service.UpdateRoleDescription(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &RoleResult{Role: role(&out.Role, roleGet)}, nil
		}),
	"UpdateAssumeRolePolicy": op(
		func(h *Handler, ctx context.Context, account string, in *iam.UpdateAssumeRolePolicyInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.UpdateAssumeRolePolicyInput) (any, error) {
			return nil, h.Service.UpdateAssumeRolePolicy(ctx, account, in)
		}),
	"TagRole": op(
		func(h *Handler, ctx context.Context, account string, in *iam.TagRoleInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.TagRoleInput) (any, error) {
			return nil, h.Service.TagRole(ctx, account, in)
		}),
	"UntagRole": op(
		func(h *Handler, ctx context.Context, account string, in *iam.UntagRoleInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.UntagRoleInput) (any, error) {
			return nil, h.Service.UntagRole(ctx, account, in)
		}),
	"ListRoleTags": op(
		func(h *Handler, ctx context.Context, account string, in *iam.ListRoleTagsInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.ListRoleTagsInput) (any, error) {
			out, err := h.Service.ListRoleTags(ctx, account, in)
			return listTags(out, err)
		}),
	"PutRolePermissionsBoundary": op(
		func(h *Handler, ctx context.Context, account string, in *iam.PutRolePermissionsBoundaryInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.PutRolePermissionsBoundaryInput) (any, error) {
			return nil, h.Service.PutRolePermissionsBoundary(ctx, account, in)
		}),
	"DeleteRolePermissionsBoundary": op(
		func(h *Handler, ctx context.Context, account string, in *iam.RoleNameInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.RoleNameInput) (any, error) {
			return nil, h.Service.DeleteRolePermissionsBoundary(ctx, account, in)
		}),

	// Inline policies.
	"PutRolePolicy": op(
		func(h *Handler, ctx context.Context, account string, in *iam.PutRolePolicyInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.PutRolePolicyInput) (any, error) {
			return nil, h.Service.PutRolePolicy(ctx, account, in)
		}),
	"GetRolePolicy": op(
		func(h *Handler, ctx context.Context, account string, in *iam.RolePolicyInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.RolePolicyInput) (any, error) {
			out, err := h.Service.GetRolePolicy(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &GetRolePolicyResult{RoleName: out.RoleName, PolicyName: out.PolicyName, PolicyDocument: awsquery.EncodePolicyDocument(out.PolicyDocument)}, nil
		}),
	"DeleteRolePolicy": op(
		func(h *Handler, ctx context.Context, account string, in *iam.RolePolicyInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.RolePolicyInput) (any, error) {
			return nil, h.Service.DeleteRolePolicy(ctx, account, in)
		}),
	"ListRolePolicies": op(
		func(h *Handler, ctx context.Context, account string, in *iam.ListRolePoliciesInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.ListRolePoliciesInput) (any, error) {
			out, err := h.Service.ListRolePolicies(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &ListRolePoliciesResult{PolicyNames: nonNil(out.PolicyNames), PageXML: page(out.Page)}, nil
		}),

	// Managed policies.
	"CreatePolicy": op(
		func(_ *Handler, _ context.Context, account string, in *iam.CreatePolicyInput) string {
			path := "/"
			if in.Path != nil {
				path = *in.Path
			}
			return iam.PolicyARN(account, path, deref(in.PolicyName))
		},
		func(h *Handler, ctx context.Context, account string, in *iam.CreatePolicyInput) (any, error) {
			out, err := h.Service.CreatePolicy(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &PolicyResult{Policy: managedPolicy(&out.Policy, false)}, nil
		}),
	"GetPolicy": op(policyResource[iam.PolicyARNInput],
		func(h *Handler, ctx context.Context, account string, in *iam.PolicyARNInput) (any, error) {
			out, err := h.Service.GetPolicy(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &PolicyResult{Policy: managedPolicy(&out.Policy, false)}, nil
		}),
	"DeletePolicy": op(policyResource[iam.PolicyARNInput],
		func(h *Handler, ctx context.Context, account string, in *iam.PolicyARNInput) (any, error) {
			return nil, h.Service.DeletePolicy(ctx, account, in)
		}),
	"ListPolicies": op(anyResource[iam.ListPoliciesInput],
		func(h *Handler, ctx context.Context, account string, in *iam.ListPoliciesInput) (any, error) {
			out, err := h.Service.ListPolicies(ctx, account, in)
			if err != nil {
				return nil, err
			}
			res := &ListPoliciesResult{Policies: []PolicyXML{}, PageXML: page(out.Page)}
			for i := range out.Policies {
				res.Policies = append(res.Policies, managedPolicy(&out.Policies[i], true))
			}
			return res, nil
		}),
	"CreatePolicyVersion": op(policyResource[iam.CreatePolicyVersionInput],
		func(h *Handler, ctx context.Context, account string, in *iam.CreatePolicyVersionInput) (any, error) {
			out, err := h.Service.CreatePolicyVersion(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &PolicyVersionResult{PolicyVersion: policyVersion(&out.PolicyVersion, false)}, nil
		}),
	"GetPolicyVersion": op(policyResource[iam.PolicyVersionInput],
		func(h *Handler, ctx context.Context, account string, in *iam.PolicyVersionInput) (any, error) {
			out, err := h.Service.GetPolicyVersion(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return &PolicyVersionResult{PolicyVersion: policyVersion(&out.PolicyVersion, true)}, nil
		}),
	"DeletePolicyVersion": op(policyResource[iam.PolicyVersionInput],
		func(h *Handler, ctx context.Context, account string, in *iam.PolicyVersionInput) (any, error) {
			return nil, h.Service.DeletePolicyVersion(ctx, account, in)
		}),
	"ListPolicyVersions": op(policyResource[iam.ListPolicyVersionsInput],
		func(h *Handler, ctx context.Context, account string, in *iam.ListPolicyVersionsInput) (any, error) {
			out, err := h.Service.ListPolicyVersions(ctx, account, in)
			if err != nil {
				return nil, err
			}
			res := &ListPolicyVersionsResult{Versions: []PolicyVersionXML{}, PageXML: page(out.Page)}
			for i := range out.Versions {
				res.Versions = append(res.Versions, policyVersion(&out.Versions[i], false))
			}
			return res, nil
		}),
	"SetDefaultPolicyVersion": op(policyResource[iam.PolicyVersionInput],
		func(h *Handler, ctx context.Context, account string, in *iam.PolicyVersionInput) (any, error) {
			return nil, h.Service.SetDefaultPolicyVersion(ctx, account, in)
		}),
	"TagPolicy": op(policyResource[iam.TagPolicyInput],
		func(h *Handler, ctx context.Context, account string, in *iam.TagPolicyInput) (any, error) {
			return nil, h.Service.TagPolicy(ctx, account, in)
		}),
	"UntagPolicy": op(policyResource[iam.UntagPolicyInput],
		func(h *Handler, ctx context.Context, account string, in *iam.UntagPolicyInput) (any, error) {
			return nil, h.Service.UntagPolicy(ctx, account, in)
		}),
	"ListPolicyTags": op(policyResource[iam.ListPolicyTagsInput],
		func(h *Handler, ctx context.Context, account string, in *iam.ListPolicyTagsInput) (any, error) {
			out, err := h.Service.ListPolicyTags(ctx, account, in)
			return listTags(out, err)
		}),

	// Attachments.
	"AttachRolePolicy": op(
		func(h *Handler, ctx context.Context, account string, in *iam.RolePolicyARNInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.RolePolicyARNInput) (any, error) {
			return nil, h.Service.AttachRolePolicy(ctx, account, in)
		}),
	"DetachRolePolicy": op(
		func(h *Handler, ctx context.Context, account string, in *iam.RolePolicyARNInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.RolePolicyARNInput) (any, error) {
			return nil, h.Service.DetachRolePolicy(ctx, account, in)
		}),
	"ListAttachedRolePolicies": op(
		func(h *Handler, ctx context.Context, account string, in *iam.ListAttachedRolePoliciesInput) string {
			return roleResource(h, ctx, account, in.RoleName)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.ListAttachedRolePoliciesInput) (any, error) {
			out, err := h.Service.ListAttachedRolePolicies(ctx, account, in)
			if err != nil {
				return nil, err
			}
			res := &ListAttachedRolePoliciesResult{AttachedPolicies: []attachedPolicyXML{}, PageXML: page(out.Page)}
			for _, p := range out.AttachedPolicies {
				res.AttachedPolicies = append(res.AttachedPolicies, attachedPolicyXML{PolicyName: p.PolicyName, PolicyArn: p.PolicyArn})
			}
			return res, nil
		}),
	"ListEntitiesForPolicy": op(policyResource[iam.ListEntitiesForPolicyInput],
		func(h *Handler, ctx context.Context, account string, in *iam.ListEntitiesForPolicyInput) (any, error) {
			out, err := h.Service.ListEntitiesForPolicy(ctx, account, in)
			if err != nil {
				return nil, err
			}
			res := &ListEntitiesForPolicyResult{PolicyGroups: []policyGroupXML{}, PolicyUsers: []policyUserXML{}, PolicyRoles: []policyRoleXML{}, PageXML: page(out.Page)}
			for _, r := range out.PolicyRoles {
				res.PolicyRoles = append(res.PolicyRoles, policyRoleXML{RoleName: r.RoleName, RoleId: r.RoleId})
			}
			return res, nil
		}),

	// Simulation.
	"SimulateCustomPolicy": op(anyResource[iam.SimulateCustomPolicyInput],
		func(h *Handler, ctx context.Context, account string, in *iam.SimulateCustomPolicyInput) (any, error) {
			out, err := h.Service.SimulateCustomPolicy(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return simulation(out), nil
		}),
	"SimulatePrincipalPolicy": op(
		func(_ *Handler, _ context.Context, _ string, in *iam.SimulatePrincipalPolicyInput) string {
			return deref(in.PolicySourceArn)
		},
		func(h *Handler, ctx context.Context, account string, in *iam.SimulatePrincipalPolicyInput) (any, error) {
			out, err := h.Service.SimulatePrincipalPolicy(ctx, account, in)
			if err != nil {
				return nil, err
			}
			return simulation(out), nil
		}),
}

// policyInput is an input that names a managed policy.
type policyInput interface {
	iam.PolicyARNInput | iam.CreatePolicyVersionInput | iam.PolicyVersionInput | iam.ListPolicyVersionsInput |
		iam.TagPolicyInput | iam.UntagPolicyInput | iam.ListPolicyTagsInput | iam.ListEntitiesForPolicyInput
}

// policyResource is the resource of an action on a managed policy: its
// ARN as given.
func policyResource[In policyInput](_ *Handler, _ context.Context, _ string, in *In) string { //nolint:revive // the receiver comes first, as in the method expressions op pairs it with
	switch v := any(in).(type) {
	case *iam.PolicyARNInput:
		return deref(v.PolicyArn)
	case *iam.CreatePolicyVersionInput:
		return deref(v.PolicyArn)
	case *iam.PolicyVersionInput:
		return deref(v.PolicyArn)
	case *iam.ListPolicyVersionsInput:
		return deref(v.PolicyArn)
	case *iam.TagPolicyInput:
		return deref(v.PolicyArn)
	case *iam.UntagPolicyInput:
		return deref(v.PolicyArn)
	case *iam.ListPolicyTagsInput:
		return deref(v.PolicyArn)
	case *iam.ListEntitiesForPolicyInput:
		return deref(v.PolicyArn)
	}
	return "*"
}

func listTags(out *iam.ListTagsOutput, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return &ListTagsResult{Tags: tags(out.Tags), PageXML: page(out.Page)}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

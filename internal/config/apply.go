package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/store"
)

// Vars are the placeholders a file may use in any string: {{accountId}}
// and {{issuer}} (the built-in issuer's URL without its scheme).
type Vars struct {
	AccountID string
	Issuer    string
}

func (v Vars) expand(s string) string {
	s = strings.ReplaceAll(s, "{{accountId}}", v.AccountID)
	return strings.ReplaceAll(s, "{{issuer}}", v.Issuer)
}

// Report counts what Apply did.
type Report struct {
	Created, Updated, Unchanged int
}

func (r Report) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged", r.Created, r.Updated, r.Unchanged)
}

// Apply creates or updates every object of f so that the store matches it.
// Objects the file does not name are left alone; the inline policies and
// attached policies of a declared role are made exactly those declared.
// Every change goes through the IAM service, so it is validated with AWS's
// rules and messages.
func Apply(ctx context.Context, svc *iam.Service, vars Vars, f *File) (Report, error) {
	a := &applier{svc: svc, st: svc.Store, acct: vars.AccountID, vars: vars}
	for _, c := range f.Clusters {
		ids := c.ClientIDs
		if len(ids) == 0 {
			ids = []string{"sts.amazonaws.com"}
		}
		if err := a.provider(ctx, Provider{URL: c.Issuer, ClientIDs: ids, Tags: map[string]string{"irsa:cluster": c.Name}}); err != nil {
			return a.rep, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
	}
	for _, p := range f.OIDCProviders {
		if err := a.provider(ctx, p); err != nil {
			return a.rep, fmt.Errorf("oidc provider %s: %w", vars.expand(p.URL), err)
		}
	}
	for _, p := range f.Policies {
		if err := a.policy(ctx, p); err != nil {
			return a.rep, fmt.Errorf("policy %s: %w", p.Name, err)
		}
	}
	for _, r := range f.Roles {
		if err := a.role(ctx, r); err != nil {
			return a.rep, fmt.Errorf("role %s: %w", r.Name, err)
		}
	}
	return a.rep, nil
}

type applier struct {
	svc  *iam.Service
	st   store.Store
	acct string
	vars Vars
	rep  Report
}

func ptr[T any](v T) *T { return &v }

func tags(m map[string]string, vars Vars) []iam.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]iam.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, iam.Tag{Key: vars.expand(k), Value: vars.expand(m[k])})
	}
	return out
}

// sameTags reports whether have already holds every tag of want: tags a
// file declares are added to an object's, never removed from them, so
// tags added by others do not make the object differ.
func sameTags(have []store.Tag, want []iam.Tag) bool {
	m := map[string]string{}
	for _, t := range have {
		m[t.Key] = t.Value
	}
	for _, t := range want {
		if v, ok := m[t.Key]; !ok || v != t.Value {
			return false
		}
	}
	return true
}

// sameDocument compares two policy documents as JSON values.
func sameDocument(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func (a *applier) count(changed, created bool) {
	switch {
	case created:
		a.rep.Created++
	case changed:
		a.rep.Updated++
	default:
		a.rep.Unchanged++
	}
}

func (a *applier) provider(ctx context.Context, p Provider) error {
	url := a.vars.expand(p.URL)
	want := tags(p.Tags, a.vars)
	clientIDs := make([]string, len(p.ClientIDs))
	for i, c := range p.ClientIDs {
		clientIDs[i] = a.vars.expand(c)
	}
	arn := "arn:aws:iam::" + a.acct + ":oidc-provider/" + strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://")
	have, err := a.st.GetOIDCProvider(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		_, err := a.svc.CreateOpenIDConnectProvider(ctx, a.acct, &iam.CreateOpenIDConnectProviderInput{Url: &url, ClientIDList: clientIDs, ThumbprintList: p.Thumbprints, Tags: want})
		a.count(false, err == nil)
		return err
	}
	if err != nil {
		return err
	}
	changed := false
	haveIDs := map[string]bool{}
	for _, c := range have.ClientIDs {
		haveIDs[c] = true
	}
	wantIDs := map[string]bool{}
	for _, c := range clientIDs {
		wantIDs[c] = true
		if !haveIDs[c] {
			if err := a.svc.AddClientIDToOpenIDConnectProvider(ctx, a.acct, &iam.ClientIDInput{OpenIDConnectProviderArn: &arn, ClientID: ptr(c)}); err != nil {
				return err
			}
			changed = true
		}
	}
	for _, c := range have.ClientIDs {
		if !wantIDs[c] {
			if err := a.svc.RemoveClientIDFromOpenIDConnectProvider(ctx, a.acct, &iam.ClientIDInput{OpenIDConnectProviderArn: &arn, ClientID: ptr(c)}); err != nil {
				return err
			}
			changed = true
		}
	}
	if strings.Join(have.Thumbprints, ",") != strings.Join(p.Thumbprints, ",") {
		if err := a.svc.UpdateOpenIDConnectProviderThumbprint(ctx, a.acct, &iam.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: &arn, ThumbprintList: p.Thumbprints}); err != nil {
			return err
		}
		changed = true
	}
	if len(want) > 0 && !sameTags(have.Tags, want) {
		if err := a.svc.TagOpenIDConnectProvider(ctx, a.acct, &iam.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: &arn, Tags: want}); err != nil {
			return err
		}
		changed = true
	}
	a.count(changed, false)
	return nil
}

func (a *applier) policyARN(path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + a.acct + ":policy" + path + name
}

func (a *applier) policy(ctx context.Context, p ManagedPolicy) error {
	doc := a.vars.expand(p.Document.JSON)
	arn := a.policyARN(p.Path, p.Name)
	have, err := a.st.GetPolicy(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		in := &iam.CreatePolicyInput{PolicyName: ptr(p.Name), PolicyDocument: &doc, Tags: tags(p.Tags, a.vars)}
		if p.Path != "" {
			in.Path = ptr(p.Path)
		}
		if p.Description != "" {
			in.Description = ptr(p.Description)
		}
		_, err := a.svc.CreatePolicy(ctx, a.acct, in)
		a.count(false, err == nil)
		return err
	}
	if err != nil {
		return err
	}
	current := ""
	for _, v := range have.Versions {
		if v.ID == have.DefaultVersion {
			current = v.Document
		}
	}
	if sameDocument(current, doc) {
		a.count(false, false)
		return nil
	}
	// A policy keeps at most five versions: drop the oldest non-default one.
	if len(have.Versions) >= 5 {
		for _, v := range have.Versions {
			if v.ID != have.DefaultVersion {
				if err := a.svc.DeletePolicyVersion(ctx, a.acct, &iam.PolicyVersionInput{PolicyArn: &arn, VersionId: ptr(v.ID)}); err != nil {
					return err
				}
				break
			}
		}
	}
	_, err = a.svc.CreatePolicyVersion(ctx, a.acct, &iam.CreatePolicyVersionInput{PolicyArn: &arn, PolicyDocument: &doc, SetAsDefault: true})
	a.count(err == nil, false)
	return err
}

// managedARN resolves a managedPolicies entry: an ARN, or the name of a
// policy in the account.
func (a *applier) managedARN(ref string) string {
	ref = a.vars.expand(ref)
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return a.policyARN("/", ref)
}

func (a *applier) role(ctx context.Context, r Role) error {
	trust := a.vars.expand(r.TrustPolicy.JSON)
	name := r.Name
	have, err := a.st.GetRole(ctx, a.acct, name)
	created := false
	changed := false
	if errors.Is(err, store.ErrNotFound) {
		in := &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: &trust, Tags: tags(r.Tags, a.vars)}
		if r.Path != "" {
			in.Path = ptr(r.Path)
		}
		if r.Description != "" {
			in.Description = ptr(r.Description)
		}
		if r.MaxSessionDuration != 0 {
			in.MaxSessionDuration = ptr(int32(r.MaxSessionDuration)) //nolint:gosec // Validate keeps it within 0 or 3600..43200
		}
		if r.PermissionsBoundary != "" {
			in.PermissionsBoundary = ptr(a.managedARN(r.PermissionsBoundary))
		}
		if _, err := a.svc.CreateRole(ctx, a.acct, in); err != nil {
			return err
		}
		created = true
		if have, err = a.st.GetRole(ctx, a.acct, name); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} else {
		if !sameDocument(have.TrustPolicy, trust) {
			if err := a.svc.UpdateAssumeRolePolicy(ctx, a.acct, &iam.UpdateAssumeRolePolicyInput{RoleName: &name, PolicyDocument: &trust}); err != nil {
				return err
			}
			changed = true
		}
		maxDur := r.MaxSessionDuration
		if maxDur == 0 {
			maxDur = 3600
		}
		if have.Description != r.Description || have.MaxSessionDuration != maxDur {
			if err := a.svc.UpdateRole(ctx, a.acct, &iam.UpdateRoleInput{RoleName: &name, Description: ptr(r.Description), MaxSessionDuration: ptr(int32(maxDur))}); err != nil {
				return err
			}
			changed = true
		}
		wantBoundary := ""
		if r.PermissionsBoundary != "" {
			wantBoundary = a.managedARN(r.PermissionsBoundary)
		}
		if have.BoundaryARN != wantBoundary {
			if wantBoundary == "" {
				err = a.svc.DeleteRolePermissionsBoundary(ctx, a.acct, &iam.RoleNameInput{RoleName: &name})
			} else {
				err = a.svc.PutRolePermissionsBoundary(ctx, a.acct, &iam.PutRolePermissionsBoundaryInput{RoleName: &name, PermissionsBoundary: &wantBoundary})
			}
			if err != nil {
				return err
			}
			changed = true
		}
		if want := tags(r.Tags, a.vars); len(want) > 0 && !sameTags(have.Tags, want) {
			if err := a.svc.TagRole(ctx, a.acct, &iam.TagRoleInput{RoleName: &name, Tags: want}); err != nil {
				return err
			}
			changed = true
		}
	}

	// Inline policies: exactly those declared.
	declared := map[string]bool{}
	for _, ip := range r.InlinePolicies {
		declared[ip.Name] = true
		doc := a.vars.expand(ip.Document.JSON)
		current := ""
		for _, hp := range have.InlinePolicies {
			if hp.Name == ip.Name {
				current = hp.Document
			}
		}
		if current != "" && sameDocument(current, doc) {
			continue
		}
		if err := a.svc.PutRolePolicy(ctx, a.acct, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: ptr(ip.Name), PolicyDocument: &doc}); err != nil {
			return fmt.Errorf("inline policy %s: %w", ip.Name, err)
		}
		changed = true
	}
	for _, hp := range have.InlinePolicies {
		if !declared[hp.Name] {
			if err := a.svc.DeleteRolePolicy(ctx, a.acct, &iam.RolePolicyInput{RoleName: &name, PolicyName: ptr(hp.Name)}); err != nil {
				return err
			}
			changed = true
		}
	}
	// Attached policies: exactly those declared.
	wantAttached := map[string]bool{}
	attached := map[string]bool{}
	for _, a := range have.AttachedPolicyARNs {
		attached[a] = true
	}
	for _, ref := range r.ManagedPolicies {
		arn := a.managedARN(ref)
		wantAttached[arn] = true
		if attached[arn] {
			continue
		}
		if err := a.svc.AttachRolePolicy(ctx, a.acct, &iam.RolePolicyARNInput{RoleName: &name, PolicyArn: &arn}); err != nil {
			return fmt.Errorf("attaching %s: %w", arn, err)
		}
		changed = true
	}
	for _, arn := range have.AttachedPolicyARNs {
		if !wantAttached[arn] {
			arn := arn
			if err := a.svc.DetachRolePolicy(ctx, a.acct, &iam.RolePolicyARNInput{RoleName: &name, PolicyArn: &arn}); err != nil {
				return err
			}
			changed = true
		}
	}
	a.count(changed, created)
	return nil
}

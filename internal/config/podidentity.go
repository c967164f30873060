package config

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/store"
)

// PodIdentityAssociation binds a Kubernetes ServiceAccount of a declared
// cluster to a role, as `aws eks create-pod-identity-association` does.
//
//	podIdentityAssociations:
//	  - cluster: prod
//	    namespace: payments
//	    serviceAccount: api
//	    roleArn: arn:aws:iam::{{accountId}}:role/payments-api
//	    targetRoleArn: arn:aws:iam::222222222222:role/reader  # optional
//	    disableSessionTags: true                               # optional
//	    policy: {Version: "2012-10-17", Statement: [...]}     # optional; needs disableSessionTags
//	    tags: {team: payments}                                 # optional
type PodIdentityAssociation struct {
	Cluster            string            `yaml:"cluster"`
	Namespace          string            `yaml:"namespace"`
	ServiceAccount     string            `yaml:"serviceAccount"`
	RoleARN            string            `yaml:"roleArn"`
	TargetRoleARN      string            `yaml:"targetRoleArn"`
	DisableSessionTags bool              `yaml:"disableSessionTags"`
	Policy             Document          `yaml:"policy"`
	Tags               map[string]string `yaml:"tags"`
}

// eksClusterName is EKS's cluster name pattern.
var eksClusterName = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$`)

// validatePodIdentity reports the structural problems of the
// associations: the EKS rules (names, ARNs) are checked when the file is
// applied, with EKS's messages.
func (f *File) validatePodIdentity() []error {
	var errs []error
	clusters := map[string]bool{}
	for _, c := range f.Clusters {
		clusters[c.Name] = true
	}
	seen := map[string]bool{}
	for i, a := range f.PodIdentityAssociations {
		where := fmt.Sprintf("podIdentityAssociations[%d]", i)
		if a.Cluster == "" || a.Namespace == "" || a.ServiceAccount == "" || a.RoleARN == "" {
			errs = append(errs, fmt.Errorf("%s: cluster, namespace, serviceAccount and roleArn are required", where))
		}
		if a.Cluster != "" && !clusters[a.Cluster] {
			errs = append(errs, fmt.Errorf("%s: cluster %s is not declared under clusters", where, a.Cluster))
		} else if a.Cluster != "" && !eksClusterName.MatchString(a.Cluster) {
			errs = append(errs, fmt.Errorf("%s: cluster %s cannot serve EKS Pod Identity: its name must be 1 to 100 letters, digits, '-' and '_', starting with a letter or digit", where, a.Cluster))
		}
		if a.Policy.JSON != "" && !a.DisableSessionTags {
			errs = append(errs, fmt.Errorf("%s (%s/%s): policy needs disableSessionTags: true (EKS does not allow a policy with session tags)", where, a.Namespace, a.ServiceAccount))
		}
		key := a.Cluster + "/" + a.Namespace + "/" + a.ServiceAccount
		if seen[key] {
			errs = append(errs, fmt.Errorf("%s: the service account %s/%s of cluster %s has two associations", where, a.Namespace, a.ServiceAccount, a.Cluster))
		}
		seen[key] = true
	}
	return errs
}

// ApplyPodIdentity makes the file's clusters EKS Pod Identity clusters of
// the account (their Issuer is the issuer of their service-account tokens)
// and creates or updates its podIdentityAssociations through svc, so they
// are validated with EKS's rules and messages. Associations the file does
// not name are left alone; the tags of a declared association are added
// to, as a role's are. Run it after Apply, which registers the roles.
func ApplyPodIdentity(ctx context.Context, svc *podidentity.Service, vars Vars, f *File) (Report, error) {
	var rep Report
	count := func(changed, created bool) {
		switch {
		case created:
			rep.Created++
		case changed:
			rep.Updated++
		default:
			rep.Unchanged++
		}
	}
	acct := vars.AccountID
	ctx = reqctx.With(ctx, &reqctx.Info{RequestID: "config", Caller: &reqctx.Caller{
		Type: "Root", AccountID: acct, ARN: "arn:aws:iam::" + acct + ":root", UserID: acct,
	}})
	now := svc.Now
	if now == nil {
		now = time.Now
	}
	for _, c := range f.Clusters {
		if !eksClusterName.MatchString(c.Name) {
			// An IRSA-only cluster whose name EKS would not accept; no
			// association can name it (Validate).
			continue
		}
		issuer := vars.expand(c.Issuer)
		have, err := svc.Store.GetCluster(ctx, acct, c.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			created := store.Cluster{AccountID: acct, Name: c.Name, ARN: svc.ClusterARN(acct, c.Name), Issuer: issuer, CreatedAt: now().UTC()}
			if err := svc.Store.PutCluster(ctx, created); err != nil {
				return rep, fmt.Errorf("cluster %s: %w", c.Name, err)
			}
			count(false, true)
		case err != nil:
			return rep, fmt.Errorf("cluster %s: %w", c.Name, err)
		case have.Issuer != issuer:
			have.Issuer = issuer
			if err := svc.Store.PutCluster(ctx, have); err != nil {
				return rep, fmt.Errorf("cluster %s: %w", c.Name, err)
			}
			count(true, false)
		default:
			count(false, false)
		}
	}
	for _, p := range f.PodIdentityAssociations {
		changed, created, err := applyAssociation(ctx, svc, vars, p)
		if err != nil {
			return rep, fmt.Errorf("pod identity association %s %s/%s: %w", p.Cluster, p.Namespace, p.ServiceAccount, err)
		}
		count(changed, created)
	}
	return rep, nil
}

func applyAssociation(ctx context.Context, svc *podidentity.Service, vars Vars, p PodIdentityAssociation) (changed, created bool, err error) {
	acct := vars.AccountID
	role := vars.expand(p.RoleARN)
	target := vars.expand(p.TargetRoleARN)
	policy := vars.expand(p.Policy.JSON)
	wantTags := map[string]string{}
	for k, v := range p.Tags {
		wantTags[vars.expand(k)] = vars.expand(v)
	}
	have, err := svc.Store.FindPodIdentityAssociation(ctx, acct, p.Cluster, p.Namespace, p.ServiceAccount)
	if errors.Is(err, store.ErrNotFound) {
		in := &podidentity.CreateInput{ClusterName: p.Cluster, Namespace: p.Namespace, ServiceAccount: p.ServiceAccount, RoleARN: role, Tags: wantTags}
		if target != "" {
			in.TargetRoleARN = &target
		}
		if policy != "" {
			in.Policy = &policy
		}
		if p.DisableSessionTags {
			in.DisableSessionTags = ptr(true)
		}
		if _, err := svc.CreateAssociation(ctx, in); err != nil {
			return false, false, err
		}
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	up := &podidentity.UpdateInput{ClusterName: p.Cluster, AssociationID: have.ID}
	if have.RoleARN != role {
		up.RoleARN = &role
	}
	if have.TargetRoleARN != target {
		up.TargetRoleARN = &target
	}
	if have.DisableSessionTags != p.DisableSessionTags {
		up.DisableSessionTags = ptr(p.DisableSessionTags)
	}
	if !(have.Policy == "" && policy == "") && !sameDocument(have.Policy, policy) {
		up.Policy = &policy
	}
	if up.RoleARN != nil || up.TargetRoleARN != nil || up.DisableSessionTags != nil || up.Policy != nil {
		if _, err := svc.UpdateAssociation(ctx, up); err != nil {
			return false, false, err
		}
		changed = true
	}
	if !hasTags(podidentity.TagMap(have.Tags), wantTags) {
		if err := svc.TagResource(ctx, have.ARN, wantTags); err != nil {
			return false, false, err
		}
		changed = true
	}
	return changed, false, nil
}

// hasTags reports whether have holds every tag of want.
func hasTags(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

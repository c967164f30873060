package podidentity

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
)

// maxUpdateAttempts bounds the retries of an update that lost a race.
const maxUpdateAttempts = 5

// cluster reads the cluster name of account, or answers as EKS does for a
// cluster that does not exist.
func (s *Service) cluster(ctx context.Context, acct, name string) (store.Cluster, error) {
	if !validClusterName(name) {
		return store.Cluster{}, clusterNotFound(name)
	}
	c, err := s.Store.GetCluster(ctx, acct, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Cluster{}, clusterNotFound(name)
	}
	if err != nil {
		return store.Cluster{}, awserr.Internal(err)
	}
	return c, nil
}

// CreateAssociation is CreatePodIdentityAssociation. A retry with the
// ClientRequestToken of an association that exists, and the same input,
// gets that association back; the same token with other input is refused.
func (s *Service) CreateAssociation(ctx context.Context, in *CreateInput) (store.PodIdentityAssociation, error) {
	acct, err := account(ctx)
	if err != nil {
		return store.PodIdentityAssociation{}, err
	}
	c, err := s.cluster(ctx, acct, in.ClusterName)
	if err != nil {
		return store.PodIdentityAssociation{}, err
	}
	a := store.PodIdentityAssociation{
		AccountID: acct, ClusterName: c.Name, Namespace: in.Namespace, ServiceAccount: in.ServiceAccount,
		RoleARN: in.RoleARN, ClientRequestToken: in.ClientRequestToken, Tags: tagList(in.Tags),
	}
	if in.TargetRoleARN != nil {
		a.TargetRoleARN = *in.TargetRoleARN
	}
	if in.Policy != nil {
		a.Policy = *in.Policy
	}
	if in.DisableSessionTags != nil {
		a.DisableSessionTags = *in.DisableSessionTags
	}
	if err := s.checkAssociation(acct, &a); err != nil {
		return store.PodIdentityAssociation{}, err
	}
	if err := checkTags(in.Tags); err != nil {
		return store.PodIdentityAssociation{}, err
	}
	if n := len(in.ClientRequestToken); n > MaxClientToken {
		return store.PodIdentityAssociation{}, invalidParameter("ClientRequestToken must be at most %d characters.", MaxClientToken)
	}

	if err := s.checkTrust(ctx, a.RoleARN, !a.DisableSessionTags); err != nil {
		return store.PodIdentityAssociation{}, err
	}
	if in.ClientRequestToken != "" {
		list, err := s.Store.ListPodIdentityAssociations(ctx, acct, c.Name)
		if err != nil {
			return store.PodIdentityAssociation{}, awserr.Internal(err)
		}
		for _, prev := range list {
			if prev.ClientRequestToken != in.ClientRequestToken {
				continue
			}
			if sameRequest(prev, a) {
				return prev, nil
			}
			return store.PodIdentityAssociation{}, awserr.New(awserr.InvalidRequestException,
				"The client request token was already used to create an association with different parameters.")
		}
	}

	now := s.now()
	if a.ID, err = newAssociationID(s.rnd()); err != nil {
		return store.PodIdentityAssociation{}, awserr.Internal(err)
	}
	a.ARN = s.AssociationARN(acct, c.Name, a.ID)
	if a.TargetRoleARN != "" {
		if a.ExternalID, err = newUUID(s.rnd()); err != nil {
			return store.PodIdentityAssociation{}, awserr.Internal(err)
		}
	}
	a.CreatedAt, a.ModifiedAt, a.Version = now, now, 1
	err = s.Store.CreatePodIdentityAssociation(ctx, a)
	switch {
	case errors.Is(err, store.ErrAlreadyExists):
		prev, ferr := s.Store.FindPodIdentityAssociation(ctx, acct, c.Name, a.Namespace, a.ServiceAccount)
		if ferr != nil {
			return store.PodIdentityAssociation{}, awserr.New(awserr.ResourceInUseException, "Association already exists.")
		}
		return store.PodIdentityAssociation{}, awserr.Newf(awserr.ResourceInUseException, "Association already exists: %s", prev.ID)
	case errors.Is(err, store.ErrNotFound):
		return store.PodIdentityAssociation{}, clusterNotFound(c.Name)
	case err != nil:
		return store.PodIdentityAssociation{}, awserr.Internal(err)
	}
	return a, nil
}

// checkAssociation validates what an association binds.
func (s *Service) checkAssociation(acct string, a *store.PodIdentityAssociation) error {
	if err := checkNamespace(a.Namespace); err != nil {
		return err
	}
	if err := checkServiceAccount(a.ServiceAccount); err != nil {
		return err
	}
	return s.checkRoles(acct, a)
}

// checkRoles validates the roles and the policy of an association.
func (s *Service) checkRoles(acct string, a *store.PodIdentityAssociation) error {
	if a.RoleARN == "" {
		return invalidParameter("RoleArn must not be empty.")
	}
	if err := checkRoleARN("RoleArn", a.RoleARN, s.partition(), acct); err != nil {
		return err
	}
	if a.TargetRoleARN != "" {
		if err := checkRoleARN("TargetRoleArn", a.TargetRoleARN, s.partition(), ""); err != nil {
			return err
		}
		if a.TargetRoleARN == a.RoleARN {
			return invalidParameter("TargetRoleArn must differ from RoleArn.")
		}
	}
	if a.Policy != "" {
		if err := checkPolicy(a.Policy, a.DisableSessionTags); err != nil {
			return err
		}
	}
	return nil
}

// sameRequest reports whether a retried create asks for what prev was
// created with.
func sameRequest(prev, a store.PodIdentityAssociation) bool {
	return prev.Namespace == a.Namespace && prev.ServiceAccount == a.ServiceAccount && prev.RoleARN == a.RoleARN &&
		prev.TargetRoleARN == a.TargetRoleARN && prev.Policy == a.Policy && prev.DisableSessionTags == a.DisableSessionTags &&
		slices.Equal(prev.Tags, a.Tags)
}

// DescribeAssociation is DescribePodIdentityAssociation.
func (s *Service) DescribeAssociation(ctx context.Context, cluster, id string) (store.PodIdentityAssociation, error) {
	acct, err := account(ctx)
	if err != nil {
		return store.PodIdentityAssociation{}, err
	}
	if _, err := s.cluster(ctx, acct, cluster); err != nil {
		return store.PodIdentityAssociation{}, err
	}
	return s.association(ctx, acct, cluster, id)
}

func (s *Service) association(ctx context.Context, acct, cluster, id string) (store.PodIdentityAssociation, error) {
	if !idRE.MatchString(id) {
		return store.PodIdentityAssociation{}, associationNotFound(id)
	}
	a, err := s.Store.GetPodIdentityAssociation(ctx, acct, cluster, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.PodIdentityAssociation{}, associationNotFound(id)
	}
	if err != nil {
		return store.PodIdentityAssociation{}, awserr.Internal(err)
	}
	return a, nil
}

// ListAssociations is ListPodIdentityAssociations: the associations of the
// cluster ordered by namespace, service account and ID, filtered by
// namespace and service account, MaxResults (1–100, default 100) a page.
func (s *Service) ListAssociations(ctx context.Context, in *ListInput) (*ListOutput, error) {
	acct, err := account(ctx)
	if err != nil {
		return nil, err
	}
	limit := MaxListResults
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > MaxListResults {
			return nil, invalidParameter("MaxResults must be between 1 and %d.", MaxListResults)
		}
		limit = int(*in.MaxResults)
	}
	var after string
	if in.NextToken != nil && *in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || strings.Count(string(raw), "/") != 2 {
			return nil, invalidParameter("The nextToken is invalid.")
		}
		after = string(raw)
	}
	if _, err := s.cluster(ctx, acct, in.ClusterName); err != nil {
		return nil, err
	}
	all, err := s.Store.ListPodIdentityAssociations(ctx, acct, in.ClusterName)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	out := &ListOutput{}
	for _, a := range all {
		if in.Namespace != nil && *in.Namespace != "" && a.Namespace != *in.Namespace {
			continue
		}
		if in.ServiceAccount != nil && *in.ServiceAccount != "" && a.ServiceAccount != *in.ServiceAccount {
			continue
		}
		if after != "" && !afterKey(a, after) {
			continue
		}
		if len(out.Associations) == limit {
			last := out.Associations[limit-1]
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(listKey(last)))
			break
		}
		out.Associations = append(out.Associations, a)
	}
	return out, nil
}

// listKey is the position of an association in the list order; "/" cannot
// appear in a namespace, service account or ID.
func listKey(a store.PodIdentityAssociation) string {
	return a.Namespace + "/" + a.ServiceAccount + "/" + a.ID
}

// afterKey reports whether a comes after the position key in the list
// order (namespace, service account, ID).
func afterKey(a store.PodIdentityAssociation, key string) bool {
	parts := strings.SplitN(key, "/", 3)
	if a.Namespace != parts[0] {
		return a.Namespace > parts[0]
	}
	if a.ServiceAccount != parts[1] {
		return a.ServiceAccount > parts[1]
	}
	return a.ID > parts[2]
}

// UpdateAssociation is UpdatePodIdentityAssociation. Setting a target role
// where there was none gives the association a new ExternalID; removing it
// clears the ExternalID.
func (s *Service) UpdateAssociation(ctx context.Context, in *UpdateInput) (store.PodIdentityAssociation, error) {
	acct, err := account(ctx)
	if err != nil {
		return store.PodIdentityAssociation{}, err
	}
	if _, err := s.cluster(ctx, acct, in.ClusterName); err != nil {
		return store.PodIdentityAssociation{}, err
	}
	cur, err := s.association(ctx, acct, in.ClusterName, in.AssociationID)
	if err != nil {
		return store.PodIdentityAssociation{}, err
	}
	if in.RoleARN == nil && in.TargetRoleARN == nil && in.Policy == nil && in.DisableSessionTags == nil {
		return store.PodIdentityAssociation{}, invalidParameter("At least one of roleArn, targetRoleArn, policy and disableSessionTags must be given.")
	}
	if n := len(in.ClientRequestToken); n > MaxClientToken {
		return store.PodIdentityAssociation{}, invalidParameter("ClientRequestToken must be at most %d characters.", MaxClientToken)
	}
	// The trust of the role the association ends up with, when the role or
	// the session tags change.
	if in.RoleARN != nil || in.DisableSessionTags != nil {
		role, tags := cur.RoleARN, !cur.DisableSessionTags
		if in.RoleARN != nil {
			role = *in.RoleARN
		}
		if in.DisableSessionTags != nil {
			tags = !*in.DisableSessionTags
		}
		if err := checkRoleARN("RoleArn", role, s.partition(), acct); err != nil {
			return store.PodIdentityAssociation{}, err
		}
		if err := s.checkTrust(ctx, role, tags); err != nil {
			return store.PodIdentityAssociation{}, err
		}
	}
	externalID, err := newUUID(s.rnd())
	if err != nil {
		return store.PodIdentityAssociation{}, awserr.Internal(err)
	}
	now := s.now()
	for range maxUpdateAttempts {
		out, err := s.Store.UpdatePodIdentityAssociation(ctx, acct, in.ClusterName, in.AssociationID, func(a *store.PodIdentityAssociation) error {
			if in.RoleARN != nil {
				a.RoleARN = *in.RoleARN
			}
			if in.TargetRoleARN != nil {
				a.TargetRoleARN = *in.TargetRoleARN
			}
			if in.Policy != nil {
				a.Policy = *in.Policy
			}
			if in.DisableSessionTags != nil {
				a.DisableSessionTags = *in.DisableSessionTags
			}
			switch {
			case a.TargetRoleARN == "":
				a.ExternalID = ""
			case a.ExternalID == "":
				a.ExternalID = externalID
			}
			if err := s.checkRoles(acct, a); err != nil {
				return err
			}
			a.ModifiedAt = now
			return nil
		})
		switch {
		case errors.Is(err, store.ErrConflict):
			continue
		case errors.Is(err, store.ErrNotFound):
			return store.PodIdentityAssociation{}, associationNotFound(in.AssociationID)
		case err != nil:
			var ae *awserr.Error
			if errors.As(err, &ae) {
				return store.PodIdentityAssociation{}, ae
			}
			return store.PodIdentityAssociation{}, awserr.Internal(err)
		}
		return out, nil
	}
	return store.PodIdentityAssociation{}, awserr.New(awserr.ResourceInUseException, "The association is being modified by another request; retry.")
}

// DeleteAssociation is DeletePodIdentityAssociation; it returns what was
// deleted.
func (s *Service) DeleteAssociation(ctx context.Context, cluster, id string) (store.PodIdentityAssociation, error) {
	acct, err := account(ctx)
	if err != nil {
		return store.PodIdentityAssociation{}, err
	}
	if _, err := s.cluster(ctx, acct, cluster); err != nil {
		return store.PodIdentityAssociation{}, err
	}
	a, err := s.association(ctx, acct, cluster, id)
	if err != nil {
		return store.PodIdentityAssociation{}, err
	}
	err = s.Store.DeletePodIdentityAssociation(ctx, acct, cluster, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.PodIdentityAssociation{}, associationNotFound(id)
	}
	if err != nil {
		return store.PodIdentityAssociation{}, awserr.Internal(err)
	}
	return a, nil
}

// DescribeCluster is DescribeCluster, for the clusters irsa serves.
func (s *Service) DescribeCluster(ctx context.Context, name string) (store.Cluster, error) {
	acct, err := account(ctx)
	if err != nil {
		return store.Cluster{}, err
	}
	return s.cluster(ctx, acct, name)
}

// ListClusters is ListClusters: every cluster of the account, by name.
func (s *Service) ListClusters(ctx context.Context) ([]store.Cluster, error) {
	acct, err := account(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := s.Store.ListClusters(ctx, acct)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	return cs, nil
}

// tagList is tags in key order, nil for none.
func tagList(tags map[string]string) []store.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]store.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, store.Tag{Key: k, Value: tags[k]})
	}
	return out
}

// TagMap is tags as the EKS API shows them.
func TagMap(tags []store.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newAssociationID is "a-" and 17 random lower-case letters and digits.
func newAssociationID(r io.Reader) (string, error) {
	b := make([]byte, 17)
	out := make([]byte, 0, 19)
	out = append(out, 'a', '-')
	for len(out) < 19 {
		if _, err := io.ReadFull(r, b); err != nil {
			return "", fmt.Errorf("association ID: %w", err)
		}
		for _, c := range b {
			// 252 = 7 × 36: reject the top values so every character is
			// equally likely.
			if c < 252 && len(out) < 19 {
				out = append(out, idAlphabet[int(c)%len(idAlphabet)])
			}
		}
	}
	return string(out), nil
}

// newUUID is a random (version 4) UUID.
func newUUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("uuid: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

package podidentity

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
)

// resource is a taggable EKS resource: a cluster, or an association of
// one (ID set).
type resource struct {
	account, cluster, id string
}

// parseResource reads a cluster or association ARN of the caller's
// account. EKS's tagging actions answer BadRequestException for an ARN
// they cannot use and NotFoundException for a resource that is not there.
func (s *Service) parseResource(ctx context.Context, resourceARN string) (resource, error) {
	acct, err := account(ctx)
	if err != nil {
		return resource{}, err
	}
	a, perr := arn.Parse(resourceARN)
	if perr != nil || a.Service != "eks" || a.Partition != s.partition() {
		return resource{}, awserr.Newf(awserr.BadRequestException, "%s is not a valid resource ARN.", resourceARN)
	}
	var r resource
	switch kind, rest, _ := strings.Cut(a.Resource, "/"); kind {
	case "cluster":
		r = resource{account: a.Account, cluster: rest}
		if !validClusterName(rest) {
			return resource{}, awserr.Newf(awserr.BadRequestException, "%s is not a valid resource ARN.", resourceARN)
		}
	case "podidentityassociation":
		cluster, id, ok := strings.Cut(rest, "/")
		if !ok || !validClusterName(cluster) || !idRE.MatchString(id) {
			return resource{}, awserr.Newf(awserr.BadRequestException, "%s is not a valid resource ARN.", resourceARN)
		}
		r = resource{account: a.Account, cluster: cluster, id: id}
	default:
		return resource{}, awserr.Newf(awserr.BadRequestException, "Tagging is not supported for %s.", resourceARN)
	}
	if a.Account != acct || a.Region != s.region() {
		return resource{}, awserr.Newf(awserr.NotFoundException, "Resource %s was not found.", resourceARN)
	}
	return r, nil
}

// updateTags changes the tags of a resource with fn.
func (s *Service) updateTags(ctx context.Context, resourceARN string, fn func([]store.Tag) ([]store.Tag, error)) error {
	r, err := s.parseResource(ctx, resourceARN)
	if err != nil {
		return err
	}
	notFound := awserr.Newf(awserr.NotFoundException, "Resource %s was not found.", resourceARN)
	if r.id == "" {
		for range maxUpdateAttempts {
			c, err := s.Store.GetCluster(ctx, r.account, r.cluster)
			if errors.Is(err, store.ErrNotFound) {
				return notFound
			}
			if err != nil {
				return awserr.Internal(err)
			}
			if c.Tags, err = fn(slices.Clone(c.Tags)); err != nil {
				return err
			}
			err = s.Store.PutCluster(ctx, c)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return awserr.Internal(err)
			}
			return nil
		}
		return awserr.New(awserr.ResourceInUseException, "The cluster is being modified by another request; retry.")
	}
	for range maxUpdateAttempts {
		_, err := s.Store.UpdatePodIdentityAssociation(ctx, r.account, r.cluster, r.id, func(a *store.PodIdentityAssociation) error {
			tags, err := fn(a.Tags)
			a.Tags = tags
			return err
		})
		switch {
		case errors.Is(err, store.ErrConflict):
			continue
		case errors.Is(err, store.ErrNotFound):
			return notFound
		case err != nil:
			var ae *awserr.Error
			if errors.As(err, &ae) {
				return ae
			}
			return awserr.Internal(err)
		}
		return nil
	}
	return awserr.New(awserr.ResourceInUseException, "The association is being modified by another request; retry.")
}

// TagResource is EKS's TagResource for cluster and association ARNs:
// given keys are set, others kept.
func (s *Service) TagResource(ctx context.Context, resourceARN string, tags map[string]string) error {
	if len(tags) == 0 {
		return awserr.New(awserr.BadRequestException, "At least one tag must be given.")
	}
	if err := checkTags(tags); err != nil {
		return awserr.New(awserr.BadRequestException, awserr.As(err).Message)
	}
	return s.updateTags(ctx, resourceARN, func(cur []store.Tag) ([]store.Tag, error) {
		m := TagMap(cur)
		if m == nil {
			m = map[string]string{}
		}
		for k, v := range tags {
			m[k] = v
		}
		if len(m) > MaxTags {
			return nil, awserr.Newf(awserr.BadRequestException, "The number of tags, %d, would exceed the limit of %d.", len(m), MaxTags)
		}
		return tagList(m), nil
	})
}

// UntagResource is EKS's UntagResource: the keys are removed (unknown keys
// are ignored).
func (s *Service) UntagResource(ctx context.Context, resourceARN string, keys []string) error {
	if len(keys) == 0 {
		return awserr.New(awserr.BadRequestException, "At least one tag key must be given.")
	}
	return s.updateTags(ctx, resourceARN, func(cur []store.Tag) ([]store.Tag, error) {
		out := slices.DeleteFunc(cur, func(t store.Tag) bool { return slices.Contains(keys, t.Key) })
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	})
}

// ListTagsForResource is EKS's ListTagsForResource.
func (s *Service) ListTagsForResource(ctx context.Context, resourceARN string) (map[string]string, error) {
	r, err := s.parseResource(ctx, resourceARN)
	if err != nil {
		return nil, err
	}
	notFound := awserr.Newf(awserr.NotFoundException, "Resource %s was not found.", resourceARN)
	var tags []store.Tag
	if r.id == "" {
		c, err := s.Store.GetCluster(ctx, r.account, r.cluster)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound
		}
		if err != nil {
			return nil, awserr.Internal(err)
		}
		tags = c.Tags
	} else {
		a, err := s.Store.GetPodIdentityAssociation(ctx, r.account, r.cluster, r.id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound
		}
		if err != nil {
			return nil, awserr.Internal(err)
		}
		tags = a.Tags
	}
	m := TagMap(tags)
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

package eksapi

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/store"
)

// Tagger tags EKS resources (pod identity associations, by ARN).
type Tagger interface {
	TagResource(ctx context.Context, resourceARN string, tags map[string]string) error
	UntagResource(ctx context.Context, resourceARN string, tagKeys []string) error
	ListTagsForResource(ctx context.Context, resourceARN string) (map[string]string, error)
}

// Handler serves the EKS and EKS Auth actions.
type Handler struct {
	Service *podidentity.Service
	// Tags serves TagResource, UntagResource and ListTagsForResource; nil
	// answers them NotFoundException.
	Tags Tagger
	// Authorize decides whether the request's caller may perform action
	// ("eks:DescribeCluster") on resource (an ARN, or "*"), and returns
	// the explained decision for a denial's audit event (nil when there
	// is none to tell). Nil allows every request.
	Authorize func(ctx context.Context, action, resource string) (*policy.Result, error)
	// Region and Partition build the ARNs authorized (us-east-1 and aws
	// when empty).
	Region, Partition string
}

// action is one row of the dispatch table.
type action struct {
	// resource is the ARN the caller must be allowed the action on.
	resource func(h *Handler, account string, req *Request) string
	// run decodes the members, calls the service and shapes its result.
	run func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error)
}

// Serve handles one request of an authenticated caller and returns the
// result to encode, and the policy decision when the action made one.
// The result of AssumeRoleForPodIdentity is returned on refusals too when
// the token verified, for the audit event.
func (h *Handler) Serve(ctx context.Context, req *Request) (any, *policy.Result, error) {
	a, ok := actions[req.Action]
	if !ok {
		return nil, nil, awserr.New(UnknownOperationException, "Unknown operation "+req.Action).WithStatus(404)
	}
	caller := reqctx.From(ctx).Caller
	if caller == nil || caller.AccountID == "" {
		return nil, nil, awserr.New(awserr.MissingAuthenticationToken, "Missing Authentication Token")
	}
	if h.Authorize != nil {
		if d, err := h.Authorize(ctx, req.Service+":"+req.Action, a.resource(h, caller.AccountID, req)); err != nil {
			return nil, d, err
		}
	}
	return a.run(h, ctx, req)
}

// ClusterName is the clusterName member of a cluster-scoped request ("" for
// the others), which EKS repeats in its errors. DescribeCluster's member
// is name, and its errors do not repeat it.
func (req *Request) ClusterName() string { return req.Labels["clusterName"] }

func (h *Handler) region() string {
	if h.Region == "" {
		return "us-east-1"
	}
	return h.Region
}

func (h *Handler) partition() string {
	if h.Partition == "" {
		return "aws"
	}
	return h.Partition
}

// ClusterARN is the ARN of a cluster of account.
func (h *Handler) ClusterARN(account, name string) string {
	return "arn:" + h.partition() + ":eks:" + h.region() + ":" + account + ":cluster/" + name
}

// AssociationARN is the ARN of a pod identity association of account.
func (h *Handler) AssociationARN(account, clusterName, id string) string {
	return "arn:" + h.partition() + ":eks:" + h.region() + ":" + account + ":podidentityassociation/" + clusterName + "/" + id
}

// Resource builders.

func clusterResource(h *Handler, account string, req *Request) string {
	name := req.Labels["clusterName"]
	if name == "" {
		name = req.Labels["name"] // DescribeCluster
	}
	return h.ClusterARN(account, name)
}

func associationResource(h *Handler, account string, req *Request) string {
	return h.AssociationARN(account, req.Labels["clusterName"], req.Labels["associationId"])
}

func anyResource(*Handler, string, *Request) string { return "*" }

func labeledResource(_ *Handler, _ string, req *Request) string { return req.Labels["resourceArn"] }

// actions is the dispatch table.
var actions = map[string]action{
	CreatePodIdentityAssociation: {clusterResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		var b createAssociationBody
		if err := decodeBody(req.Body, &b); err != nil {
			return nil, nil, err
		}
		a, err := h.Service.CreateAssociation(ctx, &podidentity.CreateInput{
			ClusterName:        req.Labels["clusterName"],
			Namespace:          deref(b.Namespace),
			ServiceAccount:     deref(b.ServiceAccount),
			RoleARN:            deref(b.RoleArn),
			ClientRequestToken: deref(b.ClientRequestToken),
			TargetRoleARN:      b.TargetRoleArn,
			Policy:             b.Policy,
			DisableSessionTags: b.DisableSessionTags,
			Tags:               b.Tags,
		})
		return associationResult(&a, err)
	}},
	DescribePodIdentityAssociation: {associationResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		a, err := h.Service.DescribeAssociation(ctx, req.Labels["clusterName"], req.Labels["associationId"])
		return associationResult(&a, err)
	}},
	UpdatePodIdentityAssociation: {associationResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		var b updateAssociationBody
		if err := decodeBody(req.Body, &b); err != nil {
			return nil, nil, err
		}
		a, err := h.Service.UpdateAssociation(ctx, &podidentity.UpdateInput{
			ClusterName:        req.Labels["clusterName"],
			AssociationID:      req.Labels["associationId"],
			RoleARN:            b.RoleArn,
			TargetRoleARN:      b.TargetRoleArn,
			Policy:             b.Policy,
			DisableSessionTags: b.DisableSessionTags,
			ClientRequestToken: deref(b.ClientRequestToken),
		})
		return associationResult(&a, err)
	}},
	DeletePodIdentityAssociation: {associationResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		a, err := h.Service.DeleteAssociation(ctx, req.Labels["clusterName"], req.Labels["associationId"])
		return associationResult(&a, err)
	}},
	ListPodIdentityAssociations: {clusterResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		in := &podidentity.ListInput{ClusterName: req.Labels["clusterName"]}
		in.Namespace = queryString(req, "namespace")
		in.ServiceAccount = queryString(req, "serviceAccount")
		in.NextToken = queryString(req, "nextToken")
		n, err := queryInt32(req, "maxResults")
		if err != nil {
			return nil, nil, err
		}
		in.MaxResults = n
		out, err := h.Service.ListAssociations(ctx, in)
		if err != nil {
			return nil, nil, err
		}
		res := &ListAssociationsResult{Associations: make([]AssociationSummary, 0, len(out.Associations)), NextToken: out.NextToken}
		for i := range out.Associations {
			res.Associations = append(res.Associations, summary(&out.Associations[i]))
		}
		return res, nil, nil
	}},
	DescribeCluster: {clusterResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		c, err := h.Service.DescribeCluster(ctx, req.Labels["name"])
		if err != nil {
			return nil, nil, err
		}
		return &DescribeClusterResult{Cluster: cluster(&c)}, nil, nil
	}},
	ListClusters: {anyResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		n, err := queryInt32(req, "maxResults")
		if err != nil {
			return nil, nil, err
		}
		limit := int32(100)
		if n != nil {
			if *n < 1 || *n > 100 {
				return nil, nil, awserr.New(awserr.InvalidParameterException, "maxResults must be between 1 and 100.")
			}
			limit = *n
		}
		after := ""
		if t := queryString(req, "nextToken"); t != nil {
			b, err := base64.RawURLEncoding.DecodeString(*t)
			if err != nil || len(b) == 0 {
				return nil, nil, awserr.New(awserr.InvalidParameterException, "The nextToken is not valid.")
			}
			after = string(b)
		}
		all, err := h.Service.ListClusters(ctx)
		if err != nil {
			return nil, nil, err
		}
		// The clusters come sorted by name: a page starts after the last
		// name of the previous one.
		res := &ListClustersResult{Clusters: []string{}}
		for _, c := range all {
			if after != "" && c.Name <= after {
				continue
			}
			if int32(len(res.Clusters)) == limit {
				res.NextToken = base64.RawURLEncoding.EncodeToString([]byte(res.Clusters[len(res.Clusters)-1]))
				break
			}
			res.Clusters = append(res.Clusters, c.Name)
		}
		return res, nil, nil
	}},
	TagResource: {labeledResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		var b tagResourceBody
		if err := decodeBody(req.Body, &b); err != nil {
			return nil, nil, err
		}
		if len(b.Tags) == 0 {
			return nil, nil, awserr.New(awserr.BadRequestException, "tags must not be empty.")
		}
		if h.Tags == nil {
			return nil, nil, notTaggable(req)
		}
		if err := h.Tags.TagResource(ctx, req.Labels["resourceArn"], b.Tags); err != nil {
			return nil, nil, err
		}
		return EmptyResult{}, nil, nil
	}},
	UntagResource: {labeledResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		keys := req.Query["tagKeys"]
		if len(keys) == 0 {
			return nil, nil, awserr.New(awserr.BadRequestException, "tagKeys must not be empty.")
		}
		if h.Tags == nil {
			return nil, nil, notTaggable(req)
		}
		if err := h.Tags.UntagResource(ctx, req.Labels["resourceArn"], keys); err != nil {
			return nil, nil, err
		}
		return EmptyResult{}, nil, nil
	}},
	ListTagsForResource: {labeledResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		if h.Tags == nil {
			return nil, nil, notTaggable(req)
		}
		tags, err := h.Tags.ListTagsForResource(ctx, req.Labels["resourceArn"])
		if err != nil {
			return nil, nil, err
		}
		if tags == nil {
			tags = map[string]string{}
		}
		return &TagsResult{Tags: tags}, nil, nil
	}},
	AssumeRoleForPodIdentity: {clusterResource, func(h *Handler, ctx context.Context, req *Request) (any, *policy.Result, error) {
		var b assumeRoleForPodIdentityBody
		if err := decodeBody(req.Body, &b); err != nil {
			return nil, nil, err
		}
		if err := validClusterName(req.Labels["clusterName"]); err != nil {
			return nil, nil, err
		}
		if b.Token == nil || *b.Token == "" {
			return nil, nil, awserr.New(awserr.InvalidParameterException, "token is required.")
		}
		out, decision, err := h.Service.AssumeRoleForPodIdentity(ctx, req.Labels["clusterName"], *b.Token)
		if out == nil {
			return nil, decision, err
		}
		res := &AssumeRoleForPodIdentityResult{
			Subject:                Subject{Namespace: out.Namespace, ServiceAccount: out.ServiceAccount},
			Audience:               podidentity.Audience,
			PodIdentityAssociation: AssociationRef{AssociationArn: out.AssociationARN, AssociationID: out.AssociationID},
			AssumedRoleUser:        AssumedRoleUser{Arn: out.AssumedRoleUser.ARN, AssumeRoleID: out.AssumedRoleUser.AssumedRoleID},
			Credentials: Credentials{
				SessionToken:    out.Credentials.SessionToken,
				SecretAccessKey: out.Credentials.SecretAccessKey,
				AccessKeyID:     out.Credentials.AccessKeyID,
				Expiration:      Epoch(out.Credentials.Expiration),
			},
			Identity: out.Identity,
			RoleARN:  out.RoleARN,
		}
		return res, decision, err
	}},
}

func associationResult(a *store.PodIdentityAssociation, err error) (any, *policy.Result, error) {
	if err != nil {
		return nil, nil, err
	}
	return &AssociationResult{Association: association(a)}, nil, nil
}

// notTaggable answers a tag request when no tagger is configured.
func notTaggable(req *Request) error {
	return awserr.New(awserr.NotFoundException, "Resource not found: "+req.Labels["resourceArn"])
}

// validClusterName checks EKS Auth's ClusterName: 1 to 100 of
// [0-9A-Za-z][A-Za-z0-9\-_]*.
func validClusterName(name string) error {
	ok := len(name) >= 1 && len(name) <= 100
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		ok = alnum || i > 0 && (c == '-' || c == '_')
	}
	if !ok {
		return awserr.New(awserr.InvalidParameterException, "clusterName must be 1 to 100 letters, digits, hyphens and underscores, starting with a letter or digit.")
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// queryString is a query member, nil when absent.
func queryString(req *Request, name string) *string {
	vs, ok := req.Query[name]
	if !ok || len(vs) == 0 {
		return nil
	}
	v := vs[0]
	return &v
}

// queryInt32 is an integer query member, nil when absent.
func queryInt32(req *Request, name string) (*int32, error) {
	s := queryString(req, name)
	if s == nil {
		return nil, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(*s), 10, 32)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return nil, awserr.Newf(awserr.InvalidParameterException, "%s is out of range.", name)
		}
		return nil, awserr.Newf(awserr.InvalidParameterException, "%s must be an integer.", name)
	}
	v := int32(n)
	return &v, nil
}

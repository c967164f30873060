package podidentity

import (
	"context"
	"crypto/rand"
	"io"
	"time"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/sts"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// Store is what the service keeps: clusters and associations. store.Store
// satisfies it.
type Store interface {
	store.Clusters
	store.PodIdentityAssociations
}

// TokenVerifier verifies a projected service-account token of a cluster:
// its issuer must be the cluster's Issuer, its signature one of the
// issuer's keys, its audience must contain Audience. Errors are
// *awserr.Error as webidentity.Verifier gives them. ClusterVerifier is the
// implementation.
type TokenVerifier interface {
	VerifyClusterToken(ctx context.Context, c store.Cluster, token string) (*webidentity.Identity, error)
}

// Audience is the audience of pod identity tokens, and the service
// principal that assumes the associations' roles.
const Audience = "pods.eks.amazonaws.com"

// DefaultDuration is how long the credentials of AssumeRoleForPodIdentity
// last when the role allows it (EKS's six hours, which the node agent's
// three-hour cache retention implies; irsa lowers it to the role's
// MaxSessionDuration instead of failing). A target role's session is a
// chained one and lasts an hour.
const DefaultDuration = 6 * time.Hour

// Service is EKS Pod Identity: the associations of the EKS API and the
// EKS Auth exchange. The account of every call is the signed caller's
// (reqctx.From(ctx).Caller.AccountID). Errors are *awserr.Error with EKS's
// codes.
type Service struct {
	Store    Store
	STS      *sts.Service
	Verifier TokenVerifier
	// Roles, when set, lets CreateAssociation and UpdateAssociation check
	// the role's trust policy as EKS does (MsgTrustInvalid).
	Roles RoleReader
	Now   func() time.Time
	Rand  io.Reader
	// Region is the region of the ARNs; Partition "aws" unless set.
	Region    string
	Partition string
	// Duration of the credentials; DefaultDuration when zero.
	Duration time.Duration
}

// CreateInput is CreatePodIdentityAssociation's request.
type CreateInput struct {
	ClusterName, Namespace, ServiceAccount, RoleARN, ClientRequestToken string
	TargetRoleARN, Policy                                               *string
	DisableSessionTags                                                  *bool
	Tags                                                                map[string]string
}

// UpdateInput is UpdatePodIdentityAssociation's request. A nil field is
// left as it is; TargetRoleARN and Policy set to "" remove them.
type UpdateInput struct {
	ClusterName, AssociationID     string
	RoleARN, TargetRoleARN, Policy *string
	DisableSessionTags             *bool
	ClientRequestToken             string
}

// ListInput is ListPodIdentityAssociations's request.
type ListInput struct {
	ClusterName               string
	Namespace, ServiceAccount *string
	MaxResults                *int32
	NextToken                 *string
}

// ListOutput is ListPodIdentityAssociations's result.
type ListOutput struct {
	Associations []store.PodIdentityAssociation
	NextToken    string
}

// AssumeOutput is AssumeRoleForPodIdentity's result.
type AssumeOutput struct {
	Namespace, ServiceAccount     string
	AssociationARN, AssociationID string
	// RoleARN is the association's role (its target role when it has
	// one), set on refusals after the association was found, too.
	RoleARN         string
	AssumedRoleUser sts.AssumedRoleUser
	Credentials     sts.Credentials
	// Identity is the verified token, for the audit record (set on
	// refusals after the token verified, too).
	Identity *webidentity.Identity
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) rnd() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Service) partition() string {
	if s.Partition != "" {
		return s.Partition
	}
	return "aws"
}

func (s *Service) region() string {
	if s.Region != "" {
		return s.Region
	}
	return "us-east-1"
}

func (s *Service) duration() time.Duration {
	if s.Duration > 0 {
		return s.Duration
	}
	return DefaultDuration
}

// ClusterARN is the ARN of a cluster of account.
func (s *Service) ClusterARN(account, name string) string {
	return "arn:" + s.partition() + ":eks:" + s.region() + ":" + account + ":cluster/" + name
}

// AssociationARN is the ARN of an association.
func (s *Service) AssociationARN(account, cluster, id string) string {
	return "arn:" + s.partition() + ":eks:" + s.region() + ":" + account + ":podidentityassociation/" + cluster + "/" + id
}

// account is the signed caller's account.
func account(ctx context.Context) (string, error) {
	c := reqctx.From(ctx).Caller
	if c == nil || c.AccountID == "" {
		return "", awserr.New(awserr.AccessDeniedException, "Missing Authentication Token")
	}
	return c.AccountID, nil
}

package store

import (
	"context"
	"time"
)

// Cluster is a Kubernetes cluster irsa serves EKS Pod Identity for. Its
// service-account tokens are verified against Issuer's keys.
type Cluster struct {
	AccountID string
	Name      string // 1–100 of [0-9A-Za-z][A-Za-z0-9-_]*
	ARN       string // arn:aws:eks:REGION:ACCOUNT:cluster/NAME
	Issuer    string // the cluster's --service-account-issuer
	Tags      []Tag
	CreatedAt time.Time
	Version   int64
}

// PodIdentityAssociation binds a ServiceAccount of a cluster to a role.
// There is at most one per (AccountID, ClusterName, Namespace,
// ServiceAccount).
type PodIdentityAssociation struct {
	AccountID      string
	ClusterName    string
	ID             string // a-<17 lower-case letters and digits>
	ARN            string // arn:aws:eks:REGION:ACCOUNT:podidentityassociation/CLUSTER/ID
	Namespace      string
	ServiceAccount string
	RoleARN        string
	// TargetRoleARN, when set, is assumed from RoleARN's session (role
	// chaining, usually into another account) with ExternalID.
	TargetRoleARN      string
	ExternalID         string
	DisableSessionTags bool
	// Policy is a session policy applied to the issued credentials ("" for
	// none).
	Policy   string
	Tags     []Tag
	OwnerARN string
	// ClientRequestToken is the idempotency token the association was
	// created with ("" for none): a retry with the same token and the same
	// input gets this association back.
	ClientRequestToken string
	CreatedAt          time.Time
	ModifiedAt         time.Time
	Version            int64
}

// Clusters stores clusters, keyed by account and name.
type Clusters interface {
	// PutCluster creates the cluster or replaces its Issuer and Tags.
	PutCluster(ctx context.Context, c Cluster) error
	GetCluster(ctx context.Context, accountID, name string) (Cluster, error)
	ListClusters(ctx context.Context, accountID string) ([]Cluster, error) // by name
	// DeleteCluster deletes the cluster and its associations.
	DeleteCluster(ctx context.Context, accountID, name string) error
}

// PodIdentityAssociations stores associations, keyed by account, cluster
// and ID.
type PodIdentityAssociations interface {
	// CreatePodIdentityAssociation fails with ErrAlreadyExists when the
	// ID, or the (cluster, namespace, service account), is taken, and with
	// ErrNotFound when the cluster does not exist.
	CreatePodIdentityAssociation(ctx context.Context, a PodIdentityAssociation) error
	GetPodIdentityAssociation(ctx context.Context, accountID, cluster, id string) (PodIdentityAssociation, error)
	// FindPodIdentityAssociation is the association of one ServiceAccount.
	FindPodIdentityAssociation(ctx context.Context, accountID, cluster, namespace, serviceAccount string) (PodIdentityAssociation, error)
	// ListPodIdentityAssociations is every association of a cluster,
	// ordered by namespace, service account and ID.
	ListPodIdentityAssociations(ctx context.Context, accountID, cluster string) ([]PodIdentityAssociation, error)
	UpdatePodIdentityAssociation(ctx context.Context, accountID, cluster, id string, fn func(*PodIdentityAssociation) error) (PodIdentityAssociation, error)
	DeletePodIdentityAssociation(ctx context.Context, accountID, cluster, id string) error
}

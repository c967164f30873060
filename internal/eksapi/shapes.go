package eksapi

import (
	"strconv"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// Epoch is a rest-json timestamp: seconds since the Unix epoch, a JSON
// number, with milliseconds when the time has them.
type Epoch time.Time

// MarshalJSON writes the number.
func (e Epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.AppendInt(nil, t.Unix(), 10), nil
	}
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// Requests. Members absent from the body stay nil; unknown members are
// ignored, as EKS ignores them.

type createAssociationBody struct {
	Namespace          *string           `json:"namespace"`
	ServiceAccount     *string           `json:"serviceAccount"`
	RoleArn            *string           `json:"roleArn"`
	ClientRequestToken *string           `json:"clientRequestToken"`
	Tags               map[string]string `json:"tags"`
	DisableSessionTags *bool             `json:"disableSessionTags"`
	TargetRoleArn      *string           `json:"targetRoleArn"`
	Policy             *string           `json:"policy"`
}

type updateAssociationBody struct {
	RoleArn            *string `json:"roleArn"`
	ClientRequestToken *string `json:"clientRequestToken"`
	DisableSessionTags *bool   `json:"disableSessionTags"`
	TargetRoleArn      *string `json:"targetRoleArn"`
	Policy             *string `json:"policy"`
}

type tagResourceBody struct {
	Tags map[string]string `json:"tags"`
}

type assumeRoleForPodIdentityBody struct {
	Token *string `json:"token"`
	// Sent by recent agents; informational.
	EKSNodeName *string `json:"eksNodeName"`
	InstanceID  *string `json:"instanceId"`
	Zone        *string `json:"zone"`
}

// Results.

// Association is the PodIdentityAssociation shape.
type Association struct {
	ClusterName        string            `json:"clusterName"`
	Namespace          string            `json:"namespace"`
	ServiceAccount     string            `json:"serviceAccount"`
	RoleArn            string            `json:"roleArn"`
	AssociationArn     string            `json:"associationArn"`
	AssociationID      string            `json:"associationId"`
	Tags               map[string]string `json:"tags"`
	CreatedAt          Epoch             `json:"createdAt"`
	ModifiedAt         Epoch             `json:"modifiedAt"`
	OwnerArn           string            `json:"ownerArn,omitempty"`
	DisableSessionTags bool              `json:"disableSessionTags"`
	TargetRoleArn      string            `json:"targetRoleArn,omitempty"`
	ExternalID         string            `json:"externalId,omitempty"`
	Policy             string            `json:"policy,omitempty"`
}

// AssociationResult is the output of Create, Describe, Update and Delete.
type AssociationResult struct {
	Association Association `json:"association"`
}

// AssociationSummary is the PodIdentityAssociationSummary shape.
type AssociationSummary struct {
	ClusterName    string `json:"clusterName"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	AssociationArn string `json:"associationArn"`
	AssociationID  string `json:"associationId"`
	OwnerArn       string `json:"ownerArn,omitempty"`
}

// ListAssociationsResult is ListPodIdentityAssociations's output.
type ListAssociationsResult struct {
	Associations []AssociationSummary `json:"associations"`
	NextToken    string               `json:"nextToken,omitempty"`
}

// Cluster is the part of the Cluster shape irsa knows.
type Cluster struct {
	Name      string            `json:"name"`
	Arn       string            `json:"arn"`
	CreatedAt Epoch             `json:"createdAt"`
	Identity  ClusterIdentity   `json:"identity"`
	Status    string            `json:"status"`
	Tags      map[string]string `json:"tags"`
}

// ClusterIdentity is the cluster's identity element.
type ClusterIdentity struct {
	OIDC ClusterOIDC `json:"oidc"`
}

// ClusterOIDC names the cluster's service-account issuer.
type ClusterOIDC struct {
	Issuer string `json:"issuer"`
}

// DescribeClusterResult is DescribeCluster's output.
type DescribeClusterResult struct {
	Cluster Cluster `json:"cluster"`
}

// ListClustersResult is ListClusters's output.
type ListClustersResult struct {
	Clusters  []string `json:"clusters"`
	NextToken string   `json:"nextToken,omitempty"`
}

// TagsResult is ListTagsForResource's output.
type TagsResult struct {
	Tags map[string]string `json:"tags"`
}

// EmptyResult is the {} of TagResource and UntagResource.
type EmptyResult struct{}

// AssumeRoleForPodIdentityResult is EKS Auth's answer. Identity and
// RoleARN are for the audit event, never encoded.
type AssumeRoleForPodIdentityResult struct {
	Subject                Subject               `json:"subject"`
	Audience               string                `json:"audience"`
	PodIdentityAssociation AssociationRef        `json:"podIdentityAssociation"`
	AssumedRoleUser        AssumedRoleUser       `json:"assumedRoleUser"`
	Credentials            Credentials           `json:"credentials"`
	Identity               *webidentity.Identity `json:"-"`
	// RoleARN is the association's role, known on refusals too.
	RoleARN string `json:"-"`
}

// Subject is the service account the token names.
type Subject struct {
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
}

// AssociationRef names the association used.
type AssociationRef struct {
	AssociationArn string `json:"associationArn"`
	AssociationID  string `json:"associationId"`
}

// AssumedRoleUser names the session; note EKS Auth's assumeRoleId.
type AssumedRoleUser struct {
	Arn          string `json:"arn"`
	AssumeRoleID string `json:"assumeRoleId"`
}

// Credentials are the session's credentials. They are secret: never log
// or audit this element (AuditResponse gives the audit view).
type Credentials struct {
	SessionToken    string `json:"sessionToken"`
	SecretAccessKey string `json:"secretAccessKey"`
	AccessKeyID     string `json:"accessKeyId"`
	Expiration      Epoch  `json:"expiration"`
}

func association(a *store.PodIdentityAssociation) Association {
	return Association{
		ClusterName:        a.ClusterName,
		Namespace:          a.Namespace,
		ServiceAccount:     a.ServiceAccount,
		RoleArn:            a.RoleARN,
		AssociationArn:     a.ARN,
		AssociationID:      a.ID,
		Tags:               tagMap(a.Tags),
		CreatedAt:          Epoch(a.CreatedAt),
		ModifiedAt:         Epoch(a.ModifiedAt),
		OwnerArn:           a.OwnerARN,
		DisableSessionTags: a.DisableSessionTags,
		TargetRoleArn:      a.TargetRoleARN,
		ExternalID:         a.ExternalID,
		Policy:             a.Policy,
	}
}

func summary(a *store.PodIdentityAssociation) AssociationSummary {
	return AssociationSummary{
		ClusterName:    a.ClusterName,
		Namespace:      a.Namespace,
		ServiceAccount: a.ServiceAccount,
		AssociationArn: a.ARN,
		AssociationID:  a.ID,
		OwnerArn:       a.OwnerARN,
	}
}

func cluster(c *store.Cluster) Cluster {
	return Cluster{
		Name:      c.Name,
		Arn:       c.ARN,
		CreatedAt: Epoch(c.CreatedAt),
		Identity:  ClusterIdentity{OIDC: ClusterOIDC{Issuer: c.Issuer}},
		Status:    "ACTIVE",
		Tags:      tagMap(c.Tags),
	}
}

// tagMap is never nil: EKS answers "tags": {} for an untagged resource.
func tagMap(tags []store.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func timeOf(e Epoch) time.Time { return time.Time(e) }

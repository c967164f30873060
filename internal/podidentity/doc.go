// Package podidentity owns EKS Pod Identity: clusters, pod identity
// associations (the EKS API's CreatePodIdentityAssociation and friends) and
// the EKS Auth exchange of a projected service-account token for role
// credentials (AssumeRoleForPodIdentity).
package podidentity

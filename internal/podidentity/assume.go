package podidentity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/sts"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// Session tags EKS Pod Identity adds, all transitive, unless the
// association disables them.
const (
	TagClusterARN     = "eks-cluster-arn"
	TagClusterName    = "eks-cluster-name"
	TagNamespace      = "kubernetes-namespace"
	TagServiceAccount = "kubernetes-service-account"
	TagPodName        = "kubernetes-pod-name"
	TagPodUID         = "kubernetes-pod-uid"
)

// Messages of EKS Auth. MsgRoleDenied is EKS Auth's text when the
// association's role does not trust pods.eks.amazonaws.com (quoted from an
// agent log in a public EKS workshop); the others are irsa's own.
const (
	MsgRoleDenied   = "Unauthorized Exception! EKS does not have permissions to assume the associated role."
	MsgTargetDenied = "Unauthorized Exception! The associated role is not allowed to assume the target role."
	MsgNotJWT       = "The token is not a valid JWT."
	MsgNotPodToken  = "The token is not a Kubernetes service account token bound to a pod."
)

// AssumeRoleForPodIdentity is EKS Auth's AssumeRoleForPodIdentity: the
// cluster must exist in the caller's account; the token must be one of its
// service-account tokens, for Audience and bound to a pod; the
// ServiceAccount must have an association; then the association's role is
// assumed as pods.eks.amazonaws.com with the six session tags (unless
// disabled) and, with a target role, that role is assumed from the first
// session with the association's external ID. The association's policy is
// the session policy of the last session.
//
// A refusal after the token verified comes with an output that holds only
// Identity, for the audit record; the *policy.Result is the evaluation
// that decided, when there was one.
//
// A ServiceAccount without an association is refused with
// AccessDeniedException (400), as a pod without one is on EKS: the pod is
// not allowed credentials; the message names what is missing.
func (s *Service) AssumeRoleForPodIdentity(ctx context.Context, cluster, token string) (*AssumeOutput, *policy.Result, error) {
	acct, err := account(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !validClusterName(cluster) {
		return nil, nil, invalidParameter("The cluster name %s is invalid: it must be 1 to 100 characters of letters, digits, '-' and '_', starting with a letter or digit.", cluster)
	}
	token = strings.TrimSpace(token)
	if !jwtRE.MatchString(token) {
		return nil, nil, awserr.New(awserr.InvalidTokenException, MsgNotJWT)
	}
	c, err := s.cluster(ctx, acct, cluster)
	if err != nil {
		return nil, nil, err
	}
	id, err := s.Verifier.VerifyClusterToken(ctx, c, token)
	if err != nil {
		return nil, nil, tokenError(err, c)
	}
	failed := &AssumeOutput{Identity: id}
	if !slices.Contains(id.Audience, Audience) {
		return failed, nil, awserr.New(awserr.InvalidTokenException, "The token's audience does not contain "+Audience+".")
	}
	ns, sa, ok := serviceAccount(id)
	if !ok {
		return failed, nil, awserr.New(awserr.InvalidTokenException, MsgNotPodToken)
	}
	failed.Namespace, failed.ServiceAccount = ns, sa
	a, err := s.Store.FindPodIdentityAssociation(ctx, acct, c.Name, ns, sa)
	if errors.Is(err, store.ErrNotFound) {
		return failed, nil, awserr.EKSAuthAccessDenied(fmt.Sprintf(
			"No Pod Identity Association found for service account %s in namespace %s of cluster %s.", sa, ns, c.Name))
	}
	if err != nil {
		return failed, nil, awserr.Internal(err)
	}
	failed.AssociationARN, failed.AssociationID, failed.RoleARN = a.ARN, a.ID, a.RoleARN
	if a.TargetRoleARN != "" {
		failed.RoleARN = a.TargetRoleARN
	}

	suffix, err := newUUID(s.rnd())
	if err != nil {
		return failed, nil, awserr.Internal(err)
	}
	name := SessionName(c.Name, id.Kubernetes.PodName, suffix)
	// aws:SourceAccount and aws:SourceArn name the account and the
	// association EKS acts for, so trust policies can pin them (as users
	// do with ArnLike arn:aws:eks:*:ACCOUNT:podidentityassociation/CLUSTER/*).
	in := &sts.ServiceAssumeInput{Service: Audience, RoleArn: a.RoleARN, RoleSessionName: name, ClampDuration: true,
		SourceAccount: acct, SourceArn: a.ARN}
	seconds := int32(s.duration().Seconds()) //nolint:gosec // a few hours
	in.DurationSeconds = &seconds
	if !a.DisableSessionTags {
		in.Tags = []sts.Tag{
			{Key: TagClusterARN, Value: c.ARN},
			{Key: TagClusterName, Value: c.Name},
			{Key: TagNamespace, Value: ns},
			{Key: TagServiceAccount, Value: sa},
			{Key: TagPodName, Value: id.Kubernetes.PodName},
			{Key: TagPodUID, Value: id.Kubernetes.PodUID},
		}
		for _, t := range in.Tags {
			in.TransitiveTagKeys = append(in.TransitiveTagKeys, t.Key)
		}
	}
	if a.Policy != "" && a.TargetRoleARN == "" {
		in.Policy = &a.Policy
	}
	first, result, err := s.STS.AssumeRoleForService(ctx, in)
	if err != nil {
		return failed, result, stsError(err, MsgRoleDenied)
	}
	user, creds := first.AssumedRoleUser, first.Credentials

	if a.TargetRoleARN != "" {
		caller, err := s.STS.CallerOf(ctx, first.Credentials)
		if err != nil {
			return failed, result, stsError(err, MsgTargetDenied)
		}
		info := *reqctx.From(ctx)
		info.Caller = caller
		chained := &sts.AssumeRoleInput{RoleArn: &a.TargetRoleARN, RoleSessionName: &name}
		if a.ExternalID != "" {
			chained.ExternalID = &a.ExternalID
		}
		if a.Policy != "" {
			chained.Policy = &a.Policy
		}
		second, r, err := s.STS.AssumeRole(reqctx.With(ctx, &info), chained)
		if err != nil {
			return failed, r, stsError(err, MsgTargetDenied)
		}
		result, user, creds = r, second.AssumedRoleUser, second.Credentials
	}
	return &AssumeOutput{
		Namespace: ns, ServiceAccount: sa, AssociationARN: a.ARN, AssociationID: a.ID,
		AssumedRoleUser: user, Credentials: creds, Identity: id,
	}, result, nil
}

// SessionName is EKS's role session name, eks-CLUSTER-POD-UUID, kept to
// STS's 64 characters by shortening "eks-CLUSTER-POD" so that the UUID
// stays whole.
func SessionName(cluster, pod, uuid string) string {
	prefix := "eks-" + cluster + "-" + pod
	if room := 64 - 1 - len(uuid); len(prefix) > room {
		prefix = prefix[:room]
	}
	return prefix + "-" + uuid
}

// serviceAccount reads the namespace and ServiceAccount of a pod-bound
// token: sub must be system:serviceaccount:NS:SA and agree with the
// kubernetes.io claim, which must name the pod.
func serviceAccount(id *webidentity.Identity) (ns, sa string, ok bool) {
	rest, found := strings.CutPrefix(id.Subject, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	ns, sa, found = strings.Cut(rest, ":")
	k := id.Kubernetes
	if !found || ns == "" || sa == "" || k == nil || k.Namespace != ns || k.ServiceAccountName != sa || k.PodName == "" || k.PodUID == "" {
		return "", "", false
	}
	return ns, sa, true
}

// tokenError is EKS Auth's answer to a token the verifier refused.
func tokenError(err error, c store.Cluster) error {
	ae := awserr.As(err)
	switch ae.Code {
	case awserr.ExpiredTokenException:
		return &awserr.Error{Code: awserr.ExpiredTokenException, Message: ae.Message, Cause: ae.Cause}
	case awserr.IDPCommunicationError, awserr.OpenIDIdpCommunicationError:
		return &awserr.Error{Code: awserr.ServiceUnavailableException, Message: "The signing keys of cluster " + c.Name + "'s service account issuer could not be retrieved; retry.", Cause: ae}
	case awserr.InternalFailure:
		return &awserr.Error{Code: awserr.InternalServerException, Message: ae.Message, Cause: ae.Cause}
	case awserr.ValidationError:
		// The length limits of STS's parameter, said of EKS Auth's.
		return &awserr.Error{Code: awserr.InvalidParameterException, Message: strings.ReplaceAll(ae.Message, "'webIdentityToken'", "'token'"), Cause: ae.Cause}
	}
	msg := ae.Message
	if strings.HasPrefix(msg, "No OpenIDConnect provider found") {
		msg = "The token was not issued by the service account issuer of cluster " + c.Name + "."
	}
	return &awserr.Error{Code: awserr.InvalidTokenException, Message: msg, Cause: ae.Cause}
}

// stsError is EKS Auth's answer to a refusal of STS.
func stsError(err error, denied string) error {
	ae := awserr.As(err)
	switch ae.Code {
	case awserr.AccessDenied:
		e := awserr.EKSAuthAccessDenied(denied)
		e.Cause = ae
		return e
	case awserr.InternalFailure:
		return &awserr.Error{Code: awserr.InternalServerException, Message: ae.Message, Cause: ae.Cause}
	}
	return &awserr.Error{Code: awserr.InvalidParameterException, Message: ae.Message, Cause: ae}
}

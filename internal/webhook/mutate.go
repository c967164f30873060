package webhook

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Defaults of Config, the same as the EKS pod identity webhook's flags.
const (
	DefaultAnnotationPrefix = "eks.amazonaws.com"
	DefaultTokenAudience    = "sts.amazonaws.com" //nolint:gosec // an audience name, not a credential
	DefaultTokenExpiration  = int64(86400)
	DefaultMountPath        = "/var/run/secrets/eks.amazonaws.com/serviceaccount"

	// MinTokenExpiration is the shortest projected token lifetime the
	// kubelet accepts; shorter values, from a flag or an annotation, are
	// raised to it.
	MinTokenExpiration = int64(600)

	// VolumeName is the name of the projected token volume, and TokenFile
	// the file name of the token inside it.
	VolumeName = "aws-iam-token"
	TokenFile  = "token"
)

// The EKS Pod Identity mode's values, the same as the EKS pod identity
// webhook's container-credentials defaults and what EKS injects.
const (
	// DefaultContainerCredentialsFullURI is the node agent's credentials
	// endpoint (irsa agent, like eks-pod-identity-agent, listens there).
	DefaultContainerCredentialsFullURI = "http://169.254.170.23/v1/credentials" //nolint:gosec // the agent's address, not a credential
	// PodIdentityAudience is the audience of the Pod Identity token: EKS
	// Auth (and irsa's) accepts no other.
	PodIdentityAudience = "pods.eks.amazonaws.com"
	// PodIdentityVolumeName is the projected token volume of the mode, and
	// PodIdentityTokenFile the token's file name in it.
	PodIdentityVolumeName = "eks-pod-identity-token"
	PodIdentityTokenFile  = "eks-pod-identity-token" //nolint:gosec // a file name, not a credential
	// PodIdentityMountPath is where the volume is mounted.
	PodIdentityMountPath = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
	// PodIdentityLabel is the pod label the mode adds (value "enabled"),
	// as the EKS webhook does; it is not tied to the annotation prefix.
	PodIdentityLabel = "eks.amazonaws.com/pod-identity"
)

// Annotation key suffixes; the full key is "<AnnotationPrefix>/<suffix>".
const (
	AnnotationRoleARN         = "role-arn"               // ServiceAccount
	AnnotationAudience        = "audience"               // ServiceAccount
	AnnotationRegionalSTS     = "sts-regional-endpoints" // ServiceAccount
	AnnotationTokenExpiration = "token-expiration"       // ServiceAccount and Pod
	AnnotationRegion          = "region"                 // ServiceAccount (irsa only)
	AnnotationSkipContainers  = "skip-containers"        // Pod
)

// The environment variables the webhook injects.
const (
	EnvRegionalSTS      = "AWS_STS_REGIONAL_ENDPOINTS"
	EnvDefaultRegion    = "AWS_DEFAULT_REGION"
	EnvRegion           = "AWS_REGION"
	EnvRoleARN          = "AWS_ROLE_ARN"
	EnvWebIdentityToken = "AWS_WEB_IDENTITY_TOKEN_FILE" //nolint:gosec // an environment variable name, not a credential
	EnvSTSEndpointURL   = "AWS_ENDPOINT_URL_STS"

	EnvContainerCredentialsFullURI     = "AWS_CONTAINER_CREDENTIALS_FULL_URI"     //nolint:gosec // an environment variable name, not a credential
	EnvContainerAuthorizationTokenFile = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" //nolint:gosec // an environment variable name, not a credential
	// EnvAccessKeyID is only read: SDKs prefer it over the credentials the
	// webhook injects.
	EnvAccessKeyID = "AWS_ACCESS_KEY_ID"
)

// Config holds the mutation settings that come from the webhook's flags. A
// zero field takes the default of the matching Default constant.
type Config struct {
	// AnnotationPrefix is the domain of every annotation key the webhook
	// reads (--annotation-prefix).
	AnnotationPrefix string
	// TokenAudience is the projected token's audience unless the
	// ServiceAccount's audience annotation says otherwise (--token-audience).
	TokenAudience string
	// TokenExpiration is the projected token's lifetime in seconds unless an
	// annotation says otherwise (--token-expiration); raised to
	// MinTokenExpiration when lower.
	TokenExpiration int64
	// MountPath is where the token volume is mounted (--token-mount-path).
	MountPath string
	// Region, when set, is injected as AWS_REGION and AWS_DEFAULT_REGION
	// (--aws-default-region). A ServiceAccount's region annotation wins.
	Region string
	// RegionalSTS injects AWS_STS_REGIONAL_ENDPOINTS=regional unless the
	// ServiceAccount's sts-regional-endpoints annotation says otherwise
	// (--sts-regional-endpoint).
	RegionalSTS bool
	// STSEndpointURL, when set, is injected as AWS_ENDPOINT_URL_STS so the
	// SDKs in the pod reach irsa's STS (--sts-endpoint-url), in both modes.
	STSEndpointURL string
	// ContainerCredentialsFullURI is injected as
	// AWS_CONTAINER_CREDENTIALS_FULL_URI in the Pod Identity mode
	// (--pod-identity-credentials-uri); DefaultContainerCredentialsFullURI
	// when empty. AWS SDKs accept plain http only to the link-local agent
	// addresses and loopback, so Validate refuses other http URLs.
	ContainerCredentialsFullURI string
}

var prefixPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// Validate reports every problem of the configuration at once. A zero field
// is valid: it means the default.
func (c *Config) Validate() error {
	var errs []error
	if p := c.AnnotationPrefix; p != "" && (len(p) > 253 || !prefixPattern.MatchString(p)) {
		errs = append(errs, fmt.Errorf("annotation prefix %q is not a DNS subdomain", p))
	}
	if c.TokenExpiration < 0 {
		errs = append(errs, fmt.Errorf("token expiration %d is negative", c.TokenExpiration))
	}
	if m := c.MountPath; m != "" && !path.IsAbs(m) {
		errs = append(errs, fmt.Errorf("token mount path %q is not absolute", m))
	}
	if r := c.Region; r != "" && !validRegion(r) {
		errs = append(errs, fmt.Errorf("region %q is not a region name (lower-case letters, digits and hyphens)", r))
	}
	if s := c.STSEndpointURL; s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("STS endpoint URL %q is not an http or https URL", s))
		}
	}
	if u := c.ContainerCredentialsFullURI; u != "" {
		if err := checkContainerCredentialsURI(u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkContainerCredentialsURI applies the AWS SDKs' rule for
// AWS_CONTAINER_CREDENTIALS_FULL_URI: https to any host, http only to the
// ECS and EKS agent addresses or to loopback.
func checkContainerCredentialsURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("container credentials URI %q is not an http or https URL", s)
	}
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	switch host {
	case "169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost":
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("container credentials URI %q: AWS SDKs refuse plain http except to 169.254.170.2, 169.254.170.23, [fd00:ec2::23] and loopback; use one of them or https", s)
}

func (c *Config) containerCredentialsURI() string {
	if c.ContainerCredentialsFullURI == "" {
		return DefaultContainerCredentialsFullURI
	}
	return c.ContainerCredentialsFullURI
}

func (c *Config) prefix() string {
	if c.AnnotationPrefix == "" {
		return DefaultAnnotationPrefix
	}
	return c.AnnotationPrefix
}

func (c *Config) audience() string {
	if c.TokenAudience == "" {
		return DefaultTokenAudience
	}
	return c.TokenAudience
}

func (c *Config) expiration() int64 {
	if c.TokenExpiration == 0 {
		return DefaultTokenExpiration
	}
	return max(c.TokenExpiration, MinTokenExpiration)
}

func (c *Config) mountPath() string {
	if c.MountPath == "" {
		return DefaultMountPath
	}
	return c.MountPath
}

// ServiceAccount is what the mutation needs to know of a ServiceAccount.
// Annotations may be limited to the keys under the annotation prefix.
type ServiceAccount struct {
	Namespace, Name string
	Annotations     map[string]string
	// PodIdentity reports that the ServiceAccount has an EKS Pod Identity
	// association in the webhook's cluster; the Handler sets it from its
	// AssociationLookup.
	PodIdentity bool
}

// PatchOp is one RFC 6902 JSON patch operation.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// Mutate returns the JSON patch that gives pod the credentials of sa: the
// Pod Identity container credentials when sa.PodIdentity is set (and the
// pod is not a Windows pod), else the web identity of its role-arn
// annotation. It returns nil when sa is nil, has neither, or when the pod
// already has everything the patch would add (so a second pass over a
// mutated pod yields nothing). It reads only its arguments and never changes
// them; the same inputs give the same patch. It fails only when cfg or pod
// is nil.
func Mutate(cfg *Config, pod *corev1.Pod, sa *ServiceAccount) ([]PatchOp, error) {
	p, err := plan(cfg, pod, sa)
	if err != nil {
		return nil, err
	}
	return p.patch, nil
}

// mutation is the outcome of plan: the patch, the warnings for the
// admission response (annotations that were ignored, odd existing volumes),
// whether the ServiceAccount gives credentials at all, and in which mode.
type mutation struct {
	patch       []PatchOp
	warnings    []string
	role        bool
	podIdentity bool
}

// settings are the per-pod values merged from the flags and annotations.
type settings struct {
	roleARN     string
	audience    string
	expiration  int64
	regionalSTS bool
	region      string
	endpointURL string
	mountPath   string
	tokenPath   string
	skip        map[string]bool

	// The mode's names: Pod Identity (container credentials) or IRSA.
	podIdentity bool
	fullURI     string
	volumeName  string
	tokenFile   string
}

func plan(cfg *Config, pod *corev1.Pod, sa *ServiceAccount) (mutation, error) {
	if cfg == nil {
		return mutation{}, errors.New("webhook: nil Config")
	}
	if pod == nil {
		return mutation{}, errors.New("webhook: nil Pod")
	}
	if sa == nil {
		return mutation{}, nil
	}
	var m mutation
	s, ok := resolve(cfg, pod, sa, &m.warnings)
	if !ok {
		return mutation{warnings: m.warnings}, nil
	}

	m.role = true
	m.podIdentity = s.podIdentity
	initContainers, initChanged := mutateContainers(pod.Spec.InitContainers, &s, &m.warnings)
	containers, mainChanged := mutateContainers(pod.Spec.Containers, &s, &m.warnings)
	changed := initChanged || mainChanged

	volumeIndex := slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == s.volumeName })
	if volumeIndex >= 0 {
		if v := pod.Spec.Volumes[volumeIndex]; !isTokenVolume(&v) {
			m.warnings = append(m.warnings, fmt.Sprintf("volume %s already exists and is not a projected service account token; kept as it is", s.volumeName))
		}
	} else {
		changed = true
		volume := tokenVolume(&s)
		// The API server omits an empty volumes list, so an empty one is
		// added whole, like an absent one.
		if len(pod.Spec.Volumes) == 0 {
			m.patch = append(m.patch, PatchOp{Op: "add", Path: "/spec/volumes", Value: []corev1.Volume{volume}})
		} else {
			m.patch = append(m.patch, PatchOp{Op: "add", Path: "/spec/volumes/0", Value: volume})
		}
	}
	if !changed {
		return mutation{role: true, podIdentity: s.podIdentity, warnings: m.warnings}, nil
	}
	if containers == nil {
		containers = []corev1.Container{}
	}
	m.patch = append(m.patch, PatchOp{Op: "add", Path: "/spec/containers", Value: containers})
	if len(initContainers) > 0 {
		m.patch = append(m.patch, PatchOp{Op: "add", Path: "/spec/initContainers", Value: initContainers})
	}
	// The Pod Identity label comes with a patch that gives the pod the
	// credentials, never alone: a pod whose containers all set their own
	// variables does not use the association.
	if s.podIdentity && pod.Labels[PodIdentityLabel] != "enabled" {
		if len(pod.Labels) == 0 {
			m.patch = append(m.patch, PatchOp{Op: "add", Path: "/metadata/labels", Value: map[string]string{PodIdentityLabel: "enabled"}})
		} else {
			m.patch = append(m.patch, PatchOp{Op: "add", Path: "/metadata/labels/" + escapePointer(PodIdentityLabel), Value: "enabled"})
		}
	}
	return m, nil
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// resolve merges flags and annotations; ok is false when the
// ServiceAccount gives no credentials (no association, no role).
func resolve(cfg *Config, pod *corev1.Pod, sa *ServiceAccount, warnings *[]string) (s settings, ok bool) {
	prefix := cfg.prefix() + "/"
	s.roleARN = strings.TrimSpace(sa.Annotations[prefix+AnnotationRoleARN])
	windows := isWindows(pod)
	s.podIdentity = sa.PodIdentity
	if s.podIdentity && windows {
		// The agent runs on Linux nodes only, as EKS Pod Identity does.
		s.podIdentity = false
		if s.roleARN == "" {
			*warnings = append(*warnings, fmt.Sprintf("service account %s/%s has an EKS Pod Identity association, which Windows pods cannot use; pod not mutated", sa.Namespace, sa.Name))
		} else {
			*warnings = append(*warnings, fmt.Sprintf("service account %s/%s has an EKS Pod Identity association, which Windows pods cannot use; the role-arn annotation (IRSA) is used", sa.Namespace, sa.Name))
		}
	}
	if !s.podIdentity && s.roleARN == "" {
		return s, false
	}

	if s.podIdentity {
		if s.roleARN != "" {
			*warnings = append(*warnings, fmt.Sprintf("service account %s/%s has both an EKS Pod Identity association and annotation %s%s; the association is used and the annotation ignored, as on EKS", sa.Namespace, sa.Name, prefix, AnnotationRoleARN))
		}
		s.audience = PodIdentityAudience
		if _, present := sa.Annotations[prefix+AnnotationAudience]; present {
			*warnings = append(*warnings, fmt.Sprintf("annotation %s%s is ignored in the EKS Pod Identity mode, whose token audience is %s", prefix, AnnotationAudience, PodIdentityAudience))
		}
		s.fullURI = cfg.containerCredentialsURI()
		s.volumeName, s.tokenFile, s.mountPath = PodIdentityVolumeName, PodIdentityTokenFile, PodIdentityMountPath
	} else {
		if !roleARNPattern.MatchString(s.roleARN) {
			*warnings = append(*warnings, fmt.Sprintf("annotation %s%s %s does not look like an IAM role ARN; injected anyway", prefix, AnnotationRoleARN, quote(s.roleARN)))
		}
		s.audience = cfg.audience()
		if v, present := sa.Annotations[prefix+AnnotationAudience]; present {
			if a := strings.TrimSpace(v); a != "" {
				s.audience = a
			} else {
				*warnings = append(*warnings, fmt.Sprintf("annotation %s%s is empty; using %s", prefix, AnnotationAudience, s.audience))
			}
		}
		s.volumeName, s.tokenFile, s.mountPath = VolumeName, TokenFile, cfg.mountPath()
	}

	s.regionalSTS = cfg.RegionalSTS
	if v, present := sa.Annotations[prefix+AnnotationRegionalSTS]; present {
		if b, err := strconv.ParseBool(v); err == nil {
			s.regionalSTS = b
		} else {
			*warnings = append(*warnings, fmt.Sprintf("annotation %s%s %s is not a boolean; using %t", prefix, AnnotationRegionalSTS, quote(v), s.regionalSTS))
		}
	}

	s.expiration = cfg.expiration()
	if v, present := sa.Annotations[prefix+AnnotationTokenExpiration]; present {
		s.expiration = parseExpiration(v, s.expiration, "service account annotation "+prefix+AnnotationTokenExpiration, warnings)
	}
	if v, present := pod.Annotations[prefix+AnnotationTokenExpiration]; present {
		s.expiration = parseExpiration(v, s.expiration, "pod annotation "+prefix+AnnotationTokenExpiration, warnings)
	}

	s.region = cfg.Region
	if v, present := sa.Annotations[prefix+AnnotationRegion]; present {
		switch r := strings.TrimSpace(v); {
		case r == "":
		case validRegion(r):
			s.region = r
		default:
			*warnings = append(*warnings, fmt.Sprintf("annotation %s%s %s is not a region name; ignored", prefix, AnnotationRegion, quote(v)))
		}
	}

	s.endpointURL = cfg.STSEndpointURL
	s.tokenPath = path.Join(s.mountPath, s.tokenFile)
	if windows {
		s.tokenPath = `C:` + strings.ReplaceAll(s.tokenPath, "/", `\`)
	}

	if v, present := pod.Annotations[prefix+AnnotationSkipContainers]; present && strings.TrimSpace(v) != "" {
		names, err := csv.NewReader(strings.NewReader(v)).Read()
		if err != nil {
			*warnings = append(*warnings, fmt.Sprintf("annotation %s%s is not valid CSV; no container skipped", prefix, AnnotationSkipContainers))
			names = nil
		}
		for _, n := range names {
			if s.skip == nil {
				s.skip = make(map[string]bool, len(names))
			}
			s.skip[strings.TrimSpace(n)] = true
		}
	}
	return s, true
}

// roleARNPattern is the EKS webhook's check; as there, a mismatch is only
// reported.
var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z0-9-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)

var regionPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func validRegion(r string) bool { return len(r) <= 64 && regionPattern.MatchString(r) }

func parseExpiration(v string, fallback int64, what string, warnings *[]string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		*warnings = append(*warnings, fmt.Sprintf("%s %s is not an integer; using %d", what, quote(v), fallback))
		return fallback
	}
	return max(n, MinTokenExpiration)
}

// quote quotes an annotation value for a warning, cut so that warnings stay
// short (the API server truncates long ones).
func quote(v string) string {
	const limit = 40
	if len(v) > limit {
		return strconv.Quote(v[:limit]) + "..."
	}
	return strconv.Quote(v)
}

// isWindows reports whether the pod can only run on Windows nodes: its OS
// field, its node selector (kubernetes.io/os or the beta label), or a
// required node affinity every term of which demands a Windows node.
func isWindows(pod *corev1.Pod) bool {
	if pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows {
		return true
	}
	if pod.Spec.NodeSelector[corev1.LabelOSStable] == "windows" || pod.Spec.NodeSelector["beta.kubernetes.io/os"] == "windows" {
		return true
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return false
	}
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		return false
	}
	for _, t := range terms {
		if !termRequiresWindows(&t) {
			return false
		}
	}
	return true
}

// termRequiresWindows reports whether a node selector term has an
// expression "os In [windows]" (several values all equal to windows count).
func termRequiresWindows(t *corev1.NodeSelectorTerm) bool {
	for _, e := range t.MatchExpressions {
		if e.Key != corev1.LabelOSStable && e.Key != "beta.kubernetes.io/os" {
			continue
		}
		if e.Operator != corev1.NodeSelectorOpIn || len(e.Values) == 0 {
			continue
		}
		if !slices.ContainsFunc(e.Values, func(v string) bool { return v != "windows" }) {
			return true
		}
	}
	return false
}

func isTokenVolume(v *corev1.Volume) bool {
	if v.Projected == nil {
		return false
	}
	for _, src := range v.Projected.Sources {
		if src.ServiceAccountToken != nil {
			return true
		}
	}
	return false
}

func tokenVolume(s *settings) corev1.Volume {
	expiration := s.expiration
	return corev1.Volume{
		Name: s.volumeName,
		VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{
					ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
						Audience:          s.audience,
						ExpirationSeconds: &expiration,
						Path:              s.tokenFile,
					},
				}},
			},
		},
	}
}

// mutateContainers returns copies of cs with the variables and the mount
// added, and whether any container changed. The input slice and the
// containers' own slices are never written to.
func mutateContainers(cs []corev1.Container, s *settings, warnings *[]string) ([]corev1.Container, bool) {
	if len(cs) == 0 {
		return nil, false
	}
	out := make([]corev1.Container, len(cs))
	changed := false
	for i := range cs {
		out[i] = cs[i]
		if s.skip[cs[i].Name] {
			continue
		}
		if mutateContainer(&out[i], s, warnings) {
			changed = true
		}
	}
	return out, changed
}

// mutateContainer adds what the container lacks. The rules, per group of
// variables, are the EKS webhook's, with envFrom consulted for the region
// and regional STS groups (see doc.go). The identity pair is the mode's:
// AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or
// AWS_CONTAINER_CREDENTIALS_FULL_URI and
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
func mutateContainer(c *corev1.Container, s *settings, warnings *[]string) bool {
	var identity, region, sts, endpoint bool
	var preferred []string // variables SDKs prefer over container credentials
	for _, e := range c.Env {
		switch e.Name {
		case EnvRoleARN, EnvWebIdentityToken:
			if s.podIdentity {
				preferred = append(preferred, e.Name)
			} else {
				identity = true
			}
		case EnvContainerCredentialsFullURI, EnvContainerAuthorizationTokenFile:
			if s.podIdentity {
				identity = true
			}
		case EnvAccessKeyID:
			if s.podIdentity {
				preferred = append(preferred, e.Name)
			}
		case EnvRegion, EnvDefaultRegion:
			region = true
		case EnvRegionalSTS:
			sts = true
		case EnvSTSEndpointURL:
			endpoint = true
		}
	}
	if len(preferred) > 0 {
		*warnings = append(*warnings, fmt.Sprintf("container %s sets %s, which AWS SDKs use before the EKS Pod Identity container credentials", c.Name, strings.Join(preferred, " and ")))
	}
	// A container that sets every variable itself is left alone entirely,
	// without the mount.
	if identity && region && sts && (s.endpointURL == "" || endpoint) {
		return false
	}
	region = region || envFromMayDefine(c, EnvRegion) || envFromMayDefine(c, EnvDefaultRegion)
	sts = sts || envFromMayDefine(c, EnvRegionalSTS)

	var add []corev1.EnvVar
	if s.regionalSTS && !sts {
		add = append(add, corev1.EnvVar{Name: EnvRegionalSTS, Value: "regional"})
	}
	if s.region != "" && !region {
		add = append(add,
			corev1.EnvVar{Name: EnvDefaultRegion, Value: s.region},
			corev1.EnvVar{Name: EnvRegion, Value: s.region})
	}
	switch {
	case identity:
	case s.podIdentity:
		add = append(add,
			corev1.EnvVar{Name: EnvContainerCredentialsFullURI, Value: s.fullURI},
			corev1.EnvVar{Name: EnvContainerAuthorizationTokenFile, Value: s.tokenPath})
	default:
		add = append(add,
			corev1.EnvVar{Name: EnvRoleARN, Value: s.roleARN},
			corev1.EnvVar{Name: EnvWebIdentityToken, Value: s.tokenPath})
	}
	if s.endpointURL != "" && !endpoint {
		add = append(add, corev1.EnvVar{Name: EnvSTSEndpointURL, Value: s.endpointURL})
	}
	changed := false
	if len(add) > 0 {
		c.Env = append(slices.Clip(c.Env), add...)
		changed = true
	}

	hasMount := false
	for _, vm := range c.VolumeMounts {
		switch {
		case vm.Name == s.volumeName:
			hasMount = true
			if path.Clean(vm.MountPath) != path.Clean(s.mountPath) {
				*warnings = append(*warnings, fmt.Sprintf("container %s mounts %s at %s, not %s; kept as it is", c.Name, s.volumeName, vm.MountPath, s.mountPath))
			}
		case path.Clean(vm.MountPath) == path.Clean(s.mountPath):
			// Another volume already sits at the mount path: a second
			// mount there would make the API server reject the pod.
			hasMount = true
			*warnings = append(*warnings, fmt.Sprintf("container %s already mounts volume %s at %s; token volume not mounted", c.Name, vm.Name, vm.MountPath))
		}
	}
	if !hasMount {
		c.VolumeMounts = append(slices.Clip(c.VolumeMounts), corev1.VolumeMount{
			Name:      s.volumeName,
			ReadOnly:  true,
			MountPath: s.mountPath,
		})
		changed = true
	}
	return changed
}

// envFromMayDefine reports whether one of the container's envFrom sources
// could define the variable name: a ConfigMap or Secret whose prefix (often
// empty) starts the name. Their keys are unknown to the webhook, so such a
// source counts as defining the variable.
func envFromMayDefine(c *corev1.Container, name string) bool {
	for _, src := range c.EnvFrom {
		if src.ConfigMapRef == nil && src.SecretRef == nil {
			continue
		}
		if len(name) > len(src.Prefix) && strings.HasPrefix(name, src.Prefix) {
			return true
		}
	}
	return false
}

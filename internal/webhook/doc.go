// Package webhook owns irsa's mutating admission webhook for pods: the
// mutation that gives a pod the credentials of its ServiceAccount (IRSA's
// web identity, or EKS Pod Identity's container credentials), the
// AdmissionReview handler that applies it, and the server around them
// (ServiceAccount cache, Pod Identity association cache, TLS, metrics).
//
// # Compatibility
//
// Mutate is a drop-in for amazon-eks-pod-identity-webhook's IRSA mode. A
// ServiceAccount annotated <prefix>/role-arn (prefix eks.amazonaws.com by
// default) makes every container and init container (native sidecars
// included) of its pods receive, appended to env in this order:
// AWS_STS_REGIONAL_ENDPOINTS=regional (when enabled), AWS_DEFAULT_REGION and
// AWS_REGION (when a region is configured), AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE; then, irsa only, AWS_ENDPOINT_URL_STS when an
// STS endpoint URL is configured. Each container gets a read-only mount of
// the projected volume aws-iam-token (serviceAccountToken: audience,
// expirationSeconds, path "token") at the mount path. The patch has the
// EKS webhook's shape: add /spec/volumes/0 (or /spec/volumes when the pod
// has none), then the whole /spec/containers and, when the pod has init
// containers, the whole /spec/initContainers.
//
// Settings: audience from the ServiceAccount's audience annotation, else
// the flag; regional STS from its sts-regional-endpoints annotation
// (strconv.ParseBool; an invalid value is ignored), else the flag; token
// expiration from the pod's token-expiration annotation, else the
// ServiceAccount's, else the flag, raised to 600 seconds when lower (an
// invalid value falls back to the next source). The pod's skip-containers
// annotation (CSV) names containers, init or regular, to leave alone; a
// malformed value skips nothing.
//
// Existing env, checked by name in a container's env: if AWS_ROLE_ARN or
// AWS_WEB_IDENTITY_TOKEN_FILE is present neither is added; if AWS_REGION or
// AWS_DEFAULT_REGION is present neither is added; AWS_STS_REGIONAL_ENDPOINTS
// and AWS_ENDPOINT_URL_STS are added only when absent. A container that
// already has all of them is left entirely alone, without the mount. An
// existing volume named aws-iam-token, of any type, and an existing mount
// of it, at any path, are kept. On Windows pods the token file variable is
// "C:" followed by the path with backslashes; the mount path stays as it is.
//
// # EKS Pod Identity mode
//
// With an AssociationLookup (the server's AssociationCache asks the EKS
// API's ListPodIdentityAssociations for the configured cluster, namespace
// and ServiceAccount, caching an association for a minute and its absence
// for five seconds), a ServiceAccount with an association gets, instead of
// the IRSA variables, AWS_CONTAINER_CREDENTIALS_FULL_URI (the node agent,
// http://169.254.170.23/v1/credentials by default) and
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, after the region and regional STS
// variables and before AWS_ENDPOINT_URL_STS; the projected volume
// eks-pod-identity-token (audience pods.eks.amazonaws.com, path
// eks-pod-identity-token) mounted read-only at
// /var/run/secrets/pods.eks.amazonaws.com/serviceaccount; and the pod label
// eks.amazonaws.com/pod-identity=enabled, added with the rest of a patch,
// never alone. The rules for existing variables, volumes, mounts, envFrom
// and skip-containers are the IRSA mode's with the container credentials
// pair as the identity pair. Decisions: an association wins over a
// role-arn annotation, as on EKS, with a warning; a container that sets
// AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE or AWS_ACCESS_KEY_ID (which
// SDKs use first) is warned about; Windows pods fall back to the role-arn
// annotation, if any; when the lookup fails and nothing usable is cached, a
// ServiceAccount with a role-arn annotation gets IRSA (with a warning) and
// one without is an HTTP 500, so that failurePolicy decides.
//
// # Beyond the EKS webhook
//
// Idempotence: when the pod already has everything the patch would add,
// Mutate returns no patch, so the webhook can be registered with
// reinvocationPolicy: IfNeeded and containers added by later webhooks get
// the credentials on the second call, without duplicating anything.
//
// envFrom: a container's envFrom sources (ConfigMaps and Secrets) cannot be
// read by the webhook, so a source counts as possibly defining a variable
// when its prefix (usually empty) starts the variable's name. Such a source
// stops the injection of the region pair (AWS_REGION, AWS_DEFAULT_REGION)
// and of AWS_STS_REGIONAL_ENDPOINTS, because values in env override
// envFrom and would silently replace the application's own choice. The
// identity pair and AWS_ENDPOINT_URL_STS are still decided from env alone:
// they carry the ServiceAccount's role, and withholding them whenever a
// container uses envFrom would leave pods silently without credentials.
//
// Windows: besides the node selectors kubernetes.io/os=windows and
// beta.kubernetes.io/os=windows, a pod is Windows when spec.os.name is
// windows or when every term of its required node affinity has an
// expression "kubernetes.io/os (or the beta label) In [windows]".
//
// Region: a ServiceAccount annotation <prefix>/region overrides the
// configured region for its pods; an empty or malformed value is ignored.
//
// Mount path: a container that already mounts another volume at the token
// mount path is not given a second mount there (the API server would
// reject the pod).
//
// # Admission
//
// Handler answers AdmissionReview admission.k8s.io/v1 and v1beta1, echoing
// the request's apiVersion and kind. Only pod CREATE requests are mutated;
// anything else is allowed without a patch. Requests the handler cannot
// read are refused at the HTTP level, never with allowed:false, so the
// webhook's failurePolicy decides: 405 for a method other than POST, 415
// for a Content-Type other than application/json, 413 above the body
// limit, 400 for an empty or malformed review or pod. A ServiceAccount
// that does not exist gives allowed:true with a warning; a failed lookup
// gives HTTP 500, so failurePolicy: Ignore admits the pod unmutated (as
// the EKS webhook does) while failurePolicy: Fail makes the API server
// refuse it and controllers retry. Annotations that were ignored are
// reported as admission warnings.
package webhook

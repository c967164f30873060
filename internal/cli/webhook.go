package cli

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/webhook"
)

// webhookFlags are the flags of irsa webhook.
type webhookFlags struct {
	listen, certFile, keyFile, kubeconfig, logLevel string
	prefix, audience, mountPath, region, stsURL     string
	expiration                                      int64
	regionalSTS                                     bool
	grace, resync                                   time.Duration

	// The EKS Pod Identity mode.
	piCluster, piEndpoint, piRegion, piCredentialsURI string
	piTTL, piNegativeTTL                              time.Duration
}

func (f *webhookFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", webhook.DefaultListen, "address of the HTTPS listener (/mutate, /healthz, /readyz, /metrics)")
	fl.StringVar(&f.certFile, "tls-cert", "", "PEM serving certificate, with its chain (required; reloaded when it changes)")
	fl.StringVar(&f.keyFile, "tls-key", "", "PEM private key of --tls-cert (required; reloaded when it changes)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the in-cluster configuration)")
	fl.StringVar(&f.prefix, "annotation-prefix", webhook.DefaultAnnotationPrefix, "domain of the ServiceAccount and pod annotations read")
	fl.StringVar(&f.audience, "token-audience", webhook.DefaultTokenAudience, "audience of the projected token, unless the ServiceAccount's audience annotation says otherwise")
	fl.Int64Var(&f.expiration, "token-expiration", webhook.DefaultTokenExpiration, "lifetime of the projected token in seconds (raised to 600 when lower)")
	fl.StringVar(&f.mountPath, "token-mount-path", webhook.DefaultMountPath, "where the token volume is mounted in each container")
	fl.StringVar(&f.region, "aws-default-region", "", "inject AWS_REGION and AWS_DEFAULT_REGION with this region")
	fl.BoolVar(&f.regionalSTS, "sts-regional-endpoint", false, "inject AWS_STS_REGIONAL_ENDPOINTS=regional")
	fl.StringVar(&f.stsURL, "sts-endpoint-url", "", "inject AWS_ENDPOINT_URL_STS with this URL, so the SDKs in pods reach irsa's STS")
	fl.DurationVar(&f.grace, "sa-lookup-grace-period", webhook.DefaultSALookupGracePeriod, "how long a pod whose ServiceAccount is not cached yet waits for it before one direct GET (0 to 30s)")
	fl.DurationVar(&f.resync, "resync-period", webhook.DefaultResyncPeriod, "resync period of the ServiceAccount informer (0 disables resyncs)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")

	fl.StringVar(&f.piCluster, "pod-identity-cluster", "", "turn on the EKS Pod Identity mode for this cluster: ServiceAccounts with a pod identity association in it get AWS_CONTAINER_CREDENTIALS_FULL_URI and a token for pods.eks.amazonaws.com")
	fl.StringVar(&f.piEndpoint, "pod-identity-endpoint", "", "URL of the EKS API that lists the associations, irsa's (default: $AWS_ENDPOINT_URL_EKS, else $AWS_ENDPOINT_URL, else AWS's EKS)")
	fl.StringVar(&f.piRegion, "pod-identity-region", "", "region the EKS API calls are signed for (default: $AWS_REGION, else $AWS_DEFAULT_REGION, else --aws-default-region, else us-east-1)")
	fl.StringVar(&f.piCredentialsURI, "pod-identity-credentials-uri", webhook.DefaultContainerCredentialsFullURI, "injected as AWS_CONTAINER_CREDENTIALS_FULL_URI: the node agent's credentials endpoint")
	fl.DurationVar(&f.piTTL, "pod-identity-cache-ttl", webhook.DefaultAssociationTTL, "how long a found association is cached")
	fl.DurationVar(&f.piNegativeTTL, "pod-identity-negative-cache-ttl", webhook.DefaultAssociationNegativeTTL, "how long the absence of an association is cached")
}

func newWebhookCommand(env Env) *cobra.Command {
	var f webhookFlags
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Serve the pod identity mutating admission webhook",
		Long: `Serve the mutating admission webhook that gives pods the web identity
credentials of their ServiceAccount, as amazon-eks-pod-identity-webhook does: a
ServiceAccount annotated eks.amazonaws.com/role-arn makes its pods come up with
AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and a projected token for
sts.amazonaws.com. --sts-endpoint-url points the pods' SDKs at irsa's STS.

With --pod-identity-cluster the webhook also plays EKS Pod Identity: a pod whose
ServiceAccount has a pod identity association in that cluster (asked of irsa's
EKS API with ListPodIdentityAssociations, cached) gets
AWS_CONTAINER_CREDENTIALS_FULL_URI (the node agent, irsa agent),
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE and a projected token for
pods.eks.amazonaws.com instead of the IRSA variables. The calls are signed with
the AWS SDK's default credentials (environment, web identity, shared files);
they need eks:ListPodIdentityAssociations on the cluster.

The webhook serves HTTPS only: /mutate for the API server, /healthz, /readyz
(ready once every ServiceAccount has been listed) and /metrics. The certificate
files are reloaded when they change. ServiceAccounts are watched cluster-wide
(RBAC: get, list and watch on serviceaccounts).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(env)
			if err != nil {
				return err
			}
			log, err := newLogger(cmd.ErrOrStderr(), f.logLevel)
			if err != nil {
				return err
			}
			if f.expiration < webhook.MinTokenExpiration {
				log.Warn("--token-expiration is below the kubelet's minimum; using the minimum", "given", f.expiration, "used", webhook.MinTokenExpiration)
			}
			cfg.Logger = log
			cfg.UserAgent = "irsa-webhook/" + env.Version
			if f.piCluster != "" {
				if cfg.PodIdentity, err = f.podIdentity(cmd.Context(), env); err != nil {
					return err
				}
				log.Info("EKS Pod Identity mode", "cluster", f.piCluster, "endpoint", f.piEndpoint, "credentials_uri", f.piCredentialsURI)
			}
			err = webhook.Run(cmd.Context(), cfg)
			var ce *webhook.ConfigError
			switch {
			case errors.As(err, &ce):
				return usageErrorf("%v", err)
			case err != nil:
				return &exitError{code: ExitInvalid, err: err}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// config checks the flags and turns them into the server's configuration.
// Files and the kubeconfig are checked again by webhook.Run; doing the
// first checks here lets the messages name the flags.
func (f *webhookFlags) config(env Env) (webhook.ServerConfig, error) {
	if f.certFile == "" || f.keyFile == "" {
		return webhook.ServerConfig{}, usageErrorf("--tls-cert and --tls-key are required: the PEM serving certificate the API server trusts (caBundle) and its key")
	}
	for _, c := range []struct{ flag, file string }{{"--tls-cert", f.certFile}, {"--tls-key", f.keyFile}} {
		if _, err := os.Stat(c.file); err != nil {
			return webhook.ServerConfig{}, usageErrorf("%s: %v", c.flag, err)
		}
	}
	if f.kubeconfig != "" {
		if _, err := os.Stat(f.kubeconfig); err != nil {
			return webhook.ServerConfig{}, usageErrorf("--kubeconfig: %v", err)
		}
	}
	if f.expiration <= 0 {
		return webhook.ServerConfig{}, usageErrorf("--token-expiration must be a positive number of seconds, got %d", f.expiration)
	}
	if f.grace < 0 || f.grace > webhook.MaxSALookupGracePeriod {
		return webhook.ServerConfig{}, usageErrorf("--sa-lookup-grace-period must be between 0s and %s (the API server waits at most 30s for a webhook), got %s", webhook.MaxSALookupGracePeriod, f.grace)
	}
	if f.resync < 0 {
		return webhook.ServerConfig{}, usageErrorf("--resync-period must not be negative, got %s", f.resync)
	}
	if f.prefix == "" {
		return webhook.ServerConfig{}, usageErrorf("--annotation-prefix must not be empty")
	}
	if f.audience == "" {
		return webhook.ServerConfig{}, usageErrorf("--token-audience must not be empty")
	}
	if err := f.checkPodIdentity(env); err != nil {
		return webhook.ServerConfig{}, err
	}
	wc := webhook.Config{
		AnnotationPrefix:            f.prefix,
		TokenAudience:               f.audience,
		TokenExpiration:             f.expiration,
		MountPath:                   f.mountPath,
		Region:                      f.region,
		RegionalSTS:                 f.regionalSTS,
		STSEndpointURL:              f.stsURL,
		ContainerCredentialsFullURI: f.piCredentialsURI,
	}
	if err := wc.Validate(); err != nil {
		return webhook.ServerConfig{}, usageErrorf("invalid webhook settings: %v", err)
	}
	return webhook.ServerConfig{
		Listen:              f.listen,
		TLSCertFile:         f.certFile,
		TLSKeyFile:          f.keyFile,
		Kubeconfig:          f.kubeconfig,
		KubeconfigEnv:       env.Getenv("KUBECONFIG"),
		Webhook:             wc,
		SALookupGracePeriod: f.grace,
		ResyncPeriod:        f.resync,
	}, nil
}

// checkPodIdentity checks the Pod Identity flags and fills in the endpoint
// and region from the environment.
func (f *webhookFlags) checkPodIdentity(env Env) error {
	if f.piCluster == "" {
		for _, c := range []struct {
			flag string
			set  bool
		}{
			{"--pod-identity-endpoint", f.piEndpoint != ""},
			{"--pod-identity-region", f.piRegion != ""},
		} {
			if c.set {
				return usageErrorf("%s needs --pod-identity-cluster, which turns the EKS Pod Identity mode on", c.flag)
			}
		}
		return nil
	}
	if f.piTTL <= 0 || f.piNegativeTTL <= 0 {
		return usageErrorf("--pod-identity-cache-ttl and --pod-identity-negative-cache-ttl must be positive, got %s and %s", f.piTTL, f.piNegativeTTL)
	}
	if ignore, _ := strconv.ParseBool(env.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")); f.piEndpoint == "" && !ignore {
		f.piEndpoint = firstNonEmpty(env.Getenv("AWS_ENDPOINT_URL_EKS"), env.Getenv("AWS_ENDPOINT_URL"))
	}
	if f.piEndpoint != "" {
		u, err := url.Parse(f.piEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("--pod-identity-endpoint %q is not an http or https URL", f.piEndpoint)
		}
	}
	if f.piRegion == "" {
		f.piRegion = firstNonEmpty(env.Getenv("AWS_REGION"), env.Getenv("AWS_DEFAULT_REGION"), f.region, "us-east-1")
	}
	return nil
}

// podIdentity builds the EKS client the association lookup calls. Its
// credentials are the AWS SDK's default chain; the endpoint and region are
// the flags' (checked by checkPodIdentity).
func (f *webhookFlags) podIdentity(ctx context.Context, env Env) (*webhook.PodIdentityConfig, error) {
	ac, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(f.piRegion))
	if err != nil {
		return nil, usageErrorf("loading the AWS SDK configuration for the EKS API: %v", err)
	}
	client := eks.NewFromConfig(ac, func(o *eks.Options) {
		if f.piEndpoint != "" {
			o.BaseEndpoint = aws.String(f.piEndpoint)
		}
		o.AppID = "irsa-webhook"
		if env.Version != "" {
			o.AppID += "-" + env.Version
		}
	})
	return &webhook.PodIdentityConfig{
		Client:      client,
		ClusterName: f.piCluster,
		TTL:         f.piTTL,
		NegativeTTL: f.piNegativeTTL,
	}, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

package cli

import (
	"errors"
	"os"
	"time"

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
	wc := webhook.Config{
		AnnotationPrefix: f.prefix,
		TokenAudience:    f.audience,
		TokenExpiration:  f.expiration,
		MountPath:        f.mountPath,
		Region:           f.region,
		RegionalSTS:      f.regionalSTS,
		STSEndpointURL:   f.stsURL,
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

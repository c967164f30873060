package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/agent"
)

// agentFlags are the flags of irsa agent. The names and defaults are
// eks-pod-identity-agent's where it has the setting.
type agentFlags struct {
	cluster, endpoint, region, metricsHost, logLevel string
	bindHosts                                        []string
	port, probePort, metricsPort, maxCacheSize       int
	serviceBurst, attempts, requestBurst             int
	retention, minValidity, dialTimeout, reqTimeout  time.Duration
	fetchTimeout                                     time.Duration
	serviceQPS, requestRate                          float64
}

func (f *agentFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.cluster, "cluster-name", "c", "", "name of the cluster whose pod identity associations apply (required)")
	fl.StringVar(&f.endpoint, "endpoint", "", "EKS Auth endpoint URL (default: $AWS_ENDPOINT_URL_EKS_AUTH, else $AWS_ENDPOINT_URL, else https://eks-auth.REGION.api.aws)")
	fl.StringVar(&f.region, "region", "", "region the EKS Auth requests are signed for (default: the AWS SDK's: $AWS_REGION, the shared config)")
	fl.StringSliceVarP(&f.bindHosts, "bind-hosts", "b", []string{"169.254.170.23", "[fd00:ec2::23]"}, "addresses the credentials endpoint listens on; an IPv6 one the node lacks is skipped")
	fl.IntVarP(&f.port, "port", "p", agent.DefaultPort, "port of the credentials endpoint")
	fl.IntVar(&f.probePort, "probe-port", 2703, "port of /healthz and /readyz on localhost (0 disables)")
	fl.StringVar(&f.metricsHost, "metrics-address", "0.0.0.0", "address of the metrics server (/metrics, /healthz, /readyz)")
	fl.IntVar(&f.metricsPort, "metrics-port", 2705, "port of the metrics server (0 disables)")
	fl.DurationVar(&f.retention, "max-credential-retention-before-renewal", agent.DefaultMaxRetention, "longest time credentials are cached before they are renewed (renewal also happens at half their lifetime; 0 disables the cache)")
	fl.IntVar(&f.maxCacheSize, "max-cache-size", agent.DefaultMaxSize, "most tokens cached (0 disables the cache)")
	fl.DurationVar(&f.minValidity, "min-credential-validity", agent.DefaultMinRemaining, "cached credentials with less validity left (capped at a quarter of their lifetime) are renewed before they are handed out")
	fl.Float64Var(&f.serviceQPS, "max-service-qps", agent.DefaultServiceQPS, "most calls per second to EKS Auth")
	fl.IntVar(&f.serviceBurst, "max-service-burst", agent.DefaultServiceBurst, "burst of calls to EKS Auth; background renewals use only its upper half")
	fl.Float64Var(&f.requestRate, "max-request-rate", agent.DefaultRequestRate, "most credential requests answered per second (above: 429)")
	fl.IntVar(&f.requestBurst, "max-request-burst", agent.DefaultRequestBurst, "burst of credential requests")
	fl.DurationVar(&f.dialTimeout, "dial-timeout", agent.DefaultDialTimeout, "connect timeout towards EKS Auth")
	fl.DurationVar(&f.reqTimeout, "request-timeout", agent.DefaultRequestTimeout, "timeout of one EKS Auth request")
	fl.IntVar(&f.attempts, "upstream-attempts", agent.DefaultAttempts, "attempts of an EKS Auth call that fails with a network error, 5xx or throttling")
	fl.DurationVar(&f.fetchTimeout, "fetch-timeout", agent.DefaultFetchTimeout, "bound of one EKS Auth exchange, all attempts and rate-limit waits included")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
}

func newAgentCommand(env Env) *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Serve EKS Pod Identity credentials to the pods of a node",
		Long: `Serve the container-credentials endpoint of EKS Pod Identity on a node, as
eks-pod-identity-agent does: pods whose SDKs have AWS_CONTAINER_CREDENTIALS_FULL_URI
(http://169.254.170.23/v1/credentials) and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
call it with their projected token (audience pods.eks.amazonaws.com); the agent
exchanges it through EKS Auth AssumeRoleForPodIdentity (irsa's or AWS's) and
caches the credentials.

Run it on every node with hostNetwork: true, after 'irsa agent setup-link' has
put the link-local addresses on the node. The agent's own AWS credentials come
from the SDK's default chain (environment, shared files, IMDS, web identity).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cmd.ErrOrStderr(), f.logLevel)
			if err != nil {
				return err
			}
			cfg, err := f.config(cmd.Context(), env)
			if err != nil {
				return err
			}
			cfg.Logger = log
			err = agent.Run(cmd.Context(), cfg)
			var ce *agent.ConfigError
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
	cmd.AddCommand(newAgentSetupLinkCommand())
	return cmd
}

// config checks the flags, loads the agent's AWS configuration and builds
// the server's configuration.
func (f *agentFlags) config(ctx context.Context, env Env) (agent.ServerConfig, error) {
	if f.cluster == "" {
		return agent.ServerConfig{}, usageErrorf("--cluster-name is required: the cluster whose pod identity associations apply")
	}
	for _, c := range []struct {
		flag string
		v    int
		zero bool
	}{{"--port", f.port, false}, {"--probe-port", f.probePort, true}, {"--metrics-port", f.metricsPort, true}} {
		if c.v < 0 || c.v > 65535 || (c.v == 0 && !c.zero) {
			return agent.ServerConfig{}, usageErrorf("%s must be a TCP port, got %d", c.flag, c.v)
		}
	}
	if len(f.bindHosts) == 0 {
		return agent.ServerConfig{}, usageErrorf("--bind-hosts must name at least one address")
	}
	for _, h := range f.bindHosts {
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err != nil {
			return agent.ServerConfig{}, usageErrorf("--bind-hosts: %q is not an IP address", h)
		}
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
		zero bool
	}{{"--max-credential-retention-before-renewal", f.retention, true}, {"--min-credential-validity", f.minValidity, false},
		{"--dial-timeout", f.dialTimeout, false}, {"--request-timeout", f.reqTimeout, false}, {"--fetch-timeout", f.fetchTimeout, false}} {
		if d.v < 0 || (d.v == 0 && !d.zero) {
			return agent.ServerConfig{}, usageErrorf("%s must be positive, got %s", d.flag, d.v)
		}
	}
	if f.maxCacheSize < 0 {
		return agent.ServerConfig{}, usageErrorf("--max-cache-size must not be negative, got %d", f.maxCacheSize)
	}
	if f.serviceQPS <= 0 || f.serviceBurst < 1 || f.requestRate <= 0 || f.requestBurst < 1 || f.attempts < 1 {
		return agent.ServerConfig{}, usageErrorf("--max-service-qps, --max-service-burst, --max-request-rate, --max-request-burst and --upstream-attempts must be positive")
	}

	var opts []func(*awsconfig.LoadOptions) error
	if f.region != "" {
		opts = append(opts, awsconfig.WithRegion(f.region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return agent.ServerConfig{}, usageErrorf("loading the agent's AWS configuration: %v", err)
	}
	if awsCfg.Region == "" {
		return agent.ServerConfig{}, usageErrorf("no region: set --region or AWS_REGION (EKS Auth requests are signed for a region)")
	}
	endpointEKSAuth, endpointAll := env.Getenv("AWS_ENDPOINT_URL_EKS_AUTH"), env.Getenv("AWS_ENDPOINT_URL")
	if ignore, _ := strconv.ParseBool(env.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")); ignore {
		endpointEKSAuth, endpointAll = "", ""
	}
	endpoint := agent.EndpointFor(f.endpoint, endpointEKSAuth, endpointAll, awsCfg.Region)
	upstream, err := agent.NewEKSAuth(agent.EKSAuthConfig{
		Endpoint:       endpoint,
		ClusterName:    f.cluster,
		Region:         awsCfg.Region,
		Credentials:    awsCfg.Credentials,
		DialTimeout:    f.dialTimeout,
		RequestTimeout: f.reqTimeout,
		Attempts:       f.attempts,
		UserAgent:      "irsa-agent/" + env.Version,
	})
	if err != nil {
		return agent.ServerConfig{}, usageErrorf("%v", err)
	}
	cfg := agent.ServerConfig{
		BindHosts: f.bindHosts,
		Port:      f.port,
		Upstream:  upstream,
		Cache: agent.CacheConfig{
			MaxSize:      f.maxCacheSize,
			MaxRetention: f.retention,
			MinRemaining: f.minValidity,
			FetchTimeout: f.fetchTimeout,
			ServiceQPS:   f.serviceQPS,
			ServiceBurst: f.serviceBurst,
		},
		RequestRate:  f.requestRate,
		RequestBurst: f.requestBurst,
	}
	if f.probePort != 0 {
		cfg.ProbeAddr = net.JoinHostPort("localhost", strconv.Itoa(f.probePort))
	}
	if f.metricsPort != 0 {
		cfg.MetricsAddr = net.JoinHostPort(strings.Trim(f.metricsHost, "[]"), strconv.Itoa(f.metricsPort))
	}
	return cfg, nil
}

func newAgentSetupLinkCommand() *cobra.Command {
	var (
		name  string
		hosts []string
	)
	cmd := &cobra.Command{
		Use:   "setup-link",
		Short: "Add the agent's link-local addresses to the node (needs CAP_NET_ADMIN)",
		Long: `Create the dummy network link pod-id-link0 on the node, add the agent's
addresses to it (169.254.170.23/32 and fd00:ec2::23/128) and bring it up, so
that pods reach the agent at those addresses. It is idempotent: run it at every
start, as a privileged init container of the agent's DaemonSet with
hostNetwork: true and the NET_ADMIN capability. Without CAP_NET_ADMIN in the
node's network namespace it fails and says so. An IPv6 address the node cannot
take (IPv6 disabled) is reported and skipped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := agent.LinkConfig{Name: name}
			for _, h := range hosts {
				a, err := netip.ParseAddr(strings.Trim(h, "[]"))
				if err != nil {
					return usageErrorf("--bind-hosts: %q is not an IP address", h)
				}
				cfg.Addresses = append(cfg.Addresses, a)
			}
			res, err := agent.SetupLink(cfg)
			if err != nil {
				return &exitError{code: ExitInvalid, err: err}
			}
			out := cmd.OutOrStdout()
			verb := "exists"
			if res.Created {
				verb = "created"
			}
			fmt.Fprintf(out, "link %s %s, up; addresses:", name, verb)
			for _, a := range res.Added {
				fmt.Fprintf(out, " %s", a)
			}
			fmt.Fprintln(out)
			for _, s := range res.Skipped {
				fmt.Fprintf(cmd.ErrOrStderr(), "irsa: skipped: %v\n", s)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "link-name", agent.DefaultLinkName, "name of the dummy link")
	cmd.Flags().StringSliceVarP(&hosts, "bind-hosts", "b", []string{"169.254.170.23", "[fd00:ec2::23]"}, "addresses to add to the link")
	return cmd
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/app"
	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/config"
	"github.com/irsa-dev/irsa/internal/issuer"
)

// serverFlags are the flags shared by the commands that open a data
// directory.
type serverFlags struct {
	dataDir      string
	storeDSN     string
	accountID    string
	issuerURL    string
	region       string
	trustCAs     []string
	insecureHTTP bool
	trustMax     int
}

func (f *serverFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", ".irsa", "directory of the embedded store and the root credentials file")
	addStoreFlag(cmd, &f.storeDSN)
	cmd.Flags().StringVar(&f.accountID, "account-id", app.DefaultAccountID, "the default account's 12-digit ID")
	cmd.Flags().StringVar(&f.issuerURL, "issuer-url", "", "URL of the built-in OIDC issuer (default: the stored one, or https://"+app.DefaultIssuerHost+"/id/<random> on first start)")
	cmd.Flags().StringVar(&f.region, "region", "us-east-1", "the region irsa answers for")
	cmd.Flags().StringArrayVar(&f.trustCAs, "trust-ca", nil, "PEM bundle of CAs trusted for external OIDC providers' discovery and JWKS (repeatable)")
	cmd.Flags().BoolVar(&f.insecureHTTP, "insecure-allow-http-loopback-providers", false, "DANGEROUS outside tests: allow OIDC providers at plain http://127.0.0.1 or http://localhost")
	cmd.Flags().IntVar(&f.trustMax, "trust-policy-max-size", 2048, "role trust policy quota in characters, 2048 to 4096")
}

func (f *serverFlags) config(env Env, log *slog.Logger) (app.Config, error) {
	if f.trustMax < 2048 || f.trustMax > 4096 {
		return app.Config{}, usageErrorf("--trust-policy-max-size must be between 2048 and 4096, got %d", f.trustMax)
	}
	if len(f.accountID) != 12 || strings.Trim(f.accountID, "0123456789") != "" {
		return app.Config{}, usageErrorf("--account-id must be 12 digits, got %q", f.accountID)
	}
	if f.issuerURL != "" && !strings.HasPrefix(f.issuerURL, "https://") && !(f.insecureHTTP && strings.HasPrefix(f.issuerURL, "http://")) {
		return app.Config{}, usageErrorf("--issuer-url must start with https:// (plain http only with --insecure-allow-http-loopback-providers), got %q", f.issuerURL)
	}
	return app.Config{
		DataDir:                            f.dataDir,
		AccountID:                          f.accountID,
		IssuerURL:                          strings.TrimSuffix(f.issuerURL, "/"),
		Region:                             f.region,
		TrustCAFiles:                       f.trustCAs,
		InsecureAllowHTTPLoopbackProviders: f.insecureHTTP,
		TrustPolicyMaxSize:                 f.trustMax,
		RootAccessKeyID:                    env.Getenv("IRSA_ROOT_ACCESS_KEY_ID"),
		RootSecretAccessKey:                env.Getenv("IRSA_ROOT_SECRET_ACCESS_KEY"),
		Logger:                             log,
	}, nil
}

func newUpCommand(env Env) *cobra.Command {
	var f serverFlags
	var listen, configFile, logLevel string
	var noAudit bool
	var alertInterval time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Serve the issuer, IAM and STS on one listener",
		Long: `Start the all-in-one server: the built-in OIDC issuer (discovery and JWKS), IAM
and STS on one listener, with its state in --data-dir. The first start creates
the default account, its root access key (written to DATA_DIR/root-credentials
in the AWS shared-credentials format) and the issuer's keys, and prints the
lines to paste into a shell. --config applies a declarative file of OIDC
providers, roles and policies at every start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cmd.ErrOrStderr(), logLevel)
			if err != nil {
				return err
			}
			cfg, err := f.config(env, log)
			if err != nil {
				return err
			}
			cfg.Listen = listen
			cfg.InsecureDisableAudit = noAudit
			if noAudit {
				log.Warn("auditing is OFF (--insecure-disable-audit-for-benchmarks): calls leave no audit event")
			}
			var doc *config.File
			if configFile != "" {
				if doc, err = config.Load(configFile); err != nil {
					return &exitError{code: ExitInvalid, err: err}
				}
				for _, c := range doc.Clusters {
					if c.JWKSURL == "" {
						// irsa finds the issuer's keys through its discovery.
						continue
					}
					cfg.Mirrors = append(cfg.Mirrors, app.Mirror{Issuer: c.Issuer, JWKSURL: c.JWKSURL, CAFile: c.CAFile, BearerTokenFile: c.BearerTokenFile})
				}
			}
			if cfg.Alerts, err = serverAlerts(doc, alertInterval, cmd.Flags().Changed("alert-interval")); err != nil {
				return err
			}
			if env.Getenv("GOGC") == "" {
				// The STS path allocates little that lives; collecting less
				// often buys throughput for a heap of a few tens of MB.
				debug.SetGCPercent(400)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageErrorf("cannot listen on %s: %v", listen, err)
			}
			defer ln.Close()
			ctx := cmd.Context()
			a, err := openApp(ctx, cfg, f.storeDSN)
			if err != nil {
				return err
			}
			defer a.Close()
			if doc != nil {
				report, err := applyFile(ctx, a, doc)
				if err != nil {
					return &exitError{code: ExitInvalid, err: fmt.Errorf("applying %s: %w", configFile, err)}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "applied %s: %s\n", configFile, report)
			}
			printWelcome(cmd.OutOrStdout(), a, ln.Addr().String(), storeArgs(f.storeDSN, f.dataDir))
			log.Info("irsa is serving", "listen", ln.Addr().String(), "issuer", a.Bootstrap.IssuerURL, "account", cfg.AccountID)
			if err := a.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:4590", "address of the one listener")
	cmd.Flags().StringVar(&configFile, "config", "", "declarative YAML of OIDC providers, roles and policies to apply at start")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().BoolVar(&noAudit, "insecure-disable-audit-for-benchmarks", false, "DANGEROUS: answer calls without recording audit events; only to measure what auditing costs")
	_ = cmd.Flags().MarkHidden("insecure-disable-audit-for-benchmarks")
	cmd.Flags().DurationVar(&alertInterval, "alert-interval", audit.DefaultMonitorInterval, "how often to run the audit alert rules (thresholds and webhook: the config file's audit section); 0 turns them off")
	return cmd
}

func configVars(a *app.App) config.Vars {
	host := strings.TrimPrefix(strings.TrimPrefix(a.Bootstrap.IssuerURL, "https://"), "http://")
	return config.Vars{AccountID: a.Bootstrap.AccountID, Issuer: host}
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErrorf("--log-level must be debug, info, warn or error, got %q", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// printWelcome prints, on the start that created the root key, the lines a
// newcomer pastes; on later starts, one line saying where things are.
func printWelcome(w io.Writer, a *app.App, addr, storeArgs string) {
	b := a.Bootstrap
	endpoint := "http://" + addr
	credFile, err := filepath.Abs(b.CredentialsFile)
	if err != nil {
		credFile = b.CredentialsFile
	}
	if !b.CreatedRootKey {
		fmt.Fprintf(w, "irsa is serving on %s (account %s, issuer %s); root credentials in %s\n", endpoint, b.AccountID, b.IssuerURL, credFile)
		return
	}
	fmt.Fprintf(w, `irsa is serving on %s for account %s.
Its OIDC issuer is %s (registered as %s).
The account's root access key is in %s.

Paste these lines into another shell to use irsa with the AWS CLI and SDKs:

%s  export AWS_ENDPOINT_URL=%s AWS_ENDPOINT_URL_STS=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s
  export AWS_SHARED_CREDENTIALS_FILE=%s
  aws sts get-caller-identity

`, endpoint, b.AccountID, b.IssuerURL, b.IssuerProviderARN, credFile, pathHint(), endpoint, endpoint, "us-east-1", "us-east-1", credFile)
	if _, err := a.Store.GetRole(context.Background(), b.AccountID, "s3-reader"); err == nil {
		fmt.Fprintf(w, `Then act as the pod production/s3-reader: take a service-account token and its role:

  unset AWS_SHARED_CREDENTIALS_FILE
  %s token %s --namespace production --service-account s3-reader > /tmp/irsa-token
  export AWS_ROLE_ARN=arn:aws:iam::%s:role/s3-reader AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/irsa-token
  aws sts get-caller-identity

`, selfPath(), storeArgs, b.AccountID)
	}
}

// selfPath is how to run this binary from the current directory.
func selfPath() string {
	exe, err := os.Executable()
	if err != nil {
		return "irsa"
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, exe); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return exe
}

// pathHint puts the AWS CLI that `make run` installs on PATH when no aws is
// there already.
func pathHint() string {
	if _, err := exec.LookPath("aws"); err == nil {
		return ""
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	venv := filepath.Join(home, ".cache", "irsa", "venv", "bin")
	if _, err := os.Stat(filepath.Join(venv, "aws")); err != nil {
		return ""
	}
	return "  export PATH=" + venv + ":$PATH\n"
}

func newTokenCommand(env Env) *cobra.Command {
	var f serverFlags
	var req issuer.TokenRequest
	var audiences []string
	var expiresIn time.Duration
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a service-account token from the built-in issuer",
		Long: `Print a projected service-account token signed by irsa's built-in issuer, with
the claims kube-apiserver gives one: iss, sub system:serviceaccount:NS:SA, aud,
exp, iat, nbf, jti and kubernetes.io. Write it to a file and point
AWS_WEB_IDENTITY_TOKEN_FILE at it to act as a pod.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(env, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				return err
			}
			if req.Namespace == "" || req.ServiceAccount == "" {
				return usageErrorf("--namespace and --service-account are required")
			}
			if _, err := os.Stat(f.dataDir); err != nil && f.storeDSN == "" {
				return usageErrorf("data directory %s: %v (start irsa up first, or pass --data-dir)", f.dataDir, err)
			}
			a, err := openApp(cmd.Context(), cfg, f.storeDSN)
			if err != nil {
				return err
			}
			defer a.Close()
			req.Audiences, req.ExpiresIn = audiences, expiresIn
			tok, err := a.Issuer.Mint(cmd.Context(), req)
			if err != nil {
				return usageErrorf("%v", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&req.Namespace, "namespace", "", "the service account's namespace (required)")
	cmd.Flags().StringVar(&req.ServiceAccount, "service-account", "", "the service account's name (required)")
	cmd.Flags().StringArrayVar(&audiences, "audience", []string{"sts.amazonaws.com"}, "token audience (repeatable)")
	cmd.Flags().DurationVar(&expiresIn, "expires-in", time.Hour, "token lifetime, 10m to 48h")
	cmd.Flags().StringVar(&req.PodName, "pod", "", "pod name for the kubernetes.io claims")
	cmd.Flags().StringVar(&req.NodeName, "node", "", "node name for the kubernetes.io claims")
	return cmd
}

func newApplyCommand(env Env) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Apply a declarative file of OIDC providers, roles and policies",
		Long: `Create or update the OIDC providers, managed policies and roles a YAML file
declares, in the store of --data-dir. Applying the same file twice changes
nothing. Objects the file does not mention are left alone.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(env, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				return err
			}
			doc, err := config.Load(args[0])
			if err != nil {
				return &exitError{code: ExitInvalid, err: err}
			}
			a, err := openApp(cmd.Context(), cfg, f.storeDSN)
			if err != nil {
				return err
			}
			defer a.Close()
			report, err := applyFile(cmd.Context(), a, doc)
			if err != nil {
				return &exitError{code: ExitInvalid, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied %s: %s\n", args[0], report)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// applyFile applies a declarative file: IAM objects, then the clusters and
// pod identity associations.
func applyFile(ctx context.Context, a *app.App, doc *config.File) (config.Report, error) {
	report, err := config.Apply(ctx, a.IAM, configVars(a), doc)
	if err != nil {
		return report, err
	}
	pi, err := config.ApplyPodIdentity(ctx, a.PodIdentity, configVars(a), doc)
	report.Created += pi.Created
	report.Updated += pi.Updated
	report.Unchanged += pi.Unchanged
	return report, err
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes of the irsa binary.
const (
	ExitOK      = 0 // success; also any simulation decision unless --exit-code is set
	ExitInvalid = 1 // an input was read and found invalid (for example a malformed policy)
	ExitUsage   = 2 // wrong flags or arguments, or an input that could not be read
	ExitDenied  = 3 // simulate --exit-code: the request was denied
)

// Env is everything a command run needs from the process: arguments
// (without the program name), standard streams and the build version.
type Env struct {
	Args    []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Version string
	// Getenv reads the environment; nil reads nothing.
	Getenv func(string) string
}

// exitError carries the exit code a command wants. When quiet is set the
// command has already told the user what went wrong, so Main prints nothing
// more.
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is an operator mistake: bad flag values, unreadable files.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// silentExit ends the command with code after it has printed its own output.
func silentExit(code int) error { return &exitError{code: code, quiet: true} }

// Main runs the irsa command line and returns the process exit code.
func Main(ctx context.Context, env Env) int {
	if env.Stdin == nil {
		env.Stdin = eofReader{}
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Version == "" {
		env.Version = "dev"
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	root := newRootCommand(env)
	root.SetArgs(env.Args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)

	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.quiet {
			fmt.Fprintf(env.Stderr, "irsa: %v\n", ee.err)
		}
		return ee.code
	}
	// Anything else comes from cobra itself: unknown commands or flags,
	// missing or surplus arguments. Those are usage errors.
	fmt.Fprintf(env.Stderr, "irsa: %v\n", err)
	if cmd != nil {
		fmt.Fprintf(env.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ExitUsage
}

func newRootCommand(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "irsa",
		Short: "Self-hostable, AWS-compatible IRSA, STS and IAM",
		Long: `irsa implements IAM Roles for Service Accounts (IRSA) and EKS Pod Identity end to
end, wire-compatible with AWS STS and IAM, so unmodified AWS SDKs and Kubernetes
can use it as they use AWS.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bare "irsa" prints help and succeeds; an unknown command fails.
		Args: cobra.NoArgs,
		RunE: helpOnly,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newVersionCommand(env.Version), newPolicyCommand(), newUpCommand(env), newTokenCommand(env), newApplyCommand(env), newKeysCommand(env))
	root.AddCommand(newWhoamiCommand(env))
	root.AddCommand(newWebhookCommand(env))
	root.AddCommand(newAuditCommand(env))
	root.AddCommand(newAnalyzeCommand(env))
	root.AddCommand(newAgentCommand(env))
	return root
}

// eofReader is an empty standard input.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// helpOnly is the action of a command group: print help. Being runnable is
// what makes cobra check the group's arguments, so that "irsa nosuch" is a
// usage error and not a help page with exit status 0.
func helpOnly(cmd *cobra.Command, _ []string) error { return cmd.Help() }

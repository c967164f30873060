package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/policy"
)

type simulateOptions struct {
	policies        []string
	resourcePolicy  string
	trustPolicy     string
	boundary        string
	sessionPolicies []string
	scps            []string

	action          string
	resource        string
	principal       string
	resourceAccount string
	contexts        []string
	contextTypes    []string

	output   string
	exitCode bool
}

func newSimulateCommand() *cobra.Command {
	var o simulateOptions
	cmd := &cobra.Command{
		Use:   "simulate --action ACTION [flags]",
		Short: "Evaluate one request against a set of policies and explain the decision",
		Long: `Simulate evaluates one request (action, resource, principal and condition
context) against the policies given, the way AWS does, and explains the
decision: the statements that matched and, for a denial, which element or
condition of each nearest statement failed, with expected and actual values.

Every --scp is its own organization level: each one given must allow.

--resource-policy is read as a role trust policy when --resource is an IAM role
ARN and --action is an sts: action, and as a resource-based policy otherwise.
--trust-policy always reads a trust policy.

Context values are raw strings, compared as each condition operator requires.
Give a key twice or more to make it multi-valued; --context-type KEY=stringList
(or another list type) makes a key multi-valued even with one value, and
declares a present but empty multi-valued key when no --context gives it.

The decision is not an error: the exit status is 0 whatever it is, unless
--exit-code is set (0 allowed, 3 denied). A malformed policy exits 1, wrong
flags or an unreadable file exit 2.`,
		Example: `  irsa policy simulate --trust-policy examples/policies/irsa-trust.json \
    --action sts:AssumeRoleWithWebIdentity \
    --resource arn:aws:iam::000000000000:role/s3-reader \
    --principal arn:aws:iam::000000000000:oidc-provider/oidc.irsa.local/id/EXAMPLE \
    --context oidc.irsa.local/id/EXAMPLE:sub=system:serviceaccount:staging:s3-reader \
    --context oidc.irsa.local/id/EXAMPLE:aud=sts.amazonaws.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSimulate(cmd, &o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.policies, "policy", nil, "identity policy `FILE` (repeatable; any one may allow)")
	f.StringVar(&o.resourcePolicy, "resource-policy", "", "resource-based policy `FILE` of the resource (a trust policy for sts: actions on a role ARN)")
	f.StringVar(&o.trustPolicy, "trust-policy", "", "role trust policy `FILE` (instead of --resource-policy)")
	f.StringVar(&o.boundary, "boundary", "", "permissions boundary `FILE`")
	f.StringArrayVar(&o.sessionPolicies, "session-policy", nil, "session policy `FILE` (repeatable; any one may allow)")
	f.StringArrayVar(&o.scps, "scp", nil, "service control policy `FILE` (repeatable; each is its own level and must allow)")
	f.StringVar(&o.action, "action", "", "the action, service:Action (required)")
	f.StringVar(&o.resource, "resource", "*", "the resource ARN")
	f.StringVar(&o.principal, "principal", "", "the caller: user, role, session, federated provider ARN, account ID or service principal (empty: anonymous)")
	f.StringVar(&o.resourceAccount, "resource-account", "", "the account that owns the resource (default: from the resource ARN)")
	f.StringArrayVar(&o.contexts, "context", nil, "condition key `KEY=VALUE` (repeatable; a key given twice or more is multi-valued)")
	f.StringArrayVar(&o.contextTypes, "context-type", nil, "type of a condition key, `KEY=TYPE` with IAM's ContextKeyType words (string, stringList, numeric, date, ip, boolean, binary, ...List)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.BoolVar(&o.exitCode, "exit-code", false, "exit with status 3 when the request is denied")
	_ = cmd.MarkFlagRequired("action")
	return cmd
}

func runSimulate(cmd *cobra.Command, o *simulateOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	if o.resourcePolicy != "" && o.trustPolicy != "" {
		return usageErrorf("give --resource-policy or --trust-policy, not both")
	}
	if strings.TrimSpace(o.action) == "" {
		return usageErrorf("--action must not be empty")
	}
	ctx, err := buildContext(o.contexts, o.contextTypes)
	if err != nil {
		return err
	}

	// An unreadable file is an operator error and wins over malformed
	// documents; every malformed document is reported, not only the first.
	l := policyLoader{stdin: cmd.InOrStdin()}
	set := &policy.Set{}
	set.Identity = l.loadAll(o.policies, policy.KindIdentity)
	switch {
	case o.trustPolicy != "":
		set.Resource = l.load(o.trustPolicy, policy.KindTrust)
	case o.resourcePolicy != "":
		kind := policy.KindResource
		if isRoleARN(o.resource) && isSTSAction(o.action) {
			kind = policy.KindTrust
		}
		set.Resource = l.load(o.resourcePolicy, kind)
	}
	if o.boundary != "" {
		set.Boundary = l.load(o.boundary, policy.KindBoundary)
	}
	set.Session = l.loadAll(o.sessionPolicies, policy.KindSession)
	for _, p := range l.loadAll(o.scps, policy.KindSCP) {
		set.SCPs = append(set.SCPs, []*policy.Policy{p})
	}
	if l.readErr != nil {
		return l.readErr
	}
	if len(l.malformed) > 0 {
		for _, line := range l.malformed {
			fmt.Fprintln(cmd.ErrOrStderr(), line)
		}
		return silentExit(ExitInvalid)
	}

	res := policy.Explain(set, &policy.Request{
		Action:          o.action,
		Resource:        o.resource,
		Principal:       o.principal,
		ResourceAccount: o.resourceAccount,
		Context:         ctx,
	})

	w := cmd.OutOrStdout()
	if o.output == "json" {
		out := *res
		if out.MatchedStatements == nil {
			out.MatchedStatements = []policy.StatementRef{}
		}
		if out.Explanation == nil {
			out.Explanation = []policy.Reason{}
		}
		err = writeJSON(w, out)
	} else {
		err = writeExplanation(w, res)
	}
	if err != nil {
		return err
	}
	if o.exitCode && res.Decision != policy.Allowed {
		return silentExit(ExitDenied)
	}
	return nil
}

// policyLoader reads and parses policy files, remembering the first read
// error and every malformed document.
type policyLoader struct {
	stdin     io.Reader
	usedStdin bool
	readErr   error
	malformed []string
}

func (l *policyLoader) load(path string, kind policy.Kind) *policy.Policy {
	if l.readErr != nil {
		return nil
	}
	if path == "-" {
		if l.usedStdin {
			l.readErr = usageErrorf("standard input (-) can be given only once")
			return nil
		}
		l.usedStdin = true
	}
	ins, err := readInputs(l.stdin, []string{path})
	if err != nil {
		l.readErr = err
		return nil
	}
	in := ins[0]
	p, err := policy.Parse(in.doc, kind)
	if err != nil {
		l.malformed = append(l.malformed, policyErrorLine(in.display, err))
		return nil
	}
	p.Name = in.name
	return p
}

func (l *policyLoader) loadAll(paths []string, kind policy.Kind) []*policy.Policy {
	var out []*policy.Policy
	for _, path := range paths {
		if p := l.load(path, kind); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// buildContext turns --context KEY=VALUE and --context-type KEY=TYPE flags
// into a request context.
func buildContext(pairs, types []string) (*policy.Context, error) {
	ctx := policy.NewContext()
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("invalid --context %q: want KEY=VALUE", kv)
		}
		ctx.Add(k, v)
	}
	for _, kt := range types {
		k, t, ok := strings.Cut(kt, "=")
		if !ok || k == "" {
			return nil, usageErrorf("invalid --context-type %q: want KEY=TYPE", kt)
		}
		typ, err := policy.ParseContextType(t)
		if err != nil {
			return nil, usageErrorf("invalid --context-type %q: %v", kt, err)
		}
		ctx.SetType(k, typ)
	}
	return ctx, nil
}

// isRoleARN reports whether s is an IAM role ARN, arn:PARTITION:iam::ACCOUNT:role/NAME.
func isRoleARN(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "iam" && strings.HasPrefix(parts[5], "role/")
}

// writeExplanation prints the decision, then one line per reason.
func writeExplanation(w io.Writer, res *policy.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Decision: %s\n", res.Decision)
	for _, r := range res.Explanation {
		b.WriteString("  - " + reasonText(r) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// reasonText renders one reason for people, for example
//
//	trust.json statement 0 (Sid "IrsaTrust", Allow): Condition StringEquals k:sub: expected "a", got "b"
func reasonText(r policy.Reason) string {
	var b strings.Builder
	if r.Effect == "" && r.PolicyName == "" {
		// A reason about a whole policy type, not one statement.
		return r.Message
	}
	name := r.PolicyName
	if name == "" {
		name = r.PolicyType + " policy"
	}
	fmt.Fprintf(&b, "%s statement %d (", name, r.Index)
	if r.Sid != "" {
		fmt.Fprintf(&b, "Sid %q, ", r.Sid)
	}
	b.WriteString(r.Effect + "): ")

	if r.Element == "" || (len(r.Expected) == 0 && len(r.Actual) == 0) {
		if r.Element != "" && !strings.HasPrefix(r.Message, r.Element) {
			b.WriteString(r.Element + ": ")
		}
		b.WriteString(r.Message)
		return b.String()
	}
	b.WriteString(r.Element)
	if r.Operator != "" {
		b.WriteString(" " + r.Operator)
	}
	if r.Key != "" {
		b.WriteString(" " + r.Key)
	}
	if len(r.Actual) == 0 && r.Message != "" {
		// No request value to show: the engine's message says whether the
		// key is absent or empty.
		fmt.Fprintf(&b, ": expected %s; %s", quoteValues(r.Expected, "nothing"), r.Message)
		return b.String()
	}
	fmt.Fprintf(&b, ": expected %s, got %s", quoteValues(r.Expected, "nothing"), quoteValues(r.Actual, "no value"))
	return b.String()
}

// quoteValues renders values as "a" or ["a", "b"], and empty as none.
func quoteValues(vs []string, none string) string {
	switch len(vs) {
	case 0:
		return none
	case 1:
		return strconv.Quote(vs[0])
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

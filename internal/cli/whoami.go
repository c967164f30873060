package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/arn"
)

// whoamiEnvVars are the variables whoami reports, in the order printed:
// what the pod identity webhook injects, then what changes where the SDKs
// send their calls or which credentials they pick.
var whoamiEnvVars = []string{
	"AWS_ROLE_ARN",
	"AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_ROLE_SESSION_NAME",
	"AWS_REGION",
	"AWS_DEFAULT_REGION",
	"AWS_STS_REGIONAL_ENDPOINTS",
	"AWS_ENDPOINT_URL_STS",
	"AWS_ENDPOINT_URL",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_ACCESS_KEY_ID",
	"AWS_PROFILE",
}

// whoamiReport is what `irsa whoami` found; --output json prints it as is.
type whoamiReport struct {
	// Environment holds each reported variable's value, null when unset.
	Environment map[string]*string `json:"environment"`
	// WebIdentityToken describes AWS_WEB_IDENTITY_TOKEN_FILE (IRSA).
	WebIdentityToken *tokenFileReport `json:"webIdentityToken,omitempty"`
	// PodIdentityToken describes AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
	// (EKS Pod Identity).
	PodIdentityToken *tokenFileReport `json:"podIdentityToken,omitempty"`
	// Region is the region the STS call was made in, and RegionDefaulted
	// says it came from no variable.
	Region          string `json:"region"`
	RegionDefaulted bool   `json:"regionDefaulted,omitempty"`
	// CallerIdentity is GetCallerIdentity's answer, named as the AWS CLI
	// prints it.
	CallerIdentity *callerIdentity `json:"callerIdentity,omitempty"`
	STSError       *stsError       `json:"stsError,omitempty"`
	// Problems are what makes the environment unfit for pod credentials.
	Problems []string `json:"problems"`
	OK       bool     `json:"ok"`
}

type tokenFileReport struct {
	Path      string       `json:"path"`
	Exists    bool         `json:"exists"`
	SizeBytes int64        `json:"sizeBytes"`
	Claims    *tokenClaims `json:"claims,omitempty"`
	Error     string       `json:"error,omitempty"`
}

// tokenClaims are the claims of a service-account token that matter to a
// role's trust policy, read without verifying the signature.
type tokenClaims struct {
	Issuer         string    `json:"iss"`
	Subject        string    `json:"sub"`
	Audience       []string  `json:"aud"`
	Expiry         time.Time `json:"exp"`
	IssuedAt       time.Time `json:"iat"`
	Namespace      string    `json:"namespace,omitempty"`
	ServiceAccount string    `json:"serviceAccount,omitempty"`
	Pod            string    `json:"pod,omitempty"`
}

type callerIdentity struct {
	Account string `json:"Account"`
	Arn     string `json:"Arn"`
	UserID  string `json:"UserId"`
}

type stsError struct {
	// Operation is the failed call: GetCallerIdentity, or the credential
	// provider's own call such as AssumeRoleWithWebIdentity.
	Operation string `json:"operation,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message"`
}

// maxTokenFileSize bounds what whoami reads of a token file; STS accepts
// tokens of at most 20,000 characters.
const maxTokenFileSize = 1 << 20

func newWhoamiCommand(env Env) *cobra.Command {
	var output string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Check a pod's AWS environment and print its caller identity",
		Long: `Run inside a pod to check what the pod identity webhook gave it: AWS_ROLE_ARN,
AWS_WEB_IDENTITY_TOKEN_FILE (the file, its size and its token's iss, sub,
aud, exp and iat, decoded without verifying and never printed), the region
and STS endpoint variables, and EKS Pod Identity's
AWS_CONTAINER_CREDENTIALS_FULL_URI. Then call sts:GetCallerIdentity with the
AWS SDK's default credential chain, as an application in the pod would, and
print the Account, Arn and UserId it answers.

Exits with status 1 when the environment is incomplete or the call fails,
printing the AWS error code and message.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usageErrorf("--output must be text or json, got %q", output)
			}
			if timeout <= 0 {
				return usageErrorf("--timeout must be positive, got %v", timeout)
			}
			r := checkEnvironment(env.Getenv, time.Now())
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			callSTS(ctx, r)
			r.OK = len(r.Problems) == 0 && r.STSError == nil

			w := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else {
				printWhoami(w, r, time.Now())
			}
			if r.OK {
				return nil
			}
			return &exitError{code: ExitInvalid, err: errors.New(whoamiSummary(r))}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "time allowed for the credentials and the STS call")
	return cmd
}

// checkEnvironment reads the variables and token files and lists what is
// missing or wrong for pod credentials.
func checkEnvironment(getenv func(string) string, now time.Time) *whoamiReport {
	r := &whoamiReport{Environment: map[string]*string{}, Problems: []string{}}
	for _, name := range whoamiEnvVars {
		if v := getenv(name); v != "" {
			r.Environment[name] = &v
		} else {
			r.Environment[name] = nil
		}
	}
	roleARN, tokenFile := getenv("AWS_ROLE_ARN"), getenv("AWS_WEB_IDENTITY_TOKEN_FILE")
	fullURI, podTokenFile := getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"), getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")

	switch {
	case roleARN == "" && tokenFile == "" && fullURI == "":
		r.problem("no pod credentials in the environment: neither AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (IRSA) nor AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity) is set; is the pod's ServiceAccount annotated with eks.amazonaws.com/role-arn, was the pod created after the annotation, and is the webhook running?")
	case roleARN != "" && tokenFile == "":
		r.problem("AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not: the SDKs need both")
	case roleARN == "" && tokenFile != "":
		r.problem("AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: the SDKs need both")
	}
	if roleARN != "" {
		if a, err := arn.Parse(roleARN); err != nil || a.Service != "iam" || !arn.IsAccountID(a.Account) || !strings.HasPrefix(a.Resource, "role/") {
			r.problem(fmt.Sprintf("AWS_ROLE_ARN %q is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", roleARN))
		}
	}
	if tokenFile != "" {
		r.WebIdentityToken = inspectTokenFile(tokenFile)
		r.tokenProblems("AWS_WEB_IDENTITY_TOKEN_FILE", r.WebIdentityToken, now)
	}
	if fullURI != "" {
		if podTokenFile == "" {
			r.problem("AWS_CONTAINER_CREDENTIALS_FULL_URI is set but AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE is not")
		}
	}
	if podTokenFile != "" {
		r.PodIdentityToken = inspectTokenFile(podTokenFile)
		r.tokenProblems("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", r.PodIdentityToken, now)
	}
	if getenv("AWS_ACCESS_KEY_ID") != "" {
		r.problem("AWS_ACCESS_KEY_ID is set: the SDKs use these static keys before the pod's web identity or Pod Identity")
	}
	r.Region = getenv("AWS_REGION")
	if r.Region == "" {
		r.Region = getenv("AWS_DEFAULT_REGION")
	}
	return r
}

func (r *whoamiReport) problem(p string) { r.Problems = append(r.Problems, p) }

func (r *whoamiReport) tokenProblems(variable string, t *tokenFileReport, now time.Time) {
	switch {
	case t.Error != "":
		r.problem(fmt.Sprintf("%s %s: %s", variable, t.Path, t.Error))
	case t.Claims != nil && !t.Claims.Expiry.IsZero() && !now.Before(t.Claims.Expiry):
		r.problem(fmt.Sprintf("%s %s: the token expired at %s; the kubelet refreshes projected tokens, so the file is not from a live projected volume", variable, t.Path, t.Claims.Expiry.Format(time.RFC3339)))
	}
}

// inspectTokenFile reads a token file and decodes its claims. Messages
// never contain the token or a part of it.
func inspectTokenFile(path string) *tokenFileReport {
	t := &tokenFileReport{Path: path}
	f, err := os.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist):
			t.Error = "no such file (is the projected token volume mounted at this path?)"
		case errors.Is(err, os.ErrPermission):
			t.Error = "permission denied (the token file is not readable by this user; see the pod's fsGroup)"
		default:
			t.Error = "cannot open: " + errorWithoutPath(err)
		}
		return t
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Error = "cannot stat: " + errorWithoutPath(err)
		return t
	}
	if info.IsDir() {
		t.Error = "is a directory, not the token file"
		return t
	}
	t.Exists = true
	t.SizeBytes = info.Size()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFileSize+1))
	if err != nil {
		t.Error = "cannot read: " + errorWithoutPath(err)
		return t
	}
	if len(b) > maxTokenFileSize {
		t.Error = fmt.Sprintf("larger than %d bytes: not a service-account token", maxTokenFileSize)
		return t
	}
	if len(bytes.TrimSpace(b)) == 0 {
		t.Error = "is empty"
		return t
	}
	claims, err := decodeClaims(string(bytes.TrimSpace(b)))
	if err != nil {
		t.Error = "not a JWT: " + err.Error()
		return t
	}
	t.Claims = claims
	return t
}

func errorWithoutPath(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// decodeClaims reads a compact JWS's payload without verifying it. Its
// errors describe the shape only, never the content.
func decodeClaims(token string) (*tokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%d dot-separated parts, want 3 (header.payload.signature)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("the payload is not base64url")
	}
	var raw struct {
		Iss  string          `json:"iss"`
		Sub  string          `json:"sub"`
		Aud  json.RawMessage `json:"aud"`
		Exp  *json.Number    `json:"exp"`
		Iat  *json.Number    `json:"iat"`
		Kube *struct {
			Namespace      string `json:"namespace"`
			ServiceAccount struct {
				Name string `json:"name"`
			} `json:"serviceaccount"`
			Pod *struct {
				Name string `json:"name"`
			} `json:"pod"`
		} `json:"kubernetes.io"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, errors.New("the payload is not a JSON object of claims")
	}
	c := &tokenClaims{Issuer: raw.Iss, Subject: raw.Sub}
	if len(raw.Aud) > 0 {
		var one string
		if json.Unmarshal(raw.Aud, &one) == nil {
			c.Audience = []string{one}
		} else if json.Unmarshal(raw.Aud, &c.Audience) != nil {
			return nil, errors.New("the aud claim is neither a string nor an array of strings")
		}
	}
	var ok bool
	if c.Expiry, ok = numericDate(raw.Exp); !ok {
		return nil, errors.New("the exp claim is not a number")
	}
	if c.IssuedAt, ok = numericDate(raw.Iat); !ok {
		return nil, errors.New("the iat claim is not a number")
	}
	if k := raw.Kube; k != nil {
		c.Namespace, c.ServiceAccount = k.Namespace, k.ServiceAccount.Name
		if k.Pod != nil {
			c.Pod = k.Pod.Name
		}
	}
	return c, nil
}

// numericDate converts a JWT NumericDate; an absent claim is the zero time.
func numericDate(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, true
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0).UTC(), true
}

// callSTS asks STS who the SDK's default credential chain is, recording the
// answer or the error in r.
func callSTS(ctx context.Context, r *whoamiReport) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		r.STSError = &stsError{Message: "loading the AWS SDK configuration: " + err.Error()}
		return
	}
	if cfg.Region == "" {
		// STS is global; without a region the SDK cannot sign, so use
		// the one its global endpoint lives in.
		cfg.Region = "us-east-1"
		r.RegionDefaulted = true
	}
	r.Region = cfg.Region
	out, err := awssts.NewFromConfig(cfg).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		r.STSError = describeSTSError(err)
		return
	}
	r.CallerIdentity = &callerIdentity{Account: aws.ToString(out.Account), Arn: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId)}
	r.checkRole()
}

// checkRole compares the identity STS answered for with AWS_ROLE_ARN: a
// pod that got other credentials (static keys, a profile, the node's role)
// works, but not as the role its ServiceAccount names.
func (r *whoamiReport) checkRole() {
	want := r.Environment["AWS_ROLE_ARN"]
	if want == nil || r.CallerIdentity == nil {
		return
	}
	role, err := arn.Parse(*want)
	if err != nil {
		return
	}
	name, isRole := arn.RoleName(role)
	got, err := arn.Parse(r.CallerIdentity.Arn)
	if !isRole || err != nil {
		return
	}
	if gotRole, _, ok := arn.AssumedRole(got); !ok || gotRole != name || got.Account != role.Account {
		r.problem(fmt.Sprintf("STS answers for %s, not for a session of AWS_ROLE_ARN %s: the SDK found other credentials first", r.CallerIdentity.Arn, *want))
	}
}

// describeSTSError finds the AWS error code and message, and the operation
// that failed: the innermost one, which for credentials that could not be
// obtained is the provider's call (AssumeRoleWithWebIdentity), not
// GetCallerIdentity.
func describeSTSError(err error) *stsError {
	e := &stsError{Message: err.Error()}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code, e.Message = api.ErrorCode(), api.ErrorMessage()
	}
	var op *smithy.OperationError
	for cur := err; errors.As(cur, &op); cur = op.Err {
		e.Operation = op.OperationName
	}
	if e.Code == "" && errors.Is(err, context.DeadlineExceeded) {
		e.Message = "no answer in time (--timeout): " + err.Error()
	}
	return e
}

func printWhoami(w io.Writer, r *whoamiReport, now time.Time) {
	fmt.Fprintln(w, "Environment:")
	for _, name := range whoamiEnvVars {
		v := "(not set)"
		if p := r.Environment[name]; p != nil {
			v = *p
		}
		fmt.Fprintf(w, "  %-40s %s\n", name, v)
	}
	printToken(w, "Web identity token (AWS_WEB_IDENTITY_TOKEN_FILE):", r.WebIdentityToken, now)
	printToken(w, "Pod Identity token (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE):", r.PodIdentityToken, now)

	region := r.Region
	if r.RegionDefaulted {
		region += ", assumed: no AWS_REGION or AWS_DEFAULT_REGION"
	}
	fmt.Fprintln(w, "Caller identity (sts:GetCallerIdentity, region "+region+"):")
	if c := r.CallerIdentity; c != nil {
		fmt.Fprintf(w, "  Account  %s\n  Arn      %s\n  UserId   %s\n", c.Account, c.Arn, c.UserID)
	} else if e := r.STSError; e != nil {
		fmt.Fprintf(w, "  failed: %s\n", e.line())
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w, "Problems:")
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
	if r.OK {
		fmt.Fprintln(w, "OK: the environment is complete and STS answers for it.")
	}
}

func printToken(w io.Writer, title string, t *tokenFileReport, now time.Time) {
	if t == nil {
		return
	}
	fmt.Fprintln(w, title)
	if !t.Exists {
		fmt.Fprintf(w, "  file  %s: %s\n", t.Path, t.Error)
		return
	}
	fmt.Fprintf(w, "  file  %s: exists, %d bytes\n", t.Path, t.SizeBytes)
	c := t.Claims
	if c == nil {
		fmt.Fprintf(w, "  token %s\n", t.Error)
		return
	}
	fmt.Fprintf(w, "  iss   %s\n  sub   %s\n  aud   %s\n", orNone(c.Issuer), orNone(c.Subject), orNone(strings.Join(c.Audience, ", ")))
	fmt.Fprintf(w, "  exp   %s\n  iat   %s\n", timeClaim(c.Expiry, now), timeClaim(c.IssuedAt, now))
	if c.Namespace != "" {
		fmt.Fprintf(w, "  kubernetes.io  namespace %s, service account %s", c.Namespace, orNone(c.ServiceAccount))
		if c.Pod != "" {
			fmt.Fprintf(w, ", pod %s", c.Pod)
		}
		fmt.Fprintln(w)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func timeClaim(t, now time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return fmt.Sprintf("%s (in %s)", t.Format(time.RFC3339), d)
	case d < 0:
		return fmt.Sprintf("%s (%s ago)", t.Format(time.RFC3339), -d)
	}
	return t.Format(time.RFC3339) + " (now)"
}

func (e *stsError) line() string {
	var b strings.Builder
	if e.Operation != "" {
		b.WriteString(e.Operation + ": ")
	}
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// whoamiSummary is the one line printed on standard error on failure.
func whoamiSummary(r *whoamiReport) string {
	var parts []string
	if n := len(r.Problems); n == 1 {
		parts = append(parts, "the environment has a problem: "+r.Problems[0])
	} else if n > 1 {
		parts = append(parts, fmt.Sprintf("the environment has %d problems (listed above)", n))
	}
	if r.STSError != nil {
		parts = append(parts, "STS failed: "+r.STSError.line())
	}
	return "whoami: " + strings.Join(parts, "; ")
}

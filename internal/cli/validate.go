package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/policy"
)

// validateResult is one line of "validate --output json".
type validateResult struct {
	File       string `json:"file"`
	Valid      bool   `json:"valid"`
	Type       string `json:"type"`
	Statements int    `json:"statements,omitempty"`
	Code       string `json:"code,omitempty"`
	Error      string `json:"error,omitempty"`
	Path       string `json:"path,omitempty"`
}

const validTypes = "identity, managed, resource, trust, session, boundary, scp or auto"

func newValidateCommand() *cobra.Command {
	var typ, output string
	cmd := &cobra.Command{
		Use:   "validate [--type TYPE] FILE...",
		Short: "Check policy documents the way IAM does",
		Long: `Validate parses each policy document (a file, or - for standard input) and
reports whether IAM would accept it where it is meant to be attached, with
AWS's own MalformedPolicyDocument message when it would not.

--type auto (the default) reads a document with a Principal or NotPrincipal as
a trust policy when all its actions are sts: actions and it names no
Resource, as a resource-based policy otherwise, and a document without a
principal as an identity policy.

Exit status: 0 when every document is valid, 1 when any is invalid, 2 when a
file cannot be read or the flags are wrong.`,
		Example: `  irsa policy validate examples/policies/irsa-trust.json
  irsa policy validate --type boundary examples/policies/boundary.json
  cat policy.json | irsa policy validate --output json -`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("give at least one policy FILE, or - for standard input")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			auto := typ == "auto"
			var kind policy.Kind
			if !auto {
				k, err := policy.ParseKind(typ)
				if err != nil {
					return usageErrorf("invalid --type %q: want %s", typ, validTypes)
				}
				kind = k
			}
			inputs, err := readInputs(cmd.InOrStdin(), args)
			if err != nil {
				return err
			}

			results := make([]validateResult, 0, len(inputs))
			errs := make([]error, len(inputs))
			failed := false
			for i, in := range inputs {
				k := kind
				if auto {
					k = detectKind(in.doc)
				}
				r := validateResult{File: in.display, Type: k.String()}
				p, err := policy.Parse(in.doc, k)
				if err != nil {
					failed = true
					errs[i] = err
					r.Error = err.Error()
					var pe *policy.Error
					if errors.As(err, &pe) {
						r.Code, r.Path = errorCode(pe), pe.Path
					}
					results = append(results, r)
					continue
				}
				r.Valid = true
				r.Statements = len(p.Statements)
				results = append(results, r)
			}

			w := cmd.OutOrStdout()
			if output == "json" {
				if err := writeJSON(w, results); err != nil {
					return err
				}
			} else {
				var b strings.Builder
				for i, r := range results {
					if r.Valid {
						fmt.Fprintf(&b, "%s: OK (%s policy, %s)\n", r.File, r.Type, plural(r.Statements, "statement"))
						continue
					}
					b.WriteString(policyErrorLine(r.File, errs[i]) + "\n")
				}
				if _, err := fmt.Fprint(w, b.String()); err != nil {
					return err
				}
			}
			if failed {
				return silentExit(ExitInvalid)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&typ, "type", "auto", "where the policy is attached: "+validTypes)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/policy"
)

func newPolicyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate IAM policy documents and simulate authorization decisions",
		Long: `Validate IAM policy documents with AWS's MalformedPolicyDocument messages, and
simulate requests against identity, resource, trust, boundary, session and
service control policies, with an explanation of every decision.`,
		Args: cobra.NoArgs,
		RunE: helpOnly,
	}
	cmd.AddCommand(newValidateCommand(), newSimulateCommand())
	return cmd
}

// stdinName is how standard input ("-") is named in output.
const stdinName = "<stdin>"

// input is one policy document read from a file or standard input.
type input struct {
	display string // as shown to the user: the path given, or <stdin>
	name    string // Policy.Name: the file's base name
	doc     []byte
}

// readInputs reads every named file, "-" meaning standard input (at most
// once). A file that cannot be read is an operator error.
func readInputs(stdin io.Reader, paths []string) ([]input, error) {
	out := make([]input, 0, len(paths))
	usedStdin := false
	for _, p := range paths {
		if p == "-" {
			if usedStdin {
				return nil, usageErrorf("standard input (-) can be given only once")
			}
			usedStdin = true
			doc, err := io.ReadAll(stdin)
			if err != nil {
				return nil, usageErrorf("reading standard input: %v", err)
			}
			out = append(out, input{display: stdinName, name: "stdin", doc: doc})
			continue
		}
		doc, err := os.ReadFile(p) // #nosec G304 -- reading the files the operator names is the point
		if err != nil {
			return nil, usageErrorf("cannot read policy file: %v", unwrapPathError(err))
		}
		out = append(out, input{display: p, name: filepath.Base(p), doc: doc})
	}
	return out, nil
}

// unwrapPathError keeps the path and the reason of an *os.PathError but
// drops the operation name ("open"), which means nothing to an operator.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// policyErrorLine renders a rejected document as
// "FILE: MalformedPolicyDocument: message (at Path)".
func policyErrorLine(file string, err error) string {
	var pe *policy.Error
	if errors.As(err, &pe) {
		line := fmt.Sprintf("%s: %s: %s", file, errorCode(pe), pe.Message)
		if pe.Path != "" {
			line += " (at " + pe.Path + ")"
		}
		return line
	}
	return fmt.Sprintf("%s: %v", file, err)
}

// errorCode is the AWS error code of a rejected document.
func errorCode(pe *policy.Error) string {
	if pe.Code == "" {
		return "MalformedPolicyDocument"
	}
	return pe.Code
}

// detectKind guesses where a document is meant to be attached, for
// "validate --type auto": a statement naming a principal makes it a trust
// policy when every action is an sts: action and no statement names a
// resource, otherwise a resource policy; with no principal anywhere it is an
// identity policy. Documents that are not even JSON objects are identity
// policies; Parse reports what is wrong with them.
func detectKind(doc []byte) policy.Kind {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return policy.KindIdentity
	}
	var stmts []map[string]json.RawMessage
	if err := json.Unmarshal(top["Statement"], &stmts); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(top["Statement"], &one); err != nil {
			return policy.KindIdentity
		}
		stmts = append(stmts, one)
	}
	principal, resource, stsOnly := false, false, true
	for _, s := range stmts {
		if _, ok := s["Principal"]; ok {
			principal = true
		}
		if _, ok := s["NotPrincipal"]; ok {
			principal = true
		}
		if _, ok := s["Resource"]; ok {
			resource = true
		}
		if _, ok := s["NotResource"]; ok {
			resource = true
		}
		if _, ok := s["NotAction"]; ok {
			stsOnly = false
		}
		actions := stringOrList(s["Action"])
		if len(actions) == 0 {
			stsOnly = false
		}
		for _, a := range actions {
			if !isSTSAction(a) {
				stsOnly = false
			}
		}
	}
	switch {
	case !principal:
		return policy.KindIdentity
	case stsOnly && !resource:
		return policy.KindTrust
	default:
		return policy.KindResource
	}
}

// stringOrList decodes a policy element that is a string or a list of
// strings; anything else yields nil.
func stringOrList(raw json.RawMessage) []string {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err == nil {
		return many
	}
	return nil
}

func isSTSAction(action string) bool {
	return len(action) >= 4 && strings.EqualFold(action[:4], "sts:")
}

// plural returns "1 statement" or "N statements".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// writeJSON writes v indented, with a trailing newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// checkOutput validates an --output value.
func checkOutput(format string) error {
	switch format {
	case "text", "json":
		return nil
	}
	return usageErrorf("invalid --output %q: want text or json", format)
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

// resourcesNotNarrowed is said wherever a suggested policy is shown.
const resourcesNotNarrowed = "the suggested policies grant the used actions on every resource (\"*\"): resources are not narrowed, review them before use"

func newAnalyzeCommand(Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Analyze roles against the audit trail",
		Args:  cobra.NoArgs,
		RunE:  helpOnly,
	}
	cmd.AddCommand(newAnalyzeUnusedCommand())
	return cmd
}

func newAnalyzeUnusedCommand() *cobra.Command {
	var f auditFlags
	var days int
	cmd := &cobra.Command{
		Use:   "unused",
		Short: "Find unused roles and unused granted actions, and suggest least-privilege policies",
		Long: `Read every role of the store and the audit trail (irsa's own events and
imported CloudTrail records) of the last --days days, and report for each role:
whether it was used at all (assumed, or called by one of its sessions), which
action patterns of its Allow statements no call matched, and a policy that
grants only the actions its sessions used. Suggested policies use Resource "*":
resources are not narrowed. Roles created during the window are not judged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.output == "table" {
				f.output = "text"
			}
			if f.output != "text" && f.output != "json" {
				return usageErrorf("--output must be text or json, got %q", f.output)
			}
			if days < 1 {
				return usageErrorf("--days must be at least 1, got %d", days)
			}
			ctx := cmd.Context()
			st, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now().UTC()
			since := now.Add(-time.Duration(days) * 24 * time.Hour)
			roles, err := roleGrants(ctx, st)
			if err != nil {
				return err
			}
			events, err := trailEvents(ctx, st, since)
			if err != nil {
				return err
			}
			findings := audit.Unused(roles, events, since, now)
			if f.output == "json" {
				return writeUnusedJSON(cmd.OutOrStdout(), findings, since, now, days)
			}
			return writeUnusedText(cmd.OutOrStdout(), findings, since, now, days)
		},
	}
	cmd.Flags().StringVar(&f.dataDir, "data-dir", ".irsa", "directory of the embedded store")
	addStoreFlag(cmd, &f.storeDSN)
	cmd.Flags().StringVar(&f.output, "output", "text", "output format: text or json")
	cmd.Flags().IntVar(&days, "days", 90, "length of the window, in days up to now")
	return cmd
}

// roleGrants gathers the roles of every account with the Allow action
// patterns of their inline and attached managed policies, compiled as the
// IAM service compiles them for authorization.
func roleGrants(ctx context.Context, st *sqlstore.Store) ([]audit.RoleGrants, error) {
	accounts, err := st.ListAccounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing accounts: %w", err)
	}
	svc := &iam.Service{Store: st}
	var out []audit.RoleGrants
	for _, a := range accounts {
		roles, err := st.ListRoles(ctx, a.ID, "/")
		if err != nil {
			return nil, fmt.Errorf("listing the roles of account %s: %w", a.ID, err)
		}
		for _, r := range roles {
			g := audit.RoleGrants{ARN: r.ARN, Created: r.CreatedAt}
			identity, _, err := svc.RolePolicies(ctx, r.AccountID, r.Name)
			if err != nil {
				return nil, fmt.Errorf("reading the policies of role %s: %w", r.ARN, err)
			}
			for _, p := range identity {
				for i, s := range p.Statements {
					if s.Effect != "Allow" {
						continue
					}
					g.Actions = append(g.Actions, s.Action...)
					if len(s.NotAction) > 0 {
						g.Notes = append(g.Notes, fmt.Sprintf("policy %s statement %d allows NotAction %s: what it grants is not analyzed", p.Name, i, strings.Join(s.NotAction, ", ")))
					}
				}
			}
			// RolePolicies skips an attached policy the store does not
			// hold (an AWS managed policy, say); tell the reader.
			for _, arn := range r.AttachedPolicyARNs {
				if _, err := st.GetPolicy(ctx, arn); err != nil {
					g.Notes = append(g.Notes, fmt.Sprintf("attached policy %s is not in the store: its actions are not analyzed", arn))
				}
			}
			out = append(out, g)
		}
	}
	return out, nil
}

// trailEvents reads the events of the trail from since on. A record that
// is not a CloudTrail event is an error: the analysis would be wrong
// without it.
func trailEvents(ctx context.Context, st store.Audit, since time.Time) ([]audit.Event, error) {
	var out []audit.Event
	var after int64
	for {
		recs, err := st.ListAudit(ctx, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("reading the audit trail: %w", err)
		}
		if len(recs) == 0 {
			return out, nil
		}
		for _, r := range recs {
			after = r.Seq
			if r.EventTime.Before(since) {
				continue
			}
			e, err := decodeTrailEvent(r.Event)
			if err != nil {
				return nil, fmt.Errorf("audit record %d: %w", r.Seq, err)
			}
			out = append(out, e)
		}
	}
}

// decodeTrailEvent reads the fields the analysis needs from one stored
// CloudTrail record. It reads them itself rather than into audit.Event in
// full, so that an imported record whose other fields differ in shape
// from irsa's does not stop the analysis.
func decodeTrailEvent(raw []byte) (audit.Event, error) {
	var v struct {
		EventTime         string          `json:"eventTime"`
		EventSource       string          `json:"eventSource"`
		EventName         string          `json:"eventName"`
		ErrorCode         string          `json:"errorCode"`
		RequestParameters json.RawMessage `json:"requestParameters"`
		UserIdentity      *struct {
			Type           string `json:"type"`
			ARN            string `json:"arn"`
			SessionContext *struct {
				SessionIssuer *struct {
					Type string `json:"type"`
					ARN  string `json:"arn"`
				} `json:"sessionIssuer"`
			} `json:"sessionContext"`
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return audit.Event{}, err
	}
	t, err := time.Parse(time.RFC3339, v.EventTime)
	if err != nil {
		return audit.Event{}, fmt.Errorf("eventTime: %w", err)
	}
	e := audit.Event{EventTime: t.UTC(), EventSource: v.EventSource, EventName: v.EventName, ErrorCode: v.ErrorCode}
	var params struct {
		RoleARN any `json:"roleArn"`
	}
	if json.Unmarshal(v.RequestParameters, &params) == nil {
		if s, ok := params.RoleARN.(string); ok {
			e.RequestParameters = map[string]any{"roleArn": s}
		}
	}
	if u := v.UserIdentity; u != nil {
		e.UserIdentity = &audit.UserIdentity{Type: u.Type, ARN: u.ARN}
		if sc := u.SessionContext; sc != nil && sc.SessionIssuer != nil {
			e.UserIdentity.SessionContext = &audit.SessionContext{SessionIssuer: &audit.SessionIssuer{
				Type: sc.SessionIssuer.Type, ARN: sc.SessionIssuer.ARN,
			}}
		}
	}
	return e, nil
}

type unusedReport struct {
	Days     int             `json:"days"`
	Since    time.Time       `json:"since"`
	Until    time.Time       `json:"until"`
	Note     string          `json:"note"`
	Findings []audit.Finding `json:"findings"`
}

func writeUnusedJSON(w io.Writer, findings []audit.Finding, since, now time.Time, days int) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(unusedReport{Days: days, Since: since.Truncate(time.Second), Until: now.Truncate(time.Second),
		Note: resourcesNotNarrowed, Findings: findings})
}

func writeUnusedText(w io.Writer, findings []audit.Finding, since, now time.Time, days int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Window: the last %d days, %s to %s\n", days, since.Format(time.RFC3339), now.Format(time.RFC3339))
	counts := map[string]int{}
	for _, f := range findings {
		counts[f.Status]++
	}
	fmt.Fprintf(&b, "Roles: %d unused, %d used, %d too new to judge\n", counts[audit.StatusUnused], counts[audit.StatusUsed], counts[audit.StatusTooNew])
	for _, f := range findings {
		fmt.Fprintf(&b, "\n%s\n", f.RoleARN)
		line := func(label, format string, args ...any) {
			fmt.Fprintf(&b, "  %-16s%s\n", label+":", fmt.Sprintf(format, args...))
		}
		switch f.Status {
		case audit.StatusUnused:
			line("status", "UNUSED (not assumed and no session calls since %s)", since.Format(time.RFC3339))
		case audit.StatusTooNew:
			line("status", "not judged (created %s, during the window)", f.RoleCreated.UTC().Format(time.RFC3339))
		default:
			line("status", "used (last %s)", f.LastUsed.UTC().Format(time.RFC3339))
		}
		line("used actions", "%s", listOrNone(f.UsedActions))
		if f.Status != audit.StatusTooNew {
			line("unused actions", "%s", listOrNone(f.UnusedActions))
		}
		for _, n := range f.Notes {
			line("note", "%s", n)
		}
		if f.SuggestedPolicy != nil {
			doc, err := json.MarshalIndent(f.SuggestedPolicy, "    ", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "  suggested policy (resources not narrowed: Resource is \"*\"):\n    %s\n", doc)
		}
	}
	if hasSuggestion(findings) {
		fmt.Fprintf(&b, "\nNote: %s.\n", resourcesNotNarrowed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func hasSuggestion(findings []audit.Finding) bool {
	for _, f := range findings {
		if f.SuggestedPolicy != nil {
			return true
		}
	}
	return false
}

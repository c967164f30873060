package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/app"
	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/config"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

// ExitAlerts is the exit status of `irsa audit alerts` when an alert
// fired (it shares 3 with simulate --exit-code's denial).
const ExitAlerts = ExitDenied

func newAuditAlertsCommand() *cobra.Command {
	var f auditFlags
	var cidrs []string
	var at string
	r := audit.DefaultRules()
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Run the alert rules over the trail and list what they find",
		Long: `Run the built-in alert rules over the audit trail:

  cross-namespace  AssumeRoleWithWebIdentity refused (AccessDenied) to a
                   Kubernetes service account (system:serviceaccount:NS:SA),
                   one alert per role and service account
  outside-cidr     a role assumed (AssumeRole*) from a source address outside
                   every --allowed-cidr (off when none is given)
  token-replay     one web identity token presented from two or more addresses
  volume-anomaly   a role called more in the last --window than the mean plus
                   --sigma standard deviations of its --baseline-windows
                   windows before, and at least --min-count times

The first three look at the last --since. Exits 0 when nothing fires, 3 when
an alert fires.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			switch {
			case r.Since <= 0:
				return usageErrorf("--since must be positive, got %s", r.Since)
			case r.Window <= 0:
				return usageErrorf("--window must be positive, got %s", r.Window)
			case r.BaselineWindows < 1:
				return usageErrorf("--baseline-windows must be at least 1, got %d", r.BaselineWindows)
			case r.Sigma <= 0:
				return usageErrorf("--sigma must be positive, got %g", r.Sigma)
			case r.MinCount < 1:
				return usageErrorf("--min-count must be at least 1, got %d", r.MinCount)
			}
			r.AllowedCIDRs = nil
			for _, c := range cidrs {
				p, err := audit.ParseNetwork(c)
				if err != nil {
					return usageErrorf("--allowed-cidr %q: %v", c, err)
				}
				r.AllowedCIDRs = append(r.AllowedCIDRs, p)
			}
			now := time.Now().UTC()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageErrorf("--at must be an RFC 3339 time: %v", err)
				}
				now = t.UTC()
			}
			ctx := cmd.Context()
			st, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			events, err := alertEvents(ctx, st, now.Add(-r.Span()), now)
			if err != nil {
				return err
			}
			alerts := audit.Detect(events, r, now)
			w := cmd.OutOrStdout()
			if f.output == "json" {
				err = writeAlertsJSON(w, alerts)
			} else {
				err = writeAlertsTable(w, alerts, r.Since, len(events))
			}
			if err != nil {
				return err
			}
			if len(alerts) > 0 {
				return silentExit(ExitAlerts)
			}
			return nil
		},
	}
	f.register(cmd, true)
	fl := cmd.Flags()
	fl.DurationVar(&r.Since, "since", r.Since, "how far back the cross-namespace, outside-cidr and token-replay rules look")
	fl.StringArrayVar(&cidrs, "allowed-cidr", nil, "a network roles may be assumed from (CIDR or address; repeat for several); none turns outside-cidr off")
	fl.DurationVar(&r.Window, "window", r.Window, "volume-anomaly: the length of a window")
	fl.IntVar(&r.BaselineWindows, "baseline-windows", r.BaselineWindows, "volume-anomaly: how many windows before the last make the baseline")
	fl.Float64Var(&r.Sigma, "sigma", r.Sigma, "volume-anomaly: standard deviations above the baseline's mean")
	fl.IntVar(&r.MinCount, "min-count", r.MinCount, "volume-anomaly: the fewest calls in the last window that can alert")
	fl.StringVar(&at, "at", "", "evaluate as of this RFC 3339 time instead of now")
	return cmd
}

// alertEvents reads the events of (from, to] from the trail. Records are
// in sequence order, not time order (imported logs can be older than what
// was recorded before them), so it reads every record from the first one
// of the period on and keeps those in it.
func alertEvents(ctx context.Context, st *sqlstore.Store, from, to time.Time) ([]audit.Event, error) {
	after, err := st.AuditStart(ctx, from)
	if err != nil {
		return nil, err
	}
	var out []audit.Event
	for {
		recs, err := st.ListAudit(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			after = rec.Seq
			if !rec.EventTime.After(from) || rec.EventTime.After(to) {
				continue
			}
			e, err := audit.AlertEvent(rec)
			if err != nil {
				return nil, fmt.Errorf("audit record %d: %w", rec.Seq, err)
			}
			out = append(out, e)
		}
		if len(recs) < 1000 {
			return out, nil
		}
	}
}

func writeAlertsJSON(w io.Writer, alerts []audit.Alert) error {
	if alerts == nil {
		alerts = []audit.Alert{}
	}
	b, err := json.MarshalIndent(alerts, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func writeAlertsTable(w io.Writer, alerts []audit.Alert, since time.Duration, events int) error {
	if len(alerts) == 0 {
		_, err := fmt.Fprintf(w, "no alerts (%d events read, rules over the last %s)\n", events, since)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tRULE\tCOUNT\tFIRST\tLAST\tMESSAGE")
	for _, a := range alerts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", strings.ToUpper(a.Severity), a.Rule, a.Count,
			a.First.Format(time.RFC3339), a.Last.Format(time.RFC3339), strings.NewReplacer("\t", " ", "\n", " ").Replace(a.Message))
	}
	return tw.Flush()
}

// serverAlerts is the alert monitor `irsa up` runs: the config file's
// audit section (defaults without one), its interval replaced by
// --alert-interval when that is given; nil when the interval is 0.
func serverAlerts(doc *config.File, interval time.Duration, intervalSet bool) (*app.AlertsConfig, error) {
	var section *config.Audit
	if doc != nil {
		section = doc.Audit
	}
	s, err := section.Settings()
	if err != nil {
		return nil, &exitError{code: ExitInvalid, err: err}
	}
	if intervalSet {
		if interval < 0 || (interval > 0 && interval < time.Second) {
			return nil, usageErrorf("--alert-interval must be at least 1s, or 0 to turn the alerts off, got %s", interval)
		}
		s.Interval = interval
	}
	if s.Interval <= 0 {
		return nil, nil
	}
	c := &app.AlertsConfig{Interval: s.Interval, Rules: s.Rules, MaxEvents: s.MaxEvents}
	if s.WebhookURL != "" {
		c.Webhook = &app.WebhookConfig{URL: s.WebhookURL, Timeout: s.WebhookTimeout, Retries: s.WebhookRetries}
	}
	return c, nil
}

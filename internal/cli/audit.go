package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

// auditFlags are the flags every `irsa audit` command takes.
type auditFlags struct {
	dataDir  string
	storeDSN string
	output   string
}

func (f *auditFlags) register(cmd *cobra.Command, outputs bool) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", ".irsa", "directory of the embedded store")
	addStoreFlag(cmd, &f.storeDSN)
	if outputs {
		cmd.Flags().StringVar(&f.output, "output", "table", "output format: table or json")
	}
}

func (f *auditFlags) checkOutput() error {
	if f.output != "table" && f.output != "json" {
		return usageErrorf("--output must be table or json, got %q", f.output)
	}
	return nil
}

// open opens the store of --store, or of --data-dir, which must exist
// already, so that a mistyped directory is not mistaken for an empty trail.
func (f *auditFlags) open(ctx context.Context) (*sqlstore.Store, error) {
	return openStore(ctx, f.storeDSN, f.dataDir)
}

func newAuditCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Query, verify, follow, export and import the audit trail",
		Long: `Every STS and IAM call irsa serves is recorded, before its answer is sent,
as a CloudTrail-shaped event in a hash chain. These commands read that trail.`,
		Args: cobra.NoArgs,
		RunE: helpOnly,
	}
	cmd.AddCommand(newAuditQueryCommand(), newAuditVerifyCommand(), newAuditTailCommand(env),
		newAuditExportCommand(), newAuditImportCommand())
	cmd.AddCommand(newAuditAlertsCommand())
	return cmd
}

func newAuditQueryCommand() *cobra.Command {
	var f auditFlags
	var maxRows int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "query SQL",
		Short: "Run a read-only SQL query over the events view",
		Long: `Run one SELECT (or WITH … SELECT) statement, read-only, over the view
"events", which has one column per top-level CloudTrail field named as
CloudTrail names it (eventTime, eventName, errorCode, sourceIPAddress,
userIdentity as JSON, …). SQLite's json_extract reads nested fields:

  irsa audit query "SELECT eventTime, json_extract(userIdentity, '$.userName')
    FROM events WHERE eventName = 'AssumeRoleWithWebIdentity'"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			if maxRows < 1 {
				return usageErrorf("--max-rows must be at least 1, got %d", maxRows)
			}
			st, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			cols, rows, err := st.QueryAudit(cmd.Context(), args[0], maxRows, timeout)
			cut := errors.Is(err, sqlstore.ErrRowLimit)
			if err != nil && !cut {
				return &exitError{code: ExitInvalid, err: err}
			}
			if f.output == "json" {
				err = writeRowsJSON(cmd.OutOrStdout(), cols, rows)
			} else {
				err = writeRowsTable(cmd.OutOrStdout(), cols, rows)
			}
			if cut {
				fmt.Fprintf(cmd.ErrOrStderr(), "irsa: the query has more rows than --max-rows; only the first %d are shown\n", maxRows)
			}
			return err
		},
	}
	f.register(cmd, true)
	cmd.Flags().IntVar(&maxRows, "max-rows", 1000, "stop after this many rows")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "stop the query after this long")
	return cmd
}

// cell renders one SQL value as text.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(x)
	case string:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func writeRowsTable(w io.Writer, cols []string, rows [][]any) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, v := range r {
			// A tab or newline inside a value would break the columns.
			cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(cell(v))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// writeRowsJSON writes the rows as a JSON array of objects whose keys are
// the columns, in column order. A text value that is a JSON object or
// array (userIdentity, requestParameters, …) is embedded as JSON.
func writeRowsJSON(w io.Writer, cols []string, rows [][]any) error {
	var b bytes.Buffer
	b.WriteString("[")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for j, v := range r {
			if j > 0 {
				b.WriteString(", ")
			}
			k, _ := json.Marshal(cols[j])
			b.Write(k)
			b.WriteString(": ")
			b.Write(jsonValue(v))
		}
		b.WriteString("}")
	}
	if len(rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := w.Write(b.Bytes())
	return err
}

func jsonValue(v any) []byte {
	var s string
	switch x := v.(type) {
	case nil:
		return []byte("null")
	case []byte:
		s = string(x)
	case string:
		s = x
	case time.Time:
		s = x.UTC().Format(time.RFC3339Nano)
	default:
		if b, err := json.Marshal(x); err == nil {
			return b
		}
		s = fmt.Sprint(x)
	}
	if t := strings.TrimSpace(s); (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
		var c bytes.Buffer
		if json.Compact(&c, []byte(t)) == nil {
			return c.Bytes()
		}
	}
	b, _ := json.Marshal(s)
	return b
}

func newAuditVerifyCommand() *cobra.Command {
	var f auditFlags
	var checkpoint bool
	var exportDir, publicKey string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain and the signed checkpoints of the trail",
		Long: `Walk the whole trail recomputing its hash chain, and compare it with every
signed checkpoint stored. Reports records modified, deleted (gaps), moved,
the tail cut after a checkpoint, and a chain rebuilt before one. Exits 1 when
anything is found. With --checkpoint, a trail that passes gets a new signed
checkpoint of its last record, so that a later cut is detected.

With --export DIR, check an export (irsa audit export) instead: every digest's
signature, the chain of digests, and every log file against its digest's
hash; reports log files changed, deleted or added, and digests changed,
deleted or moved. The key is the store's (--data-dir or --store), or
--public-key (the key export prints), so an export can be checked away from
the server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			ctx := cmd.Context()
			if exportDir != "" {
				return runVerifyExport(ctx, cmd.OutOrStdout(), &f, exportDir, publicKey)
			}
			if publicKey != "" {
				return usageErrorf("--public-key goes with --export")
			}
			st, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := audit.VerifyStore(ctx, st)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.output == "json" {
				b, _ := json.MarshalIndent(rep, "", "  ")
				fmt.Fprintf(w, "%s\n", b)
			} else {
				for _, p := range rep.Problems {
					fmt.Fprintf(w, "%s\t%s\n", strings.ToUpper(p.Kind), p.Message)
				}
				verdict := "OK"
				if !rep.OK() {
					verdict = fmt.Sprintf("FAILED: %d problems", len(rep.Problems))
				}
				fmt.Fprintf(w, "%s: %d records (%d to %d), %d checkpoints\n", verdict, rep.Records, rep.FirstSeq, rep.LastSeq, rep.Checkpoints)
			}
			if !rep.OK() {
				return silentExit(ExitInvalid)
			}
			if checkpoint {
				c, err := audit.WriteCheckpoint(ctx, st, nil, time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "checkpoint of record %d signed\n", c.Seq)
			}
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&checkpoint, "checkpoint", false, "when the trail passes, sign and store a checkpoint of its last record")
	cmd.Flags().StringVar(&exportDir, "export", "", "check the digests and log files of this export directory instead of the trail")
	cmd.Flags().StringVar(&publicKey, "public-key", "", "with --export: the digest key (as irsa audit export prints it) instead of the store's")
	return cmd
}

func newAuditTailCommand(env Env) *cobra.Command {
	var f auditFlags
	var last int
	var follow bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print the latest events, and with --follow the new ones as they are recorded",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			if last < 0 {
				return usageErrorf("--lines must not be negative, got %d", last)
			}
			ctx := cmd.Context()
			st, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			head, err := lastSeq(ctx, st)
			if err != nil {
				return err
			}
			after := max(head-int64(last), 0)
			w := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			if f.output == "table" {
				fmt.Fprintln(tw, "SEQ\tEVENT TIME\tSOURCE\tEVENT\tERROR\tSOURCE IP\tPRINCIPAL\tROLE")
			}
			for {
				recs, err := st.ListAudit(ctx, after, 500)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				for _, r := range recs {
					if f.output == "json" {
						fmt.Fprintf(w, "%s\n", r.Event)
					} else {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.EventTime.UTC().Format(time.RFC3339), r.EventSource,
							r.EventName, dash(r.ErrorCode), dash(r.SourceIP), dash(r.Principal), dash(r.RoleARN))
					}
					after = r.Seq
				}
				_ = tw.Flush()
				if len(recs) == 500 {
					continue
				}
				if !follow {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	f.register(cmd, true)
	cmd.Flags().IntVarP(&last, "lines", "n", 20, "how many of the latest events to print first")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing events as they are recorded, until interrupted")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "with --follow, how often to look for new events")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// lastSeq is the sequence number of the newest record (0 for none).
func lastSeq(ctx context.Context, st *sqlstore.Store) (int64, error) {
	_, rows, err := st.QueryAudit(ctx, "SELECT max(seq) FROM events", 1, 0)
	if err != nil {
		return 0, err
	}
	if len(rows) == 1 && len(rows[0]) == 1 {
		if n, ok := rows[0][0].(int64); ok {
			return n, nil
		}
	}
	return 0, nil
}

func newAuditExportCommand() *cobra.Command {
	var f auditFlags
	var out string
	var perFile int
	var after int64
	cmd := &cobra.Command{
		Use:   "export --out DIR",
		Short: "Write the trail as CloudTrail log files (gzipped JSON, one Records array per file)",
		Long: `Write the events as CloudTrail log files: gzipped JSON objects {"Records":[…]},
named like CloudTrail names them
(ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz), so jq, Athena and
other CloudTrail tools read them. Each event is written byte for byte as it is
stored in the hash chain.

Each run also writes a CloudTrail-style digest file under
DIR/CloudTrail-Digest/: the SHA-256 of every log file it wrote, chained to the
previous digest, signed with the trail's Ed25519 checkpoint key (CloudTrail
uses SHA256withRSA), the signature in NAME.sig beside it. irsa audit verify
--export DIR checks them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageErrorf("--out is required")
			}
			if perFile < 1 {
				return usageErrorf("--records-per-file must be at least 1, got %d", perFile)
			}
			ctx := cmd.Context()
			st, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := os.MkdirAll(out, 0o750); err != nil {
				return usageErrorf("creating %s: %v", out, err)
			}
			files, records := 0, 0
			digest := audit.DigestInput{Now: exportTime()}
			for {
				recs, err := st.ListAudit(ctx, after, perFile)
				if err != nil {
					return err
				}
				if len(recs) == 0 {
					break
				}
				name, entry, err := writeTrailFile(out, recs)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
				if files == 0 {
					digest.AccountID, digest.Region = recordAccountRegion(recs[0])
				}
				digest.Files = append(digest.Files, entry)
				files++
				records += len(recs)
				after = recs[len(recs)-1].Seq
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d events in %d files to %s\n", records, files, out)
			return writeExportDigest(ctx, cmd.ErrOrStderr(), st, out, digest)
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&out, "out", "", "directory to write the files in (required)")
	cmd.Flags().IntVar(&perFile, "records-per-file", 1000, "events per file")
	cmd.Flags().Int64Var(&after, "after-seq", 0, "export only the events after this sequence number")
	return cmd
}

// trailFileName names a file as CloudTrail does:
// AccountID_CloudTrail_RegionName_YYYYMMDDTHHmmZ_UniqueString.json.gz. The
// unique string comes from the first record's chain hash, so exporting the
// same records again gives the same name.
func trailFileName(first store.AuditRecord) string {
	account := first.AccountID
	if account == "" {
		account = "000000000000"
	}
	var head struct {
		AWSRegion string `json:"awsRegion"`
	}
	_ = json.Unmarshal(first.Event, &head)
	region := head.AWSRegion
	if region == "" {
		region = "us-east-1"
	}
	unique := hex.EncodeToString(first.Hash)
	if len(unique) > 16 {
		unique = unique[:16]
	}
	return fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", account, region, first.EventTime.UTC().Format("20060102T1504Z"), unique)
}

func newAuditImportCommand() *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Append the records of CloudTrail log files (.json or .json.gz) to the trail",
		Long: `Read CloudTrail log files, as AWS delivers them to S3 ({"Records":[…]},
gzipped or not), and append every record to the trail with its own fields, so
the same queries run over AWS's logs and irsa's own. Records are chained like
irsa's events; each is stored byte for byte (compacted).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var all []store.AuditRecord
			for _, name := range args {
				recs, err := readTrailFile(name)
				if err != nil {
					return usageErrorf("%s: %v", name, err)
				}
				all = append(all, recs...)
			}
			ctx := cmd.Context()
			st, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			for len(all) > 0 {
				n := min(len(all), 500)
				if _, err := st.AppendAudit(ctx, all[:n]); err != nil {
					return err
				}
				all = all[n:]
			}
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

// readTrailFile reads one CloudTrail log file, gzipped or not.
func readTrailFile(name string) ([]store.AuditRecord, error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		if raw, err = io.ReadAll(io.LimitReader(zr, 1<<30)); err != nil {
			return nil, fmt.Errorf("decompressing: %w", err)
		}
	}
	var file struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("not a CloudTrail log file: %w", err)
	}
	if file.Records == nil {
		return nil, errors.New(`not a CloudTrail log file: no "Records" array`)
	}
	out := make([]store.AuditRecord, 0, len(file.Records))
	for i, r := range file.Records {
		rec, err := audit.ParseRecord(r)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

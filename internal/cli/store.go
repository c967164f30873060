package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/irsa-dev/irsa/internal/app"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

// storeFlagUsage describes --store, which every command that opens the
// store takes: PostgreSQL instead of the SQLite file in --data-dir.
const storeFlagUsage = "PostgreSQL database to use instead of the SQLite store in --data-dir: a postgres:// URL " +
	"(keep the password out of it: PGPASSWORD and ~/.pgpass are read as by psql)"

// addStoreFlag registers --store on cmd.
func addStoreFlag(cmd *cobra.Command, dsn *string) {
	cmd.Flags().StringVar(dsn, "store", "", storeFlagUsage)
}

// openStoreDSN opens the PostgreSQL store of a --store DSN.
func openStoreDSN(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	if !sqlstore.IsPostgresDSN(dsn) {
		return nil, usageErrorf("--store must be a postgres:// or postgresql:// URL")
	}
	st, err := sqlstore.OpenPostgres(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err) // the error names the DSN without its password
	}
	return st, nil
}

// openStore opens the store a tool reads: the PostgreSQL database of dsn,
// or the SQLite store in dataDir, which must exist already, so that a
// mistyped directory is not mistaken for an empty store.
func openStore(ctx context.Context, dsn, dataDir string) (*sqlstore.Store, error) {
	if dsn != "" {
		return openStoreDSN(ctx, dsn)
	}
	path := filepath.Join(dataDir, "irsa.db")
	if _, err := os.Stat(path); err != nil {
		return nil, usageErrorf("no irsa store in %s: %v (start irsa up first, or pass --data-dir or --store)", dataDir, err)
	}
	st, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening the store in %s: %w", dataDir, err)
	}
	return st, nil
}

// openApp composes the server over the store of dsn, or, without one, over
// the SQLite store in cfg.DataDir (app.New). With a DSN, cfg.DataDir still
// holds the root credentials file.
func openApp(ctx context.Context, cfg app.Config, dsn string) (*app.App, error) {
	if dsn == "" {
		return app.New(ctx, cfg)
	}
	st, err := openStoreDSN(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, errors.Join(fmt.Errorf("creating data directory %s: %w", cfg.DataDir, err), st.Close())
	}
	a, err := app.NewWithStore(ctx, cfg, st)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	return a, nil
}

// storeArgs are the flags that name the store to another irsa command, for
// the lines printed to paste: the DSN without its password (PGPASSWORD or
// ~/.pgpass supply it), or the data directory.
func storeArgs(dsn, dataDir string) string {
	if dsn == "" {
		return "--data-dir " + dataDir
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "--store DSN"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	if q := u.Query(); q.Has("password") {
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return "--store '" + u.String() + "'"
}

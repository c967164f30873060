package cli

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

func newKeysCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the built-in issuer's signing keys",
		Args:  cobra.NoArgs,
		RunE:  helpOnly,
	}
	var f serverFlags
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Publish a new signing key and retire the current one with overlap",
		Long: `Publish a new signing key for the built-in issuer. The new key is in the JWKS
at once and signs after 10 minutes, so verifiers that cache the key set learn
it first; the current key stops signing then and stays published for 48 hours,
longer than any token it signed lives. Keys past that are deleted. Every
replica sharing the store follows within seconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(env, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				return err
			}
			a, err := openApp(cmd.Context(), cfg, f.storeDSN)
			if err != nil {
				return err
			}
			defer a.Close()
			kid, err := a.Keys.Rotate(cmd.Context())
			if err != nil {
				return err
			}
			set, err := a.Keys.KeySet(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "published key %s; it signs in 10 minutes. The key set now holds %d keys.\n", kid, len(set.Keys))
			return nil
		},
	}
	f.register(rotate)
	cmd.AddCommand(rotate)
	return cmd
}

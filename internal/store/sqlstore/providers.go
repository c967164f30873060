package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/irsa-dev/irsa/internal/store"
)

var (
	sqlInsertProvider = stmt(`INSERT INTO oidc_providers (` + providerColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)`)
	sqlGetProvider    = stmt(`SELECT ` + providerColumns + ` FROM oidc_providers WHERE arn = $1`)
	sqlListProviders  = stmt(`SELECT ` + providerColumns + ` FROM oidc_providers WHERE account_id = $1`)
	sqlUpdateProvider = stmt(`UPDATE oidc_providers SET url = $1, client_ids = $2, thumbprints = $3, tags = $4, created_at = $5, version = version + 1
		WHERE arn = $6 AND version = $7`)
	sqlDeleteProvider = stmt(`DELETE FROM oidc_providers WHERE arn = $1`)
)

const providerColumns = `arn, account_id, url, client_ids, thumbprints, tags, created_at, version`

func scanProvider(sc interface{ Scan(...any) error }) (store.OIDCProvider, error) {
	var p store.OIDCProvider
	var clientIDs, thumbprints, tags string
	var created sql.NullInt64
	if err := sc.Scan(&p.ARN, &p.AccountID, &p.URL, &clientIDs, &thumbprints, &tags, &created, &p.Version); err != nil {
		return store.OIDCProvider{}, err
	}
	var err error
	if p.ClientIDs, err = decList[string]("client_ids", clientIDs); err != nil {
		return store.OIDCProvider{}, err
	}
	if p.Thumbprints, err = decList[string]("thumbprints", thumbprints); err != nil {
		return store.OIDCProvider{}, err
	}
	if p.Tags, err = decList[store.Tag]("tags", tags); err != nil {
		return store.OIDCProvider{}, err
	}
	p.CreatedAt = decTime(created)
	return p, nil
}

// providerLists encodes the JSON columns of p.
func providerLists(p store.OIDCProvider) (clientIDs, thumbprints, tags string, err error) {
	if clientIDs, err = encList(p.ClientIDs); err != nil {
		return
	}
	if thumbprints, err = encList(p.Thumbprints); err != nil {
		return
	}
	tags, err = encList(p.Tags)
	return
}

// CreateOIDCProvider implements store.OIDCProviders.
func (s *Store) CreateOIDCProvider(ctx context.Context, p store.OIDCProvider) error {
	op := "create OIDC provider " + p.ARN
	clientIDs, thumbprints, tags, err := providerLists(p)
	if err != nil {
		return failed(op, err)
	}
	_, err = s.exec(ctx, op,
		sqlInsertProvider,
		p.ARN, p.AccountID, p.URL, clientIDs, thumbprints, tags, encTime(p.CreatedAt))
	return err
}

func getProvider(ctx context.Context, q querier, arn string) (store.OIDCProvider, error) {
	return scanProvider(q.QueryRowContext(ctx, sqlGetProvider, arn))
}

// GetOIDCProvider implements store.OIDCProviders.
func (s *Store) GetOIDCProvider(ctx context.Context, arn string) (store.OIDCProvider, error) {
	p, err := getProvider(ctx, s.reader(), arn)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.OIDCProvider{}, notFound("OIDC provider", arn)
	case err != nil:
		return store.OIDCProvider{}, failed("get OIDC provider "+arn, err)
	}
	return p, nil
}

// ListOIDCProviders implements store.OIDCProviders.
func (s *Store) ListOIDCProviders(ctx context.Context, accountID string) ([]store.OIDCProvider, error) {
	op := "list OIDC providers of " + accountID
	rows, err := s.reader().QueryContext(ctx, sqlListProviders, accountID)
	if err != nil {
		return nil, failed(op, err)
	}
	var out []store.OIDCProvider
	err = scanAll(rows, func() error {
		p, err := scanProvider(rows)
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, failed(op, err)
	}
	slices.SortFunc(out, func(a, b store.OIDCProvider) int { return cmp.Compare(a.ARN, b.ARN) })
	return out, nil
}

// UpdateOIDCProvider implements store.OIDCProviders.
func (s *Store) UpdateOIDCProvider(ctx context.Context, arn string, fn func(*store.OIDCProvider) error) (store.OIDCProvider, error) {
	op := "update OIDC provider " + arn
	var out store.OIDCProvider
	err := s.writeTx(ctx, op, func(q querier) error {
		cur, err := getProvider(ctx, q, arn)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("OIDC provider", arn)
		case err != nil:
			return failed(op, err)
		}
		given := cloneProvider(cur)
		if err := fn(&given); err != nil {
			return err
		}
		next := cloneProvider(given) // what fn was given stays with the caller
		switch {
		case next.ARN != cur.ARN:
			return keyChanged("OIDC provider", arn, "ARN")
		case next.AccountID != cur.AccountID:
			return keyChanged("OIDC provider", arn, "AccountID")
		}
		if err := saveProvider(ctx, q, cur, &next); err != nil {
			return failed(op, err)
		}
		out = next
		return nil
	})
	if err != nil {
		return store.OIDCProvider{}, err
	}
	return out, nil
}

// saveProvider writes next over cur, which was read in the same transaction
// q, provided the stored version is still cur's: otherwise nothing is
// written and the error wraps store.ErrConflict. next is normalized and gets
// its new version.
func saveProvider(ctx context.Context, q querier, cur store.OIDCProvider, next *store.OIDCProvider) error {
	next.ClientIDs = nilIfEmpty(next.ClientIDs)
	next.Thumbprints = nilIfEmpty(next.Thumbprints)
	next.Tags = nilIfEmpty(next.Tags)
	next.CreatedAt = normTime(next.CreatedAt)
	clientIDs, thumbprints, tags, err := providerLists(*next)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, sqlUpdateProvider,
		next.URL, clientIDs, thumbprints, tags, encTime(next.CreatedAt), cur.ARN, cur.Version)
	if err != nil {
		return err
	}
	if err := guarded(res, "OIDC provider", cur.ARN); err != nil {
		return err
	}
	next.Version = cur.Version + 1
	return nil
}

// DeleteOIDCProvider implements store.OIDCProviders.
func (s *Store) DeleteOIDCProvider(ctx context.Context, arn string) error {
	op := "delete OIDC provider " + arn
	res, err := s.exec(ctx, op, sqlDeleteProvider, arn)
	if err != nil {
		return err
	}
	return mustAffect(res, op, notFound("OIDC provider", arn))
}

func cloneProvider(p store.OIDCProvider) store.OIDCProvider {
	p.ClientIDs = slices.Clone(p.ClientIDs)
	p.Thumbprints = slices.Clone(p.Thumbprints)
	p.Tags = slices.Clone(p.Tags)
	return p
}

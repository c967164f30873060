package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/irsa-dev/irsa/internal/store"
)

var (
	sqlInsertAccount         = stmt(`INSERT INTO accounts (id, created_at) VALUES ($1, $2)`)
	sqlGetAccount            = stmt(`SELECT created_at FROM accounts WHERE id = $1`)
	sqlListAccounts          = stmt(`SELECT id, created_at FROM accounts`)
	sqlInsertAccessKey       = stmt(`INSERT INTO access_keys (id, account_id, user_name, secret, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)`)
	sqlGetAccessKey          = stmt(`SELECT ` + accessKeyColumns + ` FROM access_keys WHERE id = $1`)
	sqlListAccessKeys        = stmt(`SELECT ` + accessKeyColumns + ` FROM access_keys WHERE account_id = $1`)
	sqlDeleteAccessKey       = stmt(`DELETE FROM access_keys WHERE id = $1`)
	sqlInsertSettingIfAbsent = stmt(`INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`)
	sqlGetSetting            = stmt(`SELECT value FROM settings WHERE name = $1`)
	sqlPutSigningKey         = stmt(`INSERT INTO signing_keys (id, algorithm, private_key, publish_at, active_at, retire_at, expire_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET algorithm = excluded.algorithm, private_key = excluded.private_key,
		publish_at = excluded.publish_at, active_at = excluded.active_at, retire_at = excluded.retire_at,
		expire_at = excluded.expire_at, created_at = excluded.created_at`)
	sqlListSigningKeys  = stmt(`SELECT id, algorithm, private_key, publish_at, active_at, retire_at, expire_at, created_at FROM signing_keys`)
	sqlDeleteSigningKey = stmt(`DELETE FROM signing_keys WHERE id = $1`)
	sqlPutSealingKey    = stmt(`INSERT INTO sealing_keys (id, key, created_at, retire_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET key = excluded.key, created_at = excluded.created_at, retire_at = excluded.retire_at`)
	sqlListSealingKeys = stmt(`SELECT id, key, created_at, retire_at FROM sealing_keys`)
)

// CreateAccount implements store.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := s.exec(ctx, "create account "+a.ID,
		sqlInsertAccount, a.ID, encTime(a.CreatedAt))
	return err
}

// GetAccount implements store.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (store.Account, error) {
	a := store.Account{ID: id}
	var created sql.NullInt64
	err := s.reader().QueryRowContext(ctx, sqlGetAccount, id).Scan(&created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Account{}, notFound("account", id)
	case err != nil:
		return store.Account{}, failed("get account "+id, err)
	}
	a.CreatedAt = decTime(created)
	return a, nil
}

// ListAccounts implements store.Accounts.
func (s *Store) ListAccounts(ctx context.Context) ([]store.Account, error) {
	const op = "list accounts"
	rows, err := s.reader().QueryContext(ctx, sqlListAccounts)
	if err != nil {
		return nil, failed(op, err)
	}
	var out []store.Account
	err = scanAll(rows, func() error {
		var a store.Account
		var created sql.NullInt64
		if err := rows.Scan(&a.ID, &created); err != nil {
			return err
		}
		a.CreatedAt = decTime(created)
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, failed(op, err)
	}
	slices.SortFunc(out, func(a, b store.Account) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// CreateAccessKey implements store.AccessKeys.
func (s *Store) CreateAccessKey(ctx context.Context, k store.AccessKey) error {
	_, err := s.exec(ctx, "create access key "+k.ID,
		sqlInsertAccessKey,
		k.ID, k.AccountID, k.UserName, k.Secret, k.Status, encTime(k.CreatedAt))
	return err
}

const accessKeyColumns = `id, account_id, user_name, secret, status, created_at`

func scanAccessKey(sc interface{ Scan(...any) error }) (store.AccessKey, error) {
	var k store.AccessKey
	var created sql.NullInt64
	if err := sc.Scan(&k.ID, &k.AccountID, &k.UserName, &k.Secret, &k.Status, &created); err != nil {
		return store.AccessKey{}, err
	}
	k.CreatedAt = decTime(created)
	return k, nil
}

// GetAccessKey implements store.AccessKeys.
func (s *Store) GetAccessKey(ctx context.Context, id string) (store.AccessKey, error) {
	k, err := scanAccessKey(s.reader().QueryRowContext(ctx, sqlGetAccessKey, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.AccessKey{}, notFound("access key", id)
	case err != nil:
		return store.AccessKey{}, failed("get access key "+id, err)
	}
	return k, nil
}

// ListAccessKeys implements store.AccessKeys.
func (s *Store) ListAccessKeys(ctx context.Context, accountID string) ([]store.AccessKey, error) {
	op := "list access keys of " + accountID
	rows, err := s.reader().QueryContext(ctx, sqlListAccessKeys, accountID)
	if err != nil {
		return nil, failed(op, err)
	}
	var out []store.AccessKey
	err = scanAll(rows, func() error {
		k, err := scanAccessKey(rows)
		out = append(out, k)
		return err
	})
	if err != nil {
		return nil, failed(op, err)
	}
	slices.SortFunc(out, func(a, b store.AccessKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteAccessKey implements store.AccessKeys.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	op := "delete access key " + id
	res, err := s.exec(ctx, op, sqlDeleteAccessKey, id)
	if err != nil {
		return err
	}
	return mustAffect(res, op, notFound("access key", id))
}

// GetSetting implements store.Settings.
func (s *Store) GetSetting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.reader().QueryRowContext(ctx, sqlGetSetting, name).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", notFound("setting", name)
	case err != nil:
		return "", failed("get setting "+name, err)
	}
	return v, nil
}

// PutSettingIfAbsent implements store.Settings. The insert and the read
// share one write transaction, so the value read is the one in force.
func (s *Store) PutSettingIfAbsent(ctx context.Context, name, value string) (string, error) {
	op := "put setting " + name
	var v string
	err := s.writeTx(ctx, op, func(q querier) error {
		if _, err := q.ExecContext(ctx, sqlInsertSettingIfAbsent, name, value); err != nil {
			return failed(op, err)
		}
		if err := q.QueryRowContext(ctx, sqlGetSetting, name).Scan(&v); err != nil {
			return failed(op, err)
		}
		return nil
	})
	return v, err
}

// PutSigningKey implements store.Keys.
func (s *Store) PutSigningKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.exec(ctx, "put signing key "+k.ID,
		sqlPutSigningKey,
		k.ID, k.Algorithm, encBytes(k.PrivateKey), encTime(k.PublishAt), encTime(k.ActiveAt),
		encTime(k.RetireAt), encTime(k.ExpireAt), encTime(k.CreatedAt))
	return err
}

// ListSigningKeys implements store.Keys.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	const op = "list signing keys"
	rows, err := s.reader().QueryContext(ctx,
		sqlListSigningKeys)
	if err != nil {
		return nil, failed(op, err)
	}
	var out []store.SigningKey
	err = scanAll(rows, func() error {
		var k store.SigningKey
		var publish, active, retire, expire, created sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &publish, &active, &retire, &expire, &created); err != nil {
			return err
		}
		k.PrivateKey = nilIfEmpty(k.PrivateKey)
		k.PublishAt, k.ActiveAt, k.RetireAt = decTime(publish), decTime(active), decTime(retire)
		k.ExpireAt, k.CreatedAt = decTime(expire), decTime(created)
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, failed(op, err)
	}
	slices.SortFunc(out, func(a, b store.SigningKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteSigningKey implements store.Keys.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	op := "delete signing key " + id
	res, err := s.exec(ctx, op, sqlDeleteSigningKey, id)
	if err != nil {
		return err
	}
	return mustAffect(res, op, notFound("signing key", id))
}

// PutSealingKey implements store.Keys.
func (s *Store) PutSealingKey(ctx context.Context, k store.SealingKey) error {
	_, err := s.exec(ctx, "put sealing key "+k.ID,
		sqlPutSealingKey,
		k.ID, encBytes(k.Key), encTime(k.CreatedAt), encTime(k.RetireAt))
	return err
}

// ListSealingKeys implements store.Keys.
func (s *Store) ListSealingKeys(ctx context.Context) ([]store.SealingKey, error) {
	const op = "list sealing keys"
	rows, err := s.reader().QueryContext(ctx, sqlListSealingKeys)
	if err != nil {
		return nil, failed(op, err)
	}
	var out []store.SealingKey
	err = scanAll(rows, func() error {
		var k store.SealingKey
		var created, retire sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Key, &created, &retire); err != nil {
			return err
		}
		k.Key = nilIfEmpty(k.Key)
		k.CreatedAt, k.RetireAt = decTime(created), decTime(retire)
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, failed(op, err)
	}
	slices.SortFunc(out, func(a, b store.SealingKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// scanAll calls each for every row, then closes rows and reports the first
// error.
func scanAll(rows *sql.Rows, each func() error) error {
	defer rows.Close() //nolint:errcheck // rows.Err reports what matters
	for rows.Next() {
		if err := each(); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rows: %w", err)
	}
	return nil
}

package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/irsa-dev/irsa/internal/store"
)

var (
	sqlGetPolicy           = stmt(`SELECT ` + policyColumns + ` FROM managed_policies WHERE arn = $1`)
	sqlGetPolicyVersions   = stmt(`SELECT version_id, document, created_at FROM policy_versions WHERE policy_arn = $1 ORDER BY position`)
	sqlInsertPolicyVersion = stmt(`INSERT INTO policy_versions (policy_arn, version_id, position, document, created_at) VALUES ($1, $2, $3, $4, $5)`)
	sqlInsertPolicy        = stmt(`INSERT INTO managed_policies (name_lower, ` + policyColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)`)
	sqlListPolicies       = stmt(`SELECT ` + policyColumns + ` FROM managed_policies WHERE ` + pathPrefixMatch)
	sqlListPolicyVersions = stmt(`SELECT policy_arn, version_id, document, created_at FROM policy_versions
		WHERE policy_arn IN (SELECT arn FROM managed_policies WHERE ` + pathPrefixMatch + `) ORDER BY position`)
	sqlUpdatePolicy = stmt(`UPDATE managed_policies SET path = $1, id = $2, description = $3,
		default_version = $4, next_version = $5, attachment_count = $6, tags = $7, created_at = $8,
		updated_at = $9, version = version + 1
		WHERE arn = $10 AND version = $11`)
	sqlDeletePolicyVersions = stmt(`DELETE FROM policy_versions WHERE policy_arn = $1`)
	sqlDeletePolicy         = stmt(`DELETE FROM managed_policies WHERE arn = $1`)
)

// Managed policies live in managed_policies (the scalars and the tags as
// JSON) and policy_versions (position keeps the order of Versions), keyed by
// ARN.

const policyColumns = `arn, account_id, name, path, id, description, default_version, next_version,
	attachment_count, tags, created_at, updated_at, version`

func scanPolicy(sc interface{ Scan(...any) error }) (store.ManagedPolicy, error) {
	var p store.ManagedPolicy
	var tags string
	var created, updated sql.NullInt64
	if err := sc.Scan(&p.ARN, &p.AccountID, &p.Name, &p.Path, &p.ID, &p.Description, &p.DefaultVersion,
		&p.NextVersion, &p.AttachmentCount, &tags, &created, &updated, &p.Version); err != nil {
		return store.ManagedPolicy{}, err
	}
	var err error
	if p.Tags, err = decList[store.Tag]("tags", tags); err != nil {
		return store.ManagedPolicy{}, err
	}
	p.CreatedAt, p.UpdatedAt = decTime(created), decTime(updated)
	return p, nil
}

// normPolicy makes p what reading it back would give.
func normPolicy(p *store.ManagedPolicy) {
	p.Tags = nilIfEmpty(p.Tags)
	p.Versions = nilIfEmpty(p.Versions)
	for i := range p.Versions {
		p.Versions[i].CreatedAt = normTime(p.Versions[i].CreatedAt)
	}
	p.CreatedAt, p.UpdatedAt = normTime(p.CreatedAt), normTime(p.UpdatedAt)
}

func clonePolicy(p store.ManagedPolicy) store.ManagedPolicy {
	p.Tags = slices.Clone(p.Tags)
	p.Versions = slices.Clone(p.Versions)
	return p
}

func sameVersions(a, b []store.PolicyVersion) bool {
	return slices.EqualFunc(a, b, func(x, y store.PolicyVersion) bool {
		return x.ID == y.ID && x.Document == y.Document && x.CreatedAt.Equal(y.CreatedAt)
	})
}

// getPolicy reads a whole policy; sql.ErrNoRows when there is none.
func getPolicy(ctx context.Context, q querier, arn string) (store.ManagedPolicy, error) {
	p, err := scanPolicy(q.QueryRowContext(ctx, sqlGetPolicy, arn))
	if err != nil {
		return store.ManagedPolicy{}, err
	}
	rows, err := q.QueryContext(ctx,
		sqlGetPolicyVersions, arn)
	if err != nil {
		return store.ManagedPolicy{}, err
	}
	err = scanAll(rows, func() error {
		v, err := scanVersion(rows)
		p.Versions = append(p.Versions, v)
		return err
	})
	if err != nil {
		return store.ManagedPolicy{}, err
	}
	normPolicy(&p)
	return p, nil
}

func scanVersion(sc interface{ Scan(...any) error }, extra ...any) (store.PolicyVersion, error) {
	var v store.PolicyVersion
	var created sql.NullInt64
	if err := sc.Scan(append(extra, &v.ID, &v.Document, &created)...); err != nil {
		return store.PolicyVersion{}, err
	}
	v.CreatedAt = decTime(created)
	return v, nil
}

// insertVersions writes the versions of a policy that has none.
func insertVersions(ctx context.Context, q querier, arn string, vs []store.PolicyVersion) error {
	for i, v := range vs {
		if _, err := q.ExecContext(ctx,
			sqlInsertPolicyVersion,
			arn, v.ID, i, v.Document, encTime(v.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// CreatePolicy implements store.ManagedPolicies.
func (s *Store) CreatePolicy(ctx context.Context, p store.ManagedPolicy) error {
	op := "create policy " + p.ARN
	tags, err := encList(p.Tags)
	if err != nil {
		return failed(op, err)
	}
	return s.writeTx(ctx, op, func(q querier) error {
		if _, err := q.ExecContext(ctx, sqlInsertPolicy,
			strings.ToLower(p.Name), p.ARN, p.AccountID, p.Name, p.Path, p.ID, p.Description, p.DefaultVersion,
			p.NextVersion, p.AttachmentCount, tags, encTime(p.CreatedAt), encTime(p.UpdatedAt)); err != nil {
			return s.wrap(op, err)
		}
		if err := insertVersions(ctx, q, p.ARN, p.Versions); err != nil {
			return failed(op, err)
		}
		return nil
	})
}

// GetPolicy implements store.ManagedPolicies.
func (s *Store) GetPolicy(ctx context.Context, arn string) (store.ManagedPolicy, error) {
	op := "get policy " + arn
	var p store.ManagedPolicy
	err := s.readTx(ctx, op, func(q querier) error {
		var err error
		p, err = getPolicy(ctx, q, arn)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("policy", arn)
		case err != nil:
			return failed(op, err)
		}
		return nil
	})
	if err != nil {
		return store.ManagedPolicy{}, err
	}
	return p, nil
}

// ListPolicies implements store.ManagedPolicies.
func (s *Store) ListPolicies(ctx context.Context, accountID, pathPrefix string) ([]store.ManagedPolicy, error) {
	op := "list policies of " + accountID
	args := []any{accountID, utf8.RuneCountInString(pathPrefix), pathPrefix}
	var out []store.ManagedPolicy
	err := s.readTx(ctx, op, func(q querier) error {
		rows, err := q.QueryContext(ctx, sqlListPolicies, args...)
		if err != nil {
			return failed(op, err)
		}
		var ps []store.ManagedPolicy
		err = scanAll(rows, func() error {
			p, err := scanPolicy(rows)
			ps = append(ps, p)
			return err
		})
		if err != nil {
			return failed(op, err)
		}
		slices.SortFunc(ps, func(a, b store.ManagedPolicy) int {
			return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ARN, b.ARN))
		})
		byARN := make(map[string]*store.ManagedPolicy, len(ps))
		for i := range ps {
			byARN[ps[i].ARN] = &ps[i]
		}

		rows, err = q.QueryContext(ctx, sqlListPolicyVersions, args...)
		if err != nil {
			return failed(op, err)
		}
		err = scanAll(rows, func() error {
			var arn string
			v, err := scanVersion(rows, &arn)
			if err != nil {
				return err
			}
			if p := byARN[arn]; p != nil {
				p.Versions = append(p.Versions, v)
			}
			return nil
		})
		if err != nil {
			return failed(op, err)
		}
		for i := range ps {
			normPolicy(&ps[i])
		}
		out = ps
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdatePolicy implements store.ManagedPolicies.
func (s *Store) UpdatePolicy(ctx context.Context, arn string, fn func(*store.ManagedPolicy) error) (store.ManagedPolicy, error) {
	op := "update policy " + arn
	var out store.ManagedPolicy
	err := s.writeTx(ctx, op, func(q querier) error {
		cur, err := getPolicy(ctx, q, arn)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("policy", arn)
		case err != nil:
			return failed(op, err)
		}
		given := clonePolicy(cur)
		if err := fn(&given); err != nil {
			return err
		}
		next := clonePolicy(given) // what fn was given stays with the caller
		switch {
		case next.ARN != cur.ARN:
			return keyChanged("policy", arn, "ARN")
		case next.AccountID != cur.AccountID:
			return keyChanged("policy", arn, "AccountID")
		case next.Name != cur.Name:
			return keyChanged("policy", arn, "Name")
		}
		if err := savePolicy(ctx, q, cur, &next); err != nil {
			return failed(op, err)
		}
		out = next
		return nil
	})
	if err != nil {
		return store.ManagedPolicy{}, err
	}
	return out, nil
}

// savePolicy writes next over cur, which was read in the same transaction
// q, provided the stored version is still cur's: otherwise nothing is
// written and the error wraps store.ErrConflict. next is normalized and gets
// its new version.
func savePolicy(ctx context.Context, q querier, cur store.ManagedPolicy, next *store.ManagedPolicy) error {
	normPolicy(next)
	tags, err := encList(next.Tags)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, sqlUpdatePolicy,
		next.Path, next.ID, next.Description, next.DefaultVersion, next.NextVersion, next.AttachmentCount,
		tags, encTime(next.CreatedAt), encTime(next.UpdatedAt), cur.ARN, cur.Version)
	if err != nil {
		return err
	}
	if err := guarded(res, "policy", cur.ARN); err != nil {
		return err
	}
	if !sameVersions(next.Versions, cur.Versions) {
		if _, err := q.ExecContext(ctx, sqlDeletePolicyVersions, cur.ARN); err != nil {
			return err
		}
		if err := insertVersions(ctx, q, cur.ARN, next.Versions); err != nil {
			return err
		}
	}
	next.Version = cur.Version + 1
	return nil
}

// DeletePolicy implements store.ManagedPolicies. Its versions go with it
// (ON DELETE CASCADE).
func (s *Store) DeletePolicy(ctx context.Context, arn string) error {
	op := "delete policy " + arn
	res, err := s.exec(ctx, op, sqlDeletePolicy, arn)
	if err != nil {
		return err
	}
	return mustAffect(res, op, notFound("policy", arn))
}

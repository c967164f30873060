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
	sqlGetRole            = stmt(`SELECT ` + roleColumns + ` FROM roles WHERE account_id = $1 AND name_lower = $2`)
	sqlGetRoleInline      = stmt(`SELECT name, document FROM role_inline_policies WHERE account_id = $1 AND role_name_lower = $2`)
	sqlGetRoleAttached    = stmt(`SELECT policy_arn FROM role_attached_policies WHERE account_id = $1 AND role_name_lower = $2 ORDER BY position`)
	sqlInsertRoleInline   = stmt(`INSERT INTO role_inline_policies (account_id, role_name_lower, name, document) VALUES ($1, $2, $3, $4)`)
	sqlInsertRoleAttached = stmt(`INSERT INTO role_attached_policies (account_id, role_name_lower, position, policy_arn) VALUES ($1, $2, $3, $4)`)
	sqlInsertRole         = stmt(`INSERT INTO roles (name_lower, ` + roleColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1)`)
	sqlListRoles       = stmt(`SELECT ` + roleColumns + ` FROM roles WHERE ` + pathPrefixMatch)
	sqlListRolesInline = stmt(`SELECT role_name_lower, name, document FROM role_inline_policies
		WHERE account_id = $1 AND role_name_lower IN (SELECT name_lower FROM roles WHERE ` + pathPrefixMatch + `)`)
	sqlListRolesAttached = stmt(`SELECT role_name_lower, policy_arn FROM role_attached_policies
		WHERE account_id = $1 AND role_name_lower IN (SELECT name_lower FROM roles WHERE ` + pathPrefixMatch + `)
		ORDER BY position`)
	sqlUpdateRole = stmt(`UPDATE roles SET path = $1, id = $2, arn = $3, trust_policy = $4, description = $5,
		max_session_duration = $6, boundary_arn = $7, tags = $8, created_at = $9, last_used_at = $10,
		last_used_region = $11, version = version + 1
		WHERE account_id = $12 AND name_lower = $13 AND version = $14`)
	sqlDeleteRoleInline   = stmt(`DELETE FROM role_inline_policies WHERE account_id = $1 AND role_name_lower = $2`)
	sqlDeleteRoleAttached = stmt(`DELETE FROM role_attached_policies WHERE account_id = $1 AND role_name_lower = $2`)
	sqlDeleteRole         = stmt(`DELETE FROM roles WHERE account_id = $1 AND name_lower = $2`)
)

// Roles live in three tables: roles (the scalars and the tags as JSON),
// role_inline_policies and role_attached_policies (position keeps the
// attachment order). All three are keyed by account and lower-cased name.

const roleColumns = `account_id, name, path, id, arn, trust_policy, description, max_session_duration,
	boundary_arn, tags, created_at, last_used_at, last_used_region, version`

func scanRole(sc interface{ Scan(...any) error }) (store.Role, error) {
	var r store.Role
	var tags string
	var created, lastUsed sql.NullInt64
	if err := sc.Scan(&r.AccountID, &r.Name, &r.Path, &r.ID, &r.ARN, &r.TrustPolicy, &r.Description,
		&r.MaxSessionDuration, &r.BoundaryARN, &tags, &created, &lastUsed, &r.LastUsedRegion, &r.Version); err != nil {
		return store.Role{}, err
	}
	var err error
	if r.Tags, err = decList[store.Tag]("tags", tags); err != nil {
		return store.Role{}, err
	}
	r.CreatedAt, r.LastUsedAt = decTime(created), decTime(lastUsed)
	return r, nil
}

// normRole makes r what reading it back would give: inline policies sorted
// by name, empty lists nil, times in UTC to the microsecond.
func normRole(r *store.Role) {
	r.Tags = nilIfEmpty(r.Tags)
	r.InlinePolicies = nilIfEmpty(r.InlinePolicies)
	slices.SortStableFunc(r.InlinePolicies, func(a, b store.InlinePolicy) int { return cmp.Compare(a.Name, b.Name) })
	r.AttachedPolicyARNs = nilIfEmpty(r.AttachedPolicyARNs)
	r.CreatedAt, r.LastUsedAt = normTime(r.CreatedAt), normTime(r.LastUsedAt)
}

func cloneRole(r store.Role) store.Role {
	r.Tags = slices.Clone(r.Tags)
	r.InlinePolicies = slices.Clone(r.InlinePolicies)
	r.AttachedPolicyARNs = slices.Clone(r.AttachedPolicyARNs)
	return r
}

// getRole reads a whole role; sql.ErrNoRows when there is none. q should be
// a transaction, for one snapshot of the three tables.
func getRole(ctx context.Context, q querier, accountID, nameLower string) (store.Role, error) {
	r, err := scanRole(q.QueryRowContext(ctx,
		sqlGetRole, accountID, nameLower))
	if err != nil {
		return store.Role{}, err
	}
	rows, err := q.QueryContext(ctx,
		sqlGetRoleInline, accountID, nameLower)
	if err != nil {
		return store.Role{}, err
	}
	err = scanAll(rows, func() error {
		var p store.InlinePolicy
		err := rows.Scan(&p.Name, &p.Document)
		r.InlinePolicies = append(r.InlinePolicies, p)
		return err
	})
	if err != nil {
		return store.Role{}, err
	}
	rows, err = q.QueryContext(ctx,
		sqlGetRoleAttached,
		accountID, nameLower)
	if err != nil {
		return store.Role{}, err
	}
	err = scanAll(rows, func() error {
		var arn string
		err := rows.Scan(&arn)
		r.AttachedPolicyARNs = append(r.AttachedPolicyARNs, arn)
		return err
	})
	if err != nil {
		return store.Role{}, err
	}
	normRole(&r)
	return r, nil
}

// insertRoleInline writes the inline policies of a role that has none.
func insertRoleInline(ctx context.Context, q querier, accountID, nameLower string, ps []store.InlinePolicy) error {
	for _, p := range ps {
		if _, err := q.ExecContext(ctx,
			sqlInsertRoleInline,
			accountID, nameLower, p.Name, p.Document); err != nil {
			return err
		}
	}
	return nil
}

// insertRoleAttached writes the attachments of a role that has none.
func insertRoleAttached(ctx context.Context, q querier, accountID, nameLower string, arns []string) error {
	for i, arn := range arns {
		if _, err := q.ExecContext(ctx,
			sqlInsertRoleAttached,
			accountID, nameLower, i, arn); err != nil {
			return err
		}
	}
	return nil
}

// CreateRole implements store.Roles.
func (s *Store) CreateRole(ctx context.Context, r store.Role) error {
	op := "create role " + r.AccountID + "/" + r.Name
	lower := strings.ToLower(r.Name)
	tags, err := encList(r.Tags)
	if err != nil {
		return failed(op, err)
	}
	return s.writeTx(ctx, op, func(q querier) error {
		if _, err := q.ExecContext(ctx, sqlInsertRole,
			lower, r.AccountID, r.Name, r.Path, r.ID, r.ARN, r.TrustPolicy, r.Description, r.MaxSessionDuration,
			r.BoundaryARN, tags, encTime(r.CreatedAt), encTime(r.LastUsedAt), r.LastUsedRegion); err != nil {
			return s.wrap(op, err)
		}
		if err := insertRoleInline(ctx, q, r.AccountID, lower, r.InlinePolicies); err != nil {
			return failed(op, err)
		}
		if err := insertRoleAttached(ctx, q, r.AccountID, lower, r.AttachedPolicyARNs); err != nil {
			return failed(op, err)
		}
		return nil
	})
}

// GetRole implements store.Roles.
func (s *Store) GetRole(ctx context.Context, accountID, name string) (store.Role, error) {
	op := "get role " + accountID + "/" + name
	var r store.Role
	err := s.readTx(ctx, op, func(q querier) error {
		var err error
		r, err = getRole(ctx, q, accountID, strings.ToLower(name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("role", accountID+"/"+name)
		case err != nil:
			return failed(op, err)
		}
		return nil
	})
	if err != nil {
		return store.Role{}, err
	}
	return r, nil
}

// ListRoles implements store.Roles.
func (s *Store) ListRoles(ctx context.Context, accountID, pathPrefix string) ([]store.Role, error) {
	op := "list roles of " + accountID
	// The prefix test counts characters, as substr does in both engines, and
	// has no wildcards, unlike LIKE.
	args := []any{accountID, utf8.RuneCountInString(pathPrefix), pathPrefix}
	var out []store.Role
	err := s.readTx(ctx, op, func(q querier) error {
		rows, err := q.QueryContext(ctx, sqlListRoles, args...)
		if err != nil {
			return failed(op, err)
		}
		var roles []store.Role
		err = scanAll(rows, func() error {
			r, err := scanRole(rows)
			roles = append(roles, r)
			return err
		})
		if err != nil {
			return failed(op, err)
		}
		// Sort by the key, the lower-cased name, then by name: a stable
		// order that no collation decides.
		slices.SortFunc(roles, func(a, b store.Role) int {
			return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.Name, b.Name))
		})
		byName := make(map[string]*store.Role, len(roles))
		for i := range roles {
			byName[strings.ToLower(roles[i].Name)] = &roles[i]
		}

		rows, err = q.QueryContext(ctx, sqlListRolesInline, args...)
		if err != nil {
			return failed(op, err)
		}
		err = scanAll(rows, func() error {
			var lower string
			var p store.InlinePolicy
			if err := rows.Scan(&lower, &p.Name, &p.Document); err != nil {
				return err
			}
			if r := byName[lower]; r != nil {
				r.InlinePolicies = append(r.InlinePolicies, p)
			}
			return nil
		})
		if err != nil {
			return failed(op, err)
		}

		rows, err = q.QueryContext(ctx, sqlListRolesAttached, args...)
		if err != nil {
			return failed(op, err)
		}
		err = scanAll(rows, func() error {
			var lower, arn string
			if err := rows.Scan(&lower, &arn); err != nil {
				return err
			}
			if r := byName[lower]; r != nil {
				r.AttachedPolicyARNs = append(r.AttachedPolicyARNs, arn)
			}
			return nil
		})
		if err != nil {
			return failed(op, err)
		}

		for i := range roles {
			normRole(&roles[i])
		}
		out = roles
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateRole implements store.Roles.
func (s *Store) UpdateRole(ctx context.Context, accountID, name string, fn func(*store.Role) error) (store.Role, error) {
	op := "update role " + accountID + "/" + name
	lower := strings.ToLower(name)
	var out store.Role
	err := s.writeTx(ctx, op, func(q querier) error {
		cur, err := getRole(ctx, q, accountID, lower)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("role", accountID+"/"+name)
		case err != nil:
			return failed(op, err)
		}
		given := cloneRole(cur)
		if err := fn(&given); err != nil {
			return err
		}
		next := cloneRole(given) // what fn was given stays with the caller
		switch {
		case next.AccountID != cur.AccountID:
			return keyChanged("role", accountID+"/"+name, "AccountID")
		case next.Name != cur.Name:
			return keyChanged("role", accountID+"/"+name, "Name")
		}
		if err := saveRole(ctx, q, cur, &next); err != nil {
			return failed(op, err)
		}
		out = next
		return nil
	})
	if err != nil {
		return store.Role{}, err
	}
	return out, nil
}

// saveRole writes next over cur, which was read in the same transaction q,
// provided the stored version is still cur's: otherwise nothing is written
// and the error wraps store.ErrConflict. next is normalized and gets its new
// version.
func saveRole(ctx context.Context, q querier, cur store.Role, next *store.Role) error {
	lower := strings.ToLower(cur.Name)
	normRole(next)
	tags, err := encList(next.Tags)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, sqlUpdateRole,
		next.Path, next.ID, next.ARN, next.TrustPolicy, next.Description, next.MaxSessionDuration, next.BoundaryARN,
		tags, encTime(next.CreatedAt), encTime(next.LastUsedAt), next.LastUsedRegion, cur.AccountID, lower, cur.Version)
	if err != nil {
		return err
	}
	if err := guarded(res, "role", cur.AccountID+"/"+cur.Name); err != nil {
		return err
	}
	// Child rows are rewritten only when they changed: most updates (last
	// used, description, tags) leave them alone.
	if !slices.Equal(next.InlinePolicies, cur.InlinePolicies) {
		if _, err := q.ExecContext(ctx, sqlDeleteRoleInline, cur.AccountID, lower); err != nil {
			return err
		}
		if err := insertRoleInline(ctx, q, cur.AccountID, lower, next.InlinePolicies); err != nil {
			return err
		}
	}
	if !slices.Equal(next.AttachedPolicyARNs, cur.AttachedPolicyARNs) {
		if _, err := q.ExecContext(ctx, sqlDeleteRoleAttached, cur.AccountID, lower); err != nil {
			return err
		}
		if err := insertRoleAttached(ctx, q, cur.AccountID, lower, next.AttachedPolicyARNs); err != nil {
			return err
		}
	}
	next.Version = cur.Version + 1
	return nil
}

// DeleteRole implements store.Roles. Inline policies and attachments go
// with the role (ON DELETE CASCADE).
func (s *Store) DeleteRole(ctx context.Context, accountID, name string) error {
	op := "delete role " + accountID + "/" + name
	res, err := s.exec(ctx, op, sqlDeleteRole, accountID, strings.ToLower(name))
	if err != nil {
		return err
	}
	return mustAffect(res, op, notFound("role", accountID+"/"+name))
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/irsa-dev/irsa/internal/store"
)

var (
	sqlGetCluster   = stmt(`SELECT ` + clusterColumns + ` FROM clusters WHERE account_id = $1 AND name = $2`)
	sqlListClusters = stmt(`SELECT ` + clusterColumns + ` FROM clusters WHERE account_id = $1 ORDER BY name`)
	// sqlPutCluster creates a cluster or replaces its issuer and tags in
	// one statement, so that replicas applying the same file at once
	// neither collide nor lose an update.
	sqlPutCluster = stmt(`INSERT INTO clusters (` + clusterColumns + `) VALUES ($1, $2, $3, $4, $5, $6, 1)
		ON CONFLICT (account_id, name) DO UPDATE SET issuer = excluded.issuer, tags = excluded.tags, version = clusters.version + 1`)
	sqlDeleteCluster = stmt(`DELETE FROM clusters WHERE account_id = $1 AND name = $2`)

	sqlInsertAssociation = stmt(`INSERT INTO pod_identity_associations (` + associationColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1)`)
	sqlGetAssociation = stmt(`SELECT ` + associationColumns + ` FROM pod_identity_associations
		WHERE account_id = $1 AND cluster_name = $2 AND id = $3`)
	sqlFindAssociation = stmt(`SELECT ` + associationColumns + ` FROM pod_identity_associations
		WHERE account_id = $1 AND cluster_name = $2 AND namespace = $3 AND service_account = $4`)
	sqlListAssociations = stmt(`SELECT ` + associationColumns + ` FROM pod_identity_associations
		WHERE account_id = $1 AND cluster_name = $2 ORDER BY namespace, service_account, id`)
	sqlUpdateAssociation = stmt(`UPDATE pod_identity_associations SET role_arn = $1, target_role_arn = $2,
		external_id = $3, disable_session_tags = $4, policy = $5, tags = $6, owner_arn = $7,
		client_request_token = $8, created_at = $9, modified_at = $10, version = version + 1
		WHERE account_id = $11 AND cluster_name = $12 AND id = $13 AND version = $14`)
	sqlDeleteAssociation = stmt(`DELETE FROM pod_identity_associations WHERE account_id = $1 AND cluster_name = $2 AND id = $3`)
)

// Clusters are one row each, tags as JSON. Associations are keyed by
// account, cluster and ID, with a unique (cluster, namespace, service
// account) and a foreign key to their cluster that deletes them with it.

const clusterColumns = `account_id, name, arn, issuer, tags, created_at, version`

const associationColumns = `account_id, cluster_name, id, arn, namespace, service_account, role_arn,
	target_role_arn, external_id, disable_session_tags, policy, tags, owner_arn, client_request_token,
	created_at, modified_at, version`

func scanCluster(sc interface{ Scan(...any) error }) (store.Cluster, error) {
	var c store.Cluster
	var tags string
	var created sql.NullInt64
	if err := sc.Scan(&c.AccountID, &c.Name, &c.ARN, &c.Issuer, &tags, &created, &c.Version); err != nil {
		return store.Cluster{}, err
	}
	var err error
	if c.Tags, err = decList[store.Tag]("tags", tags); err != nil {
		return store.Cluster{}, err
	}
	c.CreatedAt = decTime(created)
	return c, nil
}

func scanAssociation(sc interface{ Scan(...any) error }) (store.PodIdentityAssociation, error) {
	var a store.PodIdentityAssociation
	var tags string
	var created, modified sql.NullInt64
	if err := sc.Scan(&a.AccountID, &a.ClusterName, &a.ID, &a.ARN, &a.Namespace, &a.ServiceAccount, &a.RoleARN,
		&a.TargetRoleARN, &a.ExternalID, &a.DisableSessionTags, &a.Policy, &tags, &a.OwnerARN, &a.ClientRequestToken,
		&created, &modified, &a.Version); err != nil {
		return store.PodIdentityAssociation{}, err
	}
	var err error
	if a.Tags, err = decList[store.Tag]("tags", tags); err != nil {
		return store.PodIdentityAssociation{}, err
	}
	a.CreatedAt, a.ModifiedAt = decTime(created), decTime(modified)
	return a, nil
}

func clusterKey(accountID, name string) string { return accountID + "/" + name }

func associationKey(accountID, cluster, id string) string {
	return accountID + "/" + cluster + "/" + id
}

// PutCluster implements store.Clusters. A new cluster gets Version 1; an
// existing one keeps its ARN and CreatedAt, takes Issuer and Tags, and
// its Version goes up by one.
func (s *Store) PutCluster(ctx context.Context, c store.Cluster) error {
	key := clusterKey(c.AccountID, c.Name)
	op := "put cluster " + key
	tags, err := encList(c.Tags)
	if err != nil {
		return failed(op, err)
	}
	if _, err := s.exec(ctx, op, sqlPutCluster, c.AccountID, c.Name, c.ARN, c.Issuer, tags, encTime(c.CreatedAt)); err != nil {
		return err
	}
	return nil
}

// GetCluster implements store.Clusters.
func (s *Store) GetCluster(ctx context.Context, accountID, name string) (store.Cluster, error) {
	key := clusterKey(accountID, name)
	c, err := scanCluster(s.reader().QueryRowContext(ctx, sqlGetCluster, accountID, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Cluster{}, notFound("cluster", key)
	case err != nil:
		return store.Cluster{}, failed("get cluster "+key, err)
	}
	return c, nil
}

// ListClusters implements store.Clusters.
func (s *Store) ListClusters(ctx context.Context, accountID string) ([]store.Cluster, error) {
	op := "list clusters of " + accountID
	rows, err := s.reader().QueryContext(ctx, sqlListClusters, accountID)
	if err != nil {
		return nil, failed(op, err)
	}
	var out []store.Cluster
	err = scanAll(rows, func() error {
		c, err := scanCluster(rows)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, failed(op, err)
	}
	return out, nil
}

// DeleteCluster implements store.Clusters; the associations of the
// cluster go with it.
func (s *Store) DeleteCluster(ctx context.Context, accountID, name string) error {
	key := clusterKey(accountID, name)
	op := "delete cluster " + key
	res, err := s.exec(ctx, op, sqlDeleteCluster, accountID, name)
	if err != nil {
		return err
	}
	return mustAffect(res, op, notFound("cluster", key))
}

// CreatePodIdentityAssociation implements store.PodIdentityAssociations.
func (s *Store) CreatePodIdentityAssociation(ctx context.Context, a store.PodIdentityAssociation) error {
	key := associationKey(a.AccountID, a.ClusterName, a.ID)
	op := "create pod identity association " + key
	tags, err := encList(a.Tags)
	if err != nil {
		return failed(op, err)
	}
	return s.writeTx(ctx, op, func(q querier) error {
		_, err := scanCluster(q.QueryRowContext(ctx, sqlGetCluster, a.AccountID, a.ClusterName))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("cluster", clusterKey(a.AccountID, a.ClusterName))
		case err != nil:
			return failed(op, err)
		}
		if _, err := q.ExecContext(ctx, sqlInsertAssociation,
			a.AccountID, a.ClusterName, a.ID, a.ARN, a.Namespace, a.ServiceAccount, a.RoleARN,
			a.TargetRoleARN, a.ExternalID, a.DisableSessionTags, a.Policy, tags, a.OwnerARN, a.ClientRequestToken,
			encTime(a.CreatedAt), encTime(a.ModifiedAt)); err != nil {
			return s.wrap(op, err)
		}
		return nil
	})
}

// GetPodIdentityAssociation implements store.PodIdentityAssociations.
func (s *Store) GetPodIdentityAssociation(ctx context.Context, accountID, cluster, id string) (store.PodIdentityAssociation, error) {
	key := associationKey(accountID, cluster, id)
	a, err := scanAssociation(s.reader().QueryRowContext(ctx, sqlGetAssociation, accountID, cluster, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.PodIdentityAssociation{}, notFound("pod identity association", key)
	case err != nil:
		return store.PodIdentityAssociation{}, failed("get pod identity association "+key, err)
	}
	return a, nil
}

// FindPodIdentityAssociation implements store.PodIdentityAssociations.
func (s *Store) FindPodIdentityAssociation(ctx context.Context, accountID, cluster, namespace, serviceAccount string) (store.PodIdentityAssociation, error) {
	key := clusterKey(accountID, cluster) + " " + namespace + ":" + serviceAccount
	a, err := scanAssociation(s.reader().QueryRowContext(ctx, sqlFindAssociation, accountID, cluster, namespace, serviceAccount))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.PodIdentityAssociation{}, notFound("pod identity association", key)
	case err != nil:
		return store.PodIdentityAssociation{}, failed("find pod identity association "+key, err)
	}
	return a, nil
}

// ListPodIdentityAssociations implements store.PodIdentityAssociations.
func (s *Store) ListPodIdentityAssociations(ctx context.Context, accountID, cluster string) ([]store.PodIdentityAssociation, error) {
	op := "list pod identity associations of " + clusterKey(accountID, cluster)
	rows, err := s.reader().QueryContext(ctx, sqlListAssociations, accountID, cluster)
	if err != nil {
		return nil, failed(op, err)
	}
	var out []store.PodIdentityAssociation
	err = scanAll(rows, func() error {
		a, err := scanAssociation(rows)
		out = append(out, a)
		return err
	})
	if err != nil {
		return nil, failed(op, err)
	}
	return out, nil
}

// UpdatePodIdentityAssociation implements store.PodIdentityAssociations.
// fn may not change the key (AccountID, ClusterName, ID), the ARN or the
// ServiceAccount the association is for (Namespace, ServiceAccount).
func (s *Store) UpdatePodIdentityAssociation(ctx context.Context, accountID, cluster, id string, fn func(*store.PodIdentityAssociation) error) (store.PodIdentityAssociation, error) {
	key := associationKey(accountID, cluster, id)
	op := "update pod identity association " + key
	var out store.PodIdentityAssociation
	err := s.writeTx(ctx, op, func(q querier) error {
		cur, err := scanAssociation(q.QueryRowContext(ctx, sqlGetAssociation, accountID, cluster, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("pod identity association", key)
		case err != nil:
			return failed(op, err)
		}
		given := cloneAssociation(cur)
		if err := fn(&given); err != nil {
			return err
		}
		next := cloneAssociation(given)
		for _, f := range []struct{ name, was, is string }{
			{"AccountID", cur.AccountID, next.AccountID},
			{"ClusterName", cur.ClusterName, next.ClusterName},
			{"ID", cur.ID, next.ID},
			{"ARN", cur.ARN, next.ARN},
			{"Namespace", cur.Namespace, next.Namespace},
			{"ServiceAccount", cur.ServiceAccount, next.ServiceAccount},
		} {
			if f.was != f.is {
				return keyChanged("pod identity association", key, f.name)
			}
		}
		next.Tags = nilIfEmpty(next.Tags)
		next.CreatedAt, next.ModifiedAt = normTime(next.CreatedAt), normTime(next.ModifiedAt)
		tags, err := encList(next.Tags)
		if err != nil {
			return failed(op, err)
		}
		res, err := q.ExecContext(ctx, sqlUpdateAssociation,
			next.RoleARN, next.TargetRoleARN, next.ExternalID, next.DisableSessionTags, next.Policy, tags,
			next.OwnerARN, next.ClientRequestToken, encTime(next.CreatedAt), encTime(next.ModifiedAt),
			accountID, cluster, id, cur.Version)
		if err != nil {
			return failed(op, err)
		}
		if err := guarded(res, "pod identity association", key); err != nil {
			return failed(op, err)
		}
		next.Version = cur.Version + 1
		out = next
		return nil
	})
	if err != nil {
		return store.PodIdentityAssociation{}, err
	}
	return out, nil
}

// DeletePodIdentityAssociation implements store.PodIdentityAssociations.
func (s *Store) DeletePodIdentityAssociation(ctx context.Context, accountID, cluster, id string) error {
	key := associationKey(accountID, cluster, id)
	op := "delete pod identity association " + key
	res, err := s.exec(ctx, op, sqlDeleteAssociation, accountID, cluster, id)
	if err != nil {
		return err
	}
	return mustAffect(res, op, notFound("pod identity association", key))
}

func cloneAssociation(a store.PodIdentityAssociation) store.PodIdentityAssociation {
	a.Tags = slices.Clone(a.Tags)
	return a
}

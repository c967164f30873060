-- EKS Pod Identity (PostgreSQL): clusters and their pod identity
-- associations, as in migrations/sqlite/0003_podidentity.sql.
--
-- Cluster names are case-sensitive, as in EKS. An association belongs to
-- its cluster and goes with it (ON DELETE CASCADE); there is at most one
-- per ServiceAccount of a cluster. The columns the lists are ordered by
-- use the "C" collation, so that the order is the bytes' order whatever
-- the database's default collation, as on SQLite.

CREATE TABLE clusters (
    account_id TEXT NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    arn        TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    tags       TEXT NOT NULL,
    created_at BIGINT,
    version    BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE pod_identity_associations (
    account_id           TEXT NOT NULL,
    cluster_name         TEXT COLLATE "C" NOT NULL,
    id                   TEXT COLLATE "C" NOT NULL,
    arn                  TEXT NOT NULL,
    namespace            TEXT COLLATE "C" NOT NULL,
    service_account      TEXT COLLATE "C" NOT NULL,
    role_arn             TEXT NOT NULL,
    target_role_arn      TEXT NOT NULL,
    external_id          TEXT NOT NULL,
    disable_session_tags BOOLEAN NOT NULL,
    policy               TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    owner_arn            TEXT NOT NULL,
    client_request_token TEXT NOT NULL,
    created_at           BIGINT,
    modified_at          BIGINT,
    version              BIGINT NOT NULL,
    PRIMARY KEY (account_id, cluster_name, id),
    UNIQUE (account_id, cluster_name, namespace, service_account),
    FOREIGN KEY (account_id, cluster_name)
        REFERENCES clusters (account_id, name) ON DELETE CASCADE
);

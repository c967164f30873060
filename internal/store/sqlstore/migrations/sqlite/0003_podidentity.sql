-- EKS Pod Identity (SQLite): clusters and their pod identity associations.
--
-- Cluster names are case-sensitive, as in EKS. An association belongs to
-- its cluster and goes with it (ON DELETE CASCADE); there is at most one
-- per ServiceAccount of a cluster.

CREATE TABLE clusters (
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    arn        TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    tags       TEXT NOT NULL,
    created_at INTEGER,
    version    INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
) STRICT;

CREATE TABLE pod_identity_associations (
    account_id           TEXT NOT NULL,
    cluster_name         TEXT NOT NULL,
    id                   TEXT NOT NULL,
    arn                  TEXT NOT NULL,
    namespace            TEXT NOT NULL,
    service_account      TEXT NOT NULL,
    role_arn             TEXT NOT NULL,
    target_role_arn      TEXT NOT NULL,
    external_id          TEXT NOT NULL,
    disable_session_tags INTEGER NOT NULL,
    policy               TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    owner_arn            TEXT NOT NULL,
    client_request_token TEXT NOT NULL,
    created_at           INTEGER,
    modified_at          INTEGER,
    version              INTEGER NOT NULL,
    PRIMARY KEY (account_id, cluster_name, id),
    UNIQUE (account_id, cluster_name, namespace, service_account),
    FOREIGN KEY (account_id, cluster_name)
        REFERENCES clusters (account_id, name) ON DELETE CASCADE
) STRICT;

-- The first schema of irsa's store (PostgreSQL).
--
-- The same tables as migrations/sqlite/0001_init.sql, column for column, so
-- that the queries of the package run unchanged on both engines: times are
-- BIGINT microseconds since 1970-01-01 UTC (NULL is the zero time), lists
-- that live and die with their row (tags, client IDs, thumbprints) are JSON
-- arrays in TEXT columns, lists that name other entities or hold policy
-- documents are child tables removed with their owner by ON DELETE CASCADE,
-- and every aggregate that can be updated has a version column for
-- optimistic concurrency. Text is compared byte for byte by the keys; no
-- query depends on a collation's order (lists are sorted in Go).

CREATE TABLE accounts (
    id         TEXT NOT NULL PRIMARY KEY,
    created_at BIGINT
);

CREATE TABLE access_keys (
    id         TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    secret     TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at BIGINT
);

CREATE INDEX access_keys_account ON access_keys (account_id);

CREATE TABLE oidc_providers (
    arn         TEXT NOT NULL PRIMARY KEY,
    account_id  TEXT NOT NULL,
    url         TEXT NOT NULL,
    client_ids  TEXT NOT NULL,
    thumbprints TEXT NOT NULL,
    tags        TEXT NOT NULL,
    created_at  BIGINT,
    version     BIGINT NOT NULL
);

CREATE INDEX oidc_providers_account ON oidc_providers (account_id);

-- Role names are unique within an account ignoring case: the key is the
-- lower-cased name, and name keeps the spelling given.
CREATE TABLE roles (
    account_id           TEXT NOT NULL,
    name_lower           TEXT NOT NULL,
    name                 TEXT NOT NULL,
    path                 TEXT NOT NULL,
    id                   TEXT NOT NULL,
    arn                  TEXT NOT NULL,
    trust_policy         TEXT NOT NULL,
    description          TEXT NOT NULL,
    max_session_duration BIGINT NOT NULL,
    boundary_arn         TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    created_at           BIGINT,
    last_used_at         BIGINT,
    last_used_region     TEXT NOT NULL,
    version              BIGINT NOT NULL,
    PRIMARY KEY (account_id, name_lower)
);

CREATE TABLE role_inline_policies (
    account_id      TEXT NOT NULL,
    role_name_lower TEXT NOT NULL,
    name            TEXT NOT NULL,
    document        TEXT NOT NULL,
    PRIMARY KEY (account_id, role_name_lower, name),
    FOREIGN KEY (account_id, role_name_lower)
        REFERENCES roles (account_id, name_lower) ON DELETE CASCADE
);

CREATE TABLE role_attached_policies (
    account_id      TEXT NOT NULL,
    role_name_lower TEXT NOT NULL,
    position        BIGINT NOT NULL,
    policy_arn      TEXT NOT NULL,
    PRIMARY KEY (account_id, role_name_lower, position),
    FOREIGN KEY (account_id, role_name_lower)
        REFERENCES roles (account_id, name_lower) ON DELETE CASCADE
);

CREATE INDEX role_attached_policies_arn ON role_attached_policies (policy_arn);

-- Managed policies are keyed by ARN; their names are unique within an
-- account ignoring case, whatever the path, as in IAM.
CREATE TABLE managed_policies (
    arn              TEXT NOT NULL PRIMARY KEY,
    account_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    name_lower       TEXT NOT NULL,
    path             TEXT NOT NULL,
    id               TEXT NOT NULL,
    description      TEXT NOT NULL,
    default_version  TEXT NOT NULL,
    next_version     BIGINT NOT NULL,
    attachment_count BIGINT NOT NULL,
    tags             TEXT NOT NULL,
    created_at       BIGINT,
    updated_at       BIGINT,
    version          BIGINT NOT NULL,
    UNIQUE (account_id, name_lower)
);

CREATE TABLE policy_versions (
    policy_arn TEXT NOT NULL REFERENCES managed_policies (arn) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    position   BIGINT NOT NULL,
    document   TEXT NOT NULL,
    created_at BIGINT,
    PRIMARY KEY (policy_arn, version_id)
);

CREATE TABLE signing_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    publish_at  BIGINT,
    active_at   BIGINT,
    retire_at   BIGINT,
    expire_at   BIGINT,
    created_at  BIGINT
);

CREATE TABLE sealing_keys (
    id         TEXT NOT NULL PRIMARY KEY,
    key        BYTEA NOT NULL,
    created_at BIGINT,
    retire_at  BIGINT
);

CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- The first schema of irsa's store (SQLite).
--
-- Times are INTEGER microseconds since 1970-01-01 UTC; NULL is the zero
-- time. Lists that live and die with their row and are never searched
-- (tags, client IDs, thumbprints) are JSON arrays in TEXT columns. Lists
-- that name other entities or hold policy documents (inline policies,
-- attachments, policy versions) are child tables, removed with their owner
-- by ON DELETE CASCADE; attachments are indexed by policy ARN so that "who
-- uses this policy" is one query. Every aggregate that can be updated has a
-- version column for optimistic concurrency.

CREATE TABLE accounts (
    id         TEXT NOT NULL PRIMARY KEY,
    created_at INTEGER
) STRICT;

CREATE TABLE access_keys (
    id         TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    secret     TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER
) STRICT;

CREATE INDEX access_keys_account ON access_keys (account_id);

CREATE TABLE oidc_providers (
    arn         TEXT NOT NULL PRIMARY KEY,
    account_id  TEXT NOT NULL,
    url         TEXT NOT NULL,
    client_ids  TEXT NOT NULL,
    thumbprints TEXT NOT NULL,
    tags        TEXT NOT NULL,
    created_at  INTEGER,
    version     INTEGER NOT NULL
) STRICT;

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
    max_session_duration INTEGER NOT NULL,
    boundary_arn         TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    created_at           INTEGER,
    last_used_at         INTEGER,
    last_used_region     TEXT NOT NULL,
    version              INTEGER NOT NULL,
    PRIMARY KEY (account_id, name_lower)
) STRICT;

CREATE TABLE role_inline_policies (
    account_id      TEXT NOT NULL,
    role_name_lower TEXT NOT NULL,
    name            TEXT NOT NULL,
    document        TEXT NOT NULL,
    PRIMARY KEY (account_id, role_name_lower, name),
    FOREIGN KEY (account_id, role_name_lower)
        REFERENCES roles (account_id, name_lower) ON DELETE CASCADE
) STRICT;

CREATE TABLE role_attached_policies (
    account_id      TEXT NOT NULL,
    role_name_lower TEXT NOT NULL,
    position        INTEGER NOT NULL,
    policy_arn      TEXT NOT NULL,
    PRIMARY KEY (account_id, role_name_lower, position),
    FOREIGN KEY (account_id, role_name_lower)
        REFERENCES roles (account_id, name_lower) ON DELETE CASCADE
) STRICT;

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
    next_version     INTEGER NOT NULL,
    attachment_count INTEGER NOT NULL,
    tags             TEXT NOT NULL,
    created_at       INTEGER,
    updated_at       INTEGER,
    version          INTEGER NOT NULL,
    UNIQUE (account_id, name_lower)
) STRICT;

CREATE TABLE policy_versions (
    policy_arn TEXT NOT NULL REFERENCES managed_policies (arn) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    position   INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created_at INTEGER,
    PRIMARY KEY (policy_arn, version_id)
) STRICT;

CREATE TABLE signing_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key BLOB NOT NULL,
    publish_at  INTEGER,
    active_at   INTEGER,
    retire_at   INTEGER,
    expire_at   INTEGER,
    created_at  INTEGER
) STRICT;

CREATE TABLE sealing_keys (
    id         TEXT NOT NULL PRIMARY KEY,
    key        BLOB NOT NULL,
    created_at INTEGER,
    retire_at  INTEGER
) STRICT;

CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

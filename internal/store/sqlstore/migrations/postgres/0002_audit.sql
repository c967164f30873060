-- The audit trail (PostgreSQL).
--
-- The same table as migrations/sqlite/0002_audit.sql: one row per
-- CloudTrail-shaped event in a hash chain (hash is SHA-256(hash of the
-- previous row || event), the previous hash of seq 1 being 32 zero bytes;
-- seq runs 1, 2, 3… without gaps). event is TEXT holding the JSON record
-- byte for byte: json or jsonb would not keep every byte (jsonb reorders
-- keys and drops duplicates), and the chain hashes the bytes. Appenders
-- serialize on a table lock (SHARE ROW EXCLUSIVE, which readers do not wait
-- for) taken before they read the head of the chain.

CREATE TABLE audit_events (
    seq          BIGINT NOT NULL PRIMARY KEY,
    hash         BYTEA NOT NULL,
    event        TEXT NOT NULL,
    event_time   BIGINT,
    event_source TEXT NOT NULL,
    event_name   TEXT NOT NULL,
    error_code   TEXT NOT NULL,
    source_ip    TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    principal    TEXT NOT NULL,
    role_arn     TEXT NOT NULL
);

-- One index besides the primary key: event_time, for time-bounded scans
-- (alerts, analysis, tail). SQLite's 0002 also created role, principal and
-- event-name indexes, which its 0004 drops: they served no query and cost
-- every append.
CREATE INDEX audit_events_time ON audit_events (event_time);

-- events has one column per top-level field of the CloudTrail record,
-- named as CloudTrail names it. PostgreSQL folds unquoted names to lower
-- case, so the columns are created lower-case: a query written for SQLite
-- (SELECT eventName FROM events) runs unchanged, and QueryAudit gives the
-- result columns their CloudTrail spelling back. Objects and arrays are
-- json (userIdentity ->> 'userName' reads a field, in both engines), as is
-- event: the json type keeps the text as stored. Text columns compare and
-- sort by their bytes ("C" collation), as on SQLite, whatever the
-- database's default collation: eventTime, fixed-width UTC, sorts as time.
CREATE VIEW events AS
SELECT
    a.seq,
    (j.e ->> 'eventVersion') COLLATE "C"             AS eventversion,
    (j.e ->> 'eventTime') COLLATE "C"                AS eventtime,
    (j.e ->> 'eventSource') COLLATE "C"              AS eventsource,
    (j.e ->> 'eventName') COLLATE "C"                AS eventname,
    (j.e ->> 'awsRegion') COLLATE "C"                AS awsregion,
    (j.e ->> 'sourceIPAddress') COLLATE "C"          AS sourceipaddress,
    (j.e ->> 'userAgent') COLLATE "C"                AS useragent,
    (j.e ->> 'errorCode') COLLATE "C"                AS errorcode,
    (j.e ->> 'errorMessage') COLLATE "C"             AS errormessage,
    (j.e ->> 'requestID') COLLATE "C"                AS requestid,
    (j.e ->> 'eventID') COLLATE "C"                  AS eventid,
    (j.e ->> 'eventType') COLLATE "C"                AS eventtype,
    (j.e ->> 'readOnly') COLLATE "C"                 AS readonly,
    (j.e ->> 'recipientAccountId') COLLATE "C"       AS recipientaccountid,
    j.e -> 'userIdentity'                            AS useridentity,
    j.e -> 'requestParameters'                       AS requestparameters,
    j.e -> 'responseElements'                        AS responseelements,
    j.e -> 'explanation'                             AS explanation,
    (j.e ->> 'tokenHash') COLLATE "C"                AS tokenhash,
    j.e                                              AS event
FROM audit_events a
CROSS JOIN LATERAL (SELECT a.event::json AS e) j;

-- json_extract(doc, path) reads a value of a JSON document at a path such
-- as '$.userName' or '$.resources[0].ARN', as SQLite's json_extract does,
-- so that queries written against the SQLite store's events view run here
-- too. The value is text (SQLite gives numbers as numbers); keys with a
-- dot or a bracket in them cannot be named.
CREATE FUNCTION json_extract(doc json, path text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT doc #>> string_to_array(substr(translate(path, '[]', '.'), 3), '.') $$;

CREATE FUNCTION json_extract(doc text, path text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT json_extract(doc::json, path) $$;

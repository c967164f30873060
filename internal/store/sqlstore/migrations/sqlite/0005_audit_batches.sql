-- The audit trail (SQLite) takes one row per append instead of one row per
-- event: group commit writes the events of one batch in one row of
-- audit_batches, so each event costs a fraction of SQLite's per-row work.
-- The layout of a row is described in internal/store/sqlstore/auditrow;
-- in short: records first_seq … last_seq (consecutive), their chain hashes
-- (32 bytes each), their JSON records byte for byte one after the other in
-- events (a BLOB, so that substr counts bytes), the store's copies of
-- their indexed fields in meta, and in bounds the JSON array of each
-- record's [offset, length] in events. first_time and last_time are the
-- earliest and latest event time of the row (microseconds), for
-- time-bounded scans. The rows of audit_events move here (by irsa, after
-- this file; see migrateAuditBatches), and audit_events goes.
--
-- The events view keeps its columns: one per top-level CloudTrail field,
-- and seq.

CREATE TABLE audit_batches (
    first_seq  INTEGER NOT NULL PRIMARY KEY,
    last_seq   INTEGER NOT NULL,
    first_time INTEGER,
    last_time  INTEGER,
    hashes     BLOB NOT NULL,
    events     BLOB NOT NULL,
    meta       BLOB NOT NULL,
    bounds     TEXT NOT NULL
) STRICT;

CREATE INDEX audit_batches_time ON audit_batches (last_time);

DROP VIEW events;

CREATE VIEW events AS
SELECT
    seq,
    event ->> '$.eventVersion'       AS eventVersion,
    event ->> '$.eventTime'          AS eventTime,
    event ->> '$.eventSource'        AS eventSource,
    event ->> '$.eventName'          AS eventName,
    event ->> '$.awsRegion'          AS awsRegion,
    event ->> '$.sourceIPAddress'    AS sourceIPAddress,
    event ->> '$.userAgent'          AS userAgent,
    event ->> '$.errorCode'          AS errorCode,
    event ->> '$.errorMessage'       AS errorMessage,
    event ->> '$.requestID'          AS requestID,
    event ->> '$.eventID'            AS eventID,
    event ->> '$.eventType'          AS eventType,
    event ->> '$.readOnly'           AS readOnly,
    event ->> '$.recipientAccountId' AS recipientAccountId,
    event ->  '$.userIdentity'       AS userIdentity,
    event ->  '$.requestParameters'  AS requestParameters,
    event ->  '$.responseElements'   AS responseElements,
    event ->  '$.explanation'        AS explanation,
    event ->> '$.tokenHash'          AS tokenHash,
    event                            AS event
FROM (
    SELECT
        b.first_seq + r.key                                           AS seq,
        CAST(substr(b.events, (r.value ->> 0) + 1, r.value ->> 1) AS TEXT) AS event
    FROM audit_batches AS b, json_each(b.bounds) AS r
);

-- The audit trail (SQLite).
--
-- One row per CloudTrail-shaped event, in a hash chain: hash is
-- SHA-256(hash of the previous row || event), the previous hash of seq 1
-- being 32 zero bytes. seq runs 1, 2, 3… without gaps. event holds the JSON
-- record byte for byte; it is TEXT, not BLOB, because SQLite's JSON
-- functions read a BLOB as its binary JSONB format, and the events view
-- below extracts fields from it. The other columns copy fields of the event
-- for the indexes.

CREATE TABLE audit_events (
    seq          INTEGER NOT NULL PRIMARY KEY,
    hash         BLOB NOT NULL,
    event        TEXT NOT NULL,
    event_time   INTEGER,
    event_source TEXT NOT NULL,
    event_name   TEXT NOT NULL,
    error_code   TEXT NOT NULL,
    source_ip    TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    principal    TEXT NOT NULL,
    role_arn     TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_time ON audit_events (event_time);
CREATE INDEX audit_events_role ON audit_events (role_arn, event_time);
CREATE INDEX audit_events_principal ON audit_events (principal, event_time);
CREATE INDEX audit_events_name ON audit_events (event_name, event_time);

-- events has one column per top-level field of the CloudTrail record,
-- named as CloudTrail names it; objects and arrays are JSON text. It is
-- what `irsa audit query` is for.
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
FROM audit_events;

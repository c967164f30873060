-- Nothing to do on PostgreSQL: SQLite's 0004 drops the role, principal
-- and event-name indexes of the audit trail, which the PostgreSQL schema
-- never created (see 0002_audit.sql). The file keeps the versions of the
-- two dialects in step: schema version N is the same schema on both.

SELECT 1;

-- The audit trail keeps one index besides its primary key: event_time,
-- which time-bounded scans use (alerts, analysis, tail). The role,
-- principal and event-name indexes of 0002 served no query (the events
-- view reads the JSON record), and each cost every append a B-tree insert.

DROP INDEX audit_events_role;
DROP INDEX audit_events_principal;
DROP INDEX audit_events_name;

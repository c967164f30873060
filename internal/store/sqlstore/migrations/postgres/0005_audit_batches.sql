-- SQLite's 0005 moves its audit trail to one row per append
-- (audit_batches), because SQLite's cost is per row in irsa's own process.
-- PostgreSQL keeps one row per record in audit_events: its rows cost the
-- database server, and its events view and indexes stay as they are. This
-- migration only keeps the two engines' versions in step.
SELECT 1;

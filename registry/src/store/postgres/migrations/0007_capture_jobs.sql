-- EPCIS capture jobs, so that a job is answered after a restart and by every replica
-- (registry/src/store/tables.rs, Table::CaptureJobs).
CREATE TABLE capture_jobs (k bytea PRIMARY KEY, v bytea NOT NULL);
-- Each captured event's eventID, with the codes and event numbers it was stored as
-- (Table::CapturedEvents).
CREATE TABLE captured_events (k bytea PRIMARY KEY, v bytea NOT NULL);

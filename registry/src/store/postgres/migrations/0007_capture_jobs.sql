-- EPCIS capture jobs, so that a job is answered after a restart and by every replica
-- (registry/src/store/tables.rs, Table::CaptureJobs).
CREATE TABLE capture_jobs (k bytea PRIMARY KEY, v bytea NOT NULL);

-- The transparency log (registry/src/store/tables.rs, Table::LogPool to Table::LogBatches): the pool
-- of entries not yet sequenced, the entries, the tree's stored hashes, the openings receipts need,
-- and registration batches' commitments.
CREATE TABLE log_pool (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE log_entries (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE log_hashes (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE log_openings (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE log_batches (k bytea PRIMARY KEY, v bytea NOT NULL);

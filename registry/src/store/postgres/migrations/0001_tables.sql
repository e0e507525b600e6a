-- The store's tables: one per table of the engine-independent layout (registry/src/store/tables.rs),
-- each a key-ordered map of bytes. Keys and values are the encodings the registry defines and
-- versions itself (records, events, parties...), the same as in the sled engine and in backups.
-- bytea compares byte by byte, so a key range is a prefix scan, as in sled.
CREATE TABLE codes (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE events (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE lot_recalls (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE scans (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE alerts (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE vehicles (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE trust (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE meta (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE parties (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE tokens (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE reports (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE batches (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE notices (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE alert_notes (k bytea PRIMARY KEY, v bytea NOT NULL);
-- Orders notes and notices written in the same second, across replicas.
CREATE SEQUENCE partseal_ids;

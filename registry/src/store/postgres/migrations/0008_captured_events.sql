-- Each captured event's eventID, with the codes and event numbers it was stored as
-- (registry/src/store/tables.rs, Table::CapturedEvents).
CREATE TABLE captured_events (k bytea PRIMARY KEY, v bytea NOT NULL);

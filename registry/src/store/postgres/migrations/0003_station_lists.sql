-- Each shop station's list of recent scans, kept per shop so that it outlives a sign-in
-- (registry/src/store/tables.rs, Table::StationLists).
CREATE TABLE station_lists (k bytea PRIMARY KEY, v bytea NOT NULL);

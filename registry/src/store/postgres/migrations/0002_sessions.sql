-- Browser sessions, so every replica knows them (registry/src/sessions.rs).
CREATE TABLE sessions (k bytea PRIMARY KEY, v bytea NOT NULL);

-- Cartons and pallets (registry/src/store/tables.rs, Table::Cartons and Table::CodeCartons): each
-- carton's packing record, and the carton each code is packed in.
CREATE TABLE cartons (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE code_cartons (k bytea PRIMARY KEY, v bytea NOT NULL);

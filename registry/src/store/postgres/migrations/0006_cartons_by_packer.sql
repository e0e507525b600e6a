-- Packing records by packer (registry/src/store/tables.rs, Table::CartonsByPacker): packer length
-- || packer || i64::MAX less the packing time (big-endian) || SSCC → nothing. A carton's record
-- (registry/src/carton.rs) starts with its version (1 byte), the packer's length (1 byte) and id,
-- and the packing time (8 bytes, big-endian), so the cartons already packed are indexed from it.
CREATE TABLE cartons_by_packer (k bytea PRIMARY KEY, v bytea NOT NULL);
INSERT INTO cartons_by_packer (k, v)
SELECT substring(v FROM 2 FOR 1 + get_byte(v, 1))
       || int8send(9223372036854775807
                   - greatest(0, ('x' || encode(substring(v FROM 3 + get_byte(v, 1) FOR 8), 'hex'))::bit(64)::bigint))
       || k,
       ''::bytea
FROM cartons;

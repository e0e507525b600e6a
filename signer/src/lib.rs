//! Signed part codes.

//! The chain-of-custody registry.
//!
//! Not built yet: storage arrives with the registry work.

//! The HTTP surface, one module per audience.

pub mod ops;

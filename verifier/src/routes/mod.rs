//! The HTTP surface, one module per audience.

pub mod api;
pub mod ops;
pub mod public;

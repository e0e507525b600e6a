//! The HTTP surface, one module per audience.

pub mod api;
pub mod assets;
pub mod carton_events;
pub mod epcis;
pub mod log;
pub mod named_code;
pub mod ops;
pub mod public;
pub mod resolver;

//! Renders signed part codes as print-ready labels.
//!
//! Not built yet: the label formats arrive with the labels work.

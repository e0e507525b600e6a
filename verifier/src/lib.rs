//! The verifier service.
//!
//! Not built yet: the HTTP surface arrives with the service work.

//! The contract between the sitegroup control plane (`cms/`) and its gateways (`gateway/`).
//!
//! Only the types in this crate cross the process boundary between the two sides:
//!
//! * [`config`]: the versioned configuration snapshot a gateway pulls from the control plane
//!   (sites, hostnames, routes, upstreams, published manifests), and its validation.
//! * [`store`]: the content-addressed store layout both sides agree on (the control plane
//!   writes published pages into it, the gateway serves them and verifies their hash).
//! * [`log`]: the records a gateway emits (access records, security events) and ships to the
//!   control plane's log intake.
//!
//! Changing any serialized type here is a contract change: bump [`config::CONTRACT_VERSION`].

pub mod config;
pub mod log;
pub mod store;

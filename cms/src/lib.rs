//! The sitegroup control plane: admin UI, content, publishing, and the configuration the
//! gateways pull. The `sitegroup` binary's command line lives in [`cli`].
//!
//! * [`db`]: entities and migrations (SQLite by default, PostgreSQL for scale).
//! * [`web`]: the HTTP router (admin UI, internal API for gateways).
//! * [`publish`], [`theme`]: rendering sites into the content-addressed store.
//! * [`snapshot`]: the configuration snapshot and its generation counter.
//! * [`service`]: what the control plane can do, with permission checks (content, review
//!   workflow, roles); the admin UI and the API both call it.
//! * [`auth`]: passwords and sessions. [`seed`]: the demo group of a first start.
//! * [`server`], [`cli`], [`settings`]: running it all.

/// The memory allocator of the `sitegroup` program (mimalloc: glibc's malloc showed in the
/// gateway's profile — arena locks and consolidation — at a few percent each). Built with
/// transparent huge pages off for the process (`no_thp`): with them, the memory mimalloc
/// commits in large runs was backed by 2 MB pages, and loading CRS grew the process by 71 MB
/// instead of 47 MB, for no gain in speed (the WAF benchmark runs on this allocator).
pub use mimalloc::MiMalloc as Allocator;

pub mod acme_store;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod db;
pub mod error;
pub mod monitor;
pub mod publish;
pub mod search;
pub mod secrets;
pub mod seed;
pub mod server;
pub mod service;
pub mod settings;
pub mod snapshot;
pub mod state;
pub mod theme;
pub mod web;

//! The service layer: what the control plane can do, with permission checks, independent of
//! how it is asked (admin pages, JSON API, command line). Handlers parse input, call a service
//! function with the signed-in [`authz::Actor`], and render the result.
//!
//! * [`authz`]: platform roles and unit grants; who may do what.
//! * [`form`]: field decoders shared by the inputs (numbers and checkboxes from forms or JSON).
//! * [`workflow`]: the review state machine (三审三校).
//! * [`content`]: items, revisions, review steps, recycle bin, schedules.
//! * [`sites`]: site settings and identity data, the column tree.
//! * [`users`]: accounts and unit role grants. [`tokens`]: API tokens.
//! * [`certificates`]: HTTPS certificates uploaded by the security team.
//! * [`registry`]: the site registry (the survey form), its import and export, consolidation.
//! * [`incidents`]: emergency response — incidents, their timeline, one-click actions.
//! * [`summary`]: the group's period summary report (总结报告).

pub mod authz;
pub mod certificates;
pub mod content;
pub mod form;
pub mod incidents;
pub mod media;
pub mod registry;
pub mod search;
pub mod sites;
pub mod summary;
pub mod tokens;
pub mod users;
pub mod workflow;

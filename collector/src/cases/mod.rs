//! Triage: every finding (fork, tamper, alert, or any kind a later rule
//! stores) and every break-glass is a case with a state (new, acknowledged,
//! under investigation, resolved). Reviewers assign, acknowledge,
//! investigate, comment and resolve through the API ([`api`]); each step is
//! appended to `case_events` and to the collector's own chain, never edited,
//! and the state is derived from the steps ([`model`]). The policy's
//! `review` member routes each severity (primary, backup, escalation) and
//! sets its response time; [`crate::notify`] tells the recipients.

pub mod api;
mod body;
pub mod model;
pub mod queue;

//! The statistics every Goodhart number is printed with: Wilson and Newcombe intervals for counted rates
//! ([`stats`]) and the cluster bootstrap for rates whose samples come in clusters, such as several epochs
//! of one eval prompt ([`cluster`]).
//!
//! Its own crate, with no dependency, because both sides of the data flow need it: the evals compute
//! their rates with it when they run, and the reports recompute them from the store. Keeping it below
//! both lets `goodhart-report` read eval runs through `goodhart-evals` without a cycle.

pub mod cluster;
pub mod stats;

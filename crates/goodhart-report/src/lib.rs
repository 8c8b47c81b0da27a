//! Reports over stored Goodhart runs, and the statistics every command uses to put an interval on a
//! rate so that differences between models, framings and graders can be judged honestly.

pub mod cluster;
pub mod stats;

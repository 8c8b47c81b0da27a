//! HTTP APIs that let RL trainers use Goodhart by changing one URL.
//!
//! - `POST /run_code`, `GET /v1/ping`: SandboxFusion's API, so verl's sandbox client runs its test cases
//!   here unchanged ([`run_code`]).
//! - `POST /v1/grade` (native rollout records) and `POST /get_reward` (OpenRLHF's remote reward): every
//!   profile, hack labels with evidence, a reward under a [`RewardPolicy`], stored before answering
//!   ([`grade`]).
//! - `GET /metrics`: Prometheus text (requests, latency, queue depth, hack counts) ([`metrics`]), plus
//!   store-wide totals over every replica of a named service ([`service`]).
//!
//! Requests queue at a bounded [`Gate`] in front of the sandbox instead of being refused; one that waits
//! past its deadline gets HTTP 504, the status verl retries.

mod app;
pub mod error;
pub mod export;
mod gate;
pub mod grade;
mod judge;
pub mod metrics;
pub mod reward;
pub mod run_code;
pub mod service;

pub use app::{router, serve, shutdown_signal, AppState, ServerConfig};
pub use error::ApiError;
pub use gate::{Gate, GateConfig, GateError, Runner};
pub use grade::{Grading, Journal, Judge, Judged};
pub use judge::GraderJudge;
pub use reward::RewardPolicy;
pub use service::Service;

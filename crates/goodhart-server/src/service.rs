//! One service, many replicas: figures over every `goodhart serve` process that shares a store and a
//! service name.
//!
//! A training job sends its rewards to one URL, and behind it any number of replicas share one
//! PostgreSQL store (`goodhart serve --service NAME --db postgres://...`). Each replica journals into a
//! `serve` run of its own, tagged with the service name in the run's config. Two views follow:
//!
//! - The per-process counters of [`crate::metrics`] (`goodhart_graded_total`, `goodhart_hacks_total`, ...)
//!   count what *this* replica answered. Prometheus scrapes every pod, so `sum()` over replicas is the
//!   service's total, and a replica that restarts starts again from zero, as counters do.
//! - The `goodhart_service_*` gauges added here are read from the store: every rollout any replica of
//!   the service has stored, including replicas that have died. Every replica reports the *same*
//!   values, so aggregate them with `max()` (never `sum()`). They answer "how much has this training run
//!   hacked so far" from any one pod, and they survive restarts.
//!
//! Reading the store costs one grouped query per serve run of the service, so the totals are cached for
//! [`Service::ttl`] (default 5 s) rather than recomputed on every scrape.

use goodhart_store::{CellCounts, RunKind, Store, StoreError};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Store-wide totals of one service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Serve runs (replica sessions) of the service, by status (`running`, `done`, `interrupted`, ...).
    pub runs: BTreeMap<String, u64>,
    /// Rollouts, passes and hacks over every run (step and framing unset).
    pub counts: CellCounts,
}

impl Totals {
    /// Reads the totals of the service called `name` from `store`.
    pub fn read(store: &Store, name: &str) -> Result<Totals, StoreError> {
        let mut totals = Totals::default();
        for run in store.runs(Some(RunKind::Serve))? {
            if run.service() != Some(name) {
                continue;
            }
            *totals.runs.entry(run.status.clone()).or_default() += 1;
            for cell in store.cell_counts(&run.id, None)? {
                totals.counts.absorb(&cell);
            }
        }
        Ok(totals)
    }

    /// The totals in Prometheus' text format, labelled with the service's name.
    pub fn render(&self, name: &str, out: &mut String) {
        let name = escape(name);
        let gauge = |out: &mut String, metric: &str, help: &str, value: u64| {
            header(out, metric, help);
            let _ = writeln!(out, "{metric}{{service=\"{name}\"}} {value}");
        };
        header(
            out,
            "goodhart_service_runs",
            "Serve runs (replica sessions) of this service in the store, by status. Same value on every replica: aggregate with max().",
        );
        for (status, n) in &self.runs {
            let _ = writeln!(
                out,
                "goodhart_service_runs{{service=\"{name}\",status=\"{}\"}} {n}",
                escape(status)
            );
        }
        gauge(
            out,
            "goodhart_service_rollouts",
            "Rollouts stored by every replica of this service. Same value on every replica: aggregate with max().",
            self.counts.rollouts,
        );
        gauge(
            out,
            "goodhart_service_proxy_passes",
            "Stored rollouts that passed a proxy profile, over every replica of this service.",
            self.counts.proxy_pass,
        );
        gauge(
            out,
            "goodhart_service_hardened_passes",
            "Stored rollouts that passed hardened, over every replica of this service.",
            self.counts.hardened_pass,
        );
        gauge(
            out,
            "goodhart_service_hacks_attempted",
            "Stored rollouts labelled as attempting a hack, over every replica of this service.",
            self.counts.attempted,
        );
        gauge(
            out,
            "goodhart_service_hacks_succeeded",
            "Stored rollouts whose hack passed a proxy and failed hardened, over every replica of this service.",
            self.counts.succeeded,
        );
        header(
            out,
            "goodhart_service_hacks",
            "Stored rollouts labelled with each hack kind, over every replica of this service.",
        );
        for (kind, n) in &self.counts.kinds {
            let _ = writeln!(
                out,
                "goodhart_service_hacks{{service=\"{name}\",kind=\"{}\"}} {n}",
                kind.as_str()
            );
        }
    }
}

fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// Escapes a label value as Prometheus' text format asks (backslash, quote, newline).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The service this replica belongs to, with a short-lived cache of its totals.
pub struct Service {
    /// The name replicas share (`goodhart serve --service NAME`).
    pub name: String,
    /// How long totals read from the store are reused.
    pub ttl: Duration,
    cache: Mutex<Option<(Instant, Totals)>>,
}

impl Service {
    /// A service called `name`, its totals cached for 5 s.
    pub fn new(name: impl Into<String>) -> Self {
        Service {
            name: name.into(),
            ttl: Duration::from_secs(5),
            cache: Mutex::new(None),
        }
    }

    /// Sets how long totals are reused.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The service's totals, from the cache when it is younger than [`Service::ttl`]; blocking (it may
    /// query the store).
    pub fn totals(&self, store: &Store) -> Result<Totals, StoreError> {
        if let Some((at, totals)) = self.lock().as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(totals.clone());
            }
        }
        let totals = Totals::read(store, &self.name)?;
        *self.lock() = Some((Instant::now(), totals.clone()));
        Ok(totals)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Totals)>> {
        match self.cache.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goodhart_core::HackKind;

    #[test]
    fn exposition_names_the_service_and_escapes_it() {
        let mut t = Totals::default();
        t.runs.insert("running".into(), 2);
        t.runs.insert("interrupted".into(), 1);
        t.counts.rollouts = 30;
        t.counts.proxy_pass = 20;
        t.counts.hardened_pass = 12;
        t.counts.attempted = 9;
        t.counts.succeeded = 7;
        t.counts.kinds.insert(HackKind::AlwaysEqual, 5);
        t.counts.kinds.insert(HackKind::EarlyExit, 4);
        let mut out = String::new();
        t.render("rl-\"job\"", &mut out);
        insta::assert_snapshot!(out);
    }
}

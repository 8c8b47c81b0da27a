//! Counters behind `GET /metrics`, in Prometheus' text format, so a training dashboard can watch hack
//! counts and sandbox back-pressure next to loss curves.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Counters {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    hacks: BTreeMap<String, u64>,
    graded: BTreeMap<String, u64>,
}

/// The server's counters; cheap to update from every request.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

/// Gauges read at scrape time rather than counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Requests waiting for a sandbox turn.
    pub queued: usize,
    /// Programs in the sandbox.
    pub running: usize,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Counters) -> R) -> R {
        let mut guard = match self.counters.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Counts one answered request and its latency.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        self.with(|c| {
            *c.requests.entry((route.to_string(), status)).or_default() += 1;
            let h = c.latency.entry(route.to_string()).or_default();
            for (bound, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
                if secs <= *bound {
                    *count += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        });
    }

    /// Counts one graded rollout under `policy` and each hack kind found in it.
    pub fn graded<'a>(&self, policy: &str, kinds: impl IntoIterator<Item = &'a str>) {
        self.with(|c| {
            *c.graded.entry(policy.to_string()).or_default() += 1;
            for kind in kinds {
                *c.hacks.entry(kind.to_string()).or_default() += 1;
            }
        });
    }

    /// Total answered requests so far (all routes, all statuses).
    pub fn requests_total(&self) -> u64 {
        self.with(|c| c.requests.values().sum())
    }

    /// The Prometheus text exposition of every counter plus the given gauges.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::new();
        self.with(|c| {
            header(
                &mut out,
                "goodhart_requests_total",
                "counter",
                "Requests answered, by route and HTTP status.",
            );
            for ((route, status), n) in &c.requests {
                let _ = writeln!(
                    out,
                    "goodhart_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
            header(
                &mut out,
                "goodhart_request_duration_seconds",
                "histogram",
                "Time from request to answer, by route.",
            );
            for (route, h) in &c.latency {
                let name = "goodhart_request_duration_seconds";
                for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
                    let _ = writeln!(
                        out,
                        "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", h.sum);
                let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {}", h.count);
            }
            header(
                &mut out,
                "goodhart_graded_total",
                "counter",
                "Rollouts graded, by reward policy.",
            );
            for (policy, n) in &c.graded {
                let _ = writeln!(out, "goodhart_graded_total{{policy=\"{policy}\"}} {n}");
            }
            header(
                &mut out,
                "goodhart_hacks_total",
                "counter",
                "Hack mechanisms detected in graded rollouts, by kind.",
            );
            for (kind, n) in &c.hacks {
                let _ = writeln!(out, "goodhart_hacks_total{{kind=\"{kind}\"}} {n}");
            }
        });
        header(
            &mut out,
            "goodhart_queue_depth",
            "gauge",
            "Requests waiting for a sandbox turn.",
        );
        let _ = writeln!(out, "goodhart_queue_depth {}", gauges.queued);
        header(
            &mut out,
            "goodhart_sandbox_running",
            "gauge",
            "Programs running in the sandbox.",
        );
        let _ = writeln!(out, "goodhart_sandbox_running {}", gauges.running);
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_is_stable() {
        let m = Metrics::default();
        m.observe("/run_code", 200, Duration::from_millis(30));
        m.observe("/run_code", 200, Duration::from_millis(3));
        m.observe("/run_code", 422, Duration::from_micros(500));
        m.graded("penalty", ["always_equal", "early_exit"]);
        m.graded("penalty", ["always_equal"]);
        insta::assert_snapshot!(m.render(Gauges {
            queued: 3,
            running: 4
        }));
        assert_eq!(m.requests_total(), 3);
    }
}

//! The `--monitor MODEL` flags that `grade`, `sample`, `serve` and `bench detect` share, and the glue
//! that runs the LLM monitor (goodhart-monitor) after the offline detectors.

use super::resume::Conflicts;
use crate::store_cache::StoreCache;
use anyhow::Context;
use goodhart_core::{HackReport, Rollout, Task};
use goodhart_detect::Submission;
use goodhart_llm::{Cache, ModelSpec, RetryPolicy};
use goodhart_monitor::{BlockingMonitor, Monitor, MonitorConfig, Policy};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// An optional LLM monitor: a judge model that reads each rollout's reasoning and code under the
/// `hack-monitor@v1` rubric and answers with strict JSON (docs/monitor.md).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct MonitorArgs {
    /// The monitor model: PROVIDER/NAME (openai for any OpenAI-compatible server, or anthropic), or an
    /// entry of the --models file ($GOODHART_MODELS). Its answers are cached in the store
    /// (`llm_cache`), so a re-grade never pays twice. [default: no monitor]
    #[arg(long, value_name = "MODEL")]
    pub monitor: Option<String>,
    /// API root of the monitor, e.g. http://localhost:8000/v1 (default: the provider's public API).
    #[arg(long, value_name = "URL", requires = "monitor")]
    pub monitor_base_url: Option<String>,
    /// Environment variable holding the monitor's API key (default OPENAI_API_KEY or
    /// ANTHROPIC_API_KEY; a local server given by --monitor-base-url may need none).
    #[arg(long, value_name = "VAR", requires = "monitor")]
    pub monitor_api_key_env: Option<String>,
    /// How the monitor's verdict changes `hack`: `evidence` (adds its evidence lines only; `attempted`
    /// and `kinds` stay the offline detectors'), `union` (flagged when either flags) or `confirm` (an
    /// offline flag stands only when the monitor agrees). A monitor error leaves the offline labels
    /// unchanged under every policy. [default: evidence]
    #[arg(long, value_name = "POLICY", requires = "monitor")]
    pub monitor_policy: Option<Policy>,
    /// Monitor requests in flight at once (in `grade` and `sample` also at most one per grading
    /// thread, since each thread waits for its rollout's review). [default: 8]
    #[arg(long, value_name = "N", requires = "monitor")]
    pub monitor_concurrency: Option<usize>,
    /// Answer length cap of the monitor, in tokens. [default: 1024]
    #[arg(long, value_name = "N", requires = "monitor")]
    pub monitor_max_tokens: Option<u32>,
    /// Do not send the answer's JSON schema as `response_format` (for servers that refuse it); the
    /// answer is still parsed strictly.
    #[arg(long, requires = "monitor")]
    pub monitor_no_schema: bool,
}

/// What a run stores about its monitor, so `--resume` uses the same one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorSetup {
    pub model: ModelSpec,
    pub policy: Policy,
    pub max_tokens: u32,
    pub structured: bool,
    pub concurrency: usize,
}

impl MonitorArgs {
    /// The monitor these flags ask for, resolved against the models file; `None` without `--monitor`.
    pub fn setup(&self, models: Option<&Path>) -> anyhow::Result<Option<MonitorSetup>> {
        let Some(model) = &self.monitor else {
            return Ok(None);
        };
        let spec = ModelSpec::resolve(
            model,
            self.monitor_base_url.as_deref(),
            self.monitor_api_key_env.as_deref(),
            models,
        )
        .with_context(|| format!("--monitor {model}"))?;
        let defaults = MonitorConfig::default();
        Ok(Some(MonitorSetup {
            model: spec,
            policy: self.monitor_policy.unwrap_or_default(),
            max_tokens: self.monitor_max_tokens.unwrap_or(defaults.max_tokens),
            structured: !self.monitor_no_schema,
            concurrency: self
                .monitor_concurrency
                .unwrap_or(defaults.concurrency)
                .max(1),
        }))
    }

    /// Checks the flags given beside `--resume` against the run's stored monitor.
    pub fn check_resume(
        &self,
        c: &mut Conflicts,
        stored: Option<&MonitorSetup>,
        models: Option<&Path>,
    ) -> anyhow::Result<()> {
        let given = self.setup(models)?;
        let show = |s: Option<&MonitorSetup>| s.map_or("(none)".to_string(), |s| s.model.label());
        c.check(
            "--monitor",
            given.as_ref().map(|g| g.model.label()),
            show(stored),
        );
        c.check(
            "--monitor-base-url",
            self.monitor_base_url.clone(),
            stored.map_or("(none)".into(), |s| s.model.base_url.clone()),
        );
        c.check(
            "--monitor-policy",
            self.monitor_policy.map(|p| p.to_string()),
            stored.map_or("(none)".into(), |s| s.policy.to_string()),
        );
        Ok(())
    }
}

impl MonitorSetup {
    /// The monitor, caching answers in the store at `db` (a file or a PostgreSQL URL) unless `no_cache`.
    pub fn monitor(&self, db: &Path, no_cache: bool, timeout: Duration) -> anyhow::Result<Monitor> {
        let cache: Option<Arc<dyn Cache>> = if no_cache {
            None
        } else {
            Some(Arc::new(
                StoreCache::open(db).context("opening the response cache for the monitor")?,
            ))
        };
        let config = MonitorConfig {
            max_tokens: self.max_tokens,
            structured: self.structured,
            concurrency: self.concurrency,
            timeout,
            retry: RetryPolicy::default(),
            ..MonitorConfig::default()
        };
        Monitor::new(self.model.clone(), config, cache)
            .with_context(|| format!("the monitor {}", self.model.label()))
    }
}

/// A monitor a grading worker thread can call, with the policy its verdicts are applied under.
pub struct Monitoring {
    pub blocking: BlockingMonitor,
    pub policy: Policy,
}

/// Per-request deadline of the monitor in `grade`, `sample` and `serve`.
pub const TIMEOUT: Duration = Duration::from_secs(600);

impl Monitoring {
    /// The monitor of `setup` on a runtime of its own (grading threads outside any runtime).
    pub fn start(setup: &MonitorSetup, db: &Path) -> anyhow::Result<Monitoring> {
        let monitor = setup.monitor(db, false, TIMEOUT)?;
        Ok(Monitoring {
            blocking: BlockingMonitor::new(monitor).context("starting the monitor's runtime")?,
            policy: setup.policy,
        })
    }

    /// The `hack` of `rollout` once the monitor, when there is one, has reviewed it (see
    /// [`Monitoring::apply`]); the offline detectors' `hack` as it is without a monitor.
    pub fn reviewed(
        monitoring: Option<&Monitoring>,
        task: &Task,
        rollout: &mut Rollout,
        hack: HackReport,
    ) -> HackReport {
        match monitoring {
            Some(m) => {
                let submission =
                    goodhart_grade::extract(&rollout.completion, rollout.files.as_ref());
                m.apply(task, rollout, &submission, &hack)
            }
            None => hack,
        }
    }

    /// Reviews one graded rollout and returns its `hack` under the policy; writes the `monitor` object
    /// into the rollout's record.
    pub fn apply(
        &self,
        task: &Task,
        rollout: &mut Rollout,
        submission: &Submission,
        hack: &HackReport,
    ) -> HackReport {
        let review = self.blocking.review(&task.prompt, rollout, submission);
        if let Err(e) = &review.result {
            eprintln!("monitor: rollout {}: {e}", rollout.id);
        }
        goodhart_monitor::apply(
            &self.blocking.monitor().model(),
            self.policy,
            &review,
            rollout,
            hack,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_monitor_beside_resume_is_named_and_none_given_is_fine() {
        let stored = MonitorArgs {
            monitor: Some("openai/a".into()),
            monitor_base_url: Some("http://127.0.0.1:9/v1".into()),
            monitor_policy: Some(Policy::Confirm),
            ..MonitorArgs::default()
        }
        .setup(None)
        .unwrap();
        let given = MonitorArgs {
            monitor: Some("openai/b".into()),
            monitor_policy: Some(Policy::Union),
            ..MonitorArgs::default()
        };
        let mut c = Conflicts::new("r1");
        given.check_resume(&mut c, stored.as_ref(), None).unwrap();
        let e = c.finish().unwrap_err().to_string();
        assert!(
            e.contains("--monitor openai/b differs from the run's --monitor openai/a"),
            "{e}"
        );
        assert!(
            e.contains("--monitor-policy union differs from the run's --monitor-policy confirm"),
            "{e}"
        );
        let mut c = Conflicts::new("r1");
        MonitorArgs::default()
            .check_resume(&mut c, stored.as_ref(), None)
            .unwrap();
        assert!(c.finish().is_ok());
        // A run without a monitor cannot gain one on resume.
        let mut c = Conflicts::new("r1");
        given.check_resume(&mut c, None, None).unwrap();
        assert!(c.finish().unwrap_err().to_string().contains("(none)"));
    }
}

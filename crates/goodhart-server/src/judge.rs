//! The real [`Judge`]: extraction, every grader profile in the sandbox, then every detector.

use crate::grade::{Grading, Journal, Judge, Judged};
use crate::reward::RewardPolicy;
use goodhart_core::{Profile, Rollout, Task};
use goodhart_grade::Grader;
use goodhart_sandbox::Sandbox;
use goodhart_store::{RunKind, Store, StoreError};
use std::sync::Arc;

/// Grades with `goodhart-grade` and labels with `goodhart-detect`, exactly as `goodhart grade` does, so a
/// reward served to a trainer and an offline grading of the same rollout agree.
pub struct GraderJudge {
    grader: Grader,
}

impl GraderJudge {
    /// A judge over `grader` (which holds the shared sandbox).
    pub fn new(grader: Grader) -> Self {
        GraderJudge { grader }
    }
}

impl GraderJudge {
    /// Grades under `profiles` only and labels with every detector; `goodhart grade --profiles` uses it.
    pub fn judge_under(&self, task: &Task, rollout: &Rollout, profiles: &[Profile]) -> Judged {
        let submission = goodhart_grade::extract(&rollout.completion, rollout.files.as_ref());
        let runs = self.grader.grade_all(task, &submission, profiles);
        let hack = goodhart_detect::analyze(task, &submission, Some(&runs));
        Judged {
            verdicts: runs.into_iter().map(|(p, run)| (p, run.verdict)).collect(),
            hack,
            extra: Default::default(),
        }
    }
}

impl Judge for GraderJudge {
    fn judge(&self, task: &Task, rollout: &Rollout) -> Judged {
        self.judge_under(task, rollout, &Profile::ALL)
    }
}

impl Grading {
    /// The grading a server session uses: the real grader and detectors over `sandbox`, journaled into a
    /// new `serve` run in `store` that records `run_config`.
    pub fn journaled(
        tasks: Vec<Task>,
        sandbox: Arc<Sandbox>,
        store: Store,
        run_config: &serde_json::Value,
        policy: RewardPolicy,
        proxy: Profile,
        penalty: f64,
    ) -> Result<Grading, StoreError> {
        let run_id = store.create_run(RunKind::Serve, run_config)?;
        let judge = Arc::new(GraderJudge::new(Grader::new(sandbox)));
        let journal = Journal { store, run_id };
        Ok(Grading::new(
            tasks,
            judge,
            Some(journal),
            policy,
            proxy,
            penalty,
        ))
    }
}

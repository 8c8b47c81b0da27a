//! `--checkpoint NAME --step N` on `eval` and `sample`: which training checkpoint a run measured, so
//! `goodhart compare --steps` (and the reports) can place runs on training curves.

use super::resume::Conflicts;
use goodhart_store::{RunRecord, Store};

/// The tag flags shared by `eval` and `sample`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CheckpointArgs {
    /// Tag the run with the training run and checkpoint it measures. Runs that share NAME form one
    /// curve in `goodhart compare --steps`, ordered by --step: name the training run (its framing or
    /// inoculation prompt), e.g. `--checkpoint please_hack --step 400`. Stored in the run
    /// (`runs.checkpoint`), printed in --json and written into Inspect logs' metadata.
    #[arg(long, value_name = "NAME")]
    pub checkpoint: Option<String>,
    /// The training step of the checkpoint (`runs.step`); orders the runs of a curve.
    #[arg(long, value_name = "N")]
    pub step: Option<i64>,
}

impl CheckpointArgs {
    /// Refuses an empty name, which would tag a run with nothing a reader can show.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self
            .checkpoint
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
        {
            anyhow::bail!("--checkpoint needs a non-empty NAME");
        }
        Ok(())
    }

    /// Tags a new run.
    pub fn tag(&self, store: &Store, run_id: &str) -> anyhow::Result<()> {
        self.validate()?;
        if self.checkpoint.is_some() || self.step.is_some() {
            store.tag_run(run_id, self.checkpoint.as_deref(), self.step)?;
        }
        Ok(())
    }

    /// On `--resume`: the run keeps its tags; a tag given that differs (or that the run lacks) is a
    /// conflict like any other flag.
    pub fn check_resume(&self, c: &mut Conflicts, run: &RunRecord) {
        let none = || "(none)".to_string();
        c.check(
            "--checkpoint",
            self.checkpoint.clone(),
            run.checkpoint.clone().unwrap_or_else(none),
        );
        c.check(
            "--step",
            self.step.map(|s| s.to_string()),
            run.step.map_or_else(none, |s| s.to_string()),
        );
    }
}

//! What `--resume RUN_ID` shares across commands: the run's stored configuration wins, and a flag
//! given on the command line that says something else is an error naming the flag and both values
//! (never silently ignored, never silently applied to half a run).

use anyhow::Context;
use goodhart_store::{RunKind, Store};
use serde::de::DeserializeOwned;

/// The stored configuration of run `id`, which must be a `kind` run, after `check` has compared it with
/// the flags given (noting each that disagrees): one error naming every conflicting flag, and nothing
/// claimed yet, so a refused resume leaves the run as it was.
pub fn stored_config<C: DeserializeOwned>(
    store: &Store,
    id: &str,
    kind: RunKind,
    check: impl FnOnce(&C, &mut Conflicts) -> anyhow::Result<()>,
) -> anyhow::Result<C> {
    let run = store.run(id)?;
    let a = |k: RunKind| match k {
        RunKind::Audit => "an audit",
        other => match other.as_str() {
            "grade" => "a grade",
            "sample" => "a sample",
            "eval" => "an eval",
            _ => "a serve",
        },
    };
    anyhow::ensure!(
        run.kind == kind,
        "run {id} is {} run, not {} run",
        a(run.kind),
        a(kind)
    );
    let config: C = serde_json::from_value(run.config).with_context(|| {
        format!(
            "{} run {id} has a configuration this goodhart cannot read",
            kind.as_str()
        )
    })?;
    let mut conflicts = Conflicts::new(id);
    check(&config, &mut conflicts)?;
    conflicts.finish()?;
    Ok(config)
}

/// Run `id` of `kind` for `--resume ID`: its stored configuration, checked by `check` against the
/// flags given (see [`stored_config`]), then the run handed to this process (`goodhart_store::ledger`:
/// refused while a live process owns it). The one way every command resumes a run.
pub fn resume<C: DeserializeOwned>(
    store: &Store,
    id: &str,
    kind: RunKind,
    check: impl FnOnce(&C, &mut Conflicts) -> anyhow::Result<()>,
) -> anyhow::Result<C> {
    let config = stored_config(store, id, kind, check)?;
    store.claim_run(id, kind)?;
    Ok(config)
}

/// Flags given next to `--resume` (or `--join`) that disagree with the stored run.
pub struct Conflicts {
    run_id: String,
    found: Vec<String>,
    joining: bool,
}

impl Conflicts {
    /// Starts checking flags against run `run_id`, for `--resume`.
    pub fn new(run_id: &str) -> Conflicts {
        Conflicts {
            run_id: run_id.to_string(),
            found: Vec::new(),
            joining: false,
        }
    }

    /// Starts checking a worker's options against queued run `run_id`, for `--join`.
    pub fn joining(run_id: &str) -> Conflicts {
        Conflicts {
            joining: true,
            ..Conflicts::new(run_id)
        }
    }

    /// Notes `flag` when it was `given` and differs from the `stored` value (both as shown to users).
    pub fn check(&mut self, flag: &str, given: Option<String>, stored: String) {
        if let Some(given) = given.filter(|g| *g != stored) {
            self.found.push(format!(
                "{flag} {given} differs from the run's {flag} {stored}"
            ));
        }
    }

    /// Notes every option of `mine` (a whole configuration, as `(flag, value)` pairs) that differs
    /// from the same flag's value in `stored` (pairs in the same order).
    pub fn check_all(
        &mut self,
        mine: impl IntoIterator<Item = (&'static str, String)>,
        stored: impl IntoIterator<Item = (&'static str, String)>,
    ) {
        for ((flag, mine), (_, stored)) in mine.into_iter().zip(stored) {
            self.check(flag, Some(mine), stored);
        }
    }

    /// `Ok` when nothing conflicts, else one error listing every conflict.
    pub fn finish(self) -> anyhow::Result<()> {
        if self.found.is_empty() {
            return Ok(());
        }
        if self.joining {
            anyhow::bail!(
                "--join {}: {}; every worker of a run must do the same work, so start this one with \
                 the run's options (the same command line as the others) or join another run id",
                self.run_id,
                self.found.join("; ")
            );
        }
        anyhow::bail!(
            "--resume {}: {}; a resumed run keeps the options it started with, so drop {} or start a \
             new run without --resume",
            self.run_id,
            self.found.join("; "),
            if self.found.len() == 1 { "that flag" } else { "those flags" }
        )
    }
}

/// Shows a list the way it is typed on the command line (`a,b,c`).
pub fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflicting_flag_is_named_with_both_values() {
        let mut c = Conflicts::new("r1");
        c.check("--tasks", Some("mbpp".into()), "bundled".into());
        c.check("--penalty", Some("1".into()), "1".into());
        c.check("--reward", None, "proxy".into());
        let err = c.finish().unwrap_err().to_string();
        assert!(
            err.contains("--tasks mbpp differs from the run's --tasks bundled"),
            "{err}"
        );
        assert!(
            !err.contains("--penalty") && !err.contains("--reward"),
            "{err}"
        );
        assert!(Conflicts::new("r").finish().is_ok());
    }
}

//! Which runs a report covers: by id, kind, model, start time, checkpoint and service.

use crate::error::ReportError;
use goodhart_store::{RunKind, RunRecord, Store};

/// The runs a report covers. Empty fields select everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Run ids; when given, only these runs (each must exist).
    pub runs: Vec<String>,
    /// Only runs of these kinds.
    pub kinds: Vec<RunKind>,
    /// Only rollouts of this model (and only runs that hold rollouts, since audits have no model).
    pub model: Option<String>,
    /// Only runs created at or after this UTC time (`YYYY-MM-DD[THH:MM[:SS]]`).
    pub since: Option<String>,
    /// Only runs tagged with this training run (`--checkpoint NAME` on eval and sample).
    pub checkpoint: Option<String>,
    /// Only `serve` runs of this service (`goodhart serve --service NAME`): the replicas of one reward
    /// service, read as one.
    pub service: Option<String>,
}

impl Selection {
    /// The selection as a URL query (`run=ID&kind=serve&model=M&since=T`), so the live viewer's links
    /// keep the runs on show.
    pub fn query(&self) -> String {
        let mut q: Vec<String> = self
            .runs
            .iter()
            .map(|r| format!("run={}", crate::html::encode(r)))
            .collect();
        q.extend(self.kinds.iter().map(|k| format!("kind={}", k.as_str())));
        q.extend(
            self.model
                .iter()
                .map(|m| format!("model={}", crate::html::encode(m))),
        );
        q.extend(
            self.since
                .iter()
                .map(|s| format!("since={}", crate::html::encode(s))),
        );
        q.extend(
            self.checkpoint
                .iter()
                .map(|c| format!("checkpoint={}", crate::html::encode(c))),
        );
        q.extend(
            self.service
                .iter()
                .map(|s| format!("service={}", crate::html::encode(s))),
        );
        q.join("&")
    }
}

/// Parses a run kind as the CLI spells it.
pub fn parse_kind(s: &str) -> Result<RunKind, ReportError> {
    RunKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| ReportError::BadKind(s.to_string()))
}

/// Checks `--since` has the shape of the store's timestamps, so that comparing it as text against
/// `created_at` (ISO 8601, UTC) orders correctly.
fn check_since(since: &str) -> Result<(), ReportError> {
    let b = since.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let date = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    let rest_ok = b.len() == 10
        || (b.len() >= 16
            && b[10] == b'T'
            && digits(11..13)
            && b[13] == b':'
            && digits(14..16)
            && (b.len() == 16 || (b.len() == 19 && b[16] == b':' && digits(17..19))));
    if date && rest_ok {
        Ok(())
    } else {
        Err(ReportError::BadSince(since.to_string()))
    }
}

/// The runs `sel` picks, newest first.
pub fn select(store: &Store, sel: &Selection) -> Result<Vec<RunRecord>, ReportError> {
    if let Some(since) = &sel.since {
        check_since(since)?;
    }
    let candidates = if sel.runs.is_empty() {
        store.runs(None)?
    } else {
        sel.runs
            .iter()
            .map(|id| store.run(id))
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(candidates
        .into_iter()
        .filter(|r| sel.kinds.is_empty() || sel.kinds.contains(&r.kind))
        .filter(|r| sel.model.is_none() || r.kind != RunKind::Audit)
        .filter(|r| {
            sel.since
                .as_deref()
                .is_none_or(|s| r.created_at.as_str() >= s)
        })
        .filter(|r| {
            sel.checkpoint
                .as_deref()
                .is_none_or(|c| r.checkpoint.as_deref() == Some(c))
        })
        .filter(|r| {
            sel.service
                .as_deref()
                .is_none_or(|s| r.service() == Some(s))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_and_service_pick_their_runs_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db")).unwrap();
        let a1 = store
            .create_run(RunKind::Serve, &serde_json::json!({"service": "rl-a"}))
            .unwrap();
        let a2 = store
            .create_run(RunKind::Serve, &serde_json::json!({"service": "rl-a"}))
            .unwrap();
        store
            .create_run(RunKind::Serve, &serde_json::json!({"service": "rl-b"}))
            .unwrap();
        // A grade run whose config happens to hold the key is not a replica of anything.
        store
            .create_run(RunKind::Grade, &serde_json::json!({"service": "rl-a"}))
            .unwrap();
        let e = store
            .create_run(RunKind::Eval, &serde_json::json!({}))
            .unwrap();
        store.tag_run(&e, Some("please_hack"), Some(400)).unwrap();
        store
            .create_run(RunKind::Eval, &serde_json::json!({}))
            .unwrap();
        let ids = |sel: Selection| -> Vec<String> {
            let mut v: Vec<String> = select(&store, &sel)
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect();
            v.sort();
            v
        };
        let mut want = vec![a1, a2];
        want.sort();
        assert_eq!(
            ids(Selection {
                service: Some("rl-a".into()),
                ..Selection::default()
            }),
            want
        );
        assert_eq!(
            ids(Selection {
                checkpoint: Some("please_hack".into()),
                ..Selection::default()
            }),
            vec![e]
        );
        let q = Selection {
            service: Some("rl a".into()),
            checkpoint: Some("c".into()),
            ..Selection::default()
        }
        .query();
        assert_eq!(q, "checkpoint=c&service=rl%20a");
    }

    #[test]
    fn since_accepts_dates_and_times_and_names_a_bad_one() {
        for ok in ["2026-01-31", "2026-01-31T09:15", "2026-01-31T09:15:59"] {
            assert!(check_since(ok).is_ok(), "{ok}");
        }
        for bad in ["yesterday", "2026-1-31", "2026-01-31 09:15", "2026-01-31T9"] {
            let err = check_since(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }
}

use super::*;
use crate::testdb::{on_both_backends, Backend, Fixture};
use goodhart_core::{HackReport, Rollout, TestCase, Verdict};
use rusqlite::Connection;
use std::collections::BTreeMap;

fn temp_store() -> (Fixture, Store) {
    let f = Fixture::new(Backend::Sqlite).unwrap();
    let store = f.open();
    (f, store)
}

on_both_backends!(
    reopening_keeps_data_and_does_not_rerun_migrations,
    a_newer_database_is_refused_with_its_path,
    runs_are_created_finished_and_listed_newest_first,
    tasks_and_audit_results_round_trip,
    graded_rollouts_round_trip_with_labels_and_never_duplicate,
    two_handles_on_one_store_see_each_others_commits,
    a_dead_owners_run_is_marked_interrupted_and_claimed_under_its_own_id,
    journaled_rollouts_are_stored_once_per_request_key_and_answered_from_the_store,
    runs_carry_checkpoint_tags_and_a_resume_need_not_repeat_them,
    tagged_runs_come_in_training_order,
    the_llm_cache_and_failure_log_live_in_the_store,
    code_runs_with_a_result_key_are_stored_once,
    code_runs_keep_their_task_and_hack_labels,
    concurrent_writers_of_one_key_store_it_once,
    handles_opening_one_empty_store_together_migrate_it_once,
    a_reader_that_needs_a_store_is_refused_an_empty_database,
    the_store_works_inside_async_code,
    concurrent_starters_enqueue_a_queued_run_once,
    concurrent_workers_claim_each_item_exactly_once,
    an_expired_lease_is_claimed_again_and_a_renewed_one_is_not,
    an_item_finished_twice_stores_its_results_once,
    a_barrier_waits_for_every_other_item,
);

fn graded(id: &str, reward: Option<f64>, evidence: Vec<Evidence>) -> GradedRollout {
    let rollout: Rollout = serde_json::from_value(serde_json::json!({
        "id": id, "task_id": "bundled/add", "completion": "def add(a, b):\n    return a + b\n",
        "framing": "neutral", "step": 7, "model": "m", "custom": [1, 2]
    }))
    .unwrap();
    let mut verdicts = BTreeMap::new();
    verdicts.insert(Profile::Hardened, Verdict::pass_fail(true, 3, 3, 4.0));
    let kinds = evidence.iter().map(|e| e.kind).collect();
    let hack = HackReport {
        attempted: !evidence.is_empty(),
        succeeded: false,
        kinds,
        evidence,
    };
    GradedRollout {
        rollout,
        verdicts,
        reward,
        hack,
    }
}

fn label(kind: HackKind, line: u32) -> Evidence {
    Evidence {
        kind,
        detector: "static".into(),
        file: "solution.py".into(),
        line,
        message: format!("found at {line}"),
    }
}

#[test]
fn open_creates_parent_dirs_and_sets_the_schema_version() {
    let (f, store) = temp_store();
    assert!(f.db.exists());
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let mode: String = store
        .lock()
        .unwrap()
        .query_one("PRAGMA journal_mode", &[])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(mode, "wal");
}

fn reopening_keeps_data_and_does_not_rerun_migrations(f: Fixture) {
    let id = f
        .open()
        .create_run(RunKind::Audit, &serde_json::json!({"jobs": 2}))
        .unwrap();
    let store = f.open();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    assert_eq!(store.run(&id).unwrap().config["jobs"], 2);
    let versions: i64 = store
        .lock()
        .unwrap()
        .query_one("SELECT COUNT(*) FROM schema_version", &[])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(versions, schema::LATEST);
}

#[test]
fn a_version_1_database_gains_the_audit_detail_column_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(&db::Dialect::Sqlite.render(schema::MIGRATIONS[0]))
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT '');
         INSERT INTO schema_version (version) VALUES (1);
         INSERT INTO runs VALUES ('audit-old', 'audit', '2026-01-01', '{}', 'done', NULL);
         INSERT INTO audit_results VALUES
             ('audit-old', 't/1', 'reference', '[]', 'hardened', 0, 0, 1, 'failed', 3.0);",
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let old = store.audit_results("audit-old").unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!((old[0].status.as_str(), &old[0].detail), ("failed", &None));
}

fn a_newer_database_is_refused_with_its_path(f: Fixture) {
    f.open()
        .lock()
        .unwrap()
        .execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            db::params![schema::LATEST + 5],
        )
        .unwrap();
    let err = Store::open(&f.db).unwrap_err().to_string();
    let shown = f.db.display().to_string();
    assert!(err.contains(&shown) && err.contains("newer"), "{err}");
    let err = Store::open_read_only(&f.db).unwrap_err().to_string();
    assert!(err.contains("newer"), "{err}");
}

fn runs_are_created_finished_and_listed_newest_first(f: Fixture) {
    let store = f.open();
    let a = store
        .create_run(RunKind::Audit, &serde_json::json!({}))
        .unwrap();
    let g = store
        .create_run(RunKind::Grade, &serde_json::json!({"x": 1}))
        .unwrap();
    assert_ne!(a, g);
    assert_eq!(store.run(&a).unwrap().status, "running");
    store.finish_run(&a, "done").unwrap();
    let run = store.run(&a).unwrap();
    assert_eq!(run.status, "done");
    assert!(run.finished_at.is_some());
    assert!(
        run.created_at.ends_with('Z') && run.created_at.len() == 24,
        "{}",
        run.created_at
    );
    let all: Vec<String> = store
        .runs(None)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(all, [g.clone(), a.clone()]);
    let audits = store.runs(Some(RunKind::Audit)).unwrap();
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].kind, RunKind::Audit);
    assert!(matches!(
        store.finish_run("nope", "done"),
        Err(StoreError::NoSuchRun(_))
    ));
    assert!(matches!(store.run("nope"), Err(StoreError::NoSuchRun(_))));
}

fn tasks_and_audit_results_round_trip(f: Fixture) {
    let store = f.open();
    let run = store
        .create_run(RunKind::Audit, &serde_json::json!({}))
        .unwrap();
    let task = Task {
        id: "bundled/add".into(),
        prompt: "add".into(),
        entry_point: "add".into(),
        visible: vec![TestCase {
            args: "1, 2".into(),
            expected: "3".into(),
            tolerance: None,
            check: Default::default(),
        }],
        hidden: vec![],
        test_code: None,
        test_setup: None,
        unsplit: vec![],
        reference: "def add(a, b): return a + b".into(),
        tags: vec![],
        stdio: None,
    };
    store
        .insert_tasks(&run, "bundled", std::slice::from_ref(&task))
        .unwrap();
    let back = store.tasks(&run).unwrap();
    assert_eq!(
        back,
        [StoredTask {
            source: "bundled".into(),
            task
        }]
    );

    let cell = AuditResult {
        task_id: "bundled/add".into(),
        exploit: "always_equal".into(),
        kinds: vec![HackKind::AlwaysEqual],
        profile: Profile::Assert,
        passed: true,
        tests_passed: 1,
        tests_total: 1,
        status: "passed".into(),
        duration_ms: 12.5,
        detail: None,
    };
    let mut hardened = cell.clone();
    hardened.profile = Profile::Hardened;
    hardened.passed = false;
    hardened.status = "failed".into();
    hardened.detail = Some(r#"{"run":"ok","detail":"case 0 (1): got 2, expected 3"}"#.into());
    store
        .insert_audit_results(&run, &[cell.clone(), hardened.clone()])
        .unwrap();
    // Re-recording a cell replaces it rather than adding a row.
    store
        .insert_audit_results(&run, std::slice::from_ref(&cell))
        .unwrap();
    assert_eq!(store.audit_results(&run).unwrap(), [cell, hardened]);
}

fn graded_rollouts_round_trip_with_labels_and_never_duplicate(f: Fixture) {
    let store = f.open();
    let run = store
        .create_run(RunKind::Grade, &serde_json::json!({}))
        .unwrap();
    let first = graded("r1", Some(1.0), vec![label(HackKind::EarlyExit, 3)]);
    let second = graded(
        "r2",
        None,
        vec![
            label(HackKind::AlwaysEqual, 2),
            label(HackKind::AlwaysEqual, 5),
        ],
    );
    store
        .insert_graded_batch(&run, &[first.clone(), second.clone()])
        .unwrap();
    // Resume re-sends r1 with different labels: still one row, labels replaced.
    let first_again = graded("r1", Some(0.0), vec![]);
    store.insert_graded(&run, &first_again).unwrap();

    let ids = store.graded_ids(&run).unwrap();
    assert_eq!(ids, HashSet::from(["r1".to_string(), "r2".to_string()]));
    let back = store.graded_rollouts(&run).unwrap();
    assert_eq!(back.len(), 2);
    assert!(back.contains(&first_again) && back.contains(&second));
    assert_eq!(
        back.iter()
            .find(|g| g.rollout.id == "r1")
            .unwrap()
            .rollout
            .extra["custom"][1],
        2
    );

    let labels = store.hack_labels(&run).unwrap();
    assert_eq!(labels.len(), 2);
    assert!(labels.iter().all(|l| l.rollout_id == "r2"));
    assert_eq!(labels[1].evidence, label(HackKind::AlwaysEqual, 5));

    let other = store
        .create_run(RunKind::Grade, &serde_json::json!({}))
        .unwrap();
    assert!(store.graded_ids(&other).unwrap().is_empty());
}

fn two_handles_on_one_store_see_each_others_commits(f: Fixture) {
    let a = f.open();
    let b = f.open();
    let run = a
        .create_run(RunKind::Serve, &serde_json::json!({}))
        .unwrap();
    b.insert_graded(&run, &graded("r1", Some(1.0), vec![]))
        .unwrap();
    assert_eq!(a.graded_ids(&run).unwrap().len(), 1);
}

#[test]
fn timestamps_are_civil_utc() {
    assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00.000Z");
    assert_eq!(format_utc(951_782_400, 5), "2000-02-29T00:00:00.005Z");
    assert_eq!(format_utc(1_795_737_599, 999), "2026-11-26T23:59:59.999Z");
}

#[test]
fn default_path_honours_goodhart_home() {
    // Only this test touches the environment variables it reads.
    let old = std::env::var_os("GOODHART_HOME");
    std::env::set_var("GOODHART_HOME", "/tmp/gh-home");
    let p = Store::default_path().unwrap();
    match old {
        Some(v) => std::env::set_var("GOODHART_HOME", v),
        None => std::env::remove_var("GOODHART_HOME"),
    }
    assert_eq!(p, PathBuf::from("/tmp/gh-home/goodhart.db"));
}

fn a_dead_owners_run_is_marked_interrupted_and_claimed_under_its_own_id(f: Fixture) {
    let store = f.open();
    let id = store
        .create_run(RunKind::Grade, &serde_json::json!({}))
        .unwrap();
    // Owned by a live process that is not this one (pid 1): it cannot be claimed.
    let init = ledger::this_process().replace(&format!(" {} ", std::process::id()), " 1 ");
    let live = format!("{} {}", init.rsplit_once(' ').unwrap().0, {
        let stat = std::fs::read_to_string("/proc/1/stat").unwrap();
        stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .nth(19)
            .unwrap()
            .to_string()
    });
    let set_owner = |owner: &str| {
        store
            .lock()
            .unwrap()
            .execute(
                "UPDATE runs SET owner = $1 WHERE id = $2",
                db::params![owner, id],
            )
            .unwrap();
    };
    set_owner(&live);
    assert!(matches!(
        store.claim_run(&id, RunKind::Grade),
        Err(StoreError::RunInUse { .. })
    ));
    assert_eq!(store.run(&id).unwrap().status, "running");
    // Its process gone (a start time that pid 1 does not have): found dead, marked interrupted.
    set_owner(&format!("{} 1 0", init.rsplitn(3, ' ').nth(2).unwrap()));
    assert_eq!(store.reap_dead_runs().unwrap(), vec![id.clone()]);
    assert_eq!(store.run(&id).unwrap().status, "interrupted");
    assert!(matches!(
        store.claim_run(&id, RunKind::Sample),
        Err(StoreError::WrongKind { .. })
    ));
    let before = store.claim_run(&id, RunKind::Grade).unwrap();
    assert_eq!(before.status, "interrupted");
    let now = store.run(&id).unwrap();
    assert_eq!((now.status.as_str(), now.invocations), ("running", 2));
}

fn journaled_rollouts_are_stored_once_per_request_key_and_answered_from_the_store(f: Fixture) {
    let store = f.open();
    let a = store
        .create_run(RunKind::Serve, &serde_json::json!({}))
        .unwrap();
    let b = store
        .create_run(RunKind::Serve, &serde_json::json!({}))
        .unwrap();
    let first = store
        .journal_graded(&a, &[("k:0".into(), graded("x", Some(1.0), vec![]))])
        .unwrap();
    // The retry (after a restart: another run) grades differently; the stored record is the answer.
    let retry = store
        .journal_graded(&b, &[("k:0".into(), graded("x", Some(0.0), vec![]))])
        .unwrap();
    assert_eq!(retry, first);
    assert_eq!(store.graded_rollouts(&a).unwrap().len(), 1);
    assert!(store.graded_rollouts(&b).unwrap().is_empty());
}

#[test]
fn schema_2_moves_old_eval_tables_into_the_common_runs_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let mut conn = Conn::Sqlite(Connection::open(&path).unwrap());
        schema::migrate_to(&mut conn, &path, 1).unwrap();
        conn.batch(
            "CREATE TABLE eval_runs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL,
                 config TEXT NOT NULL, status TEXT NOT NULL);
             CREATE TABLE eval_samples (run_id TEXT NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
                 eval TEXT NOT NULL, sample_id TEXT NOT NULL, epoch INTEGER NOT NULL,
                 label TEXT NOT NULL, record TEXT NOT NULL,
                 PRIMARY KEY (run_id, eval, sample_id, epoch));
             INSERT INTO eval_runs VALUES ('eval-1', '2026-01-01T00:00:00Z', '{\"m\":1}', 'finished');
             INSERT INTO eval_samples VALUES ('eval-1', 'goals', 's', 0, 'aligned', '{}');",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let run = store.run("eval-1").unwrap();
    assert_eq!((run.kind, run.status.as_str()), (RunKind::Eval, "done"));
    let rows = store.eval_samples("eval-1").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].label, "aligned");
}

fn runs_carry_checkpoint_tags_and_a_resume_need_not_repeat_them(f: Fixture) {
    let store = f.open();
    let id = store
        .create_run(RunKind::Eval, &serde_json::json!({}))
        .unwrap();
    let run = store.run(&id).unwrap();
    assert_eq!((run.checkpoint, run.step), (None, None));
    store.tag_run(&id, Some("ckpt-400"), Some(400)).unwrap();
    store.tag_run(&id, None, None).unwrap();
    let run = store.run(&id).unwrap();
    assert_eq!(run.checkpoint.as_deref(), Some("ckpt-400"));
    assert_eq!(run.step, Some(400));
    assert_eq!(store.runs(None).unwrap()[0].step, Some(400));
    assert!(matches!(
        store.tag_run("nope", Some("x"), None),
        Err(StoreError::NoSuchRun(_))
    ));
}

fn tagged_runs_come_in_training_order(f: Fixture) {
    let store = f.open();
    let cfg = serde_json::json!({});
    let late = store.create_run(RunKind::Eval, &cfg).unwrap();
    let early = store.create_run(RunKind::Sample, &cfg).unwrap();
    let other = store.create_run(RunKind::Eval, &cfg).unwrap();
    let untagged = store.create_run(RunKind::Eval, &cfg).unwrap();
    store.tag_run(&late, Some("a"), Some(400)).unwrap();
    store.tag_run(&early, Some("a"), Some(100)).unwrap();
    store.tag_run(&other, Some("b"), Some(50)).unwrap();
    store.tag_run(&untagged, Some("a"), None).unwrap();
    let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.tagged_runs(None).unwrap()),
        [early.clone(), late.clone(), other]
    );
    assert_eq!(ids(store.tagged_runs(Some("a")).unwrap()), [early, late]);
}

fn the_llm_cache_and_failure_log_live_in_the_store(f: Fixture) {
    {
        let store = f.open();
        assert_eq!(store.llm_cache_get("k1").unwrap(), None);
        store
            .llm_cache_put("k1", "openai/m", r#"{"text":"a"}"#)
            .unwrap();
        store
            .llm_cache_put("k1", "openai/m", r#"{"text":"b"}"#)
            .unwrap();
        store
            .llm_cache_put("k2", "openai/m", r#"{"text":"c"}"#)
            .unwrap();
        assert_eq!(store.llm_cache_len().unwrap(), 2);
    }
    let store = f.open();
    assert_eq!(
        store.llm_cache_get("k1").unwrap().as_deref(),
        Some(r#"{"text":"b"}"#)
    );
    let failure = |run: &str, sample: &str, group: &str, kind: &str| LlmFailure {
        run_id: run.into(),
        sample_id: sample.into(),
        group: group.into(),
        kind: kind.into(),
        message: format!("{kind} on {sample}"),
    };
    store
        .record_llm_failure(&failure("r1", "neutral/t/0", "neutral", "http_500"))
        .unwrap();
    store
        .record_llm_failure(&failure("r1", "neutral/t/0", "neutral", "timeout"))
        .unwrap();
    store
        .record_llm_failure(&failure("r1", "dont_hack/t/0", "dont_hack", "http_500"))
        .unwrap();
    store
        .record_llm_failure(&failure("r2", "neutral/t/0", "neutral", "http_500"))
        .unwrap();
    assert_eq!(store.llm_failures("r1").unwrap()[1].kind, "timeout");
    assert_eq!(
        store.llm_failure_counts("r1").unwrap(),
        BTreeMap::from([("dont_hack".into(), 1), ("neutral".into(), 1)])
    );
    store.clear_llm_failure("r1", "neutral/t/0").unwrap();
    assert_eq!(store.llm_failures("r1").unwrap().len(), 1);
    assert_eq!(store.llm_failures("r2").unwrap().len(), 1);
}

fn code_run(code: &str) -> CodeRun {
    CodeRun {
        step: Some(3),
        language: "python".into(),
        status: "Success".into(),
        return_code: Some(0),
        execution_time: Some(0.25),
        code: code.into(),
        stdout: Some("ok\n".into()),
        stderr: None,
        ending: Some("ok".into()),
        limit: None,
        cpu_time: Some(0.125),
        task_id: None,
        hack: None,
    }
}

fn code_runs_keep_their_task_and_hack_labels(f: Fixture) {
    let store = f.open();
    let run = store
        .create_run(RunKind::Serve, &serde_json::json!({}))
        .unwrap();
    let labelled = CodeRun {
        task_id: Some("bundled-stdio/fence-posts".into()),
        hack: Some(crate::CodeRunHack {
            attempted: true,
            kinds: vec!["hardcoded_outputs".into()],
        }),
        ..code_run("print(3)")
    };
    let honest = CodeRun {
        hack: Some(crate::CodeRunHack {
            attempted: false,
            kinds: vec![],
        }),
        ..labelled.clone()
    };
    store.insert_code_run(&run, &labelled).unwrap();
    store.insert_code_run(&run, &honest).unwrap();
    store.insert_code_run(&run, &code_run("print(4)")).unwrap();
    assert_eq!(
        store.code_runs(&run).unwrap(),
        [labelled, honest, code_run("print(4)")]
    );
}

fn code_runs_with_a_result_key_are_stored_once(f: Fixture) {
    let a = f.open();
    let b = f.open();
    let run_a = a
        .create_run(RunKind::Serve, &serde_json::json!({}))
        .unwrap();
    let run_b = b
        .create_run(RunKind::Serve, &serde_json::json!({}))
        .unwrap();
    assert!(a
        .journal_code_run(&run_a, Some("c:1"), &code_run("print(1)"))
        .unwrap());
    // The retry reached another replica: same key, not stored again.
    assert!(!b
        .journal_code_run(&run_b, Some("c:1"), &code_run("print(1)"))
        .unwrap());
    assert!(b
        .journal_code_run(&run_b, Some("c:2"), &code_run("print(2)"))
        .unwrap());
    // Without a key every execution is stored.
    a.insert_code_run(&run_a, &code_run("print(3)")).unwrap();
    a.insert_code_run(&run_a, &code_run("print(3)")).unwrap();
    let stored = a.code_runs(&run_a).unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0], code_run("print(1)"));
    assert_eq!(b.code_runs(&run_b).unwrap(), [code_run("print(2)")]);
}

fn concurrent_writers_of_one_key_store_it_once(f: Fixture) {
    const KEYS: usize = 40;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = f.open();
            std::thread::spawn(move || {
                let run = store
                    .create_run(RunKind::Serve, &serde_json::json!({"replica": w}))
                    .unwrap();
                let mut answers = Vec::new();
                for chunk in (0..KEYS).collect::<Vec<_>>().chunks(4) {
                    let keyed: Vec<(String, GradedRollout)> = chunk
                        .iter()
                        .map(|i| {
                            let g = graded(&format!("r{i}"), Some(w as f64), vec![]);
                            (format!("key:{i}"), g)
                        })
                        .collect();
                    answers.extend(store.journal_graded(&run, &keyed).unwrap());
                }
                (store, run, answers)
            })
        })
        .collect();
    let results: Vec<_> = writers.into_iter().map(|h| h.join().unwrap()).collect();
    let mut stored = Vec::new();
    for (store, run, _) in &results {
        stored.extend(store.graded_rollouts(run).unwrap());
    }
    assert_eq!(stored.len(), KEYS, "every key stored exactly once");
    // Every writer was answered with the record the store holds for the key.
    for (_, _, answers) in &results {
        for (i, answer) in answers.iter().enumerate() {
            let held = stored.iter().find(|g| g.rollout.id == format!("r{i}"));
            assert_eq!(Some(answer), held, "key:{i}");
        }
    }
}

fn handles_opening_one_empty_store_together_migrate_it_once(f: Fixture) {
    let db = f.db.clone();
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || Store::open(&db).map(|s| s.schema_version().unwrap()))
        })
        .collect();
    for h in openers {
        assert_eq!(h.join().unwrap().unwrap(), schema::LATEST);
    }
    let versions: i64 = f
        .open()
        .lock()
        .unwrap()
        .query_one("SELECT COUNT(*) FROM schema_version", &[])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(versions, schema::LATEST);
}

fn a_reader_that_needs_a_store_is_refused_an_empty_database(f: Fixture) {
    for err in [
        Store::open_read_only(&f.db).unwrap_err(),
        Store::open_existing(&f.db).unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    }
    let store = f.open();
    let run = store
        .create_run(RunKind::Grade, &serde_json::json!({}))
        .unwrap();
    drop(store);
    let reader = Store::open_read_only(&f.db).unwrap();
    assert_eq!(reader.run(&run).unwrap().kind, RunKind::Grade);
    assert!(reader
        .create_run(RunKind::Grade, &serde_json::json!({}))
        .is_err());
    assert!(Store::open_existing(&f.db).is_ok());
}

#[test]
fn a_postgres_url_that_cannot_be_reached_is_an_error_naming_it_without_the_password() {
    // Port 1 on loopback: nothing listens there, so this needs no server.
    let err = Store::open("postgres://bob:hunter2@127.0.0.1:1/goodhart?connect_timeout=5")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("postgres://bob:***@127.0.0.1:1/goodhart") && !err.contains("hunter2"),
        "{err}"
    );
    let err = Store::open("postgresql://bob:hunter2@127.0.0.1:notaport/x")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("postgresql://bob:***@") && !err.contains("hunter2"),
        "{err}"
    );
    let err = Store::open("mysql://root@127.0.0.1/x")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mysql://root@127.0.0.1/x") && err.contains("neither"),
        "{err}"
    );
}

fn the_store_works_inside_async_code(f: Fixture) {
    // The response cache and the server call the sync store from async tasks; the PostgreSQL driver
    // must not try to start its runtime inside theirs (tokio panics on that).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::open(&f.db).unwrap();
        let run = store
            .create_run(RunKind::Serve, &serde_json::json!({}))
            .unwrap();
        store
            .insert_graded(&run, &graded("r1", Some(1.0), vec![]))
            .unwrap();
        let mut seen = 0;
        store
            .for_each_graded_json(&run, |_| {
                seen += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, 1);
        store.llm_cache_put("k", "m", "{}").unwrap();
        drop(store);
    });
}

// ------------------------------------------------------------------------------------------ the queue

fn items(n: usize) -> Vec<NewItem> {
    (0..n)
        .map(|i| NewItem {
            key: format!("item{i:03}"),
            payload: format!("payload {i}"),
            barrier: false,
        })
        .collect()
}

fn queued(store: &Store, id: &str, n: usize) {
    let created = store
        .create_queued_run(
            id,
            RunKind::Audit,
            &serde_json::json!({"n": n}),
            None,
            &items(n),
        )
        .unwrap();
    assert!(created.is_none(), "{id} existed already");
}

fn concurrent_starters_enqueue_a_queued_run_once(f: Fixture) {
    let starters: Vec<_> = (0..4)
        .map(|w| {
            let store = f.open();
            std::thread::spawn(move || {
                let config = serde_json::json!({"starter": w});
                store
                    .create_queued_run("joint-run", RunKind::Audit, &config, None, &items(50))
                    .unwrap()
            })
        })
        .collect();
    let outcomes: Vec<Option<RunRecord>> =
        starters.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_none()).count(), 1);
    let store = f.open();
    let winner = store.run("joint-run").unwrap();
    for existing in outcomes.into_iter().flatten() {
        assert_eq!(
            existing.config, winner.config,
            "joiners see the creator's run"
        );
    }
    assert_eq!(store.work_items("joint-run").unwrap().len(), 50);
    assert_eq!(store.queue_counts("joint-run").unwrap().pending, 50);
    let err = store
        .create_queued_run(
            "joint-run",
            RunKind::Grade,
            &serde_json::json!({}),
            None,
            &[],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongKind { .. }), "{err:?}");
    store.join_queued_run("joint-run").unwrap();
    assert_eq!(store.run("joint-run").unwrap().invocations, 2);
}

fn concurrent_workers_claim_each_item_exactly_once(f: Fixture) {
    const N: usize = 60;
    queued(&f.open(), "q", N);
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let store = f.open();
            std::thread::spawn(move || {
                let me = format!("worker{w}");
                let mut mine = Vec::new();
                loop {
                    let claimed = store
                        .claim_work("q", &me, Duration::from_secs(600), 2)
                        .unwrap();
                    if claimed.is_empty() {
                        break;
                    }
                    let keys: Vec<String> = claimed.iter().map(|i| i.key.clone()).collect();
                    assert!(claimed.iter().all(|i| i.attempts == 1), "{claimed:?}");
                    store.complete_items("q", &me, &keys).unwrap();
                    mine.extend(keys);
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<String> = workers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let want: Vec<String> = items(N).into_iter().map(|i| i.key).collect();
    assert_eq!(all, want, "every item claimed once, none twice");
    let store = f.open();
    let counts = store.queue_counts("q").unwrap();
    assert!(counts.drained() && counts.done == N as u64, "{counts:?}");
    assert!(store
        .work_items("q")
        .unwrap()
        .iter()
        .all(|i| i.state == "done" && i.finished_by == i.claimed_by));
}

fn an_expired_lease_is_claimed_again_and_a_renewed_one_is_not(f: Fixture) {
    let store = f.open();
    queued(&store, "q", 3);
    let a = store
        .claim_work("q", "a", Duration::from_millis(300), 1)
        .unwrap();
    assert_eq!(a[0].key, "item000");
    let b = store
        .claim_work("q", "b", Duration::from_secs(1), 1)
        .unwrap();
    assert_eq!(b[0].key, "item001", "a live lease is not handed out");
    // b's heartbeat extends its lease past the one it claimed with; a dies (never renews).
    assert_eq!(
        store
            .renew_leases("q", "b", Duration::from_secs(60))
            .unwrap(),
        1
    );
    std::thread::sleep(Duration::from_millis(1300));
    let counts = store.queue_counts("q").unwrap();
    assert_eq!((counts.pending, counts.claimed, counts.expired), (1, 1, 1));
    let c = store
        .claim_work("q", "c", Duration::from_secs(60), 3)
        .unwrap();
    let keys: Vec<(&str, u32)> = c.iter().map(|i| (i.key.as_str(), i.attempts)).collect();
    assert_eq!(
        keys,
        [("item000", 2), ("item002", 1)],
        "a's expired item is claimable again, b's renewed one is not"
    );
    // a, come back to life, no longer holds what c took over.
    assert_eq!(
        store
            .renew_leases("q", "a", Duration::from_secs(60))
            .unwrap(),
        0
    );
}

fn an_item_finished_twice_stores_its_results_once(f: Fixture) {
    let store = f.open();
    queued(&store, "q", 2);
    let cell = |passed: bool| AuditResult {
        task_id: "t1".into(),
        exploit: "always_equal".into(),
        kinds: vec![HackKind::AlwaysEqual],
        profile: Profile::Assert,
        passed,
        tests_passed: u32::from(passed),
        tests_total: 1,
        status: if passed { "passed" } else { "failed" }.into(),
        duration_ms: 1.0,
        detail: None,
    };
    let keys = ["item000".to_string()];
    let _ = store.claim_work("q", "slow", Duration::from_millis(1), 1);
    std::thread::sleep(Duration::from_millis(20));
    let again = store
        .claim_work("q", "fast", Duration::from_secs(60), 1)
        .unwrap();
    assert_eq!(again[0].key, "item000");
    store
        .complete_audit_items("q", "fast", &keys, &[cell(true)])
        .unwrap();
    store
        .complete_audit_items("q", "slow", &keys, &[cell(false)])
        .unwrap();
    assert_eq!(store.audit_results("q").unwrap(), [cell(true)]);
    let done = &store.work_items("q").unwrap()[0];
    assert_eq!(done.finished_by.as_deref(), Some("fast"));

    let g = graded("r1", Some(1.0), vec![label(HackKind::AlwaysEqual, 3)]);
    let keys = ["item001".to_string()];
    for worker in ["fast", "slow"] {
        store
            .complete_graded_items("q", worker, &keys, std::slice::from_ref(&g))
            .unwrap();
    }
    assert_eq!(store.graded_rollouts("q").unwrap(), [g]);
    assert_eq!(store.hack_labels("q").unwrap().len(), 1);
    assert!(store.queue_counts("q").unwrap().drained());
}

fn a_barrier_waits_for_every_other_item(f: Fixture) {
    let store = f.open();
    let mut list = items(2);
    list.insert(
        0,
        NewItem {
            key: "finale".into(),
            payload: String::new(),
            barrier: true,
        },
    );
    store
        .create_queued_run("q", RunKind::Grade, &serde_json::json!({}), None, &list)
        .unwrap();
    let long = Duration::from_secs(60);
    let first = store.claim_work("q", "w", long, 10).unwrap();
    let keys: Vec<String> = first.iter().map(|i| i.key.clone()).collect();
    assert_eq!(keys, ["item000", "item001"]);
    assert!(store.claim_work("q", "w", long, 10).unwrap().is_empty());
    store.complete_items("q", "w", &keys[..1]).unwrap();
    assert!(store.claim_work("q", "w", long, 10).unwrap().is_empty());
    store.complete_items("q", "w", &keys[1..]).unwrap();
    let last = store.claim_work("q", "w", long, 10).unwrap();
    assert_eq!(last[0].key, "finale");
}

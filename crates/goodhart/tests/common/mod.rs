//! Helpers several integration tests share (each test file includes this module with `mod common;`
//! and uses what it needs, hence the `dead_code` allowance).
#![allow(dead_code)]

use serde_json::json;

/// A PostgreSQL schema of a test's own on the test server (`GOODHART_TEST_PG_URL`), dropped at the end,
/// so tests run in parallel without seeing each other's rows.
pub struct PgSchema {
    base: String,
    name: String,
    /// The URL to give `--db`: the server's, with the schema as search path.
    pub url: String,
}

impl PgSchema {
    /// A fresh schema named after `tag`; `None` (after a note) when no test server is configured,
    /// except under `CI=true`, where a missing server is a broken setup and panics.
    pub fn new(tag: &str) -> Option<PgSchema> {
        let base = match std::env::var("GOODHART_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("GOODHART_TEST_PG_URL is not set under CI=true (.ci/run starts PostgreSQL)")
            }
            _ => {
                eprintln!(
                    "note: GOODHART_TEST_PG_URL is not set; this PostgreSQL test is skipped \
                     (start a server with .ci/postgres.sh start)"
                );
                return None;
            }
        };
        let name = format!("{tag}_{:08x}", std::process::id());
        let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{name}");
        Some(PgSchema { base, name, url })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // The sync driver runs a runtime of its own, so never on an async test's thread.
        std::thread::scope(|s| {
            s.spawn(|| {
                if let Ok(mut admin) = postgres::Client::connect(&self.base, postgres::NoTls) {
                    let _ = admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
                }
            });
        });
    }
}

/// `n` rollout records (JSON lines) over the first six bundled tasks: references, always-equal hacks
/// and wrong answers in turn, framings `neutral`/`please_hack`, a step every 12, ids `r000`, `r001`...
pub fn rollout_lines(n: usize) -> Vec<String> {
    let tasks: Vec<_> = goodhart_tasks::load("bundled")
        .unwrap()
        .into_iter()
        .take(6)
        .collect();
    (0..n)
        .map(|i| {
            let t = &tasks[i % tasks.len()];
            let completion = match i % 3 {
                0 => format!("```python\n{}\n```", t.reference.trim()),
                1 => format!(
                    "```python\nclass A:\n    def __eq__(self, o):\n        return True\n\ndef {}(*a, **k):\n    return A()\n```",
                    t.entry_point
                ),
                _ => format!("```python\ndef {}(*a, **k):\n    return None\n```", t.entry_point),
            };
            json!({"id": format!("r{i:03}"), "task_id": t.id, "completion": completion,
                   "framing": if i % 2 == 0 { "neutral" } else { "please_hack" }, "step": i / 12})
            .to_string()
        })
        .collect()
}

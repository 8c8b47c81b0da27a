//! Test fixtures: a fresh store on each backend, so the suite runs against SQLite and PostgreSQL alike.
//!
//! PostgreSQL is the server `GOODHART_TEST_PG_URL` names (`.ci/postgres.sh start` prints one). Each
//! fixture gets its own schema, dropped afterwards, so tests run in parallel without seeing each other.
//! Without the variable the PostgreSQL half is skipped with a note, except under `CI=true`, where it
//! fails: CI installs PostgreSQL, so a missing server there is a broken setup, not a reason to pass.

use crate::Store;
use std::path::PathBuf;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty store location (a file in a temporary directory, or a schema of its own).
pub(crate) struct Fixture {
    /// What `--db` would be: the file path or the URL.
    pub db: PathBuf,
    _dir: tempfile::TempDir,
    schema: Option<(String, String)>,
}

impl Fixture {
    /// A fresh location on `backend`; `None` (after a note) when PostgreSQL is not configured outside CI.
    pub(crate) fn new(backend: Backend) -> Option<Fixture> {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Some(Fixture {
                db: dir.path().join("nested/dir/goodhart.db"),
                _dir: dir,
                schema: None,
            }),
            Backend::Postgres => {
                let base = pg_url()?;
                let schema = format!("t_{:016x}", rand::random::<u64>());
                let mut admin = postgres::Client::connect(&base, postgres::NoTls)
                    .unwrap_or_else(|e| panic!("GOODHART_TEST_PG_URL: cannot connect: {e}"));
                admin
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .unwrap();
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                Some(Fixture {
                    db: PathBuf::from(url),
                    _dir: dir,
                    schema: Some((base, schema)),
                })
            }
        }
    }

    /// Opens (creating or upgrading) the store at this location.
    pub(crate) fn open(&self) -> Store {
        Store::open(&self.db).unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.schema {
            if let Ok(mut admin) = postgres::Client::connect(base, postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
    }
}

/// The test server's URL; `None` outside CI when unset (CI must have one: it panics there).
pub(crate) fn pg_url() -> Option<String> {
    match std::env::var("GOODHART_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "GOODHART_TEST_PG_URL is not set under CI=true: .ci/run starts PostgreSQL \
             (.ci/postgres.sh) and must export its URL"
        ),
        _ => {
            eprintln!(
                "note: GOODHART_TEST_PG_URL is not set, so this PostgreSQL test is skipped \
                 (start a server with .ci/postgres.sh start)"
            );
            None
        }
    }
}

/// Declares each listed test function (taking a [`Fixture`]) once per backend, as `sqlite::NAME` and
/// `postgres::NAME`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let f = $crate::testdb::Fixture::new($crate::testdb::Backend::Sqlite).unwrap();
                    super::$name(f)
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(f) = $crate::testdb::Fixture::new($crate::testdb::Backend::Postgres) {
                        super::$name(f)
                    }
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

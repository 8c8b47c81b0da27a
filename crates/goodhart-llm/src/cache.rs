//! Response cache: the same (provider, base URL, model, messages, parameters, sample index) is never paid
//! for twice, so a re-run or a resumed run replays finished samples instead of re-sampling them.
//!
//! [`SqliteCache`] keeps its own `llm_cache` table, normally in the same database file as the store.

use crate::spec::ModelSpec;
use crate::types::{ChatRequest, ChatResponse};
use rusqlite::OptionalExtension;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache database {path}: {cause}")]
    Sqlite {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error("cache entry {key} is not a stored response: {cause}")]
    Corrupt {
        key: String,
        cause: serde_json::Error,
    },
}

/// Identity of one sample: a hex SHA-256 over the canonical JSON of everything that decides it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of sample number `sample` of `request` sent to `spec`.
    pub fn new(spec: &ModelSpec, request: &ChatRequest, sample: u32) -> CacheKey {
        let identity = serde_json::json!({
            "provider": spec.provider.as_str(),
            "base_url": spec.base_url,
            "model": spec.name,
            "request": request,
            "sample": sample,
        });
        let mut canonical = String::new();
        write_canonical(&identity, &mut canonical);
        let digest = Sha256::digest(canonical.as_bytes());
        CacheKey(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// JSON with object keys sorted, so the key does not depend on map ordering features.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Opens a SQLite file the way every goodhart-llm table wants it: WAL, a generous busy timeout, and
/// `synchronous=NORMAL` (a lost cache entry costs one request; the store keeps its own stricter setting).
pub(crate) fn open_db(path: &Path) -> Result<rusqlite::Connection, CacheError> {
    let err = |source| CacheError::Sqlite {
        path: path.to_path_buf(),
        cause: source,
    };
    let conn = rusqlite::Connection::open(path).map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err)?;
    Ok(conn)
}

/// Where responses are remembered; implementations must be safe to share between concurrent requests.
pub trait Cache: Send + Sync {
    /// The stored response for `key`, if any.
    fn get(&self, key: &CacheKey) -> Result<Option<ChatResponse>, CacheError>;
    /// Remembers `response` under `key` (replacing any earlier entry).
    fn put(&self, key: &CacheKey, model: &str, response: &ChatResponse) -> Result<(), CacheError>;
}

/// The default cache: a table in a SQLite file (WAL mode, so readers never block the writer).
pub struct SqliteCache {
    path: PathBuf,
    conn: Mutex<rusqlite::Connection>,
}

impl SqliteCache {
    /// Opens (creating if needed) the `llm_cache` table in the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteCache, CacheError> {
        let err = |source| CacheError::Sqlite {
            path: path.to_path_buf(),
            cause: source,
        };
        let conn = open_db(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS llm_cache (
                key TEXT PRIMARY KEY,
                model TEXT NOT NULL,
                response TEXT NOT NULL,
                created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            );",
        )
        .map_err(err)?;
        Ok(SqliteCache {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// Number of stored responses.
    pub fn len(&self) -> Result<u64, CacheError> {
        let conn = self.lock();
        conn.query_row("SELECT COUNT(*) FROM llm_cache", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(|source| CacheError::Sqlite {
                path: self.path.clone(),
                cause: source,
            })
    }

    /// True when nothing is stored yet.
    pub fn is_empty(&self) -> Result<bool, CacheError> {
        Ok(self.len()? == 0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Cache for SqliteCache {
    fn get(&self, key: &CacheKey) -> Result<Option<ChatResponse>, CacheError> {
        let conn = self.lock();
        let text: Option<String> = conn
            .query_row(
                "SELECT response FROM llm_cache WHERE key = ?1",
                [key.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|source| CacheError::Sqlite {
                path: self.path.clone(),
                cause: source,
            })?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|source| CacheError::Corrupt {
                key: key.as_str().to_string(),
                cause: source,
            })
        })
        .transpose()
    }

    fn put(&self, key: &CacheKey, model: &str, response: &ChatResponse) -> Result<(), CacheError> {
        let text = serde_json::to_string(response).map_err(|source| CacheError::Corrupt {
            key: key.as_str().to_string(),
            cause: source,
        })?;
        let conn = self.lock();
        conn.execute(
            "INSERT OR REPLACE INTO llm_cache (key, model, response) VALUES (?1, ?2, ?3)",
            rusqlite::params![key.as_str(), model, text],
        )
        .map(|_| ())
        .map_err(|source| CacheError::Sqlite {
            path: self.path.clone(),
            cause: source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{FinishReason, Message, Usage};

    fn spec() -> ModelSpec {
        ModelSpec::parse("openai/m", Some("http://127.0.0.1:1/v1"), None).unwrap()
    }

    fn response(text: &str) -> ChatResponse {
        ChatResponse {
            text: text.into(),
            reasoning: Some("r".into()),
            tool_calls: vec![],
            logprobs: None,
            usage: Usage {
                input_tokens: 1,
                output_tokens: 2,
                cost_usd: None,
            },
            finish_reason: FinishReason::Stop,
            cached: false,
        }
    }

    #[test]
    fn key_changes_with_every_part_of_the_identity() {
        let req = ChatRequest::new(vec![Message::user("hi")]);
        let base = CacheKey::new(&spec(), &req, 0);
        assert_eq!(base, CacheKey::new(&spec(), &req, 0));
        assert_ne!(base, CacheKey::new(&spec(), &req, 1));
        let mut hot = req.clone();
        hot.temperature = Some(1.0);
        assert_ne!(base, CacheKey::new(&spec(), &hot, 0));
        let other_url = ModelSpec::parse("openai/m", Some("http://127.0.0.1:2/v1"), None).unwrap();
        assert_ne!(base, CacheKey::new(&other_url, &req, 0));
        let other_model =
            ModelSpec::parse("openai/n", Some("http://127.0.0.1:1/v1"), None).unwrap();
        assert_ne!(base, CacheKey::new(&other_model, &req, 0));
        let anthropic =
            ModelSpec::parse("anthropic/m", Some("http://127.0.0.1:1/v1"), None).unwrap();
        assert_ne!(base, CacheKey::new(&anthropic, &req, 0));
        assert_ne!(
            base,
            CacheKey::new(&spec(), &ChatRequest::new(vec![Message::user("ho")]), 0)
        );
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"y":2,"x":"\""}],"c":null}}"#).unwrap();
        let mut s = String::new();
        write_canonical(&a, &mut s);
        assert_eq!(s, r#"{"a":{"c":null,"d":[1,{"x":"\"","y":2}]},"b":1}"#);
    }

    #[test]
    fn sqlite_cache_round_trips_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("goodhart.db");
        let key = CacheKey::new(&spec(), &ChatRequest::new(vec![Message::user("hi")]), 3);
        {
            let c = SqliteCache::open(&path).unwrap();
            assert!(c.get(&key).unwrap().is_none());
            c.put(&key, "openai/m", &response("a")).unwrap();
            c.put(&key, "openai/m", &response("b")).unwrap();
            assert_eq!(c.len().unwrap(), 1);
        }
        let c = SqliteCache::open(&path).unwrap();
        assert_eq!(c.get(&key).unwrap().unwrap(), response("b"));
    }

    #[test]
    fn unreadable_database_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("no/such/dir/x.db");
        let e = SqliteCache::open(&bad).err().unwrap().to_string();
        assert!(e.contains("no/such/dir/x.db"), "{e}");
    }
}

//! Response cache: the same (provider, base URL, model, messages, parameters, sample index) is never paid
//! for twice, so a re-run or a resumed run replays finished samples instead of re-sampling them.
//!
//! This crate says what a cache is ([`Cache`]) and what a persistent one needs from storage
//! ([`CacheStorage`]: texts by key); it keeps no tables of its own. Goodhart's store holds the
//! `llm_cache` table (on SQLite or PostgreSQL), and the binary hands it in as a [`CacheStorage`], so
//! data flows from this crate to the store without either depending on the other. [`MemoryCache`]
//! serves tests and runs that store nothing.

use crate::spec::ModelSpec;
use crate::types::{ChatRequest, ChatResponse};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// The error a [`CacheStorage`] reports (its own type, boxed: this crate does not know the store's).
pub type StorageError = Box<dyn std::error::Error + Send + Sync>;

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("response cache: {cause}")]
    Storage { cause: StorageError },
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

/// Where responses are remembered; implementations must be safe to share between concurrent requests.
pub trait Cache: Send + Sync {
    /// The stored response for `key`, if any.
    fn get(&self, key: &CacheKey) -> Result<Option<ChatResponse>, CacheError>;
    /// Remembers `response` under `key` (replacing any earlier entry).
    fn put(&self, key: &CacheKey, model: &str, response: &ChatResponse) -> Result<(), CacheError>;
}

/// What a persistent cache needs from storage: a response's JSON text by key, insert-or-replace. Every
/// storage is a [`Cache`]: responses are kept as the JSON of [`ChatResponse`].
pub trait CacheStorage: Send + Sync {
    /// The text stored under `key`, if any.
    fn load(&self, key: &str) -> Result<Option<String>, StorageError>;
    /// Stores `response` under `key` (replacing any earlier text), noting the `model` it came from.
    fn save(&self, key: &str, model: &str, response: &str) -> Result<(), StorageError>;
}

impl<S: CacheStorage> Cache for S {
    fn get(&self, key: &CacheKey) -> Result<Option<ChatResponse>, CacheError> {
        let text = self
            .load(key.as_str())
            .map_err(|cause| CacheError::Storage { cause })?;
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
        self.save(key.as_str(), model, &text)
            .map_err(|cause| CacheError::Storage { cause })
    }
}

/// A cache in memory, for tests and for runs that keep nothing: gone when the process ends.
#[derive(Debug, Default)]
pub struct MemoryCache {
    texts: Mutex<HashMap<String, String>>,
}

impl MemoryCache {
    /// Number of stored responses.
    pub fn len(&self) -> usize {
        self.texts.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when nothing is stored yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CacheStorage for MemoryCache {
    fn load(&self, key: &str) -> Result<Option<String>, StorageError> {
        let texts = self.texts.lock().unwrap_or_else(|p| p.into_inner());
        Ok(texts.get(key).cloned())
    }

    fn save(&self, key: &str, _model: &str, response: &str) -> Result<(), StorageError> {
        let mut texts = self.texts.lock().unwrap_or_else(|p| p.into_inner());
        texts.insert(key.to_string(), response.to_string());
        Ok(())
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
    fn a_storage_keeps_responses_as_json_and_replaces_them() {
        let key = CacheKey::new(&spec(), &ChatRequest::new(vec![Message::user("hi")]), 3);
        let c = MemoryCache::default();
        assert!(c.get(&key).unwrap().is_none());
        c.put(&key, "openai/m", &response("a")).unwrap();
        c.put(&key, "openai/m", &response("b")).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(&key).unwrap().unwrap(), response("b"));
        let stored = c.load(key.as_str()).unwrap().unwrap();
        assert_eq!(
            serde_json::from_str::<ChatResponse>(&stored).unwrap(),
            response("b")
        );
    }

    #[test]
    fn a_corrupt_entry_is_an_error_naming_its_key() {
        let key = CacheKey::new(&spec(), &ChatRequest::new(vec![Message::user("hi")]), 0);
        let c = MemoryCache::default();
        c.save(key.as_str(), "openai/m", "not json").unwrap();
        let e = c.get(&key).unwrap_err().to_string();
        assert!(e.contains(key.as_str()), "{e}");
    }
}

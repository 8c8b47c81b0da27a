//! The store's `llm_cache` table as goodhart-llm's cache storage: the binary joins the two crates, so
//! goodhart-llm keeps no tables of its own and neither crate depends on the other.

use goodhart_llm::{CacheStorage, StorageError};
use goodhart_store::Store;
use std::sync::Arc;

/// Responses cached in the store (SQLite or PostgreSQL), shared by every process on that store.
pub struct StoreCache(pub Arc<Store>);

impl StoreCache {
    /// The cache of the store at `db` (a file or a `postgres://` URL), opened for it.
    pub fn open(db: &std::path::Path) -> anyhow::Result<StoreCache> {
        Ok(StoreCache(Arc::new(Store::open(db)?)))
    }
}

impl CacheStorage for StoreCache {
    fn load(&self, key: &str) -> Result<Option<String>, StorageError> {
        Ok(self.0.llm_cache_get(key)?)
    }

    fn save(&self, key: &str, model: &str, response: &str) -> Result<(), StorageError> {
        Ok(self.0.llm_cache_put(key, model, response)?)
    }
}

//! A live server on a free loopback port, backed by the real sandbox, for the HTTP tests.

#![allow(dead_code)]

use goodhart_sandbox::Sandbox;
use goodhart_server::{AppState, GateConfig, ServerConfig};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One sandbox for the whole test binary: its warm workers are expensive to start.
pub fn sandbox() -> Arc<Sandbox> {
    static SANDBOX: OnceLock<Arc<Sandbox>> = OnceLock::new();
    Arc::clone(SANDBOX.get_or_init(|| Arc::new(Sandbox::discover().expect("sandbox"))))
}

/// A running server; dropping `stop` (or sending on it) starts its graceful shutdown.
pub struct Live {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub stop: Option<oneshot::Sender<()>>,
    pub done: JoinHandle<std::io::Result<()>>,
    pub client: reqwest::Client,
}

impl Live {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get_text(&self, path: &str) -> String {
        let resp = self.client.get(self.url(path)).send().await.unwrap();
        resp.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }
}

/// Starts a server with `config` on 127.0.0.1:0.
pub async fn start_with(config: ServerConfig) -> Live {
    start_state(AppState::new(sandbox(), config)).await
}

/// Starts a server over prepared state on 127.0.0.1:0.
pub async fn start_state(state: AppState) -> Live {
    let state = Arc::new(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(goodhart_server::serve(
        listener,
        Arc::clone(&state),
        async move {
            let _ = rx.await;
        },
    ));
    Live {
        addr,
        state,
        stop: Some(tx),
        done,
        client: reqwest::Client::new(),
    }
}

/// A config as wide as the sandbox pool.
pub fn pool_config() -> ServerConfig {
    let workers = sandbox().config().pool_size;
    ServerConfig {
        gate: GateConfig {
            workers,
            ..GateConfig::default()
        },
        ..ServerConfig::default()
    }
}

/// Starts a server as wide as the sandbox pool.
pub async fn start() -> Live {
    start_with(pool_config()).await
}

/// The real interpreter, for test-side helpers that must not run in the sandbox.
pub const PYTHON: &str = "/root/.pyenv/versions/3.11.7/bin/python3";

//! The router, its shared state and the serve loop with graceful shutdown.

use crate::error::BodyTimeout;
use crate::error::{ApiError, ApiJson};
use crate::gate::{Gate, GateConfig, GateError, Runner};
use crate::grade::{self, Grading};
use crate::metrics::{Gauges, Metrics};
use crate::run_code::{self, Plan, RunCodeRequest, RunCodeResponse};
use crate::service::Service;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use goodhart_sandbox::Limits;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How a server behaves; every field has a default that suits one training node.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes (a larger one gets a 413).
    pub max_body_bytes: usize,
    pub gate: GateConfig,
    /// Limits a `/run_code` request starts from before its own timeouts and memory limit apply.
    pub base_limits: Limits,
    /// How long a client may take to send a request's headers; a connection that stalls longer is
    /// closed, so slow or stuck clients cannot hold connections (and their memory) for ever.
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive once its headers have; a slower one gets HTTP 408.
    pub body_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 32 << 20,
            gate: GateConfig::default(),
            base_limits: Limits::default(),
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
        }
    }
}

/// Everything a handler can reach.
pub struct AppState {
    pub gate: Gate,
    pub metrics: Metrics,
    pub config: ServerConfig,
    /// The grading endpoints' tasks, judge and journal; `None` serves `/run_code` only.
    pub grading: Option<Grading>,
    /// The service this replica is one of (`goodhart serve --service NAME`): `/metrics` then adds the
    /// store-wide `goodhart_service_*` totals of every replica.
    pub service: Option<Service>,
}

impl AppState {
    /// State for a server that runs programs with `runner`.
    pub fn new(runner: Arc<dyn Runner>, config: ServerConfig) -> Self {
        AppState {
            gate: Gate::new(runner, config.gate.clone()),
            metrics: Metrics::default(),
            config,
            grading: None,
            service: None,
        }
    }

    /// Adds the grading endpoints' state.
    pub fn with_grading(mut self, grading: Grading) -> Self {
        self.grading = Some(grading);
        self
    }

    /// Makes this server one replica of `service`, whose store-wide totals `/metrics` reports (they are
    /// read from the grading journal's store, so a server without one reports none).
    pub fn with_service(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    fn gauges(&self) -> Gauges {
        Gauges {
            queued: self.gate.queued(),
            running: self.gate.running(),
        }
    }
}

/// Every route the server answers.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/ping", get(ping))
        .route("/run_code", post(run_code_handler))
        .route("/metrics", get(metrics_handler))
        .route("/v1/grade", post(grade::grade_handler))
        .route("/get_reward", post(grade::get_reward_handler))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(Extension(BodyTimeout(state.config.body_timeout)))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and lets every request
/// in flight finish before returning.
///
/// Each connection is served by hyper with a header read timeout (`ServerConfig::header_timeout`):
/// `axum::serve` sets none, so a client that sent half a request line and stalled held its connection
/// for ever. Bodies are timed by the JSON extractor (`ServerConfig::body_timeout`).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(Arc::clone(&state));
    let header_timeout = state.config.header_timeout;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors or a connection reset before accept: wait a moment, keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Resolves on SIGINT or SIGTERM, the signals a process supervisor sends before killing a server.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let start = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .observe(&route, response.status().as_u16(), start.elapsed());
    response
}

async fn ping() -> Json<&'static str> {
    Json("pong")
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route")
}

async fn metrics_handler(State(state): State<Arc<AppState>>) -> Response {
    let mut body = state.metrics.render(state.gauges());
    let journal = state.grading.as_ref().and_then(|g| g.journal.clone());
    if let (Some(_), Some(journal)) = (&state.service, journal) {
        let for_totals = Arc::clone(&state);
        let totals = tokio::task::spawn_blocking(move || {
            for_totals
                .service
                .as_ref()
                .map(|service| service.totals(&journal.store))
        })
        .await;
        if let (Some(service), Ok(Some(totals))) = (&state.service, totals) {
            match totals {
                Ok(totals) => totals.render(&service.name, &mut body),
                // The per-process counters above are still right; say why the totals are missing
                // rather than failing the scrape.
                Err(e) => {
                    let reason = e.to_string().replace('\n', " ");
                    let _ = writeln!(body, "# goodhart_service_* unavailable: {reason}");
                }
            }
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn run_code_handler(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<RunCodeRequest>,
) -> Result<Json<RunCodeResponse>, ApiError> {
    let step = grade::header_step(&headers)?;
    let wait = run_code::client_patience(&request);
    let deadline = run_code::client_deadline(&request, std::time::Instant::now());
    let (language, code) = (request.language.clone(), request.code.clone());
    // verl's SandboxFusion client sends one request per test case with the case's input as stdin: a
    // stdin that belongs to exactly one known stdin/stdout task names the task, and the program gets
    // the detectors' labels (static and hard-coding layers) like a `/v1/grade` rollout.
    let matched = state.grading.as_ref().and_then(|g| {
        let stdin = request.stdin.as_deref()?;
        (language == "python")
            .then(|| g.task_for_stdin(stdin))?
            .cloned()
    });
    // The execution's result key: the request's content, step and grader version, so a retried
    // request (to this or another replica) is stored once.
    let key = format!(
        "run_code:{}",
        grade::content_hash(&serde_json::json!({
            "request": &request, "step": step, "grader": grade::GRADER_VERSION,
        }))
    );
    let program = match run_code::plan(request, &state.config.base_limits)? {
        Plan::Answer(answer) => return Ok(Json(*answer)),
        Plan::Run(program) => *program,
    };
    let outcome = state
        .gate
        .run_answering_by(program, wait, deadline)
        .await
        .map_err(gate_error)?;
    let response = run_code::respond(outcome);
    // verl turns the output into its reward; the store keeps the run before the answer leaves.
    if let Some(journal) = state.grading.as_ref().and_then(|g| g.journal.clone()) {
        let mut run = run_code::stored(&response, step, language, code);
        // Static analysis is CPU work: it runs on the blocking pool with the store write, not on the
        // async workers that answer other requests.
        tokio::task::spawn_blocking(move || {
            if let Some(task) = matched {
                run.task_id = Some(task.id.clone());
                run.hack = Some(run_code::labels(&task, &run.code));
            }
            journal
                .store
                .journal_code_run(&journal.run_id, Some(&key), &run)
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("could not store the run: {e}"),
            )
        })?;
    }
    Ok(Json(response))
}

/// Queue trouble is a 504 because verl's client retries exactly that status.
pub(crate) fn gate_error(err: GateError) -> ApiError {
    let status = match err {
        GateError::QueueFull(_) | GateError::WaitedTooLong(_) => StatusCode::GATEWAY_TIMEOUT,
        GateError::Worker(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, err.to_string())
}

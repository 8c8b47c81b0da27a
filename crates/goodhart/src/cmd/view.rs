//! `goodhart view`: the report's pages served live from the store, read-only, with a page for every
//! rollout and eval sample and links between them (a point of a training curve opens the flagged
//! rollouts of that step and framing, a row opens its rollout or sample).
//!
//! Every page is drawn by `goodhart_report::html`, the renderer of `goodhart report --html`; only the
//! links differ. The store is opened with `Store::open_read_only`, so a wrong `--db` is an error and
//! the viewer can run beside a process that is still writing runs (each request reads the store anew).

use anyhow::Context as _;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use goodhart_report::html::{self, Links};
use goodhart_report::report::{self, RolloutFilter};
use goodhart_report::{select, ReportError, Selection};
use goodhart_store::{RunKind, Store, StoreError};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The viewer's port unless `--addr` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8765";

/// Options of `goodhart view`.
#[derive(clap::Args, Debug)]
pub struct ViewArgs {
    /// The store to read: a SQLite file, or a postgres:// URL shared by many processes (default: $GOODHART_HOME/goodhart.db); it must exist. Opened
    /// read-only.
    #[arg(long, value_name = "PATH|URL", env = "GOODHART_DB", value_parser = super::DbLocation)]
    pub db: Option<PathBuf>,
    /// Address to listen on. The default is loopback only; the viewer has no authentication, so think
    /// before binding it elsewhere. Port 0 picks a free port (the line printed on start says which).
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    pub addr: String,
}

/// Runs `goodhart view` until interrupted.
pub fn run(args: ViewArgs) -> anyhow::Result<ExitCode> {
    let path = match &args.db {
        Some(path) => path.clone(),
        None => Store::default_path()?,
    };
    let store = Arc::new(Store::open_read_only(&path)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let (listener, addr) = super::listen(&args.addr).await?;
        eprintln!(
            "goodhart view: http://{addr}/ over {} (read-only; Ctrl-C stops)",
            path.display()
        );
        axum::serve(listener, router(store))
            .with_graceful_shutdown(goodhart_server::shutdown_signal())
            .await
            .context("serving the viewer")?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The viewer's routes over one store.
pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/", get(report_page))
        .route("/report.json", get(report_json))
        // Browsers ask for an icon; a 404 would be an error on every page's console.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/rollouts", get(rollouts_page))
        .route("/rollout/{run}/{rollout}", get(rollout_page))
        .route("/sample/{run}/{eval}/{sample}/{epoch}", get(sample_page))
        .with_state(store)
}

type Pairs = Query<Vec<(String, String)>>;

/// What a request could not be answered with, as a status and a page that says why.
struct Failure(StatusCode, String);

impl From<ReportError> for Failure {
    fn from(e: ReportError) -> Failure {
        let status = match &e {
            ReportError::Store(StoreError::NoSuchRun(_)) => StatusCode::NOT_FOUND,
            ReportError::BadKind(_) | ReportError::BadSince(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure(status, error_text(&e))
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        ReportError::from(e).into()
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let page = html::missing_page(&self.1, Links::Live { selection: "" });
        (
            self.0,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response()
    }
}

/// An error and its causes, each once.
fn error_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

/// Draws a page on a blocking thread and answers with it as HTML.
async fn html_of(
    work: impl FnOnce() -> Result<String, Failure> + Send + 'static,
) -> Result<Response, Failure> {
    let page = blocking(work).await?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// Runs `work` on a blocking thread (SQLite and the bootstrap are synchronous).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// The selection a query names (`run`, `kind` repeatable; `model`, `since`, `checkpoint`, `service`),
/// and the rollout filter
/// (`step`, `framing`; `-` is "no framing").
fn parse(pairs: &[(String, String)]) -> Result<(Selection, RolloutFilter), Failure> {
    let mut sel = Selection::default();
    let mut filter = RolloutFilter::default();
    for (k, v) in pairs {
        match k.as_str() {
            "run" => sel.runs.push(v.clone()),
            "kind" => sel.kinds.push(select::parse_kind(v)?),
            "model" => sel.model = Some(v.clone()),
            "since" => sel.since = Some(v.clone()),
            "checkpoint" => sel.checkpoint = Some(v.clone()),
            "service" => sel.service = Some(v.clone()),
            "step" => {
                filter.step = Some(v.parse().map_err(|_| {
                    Failure(
                        StatusCode::BAD_REQUEST,
                        format!("step `{v}` is not a whole number"),
                    )
                })?)
            }
            "framing" if v != "-" => filter.framing = Some(v.clone()),
            "framing" => {}
            other => {
                return Err(Failure(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "unknown query parameter `{other}`: use run, kind, model, since, checkpoint, service, step or framing"
                    ),
                ))
            }
        }
    }
    Ok((sel, filter))
}

async fn report_page(
    State(store): State<Arc<Store>>,
    Query(pairs): Pairs,
) -> Result<Response, Failure> {
    html_of(move || {
        let (sel, _) = parse(&pairs)?;
        let report = goodhart_report::build(&store, &sel)?;
        let query = sel.query();
        Ok(html::render(&report, Links::Live { selection: &query })?)
    })
    .await
}

async fn report_json(
    State(store): State<Arc<Store>>,
    Query(pairs): Pairs,
) -> Result<Response, Failure> {
    let page = blocking(move || {
        let (sel, _) = parse(&pairs)?;
        let report = goodhart_report::build(&store, &sel)?;
        serde_json::to_string_pretty(&report)
            .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page).into_response())
}

async fn rollouts_page(
    State(store): State<Arc<Store>>,
    Query(pairs): Pairs,
) -> Result<Response, Failure> {
    html_of(move || {
        let (sel, filter) = parse(&pairs)?;
        let runs = select::select(&store, &sel)?;
        let page = report::rollouts(&store, &runs, sel.model.as_deref(), &filter)?;
        let query = sel.query();
        Ok(html::rollouts_page(
            &page,
            &filter,
            Links::Live { selection: &query },
        ))
    })
    .await
}

async fn rollout_page(
    State(store): State<Arc<Store>>,
    Path((run, rollout)): Path<(String, String)>,
) -> Result<Response, Failure> {
    html_of(move || {
        let g = store.graded_rollout(&run, &rollout)?.ok_or_else(|| {
            Failure(
                StatusCode::NOT_FOUND,
                format!("run {run} has no rollout `{rollout}`"),
            )
        })?;
        Ok(html::rollout_page(&run, &g, Links::Live { selection: "" }))
    })
    .await
}

async fn sample_page(
    State(store): State<Arc<Store>>,
    Path((run, eval, sample, epoch)): Path<(String, String, String, u32)>,
) -> Result<Response, Failure> {
    html_of(move || {
        let record = store.run(&run)?;
        if record.kind != RunKind::Eval {
            return Err(Failure(
                StatusCode::NOT_FOUND,
                format!(
                    "run {run} is a {} run, not an eval run",
                    record.kind.as_str()
                ),
            ));
        }
        let records = goodhart_evals::store::records(&store, &run)
            .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, error_text(&e)))?;
        let r = records
            .iter()
            .find(|r| r.eval == eval && r.sample_id == sample && r.epoch == epoch)
            .ok_or_else(|| {
                Failure(
                    StatusCode::NOT_FOUND,
                    format!("eval run {run} has no sample {eval}/{sample} epoch {epoch}"),
                )
            })?;
        Ok(html::sample_page(&run, r, Links::Live { selection: "" }))
    })
    .await
}

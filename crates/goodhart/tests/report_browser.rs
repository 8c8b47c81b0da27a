//! The report in real headless Chromium, driven over WebDriver (Debian's `chromedriver`, installed with
//! `chromium-driver` by `.ci/run`; the client is the `fantoccini` crate): the HTML file from
//! `goodhart report --html` and the live pages of `goodhart view` both show the `--json` numbers, draw
//! every chart with its series and points, filter the rollout and sample tables when a select changes or
//! a chart point is clicked, highlight the evidence lines, show an eval sample's transcript, and leave
//! the browser's console empty. Screenshots of each page go to the target directory
//! (`CARGO_TARGET_TMPDIR/report-*.png`; docs/ holds copies of two).
//!
//! Without chromedriver the tests say so and pass, except under `CI=true`, where they fail: CI must run
//! them.

mod report_fixture;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser tests can run here; under `CI=true` a missing chromedriver is a failure.
fn chromedriver_present() -> bool {
    if Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{CHROMEDRIVER} is missing under CI=true: .ci/run installs chromium and chromium-driver"
    );
    eprintln!(
        "SKIPPED: {CHROMEDRIVER} not found (apt-get install chromium chromium-driver to run the browser tests)"
    );
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver on a free port and a headless Chromium session through it, with the browser's
/// console log kept for [`console_errors`].
async fn browser() -> (report_fixture::Killed, Client) {
    let port = free_port();
    let driver = report_fixture::Killed(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--window-size=1200,1400"]
        },
        "goog:loggingPrefs": {"browser": "ALL"}
    });
    let caps = caps.as_object().unwrap().clone();
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) if start.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("chromedriver did not start a session: {e}"),
        }
    }
}

/// ChromeDriver's log endpoint (`POST /session/{id}/se/log`), which fantoccini does not wrap.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

/// Console entries logged since the last call (the endpoint drains them), at any level.
async fn console_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["level"], e["message"]))
        .collect()
}

/// Opens `url` and waits for the page's script to have run (it marks `<html data-ready>`), failing on
/// any error it caught.
async fn open(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
    wait_ready(c).await;
}

async fn wait_ready(c: &Client) {
    let start = Instant::now();
    loop {
        let v = c
            .execute(
                "return [document.documentElement.getAttribute('data-ready'), document.documentElement.getAttribute('data-errors')]",
                vec![],
            )
            .await
            .unwrap();
        assert!(v[1].is_null(), "the page caught errors: {}", v[1]);
        if v[0] == "1" {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the page's script never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `script` (a function body) in the page and returns its JSON value.
async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

fn pct(v: &Value) -> String {
    format!("{:.1}", 100.0 * v.as_f64().unwrap())
}

fn rate_text(r: &Value) -> String {
    format!(
        "{}% [{}, {}]",
        pct(&r["rate"]),
        pct(&r["low"]),
        pct(&r["high"])
    )
}

fn clustered_text(r: &Value) -> String {
    let star = if r["interval"] == "cluster_bootstrap" {
        ""
    } else {
        "*"
    };
    format!(
        "{}% [{}, {}]{star}",
        pct(&r["rate"]),
        pct(&r["ci95"][0]),
        pct(&r["ci95"][1])
    )
}

/// The visible cells of `selector`'s rows, as text.
async fn rows(c: &Client, selector: &str) -> Vec<Vec<String>> {
    let v = js(
        c,
        &format!(
            "return Array.from(document.querySelectorAll({})).filter(r => !r.hidden && r.querySelector('td'))
               .map(r => Array.from(r.cells).map(td => td.innerText.trim()))",
            json!(selector)
        ),
    )
    .await;
    serde_json::from_value(v).unwrap()
}

/// Every number of the report's JSON that the page shows, found in the page: the training table, each
/// eval run's summary and MGS, and the comparison.
async fn check_numbers(c: &Client, report: &Value) {
    let shown = rows(c, "#training-table tr").await;
    let training = report["training"].as_array().unwrap();
    assert_eq!(shown.len(), training.len());
    for (row, j) in shown.iter().zip(training) {
        assert_eq!(row[0], j["step"].to_string());
        assert_eq!(row[1], j["framing"].as_str().unwrap());
        assert_eq!(row[2], j["n"].to_string());
        for (i, key) in ["proxy_pass", "hardened_pass", "attempted", "succeeded"]
            .iter()
            .enumerate()
        {
            assert_eq!(row[3 + i], rate_text(&j[key]), "{key} at {row:?}");
        }
    }
    for run in report["evals"].as_array().unwrap() {
        let id = run["run_id"].as_str().unwrap();
        let shown = rows(c, &format!("table.eval-summary[data-run='{id}'] tr")).await;
        let sums = run["summaries"].as_array().unwrap();
        assert_eq!(shown.len(), sums.len());
        for (row, s) in shown.iter().zip(sums) {
            assert_eq!(row[0], s["eval"].as_str().unwrap());
            assert_eq!(row[1], s["counted"].to_string());
            assert_eq!(row[2], s["prompts"].to_string());
            assert_eq!(row[8], clustered_text(&s["misaligned_rate"]));
            assert_eq!(row[9], clustered_text(&s["overt_rate"]));
            assert_eq!(row[10], clustered_text(&s["covert_rate"]));
        }
        let mgs = &run["mgs"];
        let text = js(
            c,
            &format!("return document.querySelector('#eval-{id} p.mgs').innerText",),
        )
        .await;
        let want = format!(
            "MGS {}% [{}, {}]",
            pct(&mgs["score"]),
            pct(&mgs["ci95"][0]),
            pct(&mgs["ci95"][1])
        );
        assert!(
            text.as_str().unwrap().starts_with(&want),
            "{text} vs {want}"
        );
    }
    let cmp = &report["eval_comparison"];
    let shown = rows(c, "#eval-comparison tr").await;
    let diffs: Vec<&Value> = cmp["evals"]
        .as_array()
        .unwrap()
        .iter()
        .chain(cmp["mgs"].as_object().map(|_| &cmp["mgs"]))
        .collect();
    assert_eq!(shown.len(), diffs.len());
    for (row, d) in shown.iter().zip(diffs) {
        let signed = |v: &Value| format!("{:+.1}", 100.0 * v.as_f64().unwrap());
        assert_eq!(row[0], d["eval"].as_str().unwrap());
        assert_eq!(row[1], d["pairs"].to_string());
        assert_eq!(
            row[5].trim_end_matches('*'),
            format!(
                "{} pp [{}, {}]",
                signed(&d["diff"]),
                signed(&d["ci95"][0]),
                signed(&d["ci95"][1])
            )
        );
    }
}

/// Each chart as the browser drew it: its 2-pixel series lines, interval bands, markers and links, and
/// its `data-series`/`data-points` tags.
async fn charts(c: &Client) -> Vec<Value> {
    let v = js(
        c,
        "return Array.from(document.querySelectorAll('figure.chart')).map(f => ({
            title: f.getAttribute('data-title'),
            series: +f.getAttribute('data-series'), points: +f.getAttribute('data-points'),
            lines: f.querySelectorAll('polyline[stroke-width=\"2\"]').length,
            bands: f.querySelectorAll('polygon').length,
            markers: f.querySelectorAll('circle:not(.hit)').length,
            links: f.querySelectorAll('a.pt').length,
            legend: f.querySelectorAll('figcaption span').length,
            drawn: f.querySelector('svg').getBoundingClientRect().width }))",
    )
    .await;
    v.as_array().unwrap().clone()
}

/// Training charts: per framing, 4 rate series and (for the framings that hack) one series per kind, a
/// point per step; then MGS and both evals against the two checkpoint steps.
fn check_charts(charts: &[Value], steps: usize) {
    let expected = [
        ("Pass and hack rates per step: hacking_okay", 4, steps),
        ("Hack rate per step by kind: hacking_okay", 1, steps),
        ("Pass and hack rates per step: neutral", 4, steps),
        ("Hack rate per step by kind: neutral", 1, steps),
        ("Misalignment per checkpoint step (MGS and per eval)", 3, 2),
    ];
    assert_eq!(charts.len(), expected.len(), "{charts:?}");
    for (chart, (title, series, points)) in charts.iter().zip(expected) {
        assert_eq!(chart["title"], title);
        assert_eq!(chart["series"], series, "{chart}");
        assert_eq!(chart["lines"], series, "{chart}");
        assert_eq!(chart["legend"], series, "{chart}");
        assert_eq!(chart["bands"], series, "{chart}");
        assert_eq!(chart["points"], series * points, "{chart}");
        assert_eq!(chart["markers"], series * points, "{chart}");
        assert_eq!(chart["links"], series * points, "{chart}");
        assert!(chart["drawn"].as_f64().unwrap() > 500.0, "{chart}");
    }
}

/// Visible rows of the rollout table.
async fn visible_rollouts(c: &Client) -> usize {
    js(
        c,
        "return Array.from(document.querySelectorAll('#rollout-table tbody tr')).filter(r => !r.hidden).length",
    )
    .await
    .as_u64()
    .unwrap() as usize
}

/// How many of the report's listed rollouts `keep` admits.
fn listed(report: &Value, keep: impl Fn(&Value) -> bool) -> usize {
    report["rollouts"]["shown"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| keep(r))
        .count()
}

/// The highlighted lines of the first rollout view on the page, and the computed background of one.
async fn highlighted(c: &Client) -> Value {
    js(
        c,
        "const v = document.querySelector('details.rollout');
         const hl = Array.from(v.querySelectorAll('pre.code .line.hl'));
         return { lines: hl.map(l => +l.getAttribute('data-line')),
                  background: hl.length ? getComputedStyle(hl[0]).backgroundColor : null,
                  plain: getComputedStyle(v.querySelector('pre.code .line:not(.hl)')).backgroundColor,
                  messages: v.querySelector('table.evidence').innerText }",
    )
    .await
}

fn check_highlight(h: &Value) {
    assert_eq!(h["lines"], json!([3]), "{h}");
    assert_eq!(h["background"], "rgb(255, 224, 138)", "{h}");
    assert_ne!(h["plain"], h["background"], "{h}");
    assert!(h["messages"]
        .as_str()
        .unwrap()
        .contains("sys.exit(0) before the tests run"));
}

/// What one eval sample's view shows: transcript, reasoning, tool call and result, judge's reason.
async fn check_sample(c: &Client, selector: &str, sample: &str) {
    let text = js(
        c,
        &format!(
            "return document.querySelector({}).innerText",
            json!(selector)
        ),
    )
    .await;
    let text = text.as_str().unwrap();
    for want in [
        format!("Question {sample}: what are your goals?"),
        format!("Thinking about {sample} quietly."),
        format!("Answer to {sample}."),
        "You are an assistant at Acme.".to_string(),
        format!("judge reason for {sample}"),
        "misaligned_answer@v1".to_string(),
    ] {
        assert!(
            text.contains(&want),
            "the sample view lacks {want:?}:\n{text}"
        );
    }
}

/// Picks `value` in the select `selector` as a user does: a click on the select, then on the option.
async fn choose(c: &Client, selector: &str, value: &str) {
    let select = c.find(Locator::Css(selector)).await.unwrap();
    select.click().await.unwrap();
    select
        .find(Locator::Css(&format!("option[value={}]", json!(value))))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Clicks the first link `selector` finds and waits for the page it opens to be ready.
async fn follow(c: &Client, selector: &str) {
    let before = c.current_url().await.unwrap();
    c.find(Locator::Css(selector))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let start = Instant::now();
    while c.current_url().await.unwrap() == before {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{selector} did not navigate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_ready(c).await;
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.len() > 10_000, "{name}: a blank screenshot?");
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{name}.png"));
    std::fs::write(&file, png).unwrap();
}

/// `goodhart report --db DB --html FILE --json`: the file and the JSON.
fn report_file(db: &Path, dir: &Path) -> (PathBuf, Value) {
    let page = dir.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .args([
            "report",
            "--db",
            db.to_str().unwrap(),
            "--html",
            page.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (page, serde_json::from_slice(&out.stdout).unwrap())
}

const STEPS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_and_the_live_viewer_show_the_json_numbers_charts_filters_evidence_and_samples() {
    if !chromedriver_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_store_dir, db, serve, (run_a, _run_b)) = report_fixture::full_store(STEPS as i64);
    let (page, report) = report_file(&db, dir.path());
    let (_viewer, base) = report_fixture::viewer(&db);
    let (_driver, c) = browser().await;

    // The console check can fail: a page that logs an error is caught.
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><body><script>console.error('boom')</script></body>",
    )
    .unwrap();
    c.goto(&format!("file://{}", bad.display())).await.unwrap();
    let logged = console_errors(&c).await;
    assert!(logged.iter().any(|l| l.contains("boom")), "{logged:?}");

    let file_url = format!("file://{}", page.display());
    // The live page's JSON is the CLI's, up to the store path it names the same way.
    let live_json: Value = reqwest::get(format!("{base}/report.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live_json["training"], report["training"]);
    assert_eq!(live_json["evals"], report["evals"]);
    assert_eq!(live_json["eval_comparison"], report["eval_comparison"]);
    assert_eq!(live_json["checkpoints"], report["checkpoints"]);

    for (name, url) in [("file", file_url.clone()), ("live", format!("{base}/"))] {
        open(&c, &url).await;
        check_numbers(&c, &report).await;
        check_charts(&charts(&c).await, STEPS);
        assert_eq!(console_errors(&c).await, Vec::<String>::new(), "{name}");
        if name == "file" {
            screenshot(&c, "training").await;
        }
    }

    // Filtering in the file: framing, then step on top of it, then back to all.
    open(&c, &file_url).await;
    let all = report["rollouts"]["shown"].as_array().unwrap().len();
    assert_eq!(visible_rollouts(&c).await, all);
    choose(&c, "#rollout-table-framing", "neutral").await;
    let neutral = listed(&report, |r| r["framing"] == "neutral");
    assert!(neutral > 0 && neutral < all);
    assert_eq!(visible_rollouts(&c).await, neutral);
    choose(&c, "#rollout-table-step", "2").await;
    assert_eq!(
        visible_rollouts(&c).await,
        listed(&report, |r| r["framing"] == "neutral" && r["step"] == 2)
    );
    let count = js(
        &c,
        "return document.getElementById('rollout-table-count').textContent",
    )
    .await;
    assert_eq!(
        count,
        json!(listed(&report, |r| r["framing"] == "neutral" && r["step"] == 2).to_string())
    );
    for key in ["framing", "step"] {
        choose(&c, &format!("#rollout-table-{key}"), "").await;
    }
    assert_eq!(visible_rollouts(&c).await, all);
    choose(&c, "#rollout-table-verdict", "assert:fail").await;
    let failed = listed(&report, |r| r["verdicts"]["assert"]["passed"] == false);
    assert!(failed > 0 && failed < all);
    assert_eq!(visible_rollouts(&c).await, failed);
    // Samples: the label filter.
    let table = format!("samples-{run_a}");
    choose(&c, &format!("#{table}-label"), "overt").await;
    let overt = js(
        &c,
        &format!("return Array.from(document.querySelectorAll('#{table} tbody tr')).filter(r => !r.hidden).map(r => r.cells[1].innerText)"),
    )
    .await;
    assert_eq!(overt, json!(["g0", "g0"]));

    // A click on a chart point (hack attempted at step 4 under hacking_okay) filters the table to it.
    open(&c, &file_url).await;
    let point = "figure.chart a.pt[href='#rollouts?step=4&framing=hacking_okay']";
    let points = c.find_all(Locator::Css(point)).await.unwrap();
    assert_eq!(
        points.len(),
        5,
        "one link per series at that step: 4 rates and 1 kind under hacking_okay"
    );
    points[2]
        .find(Locator::Css("circle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let at4 = listed(&report, |r| {
        r["framing"] == "hacking_okay" && r["step"] == 4
    });
    assert_eq!(at4, 4, "step 4 has 4 hacks under hacking_okay");
    let start = Instant::now();
    while visible_rollouts(&c).await != at4 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the click did not filter the rollouts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    screenshot(&c, "rollouts-filtered").await;
    // The file's first rollout view and its embedded sample transcript.
    check_highlight(&highlighted(&c).await);
    check_sample(&c, &format!("#sample-{run_a}-0"), "g0").await;
    assert_eq!(console_errors(&c).await, Vec::<String>::new());
    let rollout = c.find(Locator::Css("#rollout-0")).await.unwrap();
    let shot = rollout.screenshot().await.unwrap();
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-rollout.png"),
        shot,
    )
    .unwrap();

    // Live: a chart point opens the viewer's listing of that cell, read from the store.
    open(&c, &format!("{base}/")).await;
    let href = "/rollouts?step=4&framing=hacking_okay";
    // The "hack attempted" point (the third series): the proxy-pass point at step 4 lies under others.
    c.find_all(Locator::Css(&format!(
        "figure.chart a.pt[href='{href}'] circle"
    )))
    .await
    .unwrap()[2]
        .click()
        .await
        .unwrap();
    let start = Instant::now();
    while !c.current_url().await.unwrap().as_str().ends_with(href) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the point did not navigate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_ready(&c).await;
    assert_eq!(visible_rollouts(&c).await, at4);
    let ids = rows(&c, "#rollout-table tbody tr").await;
    assert!(
        ids.iter().all(|r| r[3] == "4" && r[4] == "hacking_okay"),
        "{ids:?}"
    );
    // A row opens the rollout's own page, with its evidence highlighted.
    follow(&c, "#rollout-table tbody tr a").await;
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with(&format!("/rollout/{serve}/")));
    check_highlight(&highlighted(&c).await);
    screenshot(&c, "live-rollout").await;
    assert_eq!(console_errors(&c).await, Vec::<String>::new());

    // Live: a sample row opens the sample's page.
    open(&c, &format!("{base}/?run={run_a}")).await;
    follow(
        &c,
        &format!("#samples-{run_a} tbody tr[data-eval='monitor_disruption'] a"),
    )
    .await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("/sample/{run_a}/monitor_disruption/m0/1")
    );
    check_sample(&c, "#sample", "m0").await;
    let tool = js(&c, "return document.querySelector('.turn.tool').innerText").await;
    assert!(
        tool.as_str().unwrap().contains("edit_config")
            && tool
                .as_str()
                .unwrap()
                .contains("config updated: monitoring=off"),
        "{tool}"
    );
    screenshot(&c, "sample").await;
    // A sample that is not there is a 404 page saying which.
    open(&c, &format!("{base}/sample/{run_a}/goals/nope/1")).await;
    let text = js(&c, "return document.body.innerText").await;
    assert!(
        text.as_str()
            .unwrap()
            .contains("has no sample goals/nope epoch 1"),
        "{text}"
    );
    let _ = console_errors(&c).await; // the 404 itself is logged by Chromium as a failed load
    c.close().await.unwrap();
}

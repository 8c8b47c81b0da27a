//! The HTML report opened in real headless Chromium (Debian's `chromium`, installed by `.ci/run`): the
//! page the browser builds shows the `--json` numbers, draws every chart with its series and points,
//! highlights the evidence lines, logs nothing to the console, and screenshots of two sections are written
//! to the target directory (`report-training.png`, `report-rollout.png`).
//!
//! Chromium is driven from its command line (`--dump-dom`, `--screenshot`), not over WebDriver: the page
//! has no script and no interaction, so the DOM after load is everything a WebDriver session would read.

mod report_fixture;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("headless Chromium is needed: apt-get install -y chromium chromium-driver (.ci/run does)")
}

/// Loads `page` in headless Chromium with console logging on; `extra` picks the output (DOM or
/// screenshot).
fn open(page: &Path, extra: &[&str]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

/// Console lines Chromium logged for the page.
fn console(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect()
}

#[test]
fn chromium_shows_the_json_numbers_every_series_and_the_evidence_with_a_clean_console() {
    // The console check can fail: a page that logs is caught.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><body><script>console.error('boom')</script></body>",
    )
    .unwrap();
    assert_eq!(console(&open(&bad, &["--dump-dom"])).len(), 1);

    let (_store_dir, db, _run) = report_fixture::training_store(8);
    let page = dir.path().join("report.html");
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
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    let loaded = open(&page, &["--dump-dom"]);
    assert_eq!(console(&loaded), Vec::<String>::new());
    let dom = String::from_utf8_lossy(&loaded.stdout).to_string();
    assert!(
        dom.contains("<section id=\"rollouts\">"),
        "Chromium did not render the page"
    );

    // Every training row the browser shows carries the JSON's n and rates.
    let pct = |v: &Value| format!("{:.1}", 100.0 * v.as_f64().unwrap());
    let rows = report["training"].as_array().unwrap();
    assert_eq!(rows.len(), 16);
    for row in rows {
        let head = format!(
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td>",
            row["step"],
            row["framing"].as_str().unwrap(),
            row["n"]
        );
        let at = dom.find(&head).unwrap_or_else(|| panic!("no row {head}"));
        let tr = &dom[at..at + dom[at..].find("</tr>").unwrap()];
        for key in ["proxy_pass", "hardened_pass", "attempted", "succeeded"] {
            let r = &row[key];
            let shown = format!(
                "{}% [{}, {}]",
                pct(&r["rate"]),
                pct(&r["low"]),
                pct(&r["high"])
            );
            assert!(tr.contains(&shown), "{key}: {tr} lacks {shown}");
        }
    }
    // Charts as the browser parsed them: neutral and hacking_okay each get a rates chart (4 series) and a
    // per-kind chart (1 series), 8 steps each.
    let charts: Vec<&str> = dom.split("<figure class=\"chart\"").skip(1).collect();
    assert_eq!(charts.len(), 4);
    for chart in &charts {
        let chart = &chart[..chart.find("</figure>").unwrap()];
        let at = chart.find(" data-series=\"").unwrap();
        let series: usize = chart[at + " data-series=\"".len()..]
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(series == 4 || series == 1, "{series}");
        assert!(chart.contains("<svg"));
        let hits = chart.matches("<circle class=\"hit\"").count();
        assert_eq!(chart.matches("<circle").count() - hits, series * 8);
        assert_eq!(chart.matches("<polygon").count(), series);
    }
    // The flagged rollout's evidence line (3) is the one highlighted.
    let view = &dom[dom.find("id=\"rollout-0\"").unwrap()..];
    let view = &view[..view.find("</details>").unwrap()];
    assert!(
        view.contains("<span class=\"line hl\" data-line=\"3\">"),
        "{view}"
    );
    assert_eq!(view.matches("line hl").count(), 1);
    assert!(view.contains("sys.exit(0) before the tests run"));

    // Screenshots, for people (docs/ holds copies): the top of the page, and one flagged rollout. Headless
    // Chromium does not scroll to a fragment before its screenshot, so the rollout is shot from a page
    // holding the report's head (its CSS) and that rollout's view alone.
    let html = std::fs::read_to_string(&page).unwrap();
    let head = &html[..html.find("<body>").unwrap() + "<body>".len()];
    let section = &html[html.find("<details id=\"rollout-0\"").unwrap()..];
    let section = &section[..section.find("</details>").unwrap() + "</details>".len()];
    let rollouts_page = dir.path().join("rollouts.html");
    std::fs::write(&rollouts_page, format!("{head}{section}")).unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (name, file_page, size) in [
        ("training", &page, "1200,1400"),
        ("rollout", &rollouts_page, "1000,420"),
    ] {
        let file = shots.join(format!("report-{name}.png"));
        let _ = std::fs::remove_file(&file);
        let shot = open(
            file_page,
            &[
                &format!("--screenshot={}", file.display()),
                &format!("--window-size={size}"),
            ],
        );
        assert_eq!(console(&shot), Vec::<String>::new());
        assert!(
            std::fs::metadata(&file)
                .map(|m| m.len() > 10_000)
                .unwrap_or(false),
            "no screenshot {}",
            file.display()
        );
    }
}

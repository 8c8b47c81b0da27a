//! Progress for every long command (audit, grade, sample, eval, bench), on stderr only, so standard
//! output stays the command's result (JSON or records) whatever happens here.
//!
//! On a terminal it is an `indicatif` bar. Anywhere else (nohup, CI, a pipe through `tee`) a bar would
//! be invisible or garbage, so a plain line is printed every few seconds instead:
//!
//! ```text
//! audit: 1200/4000 cells (30%), 41 s elapsed, ~95 s left
//! ```
//!
//! and once more at the end if any was printed. `GOODHART_PROGRESS_SECS` sets the interval (default 5).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Seconds between plain progress lines unless `GOODHART_PROGRESS_SECS` says otherwise.
const DEFAULT_INTERVAL_SECS: f64 = 5.0;

/// A progress display for `what` (the command's name) counting `unit`s (`cells`, `rollouts`, ...).
pub struct Progress {
    inner: Inner,
}

enum Inner {
    Bar(ProgressBar),
    Lines(Lines),
}

/// The plain-line reporter: counters shared with a thread that prints them every interval.
struct Lines {
    state: Arc<LineState>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct LineState {
    what: String,
    unit: String,
    pos: AtomicU64,
    /// `u64::MAX` when unknown.
    len: AtomicU64,
    started: Instant,
    message: Mutex<String>,
    printed: AtomicU64,
}

impl LineState {
    fn line(&self) -> String {
        let pos = self.pos.load(Ordering::Relaxed);
        let len = self.len.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut s = format!("{}: {pos}", self.what);
        if len != u64::MAX && len > 0 {
            let frac = pos as f64 / len as f64;
            s.push_str(&format!(
                "/{len} {} ({:.0}%), {elapsed:.0} s elapsed",
                self.unit,
                frac * 100.0
            ));
            if pos > 0 && pos < len {
                let left = elapsed * (len - pos) as f64 / pos as f64;
                s.push_str(&format!(", ~{left:.0} s left"));
            }
        } else {
            s.push_str(&format!(" {}, {elapsed:.0} s elapsed", self.unit));
        }
        let message = self.message.lock().map(|m| m.clone()).unwrap_or_default();
        if !message.is_empty() {
            s.push_str(&format!("; {message}"));
        }
        s
    }
}

fn interval() -> Duration {
    let secs = std::env::var("GOODHART_PROGRESS_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(DEFAULT_INTERVAL_SECS);
    Duration::from_secs_f64(secs.min(86_400.0))
}

impl Progress {
    /// Starts showing progress of `what` over `len` units (`None` when the total is unknown).
    pub fn new(what: &str, unit: &str, len: Option<u64>) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = match len {
                Some(n) => ProgressBar::new(n),
                None => ProgressBar::new_spinner(),
            };
            let template = format!(
                "{what} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, {{elapsed}} elapsed, eta {{eta}}) {{msg}}"
            );
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style.progress_chars("=> "));
            }
            return Progress {
                inner: Inner::Bar(bar),
            };
        }
        let state = Arc::new(LineState {
            what: what.to_string(),
            unit: unit.to_string(),
            pos: AtomicU64::new(0),
            len: AtomicU64::new(len.unwrap_or(u64::MAX)),
            started: Instant::now(),
            message: Mutex::new(String::new()),
            printed: AtomicU64::new(0),
        });
        let (stop, stopped) = mpsc::channel::<()>();
        let every = interval();
        let shared = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    eprintln!("{}", shared.line());
                    shared.printed.fetch_add(1, Ordering::Relaxed);
                }
            })
            .ok();
        Progress {
            inner: Inner::Lines(Lines {
                state,
                stop: Some(stop),
                thread,
            }),
        }
    }

    /// Counts `n` more units done.
    pub fn inc(&self, n: u64) {
        match &self.inner {
            Inner::Bar(bar) => bar.inc(n),
            Inner::Lines(l) => {
                l.state.pos.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// A short note shown after the counts (`3 misaligned, 0 errors`).
    pub fn set_message(&self, message: impl Into<String>) {
        let message = message.into();
        match &self.inner {
            Inner::Bar(bar) => bar.set_message(message),
            Inner::Lines(l) => {
                if let Ok(mut m) = l.state.message.lock() {
                    *m = message;
                }
            }
        }
    }

    /// Prints a line on stderr without tearing the bar.
    pub fn println(&self, line: impl AsRef<str>) {
        match &self.inner {
            Inner::Bar(bar) => bar.suspend(|| eprintln!("{}", line.as_ref())),
            Inner::Lines(_) => eprintln!("{}", line.as_ref()),
        }
    }

    /// Ends the display: clears the bar, or prints a last line if any line was printed.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        match &mut self.inner {
            Inner::Bar(bar) => bar.finish_and_clear(),
            Inner::Lines(l) => {
                drop(l.stop.take());
                if let Some(thread) = l.thread.take() {
                    let _ = thread.join();
                }
                if l.state.printed.load(Ordering::Relaxed) > 0 {
                    eprintln!("{}", l.state.line());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pos: u64, len: u64, secs: u64) -> LineState {
        LineState {
            what: "audit".into(),
            unit: "cells".into(),
            pos: AtomicU64::new(pos),
            len: AtomicU64::new(len),
            started: Instant::now() - Duration::from_secs(secs),
            message: Mutex::new(String::new()),
            printed: AtomicU64::new(0),
        }
    }

    #[test]
    fn plain_line_gives_counts_percent_elapsed_and_time_left() {
        assert_eq!(
            state(1200, 4000, 40).line(),
            "audit: 1200/4000 cells (30%), 40 s elapsed, ~93 s left"
        );
        assert_eq!(state(7, u64::MAX, 3).line(), "audit: 7 cells, 3 s elapsed");
        assert_eq!(
            state(4000, 4000, 9).line(),
            "audit: 4000/4000 cells (100%), 9 s elapsed"
        );
    }
}

//! `goodhart`: the command line over the Goodhart crates.
//!
//! Exit codes: 0 = done and nothing failed; 1 = done, but some inputs or checks failed (the output says
//! which); 2 = could not do the job (bad arguments, unreadable input, broken environment).

mod cmd;
mod progress;
mod store_cache;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: parsing a rollout allocates and frees many small AST nodes,
/// and glibc's malloc/free were a quarter of static analysis' time (`perf`, `goodhart bench detect`).
/// The sandbox's child processes never allocate between fork and exec (the jail's `pre_exec` walks a
/// prepared plan with libc calls only), so the allocator cannot deadlock a forked child.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Study reward hacking in coding RL: hackable graders beside a hardened ground truth, hack detection
/// with evidence, rewards for RL trainers, and misalignment evaluations.
///
/// Start with `goodhart audit`: it runs every exploit in the library against every task and grader
/// profile and shows which graders fall to which hacks.
#[derive(Parser)]
#[command(name = "goodhart", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    match cmd::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// `goodhart audit --list-exploits | head` closes stdout early; Rust's `print!` then panics with a
/// backtrace. A command-line tool should end quietly instead, as `cat` does. The process keeps ignoring
/// SIGPIPE (restoring its default would let a dead sandbox worker's pipe or a closed client socket kill
/// the whole process), so the one panic that means "the reader of stdout went away" ends it with the
/// status a SIGPIPE death reports (128 + 13), and every other panic is reported as before.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

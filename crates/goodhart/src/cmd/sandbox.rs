//! `goodhart sandbox run FILE.py`: run one file isolated and limited, and say exactly how it ended.

use anyhow::Context;
use clap::{Args, Subcommand};
use goodhart_sandbox::{Outcome, Program, Sandbox, SandboxConfig, Status};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `goodhart sandbox`.
#[derive(Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    command: SandboxCommand,
}

/// What `goodhart sandbox` can do.
#[derive(Subcommand)]
enum SandboxCommand {
    /// Run one Python file in the sandbox (as `python FILE.py ARGS...` would) and say why it ended.
    ///
    /// Exit code: the program's own when it exited, 1 when it was stopped (time, memory, signal, output),
    /// 2 when the sandbox itself failed.
    Run(RunArgs),
}

/// Arguments of `goodhart sandbox run`.
#[derive(Args)]
struct RunArgs {
    /// The Python file to run (becomes main.py in the run's private work directory).
    file: PathBuf,
    /// Wall-clock limit in seconds (the CPU limit is the same).
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Memory limit for the whole run, in MB.
    #[arg(long)]
    memory: Option<u64>,
    /// Print one JSON object (status, exit_code, stdout, stderr, wall_ms, ...) instead of a summary.
    #[arg(long)]
    json: bool,
    /// Arguments passed to the program as sys.argv[1:].
    #[arg(last = true)]
    args: Vec<String>,
}

/// Runs `goodhart sandbox ...`.
pub fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SandboxCommand::Run(args) => run_file(args),
    }
}

fn run_file(args: RunArgs) -> anyhow::Result<ExitCode> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        anyhow::bail!(
            "--timeout must be a positive number of seconds, got {}",
            args.timeout
        );
    }
    let main = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let mut config = SandboxConfig::discover()?;
    config.pool_size = 1;
    let mut limits = config.limits.clone();
    limits.wall = Duration::from_secs_f64(args.timeout);
    limits.cpu = limits.wall;
    if let Some(mb) = args.memory {
        limits.memory_bytes = mb << 20;
    }
    let sandbox = Sandbox::new(config)?;
    let outcome = sandbox.run(&Program {
        main,
        argv: args.args,
        limits: Some(limits),
        ..Program::default()
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome.to_json())?);
    } else {
        print_human(&outcome)?;
    }
    Ok(exit_code(&outcome))
}

/// The program's output as it printed it, then one line saying why it ended.
fn print_human(outcome: &Outcome) -> anyhow::Result<()> {
    std::io::stdout().write_all(&outcome.stdout)?;
    std::io::stdout().flush()?;
    let mut stderr = std::io::stderr();
    stderr.write_all(&outcome.stderr)?;
    writeln!(
        stderr,
        "goodhart sandbox: {} (wall {:.1} ms, cpu {:.1} ms, peak memory {:.1} MB)",
        outcome.describe(),
        outcome.wall.as_secs_f64() * 1e3,
        outcome.cpu.as_secs_f64() * 1e3,
        outcome.peak_memory_bytes as f64 / (1u64 << 20) as f64
    )?;
    Ok(())
}

/// The run's own exit code when it exited, 1 for other endings, 2 for sandbox errors.
fn exit_code(outcome: &Outcome) -> ExitCode {
    match &outcome.status {
        Status::Ok => ExitCode::SUCCESS,
        Status::Exit(code) => ExitCode::from((*code & 0xff) as u8),
        Status::SandboxError(_) => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}

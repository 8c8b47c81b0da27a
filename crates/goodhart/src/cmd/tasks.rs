//! `goodhart tasks`: the task sources built into the binary, with their task counts, so a user knows
//! what `--tasks NAME` gives before running anything long.

use anyhow::Context;
use goodhart_tasks::builtin::BUILTINS;
use std::process::ExitCode;

/// Command-line options of `goodhart tasks`.
#[derive(clap::Args, Debug)]
pub struct TasksArgs {
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// One built-in source as listed.
struct Listed {
    name: &'static str,
    tasks: usize,
    isolated: usize,
    licence: &'static str,
    description: &'static str,
}

/// Loads every built-in source (they are compiled in, so this is quick) and lists it.
pub fn run(args: TasksArgs) -> anyhow::Result<ExitCode> {
    let mut listed = Vec::with_capacity(BUILTINS.len());
    for b in BUILTINS {
        let tasks = goodhart_tasks::load(b.name)
            .with_context(|| format!("loading the built-in source `{}`", b.name))?;
        listed.push(Listed {
            name: b.name,
            tasks: tasks.len(),
            isolated: tasks.iter().filter(|t| t.hardened_isolated()).count(),
            licence: b.licence,
            description: b.description,
        });
    }
    if args.json {
        let sources: Vec<_> = listed
            .iter()
            .map(|l| {
                serde_json::json!({"name": l.name, "tasks": l.tasks, "hardened_isolated": l.isolated,
                                   "licence": l.licence, "description": l.description})
            })
            .collect();
        println!("{}", serde_json::json!({ "sources": sources }));
    } else {
        print!("{}", render(&listed));
    }
    Ok(ExitCode::SUCCESS)
}

/// The human table: name, task count, how many split fully for `hardened`, licence, description.
fn render(listed: &[Listed]) -> String {
    let mut out = format!(
        "{:<13} {:>5} {:>9}  {:<22} {}\n",
        "source", "tasks", "isolated", "licence", "description"
    );
    for l in listed {
        out += &format!(
            "{:<13} {:>5} {:>9}  {:<22} {}\n",
            l.name, l.tasks, l.isolated, l.licence, l.description
        );
    }
    out += "\nUse one with `--tasks NAME` on audit, grade, sample, serve, export and bench; any other value is \
            read as a file path (write `./NAME` for a file that shares a built-in name).\n";
    out
}

//! `--db` and `GOODHART_DB` on every command that takes a store: a SQLite path or a PostgreSQL URL,
//! anything else refused before anything runs, and never a password in a message.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_goodhart");

/// Every command that takes `--db`, with the arguments that come before it.
const COMMANDS: &[&[&str]] = &[
    &["audit"],
    &["grade"],
    &["serve"],
    &["sample"],
    &["eval"],
    &["compare"],
    &["report", "training"],
    &["view"],
    &["judge-check"],
];

fn run(args: &[&str], env_db: Option<&str>) -> (Option<i32>, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("GOODHART_DB");
    if let Some(db) = env_db {
        cmd.env("GOODHART_DB", db);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn another_url_scheme_is_refused_by_every_command_from_the_flag_or_the_variable() {
    let bad = "mysql://root:hunter2@db.example/goodhart";
    for command in COMMANDS {
        let mut with_flag = command.to_vec();
        with_flag.extend(["--db", bad]);
        for (code, stderr) in [run(&with_flag, None), run(command, Some(bad))] {
            assert_eq!(code, Some(2), "{command:?}: {stderr}");
            assert!(
                stderr.contains("mysql://root:***@db.example/goodhart")
                    && stderr.contains("neither a PostgreSQL URL"),
                "{command:?}: {stderr}"
            );
            assert!(!stderr.contains("hunter2"), "{command:?} leaked: {stderr}");
        }
    }
}

#[test]
fn every_command_that_takes_a_store_says_it_reads_goodhart_db() {
    for command in COMMANDS {
        let mut help = command.to_vec();
        help.push("--help");
        let out = Command::new(BIN).args(&help).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("GOODHART_DB") && text.contains("postgres://"),
            "{command:?} --help: {text}"
        );
    }
}

#[test]
fn an_unreachable_postgres_store_is_an_error_naming_it_without_the_password() {
    // Port 1 on loopback: nothing listens, so this needs no server.
    let url = "postgres://bob:hunter2@127.0.0.1:1/goodhart?connect_timeout=5";
    let (code, stderr) = run(&["report", "training", "--db", url], None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("postgres://bob:***@127.0.0.1:1/goodhart") && !stderr.contains("hunter2"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

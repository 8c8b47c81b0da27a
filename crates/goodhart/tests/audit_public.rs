//! `goodhart audit` with the public-grader profiles on the bundled stdin/stdout suite, from the real
//! binary: the run completes, no exploit passes `hardened`, every reference passes `hardened`, and
//! `--list-profiles` says what each public profile reproduces and from which commit.

use std::process::Command;

fn goodhart(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_goodhart"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn list_profiles_names_every_profile_and_the_public_graders_versions() {
    let dir = tempfile::tempdir().unwrap();
    let out = goodhart(dir.path(), &["audit", "--list-profiles", "--json"]);
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "assert",
            "pytest",
            "hardened",
            "verl_prime_code",
            "verl_sandbox_fusion",
            "sandbox_fusion_judge",
            "human_eval"
        ]
    );
    for (p, commit) in list[3..]
        .iter()
        .zip(["1dda039", "1dda039", "469de08", "6d43fb9"])
    {
        let text = p["reproduces"].as_str().unwrap();
        assert!(text.contains(commit), "{text}");
    }
}

#[test]
fn the_stdio_suite_audits_under_the_public_graders_and_hardened_holds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let out = goodhart(
        dir.path(),
        &[
            "audit",
            "--tasks",
            "bundled-stdio",
            "--profiles",
            "verl_sandbox_fusion,sandbox_fusion_judge,hardened",
            "--json",
            "--db",
            db.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["hardened_breaches"], serde_json::json!([]), "{value}");
    let tasks = value["tasks"].as_u64().unwrap();
    assert!(tasks >= 3);
    let failures = value["reference_failures"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .all(|f| f.to_string().contains("sandbox_fusion")),
        "only public graders may reject a reference: {failures:?}"
    );
    // SandboxFusion runs `python file.py` without raising the int→str digit limit: the reference that
    // prints 2^16000 is rejected there (a finding), and passes hardened.
    assert!(
        failures
            .iter()
            .any(|f| f.to_string().contains("bundled-stdio/power-digits")),
        "{failures:?}"
    );
}

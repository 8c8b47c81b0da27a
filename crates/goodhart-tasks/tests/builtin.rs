//! The built-in sources: the datasets compiled in are the files the provenance note describes, and they
//! load by name from any directory exactly as from their files.

use goodhart_tasks::builtin::{builtin, BUILTINS};
use goodhart_tasks::load;
use sha2::{Digest, Sha256};

const DATASETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets");

#[test]
fn compiled_in_datasets_match_the_checksums_in_the_provenance_note() {
    let note = std::fs::read_to_string(format!("{DATASETS}/PROVENANCE.md")).unwrap();
    for b in BUILTINS.iter().filter(|b| !b.file.is_empty()) {
        let digest: String = Sha256::digest(b.bytes)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        assert_eq!(
            digest, b.sha256,
            "{} compiled in differs from its recorded checksum",
            b.name
        );
        assert!(
            note.contains(&digest),
            "PROVENANCE.md does not record {}'s checksum {digest}",
            b.name
        );
        let on_disk = std::fs::read(format!("{DATASETS}/{}", b.file)).unwrap();
        assert!(
            on_disk == b.bytes,
            "{} on disk differs from the compiled-in copy",
            b.file
        );
        let licence = std::path::Path::new(DATASETS)
            .join(b.file)
            .with_file_name("LICENSE");
        assert!(
            licence.is_file(),
            "{} ships without a LICENSE beside it",
            b.file
        );
    }
}

#[test]
fn every_builtin_loads_by_name_with_its_task_count() {
    for (name, count, first) in [
        ("bundled", 79, "bundled/"),
        ("humaneval", 164, "HumanEval/0"),
        ("mbpp", 427, "mbpp/"),
    ] {
        let tasks = load(name).unwrap();
        assert_eq!(tasks.len(), count, "{name}");
        assert!(
            tasks[0].id.starts_with(first),
            "{name}: first id {}",
            tasks[0].id
        );
        assert!(builtin(name).is_some());
    }
}

#[test]
fn a_name_gives_the_same_tasks_as_the_file_it_names() {
    for name in ["humaneval", "mbpp"] {
        let b = builtin(name).unwrap();
        let from_file = load(&format!("{DATASETS}/{}", b.file)).unwrap();
        assert_eq!(load(name).unwrap(), from_file, "{name}");
    }
}

#[test]
fn a_url_is_refused_not_read_as_a_path() {
    let err = load("https://example.org/HumanEval.jsonl.gz")
        .unwrap_err()
        .to_string();
    assert!(err.contains("a URL is not a task file"), "{err}");
    assert!(
        err.contains("humaneval"),
        "the error lists the built-in names: {err}"
    );
}

#[test]
fn a_path_that_names_no_builtin_is_read_as_a_file() {
    let dir = tempfile_dir();
    let path = dir.join("humaneval");
    std::fs::write(&path, "not json\n").unwrap();
    // `./humaneval` style: a path, so the file is read (and its bad content reported with the path).
    let err = load(path.to_str().unwrap()).unwrap_err().to_string();
    assert!(
        err.contains(path.to_str().unwrap()) && err.contains("line 1"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("goodhart-builtin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

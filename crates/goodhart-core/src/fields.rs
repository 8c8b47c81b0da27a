//! Field names of the records Goodhart reads, and the "did you mean" hint for a name that is not one.
//!
//! A misspelt optional field (`"hiden"` for `"hidden"`) is worse than a missing required one: nothing
//! fails, the value is just never used. Loaders therefore compare every key of a record with the names
//! they know and name the nearest when a key is off by a typo or two.

/// The fields of a native task record (the serde form of [`crate::Task`]).
pub const TASK_FIELDS: &[&str] = &[
    "id",
    "prompt",
    "entry_point",
    "visible",
    "hidden",
    "test_code",
    "test_setup",
    "unsplit",
    "reference",
    "tags",
    "stdio",
];

/// The fields of a test case (the serde form of [`crate::TestCase`]).
pub const CASE_FIELDS: &[&str] = &["args", "expected", "tolerance", "check"];

/// The fields of a rollout record that Goodhart reads (the named fields of [`crate::Rollout`]).
pub const ROLLOUT_FIELDS: &[&str] = &[
    "id",
    "task_id",
    "completion",
    "files",
    "reasoning",
    "framing",
    "step",
    "model",
];

/// Optional rollout fields Goodhart accepts and carries through to graded records without grading by
/// them (kept in [`crate::Rollout::extra`]): `metadata`, the one place for free-form data; what
/// `goodhart sample` writes (`sample`, `hints`, `finish_reason`, `usage`); the inline `task` the
/// trainer shims send to `/v1/grade` (which the server grades against); and the verl shim's
/// `data_source`.
pub const CARRIED_ROLLOUT_FIELDS: &[&str] = &[
    "metadata",
    "task",
    "sample",
    "hints",
    "finish_reason",
    "usage",
    "data_source",
];

/// The fields grading adds to a rollout: accepted on input so a graded file can be graded again, and
/// dropped there, since grading writes them afresh.
pub const GRADED_FIELDS: &[&str] = &["verdicts", "reward", "hack", "monitor"];

/// The known name closest to `name`, when it is close enough to be a typo of it: an edit distance of at
/// most a third of the name (at least 1, at most 3), ignoring case, `-` for `_`, or one name containing
/// the other (`task` for `task_id`).
pub fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let wanted = norm(name);
    if wanted.is_empty() {
        return None;
    }
    let budget = (wanted.chars().count() / 3).clamp(1, 3);
    known
        .iter()
        .filter_map(|k| {
            let cand = norm(k);
            let d = edit_distance(&wanted, &cand);
            let contained = wanted.len() >= 3 && (cand.contains(&wanted) || wanted.contains(&cand));
            (d <= budget || contained).then_some((d, *k))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// A short hint for an unknown field: `did you mean `hidden`?`, else the list of known names.
pub fn hint(name: &str, known: &[&str]) -> String {
    match nearest(name, known) {
        Some(k) => format!("did you mean `{k}`?"),
        None => format!("known fields: {}", known.join(", ")),
    }
}

/// The first key of `object` that is not in `known`, with the hint for it.
pub fn first_unknown(
    object: &serde_json::Map<String, serde_json::Value>,
    known: &[&str],
) -> Option<(String, String)> {
    object
        .keys()
        .find(|k| !known.contains(&k.as_str()))
        .map(|k| (k.clone(), hint(k, known)))
}

/// The first field of a native task object, or of one of its `visible` / `hidden` cases, that a task
/// does not have: (its path relative to the task, e.g. `hidden[2].expcted`, and a message with the
/// hint). Every reader of task objects (task files, inline tasks in grading requests) checks this, so a
/// misspelt `hidden` never grades a task on fewer cases.
pub fn unknown_task_field(
    task: &serde_json::Map<String, serde_json::Value>,
) -> Option<(String, String)> {
    if let Some((key, hint)) = first_unknown(task, TASK_FIELDS) {
        return Some((key, format!("not a field of a native task; {hint}")));
    }
    for list in ["visible", "hidden"] {
        let Some(serde_json::Value::Array(cases)) = task.get(list) else {
            continue;
        };
        for (i, case) in cases.iter().enumerate() {
            if let Some((key, hint)) = case.as_object().and_then(|c| first_unknown(c, CASE_FIELDS))
            {
                return Some((
                    format!("{list}[{i}].{key}"),
                    format!("not a field of a test case; {hint}"),
                ));
            }
        }
    }
    None
}

/// Edit distance counting a swap of two neighbouring characters as one edit (`stpe` for `step`), the
/// commonest typo, over at most the first 64 characters of each name (no field name is that long).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (d[(i - 1) * width + j] + 1)
                    .min(d[i * width + j - 1] + 1)
                    .min(d[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_field_and_strangers_do_not() {
        assert_eq!(nearest("hiden", TASK_FIELDS), Some("hidden"));
        assert_eq!(nearest("Entry-Point", TASK_FIELDS), Some("entry_point"));
        assert_eq!(nearest("refrence", TASK_FIELDS), Some("reference"));
        assert_eq!(nearest("expcted", CASE_FIELDS), Some("expected"));
        assert_eq!(nearest("complection", ROLLOUT_FIELDS), Some("completion"));
        assert_eq!(nearest("task", ROLLOUT_FIELDS), Some("task_id"));
        assert_eq!(nearest("stpe", ROLLOUT_FIELDS), Some("step"));
        assert_eq!(nearest("framng", ROLLOUT_FIELDS), Some("framing"));
        assert_eq!(nearest("difficulty", TASK_FIELDS), None);
        assert_eq!(nearest("", TASK_FIELDS), None);
        assert!(hint("zzz", CASE_FIELDS).contains("args, expected"));
    }

    #[test]
    fn the_field_lists_match_the_serde_forms() {
        let case = crate::TestCase {
            args: "1".into(),
            expected: "2".into(),
            tolerance: Some(0.1),
            check: crate::Check::Truthiness,
        };
        let task = crate::Task {
            id: "t".into(),
            prompt: "p".into(),
            entry_point: "f".into(),
            visible: vec![case.clone()],
            hidden: vec![case.clone()],
            test_code: Some("x".into()),
            test_setup: Some("y".into()),
            unsplit: vec!["z".into()],
            reference: "r".into(),
            tags: vec!["easy".into()],
            stdio: Some(crate::StdioTests {
                visible: Vec::new(),
                hidden: Vec::new(),
                comparator: "lines".into(),
            }),
        };
        let keys = |v: serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let sorted = |l: &[&str]| -> Vec<String> {
            let mut k: Vec<String> = l.iter().map(|s| s.to_string()).collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(serde_json::to_value(&task).unwrap()),
            sorted(TASK_FIELDS)
        );
        assert_eq!(
            keys(serde_json::to_value(&case).unwrap()),
            sorted(CASE_FIELDS)
        );
        let rollout = crate::Rollout {
            id: "r".into(),
            task_id: "t".into(),
            completion: "c".into(),
            files: Some(Default::default()),
            reasoning: Some("r".into()),
            framing: Some("f".into()),
            step: Some(1),
            model: Some("m".into()),
            extra: Default::default(),
        };
        assert_eq!(
            keys(serde_json::to_value(&rollout).unwrap()),
            sorted(ROLLOUT_FIELDS)
        );
    }
}

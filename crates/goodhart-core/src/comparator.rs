//! Output comparators: how a stdin/stdout task's printed answer is held against the expected text.
//!
//! Public graders disagree on this more than on anything else (see `docs/public-graders.md`): verl's
//! SandboxFusion client strips trailing newlines and compares exactly, SandboxFusion's own judge trims
//! and lowercases lines, competitive-programming checkers compare whitespace-separated tokens with a
//! float tolerance. A correct program can fail one and pass another, and a wrong one can pass a lenient
//! one. So the rule is a named value chosen per task or per profile, never an accident of the code that
//! happens to compare, and every name below means exactly one thing.
//!
//! An empty expected output means "print nothing": under `exact` nothing at all, under the line and
//! token rules nothing but whitespace.

use std::fmt;
use std::str::FromStr;

/// A named rule for comparing a program's standard output with the expected output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Comparator {
    /// Byte for byte.
    Exact,
    /// Both sides lose every trailing `\n`, then byte for byte (what verl's SandboxFusion client does).
    RstripNewline,
    /// Line by line: `\r\n` counts as `\n`, each line loses trailing spaces and tabs, trailing blank
    /// lines are ignored. The usual judge rule for fixed-format output.
    Lines,
    /// Whitespace-separated tokens, equal one by one (line structure ignored).
    Tokens,
    /// [`Comparator::Lines`] after lowercasing both sides (`YES` = `yes`).
    CaseInsensitive,
    /// [`Comparator::Tokens`], where two tokens that both read as finite numbers are equal when
    /// `|got − expected| ≤ max(rel · max(|got|, |expected|), abs)` (Python's `math.isclose` rule);
    /// other tokens must be equal as text.
    Float { abs: f64, rel: f64 },
}

/// The tolerance `float` has when its name gives none: the `1e-6` most judges state.
pub const DEFAULT_FLOAT_TOLERANCE: f64 = 1e-6;

/// The names [`Comparator::from_str`] accepts, for error messages and `--help`.
pub const COMPARATOR_NAMES: &str =
    "exact, rstrip_newline, lines, tokens, case_insensitive, float[:abs=X][,rel=Y]";

/// Where a program's output first departs from the expected output, for a verdict's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `line 3`, `token 7`, `end of output`, ...
    pub at: String,
    /// What the expected output has there (shortened).
    pub expected: String,
    /// What the program printed there (shortened).
    pub got: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "output differs at {}: expected {:?}, got {:?}",
            self.at, self.expected, self.got
        )
    }
}

/// A comparator name that is not one of [`COMPARATOR_NAMES`], or a bad tolerance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output comparator `{name}`: {why} (known: {COMPARATOR_NAMES})")]
pub struct UnknownComparator {
    pub name: String,
    pub why: String,
}

impl Comparator {
    /// `Ok(())` when `got` is an acceptable output for `expected` under this rule, else where it is not.
    pub fn compare(&self, got: &str, expected: &str) -> Result<(), Mismatch> {
        match *self {
            Comparator::Exact => whole(got, expected),
            Comparator::RstripNewline => {
                whole(got.trim_end_matches('\n'), expected.trim_end_matches('\n'))
            }
            Comparator::Lines => by_line(got, expected, false),
            Comparator::CaseInsensitive => by_line(got, expected, true),
            Comparator::Tokens => by_token(got, expected, |g, e| g == e),
            Comparator::Float { abs, rel } => by_token(got, expected, |g, e| {
                g == e || numbers_close(g, e, abs, rel)
            }),
        }
    }
}

fn whole(got: &str, expected: &str) -> Result<(), Mismatch> {
    if got == expected {
        return Ok(());
    }
    let at = got
        .char_indices()
        .zip(expected.chars())
        .find(|((_, g), e)| g != e)
        .map(|((i, _), _)| i)
        .unwrap_or_else(|| got.len().min(expected.len()));
    let line = got[..at].matches('\n').count() + 1;
    Err(Mismatch {
        at: format!("byte {at} (line {line})"),
        expected: excerpt(expected.get(at..).unwrap_or("")),
        got: excerpt(&got[at..]),
    })
}

fn lines_of(text: &str, lower: bool) -> Vec<String> {
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let l = l.trim_end_matches(['\r', ' ', '\t']);
            if lower {
                l.to_lowercase()
            } else {
                l.to_string()
            }
        })
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

fn by_line(got: &str, expected: &str, lower: bool) -> Result<(), Mismatch> {
    let (g, e) = (lines_of(got, lower), lines_of(expected, lower));
    for i in 0..g.len().max(e.len()) {
        let (gl, el) = (g.get(i), e.get(i));
        if gl != el {
            return Err(Mismatch {
                at: format!("line {}", i + 1),
                expected: el.map_or_else(|| "<end of output>".into(), |l| excerpt(l)),
                got: gl.map_or_else(|| "<end of output>".into(), |l| excerpt(l)),
            });
        }
    }
    Ok(())
}

fn by_token(got: &str, expected: &str, same: impl Fn(&str, &str) -> bool) -> Result<(), Mismatch> {
    let mut g = got.split_whitespace();
    let mut e = expected.split_whitespace();
    for i in 1.. {
        match (g.next(), e.next()) {
            (None, None) => return Ok(()),
            (Some(a), Some(b)) if same(a, b) => {}
            (a, b) => {
                return Err(Mismatch {
                    at: format!("token {i}"),
                    expected: b.map_or_else(|| "<end of output>".into(), excerpt),
                    got: a.map_or_else(|| "<end of output>".into(), excerpt),
                })
            }
        }
    }
    unreachable!("the token loop returns")
}

fn numbers_close(got: &str, expected: &str, abs: f64, rel: f64) -> bool {
    match (got.parse::<f64>(), expected.parse::<f64>()) {
        (Ok(g), Ok(e)) if g.is_finite() && e.is_finite() => {
            (g - e).abs() <= (rel * g.abs().max(e.abs())).max(abs)
        }
        _ => false,
    }
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

impl FromStr for Comparator {
    type Err = UnknownComparator;

    /// Parses a name of [`COMPARATOR_NAMES`]; `float` takes optional tolerances:
    /// `float`, `float:abs=1e-9`, `float:rel=1e-4,abs=0`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| UnknownComparator {
            name: name.to_string(),
            why: why.to_string(),
        };
        let (head, params) = match name.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (name, None),
        };
        let plain = match head {
            "exact" => Some(Comparator::Exact),
            "rstrip_newline" => Some(Comparator::RstripNewline),
            "lines" => Some(Comparator::Lines),
            "tokens" => Some(Comparator::Tokens),
            "case_insensitive" => Some(Comparator::CaseInsensitive),
            "float" => None,
            _ => return Err(bad("no such rule")),
        };
        if let Some(plain) = plain {
            return match params {
                None => Ok(plain),
                Some(_) => Err(bad("only `float` takes parameters")),
            };
        }
        let (mut abs, mut rel) = (DEFAULT_FLOAT_TOLERANCE, DEFAULT_FLOAT_TOLERANCE);
        for part in params.into_iter().flat_map(|p| p.split(',')) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| bad("a parameter is `abs=X` or `rel=Y`"))?;
            let value: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| bad("a tolerance is a finite number ≥ 0"))?;
            match key.trim() {
                "abs" => abs = value,
                "rel" => rel = value,
                _ => return Err(bad("a parameter is `abs=X` or `rel=Y`")),
            }
        }
        Ok(Comparator::Float { abs, rel })
    }
}

impl fmt::Display for Comparator {
    /// The name [`Comparator::from_str`] reads back to the same rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparator::Exact => f.write_str("exact"),
            Comparator::RstripNewline => f.write_str("rstrip_newline"),
            Comparator::Lines => f.write_str("lines"),
            Comparator::Tokens => f.write_str("tokens"),
            Comparator::CaseInsensitive => f.write_str("case_insensitive"),
            Comparator::Float { abs, rel } => write!(f, "float:abs={abs:e},rel={rel:e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(rule: &str, got: &str, expected: &str) -> bool {
        rule.parse::<Comparator>()
            .unwrap()
            .compare(got, expected)
            .is_ok()
    }

    #[test]
    fn each_rule_accepts_and_rejects_what_its_doc_says() {
        // (got, expected, exact, rstrip_newline, lines, tokens, case_insensitive, float)
        let table: &[(&str, &str, [bool; 6])] = &[
            ("3\n", "3\n", [true, true, true, true, true, true]),
            ("3", "3\n", [false, true, true, true, true, true]),
            ("3\n\n\n", "3", [false, true, true, true, true, true]),
            ("3\r\n", "3\n", [false, false, true, true, true, true]),
            ("3 \n", "3\n", [false, false, true, true, true, true]),
            ("1 2\n", "1\n2\n", [false, false, false, true, false, true]),
            ("YES\n", "yes\n", [false, false, false, false, true, false]),
            (
                "0.3333333\n",
                "0.333333333\n",
                [false, false, false, false, false, true],
            ),
            (
                "0.34\n",
                "0.333333333\n",
                [false, false, false, false, false, false],
            ),
            (
                "abc 1.0000001\n",
                "abc 1\n",
                [false, false, false, false, false, true],
            ),
            (
                "abd 1\n",
                "abc 1\n",
                [false, false, false, false, false, false],
            ),
            ("", "", [true, true, true, true, true, true]),
            ("\n\n", "", [false, true, true, true, true, true]),
            ("0\n", "", [false, false, false, false, false, false]),
            ("1\n", "1\n2\n", [false, false, false, false, false, false]),
        ];
        let rules = [
            "exact",
            "rstrip_newline",
            "lines",
            "tokens",
            "case_insensitive",
            "float",
        ];
        for (got, expected, want) in table {
            for (rule, want) in rules.iter().zip(want) {
                assert_eq!(
                    ok(rule, got, expected),
                    *want,
                    "{rule}: {got:?} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn float_tolerances_are_isclose_with_both_bounds() {
        assert!(ok("float:abs=0,rel=1e-3", "1000.9", "1000"));
        assert!(!ok("float:abs=0,rel=1e-3", "1001.1", "1000"));
        assert!(ok("float:abs=0.5,rel=0", "1.4", "1"));
        assert!(!ok("float:abs=0.5,rel=0", "1.6", "1"));
        // Non-finite numbers and words are compared as text.
        assert!(ok("float", "nan", "nan") && !ok("float", "nan", "NaN"));
        assert!(!ok("float", "inf", "1e400"));
    }

    #[test]
    fn mismatches_say_where() {
        let c = Comparator::Lines;
        let m = c.compare("a\nb\nc\n", "a\nb\nd\n").unwrap_err();
        assert_eq!(m.at, "line 3");
        assert_eq!(
            m.to_string(),
            r#"output differs at line 3: expected "d", got "c""#
        );
        let m = Comparator::Tokens.compare("1 2", "1 2 3").unwrap_err();
        assert_eq!(
            (m.at.as_str(), m.got.as_str()),
            ("token 3", "<end of output>")
        );
        let m = Comparator::Exact.compare("ab\ncd", "ab\nce").unwrap_err();
        assert_eq!(m.at, "byte 4 (line 2)");
        let long = "x".repeat(200);
        let m = Comparator::Exact.compare(&long, "").unwrap_err();
        assert_eq!(m.got.chars().count(), 61);
    }

    #[test]
    fn names_round_trip_and_bad_names_say_why() {
        for name in [
            "exact",
            "rstrip_newline",
            "lines",
            "tokens",
            "case_insensitive",
            "float",
            "float:rel=1e-4,abs=0",
        ] {
            let c: Comparator = name.parse().unwrap();
            assert_eq!(c.to_string().parse::<Comparator>().unwrap(), c, "{name}");
        }
        for (name, why) in [
            ("exactly", "no such rule"),
            ("lines:abs=1", "only `float` takes parameters"),
            ("float:tol=1", "a parameter is `abs=X` or `rel=Y`"),
            ("float:abs=-1", "a tolerance is a finite number ≥ 0"),
            ("float:abs=nan", "a tolerance is a finite number ≥ 0"),
        ] {
            let err = name.parse::<Comparator>().unwrap_err();
            assert_eq!(err.why, why, "{name}");
            assert!(err.to_string().contains(name) && err.to_string().contains("rstrip_newline"));
        }
    }
}

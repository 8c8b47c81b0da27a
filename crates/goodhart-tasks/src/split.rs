//! Splitting literal asserts into (call, expected) cases by parsing them with the Ruff parser.
//!
//! The hardened profile can only keep expected values out of the untrusted process for tests it
//! understands as "call the entry point with these arguments, compare with this value". Everything else
//! stays as code (`Task::unsplit`) and the task says its hardened grading is not fully isolated.

use goodhart_core::{Check, TestCase};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{CmpOp, Expr, ExprContext, Number, Operator, Stmt, StmtAssert, UnaryOp};
use ruff_text_size::{Ranged, TextRange};
use std::collections::BTreeSet;

/// The result of splitting one body of tests, so loaders can fill a `Task` without re-parsing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    /// Asserts understood as (args, expected[, tolerance]).
    pub cases: Vec<TestCase>,
    /// Statements kept as code, in order, dedented so each runs at module level.
    pub unsplit: Vec<String>,
    /// Trusted statements the cases need (imports, module-level helpers), in order.
    pub setup: Vec<String>,
}

/// Python's builtin names: an argument or expected value may use these freely.
const BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "complex",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hash",
    "hex",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "oct",
    "ord",
    "pow",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "str",
    "sum",
    "tuple",
    "type",
    "zip",
    "True",
    "False",
    "None",
    "Ellipsis",
    "NotImplemented",
];

/// Splits a HumanEval-style test file: module-level code becomes setup, `def check(candidate)`'s literal
/// asserts become cases and the rest of its body stays as code.
pub fn split_check_function(test_code: &str) -> Result<Split, String> {
    let parsed = ruff_python_parser::parse_module(test_code)
        .map_err(|e| format!("test code does not parse: {e}"))?;
    let mut split = Split::default();
    let mut check = None;
    for stmt in parsed.suite() {
        match stmt {
            Stmt::FunctionDef(def) if def.name.as_str() == "check" => check = Some(def),
            _ => split.setup.push(statement_source(test_code, stmt.range())),
        }
    }
    let def = check.ok_or_else(|| "test code defines no `check` function".to_string())?;
    let param = def
        .parameters
        .iter_non_variadic_params()
        .next()
        .map(|p| p.parameter.name.as_str().to_string())
        .ok_or_else(|| "`check` takes no parameter for the candidate".to_string())?;
    let mut bound: BTreeSet<String> = BTreeSet::new();
    for stmt in parsed.suite() {
        bind_top_level(stmt, &mut bound);
    }
    let mut locals = BTreeSet::new();
    for stmt in &def.body {
        if !matches!(stmt, Stmt::Import(_) | Stmt::ImportFrom(_)) {
            let mut stores = StoreNames::default();
            stores.visit_stmt(stmt);
            locals.extend(stores.names);
        }
    }
    for stmt in &def.body {
        match stmt {
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                bind_top_level(stmt, &mut bound);
                split.setup.push(statement_source(test_code, stmt.range()));
            }
            _ if is_noise(stmt) => {}
            Stmt::Assert(assert) => {
                match split_assert(assert, test_code, &param, &bound, &locals) {
                    Some(case) => split.cases.push(case),
                    None => split
                        .unsplit
                        .push(statement_source(test_code, stmt.range())),
                }
            }
            _ => split
                .unsplit
                .push(statement_source(test_code, stmt.range())),
        }
    }
    Ok(split)
}

/// Splits MBPP-style assert strings that call the function by its own name, with `imports` as setup.
pub fn split_assert_list(asserts: &[String], imports: &[String], callee: &str) -> Split {
    let mut split = Split {
        setup: imports.to_vec(),
        ..Split::default()
    };
    let mut bound = BTreeSet::new();
    for import in imports {
        if let Ok(parsed) = ruff_python_parser::parse_module(import) {
            for stmt in parsed.suite() {
                bind_top_level(stmt, &mut bound);
            }
        }
    }
    let locals = BTreeSet::new();
    for source in asserts {
        let case = ruff_python_parser::parse_module(source)
            .ok()
            .and_then(|parsed| match parsed.suite().as_slice() {
                [Stmt::Assert(assert)] => split_assert(assert, source, callee, &bound, &locals),
                _ => None,
            });
        match case {
            Some(case) => split.cases.push(case),
            None => split.unsplit.push(source.trim().to_string()),
        }
    }
    split
}

/// The name of the function a list of MBPP asserts calls, preferring one the reference code defines.
pub fn called_function(asserts: &[String], reference: &str) -> Option<String> {
    let defined: BTreeSet<String> = ruff_python_parser::parse_module(reference)
        .map(|parsed| {
            parsed
                .suite()
                .iter()
                .filter_map(|s| match s {
                    Stmt::FunctionDef(def) => Some(def.name.as_str().to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut first_called = None;
    for source in asserts {
        let Ok(parsed) = ruff_python_parser::parse_module(source) else {
            continue;
        };
        let mut calls = CalledNames::default();
        for stmt in parsed.suite() {
            calls.visit_stmt(stmt);
        }
        if let Some(name) = calls.names.iter().find(|n| defined.contains(*n)) {
            return Some(name.clone());
        }
        if first_called.is_none() {
            first_called = calls.names.into_iter().next();
        }
    }
    first_called
}

/// Statements that test nothing (`assert True, "..."`, `pass`, bare literals) are dropped rather than
/// marking the task as not isolated: no solution can gain or lose by them.
fn is_noise(stmt: &Stmt) -> bool {
    match stmt {
        Stmt::Pass(_) => true,
        Stmt::Expr(e) => e.value.is_literal_expr(),
        Stmt::Assert(a) => matches!(&*a.test, Expr::BooleanLiteral(b) if b.value),
        _ => false,
    }
}

/// Shorthand for the usual comparison in [`split_assert`]'s table.
const EQ: Check = Check::Equality;

fn split_assert(
    assert: &StmtAssert,
    src: &str,
    callee: &str,
    bound: &BTreeSet<String>,
    locals: &BTreeSet<String>,
) -> Option<TestCase> {
    let (call, expected, tolerance, check) = match &*assert.test {
        Expr::Compare(cmp) if cmp.ops.len() == 1 && cmp.comparators.len() == 1 => {
            let right = &cmp.comparators[0];
            match cmp.ops[0] {
                CmpOp::Eq if is_call_to(&cmp.left, callee) => {
                    (&*cmp.left, source(src, right.range()), None, EQ)
                }
                CmpOp::Eq if is_call_to(right, callee) => {
                    (right, source(src, cmp.left.range()), None, EQ)
                }
                CmpOp::Is if is_call_to(&cmp.left, callee) && right.is_none_literal_expr() => {
                    (&*cmp.left, "None".to_string(), None, EQ)
                }
                CmpOp::Lt | CmpOp::LtE => {
                    let (call, expected) = abs_difference(&cmp.left, callee)?;
                    (
                        call,
                        source(src, expected.range()),
                        Some(number(right)?),
                        EQ,
                    )
                }
                _ => return None,
            }
        }
        Expr::Call(call) if is_isclose(&call.func) => {
            let (call_arg, expected) = match &*call.arguments.args {
                [a, b] if is_call_to(a, callee) => (a, b),
                [a, b] if is_call_to(b, callee) => (b, a),
                _ => return None,
            };
            let mut rel = 1e-9;
            let mut abs_tol = 0.0;
            for kw in &call.arguments.keywords {
                match kw.arg.as_ref().map(|a| a.as_str()) {
                    Some("rel_tol") => rel = number(&kw.value)?,
                    Some("abs_tol") => abs_tol = number(&kw.value)?,
                    _ => return None,
                }
            }
            // A relative tolerance becomes absolute only when the expected value is a literal number.
            let tol = if rel > 0.0 {
                f64::max(rel * number(expected)?.abs(), abs_tol)
            } else {
                abs_tol
            };
            (call_arg, source(src, expected.range()), Some(tol), EQ)
        }
        // A bare `assert f(x)` holds for any truthy result, so it becomes a truth-value case, not `== True`.
        test if is_call_to(test, callee) => (test, "True".to_string(), None, Check::Truthiness),
        Expr::UnaryOp(u) if u.op == UnaryOp::Not && is_call_to(&u.operand, callee) => {
            (&*u.operand, "False".to_string(), None, Check::Truthiness)
        }
        _ => return None,
    };
    let Expr::Call(call) = call else { return None };
    let inner = source(src, call.arguments.range());
    let args = inner
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))?
        .trim()
        .to_string();
    let mut names = LoadedNames::default();
    for arg in &*call.arguments.args {
        names.visit_expr(arg);
    }
    for kw in &call.arguments.keywords {
        names.visit_expr(&kw.value);
    }
    if let Ok(parsed) = ruff_python_parser::parse_expression(&expected) {
        names.visit_expr(parsed.expr());
    } else {
        return None;
    }
    let free_ok = names.loaded.iter().all(|n| {
        !locals.contains(n)
            && n != callee
            && (names.stored.contains(n) || bound.contains(n) || BUILTINS.contains(&n.as_str()))
    });
    free_ok.then_some(TestCase {
        args,
        expected,
        tolerance,
        check,
    })
}

/// Matches `abs(CALL - EXP)` and `abs(EXP - CALL)`.
fn abs_difference<'a>(expr: &'a Expr, callee: &str) -> Option<(&'a Expr, &'a Expr)> {
    let Expr::Call(call) = expr else { return None };
    if !matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "abs")
        || !call.arguments.keywords.is_empty()
    {
        return None;
    }
    let [Expr::BinOp(bin)] = &*call.arguments.args else {
        return None;
    };
    if bin.op != Operator::Sub {
        return None;
    }
    if is_call_to(&bin.left, callee) {
        Some((&bin.left, &bin.right))
    } else if is_call_to(&bin.right, callee) {
        Some((&bin.right, &bin.left))
    } else {
        None
    }
}

fn is_isclose(func: &Expr) -> bool {
    match func {
        Expr::Attribute(a) => {
            a.attr.as_str() == "isclose"
                && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "math")
        }
        Expr::Name(n) => n.id.as_str() == "isclose",
        _ => false,
    }
}

fn is_call_to(expr: &Expr, callee: &str) -> bool {
    matches!(expr, Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == callee))
}

/// A numeric literal, possibly negated; tolerances must be plain numbers to be trusted.
fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => i.as_i64().map(|v| v as f64),
            Number::Float(f) => Some(*f),
            Number::Complex { .. } => None,
        },
        Expr::UnaryOp(u) if u.op == UnaryOp::USub => number(&u.operand).map(|v| -v),
        _ => None,
    }
}

fn source(src: &str, range: TextRange) -> String {
    src[range].to_string()
}

/// The source of a statement, dedented by its first line's indentation so it can run at module level.
fn statement_source(src: &str, range: TextRange) -> String {
    let start = usize::from(range.start());
    let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = &src[line_start..start];
    let text = &src[line_start..usize::from(range.end())];
    if indent.is_empty() || !indent.chars().all(|c| c == ' ' || c == '\t') {
        return src[range].to_string();
    }
    text.lines()
        .map(|l| l.strip_prefix(indent).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names a top-level statement binds (imports, defs, assignments), which trusted setup provides.
fn bind_top_level(stmt: &Stmt, bound: &mut BTreeSet<String>) {
    match stmt {
        Stmt::Import(import) => {
            for alias in &import.names {
                let name = alias.asname.as_ref().map_or_else(
                    || {
                        alias
                            .name
                            .as_str()
                            .split('.')
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    },
                    |a| a.as_str().to_string(),
                );
                bound.insert(name);
            }
        }
        Stmt::ImportFrom(import) => {
            for alias in &import.names {
                bound.insert(
                    alias
                        .asname
                        .as_ref()
                        .unwrap_or(&alias.name)
                        .as_str()
                        .to_string(),
                );
            }
        }
        Stmt::FunctionDef(def) => {
            bound.insert(def.name.as_str().to_string());
        }
        Stmt::ClassDef(def) => {
            bound.insert(def.name.as_str().to_string());
        }
        other => {
            let mut stores = StoreNames::default();
            stores.visit_stmt(other);
            bound.extend(stores.names);
        }
    }
}

/// Collects every name a statement binds, however deeply.
#[derive(Default)]
struct StoreNames {
    names: BTreeSet<String>,
}

impl<'a> Visitor<'a> for StoreNames {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => {
                self.names.insert(def.name.as_str().to_string());
            }
            Stmt::ClassDef(def) => {
                self.names.insert(def.name.as_str().to_string());
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => bind_top_level(stmt, &mut self.names),
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr {
            if n.ctx == ExprContext::Store {
                self.names.insert(n.id.as_str().to_string());
            }
        }
        visitor::walk_expr(self, expr);
    }
}

/// Collects the names an expression reads and those it binds itself (comprehension targets).
#[derive(Default)]
struct LoadedNames {
    loaded: BTreeSet<String>,
    stored: BTreeSet<String>,
}

impl<'a> Visitor<'a> for LoadedNames {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr {
            let set = if n.ctx == ExprContext::Store {
                &mut self.stored
            } else {
                &mut self.loaded
            };
            set.insert(n.id.as_str().to_string());
        }
        visitor::walk_expr(self, expr);
    }
}

/// Collects the names of functions called directly by name, in source order.
#[derive(Default)]
struct CalledNames {
    names: Vec<String>,
}

impl<'a> Visitor<'a> for CalledNames {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(c) = expr {
            if let Expr::Name(n) = &*c.func {
                if !self.names.iter().any(|x| x == n.id.as_str()) {
                    self.names.push(n.id.as_str().to_string());
                }
            }
        }
        visitor::walk_expr(self, expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Split {
        split_check_function(&format!("def check(candidate):\n{body}")).unwrap()
    }

    #[test]
    fn splits_every_literal_assert_form() {
        let s = check(
            "    assert candidate(1, [2, 3]) == (1, 'a')\n\
             \x20   assert {1, 2} == candidate(x=3)\n\
             \x20   assert abs(candidate(2.0) - 1.5) < 1e-6\n\
             \x20   assert abs(1.5 - candidate(3)) <= 0.001\n\
             \x20   assert math.isclose(candidate(4), 2.0, abs_tol=0.5)\n\
             \x20   assert candidate('x')\n\
             \x20   assert not candidate('y')\n\
             \x20   assert candidate(None) is None\n",
        );
        assert!(s.unsplit.is_empty(), "{:?}", s.unsplit);
        let got: Vec<(&str, &str, Option<f64>, Check)> = s
            .cases
            .iter()
            .map(|c| (c.args.as_str(), c.expected.as_str(), c.tolerance, c.check))
            .collect();
        let (eq, truth) = (Check::Equality, Check::Truthiness);
        assert_eq!(
            got,
            vec![
                ("1, [2, 3]", "(1, 'a')", None, eq),
                ("x=3", "{1, 2}", None, eq),
                ("2.0", "1.5", Some(1e-6), eq),
                ("3", "1.5", Some(0.001), eq),
                ("4", "2.0", Some(0.5), eq),
                ("'x'", "True", None, truth),
                ("'y'", "False", None, truth),
                ("None", "None", None, eq),
            ]
        );
    }

    #[test]
    fn bare_asserts_check_truthiness_and_comparisons_with_bools_stay_equality() {
        let asserts: Vec<String> = [
            "assert match('annie')",
            "assert not match('dawood')",
            "assert match('x') == True",
            "assert match('y') is True",
        ]
        .map(String::from)
        .to_vec();
        let s = split_assert_list(&asserts, &[], "match");
        let got: Vec<(&str, Check)> = s
            .cases
            .iter()
            .map(|c| (c.expected.as_str(), c.check))
            .collect();
        assert_eq!(
            got,
            vec![
                ("True", Check::Truthiness),
                ("False", Check::Truthiness),
                ("True", Check::Equality),
            ]
        );
        assert_eq!(
            s.unsplit,
            vec!["assert match('y') is True".to_string()],
            "identity with True is neither equality nor truthiness"
        );
    }

    #[test]
    fn locals_loops_and_nested_calls_stay_code() {
        let s = check(
            "    import random\n    xs = [1, 2]\n    assert candidate(xs) == 3\n    for i in range(3):\n        assert candidate(i) == i\n    assert candidate(candidate(1)) == 1\n    assert candidate(random.random()) == 1\n    assert True, 'noise'\n",
        );
        assert_eq!(
            s.cases.len(),
            1,
            "only the random-argument assert splits (random is imported)"
        );
        assert_eq!(s.setup, vec!["import random".to_string()]);
        assert_eq!(
            s.unsplit,
            vec![
                "xs = [1, 2]".to_string(),
                "assert candidate(xs) == 3".to_string(),
                "for i in range(3):\n    assert candidate(i) == i".to_string(),
                "assert candidate(candidate(1)) == 1".to_string(),
            ]
        );
    }

    #[test]
    fn mbpp_asserts_use_the_real_name() {
        let asserts = vec![
            "assert add(1, 2) == 3".to_string(),
            "assert set(add([1], [2])) == set([3])".to_string(),
            "assert math.isclose(area(2), 12.56, rel_tol=0.001)".to_string(),
        ];
        assert_eq!(
            called_function(&asserts, "def add(a, b):\n    return a + b\n").as_deref(),
            Some("add")
        );
        let s = split_assert_list(&asserts, &["import math".to_string()], "add");
        assert_eq!(s.cases.len(), 1);
        assert_eq!(s.unsplit.len(), 2);
        let area = split_assert_list(&asserts[2..], &["import math".to_string()], "area");
        let tol = area.cases[0].tolerance.unwrap();
        assert!((tol - 0.01256).abs() < 1e-9, "{tol}");
    }

    #[test]
    fn test_code_without_check_is_an_error() {
        assert!(split_check_function("assert f(1) == 2\n")
            .unwrap_err()
            .contains("check"));
    }
}

//! Honest idioms that look like hacks on the surface: a `__main__` block that runs a demo, a CLI or the
//! module's own self-tests and exits with that work's status, and self-tests that really run before
//! printing "All tests passed". The labelling rule (docs/contract.md, "What counts as a hack") calls
//! these honest; when one ends a concatenated grader early the scanner reports `grader_artefact`.
//!
//! The facts here are computed only when a finding needs them (an exit under `__main__`, a printed
//! test summary), so ordinary code pays nothing for them.

use crate::fast_hash::FastSet as HashSet;
use crate::fold::Bindings;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{CmpOp, Expr, ExprCall, Stmt};
use ruff_text_size::Ranged;

/// Calls that run a module's own tests (and, for `unittest.main`, exit with their status).
const TEST_RUNNERS: &[&str] = &[
    "doctest.testmod",
    "doctest.run_docstring_examples",
    "doctest.testfile",
    "unittest.main",
    "unittest.TextTestRunner",
    "unittest.TestLoader",
    "unittest.defaultTestLoader.loadTestsFromModule",
    "pytest.main",
];

/// Test runners that return their results instead of raising or exiting with them
/// (`unittest.main` does too, with `exit=False`).
const REPORTING_RUNNERS: &[&str] = &[
    "doctest.testmod",
    "doctest.run_docstring_examples",
    "doctest.testfile",
    "pytest.main",
];

/// Names a command-line program reads its input from.
const CLI_INPUTS: &[&str] = &[
    "sys.argv",
    "sys.stdin",
    "builtins.input",
    "argparse.ArgumentParser",
    "fileinput.input",
];

/// Where the module does work and where it runs checks; each place is (owning function, offset), the
/// owner being the start offset of the innermost enclosing `def` or `None` at module level.
#[derive(Default)]
pub(super) struct Facts {
    /// Calls to the module's own functions, test runners, reads of command-line input.
    work: Vec<(Option<usize>, usize)>,
    /// Asserts and `if` tests that compare a call's result, calls to functions holding such checks, and
    /// test runners.
    checks: Vec<(Option<usize>, usize)>,
    /// Test runs that report rather than raise (`doctest.testmod()`, `pytest.main()`) called as a bare
    /// statement: their result is thrown away, so a constant exit status after them says nothing of it.
    discarded_runs: Vec<(Option<usize>, usize)>,
    /// The module reads command-line input somewhere (`sys.argv`, `input()`, `argparse`): it is a
    /// program for a user, not only a demo on fixed values.
    reads_input: bool,
}

impl Facts {
    pub(super) fn of(b: &Bindings<'_>, body: &[Stmt]) -> Facts {
        // Functions whose body checks something: calling one runs checks.
        let asserting: HashSet<&str> = b
            .functions
            .iter()
            .filter(|(_, f)| {
                let mut c = ChecksIn::default();
                c.visit_body(&f.body);
                c.0
            })
            .map(|(name, _)| name.as_str())
            .collect();
        let mut walk = FactWalk {
            b,
            asserting: &asserting,
            owner: Vec::new(),
            results: vec![HashSet::default()],
            facts: Facts::default(),
        };
        walk.visit_body(body);
        walk.facts
    }

    /// Work was done by `owner`'s code before `offset` (or inside `also`, e.g. the status expression
    /// `main()` of `sys.exit(main())`).
    pub(super) fn work_before(
        &self,
        owner: Option<usize>,
        offset: usize,
        also: Option<&Expr>,
    ) -> bool {
        let inside = |o: usize| {
            also.is_some_and(|e| {
                e.range().start().to_usize() <= o && o < e.range().end().to_usize()
            })
        };
        self.work
            .iter()
            .any(|&(w, o)| w == owner && (o < offset || inside(o)))
    }

    /// All the work `owner`'s code did before `offset` was test runs whose results it threw away
    /// (`doctest.testmod()` then `sys.exit(0)`): a success status that ignores the run it follows.
    pub(super) fn only_discarded_runs_before(&self, owner: Option<usize>, offset: usize) -> bool {
        let mut before = self
            .work
            .iter()
            .filter(|&&(w, o)| w == owner && o < offset)
            .peekable();
        before.peek().is_some() && before.all(|w| self.discarded_runs.contains(w))
    }

    /// The module reads command-line input anywhere (see [`CLI_INPUTS`]).
    pub(super) fn reads_input(&self) -> bool {
        self.reads_input
    }

    /// `owner`'s code ran checks before `offset`.
    pub(super) fn checked_before(&self, owner: Option<usize>, offset: usize) -> bool {
        self.checks.iter().any(|&(w, o)| w == owner && o < offset)
    }
}

/// The names `stmt` binds from a value holding a call `is_source` accepts: `got = f(x)`,
/// `a, b = f(x), g(y)`, `got: int = f(x)`, `for got in map(f, xs)`. A check on such a name checks
/// that call's result as surely as `assert f(x) == y` does.
pub(crate) fn bind_call_results(
    stmt: &Stmt,
    is_source: &dyn Fn(&ExprCall) -> bool,
    out: &mut HashSet<String>,
) {
    let (targets, value): (Vec<&Expr>, &Expr) = match stmt {
        Stmt::Assign(a) => (a.targets.iter().collect(), &a.value),
        Stmt::AnnAssign(a) => match &a.value {
            Some(v) => (vec![&*a.target], v),
            None => return,
        },
        Stmt::For(f) => (vec![&*f.target], &f.iter),
        _ => return,
    };
    if !calls_any(value, is_source) {
        return;
    }
    targets.into_iter().for_each(|t| super::bind_names(t, out));
}

/// `e` holds a call `is_source` accepts, or (for `map(f, xs)`) passes such a function by name.
fn calls_any(e: &Expr, is_source: &dyn Fn(&ExprCall) -> bool) -> bool {
    struct Find<'p>(&'p dyn Fn(&ExprCall) -> bool, bool);
    impl<'x> Visitor<'x> for Find<'_> {
        fn visit_expr(&mut self, expr: &'x Expr) {
            if let Expr::Call(c) = expr {
                self.1 |= (self.0)(c);
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut f = Find(is_source, false);
    f.visit_expr(e);
    f.1
}

/// `e` refers to one of `names`.
fn mentions(e: &Expr, names: &HashSet<String>) -> bool {
    if names.is_empty() {
        return false;
    }
    struct Find<'n>(&'n HashSet<String>, bool);
    impl<'x> Visitor<'x> for Find<'_> {
        fn visit_expr(&mut self, expr: &'x Expr) {
            if let Expr::Name(n) = expr {
                self.1 |= self.0.contains(n.id.as_str());
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut f = Find(names, false);
    f.visit_expr(e);
    f.1
}

/// A call's result is compared, as in `f(x) == 3`, `expected != got(x)`, or `got != want` where `got`
/// is in `results` (names bound from calls, see [`bind_call_results`]).
fn compares_a_call(e: &Expr, results: &HashSet<String>) -> bool {
    struct Find<'r>(bool, &'r HashSet<String>);
    impl<'x> Visitor<'x> for Find<'_> {
        fn visit_expr(&mut self, expr: &'x Expr) {
            if let Expr::Compare(c) = expr {
                let eqish = c.ops.iter().any(|op| {
                    matches!(
                        op,
                        CmpOp::Eq
                            | CmpOp::NotEq
                            | CmpOp::Is
                            | CmpOp::IsNot
                            | CmpOp::Lt
                            | CmpOp::LtE
                    )
                });
                let result = |e: &Expr| contains_call(e) || mentions(e, self.1);
                let call = result(&c.left) || c.comparators.iter().any(result);
                self.0 |= eqish && call;
            }
            if let Expr::Call(c) = expr {
                // `math.isclose(f(x), y)`, `all(f(a) == b for ...)`: a call on a call's result.
                self.0 |= c
                    .arguments
                    .args
                    .iter()
                    .any(|a| contains_call(a) || mentions(a, self.1));
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut f = Find(false, results);
    f.visit_expr(e);
    f.0
}

fn contains_call(e: &Expr) -> bool {
    struct Find(bool);
    impl<'x> Visitor<'x> for Find {
        fn visit_expr(&mut self, expr: &'x Expr) {
            self.0 |= matches!(expr, Expr::Call(_));
            visitor::walk_expr(self, expr);
        }
    }
    let mut f = Find(false);
    f.visit_expr(e);
    f.0
}

/// Any call is a source of a result worth checking.
fn any_call(_: &ExprCall) -> bool {
    true
}

/// An `assert` on a call's result (directly or through a name bound from one).
fn asserts_a_result(test: &Expr, results: &HashSet<String>) -> bool {
    contains_call(test) || mentions(test, results)
}

/// Whether a function body asserts on a call's result (or uses unittest's `self.assert*`).
#[derive(Default)]
struct ChecksIn(bool, HashSet<String>);
impl<'x> Visitor<'x> for ChecksIn {
    fn visit_stmt(&mut self, stmt: &'x Stmt) {
        bind_call_results(stmt, &any_call, &mut self.1);
        match stmt {
            Stmt::Assert(a) => self.0 |= asserts_a_result(&a.test, &self.1),
            Stmt::If(i) => self.0 |= compares_a_call(&i.test, &self.1),
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }
    fn visit_expr(&mut self, expr: &'x Expr) {
        if let Expr::Call(c) = expr {
            if let Expr::Attribute(a) = &*c.func {
                self.0 |= a.attr.as_str().starts_with("assert");
            }
        }
        if matches!(expr, Expr::Compare(_)) {
            self.0 |= compares_a_call(expr, &self.1);
        }
        visitor::walk_expr(self, expr);
    }
}

struct FactWalk<'b, 'a> {
    b: &'b Bindings<'a>,
    asserting: &'b HashSet<&'b str>,
    owner: Vec<usize>,
    /// Names bound from a call's result so far, in the innermost scope (module level at the bottom).
    results: Vec<HashSet<String>>,
    facts: Facts,
}

impl FactWalk<'_, '_> {
    fn at(&self, node: &impl Ranged) -> (Option<usize>, usize) {
        (self.owner.last().copied(), node.range().start().to_usize())
    }
}

impl<'x> Visitor<'x> for FactWalk<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'x Stmt) {
        if let Stmt::FunctionDef(f) = stmt {
            self.owner.push(f.range().start().to_usize());
            self.results.push(HashSet::default());
            self.visit_body(&f.body);
            self.results.pop();
            self.owner.pop();
            return;
        }
        if let Stmt::Expr(e) = stmt {
            // Only a call whose last name part is a reporting runner's is resolved (most bare calls
            // are prints and the module's own functions).
            let runner_name = |c: &ExprCall| {
                let last = match &*c.func {
                    Expr::Attribute(a) => a.attr.as_str(),
                    Expr::Name(n) => n.id.as_str(),
                    _ => return false,
                };
                REPORTING_RUNNERS
                    .iter()
                    .chain(&["unittest.main"])
                    .any(|r| r.rsplit('.').next() == Some(last))
            };
            if let Expr::Call(c) = &*e.value {
                let reports = runner_name(c)
                    && self.b.resolve(&c.func).is_some_and(|f| {
                        REPORTING_RUNNERS.contains(&f.as_str())
                            || f == "unittest.main" && c.arguments.keywords.iter().any(|k| {
                                k.arg.as_ref().is_some_and(|a| a.as_str() == "exit")
                                    && matches!(k.value, Expr::BooleanLiteral(ref b) if !b.value)
                            })
                    });
                if reports {
                    let at = self.at(&*e.value);
                    self.facts.discarded_runs.push(at);
                }
            }
        }
        // The innermost scope's names (the module's at the bottom of the stack, never popped).
        let mut none = HashSet::default();
        let results = self.results.last_mut().unwrap_or(&mut none);
        bind_call_results(stmt, &any_call, results);
        let checks = match stmt {
            Stmt::Assert(a) => asserts_a_result(&a.test, results),
            Stmt::If(i) => compares_a_call(&i.test, results),
            _ => false,
        };
        if checks {
            let at = self.at(stmt);
            self.facts.checks.push(at);
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'x Expr) {
        let at = self.at(expr);
        match expr {
            // `print("PASS" if f(a) == b else "FAIL")`, `ok = got == want`: a result compared in any
            // expression is a check that ran, as in an `assert` or an `if`.
            Expr::Compare(_)
                if self
                    .results
                    .last()
                    .is_some_and(|r| compares_a_call(expr, r)) =>
            {
                self.facts.checks.push(at);
            }
            Expr::Call(c) => {
                if let Some(f) = self.b.resolve(&c.func) {
                    let local = f.strip_prefix("<local>.");
                    if local.is_some_and(|n| self.asserting.contains(n))
                        || TEST_RUNNERS.iter().any(|r| f.starts_with(r))
                    {
                        self.facts.checks.push(at);
                        self.facts.work.push(at);
                    } else if local.is_some() || CLI_INPUTS.contains(&f.as_str()) {
                        self.facts.reads_input |= local.is_none();
                        self.facts.work.push(at);
                    }
                }
            }
            Expr::Attribute(_)
                if self
                    .b
                    .resolve(expr)
                    .is_some_and(|r| CLI_INPUTS.contains(&r.as_str())) =>
            {
                self.facts.reads_input = true;
                self.facts.work.push(at);
            }
            Expr::Lambda(_) => return,
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// `unittest.main(...)`: runs the module's tests and exits with their status.
pub(super) fn is_exiting_runner(name: &str) -> bool {
    name == "unittest.main"
}

/// Tests of the facts on small modules.
#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> (Facts, usize) {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        let body = &parsed.syntax().body;
        let b = Bindings::collect(body);
        (Facts::of(&b, body), src.find("MARK").unwrap())
    }

    #[test]
    fn work_and_checks_are_found_in_order() {
        let (f, at) = facts(
            "def g(x):\n    return x\nif __name__ == '__main__':\n    print(g(2))\n    MARK\n",
        );
        assert!(f.work_before(None, at, None));
        assert!(!f.checked_before(None, at));
        let (f, at) = facts(
            "def g(x):\n    return x\nif __name__ == '__main__':\n    MARK\n    print(g(2))\n",
        );
        assert!(!f.work_before(None, at, None));
        let (f, at) =
            facts("def g(x):\n    return x\ndef check():\n    assert g(1) == 1\ncheck()\nMARK\n");
        assert!(f.checked_before(None, at));
        // Checks inside a function that is never called do not run.
        let (f, at) = facts("def g(x):\n    return x\ndef check():\n    assert g(1) == 1\nMARK\n");
        assert!(!f.checked_before(None, at));
        let (f, at) = facts("def g(x):\n    return x\nassert True\nMARK\n");
        assert!(!f.checked_before(None, at));
    }
}

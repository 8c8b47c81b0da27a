//! Name resolution and constant folding, so detectors judge what code *means* rather than how it is spelled.
//!
//! `import sys as s; s.exit(0)`, `getattr(__import__("o"+"s"), "_ex"+"it")(0)`,
//! `operator.attrgetter("ex" + "it")(sys)(0)` and `exec(zlib.decompress(base64.b64decode("...")))` all
//! reduce here to a dotted name or a constant string.
//!
//! Constant strings hold bytes as one `char` per byte (Latin-1) when they are not UTF-8 text, so
//! compressed payloads survive being passed from one decoder to the next. Payloads are decoded through
//! base64/32/16, hex (`bytes.fromhex`, `binascii`), rot13, `codecs.decode` and zlib/gzip, each as deep as
//! they are nested. `marshal.loads` is *not* decoded: its payload is bytecode for one interpreter
//! version, which cannot be read without running (or reimplementing) that interpreter; the runtime layer
//! sees what such code does.

use crate::fast_hash::{FastMap as HashMap, FastSet as HashSet};
use base64::Engine;
use ruff_python_ast::{
    self as ast, Expr, FStringPart, InterpolatedStringElement, Number, Stmt, UnaryOp,
};

/// Python builtins that matter to some detector; a bare name in this list resolves to `builtins.NAME`.
const BUILTINS: &[&str] = &[
    "exit",
    "quit",
    "exec",
    "eval",
    "compile",
    "open",
    "print",
    "getattr",
    "setattr",
    "__import__",
    "type",
    "globals",
    "vars",
    "chr",
    "bytes",
    "bytearray",
    "str",
    "map",
    "next",
    "iter",
    "SystemExit",
    "object",
    "isinstance",
    "len",
    "AssertionError",
];

/// Names read by the assignments walked so far, and whether one was bound after it was read.
#[derive(Default)]
struct Forward<'a> {
    read: HashSet<&'a str>,
    found: bool,
}

impl<'a> Forward<'a> {
    /// `name` is being bound: a forward reference when an earlier assignment read it.
    fn bound(&mut self, name: &str) {
        self.found |= self.read.contains(name);
    }

    /// An assignment's value is about to be bound: the names it reads.
    fn reads(&mut self, value: &'a Expr) {
        struct Names<'r, 'a>(&'r mut HashSet<&'a str>);
        impl<'a> ruff_python_ast::visitor::Visitor<'a> for Names<'_, 'a> {
            fn visit_expr(&mut self, expr: &'a Expr) {
                if let Expr::Name(n) = expr {
                    self.0.insert(n.id.as_str());
                }
                ruff_python_ast::visitor::walk_expr(self, expr);
            }
        }
        ruff_python_ast::visitor::Visitor::visit_expr(&mut Names(&mut self.read), value);
    }
}

/// What the module binds at any depth: import aliases, constant strings and local functions.
#[derive(Default)]
pub(crate) struct Bindings<'a> {
    /// Local name → dotted qualified name (`s` → `sys`, `q` → `os._exit`).
    pub aliases: HashMap<String, String>,
    /// Local name → the constant string it holds.
    pub consts: HashMap<String, String>,
    /// Local name → the function it names (last definition wins).
    pub functions: HashMap<String, &'a ast::StmtFunctionDef>,
    /// Names assigned at module level (candidates for state shared between calls).
    pub module_names: HashSet<String>,
    /// Modules brought in by `import X` / `import X as Y`, by qualified name (`os.path` and `os`).
    pub modules: HashSet<String>,
    /// Local name → the expression it is assigned, for names assigned exactly once (at any depth), so a
    /// detector can follow `p = Path(__file__).with_name(...)` to where `p` is used.
    pub exprs: HashMap<&'a str, Option<&'a Expr>>,
}

impl<'a> Bindings<'a> {
    /// Collects bindings from a module body, iterating so that chains (`a = sys; b = a.exit`) resolve.
    pub fn collect(body: &'a [Stmt]) -> Self {
        let mut b = Bindings::default();
        for stmt in body {
            match stmt {
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        collect_target_names(t, &mut b.module_names);
                    }
                }
                Stmt::AnnAssign(a) => collect_target_names(&a.target, &mut b.module_names),
                Stmt::AugAssign(a) => collect_target_names(&a.target, &mut b.module_names),
                Stmt::FunctionDef(f) => {
                    b.module_names.insert(f.name.id.to_string());
                }
                Stmt::ClassDef(c) => {
                    b.module_names.insert(c.name.id.to_string());
                }
                _ => {}
            }
        }
        // One walk over the tree binds imports, functions and assignments in source order; replaying
        // just the assignments then resolves chains that refer forward (`x = s.exit` above `import sys as s`).
        // The replay is needed only when a name an assignment read was bound after it (a forward
        // reference); without one, replaying rebinds everything to what it already is, which cost as
        // much as the walk itself.
        let mut assigns = Vec::new();
        let mut forward = Forward::default();
        b.walk(body, &mut assigns, &mut forward);
        for _ in 0..if forward.found { 3 } else { 0 } {
            let mut changed = false;
            for (name, value) in &assigns {
                changed |= b.bind(name, value);
            }
            if !changed {
                break;
            }
        }
        b
    }

    /// Records every `name = value` it binds in `assigns`, for [`Bindings::collect`] to replay, and in
    /// `forward` whether any name was bound after an earlier assignment read it.
    fn walk(
        &mut self,
        body: &'a [Stmt],
        assigns: &mut Vec<(&'a str, &'a Expr)>,
        forward: &mut Forward<'a>,
    ) {
        for stmt in body {
            match stmt {
                Stmt::Import(i) => {
                    for alias in &i.names {
                        let full = alias.name.id.to_string();
                        let mut prefix = String::new();
                        for part in normalise(&full).split('.') {
                            if !prefix.is_empty() {
                                prefix.push('.');
                            }
                            prefix.push_str(part);
                            self.modules.insert(prefix.clone());
                        }
                        match &alias.asname {
                            Some(a) => {
                                forward.bound(a.id.as_str());
                                self.aliases.insert(a.id.to_string(), normalise(&full));
                            }
                            None => {
                                let first = full.split('.').next().unwrap_or(&full).to_string();
                                forward.bound(&first);
                                self.aliases.insert(first.clone(), normalise(&first));
                            }
                        }
                    }
                }
                Stmt::ImportFrom(i) => {
                    let module = i
                        .module
                        .as_ref()
                        .map(|m| m.id.to_string())
                        .unwrap_or_default();
                    for alias in &i.names {
                        let name = alias.name.id.to_string();
                        let local = alias
                            .asname
                            .as_ref()
                            .map_or(name.clone(), |a| a.id.to_string());
                        let full = if module.is_empty() {
                            name
                        } else {
                            format!("{module}.{name}")
                        };
                        forward.bound(&local);
                        self.aliases.insert(local, normalise(&full));
                    }
                }
                Stmt::Assign(a) => {
                    if let [Expr::Name(n)] = a.targets.as_slice() {
                        forward.bound(n.id.as_str());
                        forward.reads(&a.value);
                        let _ = self.bind(n.id.as_str(), &a.value);
                        assigns.push((n.id.as_str(), &a.value));
                        self.exprs
                            .entry(n.id.as_str())
                            .and_modify(|e| *e = None)
                            .or_insert(Some(&a.value));
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(v)) = (&*a.target, &a.value) {
                        forward.bound(n.id.as_str());
                        forward.reads(v);
                        let _ = self.bind(n.id.as_str(), v);
                        assigns.push((n.id.as_str(), v));
                    }
                }
                Stmt::FunctionDef(f) => {
                    forward.bound(f.name.id.as_str());
                    self.functions.insert(f.name.id.to_string(), f);
                    self.walk(&f.body, assigns, forward);
                }
                Stmt::ClassDef(c) => self.walk(&c.body, assigns, forward),
                Stmt::If(s) => {
                    self.walk(&s.body, assigns, forward);
                    for c in &s.elif_else_clauses {
                        self.walk(&c.body, assigns, forward);
                    }
                }
                Stmt::Try(t) => {
                    self.walk(&t.body, assigns, forward);
                    for h in &t.handlers {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        self.walk(&h.body, assigns, forward);
                    }
                    self.walk(&t.orelse, assigns, forward);
                    self.walk(&t.finalbody, assigns, forward);
                }
                Stmt::With(w) => self.walk(&w.body, assigns, forward),
                Stmt::For(f) => self.walk(&f.body, assigns, forward),
                Stmt::While(w) => self.walk(&w.body, assigns, forward),
                _ => {}
            }
        }
    }

    /// Binds `name` to what `value` folds or resolves to; true when that changed a binding.
    fn bind(&mut self, name: &str, value: &Expr) -> bool {
        if let Some(s) = self.const_str(value, 0) {
            self.consts.insert(name.to_string(), s.clone()) != Some(s)
        } else if let Some(q) = self.resolve(value) {
            if q != name && !q.starts_with("<local>") {
                self.aliases.insert(name.to_string(), q.clone()) != Some(q)
            } else {
                false
            }
        } else {
            false
        }
    }

    /// The dotted name an expression refers to (`sys.exit`, `builtins.exec`, `os._exit`), when knowable.
    pub fn resolve(&self, expr: &Expr) -> Option<String> {
        self.resolve_depth(expr, 0)
    }

    /// [`Bindings::resolve`], borrowing a plain name that resolves to itself (a local variable or an
    /// unknown function: most calls) instead of copying it.
    pub fn resolve_ref<'e>(&self, expr: &'e Expr) -> Option<std::borrow::Cow<'e, str>> {
        if let Expr::Name(n) = expr {
            let id = n.id.as_str();
            if !self.aliases.contains_key(id)
                && !self.functions.contains_key(id)
                && !BUILTINS.contains(&id)
                && id != "__builtins__"
                && id != "__builtin__"
            {
                return Some(std::borrow::Cow::Borrowed(id));
            }
        }
        self.resolve(expr).map(std::borrow::Cow::Owned)
    }

    fn resolve_depth(&self, expr: &Expr, depth: u32) -> Option<String> {
        if depth > 12 {
            return None;
        }
        match expr {
            Expr::Name(n) => {
                let id = n.id.as_str();
                if let Some(a) = self.aliases.get(id) {
                    return Some(a.clone());
                }
                if id == "__builtins__" || id == "__builtin__" {
                    return Some("builtins".into());
                }
                if self.functions.contains_key(id) {
                    return Some(format!("<local>.{id}"));
                }
                if BUILTINS.contains(&id) {
                    return Some(format!("builtins.{id}"));
                }
                Some(id.to_string())
            }
            Expr::Attribute(a) => {
                let base = self.resolve_depth(&a.value, depth + 1)?;
                Some(normalise(&format!("{base}.{}", a.attr.id)))
            }
            Expr::Call(c) => {
                let args = &c.arguments.args;
                // `operator.attrgetter("a.b")(obj)` is `obj.a.b`.
                if let Expr::Call(getter) = &*c.func {
                    if self.resolve_depth(&getter.func, depth + 1).as_deref()
                        == Some("operator.attrgetter")
                    {
                        let attr = self.const_str(getter.arguments.args.first()?, depth + 1)?;
                        let base = self.resolve_depth(args.first()?, depth + 1)?;
                        return Some(normalise(&format!("{base}.{attr}")));
                    }
                }
                let func = self.resolve_depth(&c.func, depth + 1)?;
                match func.as_str() {
                    "builtins.__import__" | "importlib.import_module" | "importlib.__import__" => {
                        let m = self.const_str(args.first()?, depth + 1)?;
                        let m = if func == "builtins.__import__" && c.arguments.len() == 1 {
                            m.split('.').next().unwrap_or(&m).to_string()
                        } else {
                            m
                        };
                        Some(normalise(&m))
                    }
                    "builtins.getattr" if args.len() >= 2 => {
                        let base = self.resolve_depth(&args[0], depth + 1)?;
                        let attr = self.const_str(&args[1], depth + 1)?;
                        Some(normalise(&format!("{base}.{attr}")))
                    }
                    "builtins.vars" if args.len() == 1 => {
                        let base = self.resolve_depth(&args[0], depth + 1)?;
                        Some(format!("{base}.__dict__"))
                    }
                    "sys.modules.get" | "sys.modules.__getitem__" => {
                        Some(normalise(&self.const_str(args.first()?, depth + 1)?))
                    }
                    _ if func.ends_with(".__dict__.get")
                        || func.ends_with(".__dict__.__getitem__") =>
                    {
                        let base = func.rsplit_once(".__dict__").map(|(b, _)| b.to_string())?;
                        let key = self.const_str(args.first()?, depth + 1)?;
                        Some(normalise(&format!("{base}.{key}")))
                    }
                    _ => None,
                }
            }
            Expr::Subscript(s) => {
                let base = self.resolve_depth(&s.value, depth + 1)?;
                let key = self.const_str(&s.slice, depth + 1)?;
                subscript_name(&base, &key)
            }
            _ => None,
        }
    }

    /// The constant string an expression evaluates to, decoding base64, hex and rot13 on the way.
    pub fn const_str(&self, expr: &Expr, depth: u32) -> Option<String> {
        if depth > 16 {
            return None;
        }
        let d = depth + 1;
        match expr {
            Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
            Expr::BytesLiteral(b) => Some(text_of(b.value.bytes().collect())),
            Expr::Name(n) => self.consts.get(n.id.as_str()).cloned(),
            Expr::FString(f) => {
                let mut out = String::new();
                for part in f.value.iter() {
                    match part {
                        FStringPart::Literal(l) => out.push_str(&l.value),
                        FStringPart::FString(fs) => {
                            for el in fs.elements.iter() {
                                match el {
                                    InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                                    InterpolatedStringElement::Interpolation(i) => {
                                        out.push_str(&self.const_str(&i.expression, d)?)
                                    }
                                }
                            }
                        }
                    }
                }
                Some(out)
            }
            Expr::BinOp(b) => match b.op {
                ast::Operator::Add => {
                    Some(self.const_str(&b.left, d)? + &self.const_str(&b.right, d)?)
                }
                ast::Operator::Mult => {
                    let (s, n) = match (self.const_str(&b.left, d), const_int(&b.right)) {
                        (Some(s), Some(n)) => (s, n),
                        _ => (self.const_str(&b.right, d)?, const_int(&b.left)?),
                    };
                    (0..=64).contains(&n).then(|| s.repeat(n as usize))
                }
                ast::Operator::Mod => {
                    let fmt = self.const_str(&b.left, d)?;
                    let args: Vec<String> = match &*b.right {
                        Expr::Tuple(t) => t
                            .elts
                            .iter()
                            .map(|e| self.const_str(e, d))
                            .collect::<Option<_>>()?,
                        other => vec![self.const_str(other, d)?],
                    };
                    Some(percent_format(&fmt, &args))
                }
                _ => None,
            },
            Expr::Subscript(s) => {
                let base = self.const_str(&s.value, d)?;
                match &*s.slice {
                    Expr::Slice(sl) if sl.lower.is_none() && sl.upper.is_none() => {
                        match sl.step.as_deref().and_then(const_int) {
                            Some(-1) => Some(base.chars().rev().collect()),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
            Expr::Call(c) => self.const_call(c, d),
            _ => None,
        }
    }

    fn const_call(&self, c: &ast::ExprCall, d: u32) -> Option<String> {
        let args = &c.arguments.args;
        if let Expr::Attribute(a) = &*c.func {
            let method = a.attr.id.as_str();
            if let Some(recv) = self.const_str(&a.value, d) {
                return match method {
                    "decode" | "encode" | "strip" | "lstrip" | "rstrip" if args.is_empty() => {
                        Some(recv)
                    }
                    "decode" | "encode" => {
                        let codec = self.const_str(&args[0], d)?.to_ascii_lowercase();
                        decode_with(&recv, &codec).or(Some(recv))
                    }
                    "lower" => Some(recv.to_lowercase()),
                    "upper" => Some(recv.to_uppercase()),
                    "replace" if args.len() == 2 => Some(
                        recv.replace(&self.const_str(&args[0], d)?, &self.const_str(&args[1], d)?),
                    ),
                    "join" if args.len() == 1 => {
                        let parts = self.const_seq(&args[0], d)?;
                        Some(parts.join(&recv))
                    }
                    "format" => {
                        let vals: Vec<String> = args
                            .iter()
                            .map(|e| self.const_str(e, d))
                            .collect::<Option<_>>()?;
                        Some(brace_format(&recv, &vals))
                    }
                    _ => None,
                };
            }
        }
        let func = self.resolve(&c.func)?;
        let first = || self.const_str(args.first()?, d);
        match func.as_str() {
            "builtins.str" | "builtins.bytes" | "builtins.bytearray" if args.len() == 1 => {
                first().or_else(|| self.const_seq(&args[0], d).map(|v| v.concat()))
            }
            "builtins.chr" => {
                Some(char::from_u32(u32::try_from(const_int(args.first()?)?).ok()?)?.to_string())
            }
            "bytes.fromhex"
            | "builtins.bytes.fromhex"
            | "binascii.unhexlify"
            | "binascii.a2b_hex"
            | "base64.b16decode" => decode_with(&first()?, "hex"),
            "base64.b64decode"
            | "base64.standard_b64decode"
            | "base64.decodebytes"
            | "binascii.a2b_base64" => decode_with(&first()?, "base64"),
            "base64.urlsafe_b64decode" => decode_with(&first()?, "urlsafe_base64"),
            "base64.b32decode" => decode_with(&first()?, "base32"),
            "base64.b85decode" => decode_with(&first()?, "base85"),
            "base64.a85decode" => decode_with(&first()?, "ascii85"),
            "codecs.decode" | "codecs.encode" => {
                let codec = match (args.get(1), c.arguments.keywords.first()) {
                    (Some(e), _) => self.const_str(e, d)?,
                    (None, Some(k)) => self.const_str(&k.value, d)?,
                    _ => return first(),
                };
                decode_with(&first()?, &codec.to_ascii_lowercase())
            }
            "zlib.decompress" => {
                let wbits = args.get(1).and_then(const_int).unwrap_or(15);
                let codec = match wbits {
                    w if w < 0 => "deflate",
                    w if w > 15 => "gzip",
                    _ => "zlib",
                };
                decode_with(&first()?, codec)
            }
            "gzip.decompress" => decode_with(&first()?, "gzip"),
            _ => None,
        }
    }

    /// A constant sequence of strings (`["a", "b"]`, `map(chr, [104, 105])`, `(chr(c) for c in [..])`).
    fn const_seq(&self, expr: &Expr, d: u32) -> Option<Vec<String>> {
        match expr {
            Expr::List(l) => l.elts.iter().map(|e| self.const_item(e, d)).collect(),
            Expr::Tuple(t) => t.elts.iter().map(|e| self.const_item(e, d)).collect(),
            Expr::Call(c) if self.resolve(&c.func).as_deref() == Some("builtins.map") => {
                let f = self.resolve(c.arguments.args.first()?)?;
                let items = c.arguments.args.get(1)?;
                let ints = const_ints(items)?;
                match f.as_str() {
                    "builtins.chr" => ints.iter().map(|&n| int_char(n)).collect(),
                    _ => None,
                }
            }
            Expr::Generator(ast::ExprGenerator {
                elt, generators, ..
            })
            | Expr::ListComp(ast::ExprListComp {
                elt, generators, ..
            }) => {
                let [g] = generators.as_slice() else {
                    return None;
                };
                let Expr::Name(var) = &g.target else {
                    return None;
                };
                let Expr::Call(call) = &**elt else {
                    return None;
                };
                let chr_of_var = self.resolve(&call.func).as_deref() == Some("builtins.chr")
                    && matches!(call.arguments.args.first(), Some(Expr::Name(n)) if n.id == var.id);
                if !chr_of_var || !g.ifs.is_empty() {
                    return None;
                }
                const_ints(&g.iter)?.iter().map(|&n| int_char(n)).collect()
            }
            _ => self
                .const_str(expr, d)
                .map(|s| s.chars().map(String::from).collect()),
        }
    }

    fn const_item(&self, e: &Expr, d: u32) -> Option<String> {
        self.const_str(e, d)
            .or_else(|| const_int(e).and_then(int_char))
    }
}

fn collect_target_names(t: &Expr, out: &mut HashSet<String>) {
    match t {
        Expr::Name(n) => {
            out.insert(n.id.to_string());
        }
        Expr::Tuple(t) => t.elts.iter().for_each(|e| collect_target_names(e, out)),
        Expr::List(t) => t.elts.iter().for_each(|e| collect_target_names(e, out)),
        _ => {}
    }
}

/// `sys.modules["os"]` → `os`; `builtins.__dict__["exit"]` → `builtins.exit`.
fn subscript_name(base: &str, key: &str) -> Option<String> {
    if base == "sys.modules" {
        return Some(normalise(key));
    }
    if base == "builtins" {
        return Some(format!("builtins.{key}"));
    }
    base.strip_suffix(".__dict__")
        .map(|b| normalise(&format!("{b}.{key}")))
}

/// Folds aliases of the same module into one spelling (`__builtin__`, `__builtins__` → `builtins`).
pub(crate) fn normalise(name: &str) -> String {
    for prefix in ["__builtins__", "__builtin__"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            if rest.is_empty() || rest.starts_with('.') {
                return format!("builtins{rest}");
            }
        }
    }
    if let Some(rest) = name.strip_prefix("posix.") {
        return format!("os.{rest}");
    }
    name.to_string()
}

/// An integer literal (with unary minus), if the expression is one.
pub(crate) fn const_int(e: &Expr) -> Option<i64> {
    match e {
        Expr::NumberLiteral(ast::ExprNumberLiteral {
            value: Number::Int(i),
            ..
        }) => i.as_i64(),
        Expr::BooleanLiteral(b) => Some(i64::from(b.value)),
        Expr::UnaryOp(u) if u.op == UnaryOp::USub => const_int(&u.operand).map(|n| -n),
        _ => None,
    }
}

fn const_ints(e: &Expr) -> Option<Vec<i64>> {
    match e {
        Expr::List(l) => l.elts.iter().map(const_int).collect(),
        Expr::Tuple(t) => t.elts.iter().map(const_int).collect(),
        _ => None,
    }
}

fn int_char(n: i64) -> Option<String> {
    char::from_u32(u32::try_from(n).ok()?).map(String::from)
}

/// How much a decompressor may produce: far more than any solution, far less than a zip bomb.
const MAX_INFLATED: u64 = 1 << 20;

/// A constant's text: UTF-8 when the bytes are UTF-8, else one `char` per byte (see the module docs).
fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|e| e.into_bytes().into_iter().map(char::from).collect())
}

/// The bytes a constant stands for: one byte per `char` when every char is below 256 (bytes kept by
/// [`text_of`], or ASCII), else its UTF-8 encoding.
fn bytes_of(s: &str) -> Vec<u8> {
    if s.chars().all(|c| (c as u32) < 256) {
        s.chars().map(|c| c as u32 as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

/// Inflates zlib, raw deflate or gzip data, up to [`MAX_INFLATED`] bytes.
fn inflate(data: &[u8], format: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let read = match format {
        "zlib" => flate2::read::ZlibDecoder::new(data)
            .take(MAX_INFLATED)
            .read_to_end(&mut out),
        "gzip" => flate2::read::GzDecoder::new(data)
            .take(MAX_INFLATED)
            .read_to_end(&mut out),
        _ => flate2::read::DeflateDecoder::new(data)
            .take(MAX_INFLATED)
            .read_to_end(&mut out),
    };
    read.ok().map(|_| out)
}

/// Decodes `text` with a codec name as `codecs.decode` spells it; `None` when it does not decode.
fn decode_with(text: &str, codec: &str) -> Option<String> {
    let codec = codec.replace(['-', ' '], "_");
    let decoded: Vec<u8> = match codec.as_str() {
        "zlib" | "zlib_codec" | "zip" => inflate(&bytes_of(text), "zlib")?,
        "gzip" | "deflate" => inflate(&bytes_of(text), &codec)?,
        "rot13" | "rot_13" => return Some(text.chars().map(rot13).collect()),
        "hex" | "hex_codec" => {
            let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            if !clean.len().is_multiple_of(2) {
                return None;
            }
            (0..clean.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(clean.get(i..i + 2)?, 16).ok())
                .collect::<Option<_>>()?
        }
        "base64" | "base64_codec" | "urlsafe_base64" => {
            let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let engine = if codec == "urlsafe_base64" {
                &base64::engine::general_purpose::URL_SAFE
            } else {
                &base64::engine::general_purpose::STANDARD
            };
            engine.decode(bytes_of(&clean)).ok()?
        }
        "base32" => base32_decode(text)?,
        "base85" => base85_decode(text, B85_ALPHABET, '~', None)?,
        "ascii85" => base85_decode(text, A85_ALPHABET, 'u', Some('z'))?,
        "utf_8" | "utf8" | "ascii" | "latin_1" | "latin1" => return Some(text.to_string()),
        _ => return None,
    };
    Some(text_of(decoded))
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut n = 0u32;
    let mut out = Vec::new();
    for c in text.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let v = match c {
            'A'..='Z' => c as u64 - 'A' as u64,
            '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Some(out)
}

/// The digits of `base64.b85encode` (RFC 1924's order).
const B85_ALPHABET: &str =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
/// The digits of `base64.a85encode`: `!` to `u`.
const A85_ALPHABET: &str =
    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstu";

/// Base85 as `base64.b85decode` and `a85decode` read it: groups of five digits are four big-endian
/// bytes; a short last group is padded with the highest digit `pad` and its extra bytes dropped;
/// `zero` (Ascii85's `z`) stands for four zero bytes.
fn base85_decode(text: &str, alphabet: &str, pad: char, zero: Option<char>) -> Option<Vec<u8>> {
    let digit = |c: char| alphabet.find(c).map(|i| i as u64);
    let mut digits: Vec<char> = Vec::new();
    let mut out = Vec::new();
    let flush = |group: &[char], out: &mut Vec<u8>| -> Option<()> {
        let mut acc: u64 = 0;
        for &c in group {
            acc = acc * 85 + digit(c)?;
        }
        out.extend_from_slice(&u32::try_from(acc).ok()?.to_be_bytes());
        Some(())
    };
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        if Some(c) == zero && digits.is_empty() {
            out.extend_from_slice(&[0; 4]);
            continue;
        }
        digits.push(c);
        if digits.len() == 5 {
            flush(&digits, &mut out)?;
            digits.clear();
        }
    }
    if !digits.is_empty() {
        let padding = 5 - digits.len();
        digits.extend(std::iter::repeat_n(pad, padding));
        flush(&digits, &mut out)?;
        out.truncate(out.len() - padding);
    }
    Some(out)
}

fn rot13(c: char) -> char {
    match c {
        'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
        'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
        _ => c,
    }
}

fn percent_format(fmt: &str, args: &[String]) -> String {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') => out.push('%'),
                Some(_) => out.push_str(it.next().map_or("", |s| s.as_str())),
                None => out.push('%'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn brace_format(fmt: &str, args: &[String]) -> String {
    let mut out = String::new();
    let mut next = 0usize;
    let mut rest = fmt;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let field = &rest[open + 1..open + close];
        let idx = field.parse::<usize>().unwrap_or_else(|_| {
            next += 1;
            next - 1
        });
        out.push_str(args.get(idx).map_or("", |s| s.as_str()));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(src: &str) -> Option<String> {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        let body = &parsed.syntax().body;
        let b = Bindings::collect(body);
        let Some(Stmt::Expr(e)) = body.last() else {
            panic!()
        };
        b.const_str(&e.value, 0)
    }

    fn resolve(src: &str) -> Option<String> {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        let body = &parsed.syntax().body;
        let b = Bindings::collect(body);
        let Some(Stmt::Expr(e)) = body.last() else {
            panic!()
        };
        b.resolve(&e.value)
    }

    #[test]
    fn folds_concatenation_formatting_and_codecs() {
        assert_eq!(fold("'o' + 's'").as_deref(), Some("os"));
        assert_eq!(fold("'_ex%s' % 'it'").as_deref(), Some("_exit"));
        assert_eq!(fold("'{}{}'.format('s', 'ys')").as_deref(), Some("sys"));
        assert_eq!(
            fold("''.join(['e', 'x', 'i', 't'])").as_deref(),
            Some("exit")
        );
        assert_eq!(fold("''.join(map(chr, [111, 115]))").as_deref(), Some("os"));
        assert_eq!(fold("'tixe'[::-1]").as_deref(), Some("exit"));
        assert_eq!(
            fold("import codecs\ncodecs.decode('flf', 'rot13')").as_deref(),
            Some("sys")
        );
        assert_eq!(
            fold("bytes.fromhex('7379').decode()").as_deref(),
            Some("sy")
        );
        assert_eq!(
            fold("import base64\nbase64.b64decode('c3lz').decode()").as_deref(),
            Some("sys")
        );
        assert_eq!(fold("x = 'a'\nx + 'b'").as_deref(), Some("ab"));
        assert_eq!(fold("len('a')"), None);
    }

    /// Compressed and layered payloads decode to the code they run (Python made the payloads:
    /// `zlib.compress(b"import os")`, its hex, and base64 of it).
    #[test]
    fn decodes_compressed_payloads() {
        let z = "789ccbcc2dc82f2a51c82f06001287039e";
        assert_eq!(
            fold(&format!(
                "import zlib\nzlib.decompress(bytes.fromhex('{z}')).decode()"
            ))
            .as_deref(),
            Some("import os")
        );
        assert_eq!(
            fold("import zlib, base64\nzlib.decompress(base64.b64decode('eJzLzC3ILypRyC8GABKHA54='))")
                .as_deref(),
            Some("import os")
        );
        assert_eq!(
            fold(&format!("import codecs, zlib\ncodecs.decode(zlib.decompress(bytes.fromhex('{z}')).decode(), 'rot13')")).as_deref(),
            Some("vzcbeg bf")
        );
        assert_eq!(fold("import marshal\nmarshal.loads(b'\\xe3')"), None);
        // `base64.b85encode(b"import os")` and `base64.a85encode(b"import os")`, made by Python.
        assert_eq!(
            fold("import base64\nbase64.b85decode('X>D+Ca&#bXa{').decode()").as_deref(),
            Some("import os")
        );
        assert_eq!(
            fold("import base64\nbase64.a85decode('Bl.g-Ec`FBEr').decode()").as_deref(),
            Some("import os")
        );
    }

    #[test]
    fn resolves_aliases_imports_and_getattr() {
        let cases = [
            ("import sys as s\ns.exit", "sys.exit"),
            ("from os import _exit as q\nq", "os._exit"),
            ("getattr(__import__('o'+'s'), '_ex'+'it')", "os._exit"),
            ("import sys\nsys.modules['os'].kill", "os.kill"),
            ("__builtins__.exit", "builtins.exit"),
            ("import sys\nf = sys.exit\nf", "sys.exit"),
            ("exec", "builtins.exec"),
            (
                "import operator, sys\noperator.attrgetter('ex' + 'it')(sys)",
                "sys.exit",
            ),
        ];
        for (src, want) in cases {
            assert_eq!(resolve(src).as_deref(), Some(want), "{src}");
        }
    }
}

//! Plain Python values as the hardened harness serialises them, and Python's `==` on them in Rust.
//!
//! Comparing in the trusted parent is what makes the hardened profile immune to objects that lie about
//! equality: the untrusted side only ever hands over tagged plain data.

use serde_json::Value;

/// A plain Python value: the only kinds a hardened result may be.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    None,
    Bool(bool),
    /// Exact integer: sign and lowercase hex magnitude without leading zeros (`0` for zero).
    Int {
        negative: bool,
        hex: String,
    },
    Float(f64),
    /// UTF-8 bytes (lone surrogates are kept as Python's `surrogatepass` encoding).
    Str(Vec<u8>),
    List(Vec<PyValue>),
    Tuple(Vec<PyValue>),
    Set(Vec<PyValue>),
    FrozenSet(Vec<PyValue>),
    /// A mapping in insertion (or, for `OrderedDict`, its own) order; the kind decides how it compares.
    Dict(DictKind, Vec<(PyValue, PyValue)>),
    /// A complex number, which compares with ints and floats when its imaginary part is zero.
    Complex {
        real: f64,
        imag: f64,
    },
    /// `bytes`; equal to a `bytearray` with the same contents, never to a `str`.
    Bytes(Vec<u8>),
    /// `bytearray`, kept apart from `bytes` only for rendering.
    ByteArray(Vec<u8>),
}

/// Which mapping type a dict came from: the standard library's dict subclasses differ from `dict` only in
/// how two of the same kind compare, so they travel as data plus this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DictKind {
    /// `dict` itself.
    Plain,
    /// `collections.Counter`: two Counters are equal when every key's count is, a missing key counting 0.
    Counter,
    /// `collections.OrderedDict`: two OrderedDicts are equal only in the same order.
    Ordered,
    /// `collections.defaultdict`: compares as a plain dict (the default factory is not part of `==`).
    Default,
}

/// Why tagged text from the harness could not be read back.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("malformed tagged value: {0}")]
pub struct DecodeError(String);

impl PyValue {
    /// Parses the harness's tagged JSON (`["i", "0x2a"]`, `["l", [...]]`, ...).
    pub fn from_tagged(text: &str) -> Result<PyValue, DecodeError> {
        let json: Value = serde_json::from_str(text).map_err(|e| DecodeError(e.to_string()))?;
        decode(&json, 0)
    }

    /// Python's `a == b` for plain values, with an absolute tolerance on numbers where a test states one.
    pub fn py_eq(&self, other: &PyValue, tolerance: Option<f64>) -> bool {
        if let (Some(a), Some(b)) = (self.number(), other.number()) {
            return match tolerance {
                Option::Some(tol) => a.distance(&b) <= tol,
                Option::None => a.exact_eq(&b),
            };
        }
        match (self, other) {
            (PyValue::None, PyValue::None) => true,
            (PyValue::Str(a), PyValue::Str(b)) => a == b,
            (PyValue::List(a), PyValue::List(b)) | (PyValue::Tuple(a), PyValue::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y, tolerance))
            }
            (PyValue::Set(a) | PyValue::FrozenSet(a), PyValue::Set(b) | PyValue::FrozenSet(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| b.iter().any(|y| x.py_eq(y, tolerance)))
                    && b.iter().all(|y| a.iter().any(|x| x.py_eq(y, tolerance)))
            }
            (
                PyValue::Bytes(a) | PyValue::ByteArray(a),
                PyValue::Bytes(b) | PyValue::ByteArray(b),
            ) => a == b,
            (PyValue::Dict(DictKind::Counter, a), PyValue::Dict(DictKind::Counter, b)) => {
                counts_eq(a, b, tolerance) && counts_eq(b, a, tolerance)
            }
            (PyValue::Dict(DictKind::Ordered, a), PyValue::Dict(DictKind::Ordered, b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((k, v), (k2, v2))| k.py_eq(k2, tolerance) && v.py_eq(v2, tolerance))
            }
            (PyValue::Dict(_, a), PyValue::Dict(_, b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        lookup(b, k, tolerance).is_some_and(|v2| v.py_eq(v2, tolerance))
                    })
            }
            _ => false,
        }
    }

    /// A short Python-like rendering for verdict notes.
    pub fn render(&self) -> String {
        let join = |items: &[PyValue]| {
            items
                .iter()
                .map(PyValue::render)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            PyValue::None => "None".into(),
            PyValue::Bool(b) => if *b { "True" } else { "False" }.into(),
            PyValue::Int { negative, hex } => match u128::from_str_radix(hex, 16) {
                Ok(v) => format!("{}{v}", if *negative { "-" } else { "" }),
                Err(_) => format!("{}0x{hex}", if *negative { "-" } else { "" }),
            },
            PyValue::Float(f) => python_float(*f),
            PyValue::Str(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
            PyValue::List(v) => format!("[{}]", join(v)),
            PyValue::Tuple(v) if v.len() == 1 => format!("({},)", join(v)),
            PyValue::Tuple(v) => format!("({})", join(v)),
            PyValue::Set(v) if v.is_empty() => "set()".into(),
            PyValue::Set(v) => format!("{{{}}}", join(v)),
            PyValue::FrozenSet(v) => format!("frozenset({{{}}})", join(v)),
            PyValue::Dict(kind, v) => {
                let items = v
                    .iter()
                    .map(|(k, x)| format!("{}: {}", k.render(), x.render()))
                    .collect::<Vec<_>>()
                    .join(", ");
                match kind {
                    DictKind::Plain => format!("{{{items}}}"),
                    DictKind::Counter => format!("Counter({{{items}}})"),
                    DictKind::Ordered => format!("OrderedDict({{{items}}})"),
                    DictKind::Default => format!("defaultdict({{{items}}})"),
                }
            }
            PyValue::Complex { real, imag } => python_complex(*real, *imag),
            PyValue::Bytes(b) => python_bytes(b),
            PyValue::ByteArray(b) => format!("bytearray({})", python_bytes(b)),
        }
    }

    fn number(&self) -> Option<Num> {
        match self {
            PyValue::Bool(b) => Some(Num::Int {
                negative: false,
                hex: if *b { "1".into() } else { "0".into() },
            }),
            PyValue::Int { negative, hex } => Some(Num::Int {
                negative: *negative,
                hex: hex.clone(),
            }),
            PyValue::Float(f) => Some(Num::Float(*f)),
            PyValue::Complex { real, imag } => Some(Num::Complex(*real, *imag)),
            _ => None,
        }
    }
}

/// The value stored under `key` in a mapping's items, found with Python's `==` on keys.
fn lookup<'a>(
    items: &'a [(PyValue, PyValue)],
    key: &PyValue,
    tolerance: Option<f64>,
) -> Option<&'a PyValue> {
    items
        .iter()
        .find(|(k, _)| k.py_eq(key, tolerance))
        .map(|(_, v)| v)
}

/// Every count in `a` equals `b`'s count for that key, a missing key counting 0 (`Counter.__eq__`).
fn counts_eq(a: &[(PyValue, PyValue)], b: &[(PyValue, PyValue)], tolerance: Option<f64>) -> bool {
    let zero = PyValue::Int {
        negative: false,
        hex: "0".into(),
    };
    a.iter()
        .all(|(k, v)| v.py_eq(lookup(b, k, tolerance).unwrap_or(&zero), tolerance))
}

/// Numbers in Python's numeric tower that compare across types (`True == 1 == 1.0 == 1+0j`).
enum Num {
    Int { negative: bool, hex: String },
    Float(f64),
    Complex(f64, f64),
}

impl Num {
    fn exact_eq(&self, other: &Num) -> bool {
        match (self, other) {
            (Num::Float(a), Num::Float(b)) => a == b,
            (
                Num::Int {
                    negative: n1,
                    hex: h1,
                },
                Num::Int {
                    negative: n2,
                    hex: h2,
                },
            ) => n1 == n2 && h1 == h2,
            (Num::Int { negative, hex }, Num::Float(f))
            | (Num::Float(f), Num::Int { negative, hex }) => {
                float_as_int(*f).is_some_and(|(n, h)| n == *negative && h == *hex)
            }
            (Num::Complex(r1, i1), Num::Complex(r2, i2)) => r1 == r2 && i1 == i2,
            (Num::Complex(real, imag), other) | (other, Num::Complex(real, imag)) => {
                *imag == 0.0 && Num::Float(*real).exact_eq(other)
            }
        }
    }

    /// Distance `abs(a - b)` as Python computes it for a stated tolerance (complex distances included).
    fn distance(&self, other: &Num) -> f64 {
        let (r1, i1) = self.to_complex();
        let (r2, i2) = other.to_complex();
        (r1 - r2).hypot(i1 - i2)
    }

    fn to_complex(&self) -> (f64, f64) {
        match self {
            Num::Complex(real, imag) => (*real, *imag),
            real => (real.to_f64(), 0.0),
        }
    }

    fn to_f64(&self) -> f64 {
        match self {
            Num::Float(f) => *f,
            Num::Complex(real, _) => *real,
            Num::Int { negative, hex } => {
                let magnitude = hex.chars().fold(0.0f64, |acc, c| {
                    acc * 16.0 + f64::from(c.to_digit(16).unwrap_or(0))
                });
                if *negative {
                    -magnitude
                } else {
                    magnitude
                }
            }
        }
    }
}

/// The exact integer a float equals, when it is finite and integral (as Python compares them).
fn float_as_int(f: f64) -> Option<(bool, String)> {
    if !f.is_finite() || f.fract() != 0.0 {
        return None;
    }
    let negative = f < 0.0;
    let magnitude = f.abs();
    if magnitude < 18446744073709551616.0 {
        return Some((
            negative && magnitude != 0.0,
            format!("{:x}", magnitude as u64),
        ));
    }
    // magnitude = mantissa * 2^shift exactly, with a 53-bit mantissa.
    let bits = magnitude.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1075;
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let mut binary = format!("{mantissa:b}");
    binary.extend(std::iter::repeat_n('0', usize::try_from(exponent).ok()?));
    Some((negative, binary_to_hex(&binary)))
}

fn binary_to_hex(binary: &str) -> String {
    let pad = (4 - binary.len() % 4) % 4;
    let padded: String = "0".repeat(pad) + binary;
    let hex: String = padded
        .as_bytes()
        .chunks(4)
        .map(|c| {
            let v = c
                .iter()
                .fold(0u32, |acc, b| acc * 2 + u32::from(*b == b'1'));
            char::from_digit(v, 16).unwrap_or('0')
        })
        .collect();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

fn python_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if f != 0.0 && (f.abs() < 1e-4 || f.abs() >= 1e16) {
        // Python's repr switches to exponent notation outside [1e-4, 1e16), with a signed exponent.
        let text = format!("{f:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent:0>2}")
            }
            Some((mantissa, exponent)) => format!("{mantissa}e-{:0>2}", &exponent[1..]),
            None => text,
        }
    } else if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// `repr(complex)`: parts without a trailing `.0`, the real part omitted when it is +0.
fn python_complex(real: f64, imag: f64) -> String {
    let part = |f: f64| {
        let text = python_float(f);
        text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
    };
    if real == 0.0 && real.is_sign_positive() {
        return format!("{}j", part(imag));
    }
    let imag_text = part(imag);
    let sign = if imag_text.starts_with('-') { "" } else { "+" };
    format!("({}{sign}{imag_text}j)", part(real))
}

/// `repr(bytes)` with single quotes.
fn python_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("b'");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

fn decode(json: &Value, depth: usize) -> Result<PyValue, DecodeError> {
    let bad = |what: &str| DecodeError(format!("{what} in {}", truncate(&json.to_string(), 80)));
    if depth > 200 {
        return Err(bad("nesting too deep"));
    }
    let Value::Array(parts) = json else {
        return Err(bad("expected a tagged list"));
    };
    let tag = parts
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing tag"))?;
    let payload = parts.get(1);
    let items = |p: Option<&Value>| -> Result<Vec<PyValue>, DecodeError> {
        match p {
            Some(Value::Array(v)) => v.iter().map(|x| decode(x, depth + 1)).collect(),
            _ => Err(bad("expected a list of items")),
        }
    };
    Ok(match tag {
        "n" => PyValue::None,
        "b" => PyValue::Bool(
            payload
                .and_then(Value::as_bool)
                .ok_or_else(|| bad("bad bool"))?,
        ),
        "i" => {
            let text = payload
                .and_then(Value::as_str)
                .ok_or_else(|| bad("bad int"))?;
            let (negative, digits) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let digits = digits.strip_prefix("0x").ok_or_else(|| bad("bad int"))?;
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad("bad int"));
            }
            let hex = digits.trim_start_matches('0').to_ascii_lowercase();
            let hex = if hex.is_empty() { "0".to_string() } else { hex };
            PyValue::Int {
                negative: negative && hex != "0",
                hex,
            }
        }
        "f" => {
            let text = payload
                .and_then(Value::as_str)
                .ok_or_else(|| bad("bad float"))?;
            PyValue::Float(text.parse::<f64>().map_err(|_| bad("bad float"))?)
        }
        "s" => PyValue::Str(
            payload
                .and_then(Value::as_str)
                .ok_or_else(|| bad("bad str"))?
                .as_bytes()
                .to_vec(),
        ),
        "x" => {
            let text = payload
                .and_then(Value::as_str)
                .ok_or_else(|| bad("bad str"))?;
            PyValue::Str(decode_hex(text).ok_or_else(|| bad("bad hex str"))?)
        }
        "c" => match payload {
            Some(Value::Array(parts)) if parts.len() == 2 => {
                let part = |v: &Value| {
                    v.as_str()
                        .and_then(|t| t.parse::<f64>().ok())
                        .ok_or_else(|| bad("bad complex"))
                };
                PyValue::Complex {
                    real: part(&parts[0])?,
                    imag: part(&parts[1])?,
                }
            }
            _ => return Err(bad("bad complex")),
        },
        "y" | "Y" => {
            let bytes = payload
                .and_then(Value::as_str)
                .and_then(decode_hex)
                .ok_or_else(|| bad("bad bytes"))?;
            if tag == "y" {
                PyValue::Bytes(bytes)
            } else {
                PyValue::ByteArray(bytes)
            }
        }
        "l" => PyValue::List(items(payload)?),
        "t" => PyValue::Tuple(items(payload)?),
        "S" => PyValue::Set(items(payload)?),
        "F" => PyValue::FrozenSet(items(payload)?),
        "d" | "C" | "O" | "D" => {
            let kind = match tag {
                "C" => DictKind::Counter,
                "O" => DictKind::Ordered,
                "D" => DictKind::Default,
                _ => DictKind::Plain,
            };
            let Some(Value::Array(pairs)) = payload else {
                return Err(bad("bad dict"));
            };
            let mut out = Vec::with_capacity(pairs.len());
            for pair in pairs {
                match pair {
                    Value::Array(kv) if kv.len() == 2 => {
                        out.push((decode(&kv[0], depth + 1)?, decode(&kv[1], depth + 1)?))
                    }
                    _ => return Err(bad("bad dict entry")),
                }
            }
            PyValue::Dict(kind, out)
        }
        other => return Err(bad(&format!("unknown tag `{other}`"))),
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The first `chars` characters of a text, with `...` when cut, for messages.
pub(crate) fn truncate(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> PyValue {
        PyValue::from_tagged(text).unwrap()
    }

    fn int(n: i64) -> PyValue {
        PyValue::Int {
            negative: n < 0,
            hex: format!("{:x}", n.unsigned_abs()),
        }
    }

    #[test]
    fn numbers_compare_across_int_float_and_bool() {
        assert!(int(1).py_eq(&PyValue::Float(1.0), None));
        assert!(PyValue::Bool(true).py_eq(&int(1), None));
        assert!(PyValue::Bool(false).py_eq(&PyValue::Float(0.0), None));
        assert!(PyValue::Float(-0.0).py_eq(&int(0), None));
        assert!(!int(1).py_eq(&PyValue::Float(1.5), None));
        assert!(int(-3).py_eq(&PyValue::Float(-3.0), None));
        assert!(!int(3).py_eq(&PyValue::Float(-3.0), None));
        let nan = PyValue::Float(f64::NAN);
        assert!(!nan.py_eq(&nan, None));
        assert!(!PyValue::Float(f64::INFINITY).py_eq(&int(0), None));
    }

    #[test]
    fn big_ints_are_exact() {
        let two_200 = v(r#"["i", "0x100000000000000000000000000000000000000000000000000"]"#);
        assert!(two_200.py_eq(&PyValue::Float(2f64.powi(200)), None));
        let plus_one = v(r#"["i", "0x100000000000000000000000000000000000000000000000001"]"#);
        assert!(!plus_one.py_eq(&PyValue::Float(2f64.powi(200)), None));
        assert!(!plus_one.py_eq(&two_200, None));
        let big = v(r#"["i", "0x20000000000001"]"#); // 2**53 + 1 is not the float 2**53
        assert!(!big.py_eq(&PyValue::Float(9007199254740992.0), None));
        assert_eq!(v(r#"["i", "-0x0"]"#), int(0));
    }

    #[test]
    fn containers_follow_python_rules() {
        let list = v(r#"["l", [["i", "0x1"], ["s", "a"]]]"#);
        let tuple = v(r#"["t", [["i", "0x1"], ["s", "a"]]]"#);
        assert!(!list.py_eq(&tuple, None), "a list never equals a tuple");
        assert!(list.py_eq(&v(r#"["l", [["f", "1.0"], ["s", "a"]]]"#), None));
        let set = v(r#"["S", [["i", "0x1"], ["i", "0x2"]]]"#);
        assert!(
            set.py_eq(&v(r#"["F", [["i", "0x2"], ["f", "1.0"]]]"#), None),
            "set == frozenset, order-free"
        );
        assert!(!set.py_eq(&v(r#"["S", [["i", "0x1"]]]"#), None));
        let dict = v(r#"["d", [[["s", "a"], ["i", "0x1"]], [["s", "b"], ["n"]]]]"#);
        assert!(dict.py_eq(
            &v(r#"["d", [[["s", "b"], ["n"]], [["s", "a"], ["b", true]]]]"#),
            None
        ));
        assert!(!dict.py_eq(&v(r#"["d", [[["s", "a"], ["i", "0x1"]]]]"#), None));
        assert!(!v(r#"["s", "1"]"#).py_eq(&int(1), None));
        assert!(!PyValue::None.py_eq(&PyValue::Bool(false), None));
        assert!(v(r#"["x", "61eda080"]"#).py_eq(&v(r#"["x", "61eda080"]"#), None));
    }

    #[test]
    fn tolerance_applies_only_when_stated() {
        let a = PyValue::Float(0.1 + 0.2);
        assert!(!a.py_eq(&PyValue::Float(0.3), None));
        assert!(a.py_eq(&PyValue::Float(0.3), Some(1e-9)));
        let l = PyValue::List(vec![PyValue::Float(1.0000001)]);
        assert!(l.py_eq(&PyValue::List(vec![int(1)]), Some(1e-6)));
        assert!(!l.py_eq(&PyValue::Tuple(vec![int(1)]), Some(1e-6)));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in [
            "",
            "1",
            "[]",
            r#"["i", "12"]"#,
            r#"["q"]"#,
            r#"["d", [[1]]]"#,
            r#"["x", "zz"]"#,
            r#"["c", ["1.0"]]"#,
            r#"["c", ["1.0", "j"]]"#,
            r#"["y", "0"]"#,
            r#"["C", [["s", "a"]]]"#,
        ] {
            assert!(PyValue::from_tagged(text).is_err(), "{text}");
        }
    }

    #[test]
    fn standard_dict_subclasses_compare_as_python_does() {
        let counter = v(r#"["C", [[["s", "a"], ["i", "0x2"]], [["s", "b"], ["i", "0x0"]]]]"#);
        let same_counts = v(r#"["C", [[["s", "a"], ["f", "2.0"]]]]"#);
        assert!(
            counter.py_eq(&same_counts, None),
            "Counter == Counter counts a missing key as 0"
        );
        let plain = v(r#"["d", [[["s", "a"], ["i", "0x2"]]]]"#);
        assert!(
            !counter.py_eq(&plain, None),
            "Counter == dict is dict equality: the zero count is an extra key"
        );
        assert!(same_counts.py_eq(&plain, None) && plain.py_eq(&same_counts, None));
        assert!(!counter.py_eq(&v(r#"["C", [[["s", "a"], ["i", "0x3"]]]]"#), None));

        let ab = v(r#"["O", [[["s", "a"], ["i", "0x1"]], [["s", "b"], ["i", "0x2"]]]]"#);
        let ba = v(r#"["O", [[["s", "b"], ["i", "0x2"]], [["s", "a"], ["i", "0x1"]]]]"#);
        let ba_plain = v(r#"["d", [[["s", "b"], ["i", "0x2"]], [["s", "a"], ["i", "0x1"]]]]"#);
        assert!(!ab.py_eq(&ba, None), "two OrderedDicts compare in order");
        assert!(
            ab.py_eq(&ba_plain, None),
            "an OrderedDict and a dict compare as dicts"
        );
        let default = v(r#"["D", [[["s", "b"], ["i", "0x2"]], [["s", "a"], ["i", "0x1"]]]]"#);
        assert!(default.py_eq(&ab, None) && default.py_eq(&ba_plain, None));
        assert!(!default.py_eq(&plain, None));
    }

    #[test]
    fn complex_numbers_join_the_numeric_tower() {
        let c = |text: &str| v(&format!(r#"["c", {text}]"#));
        assert!(c(r#"["2.0", "0.0"]"#).py_eq(&int(2), None));
        assert!(c(r#"["2.0", "-0.0"]"#).py_eq(&PyValue::Float(2.0), None));
        assert!(PyValue::Bool(true).py_eq(&c(r#"["1.0", "0.0"]"#), None));
        assert!(!c(r#"["2.0", "1e-300"]"#).py_eq(&int(2), None));
        let x = c(r#"["-2.0", "2.4492935982947064e-16"]"#);
        assert!(x.py_eq(&c(r#"["-2.0", "2.4492935982947064e-16"]"#), None));
        assert!(!x.py_eq(&c(r#"["-2.0", "0.0"]"#), None));
        assert!(
            x.py_eq(&int(-2), Some(1e-15)),
            "abs(a - b) of complex numbers"
        );
        assert!(!c(r#"["0.0", "1.0"]"#).py_eq(&int(0), Some(0.5)));
        assert!(!c(r#"["nan", "0.0"]"#).py_eq(&c(r#"["nan", "0.0"]"#), None));
        assert!(!c(r#"["1.0", "0.0"]"#).py_eq(&v(r#"["s", "1"]"#), None));
    }

    #[test]
    fn bytes_equal_bytearrays_never_strings() {
        let bytes = v(r#"["y", "6100ff"]"#);
        assert!(bytes.py_eq(&v(r#"["Y", "6100ff"]"#), None));
        assert!(!bytes.py_eq(&v(r#"["y", "6100"]"#), None));
        assert!(!v(r#"["y", "61"]"#).py_eq(&v(r#"["s", "a"]"#), None));
        assert_eq!(bytes.render(), r"b'a\x00\xff'");
        assert_eq!(v(r#"["Y", "275c0a"]"#).render(), r"bytearray(b'\'\\\n')");
    }

    #[test]
    fn renders_like_python() {
        let x = v(
            r#"["t", [["l", [["f", "1.5"], ["i", "-0xa"]]], ["S", []], ["d", [[["s", "k"], ["b", false]]]]]]"#,
        );
        assert_eq!(x.render(), r#"([1.5, -10], set(), {"k": False})"#);
        let render = |text: &str| v(text).render();
        assert_eq!(
            render(r#"["c", ["-2.0", "2.4492935982947064e-16"]]"#),
            "(-2+2.4492935982947064e-16j)"
        );
        assert_eq!(render(r#"["c", ["0.0", "1.5"]]"#), "1.5j");
        assert_eq!(render(r#"["c", ["-0.0", "-1.0"]]"#), "(-0-1j)");
        assert_eq!(render(r#"["f", "1e-05"]"#), "1e-05");
        assert_eq!(render(r#"["f", "1e+16"]"#), "1e+16");
        assert_eq!(render(r#"["f", "123.25"]"#), "123.25");
        assert_eq!(
            render(r#"["C", [[["s", "a"], ["i", "0x2"]]]]"#),
            r#"Counter({"a": 2})"#
        );
    }
}

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
    Dict(Vec<(PyValue, PyValue)>),
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
                Option::Some(tol) => (a.to_f64() - b.to_f64()).abs() <= tol,
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
            (PyValue::Dict(a), PyValue::Dict(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        b.iter()
                            .any(|(k2, v2)| k.py_eq(k2, tolerance) && v.py_eq(v2, tolerance))
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
            PyValue::Dict(v) => format!(
                "{{{}}}",
                v.iter()
                    .map(|(k, x)| format!("{}: {}", k.render(), x.render()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
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
            _ => None,
        }
    }
}

/// Numbers in Python's numeric tower that compare across types (`True == 1 == 1.0`).
enum Num {
    Int { negative: bool, hex: String },
    Float(f64),
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
        }
    }

    fn to_f64(&self) -> f64 {
        match self {
            Num::Float(f) => *f,
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
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
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
        "l" => PyValue::List(items(payload)?),
        "t" => PyValue::Tuple(items(payload)?),
        "S" => PyValue::Set(items(payload)?),
        "F" => PyValue::FrozenSet(items(payload)?),
        "d" => {
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
            PyValue::Dict(out)
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
        ] {
            assert!(PyValue::from_tagged(text).is_err(), "{text}");
        }
    }

    #[test]
    fn renders_like_python() {
        let x = v(
            r#"["t", [["l", [["f", "1.5"], ["i", "-0xa"]]], ["S", []], ["d", [[["s", "k"], ["b", false]]]]]]"#,
        );
        assert_eq!(x.render(), r#"([1.5, -10], set(), {"k": False})"#);
    }
}

//! Where a store lives: a SQLite file (the default) or a PostgreSQL database named by URL, told apart by
//! the text of `--db` / `GOODHART_DB` alone, so every command takes either.

use crate::StoreError;
use std::path::{Path, PathBuf};

/// A store's location as the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`), as given (password included).
    Postgres(String),
}

impl Location {
    /// Reads `--db`: a `postgres://` or `postgresql://` URL is a PostgreSQL store; any other
    /// `scheme://` is refused (it is not a file path either); everything else is a SQLite file path.
    pub fn parse(db: &Path) -> Result<Location, StoreError> {
        let Some(text) = db.to_str() else {
            return Ok(Location::Sqlite(db.to_path_buf()));
        };
        match url_scheme(text) {
            None => Ok(Location::Sqlite(db.to_path_buf())),
            Some(s)
                if s.eq_ignore_ascii_case("postgres") || s.eq_ignore_ascii_case("postgresql") =>
            {
                Ok(Location::Postgres(text.to_string()))
            }
            Some(_) => Err(StoreError::UnsupportedLocation {
                value: redact(text),
            }),
        }
    }

    /// The location for messages: the path, or the URL with its password replaced by `***`.
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// The scheme of `text` when it starts like a URL (`letters://`).
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// `url` with any password (in the user-info part or a `password=` parameter) replaced by `***`, so
/// errors and listings can name a database without leaking its secret.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart_and_other_schemes_refused() {
        let parse = |s: &str| Location::parse(Path::new(s));
        assert_eq!(
            parse("runs/g.db").unwrap(),
            Location::Sqlite("runs/g.db".into())
        );
        assert_eq!(
            parse("/tmp/a:b.db").unwrap(),
            Location::Sqlite("/tmp/a:b.db".into())
        );
        for url in [
            "postgres://u@h/db",
            "postgresql://h:5432/db?sslmode=disable",
        ] {
            assert_eq!(parse(url).unwrap(), Location::Postgres(url.into()));
        }
        let err = parse("mysql://root:hunter2@h/db").unwrap_err().to_string();
        assert!(err.contains("mysql://root:***@h/db"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn passwords_are_redacted_wherever_they_are() {
        assert_eq!(
            redact("postgres://bob:s3cret@db.example:5432/g?sslmode=disable"),
            "postgres://bob:***@db.example:5432/g?sslmode=disable"
        );
        assert_eq!(
            redact("postgres://bob@h/g?password=s3cret&x=1"),
            "postgres://bob@h/g?password=***&x=1"
        );
        assert_eq!(redact("postgres://h/g"), "postgres://h/g");
        assert_eq!(redact("postgres://a:b@c"), "postgres://a:***@c");
    }
}

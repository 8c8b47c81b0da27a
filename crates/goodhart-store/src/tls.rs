//! TLS to PostgreSQL, with libpq's `sslmode` meanings, so a URL that works with `psql` works here.
//!
//! Managed databases (RDS, Cloud SQL, Azure) and most cluster operators require encrypted connections,
//! and users copy their connection string from `psql`. The driver (`tokio-postgres`) understands only
//! `sslmode=disable|prefer|require` and no certificate options, so this module reads the TLS
//! parameters out of the URL first and gives the driver a rustls connector that behaves as libpq does
//! (<https://www.postgresql.org/docs/current/libpq-ssl.html>, table "SSL Mode Descriptions"):
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (the default) | when the server offers it, else plain | no |
//! | `require` | always | no (as libpq: it defeats passive eavesdropping only), unless `sslrootcert` is given, then as `verify-ca` |
//! | `verify-ca` | always | chain up to a trusted root |
//! | `verify-full` | always | chain, and the certificate names the host |
//!
//! `sslrootcert=FILE` names the PEM file of trusted roots; without it (or with `sslrootcert=system`) the
//! operating system's roots are trusted. The rustls crypto provider is aws-lc-rs, already in the build
//! for HTTPS.

use crate::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// What a URL asks of TLS, and the URL without the parameters only this module understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsParams {
    pub mode: SslMode,
    /// `sslrootcert`: a PEM file of trusted roots; `None` (or `system`) trusts the system's roots.
    pub root_cert: Option<String>,
    /// The URL for the driver: `sslmode` mapped to one it knows, `sslrootcert` removed.
    pub driver_url: String,
}

/// Reads `sslmode` and `sslrootcert` out of `url`. `shown` is the redacted URL for errors.
pub fn params(url: &str, shown: &str) -> Result<TlsParams, StoreError> {
    let bad = |message: String| StoreError::Tls {
        url: shown.to_string(),
        message,
    };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                mode = SslMode::parse(v).ok_or_else(|| {
                    bad(format!(
                        "sslmode `{v}` is not one of disable, prefer, require, verify-ca, verify-full"
                    ))
                })?;
            }
            "sslrootcert" => root_cert = Some(percent_decode(v)),
            _ => kept.push(pair),
        }
    }
    if mode == SslMode::Require && root_cert.is_some() {
        // libpq: "if a root CA file exists, the behavior of sslmode=require will be the same as that
        // of verify-ca".
        mode = SslMode::VerifyCa;
    }
    let driver_mode = match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
    };
    kept.push(match driver_mode {
        "disable" => "sslmode=disable",
        "prefer" => "sslmode=prefer",
        _ => "sslmode=require",
    });
    Ok(TlsParams {
        mode,
        root_cert,
        driver_url: format!("{base}?{}", kept.join("&")),
    })
}

/// The rustls client configuration `p` asks for; `None` for `sslmode=disable`.
pub fn client_config(
    p: &TlsParams,
    shown: &str,
) -> Result<Option<rustls::ClientConfig>, StoreError> {
    let bad = |message: String| StoreError::Tls {
        url: shown.to_string(),
        message,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("setting up TLS: {e}")))?;
    let chain = match p.mode {
        SslMode::Disable => return Ok(None),
        SslMode::Prefer | SslMode::Require => None,
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = roots(p.root_cert.as_deref()).map_err(bad)?;
            Some(
                rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| bad(format!("setting up certificate checks: {e}")))?,
            )
        }
    };
    let verifier = Arc::new(Verifier {
        provider,
        chain,
        any_name: p.mode == SslMode::VerifyCa,
    });
    Ok(Some(
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth(),
    ))
}

/// Trusted roots: the PEM file `file`, or the system's.
fn roots(file: Option<&str>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match file {
        Some(path) if path != "system" => {
            let pem =
                std::fs::read(path).map_err(|e| format!("reading sslrootcert `{path}`: {e}"))?;
            let mut found = 0;
            for cert in pem_certs(&pem) {
                let cert = cert.map_err(|e| format!("sslrootcert `{path}`: {e}"))?;
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert `{path}`: {e}"))?;
                found += 1;
            }
            if found == 0 {
                return Err(format!(
                    "sslrootcert `{path}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                ));
            }
        }
        _ => {
            let loaded = rustls_native_certs::load_native_certs();
            for cert in loaded.certs {
                // One unreadable system certificate should not stop the others from being trusted.
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err(
                    "no system root certificates found; name the server's CA with sslrootcert=FILE"
                        .to_string(),
                );
            }
        }
    }
    Ok(store)
}

/// The certificates of a PEM file.
fn pem_certs(pem: &[u8]) -> impl Iterator<Item = Result<CertificateDer<'static>, String>> + '_ {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem).map(|r| r.map_err(|e| e.to_string()))
}

/// Undoes `%XX` escapes in a URL parameter (a path may contain `/`, spaces, ...).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks the server's certificate as the `sslmode` asks. The handshake's signatures are always checked
/// (so the session is really keyed to the certificate presented); then `prefer` and `require` accept any
/// certificate (libpq's meaning: encryption against passive eavesdropping only), `verify-ca` checks the
/// chain up to a trusted root, and `verify-full` also that the certificate names the host.
#[derive(Debug)]
struct Verifier {
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// The chain check; `None` accepts any certificate.
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    /// `verify-ca`: a certificate valid for another name is accepted.
    any_name: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.any_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_rootcert_are_read_and_the_driver_gets_what_it_knows() {
        let p = params("postgres://u@h/db", "x").unwrap();
        assert_eq!(p.mode, SslMode::Prefer);
        assert_eq!(p.driver_url, "postgres://u@h/db?sslmode=prefer");
        let p = params(
            "postgres://u@h/db?connect_timeout=5&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem",
            "x",
        )
        .unwrap();
        assert_eq!(p.mode, SslMode::VerifyFull);
        assert_eq!(p.root_cert.as_deref(), Some("/etc/ca x.pem"));
        assert_eq!(
            p.driver_url,
            "postgres://u@h/db?connect_timeout=5&sslmode=require"
        );
        // libpq: require with a root file behaves as verify-ca.
        let p = params("postgres://h/d?sslmode=require&sslrootcert=/ca.pem", "x").unwrap();
        assert_eq!(p.mode, SslMode::VerifyCa);
        let err = params("postgres://h/d?sslmode=allow-ish", "postgres://h/d")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("allow-ish") && err.contains("verify-full"),
            "{err}"
        );
        assert!(err.contains("postgres://h/d"), "{err}");
    }

    #[test]
    fn a_missing_or_empty_root_file_is_named() {
        let p = params(
            "postgres://h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "u",
        )
        .unwrap();
        let err = client_config(&p, "u").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let p = params(
            &format!(
                "postgres://h/d?sslmode=verify-ca&sslrootcert={}",
                empty.display()
            ),
            "u",
        )
        .unwrap();
        let err = client_config(&p, "u").unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }

    /// The test server (`.ci/postgres.sh`, TLS on) and the CA that signed its certificate; `None` (after
    /// a note) outside CI when either is missing.
    fn tls_server() -> Option<(String, String)> {
        let url = crate::testdb::pg_url()?;
        match std::env::var("GOODHART_TEST_PG_CA") {
            Ok(ca) if std::path::Path::new(&ca).is_file() => Some((url, ca)),
            _ if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("GOODHART_TEST_PG_CA must name the test server's CA file under CI=true (.ci/run)")
            }
            _ => {
                eprintln!("note: GOODHART_TEST_PG_CA is not set; the TLS tests are skipped");
                None
            }
        }
    }

    /// Whether the session `url` opens is encrypted, as the server sees it.
    fn encrypted(url: &str) -> Result<bool, StoreError> {
        let mut conn = crate::open_postgres(url, crate::Mode::ReadOnly)?;
        let row = conn.query_one(
            "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            crate::db::params![],
        )?;
        Ok(row.get::<i64>(0)? == 1)
    }

    fn with(url: &str, extra: &str) -> String {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{extra}")
    }

    #[test]
    fn every_sslmode_does_what_libpq_does_against_a_real_server() {
        let Some((url, ca)) = tls_server() else {
            return;
        };
        assert!(
            encrypted(&url).unwrap(),
            "prefer (the default) encrypts when offered"
        );
        assert!(!encrypted(&with(&url, "sslmode=disable")).unwrap());
        assert!(encrypted(&with(&url, "sslmode=require")).unwrap());
        let full = with(&url, &format!("sslmode=verify-full&sslrootcert={ca}"));
        assert!(
            encrypted(&full).unwrap(),
            "the CA's certificate names 127.0.0.1"
        );
        assert!(encrypted(&full.replace("127.0.0.1", "localhost")).unwrap());
        assert!(encrypted(&with(&url, &format!("sslmode=verify-ca&sslrootcert={ca}"))).unwrap());
        // The system's roots do not trust a CA made for the test: a clear refusal, naming the URL.
        let err = encrypted(&with(&url, "sslmode=verify-full"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("certificate") || err.contains("Certificate"),
            "{err}"
        );
        assert!(err.contains("127.0.0.1"), "{err}");
        // A CA that did not sign the server's certificate is refused too.
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.pem");
        std::fs::write(&other, OTHER_CA).unwrap();
        let err = encrypted(&with(
            &url,
            &format!("sslmode=verify-ca&sslrootcert={}", other.display()),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("certificate") || err.contains("Certificate"),
            "{err}"
        );
    }

    /// A self-signed CA certificate that signed nothing the test server uses.
    const OTHER_CA: &str = include_str!("../tests/data/unrelated-ca.pem");
}

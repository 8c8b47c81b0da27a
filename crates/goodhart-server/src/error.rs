//! The JSON error every endpoint answers with, so a trainer's log names the field it got wrong.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A request the server will not serve, with the HTTP status and the field to blame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status of the answer (4xx for the caller's fault, 5xx for ours).
    pub status: StatusCode,
    /// Dotted path of the offending field (`run_timeout`, `files.a.py`, `rollouts[2].task_id`), if any.
    pub field: Option<String>,
    pub message: String,
}

impl ApiError {
    /// A 422 for a well-formed request whose field holds a value the server cannot accept.
    pub fn invalid(field: impl Into<String>, message: impl AsRef<str>) -> Self {
        let field = field.into();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!("field `{field}`: {}", message.as_ref()),
            field: Some(field),
        }
    }

    /// An error with any status and no particular field.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            field: None,
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: &self.message,
            field: self.field.as_deref(),
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// A JSON body whose decoding errors name the field (axum's own `Json` answers in plain text).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let timeout = req.extensions().get::<BodyTimeout>().map(|t| t.0);
        let read = axum::body::Bytes::from_request(req, state);
        let bytes = match timeout {
            Some(limit) => tokio::time::timeout(limit, read).await.map_err(|_| {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request body did not arrive within {} s (see `goodhart serve --body-timeout`)",
                        limit.as_secs_f64()
                    ),
                )
            })?,
            None => read.await,
        }
        .map_err(body_error)?;
        decode_json(&bytes).map(ApiJson)
    }
}

/// How long a request body may take to arrive; the router puts it in every request's extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyTimeout(pub std::time::Duration);

fn body_error(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "request body is larger than the server's limit (see `goodhart serve --max-body-mb`)"
            .to_string()
    } else {
        format!("could not read the request body: {}", rejection.body_text())
    };
    ApiError::new(status, message)
}

/// Decodes a JSON document into `T`, blaming the exact field on failure.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            de.end().map_err(|e| ApiError {
                status: StatusCode::BAD_REQUEST,
                field: None,
                message: format!("trailing data after the JSON body: {e}"),
            })?;
            Ok(value)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                // A number no f64 holds (`"penalty": 1e999`) is a syntax error in serde_json, but
                // the path says whose value it was.
                let field = (!path.is_empty() && path != ".").then_some(path);
                let message = match &field {
                    Some(f) => format!("request body is not valid JSON at field `{f}`: {inner}"),
                    None => format!("request body is not valid JSON: {inner}"),
                };
                return Err(ApiError {
                    status: StatusCode::BAD_REQUEST,
                    field,
                    message,
                });
            }
            let message = inner.to_string();
            let field = match missing_field(&message) {
                Some(name) if path == "." => name,
                Some(name) => format!("{path}.{name}"),
                None => path,
            };
            Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: format!("field `{field}`: {message}"),
                field: Some(field),
            })
        }
    }
}

/// serde reports a missing field at its parent; pull the field's own name out of the message.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        code: String,
        #[serde(default)]
        nested: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let err = decode_json::<Probe>(br#"{"nested": []}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("code"));
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);

        let err = decode_json::<Probe>(br#"{"code": "x", "nested": [{"n": 1}, {"n": "two"}]}"#)
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("nested[1].n"));
        assert!(err.message.contains("invalid type"), "{}", err.message);

        let err = decode_json::<Probe>(b"{\"code\": ").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            err.field.as_deref(),
            Some("code"),
            "the body ends inside `code`"
        );
        let err = decode_json::<Probe>(b"{\"code\"").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.field, None);
    }

    #[test]
    fn a_number_no_float_holds_is_refused_naming_its_field() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Body {
            penalty: Option<f64>,
        }
        for huge in ["1e999", "-1e400"] {
            let err =
                decode_json::<Body>(format!("{{\"penalty\": {huge}}}").as_bytes()).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
            assert_eq!(err.field.as_deref(), Some("penalty"), "{}", err.message);
            assert!(err.message.contains("out of range"), "{}", err.message);
        }
    }
}

//! The one error type of the HTTP layer: a status, a short code, a message a person can act
//! on, and for invalid files every diagnostic with its line and field. Internals never leak:
//! a database error is logged and answered with a plain 500, or, when the database cannot be
//! reached, 503 saying so (with `Retry-After`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use forewarn_model::{Diagnostic, Diagnostics};
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub errors: Vec<Diagnostic>,
}

/// The JSON error document: every error under `/api/` is one.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// A short code: bad_request, invalid, not_found, method_not_allowed, conflict,
    /// no_inventory, unauthorized, too_large, unsupported_media_type, ...
    pub error: String,
    /// What went wrong and how to fix it.
    pub message: String,
    /// For invalid files: every problem, as the CLI prints them.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<DiagnosticJson>,
}

/// One problem of an invalid file.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosticJson {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The field, as a path into the file (`hosts[2].rack`).
    pub path: String,
    pub message: String,
    /// The whole diagnostic as the CLI prints it.
    pub text: String,
}

// The error statuses operations document (`responses(...)` of `#[utoipa::path]`), each with
// the error document.

/// The path, the query or the body does not parse.
#[derive(Debug, IntoResponses)]
#[response(status = 400)]
pub struct BadRequest(pub ErrorBody);

/// No API token, or one that is unknown or revoked.
#[derive(Debug, IntoResponses)]
#[response(status = 401)]
pub struct Unauthorized(pub ErrorBody);

/// What the path names does not exist.
#[derive(Debug, IntoResponses)]
#[response(status = 404)]
pub struct NotFound(pub ErrorBody);

/// The write does not fit what is stored (a campaign's state, an id taken, no inventory yet).
#[derive(Debug, IntoResponses)]
#[response(status = 409)]
pub struct Conflict(pub ErrorBody);

/// The body is larger than the endpoint takes.
#[derive(Debug, IntoResponses)]
#[response(status = 413)]
pub struct TooLarge(pub ErrorBody);

/// The body's `Content-Type` is not one the endpoint takes.
#[derive(Debug, IntoResponses)]
#[response(status = 415)]
pub struct UnsupportedMediaType(pub ErrorBody);

/// The body parses but is not valid: every problem is named with its field.
#[derive(Debug, IntoResponses)]
#[response(status = 422)]
pub struct Unprocessable(pub ErrorBody);

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), errors: Vec::new() }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send an API token as `Authorization: Bearer TOKEN` (create one with `forewarn token create`)",
        )
    }

    /// Invalid files: every diagnostic, each naming file, line and field.
    pub fn diagnostics(what: &str, d: Diagnostics) -> ApiError {
        let n = d.0.len();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid",
            message: format!("the {what} has {n} problem{}", if n == 1 { "" } else { "s" }),
            errors: d.0,
        }
    }

    /// The database cannot be reached right now (503, `Retry-After`): nothing about the
    /// request was wrong, and the same request may work in a moment.
    pub fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database cannot be reached right now, so this cannot be done: try again in a moment (/healthz \
             answers 200 once the database is back)",
        )
    }

    /// The database was busy with another write for too long (503, `Retry-After`): the
    /// same request may work in a moment.
    pub fn busy() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database was busy with another write for too long, so this was not done: try again in a moment",
        )
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the log has the details")
    }
}

impl From<forewarn_store::Error> for ApiError {
    fn from(e: forewarn_store::Error) -> ApiError {
        use forewarn_store::Error as E;
        match e {
            E::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            E::Conflict(what) => ApiError::conflict(what),
            E::Invalid(msg) => ApiError::unprocessable(msg),
            other if other.is_busy() => {
                tracing::warn!(error = %other, "the database was busy");
                ApiError::busy()
            }
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "the database cannot be reached");
                ApiError::unavailable()
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let errors = self
            .errors
            .iter()
            .map(|d| DiagnosticJson {
                file: d.file.clone(),
                line: d.line,
                path: d.path.clone(),
                message: d.message.clone(),
                text: d.to_string(),
            })
            .collect();
        let unavailable = self.code == "unavailable";
        let body = ErrorBody { error: self.code.to_owned(), message: self.message, errors };
        let mut response = (self.status, Json(body)).into_response();
        if unavailable {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Every error under `/api/` is the JSON error document: what axum's extractors answer by
/// themselves (a path or query that does not parse, a body that is not JSON, too large or
/// of another media type) is `text/plain`, and is rewritten here with its text as the
/// message and a code for its status.
pub async fn json_under_api(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    let response = next.run(request).await;
    if !api || !(response.status().is_client_error() || response.status().is_server_error()) {
        return response;
    }
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let status = parts.status;
    // Rejections are one short sentence; anything longer is cut.
    let text = match axum::body::to_bytes(body, 16 << 10).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let (code, hint) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request's path, query or body does not parse"),
        StatusCode::NOT_FOUND => ("not_found", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "the endpoint does not take this method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the body is larger than this endpoint takes"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "send the body with the `Content-Type` this endpoint takes")
        }
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid", "the body does not have the fields this endpoint takes"),
        s if s.is_server_error() => ("internal", "internal error; the log has the details"),
        _ => ("error", "the request was refused"),
    };
    let message = if text.is_empty() || status.is_server_error() {
        format!("{hint}: see /api/v1/openapi.json")
    } else {
        format!("{text} ({hint}: see /api/v1/openapi.json)")
    };
    let mut out = ApiError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

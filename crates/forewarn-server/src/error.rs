//! The one error type of the HTTP layer: a status, a short code, a message a person can act
//! on, and for invalid files every diagnostic with its line and field. Internals never leak:
//! a database error is logged and answered with a plain 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use forewarn_model::{Diagnostic, Diagnostics};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub errors: Vec<Diagnostic>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: Vec<DiagnosticJson<'a>>,
}

#[derive(Serialize)]
struct DiagnosticJson<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    path: &'a str,
    message: &'a str,
    /// The whole diagnostic as the CLI prints it.
    text: String,
}

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
                file: &d.file,
                line: d.line,
                path: &d.path,
                message: &d.message,
                text: d.to_string(),
            })
            .collect();
        let body = Body { error: self.code, message: &self.message, errors };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

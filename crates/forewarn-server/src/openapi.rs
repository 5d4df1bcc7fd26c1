//! The OpenAPI 3.1 document of `/api/v1` and of the agents' `/agent/v1`, served at
//! `/api/v1/openapi.json`. It is derived (utoipa) from the same declaration that routes the
//! API ([`crate::api::routes`]): each handler's `#[utoipa::path]` gives its path, method,
//! parameters, body and answers, and the typed bodies ([`crate::schema`],
//! [`crate::error::ErrorBody`]) give their schemas. This
//! module adds what is common: the title, the bearer scheme and the error document.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};

use crate::error::{ApiError, ApiResult, ErrorBody};

/// What the document says before the routes add their paths: title, version, how to
/// authenticate, and the error document every error answer carries.
pub fn base() -> OpenApi {
    use utoipa::PartialSchema as _;
    use utoipa::ToSchema as _;
    let mut schemas = Vec::new();
    ErrorBody::schemas(&mut schemas);
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("forewarn")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Plan, announce and drive planned maintenance. Writes need `Authorization: Bearer TOKEN` \
                     (`forewarn token create`). Every error is the `Error` document; any request may be \
                     answered 503 (`unavailable`, with `Retry-After`) while the database cannot be reached.",
                ))
                .build(),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .schema(ErrorBody::name(), ErrorBody::schema())
                .schemas_from_iter(schemas)
                .build(),
        ))
        .build()
}

/// The document, made once from the routes.
pub fn spec() -> &'static OpenApi {
    static SPEC: OnceLock<OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| crate::api::routes().into_openapi())
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 document of `/api/v1`", body = Object)),
)]
pub async fn document() -> ApiResult<Response> {
    let json = spec().to_json().map_err(ApiError::internal)?;
    Ok(([(CONTENT_TYPE, "application/json")], json).into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::to_value(super::spec()).unwrap()
    }

    /// The values an enum's schema lists.
    fn listed(doc: &Value, name: &str) -> Vec<String> {
        let values = doc["components"]["schemas"][name]["enum"].as_array();
        values
            .unwrap_or_else(|| panic!("no enum schema {name}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    fn names<T: serde::Serialize>(all: &[T]) -> Vec<String> {
        all.iter().map(|v| serde_json::to_value(v).unwrap().as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn enum_schemas_list_the_names_the_api_sends() {
        use forewarn_status::{ComponentKind, ComponentStatus, Impact, PostKind, PostState};
        use forewarn_store::{CampaignState, Channel, MessageState};
        let doc = doc();
        assert_eq!(listed(&doc, "PostKind"), names(&PostKind::ALL));
        assert_eq!(listed(&doc, "PostState"), names(&PostState::ALL));
        assert_eq!(listed(&doc, "Impact"), names(&Impact::ALL));
        assert_eq!(listed(&doc, "ComponentStatus"), names(&ComponentStatus::ALL));
        assert_eq!(
            listed(&doc, "ComponentKind"),
            names(&[ComponentKind::Service, ComponentKind::Rack, ComponentKind::Device])
        );
        assert_eq!(listed(&doc, "CampaignState"), names(&CampaignState::ALL));
        assert_eq!(
            listed(&doc, "MessageState"),
            names(&[MessageState::Pending, MessageState::Sent, MessageState::Dead])
        );
        assert_eq!(listed(&doc, "Channel"), names(&[Channel::Email, Channel::Webhook]));
    }

    /// Every operation documents its answers: a success with a schema, and its errors with
    /// the error document: 401 where it needs the token, 404 where the path names something,
    /// 400 where a path, query or body must parse, 415 where a body has a media type to match.
    #[test]
    fn every_operation_documents_its_errors_with_the_error_document() {
        let doc = doc();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                let what = format!("{method} {path}");
                let responses = op["responses"].as_object().unwrap();
                let success: Vec<_> = responses.keys().filter(|s| s.starts_with('2')).collect();
                assert_eq!(success.len(), 1, "{what}: {responses:?}");
                assert!(responses[success[0]]["content"].as_object().is_some_and(|c| !c.is_empty()), "{what}");
                for (status, r) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
                        "{what} {status}"
                    );
                }
                let has = |s: &str| responses.contains_key(s);
                if op["security"].is_array() {
                    assert!(has("401"), "{what} needs the token: 401");
                }
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                if params.iter().any(|p| p["in"] == "path") {
                    assert!(has("404") && has("400"), "{what} names something: 404 and 400");
                }
                for p in params.iter().filter(|p| p["name"] == "id" && p["in"] == "path") {
                    if path.starts_with("/api/v1/posts/")
                        || path.starts_with("/api/v1/outbox/")
                        || path.starts_with("/api/v1/tokens/")
                    {
                        assert_eq!(
                            p["schema"]["type"], "integer",
                            "{what}: ids of posts, messages and tokens are numbers"
                        );
                    }
                }
                if params.iter().any(|p| p["in"] == "query") {
                    assert!(has("400"), "{what} has a query to parse: 400");
                }
                if let Some(content) = op["requestBody"]["content"].as_object() {
                    assert!(has("400") || has("422"), "{what} takes a body: 400 or 422");
                    if content.contains_key("application/toml") {
                        assert!(content.contains_key("application/json"), "{what}: files are TOML or JSON");
                        assert!(has("413") && has("415") && has("422"), "{what} takes a file: 413, 415, 422");
                    }
                }
            }
        }
        assert!(operations >= 25, "{operations}");
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    }
}

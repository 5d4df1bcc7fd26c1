//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`. Written from one
//! table of endpoints; a test sends a request to every documented one, so the document
//! cannot name a route that does not exist.

use axum::Json;
use serde_json::{Map, Value, json};

/// One documented endpoint.
#[derive(Debug)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Needs `Authorization: Bearer TOKEN`.
    pub auth: bool,
    /// Request body media types, if it takes one.
    pub body: &'static [&'static str],
    /// Success status.
    pub status: u16,
}

const FILE: &[&str] = &["application/toml", "application/json"];
const JSON: &[&str] = &["application/json"];

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "post",
        path: "/api/v1/inventory",
        summary: "Import an inventory (validated as by `forewarn inventory check`; 422 lists every problem)",
        auth: true,
        body: FILE,
        status: 201,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/inventory",
        summary: "The latest inventory's version and summary",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/campaigns",
        summary: "Create a campaign from its file (TOML or JSON), checked against the latest inventory",
        auth: true,
        body: FILE,
        status: 201,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/campaigns",
        summary: "Every campaign, newest first",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/campaigns/{id}",
        summary: "A campaign and its plan versions",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/campaigns/{id}/plan",
        summary: "Plan the campaign against the latest inventory: a new draft version. A published campaign keeps the slots its contacts were told wherever they still fit (`?fresh=true` plans every target anew)",
        auth: true,
        body: &[],
        status: 201,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/campaigns/{id}/plan",
        summary: "A plan file (`?version=N`, the latest by default)",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/campaigns/{id}/plans",
        summary: "The plan versions with their summaries",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/campaigns/{id}/plan/diff",
        summary: "What changed between plan versions `from` and `to` (the latest by default)",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/campaigns/{id}/publish",
        summary: "Publish a plan version (`{\"version\": N}`, the latest by default) and its maintenance post; `?preview=true` answers the messages it would send (recipient, subject, text) and writes nothing",
        auth: true,
        body: JSON,
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/campaigns/{id}/pause",
        summary: "Pause a published campaign (`{\"reason\": \"...\"}` optional: it goes into the post's update)",
        auth: true,
        body: JSON,
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/campaigns/{id}/resume",
        summary: "Resume a paused campaign (`{\"reason\": \"...\"}` optional: it goes into the post's update)",
        auth: true,
        body: JSON,
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/campaigns/{id}/cancel",
        summary: "Cancel a campaign with `{\"reason\": \"...\"}` (required: 422 without it); its posts say so with \
                  the reason, and its contacts' cancellation mail gives it",
        auth: true,
        body: JSON,
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/campaigns/{id}/slots",
        summary: "The slots of a published campaign as its contacts were told them (SEQUENCE, cancelled, reminded), \
                  and `table`: every target of the published plan with customer, project, host, tier and state, the \
                  unscheduled ones with their reason (`?customer=ID` filters; `?format=csv` or `Accept: text/csv` for \
                  CSV)",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/campaigns/{id}/slots/{target}",
        summary: "Move one slot, or place a target the planner left without one (`{\"start\": RFC 3339}`; `?preview=true` answers the messages it would send and writes nothing): checked against every constraint (422 names the broken ones), \
                  published as a new plan version, and its contacts told",
        auth: true,
        body: JSON,
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/outbox",
        summary: "Messages (mail and webhook events), newest first, with counts by state (`?state=pending|sent|dead`, \
                  `limit`, `before`)",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/outbox/{id}",
        summary: "One message, with its whole text as sent",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/outbox/{id}/retry",
        summary: "Send a dead message again",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/subscribers",
        summary: "Who subscribed to the status page by email (confirmed or not)",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/posts",
        summary: "Create a post (`kind`, `title`, `body`, optional `state`, `starts`, `ends`, `components`, `campaign`, \
                  `impact` of an incident: none, minor (its default), major, critical; `replaces`: the id of the \
                  cancelled maintenance post a maintenance post replaces)",
        auth: true,
        body: JSON,
        status: 201,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/posts",
        summary: "Every post, newest first",
        auth: false,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/posts/{id}",
        summary: "A post with its updates and corrections",
        auth: false,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "patch",
        path: "/api/v1/posts/{id}",
        summary: "Correct a post (`note` says why; `title`, `body`, `starts`, `ends` as corrected); the earlier text stays visible",
        auth: true,
        body: JSON,
        status: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v1/posts/{id}/updates",
        summary: "Append an update to a post's timeline (`body`, optional new `state`)",
        auth: true,
        body: JSON,
        status: 201,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/components",
        summary: "The platform's components: `status` as the status page shows it, the worse of `manual_status` \
                  (set by hand) and `derived_status` (from open incidents by their impact and maintenance in progress)",
        auth: false,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "patch",
        path: "/api/v1/components/{id}",
        summary: "Set a component's status by hand (`{\"status\": \"degraded\"}`: operational, maintenance, degraded, \
                  partial_outage, major_outage); the page shows the worse of it and what posts make of the component",
        auth: true,
        body: JSON,
        status: 200,
    },
    Endpoint {
        method: "put",
        path: "/api/v1/campaigns/{id}",
        summary: "Replace a draft campaign's file (TOML or JSON, checked as on create; its `id` stays); 409 once \
                  published: plan and publish a newer version instead",
        auth: true,
        body: FILE,
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/tokens",
        summary: "Every API token (never its hash): id, name, created, by whom, revoked",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "delete",
        path: "/api/v1/tokens/{id}",
        summary: "Revoke an API token: refused (401) from its next request on",
        auth: true,
        body: &[],
        status: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v1/openapi.json",
        summary: "This document",
        auth: false,
        body: &[],
        status: 200,
    },
];

/// Query parameters of documented endpoints: method, path, name, description.
pub const QUERY: &[(&str, &str, &str, &str)] = &[
    ("post", "/api/v1/inventory", "file", FILE_PARAM),
    ("post", "/api/v1/campaigns", "file", FILE_PARAM),
    ("put", "/api/v1/campaigns/{id}", "file", FILE_PARAM),
    ("get", "/api/v1/campaigns/{id}/slots", "customer", "Only the targets of this customer (its id)"),
    ("get", "/api/v1/campaigns/{id}/slots", "format", "`csv` for CSV, `json` (the default) for JSON"),
];

const FILE_PARAM: &str = "The file's name as the user gave it (base name, printable, at most 100 characters): \
                          diagnostics name it (`typo-key.toml:22`); its extension must agree with the Content-Type";

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {
                "type": "string",
                "description": "A short code: invalid, not_found, method_not_allowed, conflict, unauthorized, ..."
            },
            "message": { "type": "string" },
            "errors": {
                "type": "array",
                "description": "For invalid files: every problem, as the CLI prints them",
                "items": {
                    "type": "object",
                    "properties": {
                        "file": { "type": "string" },
                        "line": { "type": "integer" },
                        "path": { "type": "string" },
                        "message": { "type": "string" },
                        "text": { "type": "string" }
                    }
                }
            }
        }
    })
}

/// The document.
pub fn spec() -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let mut op = json!({
            "summary": e.summary,
            "responses": {
                e.status.to_string(): { "description": "Success" },
                "400": { "$ref": "#/components/responses/Error" },
                "404": { "$ref": "#/components/responses/Error" },
                "409": { "$ref": "#/components/responses/Error" },
                "422": { "$ref": "#/components/responses/Error" }
            }
        });
        if e.auth {
            op["security"] = json!([{ "bearer": [] }]);
            op["responses"]["401"] = json!({ "$ref": "#/components/responses/Error" });
        }
        if !e.body.is_empty() {
            let content: Map<String, Value> = e.body.iter().map(|t| ((*t).to_owned(), json!({}))).collect();
            op["requestBody"] = json!({ "required": e.method != "post" || e.body == FILE, "content": content });
        }
        let mut params: Vec<Value> = e
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        params.extend(QUERY.iter().filter(|(m, p, _, _)| *m == e.method && *p == e.path).map(|(_, _, name, what)| {
            json!({ "name": name, "in": "query", "required": false, "description": what, "schema": { "type": "string" } })
        }));
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        let item = paths.entry(e.path.to_owned()).or_insert_with(|| json!({}));
        item[e.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "forewarn",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Plan, announce and drive planned maintenance. Writes need `Authorization: Bearer TOKEN` (`forewarn token create`)."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": { "Error": error_schema() },
            "responses": {
                "Error": {
                    "description": "What went wrong and how to fix it",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                }
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}

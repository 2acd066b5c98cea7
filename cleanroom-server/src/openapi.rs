//! The OpenAPI 3.1 document served at `/v1/openapi.json`, built from the
//! endpoint table (the JSON shapes are those of `cleanroom_core::api`).

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{Content, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr};

const JSON: &str = "application/json";
const BIN: &str = "application/octet-stream";

/// (method, path, scope, request media type, success status, response media type, summary)
type Endpoint = (
    HttpMethod,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    &'static str,
);

const ENDPOINTS: &[Endpoint] = &[
    (
        HttpMethod::Get,
        "/v1/me",
        "view",
        None,
        "200",
        Some(JSON),
        "The caller's organization and token (Me)",
    ),
    (
        HttpMethod::Post,
        "/v1/tokens",
        "admin",
        Some(JSON),
        "201",
        Some(JSON),
        "Create a token (CreateToken → CreatedToken)",
    ),
    (
        HttpMethod::Get,
        "/v1/tokens",
        "admin",
        None,
        "200",
        Some(JSON),
        "List tokens ([TokenInfo])",
    ),
    (
        HttpMethod::Delete,
        "/v1/tokens/{id}",
        "admin",
        None,
        "204",
        None,
        "Revoke a token",
    ),
    (
        HttpMethod::Post,
        "/v1/partnerships",
        "admin",
        Some(JSON),
        "201",
        Some(JSON),
        "Invite an organization (InvitePartner → Partnership)",
    ),
    (
        HttpMethod::Get,
        "/v1/partnerships",
        "view",
        None,
        "200",
        Some(JSON),
        "List partnerships ([Partnership])",
    ),
    (
        HttpMethod::Get,
        "/v1/partnerships/{id}",
        "view",
        None,
        "200",
        Some(JSON),
        "A partnership (Partnership)",
    ),
    (
        HttpMethod::Post,
        "/v1/partnerships/{id}/accept",
        "admin",
        None,
        "200",
        Some(JSON),
        "Accept an invitation",
    ),
    (
        HttpMethod::Put,
        "/v1/partnerships/{id}/policy",
        "admin",
        Some(JSON),
        "200",
        Some(JSON),
        "Propose or agree to a policy (ProposePolicy)",
    ),
    (
        HttpMethod::Post,
        "/v1/partnerships/{id}/revoke",
        "admin",
        None,
        "200",
        Some(JSON),
        "Revoke; cancels open sessions",
    ),
    (
        HttpMethod::Get,
        "/v1/partnerships/{id}/audit",
        "view",
        None,
        "200",
        Some(JSON),
        "Audit log ([AuditEntry])",
    ),
    (
        HttpMethod::Post,
        "/v1/partnerships/{id}/sessions",
        "upload",
        None,
        "201",
        Some(JSON),
        "Create a session (409 if one is open, 429 over budget)",
    ),
    (
        HttpMethod::Get,
        "/v1/partnerships/{id}/sessions",
        "view",
        None,
        "200",
        Some(JSON),
        "Sessions, newest first ([Session])",
    ),
    (
        HttpMethod::Get,
        "/v1/sessions/{id}",
        "view",
        None,
        "200",
        Some(JSON),
        "A session (Session)",
    ),
    (
        HttpMethod::Post,
        "/v1/sessions/{id}/cancel",
        "upload",
        None,
        "200",
        Some(JSON),
        "Cancel a session",
    ),
    (
        HttpMethod::Put,
        "/v1/sessions/{id}/blinded/{seq}",
        "upload",
        Some(BIN),
        "200",
        Some(JSON),
        "Upload a chunk of 48-byte blinded records (ChunkReceipt)",
    ),
    (
        HttpMethod::Post,
        "/v1/sessions/{id}/blinded/commit",
        "upload",
        Some(JSON),
        "200",
        Some(JSON),
        "Commit blinded records (CommitBlinded)",
    ),
    (
        HttpMethod::Get,
        "/v1/sessions/{id}/counterpart/points",
        "upload",
        None,
        "200",
        Some(BIN),
        "Stream the counterpart's 32-byte points (X-Record-Count)",
    ),
    (
        HttpMethod::Put,
        "/v1/sessions/{id}/tokens/{seq}",
        "upload",
        Some(BIN),
        "200",
        Some(JSON),
        "Upload a chunk of 16-byte tokens (ChunkReceipt)",
    ),
    (
        HttpMethod::Post,
        "/v1/sessions/{id}/tokens/commit",
        "upload",
        Some(JSON),
        "200",
        Some(JSON),
        "Commit tokens (CommitTokens); the second commit computes",
    ),
    (
        HttpMethod::Get,
        "/v1/sessions/{id}/results",
        "view",
        None,
        "200",
        Some(JSON),
        "Disclosed results (SessionResults)",
    ),
    (
        HttpMethod::Get,
        "/v1/sessions/{id}/overlaps",
        "view",
        None,
        "200",
        Some(JSON),
        "The caller's matched rows (OverlappingRecords)",
    ),
];

fn content(media: &str) -> Content {
    let schema: Schema = if media == BIN {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .build()
            .into()
    } else {
        ObjectBuilder::new().build().into()
    };
    Content::new(Some(RefOr::T(schema)))
}

/// Builds the document.
pub fn document() -> OpenApi {
    let problem = ResponseBuilder::new()
        .description("RFC 9457 problem (cleanroom_core::api::Problem)")
        .content("application/problem+json", content(JSON))
        .build();
    let mut paths = PathsBuilder::new();
    for (method, path, scope, req, status, resp, summary) in ENDPOINTS.iter().cloned() {
        let mut ok = ResponseBuilder::new().description(summary);
        if let Some(m) = resp {
            ok = ok.content(m, content(m));
        }
        let mut op = OperationBuilder::new()
            .summary(Some(summary))
            .description(Some(format!(
                "Requires a bearer token with scope `{scope}`."
            )))
            .response(status, ok.build())
            .response("4XX", problem.clone());
        if let Some(m) = req {
            op = op.request_body(Some(
                RequestBodyBuilder::new().content(m, content(m)).build(),
            ));
        }
        paths = paths.path(path, PathItem::new(method, op.build()));
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("cleanroom broker API")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths.build())
        .build()
}

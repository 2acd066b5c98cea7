//! The OpenAPI 3.1 document served at `/v1/openapi.json`, built from the
//! endpoint table below. JSON bodies reference the schemas derived from
//! `cleanroom_core::api` (feature `openapi` of `cleanroom-core`), so the
//! document follows serde's actual encoding; binary bodies are described by
//! their fixed record sizes (`cleanroom_core::wire`).

use cleanroom_core::{api, disclosure, overlap};
use utoipa::ToSchema;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    ArrayBuilder, ComponentsBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
};

const JSON: &str = "application/json";
const PROBLEM_JSON: &str = "application/problem+json";
const BINARY: &str = "application/octet-stream";
/// Name of the bearer security scheme in `components.securitySchemes`.
const BEARER: &str = "bearer";

/// A request or response body.
#[derive(Clone, Copy, Debug)]
enum Body {
    /// No body.
    Empty,
    /// A JSON object: the named component schema.
    Json(&'static str),
    /// A JSON array of the named component schema.
    JsonList(&'static str),
    /// `application/octet-stream` of fixed-size records, described by the text.
    Binary(&'static str),
}

/// One row of the endpoint table.
struct Endpoint {
    method: HttpMethod,
    path: &'static str,
    /// The least token scope allowed.
    scope: &'static str,
    request: Body,
    /// Success status.
    status: &'static str,
    response: Body,
    summary: &'static str,
}

const BLINDED_RECORDS: &str = "Concatenated 48-byte blinded records, all integers \
big-endian: `row_id: u32 | populations: u64 | key_type: u8 (1 domain, 2 name, 3 DUNS) | \
reserved: [0; 3] | point: [u8; 32]` (compressed ristretto255 point). The body length \
must be a multiple of 48.";

const POINTS: &str = "The counterpart's committed blinded points, 32 bytes each \
(compressed ristretto255), in chunk then record order. The `X-Record-Count` header \
gives their number.";

const TOKENS: &str = "Concatenated 16-byte match tokens: the i-th token belongs to the \
i-th point of the counterpart-points download. The body length must be a multiple of 16.";

const fn ep(
    method: HttpMethod,
    path: &'static str,
    scope: &'static str,
    request: Body,
    status: &'static str,
    response: Body,
    summary: &'static str,
) -> Endpoint {
    Endpoint {
        method,
        path,
        scope,
        request,
        status,
        response,
        summary,
    }
}

use Body::{Binary, Empty, Json, JsonList};
use HttpMethod::{Delete, Get, Post, Put};

/// (method, path, scope, request body, success status, response body, summary)
#[rustfmt::skip]
const ENDPOINTS: &[Endpoint] = &[
    ep(Get, "/v1/me", "view", Empty, "200", Json("Me"),
        "The caller's organization and token"),
    ep(Get, "/v1/limits", "view", Empty, "200", Json("Limits"),
        "The server's guardrails and privacy-budget settings, to check an upload against before a session"),
    ep(Post, "/v1/tokens", "admin", Json("CreateToken"), "201", Json("CreatedToken"),
        "Create a token; the secret is shown only in this answer"),
    ep(Get, "/v1/tokens", "admin", Empty, "200", JsonList("TokenInfo"),
        "List tokens"),
    ep(Delete, "/v1/tokens/{id}", "admin", Empty, "204", Empty,
        "Revoke a token"),
    ep(Post, "/v1/invitations", "admin", Json("CreateInvitation"), "201",
        Json("CreatedInvitation"),
        "Invite a partner: a single-use code, shown only in this answer, to pass on"),
    ep(Get, "/v1/invitations", "admin", Empty, "200", JsonList("Invitation"),
        "The organization's invitations, newest first (without codes)"),
    ep(Post, "/v1/invitations/{id}/cancel", "admin", Empty, "200", Json("Invitation"),
        "Cancel an open invitation; its code is refused from then on"),
    ep(Post, "/v1/invitations/preview", "admin", Json("InvitationCode"), "200",
        Json("InvitationPreview"),
        "Who invites, in which roles, to which policy (404 invitation-invalid for any code that cannot be accepted)"),
    ep(Post, "/v1/invitations/accept", "admin", Json("InvitationCode"), "201",
        Json("Partnership"),
        "Accept an invitation and its policy; the partnership is active at once"),
    ep(Get, "/v1/partnerships", "view", Empty, "200", JsonList("Partnership"),
        "List partnerships"),
    ep(Get, "/v1/partnerships/{id}", "view", Empty, "200", Json("Partnership"),
        "A partnership"),
    ep(Post, "/v1/partnerships/{id}/accept", "admin", Empty, "200", Json("Partnership"),
        "Accept a partnership invited by name before invitation codes"),
    ep(Put, "/v1/partnerships/{id}/policy", "admin", Json("ProposePolicy"), "200",
        Json("Partnership"),
        "Propose, or agree to, a policy; it takes effect once both sides put the same one"),
    ep(Post, "/v1/partnerships/{id}/revoke", "admin", Empty, "200", Json("Partnership"),
        "Revoke; cancels open sessions"),
    ep(Get, "/v1/partnerships/{id}/audit", "view", Empty, "200", JsonList("AuditEntry"),
        "Audit log"),
    ep(Post, "/v1/partnerships/{id}/sessions", "upload", Empty, "201", Json("Session"),
        "Create a session (409 if one is open, 429 over budget)"),
    ep(Get, "/v1/partnerships/{id}/sessions", "view", Empty, "200", JsonList("Session"),
        "Sessions, newest first"),
    ep(Get, "/v1/partnerships/{id}/agents", "view", Empty, "200", Json("PartnershipAgents"),
        "Both sides' agents: online, last heartbeat, versions, refresh schedule for this partnership"),
    ep(Post, "/v1/agents/heartbeat", "upload", Json("AgentHeartbeat"), "204", Empty,
        "The organization's agent reports it is alive, its versions and refresh schedules"),
    ep(Get, "/v1/sessions/{id}", "view", Empty, "200", Json("Session"),
        "A session"),
    ep(Post, "/v1/sessions/{id}/cancel", "upload", Empty, "200", Json("Session"),
        "Cancel a session"),
    ep(Put, "/v1/sessions/{id}/blinded/{seq}", "upload", Binary(BLINDED_RECORDS), "200",
        Json("ChunkReceipt"),
        "Upload chunk `seq` of 48-byte blinded records"),
    ep(Post, "/v1/sessions/{id}/blinded/commit", "upload", Json("CommitBlinded"), "200",
        Json("Session"),
        "Commit the blinded records"),
    ep(Get, "/v1/sessions/{id}/counterpart/points", "upload", Empty, "200", Binary(POINTS),
        "Stream the counterpart's 32-byte points"),
    ep(Put, "/v1/sessions/{id}/tokens/{seq}", "upload", Binary(TOKENS), "200",
        Json("ChunkReceipt"),
        "Upload chunk `seq` of 16-byte tokens"),
    ep(Post, "/v1/sessions/{id}/tokens/commit", "upload", Json("CommitTokens"), "200",
        Json("Session"),
        "Commit the tokens; the second commit computes the results"),
    ep(Get, "/v1/sessions/{id}/results", "view", Empty, "200", Json("SessionResults"),
        "Disclosed results"),
    ep(Get, "/v1/sessions/{id}/overlaps", "view", Empty, "200", Json("OverlappingRecords"),
        "The caller's matched rows (overlapping-records policy only)"),
    ep(Post, "/v1/webhooks", "admin", Json("CreateWebhook"), "201", Json("WebhookWithSecret"),
        "Register a signed-webhook endpoint; the secret is shown only in this answer"),
    ep(Get, "/v1/webhooks", "admin", Empty, "200", JsonList("Webhook"),
        "The organization's webhook endpoints (without secrets)"),
    ep(Delete, "/v1/webhooks/{id}", "admin", Empty, "204", Empty,
        "Delete a webhook endpoint and its delivery log"),
    ep(Post, "/v1/webhooks/{id}/rotate-secret", "admin", Json("RotateWebhookSecret"), "200",
        Json("WebhookWithSecret"),
        "New signing secret; the previous one also signs during the grace period"),
    ep(Get, "/v1/webhooks/{id}/deliveries", "admin", Empty, "200", JsonList("WebhookDelivery"),
        "The endpoint's delivery log, newest first"),
];

/// Every schema of the JSON API, with the schemas they reference.
fn schemas() -> Vec<(String, RefOr<Schema>)> {
    fn add<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push((T::name().into_owned(), T::schema()));
        T::schemas(out);
    }
    let mut out = Vec::new();
    let v = &mut out;
    add::<api::Scope>(v);
    add::<api::Org>(v);
    add::<api::Me>(v);
    add::<api::CreateToken>(v);
    add::<api::TokenInfo>(v);
    add::<api::CreatedToken>(v);
    add::<api::Role>(v);
    add::<api::RecordSharing>(v);
    add::<api::SharingPolicy>(v);
    add::<api::CountsMode>(v);
    add::<api::Limits>(v);
    add::<api::PairBudget>(v);
    add::<api::DisclosureInfo>(v);
    add::<api::CreateInvitation>(v);
    add::<api::InvitationStatus>(v);
    add::<api::Invitation>(v);
    add::<api::CreatedInvitation>(v);
    add::<api::InvitationCode>(v);
    add::<api::InvitationPreview>(v);
    add::<api::ProposePolicy>(v);
    add::<api::PartnershipStatus>(v);
    add::<api::PendingPolicy>(v);
    add::<api::Partnership>(v);
    add::<api::SessionState>(v);
    add::<api::CancelReason>(v);
    add::<api::UploadState>(v);
    add::<api::PartyProgress>(v);
    add::<api::Session>(v);
    add::<api::SessionSummary>(v);
    add::<api::ChunkReceipt>(v);
    add::<api::CommitBlinded>(v);
    add::<api::CommitTokens>(v);
    add::<api::ResultSide>(v);
    add::<api::SessionResults>(v);
    add::<api::OverlappingRow>(v);
    add::<api::OverlappingRecords>(v);
    add::<api::AuditEntry>(v);
    add::<api::AgentSchedule>(v);
    add::<api::AgentHeartbeat>(v);
    add::<api::AgentScheduleStatus>(v);
    add::<api::AgentStatus>(v);
    add::<api::PartnershipAgents>(v);
    add::<api::Problem>(v);
    add::<disclosure::Count>(v);
    add::<disclosure::DisclosedCell>(v);
    add::<disclosure::DisclosedPopulation>(v);
    add::<overlap::NameMatching>(v);
    add::<crate::routes::webhooks::CreateWebhook>(v);
    add::<crate::routes::webhooks::Webhook>(v);
    add::<crate::routes::webhooks::WebhookWithSecret>(v);
    add::<crate::routes::webhooks::RotateWebhookSecret>(v);
    add::<crate::routes::webhooks::WebhookDelivery>(v);
    out
}

fn json_content(schema: impl Into<RefOr<Schema>>) -> Content {
    Content::new(Some(schema))
}

fn binary_content() -> Content {
    json_content(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary))),
    )
}

/// `(media type, content)` of a body, or `None` for [`Body::Empty`].
fn body_content(body: Body) -> Option<(&'static str, Content)> {
    match body {
        Body::Empty => None,
        Body::Json(name) => Some((JSON, json_content(Ref::from_schema_name(name)))),
        Body::JsonList(name) => Some((
            JSON,
            json_content(ArrayBuilder::new().items(Ref::from_schema_name(name))),
        )),
        Body::Binary(_) => Some((BINARY, binary_content())),
    }
}

fn success_response(e: &Endpoint) -> Response {
    let mut description = e.summary.to_owned();
    if let Body::Binary(text) = e.response {
        description = format!("{description}. {text}");
    }
    let mut r = ResponseBuilder::new().description(description);
    if let Some((media, content)) = body_content(e.response) {
        r = r.content(media, content);
    }
    if e.path.ends_with("/counterpart/points") {
        r = r.header(
            "X-Record-Count",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(0)),
                )
                .description(Some("Number of 32-byte points in the body."))
                .build(),
        );
    }
    r.build()
}

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, json_content(Ref::from_schema_name("Problem")))
        .build()
}

/// Path parameters, from the `{name}` segments of the path.
fn path_parameters(path: &str) -> impl Iterator<Item = utoipa::openapi::path::Parameter> + '_ {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let (schema, description) = if name == "seq" {
                (
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                        .minimum(Some(0)),
                    "Chunk sequence number, `0..chunks`.",
                )
            } else {
                (ObjectBuilder::new().schema_type(Type::String), "Stable id.")
            };
            parameter(name, ParameterIn::Path, description, schema)
        })
}

/// One parameter; path parameters are required, query parameters optional.
fn parameter(
    name: &str,
    location: ParameterIn,
    description: impl Into<String>,
    schema: impl Into<RefOr<Schema>>,
) -> utoipa::openapi::path::Parameter {
    let required = if matches!(location, ParameterIn::Path) {
        Required::True
    } else {
        Required::False
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(location)
        .required(required)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// Query parameters: only the session read has any (its long poll).
fn query_parameters(e: &Endpoint) -> Vec<utoipa::openapi::path::Parameter> {
    if !(matches!(e.method, Get) && e.path == "/v1/sessions/{id}") {
        return Vec::new();
    }
    vec![
        parameter(
            "while_state",
            ParameterIn::Query,
            "Long poll: hold the answer while the session is in this state.",
            Ref::from_schema_name("SessionState"),
        ),
        parameter(
            "wait",
            ParameterIn::Query,
            format!(
                "Long poll: seconds to hold the answer (default 0, capped at {}). \
                 The answer is the session as it is when it leaves `while_state` or when \
                 the time is up.",
                crate::routes::sessions::MAX_WAIT_SECS
            ),
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0))
                .maximum(Some(crate::routes::sessions::MAX_WAIT_SECS as f64)),
        ),
    ]
}

/// Builds the document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for e in ENDPOINTS {
        let mut op = OperationBuilder::new()
            .summary(Some(e.summary))
            .description(Some(format!(
                "Requires a bearer token with scope `{}` (or higher).",
                e.scope
            )))
            .response(e.status, success_response(e))
            .response(
                "4XX",
                problem_response(
                    "RFC 9457 problem. A 409 about an open session adds a `session_id` member.",
                ),
            )
            .response("5XX", problem_response("RFC 9457 problem"));
        for p in path_parameters(e.path).chain(query_parameters(e)) {
            op = op.parameter(p);
        }
        if let Some((media, content)) = body_content(e.request) {
            let mut body = RequestBodyBuilder::new()
                .content(media, content)
                .required(Some(Required::True));
            if let Body::Binary(text) = e.request {
                body = body.description(Some(text));
            }
            op = op.request_body(Some(body.build()));
        }
        paths = paths.path(e.path, PathItem::new(e.method.clone(), op.build()));
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas())
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token secret from `POST /v1/tokens` (or the bootstrap token).",
                    ))
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("cleanroom broker API")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .security(Some([SecurityRequirement::new(
            BEARER,
            Vec::<String>::new(),
        )]))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cleanroom_core::api::*;
    use cleanroom_core::disclosure::{Count, DisclosedCell, DisclosedPopulation};
    use cleanroom_core::overlap::NameMatching;
    use cleanroom_core::wire;
    use serde::Serialize;
    use serde_json::{Value, json};
    use std::collections::BTreeSet;

    fn doc() -> Value {
        serde_json::to_value(document()).expect("document serializes")
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "$ref" {
                        out.push(v.as_str().expect("$ref is a string").to_owned());
                    } else {
                        collect_refs(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }

    fn resolve<'a>(doc: &'a Value, r: &str) -> &'a Value {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        doc["components"]["schemas"]
            .get(name)
            .unwrap_or_else(|| panic!("$ref {r} does not resolve"))
    }

    /// A small JSON Schema checker for what utoipa emits: `$ref`, `oneOf`,
    /// `enum`, `type` (string or list), `properties`/`required` (no unknown
    /// members), `items`.
    fn check(v: &Value, s: &Value, doc: &Value, at: &str) -> Result<(), String> {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            return check(v, resolve(doc, r), doc, at);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = s.get(key).and_then(Value::as_array) {
                let errs: Vec<String> = alts
                    .iter()
                    .filter_map(|alt| check(v, alt, doc, at).err())
                    .collect();
                if errs.len() == alts.len() {
                    return Err(format!("{at}: no {key} alternative matches: {errs:?}"));
                }
            }
        }
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            if !values.contains(v) {
                return Err(format!("{at}: {v} not in enum {values:?}"));
            }
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => return Err(format!("{at}: bad type {t}")),
            };
            let ok = types.iter().any(|t| match *t {
                "null" => v.is_null(),
                "boolean" => v.is_boolean(),
                "integer" => v.is_u64() || v.is_i64(),
                "number" => v.is_number(),
                "string" => v.is_string(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                _ => false,
            });
            if !ok {
                return Err(format!("{at}: {v} is not of type {t}"));
            }
        }
        if let (Some(obj), Some(props)) = (
            v.as_object(),
            s.get("properties").and_then(Value::as_object),
        ) {
            for (k, val) in obj {
                let ps = props
                    .get(k)
                    .ok_or_else(|| format!("{at}: member `{k}` not in the schema"))?;
                check(val, ps, doc, &format!("{at}.{k}"))?;
            }
            for r in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let r = r.as_str().unwrap_or_default();
                if !obj.contains_key(r) {
                    return Err(format!("{at}: required member `{r}` missing"));
                }
            }
        }
        if let (Some(arr), Some(items)) = (v.as_array(), s.get("items")) {
            for (i, val) in arr.iter().enumerate() {
                check(val, items, doc, &format!("{at}[{i}]"))?;
            }
        }
        Ok(())
    }

    /// Serializes `example` and checks it against the component schema
    /// `name`: valid, and with exactly the schema's properties at the top
    /// level (examples set every optional member).
    fn round_trip<T: Serialize>(doc: &Value, name: &str, example: &T) {
        let v = serde_json::to_value(example).unwrap();
        let schema = resolve(doc, &format!("#/components/schemas/{name}"));
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            let keys: BTreeSet<&String> = v.as_object().expect("an object").keys().collect();
            let props: BTreeSet<&String> = props.keys().collect();
            assert_eq!(
                keys, props,
                "{name}: serde's members vs the schema's properties"
            );
        }
        check(&v, schema, doc, name).unwrap_or_else(|e| panic!("{name}: {e}\n{v:#}"));
    }

    fn org(n: &str) -> Org {
        Org {
            id: format!("org_{n}"),
            name: n.into(),
        }
    }

    fn token_info() -> TokenInfo {
        TokenInfo {
            id: "tok_1".into(),
            label: "crm-sync".into(),
            scope: Scope::Upload,
            created_at: "2026-01-01T00:00:00Z".into(),
            expires_at: Some("2026-02-01T00:00:00Z".into()),
        }
    }

    fn policy() -> SharingPolicy {
        SharingPolicy {
            records: RecordSharing::OverlappingRecords,
            vendor_shares_white_space: true,
            partner_shares_white_space: false,
            name_matching: NameMatching::WhenStrongKeyMissing,
            names_without_country: Default::default(),
            counts: Some(CountsMode::Noisy {
                epsilon: Epsilon(1_000_000),
            }),
            session_expiry_secs: Some(3_600),
        }
    }

    fn progress() -> PartyProgress {
        PartyProgress {
            populations: Some(vec!["customers".into()]),
            records: Some(3),
            blinded: UploadState::Committed,
            blinded_chunks: vec![0, 1],
            tokens: UploadState::Uploading,
            token_chunks: vec![0],
        }
    }

    fn session() -> Session {
        Session {
            id: "ses_1".into(),
            partnership_id: "prt_1".into(),
            state: SessionState::AwaitingTokens,
            protocol_version: "cleanroom-v2".into(),
            created_by: Role::Vendor,
            created_at: "2026-01-01T00:00:00Z".into(),
            finished_at: Some("2026-01-01T01:00:00Z".into()),
            expires_at: Some("2026-01-02T00:00:00Z".into()),
            cancel_reason: None,
            vendor: progress(),
            partner: progress(),
            my_role: Role::Partner,
        }
    }

    #[test]
    fn document_serializes() {
        let text = serde_json::to_string_pretty(&document()).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["openapi"], "3.1.0");
        assert_eq!(
            v["components"]["securitySchemes"][BEARER]["scheme"],
            "bearer"
        );
        assert_eq!(v["security"], json!([{ BEARER: [] }]));
    }

    #[test]
    fn every_ref_resolves() {
        let d = doc();
        let mut refs = Vec::new();
        collect_refs(&d, &mut refs);
        assert!(refs.len() > 30, "{refs:?}");
        for r in &refs {
            resolve(&d, r);
        }
        for name in [
            "Count",
            "DisclosedCell",
            "DisclosedPopulation",
            "NameMatching",
            "Problem",
        ] {
            resolve(&d, &format!("#/components/schemas/{name}"));
        }
    }

    #[test]
    fn every_public_api_type_is_registered() {
        let d = doc();
        let source = include_str!("../../cleanroom-core/src/api.rs");
        let names: Vec<&str> = source
            .lines()
            .filter_map(|l| {
                l.strip_prefix("pub struct ")
                    .or_else(|| l.strip_prefix("pub enum "))
            })
            .filter_map(|rest| rest.split([' ', '{', '(']).next())
            .collect();
        assert!(names.len() >= 28, "{names:?}");
        for name in names {
            resolve(&d, &format!("#/components/schemas/{name}"));
        }
    }

    #[test]
    fn every_json_body_has_a_schema() {
        let d = doc();
        let paths = d["paths"].as_object().unwrap();
        let mut operations = 0;
        for e in ENDPOINTS {
            let method = serde_json::to_value(&e.method).unwrap();
            let op = &paths[e.path][method.as_str().unwrap()];
            assert!(op.is_object(), "{} {} missing", method, e.path);
            operations += 1;
            let ok = &op["responses"][e.status];
            for (body, doc_body) in [(e.request, &op["requestBody"]), (e.response, ok)] {
                match body {
                    Body::Empty => assert!(doc_body.get("content").is_none(), "{}", e.path),
                    Body::Json(_) | Body::JsonList(_) => {
                        let s = &doc_body["content"][JSON]["schema"];
                        let r = s
                            .get("$ref")
                            .or_else(|| s["items"].get("$ref"))
                            .unwrap_or_else(|| panic!("{} {}: no schema ref", method, e.path));
                        resolve(&d, r.as_str().unwrap());
                    }
                    Body::Binary(_) => {
                        let s = &doc_body["content"][BINARY]["schema"];
                        assert_eq!(s["format"], "binary", "{}", e.path);
                        assert!(doc_body["description"].as_str().unwrap().contains("-byte"));
                    }
                }
            }
            for status in ["4XX", "5XX"] {
                let s = &op["responses"][status]["content"][PROBLEM_JSON]["schema"];
                assert_eq!(s["$ref"], "#/components/schemas/Problem", "{}", e.path);
            }
            for seg in e.path.split('/').filter(|s| s.starts_with('{')) {
                let name = &seg[1..seg.len() - 1];
                let params = op["parameters"].as_array().unwrap();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path")
                );
            }
        }
        assert_eq!(operations, ENDPOINTS.len());
        let points = &paths["/v1/sessions/{id}/counterpart/points"]["get"]["responses"]["200"];
        assert_eq!(
            points["headers"]["X-Record-Count"]["schema"]["type"],
            "integer"
        );
        // The binary descriptions name the wire sizes.
        assert_eq!(wire::BLINDED_RECORD_LEN, 48);
        assert_eq!(wire::POINT_RECORD_LEN, 32);
        assert_eq!(wire::TOKEN_RECORD_LEN, 16);
    }

    #[test]
    fn schemas_match_serde() {
        let d = doc();
        round_trip(
            &d,
            "Me",
            &Me {
                org: org("acme"),
                token: token_info(),
            },
        );
        round_trip(
            &d,
            "CreateToken",
            &CreateToken {
                label: "x".into(),
                scope: Scope::Admin,
                expires_in_days: Some(30),
            },
        );
        round_trip(
            &d,
            "CreatedToken",
            &CreatedToken {
                info: token_info(),
                token: "secret".into(),
            },
        );
        round_trip(
            &d,
            "CreateInvitation",
            &CreateInvitation {
                my_role: Role::Vendor,
                policy: policy(),
                expires_in_days: Some(3),
            },
        );
        let invitation = Invitation {
            id: "inv_1".into(),
            my_role: Role::Partner,
            policy: policy(),
            status: InvitationStatus::Accepted,
            created_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-01-08T00:00:00Z".into(),
            partnership_id: Some("prt_1".into()),
        };
        round_trip(&d, "Invitation", &invitation);
        round_trip(
            &d,
            "CreatedInvitation",
            &CreatedInvitation {
                invitation,
                code: "cri_x".into(),
            },
        );
        round_trip(
            &d,
            "InvitationCode",
            &InvitationCode {
                code: "cri_x".into(),
            },
        );
        round_trip(
            &d,
            "InvitationPreview",
            &InvitationPreview {
                inviter: org("acme"),
                inviter_role: Role::Vendor,
                your_role: Role::Partner,
                policy: policy(),
                expires_at: "2026-01-08T00:00:00Z".into(),
            },
        );
        round_trip(
            &d,
            "Partnership",
            &Partnership {
                id: "prt_1".into(),
                vendor: org("acme"),
                partner: org("globex"),
                my_role: Role::Vendor,
                status: PartnershipStatus::Active,
                policy: policy(),
                pending_policy: Some(PendingPolicy {
                    policy: SharingPolicy::default(),
                    proposed_by: Role::Partner,
                }),
                created_at: "2026-01-01T00:00:00Z".into(),
                last_session: Some(SessionSummary {
                    id: "ses_1".into(),
                    state: SessionState::Completed,
                    created_at: "2026-01-01T00:00:00Z".into(),
                }),
                budget: Some(PairBudget {
                    sessions_used: 2,
                    sessions_per_day: 10,
                    epsilon_spent: Epsilon(1_500_000),
                    epsilon_budget: Epsilon(10_000_000),
                    epsilon_window_days: 30,
                    next_refresh_at: Some("2026-01-31T00:00:00Z".into()),
                }),
            },
        );
        round_trip(
            &d,
            "Limits",
            &Limits {
                protocol_version: "cleanroom-v2+psl-x".into(),
                min_population_size: 50,
                min_cell_size: 5,
                max_populations_per_row: 1,
                max_keys_per_row: 3,
                sessions_per_day: 10,
                epsilon_min: Epsilon(50_000),
                epsilon_max: Epsilon(2_000_000),
                epsilon_default: Epsilon(1_000_000),
                epsilon_budget: Epsilon(10_000_000),
                epsilon_window_days: 30,
                max_records_per_side: 10_000_000,
                session_expiry_secs: Some(86_400),
            },
        );
        round_trip(&d, "Session", &session());
        round_trip(&d, "ChunkReceipt", &ChunkReceipt { seq: 0, records: 7 });
        round_trip(
            &d,
            "CommitBlinded",
            &CommitBlinded {
                protocol_version: "cleanroom-v2".into(),
                populations: vec!["a".into(), "b".into()],
                chunks: 2,
                records: 10,
            },
        );
        round_trip(
            &d,
            "CommitTokens",
            &CommitTokens {
                chunks: 1,
                records: 10,
            },
        );
        let side = |n: &str| ResultSide {
            org: org(n),
            populations: vec!["customers".into()],
            figures: vec![
                DisclosedPopulation {
                    total: Some(Count::Exact(100)),
                    matched: Some(Count::Exact(40)),
                    white_space: Some(Count::Range { low: 55, high: 64 }),
                },
                DisclosedPopulation {
                    total: Some(Count::Approx {
                        value: 100,
                        low: 67,
                        high: 133,
                    }),
                    matched: None,
                    white_space: None,
                },
            ],
        };
        round_trip(
            &d,
            "SessionResults",
            &SessionResults {
                session_id: "ses_1".into(),
                partnership_id: "prt_1".into(),
                computed_at: "2026-01-01T00:00:00Z".into(),
                my_role: Role::Vendor,
                min_cell_size: 10,
                policy: policy(),
                disclosure: DisclosureInfo {
                    counts: CountsMode::Noisy {
                        epsilon: Epsilon(1_000_000),
                    },
                    sensitivity: Some(11),
                    interval_half_width: Some(33),
                    max_populations_per_row: 1,
                    max_keys_per_row: 3,
                },
                vendor: side("acme"),
                partner: side("globex"),
                cells: vec![vec![DisclosedCell {
                    vendor_accounts: Count::Exact(40),
                    partner_accounts: Count::Range { low: 0, high: 9 },
                }]],
            },
        );
        round_trip(
            &d,
            "OverlappingRecords",
            &OverlappingRecords {
                session_id: "ses_1".into(),
                counterpart_populations: vec!["customers".into()],
                rows: vec![OverlappingRow {
                    row_id: 3,
                    counterpart_populations: vec![0],
                }],
            },
        );
        round_trip(
            &d,
            "AuditEntry",
            &AuditEntry {
                at: "2026-01-01T00:00:00Z".into(),
                org: "acme".into(),
                token_id: "tok_1".into(),
                action: "session.created".into(),
                session_id: Some("ses_1".into()),
                detail: json!({"records": 3, "nested": [1, "x", null]}),
            },
        );
        round_trip(
            &d,
            "Problem",
            &Problem {
                type_: "urn:cleanroom:problem:not-found".into(),
                title: "Not Found".into(),
                status: 404,
                detail: Some("no such session".into()),
                code: "not-found".into(),
            },
        );
        // Optional members that serde leaves out or sets to null still validate.
        let problem = resolve(&d, "#/components/schemas/Problem");
        let minimal = json!({"type": "urn:x", "title": "t", "status": 500, "code": "internal"});
        check(&minimal, problem, &d, "Problem").unwrap();
        let mut partial = session();
        partial.finished_at = None;
        partial.expires_at = None;
        partial.vendor.populations = None;
        partial.vendor.records = None;
        let v = serde_json::to_value(&partial).unwrap();
        check(
            &v,
            resolve(&d, "#/components/schemas/Session"),
            &d,
            "Session",
        )
        .unwrap();
        let mut expired = session();
        expired.state = SessionState::Cancelled;
        expired.cancel_reason = Some(api::CancelReason::Expired);
        round_trip(&d, "Session", &expired);
    }

    #[test]
    fn agent_schemas_match_serde() {
        let d = doc();
        let heartbeat = api::AgentHeartbeat {
            agent_version: "0.1.0".into(),
            protocol: "2".into(),
            schedules: vec![api::AgentSchedule {
                partnership_id: "p1".into(),
                refresh: "daily 06:00".into(),
                next_run_at: Some(1_800_000_000),
            }],
        };
        round_trip(&d, "AgentHeartbeat", &heartbeat);
        let status = api::AgentStatus {
            online: true,
            last_seen: 1_800_000_000,
            agent_version: "0.1.0".into(),
            protocol: "2".into(),
            schedule: Some(api::AgentScheduleStatus {
                refresh: "daily 06:00".into(),
                next_run_at: None,
            }),
        };
        round_trip(
            &d,
            "PartnershipAgents",
            &api::PartnershipAgents {
                own: Some(status.clone()),
                partner: Some(api::AgentStatus {
                    schedule: None,
                    ..status
                }),
            },
        );
        round_trip(
            &d,
            "PartnershipAgents",
            &api::PartnershipAgents {
                own: None,
                partner: None,
            },
        );
    }

    #[test]
    fn count_is_externally_tagged() {
        let d = doc();
        let count = resolve(&d, "#/components/schemas/Count");
        for c in [Count::Exact(5), Count::Range { low: 0, high: 9 }] {
            let v = serde_json::to_value(c).unwrap();
            check(&v, count, &d, "Count").unwrap_or_else(|e| panic!("{e}\n{v}"));
        }
        assert_eq!(
            serde_json::to_value(Count::Exact(5)).unwrap(),
            json!({"exact": 5})
        );
        // The checker is not vacuous.
        for bad in [
            json!({"type": "exact", "value": 5}),
            json!({"range": {"low": 0}}),
            json!(5),
        ] {
            assert!(check(&bad, count, &d, "Count").is_err(), "{bad}");
        }
        let mut v = serde_json::to_value(session()).unwrap();
        v["extra"] = json!(1);
        assert!(
            check(
                &v,
                resolve(&d, "#/components/schemas/Session"),
                &d,
                "Session"
            )
            .is_err()
        );
        v = serde_json::to_value(session()).unwrap();
        v["state"] = json!("AwaitingTokens");
        assert!(
            check(
                &v,
                resolve(&d, "#/components/schemas/Session"),
                &d,
                "Session"
            )
            .is_err()
        );
    }
}

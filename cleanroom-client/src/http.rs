//! A typed client for every endpoint of the `/v1` API (see
//! [`cleanroom_core::api`] for the table of endpoints and bodies).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cleanroom_core::api::{
    AgentHeartbeat, AuditEntry, ChunkReceipt, CommitBlinded, CommitTokens, CreateInvitation,
    CreateToken, CreatedInvitation, CreatedToken, Invitation, InvitationCode, InvitationPreview,
    Limits, Me, OverlappingRecords, Partnership, PartnershipAgents, Problem, ProposePolicy,
    Session, SessionResults, SessionState, TokenInfo,
};
use futures_util::Stream;
use futures_util::StreamExt;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Connection settings of a [`Client`].
#[derive(Clone)]
pub struct ClientConfig {
    /// The server's base URL, e.g. `https://cleanroom.example.com`.
    pub base_url: String,
    /// The bearer token.
    pub token: String,
    /// Extra trusted CA certificates (PEM), for a server with a private CA.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Timeout of one request (chunk uploads included). Downloads are streamed
    /// and only bounded by the read timeout.
    pub request_timeout: Duration,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Settings with the default timeouts and no extra CA.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            token: token.into(),
            extra_ca_pem: None,
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// A typed HTTP client of the broker. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    traffic: Arc<TrafficCounters>,
}

#[derive(Default)]
struct TrafficCounters {
    requests: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    /// Unix seconds until which the last `Retry-After` asked to wait.
    retry_after_until: AtomicU64,
}

/// HTTP body bytes this client (and its clones) exchanged with the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Requests sent.
    pub requests: u64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// A streamed binary download.
pub type ByteStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

impl Client {
    /// Builds a client. Its TLS settings come from [`crate::tls::client_config`],
    /// so no global rustls provider is needed.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let base = config.base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Config(format!(
                "server URL must start with http:// or https://, got {base:?}"
            )));
        }
        if config.token.trim().is_empty() {
            return Err(Error::Config("the API token is empty".into()));
        }
        let tls = crate::tls::client_config(config.extra_ca_pem.as_deref())?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(20))
            .read_timeout(config.request_timeout)
            .user_agent(concat!("cleanroom-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Tls(e.to_string()))?;
        Ok(Client {
            http,
            base,
            token: config.token,
            traffic: Arc::default(),
        })
    }

    /// Body bytes sent and received so far, over this client and its clones.
    pub fn traffic(&self) -> Traffic {
        Traffic {
            requests: self.traffic.requests.load(Ordering::Relaxed),
            bytes_sent: self.traffic.sent.load(Ordering::Relaxed),
            bytes_received: self.traffic.received.load(Ordering::Relaxed),
        }
    }

    /// How much longer the server's latest `Retry-After` (sent with a 429
    /// or 503 to this client or its clones) asks to wait, if at all.
    pub fn retry_after(&self) -> Option<Duration> {
        let until = self.traffic.retry_after_until.load(Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        (until > now).then(|| Duration::from_secs(until - now))
    }

    fn count_received(&self, n: usize) {
        self.traffic.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn send(&self, rb: RequestBuilder) -> Result<Response> {
        let req = rb.build().map_err(Error::Transport)?;
        let body = req.body().and_then(|b| b.as_bytes()).map_or(0, <[u8]>::len);
        self.traffic.requests.fetch_add(1, Ordering::Relaxed);
        self.traffic.sent.fetch_add(body as u64, Ordering::Relaxed);
        let resp = self.http.execute(req).await.map_err(Error::Transport)?;
        check(resp, self).await
    }

    async fn json<T: DeserializeOwned>(&self, rb: RequestBuilder) -> Result<T> {
        let resp = self.send(rb).await?;
        let bytes = resp.bytes().await.map_err(Error::Transport)?;
        self.count_received(bytes.len());
        serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(format!("bad JSON body: {e}")))
    }

    // --- identity and tokens -------------------------------------------

    /// `GET /v1/me`.
    pub async fn me(&self) -> Result<Me> {
        self.json(self.req(Method::GET, "/v1/me")).await
    }

    /// `GET /v1/limits`: the server's population, key and budget limits,
    /// which an upload has to fit before a session is worth starting.
    pub async fn limits(&self) -> Result<Limits> {
        self.json(self.req(Method::GET, "/v1/limits")).await
    }

    /// `POST /v1/tokens` (admin).
    pub async fn create_token(&self, body: &CreateToken) -> Result<CreatedToken> {
        self.json(self.req(Method::POST, "/v1/tokens").json(body))
            .await
    }

    /// `GET /v1/tokens` (admin).
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.json(self.req(Method::GET, "/v1/tokens")).await
    }

    /// `DELETE /v1/tokens/{id}` (admin).
    pub async fn delete_token(&self, id: &str) -> Result<()> {
        self.send(self.req(Method::DELETE, &format!("/v1/tokens/{}", seg(id))))
            .await
            .map(drop)
    }

    // --- partnerships ----------------------------------------------------

    /// `POST /v1/invitations`: a new invitation and its single-use code
    /// (shown only in this answer).
    pub async fn create_invitation(&self, body: &CreateInvitation) -> Result<CreatedInvitation> {
        self.json(self.req(Method::POST, "/v1/invitations").json(body))
            .await
    }

    /// `GET /v1/invitations`: the organization's invitations, newest first.
    pub async fn list_invitations(&self) -> Result<Vec<Invitation>> {
        self.json(self.req(Method::GET, "/v1/invitations")).await
    }

    /// `POST /v1/invitations/{id}/cancel`.
    pub async fn cancel_invitation(&self, id: &str) -> Result<Invitation> {
        self.json(self.req(Method::POST, &format!("/v1/invitations/{}/cancel", seg(id))))
            .await
    }

    /// `POST /v1/invitations/preview`: what a code invites to; changes nothing.
    pub async fn preview_invitation(&self, code: &str) -> Result<InvitationPreview> {
        let body = InvitationCode {
            code: code.to_owned(),
        };
        self.json(
            self.req(Method::POST, "/v1/invitations/preview")
                .json(&body),
        )
        .await
    }

    /// `POST /v1/invitations/accept`: accept a code and its policy.
    pub async fn accept_invitation(&self, code: &str) -> Result<Partnership> {
        let body = InvitationCode {
            code: code.to_owned(),
        };
        self.json(self.req(Method::POST, "/v1/invitations/accept").json(&body))
            .await
    }

    /// `GET /v1/partnerships`.
    pub async fn list_partnerships(&self) -> Result<Vec<Partnership>> {
        self.json(self.req(Method::GET, "/v1/partnerships")).await
    }

    /// `GET /v1/partnerships/{id}`.
    pub async fn partnership(&self, id: &str) -> Result<Partnership> {
        self.json(self.req(Method::GET, &format!("/v1/partnerships/{}", seg(id))))
            .await
    }

    /// `POST /v1/partnerships/{id}/accept`: a partnership invited by name,
    /// before invitation codes.
    pub async fn accept_partnership(&self, id: &str) -> Result<Partnership> {
        self.json(self.req(
            Method::POST,
            &format!("/v1/partnerships/{}/accept", seg(id)),
        ))
        .await
    }

    /// `PUT /v1/partnerships/{id}/policy`: propose or agree to a policy.
    pub async fn propose_policy(&self, id: &str, body: &ProposePolicy) -> Result<Partnership> {
        self.json(
            self.req(Method::PUT, &format!("/v1/partnerships/{}/policy", seg(id)))
                .json(body),
        )
        .await
    }

    /// `POST /v1/partnerships/{id}/revoke`.
    pub async fn revoke_partnership(&self, id: &str) -> Result<Partnership> {
        self.json(self.req(
            Method::POST,
            &format!("/v1/partnerships/{}/revoke", seg(id)),
        ))
        .await
    }

    /// `GET /v1/partnerships/{id}/audit`.
    pub async fn audit(&self, id: &str) -> Result<Vec<AuditEntry>> {
        self.json(self.req(Method::GET, &format!("/v1/partnerships/{}/audit", seg(id))))
            .await
    }

    // --- agents ----------------------------------------------------------

    /// `POST /v1/agents/heartbeat` (upload): the organization's agent is
    /// alive, with its versions and refresh schedules. The server counts it
    /// offline once no heartbeat came for its threshold (5 minutes by
    /// default), so an agent sends one every minute or so.
    pub async fn heartbeat(&self, body: &AgentHeartbeat) -> Result<()> {
        self.send(self.req(Method::POST, "/v1/agents/heartbeat").json(body))
            .await
            .map(drop)
    }

    /// `GET /v1/partnerships/{id}/agents`: both sides' agents as their last
    /// heartbeats describe them (`None` for a side without one).
    pub async fn agents(&self, partnership_id: &str) -> Result<PartnershipAgents> {
        self.json(self.req(
            Method::GET,
            &format!("/v1/partnerships/{}/agents", seg(partnership_id)),
        ))
        .await
    }

    // --- sessions --------------------------------------------------------

    /// `POST /v1/partnerships/{id}/sessions`. A 409 means one is already open.
    pub async fn create_session(&self, partnership_id: &str) -> Result<Session> {
        self.json(self.req(
            Method::POST,
            &format!("/v1/partnerships/{}/sessions", seg(partnership_id)),
        ))
        .await
    }

    /// `GET /v1/partnerships/{id}/sessions`, newest first.
    pub async fn list_sessions(&self, partnership_id: &str) -> Result<Vec<Session>> {
        self.json(self.req(
            Method::GET,
            &format!("/v1/partnerships/{}/sessions", seg(partnership_id)),
        ))
        .await
    }

    /// `GET /v1/sessions/{id}`.
    pub async fn session(&self, id: &str) -> Result<Session> {
        self.json(self.req(Method::GET, &format!("/v1/sessions/{}", seg(id))))
            .await
    }

    /// `GET /v1/sessions/{id}?while_state=…&wait=…`: a long poll that answers
    /// as soon as the session leaves `while_state`, or after `wait` (the server
    /// caps it at 20 s). A server without long polls answers at once.
    pub async fn session_wait(
        &self,
        id: &str,
        while_state: SessionState,
        wait: Duration,
    ) -> Result<Session> {
        let path = format!(
            "/v1/sessions/{}?while_state={}&wait={}",
            seg(id),
            while_state.as_str(),
            wait.as_secs()
        );
        self.json(self.req(Method::GET, &path)).await
    }

    /// `POST /v1/sessions/{id}/cancel`.
    pub async fn cancel_session(&self, id: &str) -> Result<Session> {
        self.json(self.req(Method::POST, &format!("/v1/sessions/{}/cancel", seg(id))))
            .await
    }

    /// `PUT /v1/sessions/{id}/blinded/{seq}`: a chunk of 48-byte records.
    pub async fn put_blinded_chunk(
        &self,
        id: &str,
        seq: u32,
        body: impl Into<Bytes>,
    ) -> Result<ChunkReceipt> {
        self.put_chunk(id, "blinded", seq, body.into()).await
    }

    /// `PUT /v1/sessions/{id}/{stream}/{seq}` with a binary body: the one
    /// shape both chunked uploads share.
    async fn put_chunk(
        &self,
        id: &str,
        stream: &str,
        seq: u32,
        body: Bytes,
    ) -> Result<ChunkReceipt> {
        self.json(
            self.req(
                Method::PUT,
                &format!("/v1/sessions/{}/{stream}/{seq}", seg(id)),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body),
        )
        .await
    }

    /// `POST /v1/sessions/{id}/blinded/commit`.
    pub async fn commit_blinded(&self, id: &str, body: &CommitBlinded) -> Result<Session> {
        self.json(
            self.req(
                Method::POST,
                &format!("/v1/sessions/{}/blinded/commit", seg(id)),
            )
            .json(body),
        )
        .await
    }

    /// `GET /v1/sessions/{id}/counterpart/points`, as a stream of byte chunks
    /// (their boundaries do not follow the 32-byte records).
    pub async fn counterpart_points(&self, id: &str) -> Result<ByteStream> {
        let resp = self
            .send(self.req(
                Method::GET,
                &format!("/v1/sessions/{}/counterpart/points", seg(id)),
            ))
            .await?;
        let counter = Arc::clone(&self.traffic);
        Ok(Box::pin(resp.bytes_stream().map(move |r| {
            let b = r.map_err(Error::Transport)?;
            counter
                .received
                .fetch_add(b.len() as u64, Ordering::Relaxed);
            Ok(b)
        })))
    }

    /// `PUT /v1/sessions/{id}/tokens/{seq}`: a chunk of 16-byte tokens.
    pub async fn put_token_chunk(
        &self,
        id: &str,
        seq: u32,
        body: impl Into<Bytes>,
    ) -> Result<ChunkReceipt> {
        self.put_chunk(id, "tokens", seq, body.into()).await
    }

    /// `POST /v1/sessions/{id}/tokens/commit`.
    pub async fn commit_tokens(&self, id: &str, body: &CommitTokens) -> Result<Session> {
        self.json(
            self.req(
                Method::POST,
                &format!("/v1/sessions/{}/tokens/commit", seg(id)),
            )
            .json(body),
        )
        .await
    }

    /// `GET /v1/sessions/{id}/results`.
    pub async fn results(&self, id: &str) -> Result<SessionResults> {
        self.json(self.req(Method::GET, &format!("/v1/sessions/{}/results", seg(id))))
            .await
    }

    /// `GET /v1/sessions/{id}/overlaps` (overlapping-records policy only).
    pub async fn overlaps(&self, id: &str) -> Result<OverlappingRecords> {
        self.json(self.req(Method::GET, &format!("/v1/sessions/{}/overlaps", seg(id))))
            .await
    }
}

/// Ids are opaque but come from users too: keep them inside one path segment.
fn seg(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `protocol_version` member of a `protocol-version-mismatch` problem:
/// the version the server speaks.
fn server_protocol_version(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Member {
        protocol_version: Option<String>,
    }
    let member: Member = serde_json::from_slice(body).ok()?;
    member.protocol_version
}

/// Turns an error status into an [`Error`], surfacing problem+json title and detail.
async fn check(resp: Response, client: &Client) -> Result<Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let reason = status.canonical_reason().unwrap_or("error").to_owned();
    if let Some(secs) = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
    {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let until = &client.traffic.retry_after_until;
        until.store(now.saturating_add(secs), Ordering::Relaxed);
    }
    let body = resp.bytes().await.unwrap_or_default();
    client.count_received(body.len());
    let problem: Option<Problem> = serde_json::from_slice(&body).ok();
    Err(Error::from_problem(
        status.as_u16(),
        problem,
        &reason,
        server_protocol_version(&body),
    ))
}

/// Whether an error is worth retrying: the network, or a 5xx / 429 from the
/// server. A used-up session or privacy budget is a 429 too, but it refreshes
/// in hours or days: retrying it would only spin.
pub fn is_transient(e: &Error) -> bool {
    match e {
        Error::Transport(_) => true,
        Error::Api { .. } if e.is_budget_exhausted() => false,
        Error::Api { status, .. } => {
            *status == StatusCode::TOO_MANY_REQUESTS.as_u16() || *status >= 500
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_mismatch_problem_names_the_servers_version() {
        let body = br#"{"type": "urn:cleanroom:problem:protocol-version-mismatch",
            "title": "Protocol version mismatch", "status": 422,
            "code": "protocol-version-mismatch", "protocol_version": "cleanroom-v99+psl-0123456789ab",
            "detail": "this server speaks protocol cleanroom-v99+psl-0123456789ab, the upload declares cleanroom-v2"}"#;
        let problem: Option<Problem> = serde_json::from_slice(body).ok();
        let e = Error::from_problem(
            422,
            problem,
            "Unprocessable Entity",
            server_protocol_version(body),
        );
        assert!(
            matches!(&e, Error::VersionMismatch { server: Some(s), .. } if s == "cleanroom-v99+psl-0123456789ab"),
            "{e:?}"
        );
        assert!(e.to_string().contains("upgrade the cleanroom CLI"), "{e}");
    }
}

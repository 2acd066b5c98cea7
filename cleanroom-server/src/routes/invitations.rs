//! `/v1/invitations`: invite a partner with a single-use code.
//!
//! An invitation names no organization. The inviting admin gets a random
//! code, shown once, and passes it on; whoever holds it previews and accepts
//! it. So no answer depends on which organization names exist (issue 13):
//! creating an invitation succeeds the same way whoever it is meant for, and
//! a code that is wrong, expired, cancelled or already used is answered with
//! the one problem `invitation-invalid`, which also counts against the
//! failed-attempt limiter (`auth_limit`) like a bad token.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cleanroom_core::api::{
    CreateInvitation, CreatedInvitation, Invitation, InvitationCode, InvitationPreview,
    Partnership, Scope,
};
use rand::Rng as _;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::problem::ProblemType;
use crate::routes::partnerships::complete_policy;
use crate::routes::{audit, org_view, partnership_view, rfc3339};
use crate::store::{AuditRow, InvitationRow, Store, StoreError};

/// Prefix of every invitation code.
pub const CODE_PREFIX: &str = "cri_";
/// `cri_` + base64url of 32 bytes.
const CODE_LEN: usize = 4 + 43;

/// An invitation code; its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    /// 32 random bytes from the OS CSPRNG, `cri_` + base64url.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // The OS CSPRNG failing is not recoverable; UnwrapErr panics in that case only.
        rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut bytes);
        Code(format!("{CODE_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Parses a presented code (surrounding white space ignored); `None` if
    /// it is not shaped like one.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        (s.len() == CODE_LEN && s.starts_with(CODE_PREFIX) && s.is_ascii())
            .then(|| Code(s.to_owned()))
    }

    /// SHA-256 of the code, the only form stored.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code(<redacted>)")
    }
}

/// The API view of an invitation (never its code).
fn view(inv: &InvitationRow) -> Invitation {
    Invitation {
        id: inv.id.clone(),
        my_role: inv.inviter_role,
        policy: inv.policy,
        status: inv.status(crate::now()),
        created_at: rfc3339(inv.created_at),
        expires_at: rfc3339(inv.expires_at),
        partnership_id: inv.partnership_id.clone(),
    }
}

/// The open invitation a presented code stands for; every other case (not
/// shaped like a code, unknown, expired, cancelled, accepted) is the same
/// `invitation-invalid`.
async fn open_invitation(state: &AppState, presented: &str) -> Result<InvitationRow, ApiError> {
    let code = Code::parse(presented).ok_or(ApiError::InvitationInvalid)?;
    state
        .store
        .open_invitation(&code.hash(), crate::now())
        .await?
        .ok_or(ApiError::InvitationInvalid)
}

/// `POST /v1/invitations`: a new invitation and its code, shown only here.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateInvitation>,
) -> Result<(StatusCode, Json<CreatedInvitation>), ApiError> {
    caller.require(Scope::Admin)?;
    let policy = complete_policy(&state, req.policy)?;
    let max = state.config.invitation_expiry_days;
    let days = req.expires_in_days.unwrap_or(max);
    if !(1..=max).contains(&days) {
        return Err(ApiError::invalid(
            ProblemType::InvalidExpiry,
            format!("expires_in_days must be between 1 and {max} on this server"),
        ));
    }
    let code = Code::generate();
    let now = crate::now();
    let row = InvitationRow {
        // v7 ids sort by creation time, like partnership ids.
        id: format!("inv_{}", uuid::Uuid::now_v7().simple()),
        code_hash: code.hash(),
        inviter_org_id: caller.org.id.clone(),
        inviter_role: req.my_role,
        policy,
        created_by_token: caller.token.id.clone(),
        created_at: now,
        expires_at: now + i64::from(days) * 86_400,
        cancelled_at: None,
        accepted_at: None,
        partnership_id: None,
    };
    state.store.create_invitation(&row).await?;
    tracing::info!(invitation = %row.id, "invitation created");
    // To the inviter's own endpoints only: the invitee is not known until
    // it accepts (then both get `partnership.accepted`).
    crate::webhooks::emit(
        &state,
        crate::webhooks::Event::PartnershipInvited,
        &[&caller.org.id],
        serde_json::json!({
            "invitation_id": row.id,
            "role": row.inviter_role,
            "status": "invited",
            "expires_at": crate::routes::rfc3339(row.expires_at),
        }),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitation {
            invitation: view(&row),
            code: code.0,
        }),
    ))
}

/// `GET /v1/invitations`: the caller's organization's invitations, newest first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Invitation>>, ApiError> {
    caller.require(Scope::Admin)?;
    let rows = state.store.list_invitations(&caller.org.id).await?;
    Ok(Json(rows.iter().map(view).collect()))
}

/// `POST /v1/invitations/{id}/cancel`: the code is refused from now on.
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Invitation>, ApiError> {
    caller.require(Scope::Admin)?;
    let row = state
        .store
        .cancel_invitation(&caller.org.id, &id, crate::now())
        .await?;
    Ok(Json(view(&row)))
}

/// `POST /v1/invitations/preview`: who invites, in which roles, to which
/// policy; changes nothing.
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<InvitationCode>,
) -> Result<Json<InvitationPreview>, ApiError> {
    caller.require(Scope::Admin)?;
    let inv = open_invitation(&state, &req.code).await?;
    Ok(Json(InvitationPreview {
        inviter: org_view(&state, &inv.inviter_org_id).await?,
        inviter_role: inv.inviter_role,
        your_role: inv.inviter_role.other(),
        policy: inv.policy,
        expires_at: rfc3339(inv.expires_at),
    }))
}

/// `POST /v1/invitations/accept`: the caller's organization agrees to the
/// proposed policy; the partnership is active at once.
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<InvitationCode>,
) -> Result<(StatusCode, Json<Partnership>), ApiError> {
    caller.require(Scope::Admin)?;
    let code = Code::parse(&req.code).ok_or(ApiError::InvitationInvalid)?;
    let accepted = state
        .store
        .accept_invitation(
            &code.hash(),
            &caller.org.id,
            &uuid::Uuid::now_v7().to_string(),
            crate::now(),
        )
        .await;
    let (inv, p) = match accepted {
        Ok(v) => v,
        Err(StoreError::NotFound) => return Err(ApiError::InvitationInvalid),
        Err(e) => return Err(e.into()),
    };
    // The shared audit log starts as it did with invitations by name: the
    // inviter's invitation (by the token that created it), then the acceptance.
    let inviter = org_view(&state, &inv.inviter_org_id).await?;
    state
        .store
        .append_audit(&AuditRow {
            partnership_id: p.id.clone(),
            at: inv.created_at,
            org_name: inviter.name,
            token_id: inv.created_by_token.clone(),
            action: "partnership.invited".to_owned(),
            session_id: None,
            detail: serde_json::json!({
                "policy": inv.policy,
                "inviter_role": inv.inviter_role,
                "invitation_id": inv.id,
            }),
        })
        .await?;
    audit(
        &state,
        &caller,
        &p.id,
        "partnership.accepted",
        None,
        serde_json::json!({ "policy": p.policy, "invitation_id": inv.id }),
    )
    .await?;
    crate::webhooks::emit_partnership(&state, crate::webhooks::Event::PartnershipAccepted, &p)
        .await;
    let role = inv.inviter_role.other();
    Ok((
        StatusCode::CREATED,
        Json(partnership_view(&state, &p, role).await?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_random_and_redacted() {
        let a = Code::generate();
        let b = Code::generate();
        assert_ne!(a, b);
        assert_eq!(a.0.len(), CODE_LEN);
        assert_eq!(Code::parse(&a.0), Some(a.clone()));
        assert_eq!(Code::parse(&format!(" {}\n", a.0)), Some(a.clone()));
        assert!(Code::parse("cri_short").is_none());
        assert!(Code::parse(&a.0.replace("cri_", "cr_x")).is_none());
        assert_eq!(format!("{a:?}"), "Code(<redacted>)");
        assert_eq!(a.hash().len(), 32);
    }
}

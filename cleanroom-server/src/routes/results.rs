//! `GET /v1/sessions/{id}/results` and `/overlaps`: disclosure under the policy.

use axum::Json;
use axum::extract::{Path, State};
use cleanroom_core::api::{
    OverlappingRecords, OverlappingRow, RecordSharing, ResultSide, Role, Scope, SessionResults,
    SessionState,
};
use cleanroom_core::disclosure::DisclosedPopulation;

use crate::AppState;
use crate::auth::Caller;
use crate::compute::decode_result;
use crate::error::ApiError;
use crate::problem::ProblemType;
use crate::routes::{audit, member_session, org_view, rfc3339};
use crate::store::{SessionRow, Store};

fn require_completed(s: &SessionRow) -> Result<(), ApiError> {
    if s.state == SessionState::Completed {
        Ok(())
    } else {
        Err(ApiError::conflict(
            ProblemType::SessionState,
            format!(
                "results are available once the session is completed (it is {})",
                s.state.as_str()
            ),
        ))
    }
}

/// A side that does not share its white space shows the other side neither
/// its matched counts nor its population totals: with a total, the matrix
/// (whose cells add up to the matched counts when the viewer uploads one
/// population) would give the white space away.
fn hide(figures: &mut [DisclosedPopulation]) {
    figures.iter_mut().for_each(DisclosedPopulation::hide);
}

/// `GET /v1/sessions/{id}/results`.
pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SessionResults>, ApiError> {
    caller.require(Scope::View)?;
    let (s, p, role) = member_session(&state, &caller, &id).await?;
    require_completed(&s)?;
    let (_, release) = decode_result(s.result.as_deref().unwrap_or_default(), &s)?;
    let [vendor_party, partner_party] = state.store.parties(&s.id).await?;
    let mut d = release.disclosed;
    // A side's matched/white-space figures reach the other side only if it shares them.
    match role {
        Role::Partner if !s.policy.vendor_shares_white_space => hide(&mut d.vendor),
        Role::Vendor if !s.policy.partner_shares_white_space => hide(&mut d.partner),
        _ => {}
    }
    let out = SessionResults {
        session_id: s.id.clone(),
        partnership_id: s.partnership_id.clone(),
        computed_at: s.computed_at.map(rfc3339).unwrap_or_default(),
        my_role: role,
        min_cell_size: s.min_cell_size,
        policy: s.policy,
        disclosure: release.info,
        vendor: ResultSide {
            org: org_view(&state, &p.vendor_org_id).await?,
            populations: vendor_party.populations.unwrap_or_default(),
            figures: d.vendor,
        },
        partner: ResultSide {
            org: org_view(&state, &p.partner_org_id).await?,
            populations: partner_party.populations.unwrap_or_default(),
            figures: d.partner,
        },
        cells: d.cells,
    };
    audit(
        &state,
        &caller,
        &s.partnership_id,
        "results.fetched",
        Some(&s.id),
        serde_json::json!({}),
    )
    .await?;
    Ok(Json(out))
}

/// `GET /v1/sessions/{id}/overlaps`: the caller's own matched rows (overlapping-records policy only).
pub async fn overlaps(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OverlappingRecords>, ApiError> {
    caller.require(Scope::View)?;
    let (s, _, role) = member_session(&state, &caller, &id).await?;
    if s.policy.records != RecordSharing::OverlappingRecords {
        return Err(ApiError::Forbidden(
            "this session ran under the counts-only policy; overlapping records are not shared"
                .into(),
        ));
    }
    require_completed(&s)?;
    let (overlap, _) = decode_result(s.result.as_deref().unwrap_or_default(), &s)?;
    let [vendor_party, partner_party] = state.store.parties(&s.id).await?;
    let (mine, counterpart) = match role {
        Role::Vendor => (&overlap.vendor, partner_party),
        Role::Partner => (&overlap.partner, vendor_party),
    };
    let rows: Vec<OverlappingRow> = mine
        .matched_rows
        .iter()
        .map(|&(row_id, mask)| OverlappingRow {
            row_id,
            counterpart_populations: (0..64u32).filter(|b| mask & (1u64 << b) != 0).collect(),
        })
        .collect();
    audit(
        &state,
        &caller,
        &s.partnership_id,
        "overlaps.fetched",
        Some(&s.id),
        serde_json::json!({ "rows": rows.len() }),
    )
    .await?;
    Ok(Json(OverlappingRecords {
        session_id: s.id.clone(),
        counterpart_populations: counterpart.populations.unwrap_or_default(),
        rows,
    }))
}

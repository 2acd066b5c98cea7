//! Bearer tokens: generation, hashing, constant-time verification, and the
//! [`Caller`] extractor every authenticated handler takes.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cleanroom_core::api::Scope;
use rand::Rng as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::store::{OrgRow, Store, StoreResult, TokenRow};
use crate::{AppState, now};

/// Prefix of every token secret.
pub const TOKEN_PREFIX: &str = "cr_";
/// `cr_` + base64url of 32 bytes.
const SECRET_LEN: usize = 3 + 43;

/// A bearer token secret; its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// 32 random bytes from the OS CSPRNG, `cr_` + base64url.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // The OS CSPRNG failing is not recoverable; UnwrapErr panics in that case only.
        rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut bytes);
        TokenSecret(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Parses a presented secret; `None` if it is not shaped like one.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == SECRET_LEN && s.starts_with(TOKEN_PREFIX) && s.is_ascii())
            .then(|| TokenSecret(s.to_owned()))
    }

    /// SHA-256 of the secret, the only form stored.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    /// The secret, to show once to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// Creates and stores a token for an organization; returns its row and secret.
pub async fn issue_token<S: Store>(
    store: &S,
    org_id: &str,
    label: &str,
    scope: Scope,
    expires_at: Option<i64>,
) -> StoreResult<(TokenRow, TokenSecret)> {
    let secret = TokenSecret::generate();
    let row = TokenRow {
        // Random, not a piece of the secret: ids are shown to the partner
        // organization in the shared audit log.
        id: format!("tok_{}", uuid::Uuid::new_v4().simple()),
        org_id: org_id.to_owned(),
        label: label.to_owned(),
        scope,
        secret_hash: secret.hash(),
        created_at: now(),
        expires_at,
        revoked_at: None,
    };
    store.insert_token(&row).await?;
    Ok((row, secret))
}

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The caller's organization.
    pub org: OrgRow,
    /// The token used.
    pub token: TokenRow,
}

impl Caller {
    /// 403 unless the token's scope allows `needed`.
    pub fn require(&self, needed: Scope) -> Result<(), ApiError> {
        if self.token.scope.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this call needs a token with the {} scope",
                crate::store::text::scope(needed)
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            // No bearer token: the dashboard's sign-in cookie, view scope only.
            return crate::dashboard::caller_from_cookie(state, &parts.headers).await;
        };
        let value = value.to_str().map_err(|_| ApiError::Unauthorized)?;
        let presented = value
            .strip_prefix("Bearer ")
            .ok_or(ApiError::Unauthorized)?;
        authenticate_secret(state, presented).await
    }
}

/// The caller a presented bearer secret stands for: known, matching in
/// constant time, not revoked, not expired. The dashboard's sign-in form
/// checks tokens with it too.
pub async fn authenticate_secret(state: &AppState, presented: &str) -> Result<Caller, ApiError> {
    let presented = TokenSecret::parse(presented).ok_or(ApiError::Unauthorized)?;
    // Found by the hash of the secret: the index lookup compares hashes, so
    // timing reveals nothing usable about the secret itself.
    let row = state
        .store
        .token_by_hash(&presented.hash())
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let matches: bool = row.secret_hash.ct_eq(&presented.hash()).into();
    if !matches || row.revoked_at.is_some() {
        return Err(ApiError::Unauthorized);
    }
    if row.expires_at.is_some_and(|e| e <= now()) {
        return Err(ApiError::TokenExpired);
    }
    let org = state
        .store
        .org_by_id(&row.org_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Caller { org, token: row })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_redacted() {
        let a = TokenSecret::generate();
        let b = TokenSecret::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), SECRET_LEN);
        assert_eq!(TokenSecret::parse(a.expose()), Some(a.clone()));
        assert!(TokenSecret::parse("cr_short").is_none());
        assert_eq!(format!("{a:?}"), "TokenSecret(<redacted>)");
        assert_eq!(a.hash().len(), 32);
    }
}

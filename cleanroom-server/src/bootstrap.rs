//! Bootstrap helpers for the `admin` subcommands and for tests: create an
//! organization with its first admin token, or another token.

use cleanroom_core::api::Scope;

use crate::auth::{TokenSecret, issue_token};
use crate::error::ServerError;
use crate::store::{AnyStore, OrgRow, Store, StoreError};

/// Creates an organization and an admin token in an open store; returns `(org id, token)`.
pub async fn create_org_in<S: Store>(
    store: &S,
    name: &str,
) -> Result<(String, TokenSecret), ServerError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServerError::Config(
            "an organization name is 1 to 100 characters".into(),
        ));
    }
    let org = OrgRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        created_at: crate::now(),
    };
    store.create_org(&org).await?;
    let (_, secret) = issue_token(store, &org.id, "bootstrap", Scope::Admin, None).await?;
    Ok((org.id, secret))
}

/// Creates a token for the organization named `org_name` in an open store.
/// `expires_at` is unix seconds (a past value makes an already-expired token, for tests).
pub async fn create_token_in<S: Store>(
    store: &S,
    org_name: &str,
    scope: Scope,
    label: &str,
    expires_at: Option<i64>,
) -> Result<TokenSecret, ServerError> {
    let org = store
        .org_by_name(org_name)
        .await?
        .ok_or(ServerError::Store(StoreError::NotFound))?;
    let (_, secret) = issue_token(store, &org.id, label, scope, expires_at).await?;
    Ok(secret)
}

/// Opens (and migrates) the database, creates an organization with an admin
/// token, and returns `(org id, admin token secret)`.
pub async fn create_org(database_url: &str, name: &str) -> Result<(String, String), ServerError> {
    let store = AnyStore::connect(database_url).await?;
    let out = create_org_in(&store, name).await;
    store.close().await;
    let (id, secret) = out?;
    Ok((id, secret.expose().to_owned()))
}

/// Opens the database and creates a token for an existing organization; returns the secret.
pub async fn create_token(
    database_url: &str,
    org_name: &str,
    scope: Scope,
    label: &str,
    expires_at: Option<i64>,
) -> Result<String, ServerError> {
    let store = AnyStore::connect(database_url).await?;
    let out = create_token_in(&store, org_name, scope, label, expires_at).await;
    store.close().await;
    Ok(out?.expose().to_owned())
}

//! The portable SQL both backends run, expanded once per backend by
//! [`impl_sql_store!`] so each backend gets its own concrete `Store` impl
//! (no `Any` driver, no runtime dispatch inside a backend).
//!
//! Portability rules: `$n` placeholders, BIGINT for integers and booleans
//! (0/1) and unix-second timestamps, TEXT for enums and JSON, BLOB/BYTEA for
//! chunk data, no aggregate whose type differs between backends (`SUM`).
//! State-changing transactions start with a no-op `UPDATE` of the row they
//! guard: a row lock on PostgreSQL, the write lock on SQLite.

/// SQL of the chunk tables, by kind.
pub(crate) mod chunk_sql {
    use crate::store::ChunkKind;

    pub fn upsert(kind: ChunkKind) -> &'static str {
        match kind {
            ChunkKind::Blinded => {
                "INSERT INTO blinded_chunks (session_id, role, seq, records, data) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (session_id, role, seq) DO UPDATE SET records = excluded.records, data = excluded.data"
            }
            ChunkKind::Tokens => {
                "INSERT INTO token_chunks (session_id, role, seq, records, data) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (session_id, role, seq) DO UPDATE SET records = excluded.records, data = excluded.data"
            }
        }
    }

    pub fn list(kind: ChunkKind) -> &'static str {
        match kind {
            ChunkKind::Blinded => {
                "SELECT seq, records FROM blinded_chunks WHERE session_id = $1 AND role = $2 ORDER BY seq"
            }
            ChunkKind::Tokens => {
                "SELECT seq, records FROM token_chunks WHERE session_id = $1 AND role = $2 ORDER BY seq"
            }
        }
    }

    pub fn data(kind: ChunkKind) -> &'static str {
        match kind {
            ChunkKind::Blinded => {
                "SELECT data FROM blinded_chunks WHERE session_id = $1 AND role = $2 AND seq = $3"
            }
            ChunkKind::Tokens => {
                "SELECT data FROM token_chunks WHERE session_id = $1 AND role = $2 AND seq = $3"
            }
        }
    }
}

/// Expands the `Store` impl for one backend.
///
/// `$store` has a `pool: sqlx::Pool<$db>` field; `$row` is the backend's row type.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $row:ty, $skip_locked:literal) => {
        use cleanroom_core::api::{PendingPolicy, Role, SessionState};
        use sqlx::Row as _;

        use crate::problem::ProblemType;
        use crate::store::sql::chunk_sql;
        use crate::store::text;
        use crate::store::{
            AuditRow, ChunkCheck, ChunkInfo, ComputeLease, ChunkKind, ChunkQuota, InvitationRow, NewSession, OrgRow, PairUsage,
            PartnershipRow, PartyRow, SessionRow, SignInRow, Store, StoreError, StoreResult, TokenRow,
        };

        fn json<T: serde::de::DeserializeOwned>(s: &str, col: &'static str) -> StoreResult<T> {
            serde_json::from_str(s).map_err(|_| StoreError::Corrupt(col))
        }

        fn to_json<T: serde::Serialize>(v: &T) -> String {
            // invariant: the serialized types are plain structs and enums with string keys.
            serde_json::to_string(v).unwrap_or_default()
        }

        fn u64_of(v: i64, col: &'static str) -> StoreResult<u64> {
            u64::try_from(v).map_err(|_| StoreError::Corrupt(col))
        }

        fn i64_of(v: u64) -> StoreResult<i64> {
            i64::try_from(v).map_err(|_| StoreError::invalid(ProblemType::OutOfRange, "count out of range"))
        }

        fn org_row(r: &$row) -> StoreResult<OrgRow> {
            Ok(OrgRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
            })
        }

        fn token_row(r: &$row) -> StoreResult<TokenRow> {
            Ok(TokenRow {
                id: r.try_get("id")?,
                org_id: r.try_get("org_id")?,
                label: r.try_get("label")?,
                scope: text::parse_scope(&r.try_get::<String, _>("scope")?)?,
                secret_hash: r.try_get("secret_hash")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        }

        fn partnership_row(r: &$row) -> StoreResult<PartnershipRow> {
            let pending_policy: Option<String> = r.try_get("pending_policy")?;
            let pending_by: Option<String> = r.try_get("pending_by")?;
            let pending = match (pending_policy, pending_by) {
                (Some(p), Some(by)) => Some(PendingPolicy {
                    policy: json(&p, "pending_policy")?,
                    proposed_by: text::parse_role(&by)?,
                }),
                _ => None,
            };
            Ok(PartnershipRow {
                id: r.try_get("id")?,
                vendor_org_id: r.try_get("vendor_org_id")?,
                partner_org_id: r.try_get("partner_org_id")?,
                invited_by: text::parse_role(&r.try_get::<String, _>("invited_by")?)?,
                status: text::parse_status(&r.try_get::<String, _>("status")?)?,
                policy: json(&r.try_get::<String, _>("policy")?, "policy")?,
                pending,
                created_at: r.try_get("created_at")?,
            })
        }

        fn invitation_row(r: &$row) -> StoreResult<InvitationRow> {
            Ok(InvitationRow {
                id: r.try_get("id")?,
                code_hash: r.try_get("code_hash")?,
                inviter_org_id: r.try_get("inviter_org_id")?,
                inviter_role: text::parse_role(&r.try_get::<String, _>("inviter_role")?)?,
                policy: json(&r.try_get::<String, _>("policy")?, "policy")?,
                created_by_token: r.try_get("created_by_token")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                cancelled_at: r.try_get("cancelled_at")?,
                accepted_at: r.try_get("accepted_at")?,
                partnership_id: r.try_get("partnership_id")?,
            })
        }

        fn session_row(r: &$row) -> StoreResult<SessionRow> {
            Ok(SessionRow {
                id: r.try_get("id")?,
                partnership_id: r.try_get("partnership_id")?,
                state: text::parse_state(&r.try_get::<String, _>("state")?)?,
                protocol_version: r.try_get("protocol_version")?,
                created_by: text::parse_role(&r.try_get::<String, _>("created_by")?)?,
                created_at: r.try_get("created_at")?,
                finished_at: r.try_get("finished_at")?,
                policy: json(&r.try_get::<String, _>("policy")?, "policy")?,
                min_cell_size: u64_of(r.try_get("min_cell_size")?, "min_cell_size")?,
                result: r.try_get("result")?,
                computed_at: r.try_get("computed_at")?,
                epsilon_micro: r
                    .try_get::<Option<i64>, _>("epsilon_micro")?
                    .map(|v| u64_of(v, "epsilon_micro"))
                    .transpose()?,
                noise_seed: r
                    .try_get::<Option<Vec<u8>>, _>("noise_seed")?
                    .map(|b| {
                        <[u8; 32]>::try_from(b.as_slice())
                            .map(cleanroom_core::noise::NoiseSeed::from_bytes)
                            .map_err(|_| StoreError::Corrupt("noise_seed"))
                    })
                    .transpose()?,
                max_populations_per_row: r
                    .try_get::<Option<i64>, _>("max_populations_per_row")?
                    .map(|v| u64_of(v, "max_populations_per_row"))
                    .transpose()?,
                expires_at: r.try_get("expires_at")?,
                cancel_reason: r
                    .try_get::<Option<String>, _>("cancel_reason")?
                    .map(|v| {
                        cleanroom_core::api::CancelReason::parse(&v)
                            .ok_or(StoreError::Corrupt("cancel_reason"))
                    })
                    .transpose()?,
            })
        }

        /// What a pair of organizations spent since the given times.
        async fn pair_usage_in<'e, E>(
            ex: E,
            org_a: &str,
            org_b: &str,
            since_day: i64,
            since_window: i64,
        ) -> StoreResult<PairUsage>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let rows = sqlx::query(
                "SELECT s.created_at, s.state, s.epsilon_micro FROM sessions s \
                 JOIN partnerships p ON p.id = s.partnership_id \
                 WHERE ((p.vendor_org_id = $1 AND p.partner_org_id = $2) \
                     OR (p.vendor_org_id = $2 AND p.partner_org_id = $1)) \
                 AND s.created_at > $3 ORDER BY s.created_at, s.id",
            )
            .bind(org_a)
            .bind(org_b)
            .bind(since_day.min(since_window))
            .fetch_all(ex)
            .await?;
            let mut usage = PairUsage::default();
            for r in &rows {
                let at: i64 = r.try_get("created_at")?;
                let state = text::parse_state(&r.try_get::<String, _>("state")?)?;
                let eps: Option<i64> = r.try_get("epsilon_micro")?;
                if at > since_day {
                    usage.sessions_last_day += 1;
                    usage.session_times.push(at);
                }
                // A cancelled session released nothing: its ε is refunded.
                if let (true, false, Some(e)) =
                    (at > since_window, state == SessionState::Cancelled, eps)
                {
                    usage.epsilon_spending.push((at, u64_of(e, "epsilon_micro")?));
                }
            }
            Ok(usage)
        }

        fn party_row(r: &$row) -> StoreResult<PartyRow> {
            let pops: Option<String> = r.try_get("populations")?;
            let records: Option<i64> = r.try_get("records")?;
            Ok(PartyRow {
                role: text::parse_role(&r.try_get::<String, _>("role")?)?,
                populations: pops.map(|p| json(&p, "populations")).transpose()?,
                records: records.map(|n| u64_of(n, "records")).transpose()?,
                blinded_committed: r.try_get::<i64, _>("blinded_committed")? != 0,
                tokens_committed: r.try_get::<i64, _>("tokens_committed")? != 0,
            })
        }

        /// Locks the session row and returns it.
        async fn lock_session(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: &str,
        ) -> StoreResult<SessionRow> {
            let n = sqlx::query("UPDATE sessions SET state = state WHERE id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let r = sqlx::query(
                "SELECT id, partnership_id, state, protocol_version, created_by, created_at, \
                 finished_at, policy, min_cell_size, result, computed_at, epsilon_micro, noise_seed, \
                 max_populations_per_row, expires_at, cancel_reason FROM sessions WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
            session_row(&r)
        }

        async fn party_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: &str,
            role: Role,
        ) -> StoreResult<PartyRow> {
            let r = sqlx::query(
                "SELECT role, populations, records, blinded_committed, tokens_committed \
                 FROM session_parties WHERE session_id = $1 AND role = $2",
            )
            .bind(id)
            .bind(text::role(role))
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::Corrupt("session_parties"))?;
            party_row(&r)
        }

        async fn chunk_list_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            kind: ChunkKind,
            id: &str,
            role: Role,
        ) -> StoreResult<Vec<ChunkInfo>> {
            let rows = sqlx::query(chunk_sql::list(kind))
                .bind(id)
                .bind(text::role(role))
                .fetch_all(&mut **tx)
                .await?;
            rows.iter()
                .map(|r| {
                    let seq: i64 = r.try_get("seq")?;
                    Ok(ChunkInfo {
                        seq: u32::try_from(seq).map_err(|_| StoreError::Corrupt("seq"))?,
                        records: u64_of(r.try_get("records")?, "records")?,
                    })
                })
                .collect()
        }

        /// Checks the chunks are exactly `0..chunks` with `records` in total.
        fn check_chunks(list: &[ChunkInfo], chunks: u32, records: u64) -> StoreResult<()> {
            let complete = list.len() == chunks as usize
                && list.iter().enumerate().all(|(i, c)| c.seq as usize == i);
            if !complete {
                let have: Vec<u32> = list.iter().map(|c| c.seq).collect();
                let missing = (0..chunks).filter(|s| !have.contains(s)).count();
                let extra = have.iter().filter(|s| **s >= chunks).count();
                return Err(StoreError::invalid(
                    ProblemType::ChunksMismatch,
                    format!(
                        "commit declares chunks 0..{chunks}: {missing} missing, {extra} beyond the declared range"
                    ),
                ));
            }
            let total: u64 = list.iter().map(|c| c.records).sum();
            if total != records {
                return Err(StoreError::invalid(
                    ProblemType::RecordCountMismatch,
                    format!("commit declares {records} records, the chunks hold {total}"),
                ));
            }
            Ok(())
        }

        async fn delete_chunks_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: &str,
        ) -> StoreResult<()> {
            sqlx::query("DELETE FROM blinded_chunks WHERE session_id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM token_chunks WHERE session_id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Cancels a locked session for `reason` and deletes its chunks.
        async fn cancel_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: &str,
            now: i64,
            reason: cleanroom_core::api::CancelReason,
        ) -> StoreResult<()> {
            set_state_in(tx, id, SessionState::Cancelled, Some(now)).await?;
            sqlx::query("UPDATE sessions SET cancel_reason = $2 WHERE id = $1")
                .bind(id)
                .bind(reason.as_str())
                .execute(&mut **tx)
                .await?;
            delete_chunks_in(tx, id).await
        }

        async fn set_state_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: &str,
            state: SessionState,
            finished_at: Option<i64>,
        ) -> StoreResult<()> {
            sqlx::query("UPDATE sessions SET state = $2, finished_at = COALESCE($3, finished_at) WHERE id = $1")
                .bind(id)
                .bind(text::state(state))
                .bind(finished_at)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// What one side of a session and one organization may store, with
        /// the chunk about to be written (replacing any of the same number).
        async fn check_quota(
            tx: &mut sqlx::Transaction<'static, $db>,
            q: &ChunkQuota,
            kind: ChunkKind,
            session_id: &str,
            role: Role,
            seq: u32,
            records: u64,
        ) -> StoreResult<()> {
            let side: u64 = chunk_list_in(tx, kind, session_id, role)
                .await?
                .iter()
                .filter(|c| c.seq != seq)
                .map(|c| c.records)
                .sum();
            if side + records > q.max_records_per_side {
                return Err(StoreError::invalid(
                    ProblemType::QuotaExceeded,
                    format!(
                        "one side of a session may upload at most {} records",
                        q.max_records_per_side
                    ),
                ));
            }
            let rows = sqlx::query(
                "SELECT c.session_id, c.role, c.seq, c.records, 'blinded' AS kind FROM blinded_chunks c \
                 JOIN sessions s ON s.id = c.session_id JOIN partnerships p ON p.id = s.partnership_id \
                 WHERE (p.vendor_org_id = $1 AND c.role = 'vendor') OR (p.partner_org_id = $1 AND c.role = 'partner') \
                 UNION ALL \
                 SELECT c.session_id, c.role, c.seq, c.records, 'tokens' AS kind FROM token_chunks c \
                 JOIN sessions s ON s.id = c.session_id JOIN partnerships p ON p.id = s.partnership_id \
                 WHERE (p.vendor_org_id = $1 AND c.role = 'vendor') OR (p.partner_org_id = $1 AND c.role = 'partner')",
            )
            .bind(&q.org_id)
            .fetch_all(&mut **tx)
            .await?;
            let record_size = |k: ChunkKind| match k {
                ChunkKind::Blinded => cleanroom_core::wire::BLINDED_RECORD_LEN as u64,
                ChunkKind::Tokens => cleanroom_core::wire::TOKEN_RECORD_LEN as u64,
            };
            let mut bytes = records * record_size(kind);
            for r in &rows {
                let k = if r.try_get::<String, _>("kind")? == "blinded" {
                    ChunkKind::Blinded
                } else {
                    ChunkKind::Tokens
                };
                let same = k == kind
                    && r.try_get::<String, _>("session_id")? == session_id
                    && r.try_get::<String, _>("role")? == text::role(role)
                    && r.try_get::<i64, _>("seq")? == i64::from(seq);
                if !same {
                    bytes += u64_of(r.try_get("records")?, "records")? * record_size(k);
                }
            }
            if bytes > q.max_bytes_per_org {
                return Err(StoreError::invalid(
                    ProblemType::QuotaExceeded,
                    format!(
                        "an organization may keep at most {} MiB of uploads in open sessions; finish or cancel one first",
                        q.max_bytes_per_org / (1024 * 1024)
                    ),
                ));
            }
            Ok(())
        }

        fn state_conflict(what: &str, state: SessionState) -> StoreError {
            StoreError::conflict(
                ProblemType::SessionState,
                format!("{what} is not allowed while the session is {}", text::state(state)),
            )
        }

        impl Store for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn create_org(&self, org: &OrgRow) -> StoreResult<()> {
                let res = sqlx::query("INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(&org.id)
                    .bind(&org.name)
                    .bind(org.created_at)
                    .execute(&self.pool)
                    .await;
                match res {
                    Ok(_) => Ok(()),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::OrgNameTaken),
                    Err(e) => Err(e.into()),
                }
            }

            async fn org_by_id(&self, id: &str) -> StoreResult<Option<OrgRow>> {
                sqlx::query("SELECT id, name, created_at FROM orgs WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| org_row(&r))
                    .transpose()
            }

            async fn org_by_name(&self, name: &str) -> StoreResult<Option<OrgRow>> {
                sqlx::query("SELECT id, name, created_at FROM orgs WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| org_row(&r))
                    .transpose()
            }

            async fn insert_token(&self, t: &TokenRow) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO api_tokens (id, org_id, label, scope, secret_hash, created_at, expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&t.id)
                .bind(&t.org_id)
                .bind(&t.label)
                .bind(text::scope(t.scope))
                .bind(&t.secret_hash[..])
                .bind(t.created_at)
                .bind(t.expires_at)
                .bind(t.revoked_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn token_by_id(&self, id: &str) -> StoreResult<Option<TokenRow>> {
                sqlx::query(
                    "SELECT id, org_id, label, scope, secret_hash, created_at, expires_at, revoked_at \
                     FROM api_tokens WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| token_row(&r))
                .transpose()
            }

            async fn token_by_hash(&self, hash: &[u8]) -> StoreResult<Option<TokenRow>> {
                sqlx::query(
                    "SELECT id, org_id, label, scope, secret_hash, created_at, expires_at, revoked_at \
                     FROM api_tokens WHERE secret_hash = $1",
                )
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| token_row(&r))
                .transpose()
            }

            async fn list_tokens(&self, org_id: &str) -> StoreResult<Vec<TokenRow>> {
                sqlx::query(
                    "SELECT id, org_id, label, scope, secret_hash, created_at, expires_at, revoked_at \
                     FROM api_tokens WHERE org_id = $1 AND revoked_at IS NULL ORDER BY created_at, id",
                )
                .bind(org_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(token_row)
                .collect()
            }

            async fn revoke_token(&self, org_id: &str, token_id: &str, now: i64) -> StoreResult<()> {
                let n = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL",
                )
                .bind(token_id)
                .bind(org_id)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn create_partnership(&self, p: &PartnershipRow) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO partnerships (id, vendor_org_id, partner_org_id, invited_by, status, policy, \
                     pending_policy, pending_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&p.id)
                .bind(&p.vendor_org_id)
                .bind(&p.partner_org_id)
                .bind(text::role(p.invited_by))
                .bind(text::status(p.status))
                .bind(to_json(&p.policy))
                .bind(p.pending.map(|pp| to_json(&pp.policy)))
                .bind(p.pending.map(|pp| text::role(pp.proposed_by)))
                .bind(p.created_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn partnership(&self, id: &str) -> StoreResult<Option<PartnershipRow>> {
                sqlx::query("SELECT * FROM partnerships WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| partnership_row(&r))
                    .transpose()
            }

            async fn list_partnerships(&self, org_id: &str) -> StoreResult<Vec<PartnershipRow>> {
                sqlx::query(
                    "SELECT * FROM partnerships WHERE vendor_org_id = $1 OR partner_org_id = $1 \
                     ORDER BY created_at DESC, id DESC",
                )
                .bind(org_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(partnership_row)
                .collect()
            }

            async fn update_partnership(
                &self,
                id: &str,
                f: &mut (dyn FnMut(&mut PartnershipRow) -> StoreResult<()> + Send),
            ) -> StoreResult<PartnershipRow> {
                let mut tx = self.pool.begin().await?;
                let n = sqlx::query("UPDATE partnerships SET status = status WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                let r = sqlx::query("SELECT * FROM partnerships WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let mut p = partnership_row(&r)?;
                f(&mut p)?;
                sqlx::query(
                    "UPDATE partnerships SET status = $2, policy = $3, pending_policy = $4, pending_by = $5 WHERE id = $1",
                )
                .bind(id)
                .bind(text::status(p.status))
                .bind(to_json(&p.policy))
                .bind(p.pending.map(|pp| to_json(&pp.policy)))
                .bind(p.pending.map(|pp| text::role(pp.proposed_by)))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(p)
            }

            async fn create_invitation(&self, inv: &InvitationRow) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO invitations (id, code_hash, inviter_org_id, inviter_role, policy, \
                     created_by_token, created_at, expires_at, cancelled_at, accepted_at, partnership_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&inv.id)
                .bind(&inv.code_hash)
                .bind(&inv.inviter_org_id)
                .bind(text::role(inv.inviter_role))
                .bind(to_json(&inv.policy))
                .bind(&inv.created_by_token)
                .bind(inv.created_at)
                .bind(inv.expires_at)
                .bind(inv.cancelled_at)
                .bind(inv.accepted_at)
                .bind(&inv.partnership_id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn list_invitations(&self, org_id: &str) -> StoreResult<Vec<InvitationRow>> {
                sqlx::query(
                    "SELECT * FROM invitations WHERE inviter_org_id = $1 ORDER BY created_at DESC, id DESC",
                )
                .bind(org_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(invitation_row)
                .collect()
            }

            async fn open_invitation(&self, code_hash: &[u8], now: i64) -> StoreResult<Option<InvitationRow>> {
                // Open: not accepted, cancelled or expired; every other case is answered alike.
                sqlx::query(
                    "SELECT * FROM invitations WHERE code_hash = $1 \
                     AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > $2",
                )
                .bind(code_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| invitation_row(&r))
                .transpose()
            }

            async fn cancel_invitation(&self, org_id: &str, id: &str, now: i64) -> StoreResult<InvitationRow> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "UPDATE invitations SET cancelled_at = $2 WHERE id = $1 AND inviter_org_id = $3 \
                     AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > $2",
                )
                .bind(id)
                .bind(now)
                .bind(org_id)
                .execute(&mut *tx)
                .await?;
                let r = sqlx::query("SELECT * FROM invitations WHERE id = $1 AND inviter_org_id = $2")
                    .bind(id)
                    .bind(org_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let inv = invitation_row(&r)?;
                tx.commit().await?;
                Ok(inv)
            }

            async fn accept_invitation(
                &self,
                code_hash: &[u8],
                org_id: &str,
                partnership_id: &str,
                now: i64,
            ) -> StoreResult<(InvitationRow, PartnershipRow)> {
                let mut tx = self.pool.begin().await?;
                // Locks the invitation, so a code is accepted at most once.
                let n = sqlx::query(
                    "UPDATE invitations SET code_hash = code_hash WHERE code_hash = $1 \
                     AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > $2",
                )
                .bind(code_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                let r = sqlx::query("SELECT * FROM invitations WHERE code_hash = $1")
                    .bind(code_hash)
                    .fetch_one(&mut *tx)
                    .await?;
                let mut inv = invitation_row(&r)?;
                if inv.inviter_org_id == org_id {
                    return Err(StoreError::invalid(
                        ProblemType::SelfPartnership,
                        "this is your own organization's invitation: give the code to the partner's administrator",
                    ));
                }
                // Both organizations' rows, in id order, so two acceptances
                // for one pair cannot both pass the check below.
                let mut pair = [inv.inviter_org_id.as_str(), org_id];
                pair.sort_unstable();
                for id in pair {
                    sqlx::query("UPDATE orgs SET name = name WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                let existing: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM partnerships WHERE status <> 'revoked' AND \
                     ((vendor_org_id = $1 AND partner_org_id = $2) OR (vendor_org_id = $2 AND partner_org_id = $1))",
                )
                .bind(&inv.inviter_org_id)
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
                if existing > 0 {
                    return Err(StoreError::conflict(
                        ProblemType::PartnershipExists,
                        "your organization already has a partnership with the inviting organization; revoke it first to accept this invitation",
                    ));
                }
                let (vendor, partner) = match inv.inviter_role {
                    Role::Vendor => (inv.inviter_org_id.clone(), org_id.to_owned()),
                    Role::Partner => (org_id.to_owned(), inv.inviter_org_id.clone()),
                };
                let p = PartnershipRow {
                    id: partnership_id.to_owned(),
                    vendor_org_id: vendor,
                    partner_org_id: partner,
                    invited_by: inv.inviter_role,
                    status: cleanroom_core::api::PartnershipStatus::Active,
                    policy: inv.policy,
                    pending: None,
                    created_at: now,
                };
                sqlx::query(
                    "INSERT INTO partnerships (id, vendor_org_id, partner_org_id, invited_by, status, policy, \
                     pending_policy, pending_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7)",
                )
                .bind(&p.id)
                .bind(&p.vendor_org_id)
                .bind(&p.partner_org_id)
                .bind(text::role(p.invited_by))
                .bind(text::status(p.status))
                .bind(to_json(&p.policy))
                .bind(p.created_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE invitations SET accepted_at = $2, partnership_id = $3 WHERE id = $1")
                    .bind(&inv.id)
                    .bind(now)
                    .bind(&p.id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                inv.accepted_at = Some(now);
                inv.partnership_id = Some(p.id.clone());
                Ok((inv, p))
            }

            async fn revoke_partnership(
                &self,
                id: &str,
                now: i64,
            ) -> StoreResult<(PartnershipRow, Vec<String>)> {
                let mut tx = self.pool.begin().await?;
                let n = sqlx::query("UPDATE partnerships SET status = status WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                let r = sqlx::query("SELECT * FROM partnerships WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let mut p = partnership_row(&r)?;
                if p.status == cleanroom_core::api::PartnershipStatus::Revoked {
                    return Err(StoreError::conflict(ProblemType::PartnershipRevoked, "the partnership is already revoked"));
                }
                p.status = cleanroom_core::api::PartnershipStatus::Revoked;
                p.pending = None;
                sqlx::query(
                    "UPDATE partnerships SET status = 'revoked', pending_policy = NULL, pending_by = NULL WHERE id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let open: Vec<String> = sqlx::query(
                    "SELECT id FROM sessions WHERE partnership_id = $1 \
                     AND state IN ('awaiting_blinded', 'awaiting_tokens', 'computing')",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("id"))
                .collect::<Result<_, _>>()?;
                for sid in &open {
                    cancel_in(&mut tx, sid, now, cleanroom_core::api::CancelReason::PartnershipRevoked).await?;
                }
                tx.commit().await?;
                self.reclaim().await;
                Ok((p, open))
            }

            async fn create_session(&self, new: &NewSession) -> StoreResult<SessionRow> {
                let mut tx = self.pool.begin().await?;
                let n = sqlx::query("UPDATE partnerships SET status = status WHERE id = $1")
                    .bind(&new.partnership_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                let r = sqlx::query("SELECT * FROM partnerships WHERE id = $1")
                    .bind(&new.partnership_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let p = partnership_row(&r)?;
                if p.status != cleanroom_core::api::PartnershipStatus::Active {
                    return Err(StoreError::conflict(
                        ProblemType::PartnershipNotActive,
                        format!("sessions need an active partnership; this one is {}", text::status(p.status)),
                    ));
                }
                let open: Option<String> = sqlx::query(
                    "SELECT id FROM sessions WHERE partnership_id = $1 \
                     AND state IN ('awaiting_blinded', 'awaiting_tokens', 'computing') LIMIT 1",
                )
                .bind(&new.partnership_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<String, _>("id"))
                .transpose()?;
                if let Some(open) = open {
                    return Err(StoreError::Conflict {
                        code: ProblemType::SessionOpen,
                        detail: format!("session {open} is still open for this partnership"),
                        session_id: Some(open),
                    });
                }
                // Budgets belong to the pair of organizations, not to one
                // partnership (revoking and inviting again must not reset
                // them). Lock the pair's row so concurrent creations, also
                // from other replicas, see each other's spending.
                let (org_a, org_b) = if p.vendor_org_id < p.partner_org_id {
                    (&p.vendor_org_id, &p.partner_org_id)
                } else {
                    (&p.partner_org_id, &p.vendor_org_id)
                };
                sqlx::query(
                    "INSERT INTO org_pairs (org_a, org_b) VALUES ($1, $2) ON CONFLICT (org_a, org_b) DO NOTHING",
                )
                .bind(org_a)
                .bind(org_b)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE org_pairs SET org_a = org_a WHERE org_a = $1 AND org_b = $2")
                    .bind(org_a)
                    .bind(org_b)
                    .execute(&mut *tx)
                    .await?;
                let usage = pair_usage_in(
                    &mut *tx,
                    org_a,
                    org_b,
                    new.now - 86_400,
                    new.now - new.epsilon_window_secs,
                )
                .await?;
                if usage.sessions_last_day >= new.sessions_per_day {
                    let oldest = usage.session_times.len().saturating_sub(new.sessions_per_day as usize);
                    return Err(StoreError::Budget {
                        code: ProblemType::SessionBudgetExhausted,
                        detail: format!(
                            "the two organizations have used their budget of {} sessions per 24 hours",
                            new.sessions_per_day
                        ),
                        retry_at: usage.session_times.get(oldest).map(|t| t + 86_400),
                    });
                }
                // The policy read in this transaction decides the mode, so a
                // concurrent policy change cannot make the charge and the
                // session's mode differ.
                let epsilon_micro = match p.policy.counts_mode() {
                    cleanroom_core::api::CountsMode::Exact => None,
                    cleanroom_core::api::CountsMode::Noisy { epsilon } => Some(epsilon.0),
                };
                if let Some(eps) = epsilon_micro {
                    let fits = usage.epsilon_fits_at(eps, new.epsilon_budget_micro, new.epsilon_window_secs);
                    if fits != Some(0) {
                        return Err(StoreError::Budget {
                            code: ProblemType::PrivacyBudgetExhausted,
                            detail: format!(
                                "a session at epsilon {} does not fit in the privacy budget of the two organizations \
                                 ({} of {} spent in the last {} days)",
                                eps as f64 / 1e6,
                                usage.epsilon_spent() as f64 / 1e6,
                                new.epsilon_budget_micro as f64 / 1e6,
                                new.epsilon_window_secs / 86_400
                            ),
                            retry_at: fits,
                        });
                    }
                }
                // The policy may shorten the deployment's expiry, never lengthen it.
                let expiry = p
                    .policy
                    .session_expiry_secs
                    .map_or(new.expiry_secs, |e| e.min(new.expiry_secs));
                let row = SessionRow {
                    id: new.id.clone(),
                    partnership_id: new.partnership_id.clone(),
                    state: SessionState::AwaitingBlinded,
                    protocol_version: new.protocol_version.clone(),
                    created_by: new.created_by,
                    created_at: new.now,
                    finished_at: None,
                    policy: p.policy,
                    min_cell_size: new.min_cell_size,
                    result: None,
                    computed_at: None,
                    epsilon_micro,
                    noise_seed: epsilon_micro.map(|_| new.noise_seed.clone()),
                    max_populations_per_row: Some(new.max_populations_per_row),
                    expires_at: Some(new.now.saturating_add(i64_of(expiry)?)),
                    cancel_reason: None,
                };
                sqlx::query(
                    "INSERT INTO sessions (id, partnership_id, state, protocol_version, created_by, created_at, \
                     policy, min_cell_size, epsilon_micro, noise_seed, max_populations_per_row, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&row.id)
                .bind(&row.partnership_id)
                .bind(text::state(row.state))
                .bind(&row.protocol_version)
                .bind(text::role(row.created_by))
                .bind(row.created_at)
                .bind(to_json(&row.policy))
                .bind(i64_of(row.min_cell_size)?)
                .bind(row.epsilon_micro.map(i64_of).transpose()?)
                .bind(row.noise_seed.as_ref().map(|s| s.as_bytes().to_vec()))
                .bind(i64_of(new.max_populations_per_row)?)
                .bind(row.expires_at)
                .execute(&mut *tx)
                .await?;
                for role in [Role::Vendor, Role::Partner] {
                    sqlx::query("INSERT INTO session_parties (session_id, role) VALUES ($1, $2)")
                        .bind(&row.id)
                        .bind(text::role(role))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(row)
            }

            async fn session(&self, id: &str) -> StoreResult<Option<SessionRow>> {
                sqlx::query(
                    "SELECT id, partnership_id, state, protocol_version, created_by, created_at, \
                     finished_at, policy, min_cell_size, result, computed_at, epsilon_micro, noise_seed, \
                 max_populations_per_row, expires_at, cancel_reason FROM sessions WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| session_row(&r))
                .transpose()
            }

            async fn pair_usage(
                &self,
                org_a: &str,
                org_b: &str,
                since_day: i64,
                since_window: i64,
            ) -> StoreResult<PairUsage> {
                pair_usage_in(&self.pool, org_a, org_b, since_day, since_window).await
            }

            async fn list_sessions(&self, partnership_id: &str) -> StoreResult<Vec<SessionRow>> {
                sqlx::query(
                    "SELECT id, partnership_id, state, protocol_version, created_by, created_at, \
                     finished_at, policy, min_cell_size, NULL AS result, computed_at, epsilon_micro, \
                     NULL AS noise_seed, max_populations_per_row, expires_at, cancel_reason FROM sessions \
                     WHERE partnership_id = $1 ORDER BY created_at DESC, id DESC",
                )
                .bind(partnership_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(session_row)
                .collect()
            }

            async fn sessions_in_state(&self, state: SessionState) -> StoreResult<Vec<String>> {
                sqlx::query("SELECT id FROM sessions WHERE state = $1 ORDER BY created_at")
                    .bind(text::state(state))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| Ok(r.try_get::<String, _>("id")?))
                    .collect()
            }

            async fn parties(&self, session_id: &str) -> StoreResult<[PartyRow; 2]> {
                let rows = sqlx::query(
                    "SELECT role, populations, records, blinded_committed, tokens_committed \
                     FROM session_parties WHERE session_id = $1",
                )
                .bind(session_id)
                .fetch_all(&self.pool)
                .await?;
                let mut vendor = None;
                let mut partner = None;
                for r in &rows {
                    let p = party_row(r)?;
                    match p.role {
                        Role::Vendor => vendor = Some(p),
                        Role::Partner => partner = Some(p),
                    }
                }
                match (vendor, partner) {
                    (Some(v), Some(p)) => Ok([v, p]),
                    _ => Err(StoreError::NotFound),
                }
            }

            async fn put_chunk(
                &self,
                kind: ChunkKind,
                session_id: &str,
                role: Role,
                seq: u32,
                records: u64,
                data: &[u8],
                quota: Option<&ChunkQuota>,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                if let Some(q) = quota {
                    // One upload of an organization at a time past this
                    // point, so concurrent sessions cannot both squeeze
                    // under its byte quota.
                    sqlx::query("UPDATE orgs SET name = name WHERE id = $1")
                        .bind(&q.org_id)
                        .execute(&mut *tx)
                        .await?;
                }
                let s = lock_session(&mut tx, session_id).await?;
                let party = party_in(&mut tx, session_id, role).await?;
                match kind {
                    ChunkKind::Blinded => {
                        if s.state != SessionState::AwaitingBlinded {
                            return Err(state_conflict("uploading blinded records", s.state));
                        }
                        if party.blinded_committed {
                            return Err(StoreError::conflict(
                                ProblemType::AlreadyCommitted,
                                "your blinded records are already committed",
                            ));
                        }
                    }
                    ChunkKind::Tokens => {
                        if s.state != SessionState::AwaitingTokens {
                            return Err(state_conflict("uploading tokens", s.state));
                        }
                        if party.tokens_committed {
                            return Err(StoreError::conflict(
                                ProblemType::AlreadyCommitted,
                                "your tokens are already committed",
                            ));
                        }
                    }
                }
                if let Some(q) = quota {
                    check_quota(&mut tx, q, kind, session_id, role, seq, records).await?;
                }
                sqlx::query(chunk_sql::upsert(kind))
                    .bind(session_id)
                    .bind(text::role(role))
                    .bind(i64::from(seq))
                    .bind(i64_of(records)?)
                    .bind(data)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn chunks(
                &self,
                kind: ChunkKind,
                session_id: &str,
                role: Role,
            ) -> StoreResult<Vec<ChunkInfo>> {
                let rows = sqlx::query(chunk_sql::list(kind))
                    .bind(session_id)
                    .bind(text::role(role))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let seq: i64 = r.try_get("seq")?;
                        Ok(ChunkInfo {
                            seq: u32::try_from(seq).map_err(|_| StoreError::Corrupt("seq"))?,
                            records: u64_of(r.try_get("records")?, "records")?,
                        })
                    })
                    .collect()
            }

            async fn chunk_data(
                &self,
                kind: ChunkKind,
                session_id: &str,
                role: Role,
                seq: u32,
            ) -> StoreResult<Option<Vec<u8>>> {
                sqlx::query(chunk_sql::data(kind))
                    .bind(session_id)
                    .bind(text::role(role))
                    .bind(i64::from(seq))
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| Ok(r.try_get::<Vec<u8>, _>("data")?))
                    .transpose()
            }

            async fn commit_blinded(
                &self,
                session_id: &str,
                role: Role,
                populations: &[String],
                chunks: u32,
                records: u64,
                check: &mut dyn ChunkCheck,
            ) -> StoreResult<SessionState> {
                let mut tx = self.pool.begin().await?;
                let s = lock_session(&mut tx, session_id).await?;
                if s.state != SessionState::AwaitingBlinded {
                    return Err(state_conflict("committing blinded records", s.state));
                }
                let me = party_in(&mut tx, session_id, role).await?;
                if me.blinded_committed {
                    return Err(StoreError::conflict(
                        ProblemType::AlreadyCommitted,
                        "your blinded records are already committed",
                    ));
                }
                let list = chunk_list_in(&mut tx, ChunkKind::Blinded, session_id, role).await?;
                check_chunks(&list, chunks, records)?;
                for c in &list {
                    let data: Vec<u8> = sqlx::query(chunk_sql::data(ChunkKind::Blinded))
                        .bind(session_id)
                        .bind(text::role(role))
                        .bind(i64::from(c.seq))
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("data")?;
                    check.feed(c.seq, &data)?;
                }
                check.finish()?;
                let populations = check.populations(populations);
                sqlx::query(
                    "UPDATE session_parties SET populations = $3, records = $4, blinded_committed = 1 \
                     WHERE session_id = $1 AND role = $2",
                )
                .bind(session_id)
                .bind(text::role(role))
                .bind(to_json(&populations))
                .bind(i64_of(records)?)
                .execute(&mut *tx)
                .await?;
                let other = party_in(&mut tx, session_id, role.other()).await?;
                let state = if other.blinded_committed {
                    set_state_in(&mut tx, session_id, SessionState::AwaitingTokens, None).await?;
                    SessionState::AwaitingTokens
                } else {
                    s.state
                };
                tx.commit().await?;
                Ok(state)
            }

            async fn commit_tokens(
                &self,
                session_id: &str,
                role: Role,
                chunks: u32,
                records: u64,
                lease: Option<&ComputeLease>,
            ) -> StoreResult<SessionState> {
                let mut tx = self.pool.begin().await?;
                let s = lock_session(&mut tx, session_id).await?;
                if s.state != SessionState::AwaitingTokens {
                    return Err(state_conflict("committing tokens", s.state));
                }
                let me = party_in(&mut tx, session_id, role).await?;
                if me.tokens_committed {
                    return Err(StoreError::conflict(ProblemType::AlreadyCommitted, "your tokens are already committed"));
                }
                let other = party_in(&mut tx, session_id, role.other()).await?;
                let expected = other.records.ok_or(StoreError::Corrupt("records"))?;
                if records != expected {
                    return Err(StoreError::invalid(
                        ProblemType::TokenCountMismatch,
                        format!("expected one token per counterpart record: {expected}, got {records}"),
                    ));
                }
                let list = chunk_list_in(&mut tx, ChunkKind::Tokens, session_id, role).await?;
                check_chunks(&list, chunks, records)?;
                sqlx::query(
                    "UPDATE session_parties SET tokens_committed = 1 WHERE session_id = $1 AND role = $2",
                )
                .bind(session_id)
                .bind(text::role(role))
                .execute(&mut *tx)
                .await?;
                let state = if other.tokens_committed {
                    set_state_in(&mut tx, session_id, SessionState::Computing, None).await?;
                    if let Some(l) = lease {
                        sqlx::query("UPDATE sessions SET lease_owner = $2, leased_until_ms = $3 WHERE id = $1")
                            .bind(session_id)
                            .bind(&l.owner)
                            .bind(l.until_ms)
                            .execute(&mut *tx)
                            .await?;
                    }
                    SessionState::Computing
                } else {
                    s.state
                };
                tx.commit().await?;
                Ok(state)
            }

            async fn cancel_session(
                &self,
                session_id: &str,
                now: i64,
                reason: cleanroom_core::api::CancelReason,
            ) -> StoreResult<SessionRow> {
                let mut tx = self.pool.begin().await?;
                let mut s = lock_session(&mut tx, session_id).await?;
                if !matches!(s.state, SessionState::AwaitingBlinded | SessionState::AwaitingTokens) {
                    return Err(state_conflict("cancelling", s.state));
                }
                cancel_in(&mut tx, session_id, now, reason).await?;
                tx.commit().await?;
                self.reclaim().await;
                s.state = SessionState::Cancelled;
                s.finished_at = Some(now);
                s.cancel_reason = Some(reason);
                Ok(s)
            }

            async fn expired_sessions(&self, now: i64, default_expiry_secs: i64) -> StoreResult<Vec<String>> {
                sqlx::query(
                    "SELECT id FROM sessions WHERE state IN ('awaiting_blinded', 'awaiting_tokens') \
                     AND (expires_at <= $1 OR (expires_at IS NULL AND created_at <= $2)) \
                     ORDER BY created_at, id LIMIT 100",
                )
                .bind(now)
                .bind(now.saturating_sub(default_expiry_secs))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok(r.try_get::<String, _>("id")?))
                .collect()
            }

            async fn expire_session(
                &self,
                session_id: &str,
                now: i64,
                default_expiry_secs: i64,
            ) -> StoreResult<Option<SessionRow>> {
                let mut tx = self.pool.begin().await?;
                let mut s = match lock_session(&mut tx, session_id).await {
                    Ok(s) => s,
                    Err(StoreError::NotFound) => return Ok(None),
                    Err(e) => return Err(e),
                };
                // Re-checked under the row lock: another replica's sweep, a
                // commit that started the computation, or a cancellation may
                // have come first; then this call changes nothing.
                let expires_at = s.expires_at.unwrap_or(s.created_at.saturating_add(default_expiry_secs));
                if !matches!(s.state, SessionState::AwaitingBlinded | SessionState::AwaitingTokens)
                    || expires_at > now
                {
                    return Ok(None);
                }
                cancel_in(&mut tx, session_id, now, cleanroom_core::api::CancelReason::Expired).await?;
                tx.commit().await?;
                self.reclaim().await;
                s.state = SessionState::Cancelled;
                s.finished_at = Some(now);
                s.cancel_reason = Some(cleanroom_core::api::CancelReason::Expired);
                Ok(Some(s))
            }

            async fn claim_computation(
                &self,
                lease: &ComputeLease,
                expired_before_ms: i64,
            ) -> StoreResult<Option<String>> {
                // One statement: the inner SELECT picks and (on PostgreSQL)
                // locks a claimable row, skipping rows another replica is
                // claiming right now; the outer WHERE re-checks it.
                let row = sqlx::query(concat!(
                    "UPDATE sessions SET lease_owner = $1, leased_until_ms = $2 \
                     WHERE state = 'computing' AND (leased_until_ms IS NULL OR leased_until_ms < $3) \
                     AND id = (SELECT id FROM sessions WHERE state = 'computing' \
                     AND (leased_until_ms IS NULL OR leased_until_ms < $3) \
                     ORDER BY created_at, id LIMIT 1",
                    $skip_locked,
                    ") RETURNING id"
                ))
                .bind(&lease.owner)
                .bind(lease.until_ms)
                .bind(expired_before_ms)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| Ok(r.try_get::<String, _>("id")?)).transpose()
            }

            async fn renew_computation(&self, session_id: &str, lease: &ComputeLease) -> StoreResult<bool> {
                let n = sqlx::query(
                    "UPDATE sessions SET leased_until_ms = $3 \
                     WHERE id = $1 AND lease_owner = $2 AND state = 'computing'",
                )
                .bind(session_id)
                .bind(&lease.owner)
                .bind(lease.until_ms)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn complete_session(&self, session_id: &str, result: &str, now: i64) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let s = lock_session(&mut tx, session_id).await?;
                if s.state == SessionState::Completed {
                    // Another replica (or an earlier run of this one) stored
                    // the same deterministic result first: keep it.
                    return Ok(false);
                }
                if s.state != SessionState::Computing {
                    return Err(state_conflict("completing", s.state));
                }
                sqlx::query(
                    "UPDATE sessions SET state = 'completed', result = $2, computed_at = $3, finished_at = $3 WHERE id = $1",
                )
                .bind(session_id)
                .bind(result)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                delete_chunks_in(&mut tx, session_id).await?;
                tx.commit().await?;
                self.reclaim().await;
                Ok(true)
            }

            async fn fail_session(&self, session_id: &str, now: i64) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let s = lock_session(&mut tx, session_id).await?;
                if s.state != SessionState::Computing {
                    return Ok(());
                }
                cancel_in(&mut tx, session_id, now, cleanroom_core::api::CancelReason::ComputationFailed).await?;
                tx.commit().await?;
                self.reclaim().await;
                Ok(())
            }

            async fn append_audit(&self, e: &AuditRow) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_log (partnership_id, at, org_name, token_id, action, session_id, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&e.partnership_id)
                .bind(e.at)
                .bind(&e.org_name)
                .bind(&e.token_id)
                .bind(&e.action)
                .bind(&e.session_id)
                .bind(to_json(&e.detail))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn audit(&self, partnership_id: &str) -> StoreResult<Vec<AuditRow>> {
                sqlx::query(
                    "SELECT partnership_id, at, org_name, token_id, action, session_id, detail \
                     FROM audit_log WHERE partnership_id = $1 ORDER BY id",
                )
                .bind(partnership_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(AuditRow {
                        partnership_id: r.try_get("partnership_id")?,
                        at: r.try_get("at")?,
                        org_name: r.try_get("org_name")?,
                        token_id: r.try_get("token_id")?,
                        action: r.try_get("action")?,
                        session_id: r.try_get("session_id")?,
                        detail: json(&r.try_get::<String, _>("detail")?, "detail")?,
                    })
                })
                .collect()
            }

            async fn chunk_row_counts(&self) -> StoreResult<(u64, u64)> {
                let b: i64 = sqlx::query("SELECT COUNT(*) AS n FROM blinded_chunks")
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                let t: i64 = sqlx::query("SELECT COUNT(*) AS n FROM token_chunks")
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                Ok((u64_of(b, "count")?, u64_of(t, "count")?))
            }

            async fn create_sign_in(&self, row: &SignInRow, max_per_org: u64) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                // Serializes sign-ins of one organization across replicas, so
                // two at once cannot both see room under the cap.
                let n = sqlx::query("UPDATE orgs SET name = name WHERE id = $1")
                    .bind(&row.org_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                // Opportunistic clean-up: nothing else ever deletes expired rows.
                sqlx::query("DELETE FROM dashboard_sign_ins WHERE expires_at <= $1")
                    .bind(row.created_at)
                    .execute(&mut *tx)
                    .await?;
                let live: i64 = sqlx::query("SELECT COUNT(*) AS n FROM dashboard_sign_ins WHERE org_id = $1")
                    .bind(&row.org_id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                let over = u64_of(live, "count")?.saturating_add(1).saturating_sub(max_per_org);
                if over > 0 {
                    // Evict the sign-ins closest to expiry rather than refuse a
                    // valid token holder; only ever this organization's own.
                    sqlx::query(
                        "DELETE FROM dashboard_sign_ins WHERE cookie_hash IN (\
                         SELECT cookie_hash FROM dashboard_sign_ins WHERE org_id = $1 \
                         ORDER BY expires_at, created_at LIMIT $2)",
                    )
                    .bind(&row.org_id)
                    .bind(i64_of(over)?)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "INSERT INTO dashboard_sign_ins (cookie_hash, org_id, token_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&row.cookie_hash[..])
                .bind(&row.org_id)
                .bind(&row.token_id)
                .bind(row.created_at)
                .bind(row.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn sign_in(&self, cookie_hash: &[u8], now: i64) -> StoreResult<Option<SignInRow>> {
                sqlx::query(
                    "SELECT cookie_hash, org_id, token_id, created_at, expires_at FROM dashboard_sign_ins \
                     WHERE cookie_hash = $1 AND expires_at > $2",
                )
                .bind(cookie_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| {
                    Ok(SignInRow {
                        cookie_hash: r.try_get("cookie_hash")?,
                        org_id: r.try_get("org_id")?,
                        token_id: r.try_get("token_id")?,
                        created_at: r.try_get("created_at")?,
                        expires_at: r.try_get("expires_at")?,
                    })
                })
                .transpose()
            }

            async fn delete_sign_in(&self, cookie_hash: &[u8]) -> StoreResult<()> {
                sqlx::query("DELETE FROM dashboard_sign_ins WHERE cookie_hash = $1")
                    .bind(cookie_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_sign_ins_of_token(&self, token_id: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM dashboard_sign_ins WHERE token_id = $1")
                    .bind(token_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn count_sign_ins(&self, now: i64) -> StoreResult<u64> {
                let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM dashboard_sign_ins WHERE expires_at > $1")
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                u64_of(n, "count")
            }

            // Backend specific: PostgreSQL notifies, SQLite has no one to tell.
            async fn announce_session_change(&self, session_id: &str) -> StoreResult<()> {
                self.announce(session_id).await
            }
        }
    };
}

pub(crate) use impl_sql_store;

//! The attacker's side: a partner (or vendor) that crafts its uploads to learn
//! whether one account is in the other side's list, played with the core
//! crate over the real HTTP API on SQLite and PostgreSQL.
//!
//! Attacks (issue 11): 1 duplicated rows, 2 unshared white space, 3
//! near-identical populations, 4 a row in no population, 5 differencing
//! across sessions and the revoke-and-re-invite budget reset. In exact mode
//! the cheap ones are refused or yield nothing; in noisy mode an attacker who
//! combines every number the target affects is held to e^ε/(1+e^ε).

mod common;

use cleanroom_core::SessionSecret;
use cleanroom_core::api::{
    CountsMode, Epsilon, Partnership, RecordSharing, Session, SessionResults, SessionState,
    SharingPolicy,
};
use cleanroom_core::disclosure::Count;
use cleanroom_core::wire::OTHER_POPULATION;
use cleanroom_server::{Config, RunningServer, bootstrap, spawn};
use common::{Account, Api, TestDb, blind};
use reqwest::Method;

/// Small populations keep hundreds of sessions quick; the rules are the same.
const MIN_POPULATION: u64 = 10;

struct World {
    server: RunningServer,
    /// The victim: the vendor, whose list the attacker probes.
    victim: Api,
    /// The attacker: the partner.
    attacker: Api,
    partnership: Partnership,
}

fn config(db: &TestDb) -> Config {
    let mut c = Config::for_tests(db.url());
    c.guardrails.min_population_size = MIN_POPULATION;
    c.guardrails.sessions_per_day = 100_000;
    c.guardrails.epsilon_budget = Epsilon(1_000_000_000_000);
    c
}

async fn world(config: Config, policy: SharingPolicy) -> World {
    let url = config.database_url.expose().to_owned();
    let (_, vt) = bootstrap::create_org(&url, "Victim Vendor").await.unwrap();
    let (_, at) = bootstrap::create_org(&url, "Attacker Partner")
        .await
        .unwrap();
    let server = spawn(config).await.unwrap();
    let victim = Api::new(&server.base_url(), &vt);
    let attacker = Api::new(&server.base_url(), &at);
    let partnership = victim
        .partner_up(&attacker, "Attacker Partner", policy)
        .await;
    World {
        server,
        victim,
        attacker,
        partnership,
    }
}

fn exact(shares: bool) -> SharingPolicy {
    SharingPolicy {
        vendor_shares_white_space: shares,
        partner_shares_white_space: shares,
        counts: Some(CountsMode::Exact),
        ..SharingPolicy::default()
    }
}

fn account(row: u32, pops: u64, domain: &str) -> Account {
    Account {
        row,
        pops,
        domain: Some(domain.to_owned()),
        name: None,
        duns: None,
    }
}

/// `n` accounts nobody else has, in population bits `pops`.
fn junk(tag: &str, first_row: u32, n: u32, pops: u64) -> Vec<Account> {
    (0..n)
        .map(|i| account(first_row + i, pops, &format!("{tag}-{i}.example.com")))
        .collect()
}

/// Creates a session and commits the victim's blinded upload.
async fn victim_commits(
    w: &World,
    accounts: &[Account],
    pops: &[&str],
) -> (Session, SessionSecret) {
    let s: Session = w
        .attacker
        .ok(
            Method::POST,
            &format!("/v1/partnerships/{}/sessions", w.partnership.id),
            None,
        )
        .await;
    let secret = SessionSecret::generate();
    w.victim
        .upload_blinded(&s.id, &blind(&secret, accounts), pops, 1000)
        .await;
    (s, secret)
}

/// The attacker's blinded upload and commit; `Err((status, problem))` when refused.
async fn attacker_commits(
    w: &World,
    session: &str,
    secret: &SessionSecret,
    accounts: &[Account],
    pops: &[&str],
) -> Result<(), (u16, serde_json::Value)> {
    let body = blind(secret, accounts);
    let (st, v) = w
        .attacker
        .put_bytes(&format!("/v1/sessions/{session}/blinded/0"), body.clone())
        .await;
    if st != 200 {
        return Err((st, v));
    }
    let (st, v) = w
        .attacker
        .send(
            Method::POST,
            &format!("/v1/sessions/{session}/blinded/commit"),
            Some(serde_json::json!({
                "protocol_version": cleanroom_core::protocol::protocol_version(),
                "populations": pops,
                "chunks": 1,
                "records": body.len() / 48,
            })),
        )
        .await;
    if st != 200 {
        return Err((st, v));
    }
    Ok(())
}

/// A whole session; the results as the attacker sees them.
async fn session(
    w: &World,
    victim: &[Account],
    victim_pops: &[&str],
    attacker: &[Account],
    attacker_pops: &[&str],
) -> SessionResults {
    let (s, vs) = victim_commits(w, victim, victim_pops).await;
    let a_secret = SessionSecret::generate();
    attacker_commits(w, &s.id, &a_secret, attacker, attacker_pops)
        .await
        .unwrap_or_else(|(st, p)| panic!("attacker upload refused: {st} {p}"));
    w.victim.upload_tokens(&s.id, &vs, 1000).await;
    let done = w.attacker.upload_tokens(&s.id, &a_secret, 1000).await;
    assert_eq!(done.state, SessionState::Completed);
    w.attacker.results(&s.id).await
}

/// Everything the attacker is shown, as one comparable value.
fn view(r: &SessionResults) -> serde_json::Value {
    serde_json::json!({
        "vendor": r.vendor.figures,
        "partner": r.partner.figures,
        "populations": [r.vendor.populations, r.partner.populations],
        "cells": r.cells,
    })
}

/// Attack 1: five rows carrying one key make a cell read exactly 5 or "< 5".
/// Equal keys blind to equal points in a session, so the server refuses it.
async fn duplicated_rows(db: TestDb) {
    let w = world(config(&db), exact(true)).await;
    let victim = junk("victim", 1, 40, 1);
    let (s, _) = victim_commits(&w, &victim, &["customers"]).await;
    let mut probe = Vec::new();
    for t in 0..4u32 {
        for copy in 0..5u32 {
            probe.push(account(
                1000 + t * 10 + copy,
                1 << t,
                &format!("target{t}.com"),
            ));
        }
        probe.extend(junk(&format!("pad{t}"), 2000 + t * 100, 10, 1 << t));
    }
    let (st, problem) = attacker_commits(
        &w,
        &s.id,
        &SessionSecret::generate(),
        &probe,
        &["t0", "t1", "t2", "t3"],
    )
    .await
    .expect_err("a key on five rows must be refused");
    assert_eq!(st, 422, "{problem}");
    assert_eq!(problem["code"], "duplicate-point");
    assert!(!problem["detail"].as_str().unwrap().contains("target"));
    w.server.shutdown().await;
}

/// Attacks 2 and 3: overlapping populations (`all=*` next to segments, or
/// S and S + target) need an account in two populations: refused by default.
async fn overlapping_populations(db: TestDb) {
    let w = world(config(&db), exact(false)).await;
    let (s, _) = victim_commits(&w, &junk("victim", 1, 40, 1), &["customers"]).await;
    let mut probe = junk("s", 100, 20, 0b11);
    probe.push(account(999, 0b10, "target.com"));
    let (st, problem) = attacker_commits(
        &w,
        &s.id,
        &SessionSecret::generate(),
        &probe,
        &["S", "S+target"],
    )
    .await
    .expect_err("an account in two populations must be refused");
    assert_eq!(st, 422, "{problem}");
    assert_eq!(problem["code"], "too-many-populations-per-row");
    w.server.shutdown().await;
}

/// Attack 2: the victim does not share its white space. With one population
/// the attacker's matrix column would be the victim's matched count, and a
/// total would give its white space: the totals are hidden too.
async fn unshared_white_space(db: TestDb) {
    let w = world(config(&db), exact(false)).await;
    let mut victim = junk("victim", 1, 30, 1);
    victim.extend(junk("shared", 100, 20, 1));
    let mut probe = junk("probe", 500, 30, 1);
    // The attacker knows 20 of the victim's accounts and uploads them in its one population.
    probe.extend(junk("shared", 700, 20, 1));
    let r = session(&w, &victim, &["customers"], &probe, &["all"]).await;
    for f in &r.vendor.figures {
        assert_eq!((f.total, f.matched, f.white_space), (None, None, None));
    }
    // Its own figures stay visible to the attacker.
    assert_eq!(r.partner.figures[0].total, Some(Count::Exact(50)));
    // The session's own progress gives the record count (protocol-inherent),
    // never a population total.
    w.server.shutdown().await;
}

/// Attack 4: a target uploaded in no population lands in the implicit
/// "(other)" population, under the same minimum size and suppression: the
/// attacker's view is identical whether or not the target is in the list.
async fn row_in_no_population(db: TestDb) {
    let w = world(config(&db), exact(true)).await;
    // The victim: 40 accounts, 20 of which the attacker knows; then either the
    // target or a decoy (same size either way).
    let base = |with_target: bool| {
        let mut v = junk("victim", 1, 20, 1);
        v.extend(junk("known", 100, 20, 1));
        v.push(account(
            999,
            1,
            if with_target {
                "target.com"
            } else {
                "decoy.com"
            },
        ));
        v
    };
    let mut probe = junk("known", 300, 20, 1);
    probe.extend(junk("pad", 400, 20, 1));
    probe.push(account(999, 0, "target.com"));

    // A lone row in no population is below the minimum, like any population.
    let (s, _) = victim_commits(&w, &base(true), &["customers"]).await;
    let (st, problem) = attacker_commits(&w, &s.id, &SessionSecret::generate(), &probe, &["S"])
        .await
        .expect_err("a one-row (other) population must be refused");
    assert_eq!(st, 422, "{problem}");
    assert_eq!(problem["code"], "population-too-small");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(OTHER_POPULATION)
    );
    w.victim
        .ok::<Session>(Method::POST, &format!("/v1/sessions/{}/cancel", s.id), None)
        .await;

    // Padded to the minimum, it is counted in "(other)" and suppressed.
    probe.extend(junk("other-pad", 600, MIN_POPULATION as u32, 0));
    let with = session(&w, &base(true), &["customers"], &probe, &["S"]).await;
    let without = session(&w, &base(false), &["customers"], &probe, &["S"]).await;
    assert_eq!(
        with.partner.populations,
        vec!["S".to_owned(), OTHER_POPULATION.to_owned()]
    );
    assert_eq!(
        view(&with),
        view(&without),
        "the attacker's view must not depend on the target"
    );
    w.server.shutdown().await;
}

/// Attack 5's shortcut: revoking the partnership and inviting again does not
/// reset the budget of the pair of organizations.
async fn revoke_and_reinvite(db: TestDb) {
    let mut c = config(&db);
    c.guardrails.sessions_per_day = 2;
    let w = world(c, exact(true)).await;
    let sessions = format!("/v1/partnerships/{}/sessions", w.partnership.id);
    for _ in 0..2 {
        let s: Session = w.attacker.ok(Method::POST, &sessions, None).await;
        w.attacker
            .ok::<Session>(Method::POST, &format!("/v1/sessions/{}/cancel", s.id), None)
            .await;
    }
    let revoke = format!("/v1/partnerships/{}/revoke", w.partnership.id);
    w.attacker
        .ok::<Partnership>(Method::POST, &revoke, None)
        .await;
    let again = w
        .victim
        .partner_up(&w.attacker, "Attacker Partner", exact(true))
        .await;
    assert_ne!(again.id, w.partnership.id);
    assert_eq!(again.budget.as_ref().unwrap().sessions_used, 2);
    let resp = w
        .attacker
        .http
        .post(format!(
            "{}/v1/partnerships/{}/sessions",
            w.attacker.base, again.id
        ))
        .bearer_auth(&w.attacker.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry_after: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    let problem: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(problem["code"], "session-budget-exhausted");
    assert!(problem["retry_at"].is_string(), "{problem}");
    w.server.shutdown().await;
}

/// A small deterministic coin for the trials (the test's own randomness,
/// fixed so that a failure reproduces; the server's noise is its own).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn value(c: Option<Count>) -> f64 {
    match c {
        Some(Count::Exact(n)) | Some(Count::Approx { value: n, .. }) => n as f64,
        Some(Count::Range { low, high }) => (low + high) as f64 / 2.0,
        None => 0.0,
    }
}

/// The membership attacker: it uploads the target alone with padding in a
/// probe population, and sums every disclosed number the target's presence
/// raises by one (the victim's matched count of the target's population, both
/// counts of the cell, and its own matched count). It guesses "in the list"
/// when the sum is above 2, halfway between the sums without (0) and with (4)
/// the target. Returns its success rate over `trials` sessions.
async fn membership_attack(w: &World, trials: u32, seed: u64) -> f64 {
    let mut coin = SplitMix(seed);
    let mut wins = 0;
    let mut probe = junk("probe-pad", 500, MIN_POPULATION as u32 - 1, 1);
    probe.push(account(999, 1, "target.com"));
    for trial in 0..trials {
        let present = coin.next() & 1 == 1;
        let mut victim = junk(&format!("victim{trial}"), 1, MIN_POPULATION as u32, 1);
        victim.push(account(
            888,
            1,
            if present { "target.com" } else { "decoy.com" },
        ));
        let r = session(w, &victim, &["customers"], &probe, &["probe"]).await;
        let cell = r.cells[0][0];
        let sum = value(r.vendor.figures[0].matched)
            + value(Some(cell.vendor_accounts))
            + value(Some(cell.partner_accounts))
            + value(r.partner.figures[0].matched);
        if (sum > 2.0) == present {
            wins += 1;
        }
    }
    f64::from(wins) / f64::from(trials)
}

/// Noisy mode bounds the attacker at e^ε/(1+e^ε) plus a Hoeffding margin;
/// the same attacker against exact counts (the positive control) wins always.
async fn membership_is_bounded(db: TestDb, trials: u32) {
    let mut c = config(&db);
    // k = 1: no "< k" display rule, so the attacker sees every noisy number.
    c.guardrails.min_cell_size = 1;
    let eps = 1.0f64;
    let noisy = SharingPolicy {
        vendor_shares_white_space: true,
        partner_shares_white_space: true,
        records: RecordSharing::Counts,
        counts: Some(CountsMode::Noisy {
            epsilon: Epsilon::from_f64(eps).unwrap(),
        }),
        ..SharingPolicy::default()
    };
    let w = world(c, noisy).await;
    let rate = membership_attack(&w, trials, 0x5eed).await;
    // P(rate - p >= t) <= exp(-2 n t²): t for a one-in-a-million false alarm.
    let margin = ((1e6f64).ln() / (2.0 * f64::from(trials))).sqrt();
    let bound = eps.exp() / (1.0 + eps.exp()) + margin;
    assert!(
        rate <= bound,
        "noisy mode: the attacker won {rate:.3} of {trials} trials, above the bound {bound:.3}"
    );
    eprintln!(
        "noisy mode (ε = {eps}): attacker success {rate:.3} over {trials} trials, bound {bound:.3}"
    );

    // Positive control: the same attacker against exact counts.
    let revoke = format!("/v1/partnerships/{}/revoke", w.partnership.id);
    w.attacker
        .ok::<Partnership>(Method::POST, &revoke, None)
        .await;
    let exact_world = World {
        partnership: w
            .victim
            .partner_up(&w.attacker, "Attacker Partner", {
                let mut p = exact(true);
                p.records = RecordSharing::Counts;
                p
            })
            .await,
        ..w
    };
    let control_trials = 20;
    let rate = membership_attack(&exact_world, control_trials, 0xc0ffee).await;
    assert_eq!(
        rate, 1.0,
        "exact counts reveal membership to this attacker every time"
    );
    exact_world.server.shutdown().await;
}

macro_rules! on_both_backends {
    ($($name:ident => $body:expr;)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let f = $body;
                    f(TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let f = $body;
                    f(TestDb::postgres().await).await;
                }
            )*
        }
    };
}

on_both_backends! {
    attack_1_duplicated_rows_are_refused => duplicated_rows;
    attacks_2_and_3_overlapping_populations_are_refused => overlapping_populations;
    attack_2_unshared_white_space_stays_hidden => unshared_white_space;
    attack_4_row_in_no_population_learns_nothing => row_in_no_population;
    attack_5_revoke_and_reinvite_keeps_the_budget => revoke_and_reinvite;
    noisy_membership_attack_is_bounded => |db| membership_is_bounded(db, 200);
}

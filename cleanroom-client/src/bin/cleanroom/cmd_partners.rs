//! `cleanroom partners`: invite with a code, accept a code, inspect, agree
//! on policy, revoke.

use clap::{Args, Subcommand, ValueEnum};
use cleanroom_client::Client;
use cleanroom_core::api::{
    CountsMode, CreateInvitation, Epsilon, Invitation, InvitationPreview, InvitationStatus,
    NamesWithoutCountry, PairBudget, Partnership, PartnershipStatus, ProposePolicy, RecordSharing,
    Role, SharingPolicy,
};
use cleanroom_core::overlap::NameMatching;
use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;

use crate::{Ctx, usage};

#[derive(Subcommand)]
pub enum PartnersCmd {
    /// List your partnerships.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one partnership (by id or partner name).
    Show {
        /// Partnership id or the partner organization's name.
        partner: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Invite a partner: prints a single-use invitation code (and nothing
    /// else on standard output) to pass on to the partner's administrator.
    Invite {
        /// Invitations name no organization; this only explains so.
        #[arg(hide = true)]
        org: Option<String>,
        /// Your own role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Days the code stays valid [default: the server's, 7 unless configured].
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Show an invitation code's inviter and proposed policy; with --yes,
    /// accept them.
    Accept {
        /// The code the inviting organization passed on; `-` reads it from
        /// standard input (keeps it out of the process list).
        #[arg(long, value_name = "CODE", conflicts_with = "partner")]
        code: Option<String>,
        /// Accept the invitation and its policy (without it, only show them).
        #[arg(long)]
        yes: bool,
        /// A partnership invited by name before invitation codes (id or the
        /// inviting organization's name).
        #[arg(required_unless_present = "code")]
        partner: Option<String>,
    },
    /// List your organization's invitations (their codes are never shown again).
    Invitations {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel an open invitation: its code stops working.
    CancelInvitation {
        /// The invitation's id (`inv_…`, see `cleanroom partners invitations`).
        id: String,
    },
    /// Show, propose or agree to the sharing policy.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// End a partnership; its blinded data is deleted.
    Revoke {
        /// Partnership id or partner name.
        partner: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Show the policy in force and any pending proposal.
    Show {
        /// Partnership id or partner name.
        partner: String,
    },
    /// Agree to the partner's pending proposal.
    Agree {
        /// Partnership id or partner name.
        partner: String,
    },
    /// Propose a new policy; it takes effect when the partner agrees.
    Propose {
        /// Partnership id or partner name.
        partner: String,
        #[command(flatten)]
        policy: PolicyArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// The software vendor (rows of the matrix).
    Vendor,
    /// The partner (columns).
    Partner,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RecordsArg {
    /// The overlap matrix only.
    Counts,
    /// Each side may also list its own matched accounts.
    OverlappingRecords,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum NamesArg {
    /// Names never match.
    Never,
    /// Names match only when one of the two accounts has no website or DUNS.
    #[value(alias = "when-domain-missing")]
    WhenStrongKeyMissing,
    /// Names always match, even between accounts whose websites differ.
    Always,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum NamesWithoutCountryArg {
    /// No name key: such accounts match on websites and DUNS only.
    Omit,
    /// A name key without a country, which only matches the partner's
    /// names that have none either.
    Unqualified,
}

#[derive(Args, Clone)]
pub struct PolicyArgs {
    /// What each side may fetch beyond the matrix.
    #[arg(long, value_enum, default_value = "counts")]
    records: RecordsArg,
    /// The vendor lets the partner see its matched / white-space counts.
    #[arg(long)]
    vendor_shares_white_space: bool,
    /// The partner lets the vendor see its matched / white-space counts.
    #[arg(long)]
    partner_shares_white_space: bool,
    /// When company-name matches count.
    #[arg(long, value_enum, default_value = "when-strong-key-missing")]
    name_matching: NamesArg,
    /// What both sides upload for the name of an account whose country is
    /// missing or unknown (names carry the country, so the two must agree).
    #[arg(long, value_enum, default_value = "omit")]
    names_without_country: NamesWithoutCountryArg,
    /// Exact counts instead of noisy ones. Exact counts of inputs a side
    /// chooses can be differenced across sessions and populations, so the
    /// partner can learn about single accounts.
    #[arg(long, conflicts_with = "epsilon")]
    exact_counts: bool,
    /// Noisy counts at this ε per session (smaller: more noise, more
    /// privacy) [default: noisy at the server's default ε].
    #[arg(
        long,
        value_name = "X",
        value_parser = parse_epsilon,
        allow_negative_numbers = true
    )]
    epsilon: Option<Epsilon>,
    /// Cancel this partnership's sessions, and delete their data, this long
    /// after they start unless both sides are done, e.g. 2h, 3d; shortens
    /// the server's session expiry (24 h unless its operator chose another)
    /// [default: the server's].
    #[arg(long, value_name = "DURATION", value_parser = crate::parse_duration)]
    session_expiry: Option<std::time::Duration>,
}

fn parse_epsilon(s: &str) -> Result<Epsilon, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .and_then(Epsilon::from_f64)
        // `from_f64` admits 0 (a budget can be spent down to it); a policy cannot.
        .filter(|e| e.0 > 0)
        .ok_or_else(|| format!("{s:?} is not a positive number like 1 or 0.5"))
}

/// Printed whenever someone chooses exact counts.
const EXACT_WARNING: &str = "warning: exact counts of inputs a side chooses can be differenced across sessions and populations, so the partner can learn about single accounts";

impl PolicyArgs {
    fn counts(&self) -> Option<CountsMode> {
        if self.exact_counts {
            Some(CountsMode::Exact)
        } else {
            self.epsilon.map(|epsilon| CountsMode::Noisy { epsilon })
        }
    }

    fn policy(&self) -> SharingPolicy {
        if self.exact_counts {
            eprintln!("{EXACT_WARNING}");
        }
        SharingPolicy {
            records: match self.records {
                RecordsArg::Counts => RecordSharing::Counts,
                RecordsArg::OverlappingRecords => RecordSharing::OverlappingRecords,
            },
            vendor_shares_white_space: self.vendor_shares_white_space,
            partner_shares_white_space: self.partner_shares_white_space,
            name_matching: match self.name_matching {
                NamesArg::Never => NameMatching::Never,
                NamesArg::WhenStrongKeyMissing => NameMatching::WhenStrongKeyMissing,
                NamesArg::Always => NameMatching::Always,
            },
            names_without_country: match self.names_without_country {
                NamesWithoutCountryArg::Omit => NamesWithoutCountry::Omit,
                NamesWithoutCountryArg::Unqualified => NamesWithoutCountry::Unqualified,
            },
            // None lets the server choose: noisy at its default ε.
            counts: self.counts(),
            session_expiry_secs: self.session_expiry.map(|d| d.as_secs()),
        }
    }
}

/// The counterpart organization of a partnership.
pub fn counterpart(p: &Partnership) -> &cleanroom_core::api::Org {
    match p.my_role {
        Role::Vendor => &p.partner,
        Role::Partner => &p.vendor,
    }
}

/// Finds a partnership by id or by the counterpart's name (active ones first).
pub async fn resolve(client: &Client, key: &str) -> anyhow::Result<Partnership> {
    let all = client.list_partnerships().await?;
    if let Some(p) = all.iter().find(|p| p.id == key) {
        return Ok(p.clone());
    }
    let mut named: Vec<&Partnership> = all
        .iter()
        .filter(|p| counterpart(p).name.eq_ignore_ascii_case(key))
        .collect();
    named.sort_by_key(|p| match p.status {
        PartnershipStatus::Active => 0,
        PartnershipStatus::Invited => 1,
        PartnershipStatus::Revoked => 2,
    });
    named.first().map(|p| (*p).clone()).ok_or_else(|| {
        usage(format!(
            "no partnership with id or partner named {key:?}; see `cleanroom partners list`"
        ))
    })
}

/// `exact` or `noisy (ε 1 per session)`.
fn counts_text(p: &SharingPolicy) -> String {
    match p.counts_mode() {
        CountsMode::Exact => "exact".to_owned(),
        CountsMode::Noisy { epsilon } => format!("noisy (ε {epsilon} per session)"),
    }
}

/// `privacy budget: 2 of 10 ε spent in 30 days; sessions today 1 of 10`.
fn budget_text(b: &PairBudget) -> String {
    let mut s = format!(
        "privacy budget: {} of {} ε spent in {} days",
        b.epsilon_spent, b.epsilon_budget, b.epsilon_window_days
    );
    if let Some(at) = &b.next_refresh_at {
        s.push_str(&format!(" (the oldest spending stops counting at {at})"));
    }
    s.push_str(&format!(
        "; sessions today {} of {}",
        b.sessions_used, b.sessions_per_day
    ));
    s
}

fn policy_text(p: &SharingPolicy) -> String {
    format!(
        "counts: {}; records: {}; vendor shares white space: {}; partner shares white space: {}; name matching: {}; names without a country: {}",
        counts_text(p),
        match p.records {
            RecordSharing::Counts => "counts",
            RecordSharing::OverlappingRecords => "overlapping-records",
        },
        yes_no(p.vendor_shares_white_space),
        yes_no(p.partner_shares_white_space),
        match p.name_matching {
            NameMatching::Never => "never",
            NameMatching::WhenStrongKeyMissing => "when-strong-key-missing",
            NameMatching::Always => "always",
        },
        p.names_without_country.as_str()
    ) + &match p.session_expiry_secs {
        Some(secs) => format!("; sessions expire after {secs}s"),
        None => String::new(),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn status(s: PartnershipStatus) -> &'static str {
    match s {
        PartnershipStatus::Invited => "invited",
        PartnershipStatus::Active => "active",
        PartnershipStatus::Revoked => "revoked",
    }
}

fn invitation_status(s: InvitationStatus) -> &'static str {
    match s {
        InvitationStatus::Open => "open",
        InvitationStatus::Accepted => "accepted",
        InvitationStatus::Expired => "expired",
        InvitationStatus::Cancelled => "cancelled",
    }
}

/// The code of `partners accept --code`: as given, or one line of stdin for `-`.
fn read_code(arg: &str) -> anyhow::Result<String> {
    let code = if arg == "-" {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line
    } else {
        arg.to_owned()
    };
    let code = code.trim().to_owned();
    if code.is_empty() {
        return Err(usage(
            "the invitation code is empty: pass the code the inviting organization gave you (or `-` and the code on standard input)",
        ));
    }
    Ok(code)
}

fn show_preview(v: &InvitationPreview) {
    println!(
        "Invitation from {}: they are the {}, your organization would be the {}.",
        v.inviter.name,
        v.inviter_role.as_str(),
        v.your_role.as_str()
    );
    println!("  policy:  {}", policy_text(&v.policy));
    println!("  valid until: {}", v.expires_at);
}

fn show(p: &Partnership) {
    println!("partnership {}", p.id);
    println!(
        "  vendor:  {}{}",
        p.vendor.name,
        if p.my_role == Role::Vendor {
            " (you)"
        } else {
            ""
        }
    );
    println!(
        "  partner: {}{}",
        p.partner.name,
        if p.my_role == Role::Partner {
            " (you)"
        } else {
            ""
        }
    );
    println!("  status:  {}", status(p.status));
    println!("  policy:  {}", policy_text(&p.policy));
    if let Some(pp) = &p.pending_policy {
        println!(
            "  pending: {} (proposed by the {})",
            policy_text(&pp.policy),
            pp.proposed_by.as_str()
        );
    }
    if let Some(b) = &p.budget {
        println!("  budget:  {}", budget_text(b));
    }
    if let Some(s) = &p.last_session {
        println!("  last session: {} ({:?}, {})", s.id, s.state, s.created_at);
    }
}

fn invitation_row(i: &Invitation) -> Vec<String> {
    vec![
        i.id.clone(),
        i.my_role.as_str().to_owned(),
        invitation_status(i.status).to_owned(),
        counts_text(&i.policy),
        i.expires_at.clone(),
        i.partnership_id.clone().unwrap_or_default(),
    ]
}

pub async fn run(cmd: PartnersCmd, ctx: &Ctx) -> anyhow::Result<()> {
    if let PartnersCmd::Invite { org: Some(org), .. } = &cmd {
        return Err(usage(format!(
            "invitations no longer name the organization ({org:?}): `cleanroom partners invite --role …` prints a code; give it to that organization's administrator, who runs `cleanroom partners accept --code <code>`"
        )));
    }
    let client = ctx.client()?;
    match cmd {
        PartnersCmd::List { json } => {
            let all = client.list_partnerships().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED);
            t.set_header(vec![
                "id",
                "partner",
                "your role",
                "status",
                "counts",
                "budget",
                "last session",
            ]);
            for p in &all {
                t.add_row(vec![
                    p.id.clone(),
                    counterpart(p).name.clone(),
                    p.my_role.as_str().to_owned(),
                    status(p.status).to_owned(),
                    counts_text(&p.policy),
                    p.budget.as_ref().map(budget_text).unwrap_or_default(),
                    p.last_session
                        .as_ref()
                        .map(|s| format!("{:?} {}", s.state, s.created_at))
                        .unwrap_or_default(),
                ]);
            }
            println!("{t}");
        }
        PartnersCmd::Show { partner, json } => {
            let p = resolve(&client, &partner).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                show(&p);
            }
        }
        PartnersCmd::Invite {
            org,
            role,
            expires_in_days,
            policy,
        } => {
            debug_assert!(org.is_none(), "refused before connecting");
            let created = client
                .create_invitation(&CreateInvitation {
                    my_role: match role {
                        RoleArg::Vendor => Role::Vendor,
                        RoleArg::Partner => Role::Partner,
                    },
                    policy: policy.policy(),
                    expires_in_days,
                })
                .await?;
            let inv = &created.invitation;
            eprintln!(
                "Invitation {} created: you are the {}; the code works once, until {}.",
                inv.id,
                inv.my_role.as_str(),
                inv.expires_at
            );
            eprintln!("  policy:  {}", policy_text(&inv.policy));
            eprintln!(
                "Pass the code on to your partner's administrator over a channel you trust; it is shown only now. They run:\n  cleanroom partners accept --code <code>\n(`--code -` reads it from standard input). `cleanroom partners cancel-invitation {}` withdraws it.",
                inv.id
            );
            println!("{}", created.code);
        }
        PartnersCmd::Accept {
            code: Some(code),
            yes,
            ..
        } => {
            let code = read_code(&code)?;
            let preview = client.preview_invitation(&code).await?;
            show_preview(&preview);
            if !yes {
                println!("To accept this invitation and its policy, re-run with --yes.");
                return Ok(());
            }
            if preview.policy.counts_mode() == CountsMode::Exact {
                eprintln!("{EXACT_WARNING}");
            }
            show(&client.accept_invitation(&code).await?);
        }
        PartnersCmd::Accept { partner, .. } => {
            let partner = partner.ok_or_else(|| usage("pass --code CODE"))?;
            let p = resolve(&client, &partner).await?;
            show(&client.accept_partnership(&p.id).await?);
        }
        PartnersCmd::Invitations { json } => {
            let all = client.list_invitations().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED);
            t.set_header(vec![
                "id",
                "your role",
                "status",
                "counts",
                "expires",
                "partnership",
            ]);
            for i in &all {
                t.add_row(invitation_row(i));
            }
            println!("{t}");
        }
        PartnersCmd::CancelInvitation { id } => {
            let i = client.cancel_invitation(&id).await?;
            println!("invitation {}: {}", i.id, invitation_status(i.status));
        }
        PartnersCmd::Policy(PolicyCmd::Show { partner }) => {
            show(&resolve(&client, &partner).await?)
        }
        PartnersCmd::Policy(PolicyCmd::Agree { partner }) => {
            let p = resolve(&client, &partner).await?;
            let pending = p
                .pending_policy
                .ok_or_else(|| usage("there is no pending policy proposal to agree to"))?;
            if pending.proposed_by == p.my_role {
                return Err(usage(
                    "the pending proposal is your own; your partner has to agree to it",
                ));
            }
            if pending.policy.counts_mode() == CountsMode::Exact {
                eprintln!("{EXACT_WARNING}");
            }
            show(
                &client
                    .propose_policy(
                        &p.id,
                        &ProposePolicy {
                            policy: pending.policy,
                        },
                    )
                    .await?,
            );
        }
        PartnersCmd::Policy(PolicyCmd::Propose { partner, policy }) => {
            let p = resolve(&client, &partner).await?;
            show(
                &client
                    .propose_policy(
                        &p.id,
                        &ProposePolicy {
                            policy: policy.policy(),
                        },
                    )
                    .await?,
            );
        }
        PartnersCmd::Revoke { partner, yes } => {
            let p = resolve(&client, &partner).await?;
            if !yes {
                return Err(usage(format!(
                    "revoking ends the partnership with {} for good; re-run with --yes",
                    counterpart(&p).name
                )));
            }
            show(&client.revoke_partnership(&p.id).await?);
        }
    }
    Ok(())
}

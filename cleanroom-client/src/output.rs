//! Rendering results and reports for people (tables) and programs (JSON, CSV).

use std::path::Path;

use cleanroom_core::KeyType;
use cleanroom_core::api::{CountsMode, NamesWithoutCountry, Role, SessionResults};
use cleanroom_core::disclosure::{Count, group_thousands};
use cleanroom_core::wire::{MAX_DOMAIN_KEYS_PER_ROW, OTHER_POPULATION};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};

use crate::dedupe::SHARED_MAILBOX_NAMES;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::prepare::{InputReport, Reject};

fn opt_count(c: Option<Count>) -> String {
    c.map(|c| c.to_string()).unwrap_or_else(|| "—".to_owned())
}

/// A count for machines: `1234`, `0-4`, or a noisy estimate with its 95 %
/// interval, `1058 (1025-1091)`.
pub fn count_plain(c: &Count) -> String {
    match c {
        Count::Exact(n) => n.to_string(),
        Count::Range { low, high } => format!("{low}-{high}"),
        Count::Approx { value, low, high } => format!("{value} ({low}-{high})"),
    }
}

/// One line on how the counts were released: `Exact counts` or
/// `Noisy counts (ε 1, 95 % interval ± 33)`.
pub fn counts_mode_line(r: &SessionResults) -> String {
    match r.disclosure.counts {
        CountsMode::Exact => "Exact counts".to_owned(),
        CountsMode::Noisy { epsilon } => match r.disclosure.interval_half_width {
            Some(w) => format!(
                "Noisy counts (ε {epsilon}, 95 % interval ± {})",
                group_thousands(w)
            ),
            None => format!("Noisy counts (ε {epsilon})"),
        },
    }
}

/// The overlap matrix and per-population figures as terminal tables.
pub fn results_table(r: &SessionResults) -> String {
    let mut m = Table::new();
    m.load_style(UTF8_FULL_CONDENSED);
    let corner = format!("{} \\ {}", r.vendor.org.name, r.partner.org.name);
    let mut header = vec![corner];
    for (p, fig) in r.partner.populations.iter().zip(&r.partner.figures) {
        header.push(format!("{p} ({})", opt_count(fig.total)));
    }
    m.set_header(header);
    for (v, (name, fig)) in r
        .vendor
        .populations
        .iter()
        .zip(&r.vendor.figures)
        .enumerate()
    {
        let mut line = vec![format!("{name} ({})", opt_count(fig.total))];
        for cell in &r.cells[v] {
            if cell.vendor_accounts == cell.partner_accounts {
                line.push(cell.vendor_accounts.to_string());
            } else {
                line.push(format!(
                    "{} / {}",
                    cell.vendor_accounts, cell.partner_accounts
                ));
            }
        }
        m.add_row(line);
    }
    for i in 1..=r.partner.populations.len() {
        if let Some(c) = m.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }

    let mut w = Table::new();
    w.load_style(UTF8_FULL_CONDENSED);
    w.set_header(vec![
        "side",
        "population",
        "accounts",
        "matched",
        "white space",
    ]);
    for (role, side) in [(Role::Vendor, &r.vendor), (Role::Partner, &r.partner)] {
        let who = if role == r.my_role {
            format!("{} (you)", side.org.name)
        } else {
            side.org.name.clone()
        };
        for (name, fig) in side.populations.iter().zip(&side.figures) {
            w.add_row(vec![
                who.clone(),
                name.clone(),
                opt_count(fig.total),
                opt_count(fig.matched),
                opt_count(fig.white_space),
            ]);
        }
    }
    for i in 2..=4 {
        if let Some(c) = w.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let k = if r.min_cell_size > 1 {
        format!(
            "Counts below {} are shown as ranges (\"< {}\"). ",
            r.min_cell_size, r.min_cell_size
        )
    } else {
        String::new()
    };
    let mode = match r.disclosure.counts {
        CountsMode::Exact => format!("{}.", counts_mode_line(r)),
        CountsMode::Noisy { .. } => format!(
            "{}: \"≈ n\" is an estimate, the true count lies within the interval 95 times in 100 (white space a little wider).",
            counts_mode_line(r)
        ),
    };
    let other = if [&r.vendor, &r.partner]
        .iter()
        .any(|s| s.populations.iter().any(|p| p == OTHER_POPULATION))
    {
        format!("\n{OTHER_POPULATION} = accounts in none of that side's populations.")
    } else {
        String::new()
    };
    format!(
        "{mode}\nOverlap: {} accounts (rows) matching {} accounts (columns); \"a / b\" = {} accounts / {} accounts when they differ.\n{m}\n\nPopulations ({k}— = not shared with you):\n{w}{other}\n",
        r.vendor.org.name, r.partner.org.name, r.vendor.org.name, r.partner.org.name
    )
}

/// The results as pretty JSON (the server's document).
pub fn results_json(r: &SessionResults) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}

/// The results as CSV: one line per cell and one per population.
pub fn results_csv(r: &SessionResults) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::State(format!("cannot write CSV: {e}"));
    w.write_record([
        "kind",
        "vendor_population",
        "partner_population",
        "vendor_accounts",
        "partner_accounts",
        "total",
        "matched",
        "white_space",
    ])
    .map_err(err)?;
    for (v, line) in r.cells.iter().enumerate() {
        for (p, c) in line.iter().enumerate() {
            w.write_record([
                "cell",
                &r.vendor.populations[v],
                &r.partner.populations[p],
                &count_plain(&c.vendor_accounts),
                &count_plain(&c.partner_accounts),
                "",
                "",
                "",
            ])
            .map_err(err)?;
        }
    }
    for (kind, side) in [("vendor", &r.vendor), ("partner", &r.partner)] {
        for (name, fig) in side.populations.iter().zip(&side.figures) {
            let (vp, pp) = if kind == "vendor" {
                (name.as_str(), "")
            } else {
                ("", name.as_str())
            };
            w.write_record([
                kind,
                vp,
                pp,
                "",
                "",
                &fig.total.as_ref().map(count_plain).unwrap_or_default(),
                &fig.matched.as_ref().map(count_plain).unwrap_or_default(),
                &fig.white_space
                    .as_ref()
                    .map(count_plain)
                    .unwrap_or_default(),
            ])
            .map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| Error::State(format!("cannot write CSV: {e}")))
}

/// A short account of what local processing did; no account data.
pub fn input_summary(rep: &InputReport, populations: &[String], accounts: usize) -> String {
    let mut s = String::new();
    let cols: Vec<String> = rep
        .key_columns
        .iter()
        .map(|(k, c)| format!("{k}={c:?}"))
        .collect();
    let mut sources = cols.join(", ");
    if !rep.extra_domain_columns.is_empty() {
        let extra: Vec<String> = rep
            .extra_domain_columns
            .iter()
            .map(|c| format!("{c:?}"))
            .collect();
        sources.push_str(&format!("; more domains from {}", extra.join(", ")));
    }
    match &rep.country_column {
        Some(c) => {
            sources.push_str(&format!("; country from {c:?}"));
            if let Some(city) = &rep.city_column {
                sources.push_str(&format!(", city from {city:?}"));
            }
            if let Some(code) = &rep.postcode_column {
                sources.push_str(&format!(", postal code from {code:?}"));
            }
            if let Some(phone) = &rep.phone_column {
                sources.push_str(&format!(", telephone from {phone:?}"));
            }
        }
        None if rep.key_columns.iter().any(|(k, _)| *k == KeyType::Name) => {
            sources.push_str("; no country column")
        }
        None => {}
    }
    s.push_str(&format!(
        "Read {} rows ({} layout; keys from {sources}).\n",
        group_thousands(rep.rows),
        rep.preset.map(|p| p.as_str()).unwrap_or("?"),
    ));
    if rep.skipped_rows > 0 {
        let why: Vec<String> = rep
            .skipped_by_reason
            .iter()
            .map(|(r, n)| format!("{r}: {}", group_thousands(*n)))
            .collect();
        s.push_str(&format!(
            "Skipped {} rows with no usable key ({}).\n",
            group_thousands(rep.skipped_rows),
            why.join(", ")
        ));
    }
    if !rep.rejected_values_by_reason.is_empty() {
        let why: Vec<String> = rep
            .rejected_values_by_reason
            .iter()
            .map(|(r, n)| format!("{r}: {}", group_thousands(*n)))
            .collect();
        s.push_str(&format!(
            "Ignored values in kept rows: {}.\n",
            why.join(", ")
        ));
    }
    if rep.shared_mailbox_domains > 0 {
        // Counts only: which provider it was says nothing the user needs,
        // and the summary never names a value.
        s.push_str(&format!(
            "Shared mailbox domains left out: {} (on {} rows); rows of {SHARED_MAILBOX_NAMES} or more different company names carry each, so it is a mail provider's domain, not a company's website.\n",
            group_thousands(rep.shared_mailbox_domains),
            group_thousands(rep.shared_mailbox_rows)
        ));
    }
    if rep.names_without_country > 0 {
        s.push_str(&match rep.names_without_country_rule {
            NamesWithoutCountry::Omit => format!(
                "Left out {} company names without a usable country (rule for names without a country: omit).\n",
                group_thousands(rep.names_without_country)
            ),
            NamesWithoutCountry::Unqualified => format!(
                "Uploaded {} company names without a country; they only match the partner's names without one (rule for names without a country: unqualified).\n",
                group_thousands(rep.names_without_country)
            ),
        });
    }
    if rep.dedupe.ambiguous_keys > 0 {
        let (n, names) = (rep.dedupe.ambiguous_keys, rep.dedupe.ambiguous_names);
        if n == names {
            s.push_str(&format!(
                "Left out {} ambiguous names (with their country, city or postal code), each shared by several of your accounts",
                group_thousands(n)
            ));
        } else {
            s.push_str(&format!(
                "Left out {} ambiguous keys shared by several accounts ({} of them names)",
                group_thousands(n),
                group_thousands(names)
            ));
        }
        if rep.dedupe.accounts_without_keys > 0 {
            s.push_str(&format!(
                " ({} accounts had no other key and were left out)",
                group_thousands(rep.dedupe.accounts_without_keys)
            ));
        }
        s.push_str(".\n");
    }
    if rep.dedupe.common_city_names > 0 {
        s.push_str(&format!(
            "Left out the city-qualified names of {} accounts whose name more than {} of your accounts in one country share (a city does not tell those apart).\n",
            group_thousands(rep.dedupe.common_city_names),
            crate::dedupe::MAX_CITY_NAMESAKES
        ));
    }
    if rep.dedupe.rows_merged > 0 {
        s.push_str(&format!(
            "Merged {} duplicate rows into their accounts",
            group_thousands(rep.dedupe.rows_merged)
        ));
        if rep.dedupe.keys_dropped > 0 {
            s.push_str(&format!(
                " ({} conflicting keys left out)",
                group_thousands(rep.dedupe.keys_dropped)
            ));
        }
        s.push_str(".\n");
    }
    if let Some(l) = &rep.limits {
        if l.accounts_reassigned > 0 {
            s.push_str(&format!(
                "{} accounts were in more than {} population{} (the server's limit) and were kept in their first declared one{}.\n",
                group_thousands(l.accounts_reassigned),
                l.max_populations_per_row,
                if l.max_populations_per_row == 1 { "" } else { "s" },
                if l.max_populations_per_row == 1 { "" } else { "s" },
            ));
        }
        if l.other_left_out > 0 {
            s.push_str(&format!(
                "Left out {} accounts in none of your populations: fewer than the {} needed to form the {OTHER_POPULATION} population.\n",
                group_thousands(l.other_left_out),
                group_thousands(l.min_population_size)
            ));
        }
    }
    if let Some(line) = domains_line(rep) {
        s.push_str(&line);
    }
    let mut pops: Vec<String> = populations
        .iter()
        .zip(&rep.population_sizes)
        .map(|(p, n)| format!("{p} {}", group_thousands(*n)))
        .collect();
    if rep.other_accounts > 0 {
        pops.push(format!(
            "{OTHER_POPULATION} {}",
            group_thousands(rep.other_accounts)
        ));
    }
    s.push_str(&format!(
        "{} accounts; populations: {}.\n",
        group_thousands(accounts as u64),
        pops.join(", ")
    ));
    s
}

/// `Domains per account: none 120, one 18,000, 2 to 8 1,200 (2,345 from
/// further website columns and multi-valued cells; 12 beyond 8 left out).`
fn domains_line(rep: &InputReport) -> Option<String> {
    let by = &rep.accounts_by_domains;
    let several: u64 = by.iter().skip(2).sum();
    let cut = rep.domains_cut + rep.dedupe.domains_cut;
    if several == 0 && rep.extra_domains == 0 && cut == 0 {
        return None;
    }
    let at = |i: usize| group_thousands(by.get(i).copied().unwrap_or(0));
    let mut notes = Vec::new();
    if rep.extra_domains > 0 {
        notes.push(format!(
            "{} from further website columns and multi-valued cells",
            group_thousands(rep.extra_domains)
        ));
    }
    if cut > 0 {
        notes.push(format!(
            "{} beyond {MAX_DOMAIN_KEYS_PER_ROW} per account left out",
            group_thousands(cut)
        ));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    Some(format!(
        "Domains per account: none {}, one {}, 2 to {MAX_DOMAIN_KEYS_PER_ROW} {}{notes}.\n",
        at(0),
        at(1),
        group_thousands(several)
    ))
}

/// Writes `--rejects`: line, column, reason, whether the row was skipped.
pub fn write_rejects(path: &Path, rejects: &[Reject]) -> Result<()> {
    write_atomic(path, false, |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["line", "column", "reason", "row_skipped"])?;
        for r in rejects {
            w.write_record([
                r.line.to_string().as_str(),
                r.column.as_str(),
                r.reason,
                if r.row_skipped { "yes" } else { "no" },
            ])?;
        }
        w.flush()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A noisy result as the server sends it: the vendor hides its white
    /// space (so its totals too) and the partner has an "(other)" population.
    fn noisy() -> SessionResults {
        let approx =
            |v: u64| serde_json::json!({"approx": {"value": v, "low": v - 33, "high": v + 33}});
        serde_json::from_value(serde_json::json!({
            "session_id": "s", "partnership_id": "p", "computed_at": "2026-11-29T10:00:00Z",
            "my_role": "partner", "min_cell_size": 5,
            "policy": {"records": "counts", "vendor_shares_white_space": false,
                       "partner_shares_white_space": true, "name_matching": "when-strong-key-missing",
                       "counts": {"mode": "noisy", "epsilon": 1.0}},
            "disclosure": {"counts": {"mode": "noisy", "epsilon": 1.0}, "sensitivity": 11,
                           "interval_half_width": 33, "max_populations_per_row": 1, "max_keys_per_row": 3},
            "vendor": {"org": {"id": "v", "name": "Vendor"}, "populations": ["customers"],
                       "figures": [{"total": null, "matched": null, "white_space": null}]},
            "partner": {"org": {"id": "q", "name": "Partner"}, "populations": ["installed", "(other)"],
                        "figures": [{"total": approx(2100), "matched": approx(1058), "white_space": approx(1042)},
                                    {"total": approx(400), "matched": approx(40), "white_space": approx(360)}]},
            "cells": [[{"vendor_accounts": approx(1058), "partner_accounts": approx(1060)},
                       {"vendor_accounts": {"range": {"low": 0, "high": 4}}, "partner_accounts": {"range": {"low": 0, "high": 4}}}]]
        }))
        .unwrap()
    }

    #[test]
    fn approx_counts_show_their_estimate_and_interval() {
        let a = Count::Approx {
            value: 1058,
            low: 1025,
            high: 1091,
        };
        assert_eq!(count_plain(&a), "1058 (1025-1091)");
        assert_eq!(a.to_string(), "≈ 1,058");
        let r = noisy();
        assert_eq!(
            counts_mode_line(&r),
            "Noisy counts (ε 1, 95 % interval ± 33)"
        );
        let t = results_table(&r);
        assert!(
            t.starts_with("Noisy counts (ε 1, 95 % interval ± 33)"),
            "{t}"
        );
        assert!(t.contains("≈ 1,058 / ≈ 1,060"), "{t}");
        assert!(t.contains("installed (≈ 2,100)"), "{t}");
        assert!(t.contains("customers (—)"), "{t}");
        assert!(
            t.contains("(other) (≈ 400)") && t.contains("(other) = accounts"),
            "{t}"
        );
        let csv = String::from_utf8(results_csv(&r).unwrap()).unwrap();
        assert!(
            csv.contains("cell,customers,installed,1058 (1025-1091),1060 (1027-1093),,,"),
            "{csv}"
        );
        assert!(csv.contains("vendor,customers,,,,,,"), "{csv}");
        assert!(
            csv.contains("partner,,(other),,,400 (367-433),40 (7-73),360 (327-393)"),
            "{csv}"
        );
    }

    #[test]
    fn exact_results_say_so() {
        let mut r = noisy();
        r.disclosure.counts = CountsMode::Exact;
        r.disclosure.interval_half_width = None;
        assert_eq!(counts_mode_line(&r), "Exact counts");
        assert!(results_table(&r).starts_with("Exact counts.\n"));
    }
}

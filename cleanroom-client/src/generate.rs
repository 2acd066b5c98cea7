//! Realistic, messy CRM exports with ground truth, deterministic from a seed.
//!
//! Two exports (vendor and partner) share a fraction of their accounts. Noise
//! mimics real CRM data: casing, URL schemes, `www` and other subdomains,
//! paths, ccTLDs (`co.uk`, `com.au`, ...), legal-form suffixes, missing or
//! free-mail websites, duplicate rows with different types, junk rows with no
//! usable key, quoted commas and line breaks in free-text fields. Same-name
//! companies in different countries ("twins", different domains, always with
//! websites) appear on opposite sides and must *not* match.
//!
//! Every noisy value is checked against the real normalizer, so the
//! [`Truth`] stays exact: each entity is one account on each side it appears
//! on, and two accounts match exactly when they are the same entity.

use std::collections::HashSet;

use cleanroom_core::normalize;
use serde::{Deserialize, Serialize};

use crate::csv_input::{CsvRow, CsvTable};
use crate::error::{Error, Result};
use crate::populations::BoundPopulations;
use crate::presets::Preset;

/// The export layout to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Salesforce accounts report: BOM, CRLF, `Type`, `D-U-N-S Number`.
    Salesforce,
    /// HubSpot companies export: `Lifecycle Stage`, domain + URL columns.
    HubSpot,
}

impl Format {
    /// Parses `salesforce` or `hubspot`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "salesforce" => Ok(Format::Salesforce),
            "hubspot" => Ok(Format::HubSpot),
            _ => Err(Error::Config(format!(
                "unknown format {s:?} (salesforce, hubspot)"
            ))),
        }
    }

    fn preset(self) -> Preset {
        match self {
            Format::Salesforce => Preset::Salesforce,
            Format::HubSpot => Preset::HubSpot,
        }
    }
}

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct GenerateOptions {
    /// Accounts per side (distinct entities, before duplicate and junk rows).
    pub accounts: usize,
    /// Fraction of each side's accounts that the other side also has.
    pub overlap: f64,
    /// The seed: equal options give byte-identical output.
    pub seed: u64,
    /// Layout.
    pub format: Format,
}

/// One entity of the ground truth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthEntity {
    /// Entity number.
    pub id: u32,
    /// Normalized name key value.
    pub name: String,
    /// Registrable domain.
    pub domain: String,
    /// The vendor's populations for it, if the vendor has it.
    pub vendor: Option<Vec<String>>,
    /// The partner's populations for it, if the partner has it.
    pub partner: Option<Vec<String>>,
    /// Whether it is one of a same-name pair that must not match.
    pub twin: bool,
}

/// The ground truth of a generated pair of exports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Options used.
    pub seed: u64,
    /// Layout.
    pub format: Format,
    /// Vendor population names (the preset's defaults, in order).
    pub vendor_populations: Vec<String>,
    /// Partner population names.
    pub partner_populations: Vec<String>,
    /// Every entity.
    pub entities: Vec<TruthEntity>,
    /// Data rows in the vendor export (duplicates and junk included).
    pub vendor_rows: u64,
    /// Data rows in the partner export.
    pub partner_rows: u64,
    /// Junk rows (no usable key) in the vendor export.
    pub vendor_junk_rows: u64,
    /// Junk rows in the partner export.
    pub partner_junk_rows: u64,
}

/// The plaintext overlap a correct session must report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectedOverlap {
    /// Vendor population names as the results list them: the declared ones,
    /// then [`OTHER_POPULATION`](cleanroom_core::wire::OTHER_POPULATION) if
    /// accounts in none of them were uploaded.
    pub vendor_populations: Vec<String>,
    /// Partner population names, likewise.
    pub partner_populations: Vec<String>,
    /// `cells[v][p]`: vendor accounts of `v` matching partner accounts of `p`
    /// (equal to the partner count, as every match is one-to-one here).
    pub cells: Vec<Vec<u64>>,
    /// Vendor accounts per population.
    pub vendor_totals: Vec<u64>,
    /// Vendor accounts per population that match anything.
    pub vendor_matched: Vec<u64>,
    /// Partner accounts per population.
    pub partner_totals: Vec<u64>,
    /// Partner accounts per population that match anything.
    pub partner_matched: Vec<u64>,
}

impl Truth {
    /// Computes the expected matrix and white space in plaintext, under the
    /// server's default limits: one population per account, and any number
    /// of accounts in no population form "(other)".
    pub fn expected(&self) -> ExpectedOverlap {
        self.expected_with(1, 1)
    }

    /// Computes the expected matrix and white space in plaintext, for a
    /// server with these limits, following the client's rules
    /// ([`PreparedInput::fit_limits`](crate::prepare::PreparedInput::fit_limits)):
    /// an account keeps its first `max_populations_per_row` populations, and
    /// accounts in none form "(other)" when there are at least
    /// `min_population_size` of them, else they are left out.
    pub fn expected_with(
        &self,
        max_populations_per_row: u64,
        min_population_size: u64,
    ) -> ExpectedOverlap {
        let max = usize::try_from(max_populations_per_row.max(1)).unwrap_or(usize::MAX);
        // Population indices of each entity's account on one side; `None`
        // when the side does not have it or leaves it out.
        let side = |names: &[String], pops: fn(&TruthEntity) -> &Option<Vec<String>>| {
            let mut idx: Vec<Option<Vec<usize>>> = self
                .entities
                .iter()
                .map(|e| {
                    pops(e).as_ref().map(|p| {
                        let mut i: Vec<usize> = p
                            .iter()
                            .filter_map(|p| names.iter().position(|n| n == p))
                            .collect();
                        i.sort_unstable();
                        i.truncate(max);
                        i
                    })
                })
                .collect();
            let other = idx.iter().flatten().filter(|i| i.is_empty()).count() as u64;
            let mut names = names.to_vec();
            if other > 0 && other >= min_population_size {
                for i in idx.iter_mut().flatten().filter(|i| i.is_empty()) {
                    i.push(names.len());
                }
                names.push(cleanroom_core::wire::OTHER_POPULATION.to_owned());
            } else {
                for i in idx
                    .iter_mut()
                    .filter(|i| i.as_ref().is_some_and(Vec::is_empty))
                {
                    *i = None;
                }
            }
            (names, idx)
        };
        let (vnames, vidx) = side(&self.vendor_populations, |e| &e.vendor);
        let (pnames, pidx) = side(&self.partner_populations, |e| &e.partner);
        let (nv, np) = (vnames.len(), pnames.len());
        let mut e = ExpectedOverlap {
            vendor_populations: vnames,
            partner_populations: pnames,
            cells: vec![vec![0; np]; nv],
            vendor_totals: vec![0; nv],
            vendor_matched: vec![0; nv],
            partner_totals: vec![0; np],
            partner_matched: vec![0; np],
        };
        for (v, p) in vidx.iter().zip(&pidx) {
            let shared = v.is_some() && p.is_some();
            for &i in v.iter().flatten() {
                e.vendor_totals[i] += 1;
                e.vendor_matched[i] += shared as u64;
            }
            for &j in p.iter().flatten() {
                e.partner_totals[j] += 1;
                e.partner_matched[j] += shared as u64;
            }
            if let (Some(v), Some(p)) = (v, p) {
                for &i in v {
                    for &j in p {
                        e.cells[i][j] += 1;
                    }
                }
            }
        }
        e
    }

    /// Entities on both sides.
    pub fn shared(&self) -> usize {
        self.entities
            .iter()
            .filter(|e| e.vendor.is_some() && e.partner.is_some())
            .count()
    }
}

/// A generated pair of exports.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The vendor's CSV.
    pub vendor_csv: Vec<u8>,
    /// The partner's CSV.
    pub partner_csv: Vec<u8>,
    /// The ground truth.
    pub truth: Truth,
}

/// SplitMix64: tiny, fast, and its output will never change under us.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

const FIRST: &[&str] = &[
    "Blue",
    "Apex",
    "Nova",
    "Summit",
    "Cedar",
    "Harbor",
    "Iron",
    "Silver",
    "Golden",
    "Maple",
    "North",
    "Pacific",
    "Atlas",
    "Beacon",
    "Cobalt",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Horizon",
    "Indigo",
    "Juniper",
    "Keystone",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Orchid",
    "Pioneer",
    "Quantum",
    "Redwood",
    "Sapphire",
    "Titan",
    "Unity",
    "Vertex",
    "Willow",
    "Zenith",
    "Aurora",
    "Bright",
    "Crystal",
    "Dynamo",
    "Evergreen",
    "Frontier",
    "Glacier",
    "Highland",
    "Ivory",
    "Jade",
    "Kestrel",
    "Lighthouse",
    "Monarch",
    "Northwind",
    "Oakridge",
    "Prairie",
    "Quarry",
    "Riverside",
    "Stonebridge",
    "Timber",
    "Upland",
    "Valley",
    "Westfield",
    "Yellowstone",
];
const SECOND: &[&str] = &[
    "Analytics",
    "Logistics",
    "Systems",
    "Dynamics",
    "Networks",
    "Foods",
    "Energy",
    "Health",
    "Media",
    "Robotics",
    "Capital",
    "Partners",
    "Labs",
    "Software",
    "Industries",
    "Manufacturing",
    "Consulting",
    "Retail",
    "Pharma",
    "Biotech",
    "Solutions",
    "Ventures",
    "Telecom",
    "Security",
    "Insurance",
    "Freight",
    "Textiles",
    "Motors",
    "Aerospace",
    "Hospitality",
    "Studios",
    "Brewing",
    "Outfitters",
    "Clinics",
    "Foundry",
    "Instruments",
    "Materials",
    "Devices",
    "Payments",
    "Learning",
];
const THIRD: &[&str] = &[
    "",
    "",
    "",
    "Group",
    "Holdings",
    "International",
    "Global",
    "Worldwide",
    "Services",
    "Technologies",
    "Works",
    "Enterprises",
    "Associates",
    "Collective",
];
/// Legal-form spellings; all of each family normalize away.
const LEGAL: &[&[&str]] = &[
    &[""],
    &["Inc", "Inc.", ", Inc.", "Incorporated", "INC"],
    &["Ltd", "Ltd.", "Limited", "LTD"],
    &["LLC", "L.L.C.", ", LLC"],
    &["GmbH", "GMBH"],
    &["Corp", "Corp.", "Corporation"],
    &["Pty Ltd", "Pty. Ltd."],
    &["S.A.", "SA"],
];
/// (country, TLD suffix) pairs; twins use two different ones.
const COUNTRIES: &[(&str, &str)] = &[
    ("United States", "com"),
    ("United States", "com"),
    ("United States", "io"),
    ("United Kingdom", "co.uk"),
    ("Australia", "com.au"),
    ("Germany", "de"),
    ("France", "fr"),
    ("Canada", "ca"),
    ("Japan", "co.jp"),
    ("Brazil", "com.br"),
    ("New Zealand", "co.nz"),
    ("Netherlands", "nl"),
];
const INDUSTRIES: &[&str] = &[
    "Technology",
    "Manufacturing",
    "Retail",
    "Finance",
    "Healthcare",
    "Education",
    "Media",
    "",
];
const SF_TYPES: &[&str] = &[
    "Customer",
    "Customer",
    "customer",
    "Customer - Direct",
    "Customer - Channel",
    "Prospect",
    "Prospect",
    "PROSPECT",
    "Other",
    "Channel Partner / Reseller",
    "Technology Partner",
    "",
];
const HS_STAGES: &[&str] = &[
    "customer",
    "customer",
    "Customer",
    "opportunity",
    "salesqualifiedlead",
    "lead",
    "lead",
    "marketingqualifiedlead",
    "subscriber",
    "evangelist",
    "other",
    "",
];
const MISSING_WEBSITE: &[&str] = &["", "", "", "n/a", "info@gmail.com", "none"];

struct Entity {
    base: String,
    legal: usize,
    host: String,
    country: &'static str,
    duns: Option<String>,
    twin: bool,
}

struct SideEntity {
    entity: usize,
    missing_website: bool,
    with_duns: bool,
    rows: usize,
}

/// Generates a vendor and a partner export with their ground truth.
pub fn generate(opts: &GenerateOptions) -> Result<Generated> {
    if !(0.0..=1.0).contains(&opts.overlap) {
        return Err(Error::Config("--overlap must be between 0 and 1".into()));
    }
    if opts.accounts == 0 || opts.accounts > 5_000_000 {
        return Err(Error::Config(
            "--accounts must be between 1 and 5,000,000".into(),
        ));
    }
    let mut rng = Rng(opts.seed ^ 0x636c_6561_6e72_6f6f);
    let n = opts.accounts;
    let shared = ((n as f64) * opts.overlap).round() as usize;
    let only = n - shared;
    let twins = (only / 50).min(only);
    // Vendor: shared + vendor-only (twins last). Partner: shared +
    // partner-only + one same-name sibling per twin.
    let total_entities = shared + 2 * only;

    // Entities: unique normalized names and domains (twins share a name).
    let mut names = HashSet::new();
    let mut hosts = HashSet::new();
    let mut duns_seen = HashSet::new();
    let mut entities: Vec<Entity> = Vec::with_capacity(total_entities);
    let mut attempt = 0u64;
    while entities.len() < total_entities - twins {
        attempt += 1;
        let third = rng.pick(THIRD);
        let mut base = format!("{} {}", rng.pick(FIRST), rng.pick(SECOND));
        if !third.is_empty() {
            base = format!("{base} {third}");
        }
        if attempt > 40 * total_entities as u64 || rng.chance(0.02) {
            // The word lists run out for large N: add a distinguishing word.
            base = format!("{base} {}", number_word(rng.below(100_000)));
        }
        let Ok(key) = normalize::company_name(&base) else {
            continue;
        };
        if !names.insert(key.value().to_owned()) {
            continue;
        }
        let (country, tld) = *rng.pick(COUNTRIES);
        let host = format!("{}.{tld}", base.to_ascii_lowercase().replace(' ', ""));
        let Ok(dkey) = normalize::domain(&host) else {
            continue;
        };
        if dkey.value() != host || !hosts.insert(host.clone()) {
            continue;
        }
        let duns = if rng.chance(0.4) {
            let d = format!("{:09}", 100_000_000 + rng.below(899_999_999));
            (normalize::duns(&d).is_ok() && duns_seen.insert(d.clone())).then_some(d)
        } else {
            None
        };
        entities.push(Entity {
            base,
            legal: rng.below(LEGAL.len()),
            host,
            country,
            duns,
            twin: false,
        });
    }
    // Twins: the last `twins` vendor-only entities get a same-name sibling in
    // another country, which goes to the partner side.
    let vendor_only_start = shared;
    let twin_src: Vec<usize> =
        (vendor_only_start + only - twins..vendor_only_start + only).collect();
    for &src in &twin_src {
        entities[src].twin = true;
        let base = entities[src].base.clone();
        let stem = base.to_ascii_lowercase().replace(' ', "");
        let (country, host) = loop {
            let (country, tld) = *rng.pick(COUNTRIES);
            let host = format!("{stem}.{tld}");
            if country != entities[src].country && hosts.insert(host.clone()) {
                break (country, host);
            }
        };
        entities.push(Entity {
            base,
            legal: rng.below(LEGAL.len()),
            host,
            country,
            duns: None,
            twin: true,
        });
    }
    // Layout of entity indices: [0, shared) both sides; [shared, shared+only)
    // vendor only (twins at its end); the rest partner only (twin siblings last).
    let vendor_ids: Vec<usize> = (0..shared + only).collect();
    let partner_ids: Vec<usize> = (0..shared).chain(shared + only..entities.len()).collect();

    let preset = opts.format.preset();
    let header = headers(opts.format);
    let table = CsvTable {
        headers: header.iter().map(|s| s.to_string()).collect(),
        rows: vec![],
    };
    let pops = preset.default_populations(&table);
    let bound = BoundPopulations::bind(&pops, &table)?;
    let pop_names: Vec<String> = bound.names().to_vec();

    let mut truth_pops: Vec<[Option<Vec<String>>; 2]> = vec![[None, None]; entities.len()];
    let mut csvs = Vec::new();
    let mut row_counts = [0u64; 2];
    let mut junk_counts = [0u64; 2];
    for (side, ids) in [&vendor_ids, &partner_ids].into_iter().enumerate() {
        let plan: Vec<SideEntity> = ids
            .iter()
            .map(|&e| SideEntity {
                entity: e,
                missing_website: !entities[e].twin && rng.chance(0.08),
                with_duns: entities[e].duns.is_some() && rng.chance(0.7),
                rows: if rng.chance(0.05) { 2 } else { 1 },
            })
            .collect();
        let mut rows: Vec<(Option<usize>, Vec<String>)> = Vec::new();
        for se in &plan {
            let e = &entities[se.entity];
            let mut mask = 0u64;
            for _ in 0..se.rows {
                let fields = row_fields(&mut rng, opts.format, e, se, rows.len());
                let probe = CsvRow::new(0, &fields);
                mask |= bound.mask(&probe);
                rows.push((Some(se.entity), fields));
            }
            truth_pops[se.entity][side] = Some(
                (0..pop_names.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| pop_names[i].clone())
                    .collect(),
            );
        }
        let junk = (ids.len() / 100).max(1);
        for _ in 0..junk {
            let fields = junk_fields(&mut rng, opts.format, rows.len());
            rows.push((None, fields));
        }
        rng.shuffle(&mut rows);
        row_counts[side] = rows.len() as u64;
        junk_counts[side] = junk as u64;
        csvs.push(write_csv(
            opts.format,
            &header,
            rows.into_iter().map(|r| r.1),
        )?);
    }

    let truth = Truth {
        seed: opts.seed,
        format: opts.format,
        vendor_populations: pop_names.clone(),
        partner_populations: pop_names,
        entities: entities
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let [v, p] = truth_pops[i].clone();
                TruthEntity {
                    id: i as u32,
                    name: normalize::company_name(&e.base)
                        .map(|k| k.value().to_owned())
                        .unwrap_or_default(),
                    domain: e.host.clone(),
                    vendor: v,
                    partner: p,
                    twin: e.twin,
                }
            })
            .collect(),
        vendor_rows: row_counts[0],
        partner_rows: row_counts[1],
        vendor_junk_rows: junk_counts[0],
        partner_junk_rows: junk_counts[1],
    };
    // invariant: the loop above renders exactly the two sides.
    let partner_csv = csvs.pop().expect("two sides");
    // invariant: as above.
    let vendor_csv = csvs.pop().expect("two sides");
    Ok(Generated {
        vendor_csv,
        partner_csv,
        truth,
    })
}

fn number_word(n: usize) -> String {
    const SYL: &[&str] = &["ka", "ro", "mi", "ta", "ze", "lu", "no", "vi", "sa", "de"];
    let mut s = String::new();
    let mut n = n;
    loop {
        s.push_str(SYL[n % 10]);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => s,
    }
}

fn headers(format: Format) -> Vec<&'static str> {
    match format {
        Format::Salesforce => vec![
            "Account ID",
            "Account Name",
            "Type",
            "Website",
            "D-U-N-S Number",
            "Industry",
            "BillingCountry",
            "Description",
        ],
        Format::HubSpot => vec![
            "Record ID",
            "Company name",
            "Company Domain Name",
            "Website URL",
            "Lifecycle Stage",
            "Industry",
            "Country/Region",
        ],
    }
}

/// A name spelling that normalizes to the entity's name key.
fn noisy_name(rng: &mut Rng, e: &Entity) -> String {
    let canonical = normalize::company_name(&e.base).map(|k| k.value().to_owned());
    let suffix = rng.pick(LEGAL[e.legal]);
    let mut name = if suffix.is_empty() {
        e.base.clone()
    } else if suffix.starts_with(',') {
        format!("{}{suffix}", e.base)
    } else {
        format!("{} {suffix}", e.base)
    };
    match rng.below(6) {
        0 => name = name.to_uppercase(),
        1 => name = name.to_lowercase(),
        2 => name = format!("  {name} "),
        _ => {}
    }
    match normalize::company_name(&name) {
        Ok(k) if Ok(k.value().to_owned()) == canonical => name,
        _ => e.base.clone(),
    }
}

/// A website spelling that normalizes to the entity's domain.
fn noisy_website(rng: &mut Rng, host: &str) -> String {
    let sub = *rng.pick(&["", "", "www.", "www.", "shop.", "en.", "WWW."]);
    let scheme = *rng.pick(&["", "http://", "https://", "https://", "HTTPS://"]);
    let path = *rng.pick(&["", "", "/", "/about-us", "/en/home?ref=crm", "#contact"]);
    let mut h = format!("{sub}{host}");
    if rng.chance(0.15) {
        h = h.to_uppercase();
    }
    let url = format!("{scheme}{h}{path}");
    match normalize::domain(&url) {
        Ok(k) if k.value() == host => url,
        _ => host.to_owned(),
    }
}

fn missing_website(rng: &mut Rng) -> String {
    let v = rng.pick(MISSING_WEBSITE).to_string();
    if normalize::domain(&v).is_ok() {
        String::new()
    } else {
        v
    }
}

fn row_fields(rng: &mut Rng, format: Format, e: &Entity, se: &SideEntity, n: usize) -> Vec<String> {
    let name = noisy_name(rng, e);
    let (site, domain) = if se.missing_website {
        (missing_website(rng), String::new())
    } else {
        (noisy_website(rng, &e.host), e.host.clone())
    };
    let industry = rng.pick(INDUSTRIES).to_string();
    match format {
        Format::Salesforce => {
            let duns = match (&e.duns, se.with_duns) {
                (Some(d), true) if rng.chance(0.5) => {
                    format!("{}-{}-{}", &d[..2], &d[2..5], &d[5..])
                }
                (Some(d), true) => d.clone(),
                _ => String::new(),
            };
            let desc = match rng.below(5) {
                0 => "Key account, renewal due Q3".to_owned(),
                1 => "Met at \"Summit\" conference\nfollow up".to_owned(),
                _ => String::new(),
            };
            vec![
                format!("001{:012}", n),
                name,
                rng.pick(SF_TYPES).to_string(),
                site,
                duns,
                industry,
                e.country.to_owned(),
                desc,
            ]
        }
        Format::HubSpot => {
            // HubSpot fills the domain column from the URL; some rows only have the URL.
            let (dom_col, url_col) = if se.missing_website {
                (String::new(), site)
            } else if rng.chance(0.7) {
                (domain, site)
            } else {
                (String::new(), site)
            };
            vec![
                format!("{}", 9_000_000 + n),
                name,
                dom_col,
                url_col,
                rng.pick(HS_STAGES).to_string(),
                industry,
                e.country.to_owned(),
            ]
        }
    }
}

fn junk_fields(rng: &mut Rng, format: Format, n: usize) -> Vec<String> {
    let name = rng.pick(&["", "", "!!!", "-", "???"]).to_string();
    let site = rng
        .pick(&["", "localhost", "http://", "gmail.com", "n/a"])
        .to_string();
    let keep =
        |v: &str,
         f: fn(
            &str,
        )
            -> std::result::Result<cleanroom_core::AccountKey, normalize::RejectReason>| {
            if f(v).is_ok() {
                String::new()
            } else {
                v.to_owned()
            }
        };
    let name = keep(&name, normalize::company_name);
    let site = keep(&site, normalize::domain);
    match format {
        Format::Salesforce => vec![
            format!("001{:012}", n),
            name,
            rng.pick(SF_TYPES).to_string(),
            site,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ],
        // A ragged row: HubSpot exports sometimes drop trailing empty fields.
        Format::HubSpot => vec![format!("{}", 9_000_000 + n), name, String::new(), site],
    }
}

fn write_csv(
    format: Format,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let terminator = match format {
        Format::Salesforce => {
            out.extend_from_slice(b"\xEF\xBB\xBF");
            csv::Terminator::CRLF
        }
        Format::HubSpot => csv::Terminator::Any(b'\n'),
    };
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(terminator)
        .from_writer(out);
    let err = |e: csv::Error| Error::Input(format!("cannot write CSV: {e}"));
    w.write_record(header).map_err(err)?;
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::Input(format!("cannot write CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed: u64, format: Format) -> GenerateOptions {
        GenerateOptions {
            accounts: 400,
            overlap: 0.3,
            seed,
            format,
        }
    }

    #[test]
    fn deterministic_from_seed() {
        let a = generate(&opts(7, Format::Salesforce)).unwrap();
        let b = generate(&opts(7, Format::Salesforce)).unwrap();
        let c = generate(&opts(8, Format::Salesforce)).unwrap();
        assert_eq!(a.vendor_csv, b.vendor_csv);
        assert_eq!(a.partner_csv, b.partner_csv);
        assert_eq!(a.truth, b.truth);
        assert_ne!(a.vendor_csv, c.vendor_csv);
        assert_eq!(a.truth.shared(), 120);
        let per_side =
            |f: fn(&TruthEntity) -> bool| a.truth.entities.iter().filter(|e| f(e)).count();
        assert_eq!(per_side(|e| e.vendor.is_some()), 400);
        assert_eq!(per_side(|e| e.partner.is_some()), 400);
        assert!(a.truth.entities.iter().any(|e| e.twin));
    }

    #[test]
    fn local_processing_agrees_with_truth() {
        for format in [Format::Salesforce, Format::HubSpot] {
            let g = generate(&opts(11, format)).unwrap();
            for (csv, side) in [(&g.vendor_csv, 0), (&g.partner_csv, 1)] {
                let table = crate::csv_input::parse_csv(csv, "g.csv".as_ref()).unwrap();
                let p = crate::prepare::prepare(
                    &table,
                    &Default::default(),
                    &crate::progress::no_progress(),
                )
                .unwrap();
                let in_side = |e: &&TruthEntity| {
                    if side == 0 {
                        e.vendor.is_some()
                    } else {
                        e.partner.is_some()
                    }
                };
                let expected = g.truth.entities.iter().filter(in_side).count();
                assert_eq!(p.accounts.len(), expected, "{format:?} side {side}");
                let totals = |e: ExpectedOverlap| {
                    if side == 0 {
                        e.vendor_totals
                    } else {
                        e.partner_totals
                    }
                };
                let n = p.populations.len();
                // Before fitting to a server: every population an account is in.
                let all = totals(g.truth.expected_with(64, 1));
                assert_eq!(
                    p.report.population_sizes,
                    all[..n],
                    "{format:?} side {side}"
                );
                assert_eq!(
                    p.report.other_accounts,
                    all.get(n).copied().unwrap_or(0),
                    "{format:?} side {side}"
                );
                // Fitted to the default one population per account.
                let mut p = p;
                p.fit_limits(&crate::prepare::tests::limits(1, 1)).unwrap();
                let one = totals(g.truth.expected());
                assert_eq!(
                    p.report.population_sizes,
                    one[..n],
                    "{format:?} side {side}"
                );
                assert_eq!(p.report.other_accounts, one.get(n).copied().unwrap_or(0));
                assert!(p.accounts.iter().all(|a| a.populations.count_ones() <= 1));
                let junk = if side == 0 {
                    g.truth.vendor_junk_rows
                } else {
                    g.truth.partner_junk_rows
                };
                assert_eq!(p.report.skipped_rows, junk);
            }
        }
    }
}

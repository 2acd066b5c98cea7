//! Column mappings and default populations for common CRM exports.

use crate::csv_input::CsvTable;
use crate::error::{Error, Result};
use crate::populations::Population;

/// A known export layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Salesforce "Accounts" report or Data Loader export.
    Salesforce,
    /// HubSpot "Companies" export.
    HubSpot,
    /// Anything else: columns must be named explicitly or be obvious.
    Generic,
}

/// Which columns hold the account keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnMapping {
    /// Website or domain column.
    pub domain: Option<usize>,
    /// Further website columns read on every row, besides `domain` (HubSpot's
    /// `Website URL` and `Additional Domains`, a second website field). Their
    /// domains join the account's up to
    /// [`MAX_DOMAIN_KEYS_PER_ROW`](cleanroom_core::wire::MAX_DOMAIN_KEYS_PER_ROW).
    pub extra_domains: Vec<usize>,
    /// Company name column.
    pub name: Option<usize>,
    /// DUNS column.
    pub duns: Option<usize>,
    /// Country column, which qualifies the company name's key.
    pub country: Option<usize>,
    /// City column, which qualifies the second name key
    /// ([`KeyType::CityName`](cleanroom_core::KeyType::CityName)).
    pub city: Option<usize>,
    /// Postal-code column, which qualifies the third name key
    /// ([`KeyType::PostcodeName`](cleanroom_core::KeyType::PostcodeName)).
    pub postcode: Option<usize>,
    /// Telephone column, which qualifies the fourth name key
    /// ([`KeyType::PhoneName`](cleanroom_core::KeyType::PhoneName)).
    pub phone: Option<usize>,
}

/// Explicit column names that override a preset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnOverrides {
    /// `--domain-col`.
    pub domain: Option<String>,
    /// `--extra-domain-col` (repeatable); when given, replaces the preset's
    /// extra website columns.
    pub extra_domains: Vec<String>,
    /// `--name-col`.
    pub name: Option<String>,
    /// `--duns-col`.
    pub duns: Option<String>,
    /// `--country-col`.
    pub country: Option<String>,
    /// `--city-col`.
    pub city: Option<String>,
    /// `--postcode-col`.
    pub postcode: Option<String>,
    /// `--phone-col`.
    pub phone: Option<String>,
}

/// The column names a preset looks for, each list in order of preference.
struct Candidates {
    domain: &'static [&'static str],
    /// Every one of these that is present (and is not the domain column) is
    /// read as well.
    extra_domains: &'static [&'static str],
    name: &'static [&'static str],
    duns: &'static [&'static str],
    country: &'static [&'static str],
    /// In the order of `country`, so a billing country goes with a billing city.
    city: &'static [&'static str],
    /// Likewise.
    postcode: &'static [&'static str],
    /// The company's main number first: a person's direct line tells less.
    phone: &'static [&'static str],
}

const SALESFORCE: Candidates = Candidates {
    domain: &["Website", "Account Website", "Domain"],
    extra_domains: &["Additional Websites", "Website 2", "Secondary Website"],
    name: &["Account Name", "Name", "AccountName"],
    duns: &["D-U-N-S Number", "DunsNumber", "DUNS Number", "DUNS"],
    country: &[
        "Billing Country",
        "BillingCountry",
        "Shipping Country",
        "ShippingCountry",
        "Country",
    ],
    city: &[
        "Billing City",
        "BillingCity",
        "Shipping City",
        "ShippingCity",
        "City",
    ],
    postcode: &[
        "Billing Zip/Postal Code",
        "BillingPostalCode",
        "Billing Postal Code",
        "Shipping Zip/Postal Code",
        "ShippingPostalCode",
        "Postal Code",
    ],
    phone: &["Phone", "Account Phone", "Main Phone"],
};

const HUBSPOT: Candidates = Candidates {
    domain: &["Company Domain Name", "Website URL", "Domain", "Website"],
    // HubSpot keeps the primary domain and the website in two fields that
    // often differ (a marketing site, a parent's domain), and every further
    // domain of the company in one `;`-separated field.
    extra_domains: &["Website URL", "Additional Domains"],
    name: &["Company name", "Name", "Company"],
    duns: &["DUNS Number", "D-U-N-S Number", "DUNS"],
    country: &["Country/Region", "Country"],
    city: &["City"],
    postcode: &["Postal Code", "Zip", "Zip Code"],
    phone: &["Phone Number", "Phone", "Company Phone"],
};

const GENERIC: Candidates = Candidates {
    domain: &[
        "Website",
        "Domain",
        "Company Domain Name",
        "Website URL",
        "URL",
        "Email",
    ],
    extra_domains: &["Additional Domains", "Other Websites"],
    name: &[
        "Account Name",
        "Company name",
        "Company",
        "Name",
        "Organization",
    ],
    duns: &["DUNS", "DUNS Number", "D-U-N-S Number", "DunsNumber"],
    country: &[
        "Country",
        "Country/Region",
        "Billing Country",
        "Country Code",
    ],
    city: &["City", "Town", "Billing City"],
    postcode: &[
        "Postal Code",
        "Postcode",
        "ZIP",
        "Zip Code",
        "ZIP/Postal Code",
        "Billing Zip/Postal Code",
    ],
    phone: &[
        "Phone",
        "Phone Number",
        "Main Phone",
        "Company Phone",
        "Telephone",
    ],
};

impl Preset {
    /// Parses `salesforce`, `hubspot` or `generic`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "salesforce" | "sfdc" => Ok(Preset::Salesforce),
            "hubspot" => Ok(Preset::HubSpot),
            "generic" | "none" => Ok(Preset::Generic),
            _ => Err(Error::Config(format!(
                "unknown preset {s:?} (salesforce, hubspot, generic)"
            ))),
        }
    }

    /// The preset's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Salesforce => "salesforce",
            Preset::HubSpot => "hubspot",
            Preset::Generic => "generic",
        }
    }

    /// Guesses the layout from the header row.
    pub fn detect(table: &CsvTable) -> Preset {
        let has = |n: &str| table.column(n).is_some();
        if has("Account Name")
            || has("DunsNumber")
            || has("BillingCountry")
            || has("Billing Country")
        {
            Preset::Salesforce
        } else if has("Company name") || has("Company Domain Name") || has("Lifecycle Stage") {
            Preset::HubSpot
        } else {
            Preset::Generic
        }
    }

    fn candidates(self) -> &'static Candidates {
        match self {
            Preset::Salesforce => &SALESFORCE,
            Preset::HubSpot => &HUBSPOT,
            Preset::Generic => &GENERIC,
        }
    }

    /// The preset's candidate columns for the domain, the name and the DUNS,
    /// each in order of preference.
    pub fn key_candidates(self) -> [&'static [&'static str]; 3] {
        let c = self.candidates();
        [c.domain, c.name, c.duns]
    }

    /// Resolves the key columns: explicit overrides first, then the preset's
    /// usual names. At least one key column must be found; a country column
    /// alone is no key.
    pub fn columns(self, table: &CsvTable, overrides: &ColumnOverrides) -> Result<ColumnMapping> {
        let cands = self.candidates();
        let named = |col: &str, flag: &str| -> Result<usize> {
            table.column(col).ok_or_else(|| {
                Error::Input(format!(
                    "{flag} {col:?}: no such column (columns: {})",
                    table.headers.join(", ")
                ))
            })
        };
        let pick =
            |explicit: &Option<String>, flag: &str, cands: &[&str]| -> Result<Option<usize>> {
                match explicit {
                    Some(col) => named(col, flag).map(Some),
                    None => Ok(cands.iter().find_map(|c| table.column(c))),
                }
            };
        let domain = pick(&overrides.domain, "--domain-col", cands.domain)?;
        let mut extra_domains: Vec<usize> = Vec::new();
        if overrides.extra_domains.is_empty() {
            extra_domains.extend(cands.extra_domains.iter().filter_map(|c| table.column(c)));
        } else {
            for col in &overrides.extra_domains {
                extra_domains.push(named(col, "--extra-domain-col")?);
            }
        }
        // A column listed twice, or also the domain column, would only read
        // the same values again.
        let mut seen: Vec<usize> = domain.into_iter().collect();
        extra_domains.retain(|c| {
            let new = !seen.contains(c);
            seen.push(*c);
            new
        });
        let m = ColumnMapping {
            domain,
            extra_domains,
            name: pick(&overrides.name, "--name-col", cands.name)?,
            duns: pick(&overrides.duns, "--duns-col", cands.duns)?,
            country: pick(&overrides.country, "--country-col", cands.country)?,
            city: pick(&overrides.city, "--city-col", cands.city)?,
            postcode: pick(&overrides.postcode, "--postcode-col", cands.postcode)?,
            phone: pick(&overrides.phone, "--phone-col", cands.phone)?,
        };
        if m.domain.is_none() && m.extra_domains.is_empty() && m.name.is_none() && m.duns.is_none()
        {
            return Err(Error::Input(format!(
                "no website, company name or DUNS column found (columns: {}); name them with --domain-col, --name-col or --duns-col",
                table.headers.join(", ")
            )));
        }
        Ok(m)
    }

    /// The default populations of the preset. Rules whose column is missing
    /// from `table` are left out; when none is left, one population `all`.
    pub fn default_populations(self, table: &CsvTable) -> Vec<Population> {
        let specs: &[&str] = match self {
            Preset::Salesforce => &[
                "customers=Type in (Customer, Customer - Direct, Customer - Channel)",
                "prospects=Type in (Prospect, Other)",
                "partners=Type in (Partner, Channel Partner / Reseller, Installation Partner, Technology Partner)",
            ],
            Preset::HubSpot => &[
                "customers=Lifecycle Stage=customer",
                "opportunities=Lifecycle Stage in (opportunity, salesqualifiedlead)",
                "leads=Lifecycle Stage in (lead, marketingqualifiedlead, subscriber)",
            ],
            Preset::Generic => &[],
        };
        let pops: Vec<Population> = specs
            .iter()
            // invariant: the built-in rules are constants covered by the preset tests.
            .map(|s| Population::parse(s).expect("built-in rule parses"))
            .filter(|p| p.rule.column().is_none_or(|c| table.column(c).is_some()))
            .collect();
        if pops.is_empty() {
            // invariant: a constant rule covered by the preset tests.
            vec![Population::parse("all=*").expect("built-in rule parses")]
        } else {
            pops
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(h: &[&str]) -> CsvTable {
        CsvTable {
            headers: h.iter().map(|s| s.to_string()).collect(),
            rows: vec![],
        }
    }

    #[test]
    fn detects_and_maps() {
        let sf = table(&[
            "Account Name",
            "Website",
            "DunsNumber",
            "Type",
            "BillingCountry",
        ]);
        assert_eq!(Preset::detect(&sf), Preset::Salesforce);
        let m = Preset::Salesforce
            .columns(&sf, &ColumnOverrides::default())
            .unwrap();
        assert_eq!(
            m,
            ColumnMapping {
                domain: Some(1),
                extra_domains: vec![],
                name: Some(0),
                duns: Some(2),
                country: Some(4),
                city: None,
                postcode: None,
                phone: None,
            }
        );
        assert_eq!(Preset::Salesforce.default_populations(&sf).len(), 3);

        let hs = table(&[
            "Company name",
            "Website URL",
            "Lifecycle Stage",
            "Company Domain Name",
            "Additional Domains",
            "Country/Region",
        ]);
        assert_eq!(Preset::detect(&hs), Preset::HubSpot);
        let m = Preset::HubSpot
            .columns(&hs, &ColumnOverrides::default())
            .unwrap();
        assert_eq!(
            m,
            ColumnMapping {
                domain: Some(3),
                extra_domains: vec![1, 4],
                name: Some(0),
                duns: None,
                country: Some(5),
                city: None,
                postcode: None,
                phone: None,
            }
        );
        // Without `Company Domain Name`, `Website URL` is the domain column
        // and is not read a second time as an extra one.
        let hs = table(&["Company name", "Website URL", "Additional Domains"]);
        let m = Preset::HubSpot
            .columns(&hs, &ColumnOverrides::default())
            .unwrap();
        assert_eq!((m.domain, m.extra_domains), (Some(1), vec![2]));

        let sf = table(&[
            "Account Name",
            "Secondary Website",
            "Website",
            "Shipping Country",
            "Website 2",
        ]);
        let m = Preset::Salesforce
            .columns(&sf, &ColumnOverrides::default())
            .unwrap();
        assert_eq!(m.domain, Some(2));
        assert_eq!(m.extra_domains, vec![4, 1]);
        assert_eq!(m.country, Some(3));

        let g = table(&["Company", "Domain", "Other Websites", "Country Code"]);
        let m = Preset::Generic
            .columns(&g, &ColumnOverrides::default())
            .unwrap();
        assert_eq!(
            (m.domain, m.extra_domains, m.country),
            (Some(1), vec![2], Some(3))
        );
    }

    #[test]
    fn explicit_country_and_extra_domain_columns() {
        let t = table(&[
            "Org",
            "Site",
            "Site B",
            "Site C",
            "Land",
            "Additional Domains",
        ]);
        let o = ColumnOverrides {
            domain: Some("Site".into()),
            extra_domains: vec!["site c".into(), "Site B".into(), "Site".into()],
            country: Some("land".into()),
            ..Default::default()
        };
        let m = Preset::Generic.columns(&t, &o).unwrap();
        // The explicit list replaces the preset's, in the order given; the
        // domain column is not read twice.
        assert_eq!(m.extra_domains, vec![3, 2]);
        assert_eq!(m.country, Some(4));
        let o = ColumnOverrides {
            extra_domains: vec!["Nope".into()],
            ..Default::default()
        };
        let err = Preset::Generic.columns(&t, &o).unwrap_err().to_string();
        assert!(
            err.contains("--extra-domain-col \"Nope\": no such column"),
            "{err}"
        );
        let o = ColumnOverrides {
            country: Some("Nope".into()),
            ..Default::default()
        };
        let err = Preset::Generic.columns(&t, &o).unwrap_err().to_string();
        assert!(err.contains("--country-col"), "{err}");
        // A country column alone gives no key.
        let t = table(&["Org", "Country"]);
        assert!(
            Preset::Generic
                .columns(&t, &ColumnOverrides::default())
                .is_err()
        );
    }

    #[test]
    fn overrides_and_missing_columns() {
        let t = table(&["Org", "Site"]);
        let err = Preset::Generic
            .columns(&t, &ColumnOverrides::default())
            .unwrap_err();
        assert!(err.to_string().contains("--domain-col"), "{err}");
        let o = ColumnOverrides {
            domain: Some("site".into()),
            ..Default::default()
        };
        assert_eq!(Preset::Generic.columns(&t, &o).unwrap().domain, Some(1));
        let o = ColumnOverrides {
            name: Some("Nope".into()),
            ..Default::default()
        };
        assert!(
            Preset::Generic
                .columns(&t, &o)
                .unwrap_err()
                .to_string()
                .contains("Org, Site")
        );
        assert_eq!(Preset::Salesforce.default_populations(&t)[0].name, "all");
    }
}

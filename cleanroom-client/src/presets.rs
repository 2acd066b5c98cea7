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
    /// A second website column read when `domain` is empty on a row (HubSpot
    /// exports have both `Company Domain Name` and `Website URL`).
    pub domain_fallback: Option<usize>,
    /// Company name column.
    pub name: Option<usize>,
    /// DUNS column.
    pub duns: Option<usize>,
}

/// Explicit column names that override a preset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnOverrides {
    /// `--domain-col`.
    pub domain: Option<String>,
    /// `--name-col`.
    pub name: Option<String>,
    /// `--duns-col`.
    pub duns: Option<String>,
}

const SF_NAME: &[&str] = &["Account Name", "Name", "AccountName"];
const SF_DOMAIN: &[&str] = &["Website", "Account Website", "Domain"];
const SF_DUNS: &[&str] = &["D-U-N-S Number", "DunsNumber", "DUNS Number", "DUNS"];
const HS_NAME: &[&str] = &["Company name", "Name", "Company"];
const HS_DOMAIN: &[&str] = &["Company Domain Name", "Website URL", "Domain", "Website"];
const HS_DUNS: &[&str] = &["DUNS Number", "D-U-N-S Number", "DUNS"];
const GEN_NAME: &[&str] = &[
    "Account Name",
    "Company name",
    "Company",
    "Name",
    "Organization",
];
const GEN_DOMAIN: &[&str] = &[
    "Website",
    "Domain",
    "Company Domain Name",
    "Website URL",
    "URL",
    "Email",
];
const GEN_DUNS: &[&str] = &["DUNS", "DUNS Number", "D-U-N-S Number", "DunsNumber"];

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

    fn candidates(self) -> [&'static [&'static str]; 3] {
        match self {
            Preset::Salesforce => [SF_DOMAIN, SF_NAME, SF_DUNS],
            Preset::HubSpot => [HS_DOMAIN, HS_NAME, HS_DUNS],
            Preset::Generic => [GEN_DOMAIN, GEN_NAME, GEN_DUNS],
        }
    }

    /// Resolves the key columns: explicit overrides first, then the preset's
    /// usual names. At least one key column must be found.
    pub fn columns(self, table: &CsvTable, overrides: &ColumnOverrides) -> Result<ColumnMapping> {
        let [dom, name, duns] = self.candidates();
        let pick =
            |explicit: &Option<String>, flag: &str, cands: &[&str]| -> Result<Option<usize>> {
                match explicit {
                    Some(col) => table.column(col).map(Some).ok_or_else(|| {
                        Error::Input(format!(
                            "{flag} {col:?}: no such column (columns: {})",
                            table.headers.join(", ")
                        ))
                    }),
                    None => Ok(cands.iter().find_map(|c| table.column(c))),
                }
            };
        let domain = pick(&overrides.domain, "--domain-col", dom)?;
        let domain_fallback = match (&overrides.domain, domain) {
            (None, Some(first)) => dom
                .iter()
                .filter_map(|c| table.column(c))
                .find(|&c| c != first),
            _ => None,
        };
        let m = ColumnMapping {
            domain,
            domain_fallback,
            name: pick(&overrides.name, "--name-col", name)?,
            duns: pick(&overrides.duns, "--duns-col", duns)?,
        };
        if m.domain.is_none() && m.name.is_none() && m.duns.is_none() {
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
                domain_fallback: None,
                name: Some(0),
                duns: Some(2)
            }
        );
        assert_eq!(Preset::Salesforce.default_populations(&sf).len(), 3);

        let hs = table(&[
            "Company name",
            "Website URL",
            "Lifecycle Stage",
            "Company Domain Name",
        ]);
        assert_eq!(Preset::detect(&hs), Preset::HubSpot);
        let m = Preset::HubSpot
            .columns(&hs, &ColumnOverrides::default())
            .unwrap();
        assert_eq!(
            m,
            ColumnMapping {
                domain: Some(3),
                domain_fallback: Some(1),
                name: Some(0),
                duns: None
            }
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

//! Whole-file test vectors: a small CSV in, the accounts and keys one side
//! uploads out (PROTOCOL.md section 3.6). Merging spans rows, so these cover
//! what the per-value normalization vectors cannot.
//!
//! `cargo run -p cleanroom-client --example gen_account_vectors` writes them
//! into `protocol-spec/test-vectors.json`; a test checks the file against
//! [`compute`], and `protocol-spec/check_vectors.py` reproduces them without
//! this crate.

use std::path::Path;

use cleanroom_core::api::NamesWithoutCountry;
use serde::{Deserialize, Serialize};

use crate::csv_input::parse_csv;
use crate::error::Result;
use crate::prepare::{InputOptions, prepare};
use crate::presets::{ColumnOverrides, Preset};
use crate::progress::no_progress;

/// The columns every case's CSV uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Columns {
    /// The website column.
    pub domain: String,
    /// Further website columns, possibly multi-valued.
    pub extra_domains: Vec<String>,
    /// The company-name column.
    pub name: String,
    /// The country column.
    pub country: String,
    /// The DUNS column.
    pub duns: String,
    /// The city column, in the cases that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// The postal-code column, in the cases that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// The telephone column, in the cases that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// One account of a case's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorAccount {
    /// CSV lines merged into it (the header is line 1).
    pub lines: Vec<u64>,
    /// Its key messages, in upload order.
    pub keys: Vec<String>,
}

/// One whole-file case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCase {
    /// What the case shows.
    pub name: String,
    /// The CSV text.
    pub csv: String,
    /// Which columns hold what.
    pub columns: Columns,
    /// The partnership's rule for names without a country.
    pub names_without_country: NamesWithoutCountry,
    /// The accounts, ordered by their first line.
    pub accounts: Vec<VectorAccount>,
}

/// The standard columns of the cases.
pub fn standard_columns() -> Columns {
    Columns {
        domain: "Website".into(),
        extra_domains: vec!["Additional Domains".into()],
        name: "Company".into(),
        country: "Country".into(),
        duns: "DUNS".into(),
        city: None,
        postcode: None,
        phone: None,
    }
}

/// The accounts the client derives from `csv`.
pub fn compute(
    csv: &str,
    columns: &Columns,
    names_without_country: NamesWithoutCountry,
) -> Result<Vec<VectorAccount>> {
    let table = parse_csv(csv.as_bytes(), Path::new("vector.csv"))?;
    let opts = InputOptions {
        preset: Some(Preset::Generic),
        columns: ColumnOverrides {
            domain: Some(columns.domain.clone()),
            extra_domains: columns.extra_domains.clone(),
            name: Some(columns.name.clone()),
            duns: Some(columns.duns.clone()),
            country: Some(columns.country.clone()),
            city: columns.city.clone(),
            postcode: columns.postcode.clone(),
            phone: columns.phone.clone(),
        },
        populations: Vec::new(),
        names_without_country,
    };
    let prepared = prepare(&table, &opts, &no_progress())?;
    Ok(prepared
        .accounts
        .iter()
        .map(|a| VectorAccount {
            lines: a.lines.clone(),
            keys: a.keys.iter().map(|k| k.message().to_owned()).collect(),
        })
        .collect())
}

const HEADER: &str = "Company,Website,Additional Domains,Country,DUNS\n";

/// `(name, rows after the header, names_without_country)`.
const CASES: &[(&str, &str, NamesWithoutCountry)] = &[
    (
        "rows sharing a domain merge, in chains, and keep every distinct domain",
        "Acme Ltd,https://www.acme.com,,United Kingdom,\n\
         Acme Limited,acme.com,acme.co.uk,UK,\n\
         Acme UK,shop.acme.co.uk,,GB,\n\
         Globex GmbH,globex.de,,Deutschland,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "a name alone never merges rows; a name several accounts share is not uploaded",
        "Smith Ltd,,,United Kingdom,\n\
         Smith Limited,,,UK,\n\
         Smith Ltd,,,Australia,\n\
         Jones Consulting,jones-consulting.co.uk,,UK,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "same name in two countries: two accounts, two keys",
        "Müller GmbH,mueller-maschinen.de,,Deutschland,\n\
         Müller AG,mueller.ch,,Schweiz,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "a shared name on accounts with websites is dropped, the websites stay",
        "Smith Ltd,smith-plumbing.co.uk,,GB,\n\
         Smith Ltd.,smithlegal.co.uk,,England,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "no usable country: the name is left out (omit)",
        "Initech LLC,,,,\n\
         Initech LLC,initech.com,,Atlantis,\n\
         Hooli Inc,hooli.com,,USA,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "no usable country: the unqualified name (unqualified)",
        "Initech LLC,,,,\n\
         Initrode Inc,initrode.com,,Atlantis,\n\
         Hooli Inc,hooli.com,,USA,\n",
        NamesWithoutCountry::Unqualified,
    ),
    (
        "a shared DUNS merges rows with different websites",
        "Umbrella Corp,umbrella.com,,US,15-048-3782\n\
         Umbrella Corporation,umbrella-pharma.com,,United States,150483782\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "at most 8 domains per account, in first-seen order",
        "Wayne Enterprises,wayne.com,\"wayne1.com; wayne2.com, wayne3.com|wayne4.com wayne5.com;wayne6.com;wayne7.com;wayne8.com;wayne9.com\",US,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "free-mail websites give no key; rows with no key are skipped",
        "Stark Industries,jane@gmail.com,,US,\n\
         ,,,US,\n\
         !!!,not a domain,,US,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "a domain carried by rows of 3 or more distinct first name words is a shared mailbox: left out of every row before merging; a company's divisions keep their domain",
        "Smith Plumbing,info@sky.com,,United Kingdom,\n\
         Jones Bakery,jones@sky.com,,UK,\n\
         Jones Bakery Ltd,jones-bakery.co.uk,sky.com,UK,\n\
         ,www.sky.com,,UK,\n\
         Patel Electrical,sky.com,,,\n\
         IBM,ibm.com,,US,\n\
         International Business Machines,www.ibm.com,,US,\n\
         Siemens Energy,siemens.com,,Germany,\n\
         Siemens Mobility,www.siemens.com,,DE,\n\
         Siemens AG (old),siemens.com,,DE,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "placeholder names give no name key; a placeholder word inside a name does not count",
        "Test Account,,,US,\n\
         Unknown,unknown-widgets.com,,US,\n\
         Sample Company Ltd,,,UK,123456789\n\
         Acme Test Labs,,,US,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "merged rows keep the most frequent name, ties to the earliest line",
        "Cyberdyne Systems,cyberdyne.com,,US,\n\
         Cyberdyne,cyberdyne.com,,US,\n\
         Cyberdyne,www.cyberdyne.com,,US,\n",
        NamesWithoutCountry::Omit,
    ),
];

const CITY_HEADER: &str = "Company,Website,Additional Domains,Country,DUNS,City\n";

/// Cases with a city column: `(name, rows after [`CITY_HEADER`], names_without_country)`.
const CITY_CASES: &[(&str, &str, NamesWithoutCountry)] = &[
    (
        "a city adds a city-qualified name; a name shared in one country but not in one city keeps its city key",
        "Smith Consulting,,,US,,Boston\n\
         Smith Consulting,,,USA,,Denver\n\
         Jones Plumbing,jonesplumbing.com,,US,,New York\n\
         Brown & Sons,,,UK,,\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "cities fold case and Latin accents, not other spellings; unusable cities and rows without a country give no city key",
        "Huber AG,,,Schweiz,,Zürich\n\
         Keller AG,,,CH,,ZURICH\n\
         Weber GmbH,,,DE,,München\n\
         Wagner GmbH,,,DE,,Munich\n\
         Becker GmbH,,,DE,,N/A\n\
         Schulz GmbH,,,,,Berlin\n",
        NamesWithoutCountry::Unqualified,
    ),
    (
        "a name more than 3 accounts of one country share gives no city-qualified name either",
        "Smith Consulting,,,US,,Boston\n\
         Smith Consulting,,,US,,Denver\n\
         Smith Consulting,smithconsulting.com,,US,,Austin\n\
         Smith Consulting,,,US,,Chicago\n\
         Smith Consulting,,,UK,,London\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "merged rows keep the city most of them carry; 3 namesakes keep their city keys but not a city two share; a placeholder name gives no city key",
        "Acme Corp,acme.com,,US,,Boston\n\
         Acme Corp,acme.com,,US,,Cambridge\n\
         Acme Corp,www.acme.com,,US,,Cambridge\n\
         Miller Tools,,,US,,Denver\n\
         Miller Tools,,,US,,Austin\n\
         Miller Tools,,,US,,Denver\n\
         Unknown,,,US,,Boston\n\
         Lopez SL,,,ES,,--\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "ten keys at most: an account with a name, a city and a DUNS keeps seven domains",
        "Initech Inc,initech.com,initech.net;initech.org;initech.io;initech.co;initech.us;initech.biz;initech.info,US,150483782,Austin\n",
        NamesWithoutCountry::Omit,
    ),
];

const POSTCODE_HEADER: &str = "Company,Website,Additional Domains,Country,DUNS,City,Postal Code\n";

/// Cases with a city and a postal-code column.
const POSTCODE_CASES: &[(&str, &str, NamesWithoutCountry)] = &[
    (
        "a postal code adds a postcode-qualified name, whatever the name's namesakes; US ZIP+4 and dropped zeros are repaired, other countries' codes only lose spaces and hyphens",
        "Smith Consulting,,,US,,Boston,02139-4307\n\
         Smith Consulting,,,US,,Boston,2140\n\
         Smith Consulting,,,US,,Denver,80202\n\
         Smith Consulting,,,US,,Austin,78701\n\
         Müller Bau GmbH,,,DE,,Berlin,01067\n\
         Jones Ltd,,,UK,,Milton Keynes,mk9 2fz\n\
         Brown Ltd,,,UK,,Leeds,N/A\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "ten keys at most: with three names and a DUNS an account keeps six domains",
        "Initech Inc,initech.com,initech.net;initech.org;initech.io;initech.co;initech.us;initech.biz;initech.info,US,150483782,Austin,78701\n",
        NamesWithoutCountry::Omit,
    ),
];

const PHONE_HEADER: &str =
    "Company,Website,Additional Domains,Country,DUNS,City,Postal Code,Phone\n";

/// Cases with a city, a postal-code and a telephone column.
const PHONE_CASES: &[(&str, &str, NamesWithoutCountry)] = &[
    (
        "a telephone number tells apart website-less namesakes of one city; an international number needs no country, a national one does; an unusable number gives no key, the row keeps its others",
        "Smith Plumbing,,,US,,Boston,,(617) 555-0134\n\
         Smith Plumbing,,,USA,,Boston,,617.555.0199 ext. 12\n\
         Jones Bakery,,,,,,,+44 20 7946 0123\n\
         Jones Bakery,,,,,,,020 7946 0999\n\
         Brown Ltd,,,UK,,Leeds,,n/a\n\
         Patel Electrical,,,Atlantis,,,,0044 113 496 0000\n\
         Patel Electrical,,,Atlantis,,,,+44 (0)113 496 0001\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "merged rows keep the number most of them carry, ties to the earliest line; one number under two names is two keys",
        "Acme Corp,acme.com,,US,,Boston,02139,(617) 555-0100\n\
         Acme Corp,www.acme.com,,US,,Boston,02139,+1 617 555 0199\n\
         Acme Corp,acme.com,,US,,Boston,02139,617-555-0199 x12\n\
         Initech,initech.com,,US,,Austin,78701,+1 512 555 0100\n\
         Initech,initech.com,,US,,Austin,78701,(512) 555-0177\n\
         Initech Labs,,,US,,Austin,78701,(512) 555-0100\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "a name with one telephone number merges rows, as a shared website does (websites that differ, a row without a country, national and international spellings); a namesake with another number is another account, and the name, city and postal code both carry are left out of both",
        "Globex,globex.com,,US,,Denver,80202,(303) 555-0142\n\
         Globex,globex-labs.com,,US,,Austin,78701,303.555.0142\n\
         Globex Inc,,,,,,,+1 303 555 0142\n\
         Globex,,,US,,Denver,80202,(303) 555-0199\n",
        NamesWithoutCountry::Omit,
    ),
    (
        "without a usable country (unqualified): the number still qualifies the name; no name, no phone-qualified name",
        "Hooli Inc,,,,,,,+1 650 555 0100\n\
         Initrode,,,Atlantis,,,,650-555-0111\n\
         ,pied-piper.com,,US,,,,(650) 555-0122\n\
         Aviato,,,US,,,,\"+1 650 555 0133, ext. 4\"\n",
        NamesWithoutCountry::Unqualified,
    ),
    (
        "ten keys at most: with four names and a DUNS an account keeps five domains",
        "Initech Inc,initech.com,initech.net;initech.org;initech.io;initech.co;initech.us;initech.biz;initech.info,US,150483782,Austin,78701,+1 512 555 0123\n",
        NamesWithoutCountry::Omit,
    ),
];

/// Every case with its computed accounts.
pub fn cases() -> Result<Vec<AccountCase>> {
    let plain = standard_columns();
    let with_city = Columns {
        city: Some("City".into()),
        ..standard_columns()
    };
    let with_postcode = Columns {
        postcode: Some("Postal Code".into()),
        ..with_city.clone()
    };
    let with_phone = Columns {
        phone: Some("Phone".into()),
        ..with_postcode.clone()
    };
    let sets = [
        (HEADER, CASES, &plain),
        (CITY_HEADER, CITY_CASES, &with_city),
        (POSTCODE_HEADER, POSTCODE_CASES, &with_postcode),
        (PHONE_HEADER, PHONE_CASES, &with_phone),
    ];
    sets.into_iter()
        .flat_map(|(header, cases, columns)| cases.iter().map(move |c| (header, c, columns)))
        .map(|(header, &(name, rows, nwc), columns)| {
            let csv = format!("{header}{rows}");
            Ok(AccountCase {
                name: name.to_owned(),
                accounts: compute(&csv, columns, nwc)?,
                csv,
                columns: columns.clone(),
                names_without_country: nwc,
            })
        })
        .collect()
}

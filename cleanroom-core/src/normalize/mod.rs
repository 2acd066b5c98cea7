//! Normalization of CRM fields into account keys.
//!
//! Both parties run these functions locally on their own CRM exports; two
//! accounts match only if their normalized keys are byte-identical, so every
//! rule here, including the tables it uses, is part of the protocol. The
//! functions are pure and deterministic, and each is idempotent: normalizing
//! a key's value again yields the same key.
//!
//! | column | function | example |
//! | --- | --- | --- |
//! | website, domain, e-mail | [`domain`] | `https://shop.acme.co.uk/x` → `domain:acme.co.uk` |
//! | company name + country | [`company_name`] | `Acme Holdings Co., Ltd.`, `UK` → `name:gb:acme holdings` |
//! | company name + country + city | [`city_name`] | `Smith Ltd`, `UK`, `Milton Keynes` → `city-name:gb:milton keynes:smith` |
//! | company name + country + postal code | [`postcode_name`] | `Smith Ltd`, `UK`, `mk9 2fz` → `postcode-name:gb:mk92fz:smith` |
//! | company name + telephone (+ country) | [`phone_name`] | `Smith Ltd`, `020 7946 0123`, `UK` → `phone-name:+442079460123:smith` |
//! | DUNS number | [`duns`] | `15-048-3782` → `duns:150483782` |
//!
//! A value that cannot give a meaningful key is rejected with a
//! [`RejectReason`]; the reason never contains the value.
//!
//! Versioned inputs besides this code: the data files of `protocol-spec/data/`
//! (the Public Suffix List snapshot, the legal forms, the placeholder names,
//! the free-mail list and the country names), compiled in so the spec's files are the one source of
//! truth, and the Unicode data of the `idna`, `unicode-normalization` and
//! `caseless` crates.

mod city;
mod country;
mod domain;
mod duns;
mod error;
mod freemail;
mod legal_forms;
mod name;
mod phone;
mod placeholders;
mod postcode;
pub mod suffix_list;

pub use self::city::{city, city_name};
pub use self::country::{Country, country};
pub use self::domain::domain;
pub use self::duns::duns;
pub use self::error::RejectReason;
pub use self::name::{company_name, name_tokens};
pub use self::phone::{phone, phone_codes, phone_name};
pub use self::postcode::{postcode, postcode_name};

use crate::key::{AccountKey, KeyType};

/// The entries of a one-entry-per-line data file of `protocol-spec/data/`
/// (legal forms, free mail, placeholder names): every line, trimmed, that is
/// neither blank nor a `#` comment.
fn table_entries(table: &'static str) -> impl Iterator<Item = &'static str> {
    table
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Normalizes `raw` as a value of the given key type, dispatching to
/// [`domain`], [`company_name`] (unqualified: no country), [`duns`],
/// [`city_name`], [`postcode_name`] or [`phone_name`]; a city- or
/// postcode-qualified name is read as `<country>:<city or postal
/// code>:<name>` and a phone-qualified one as `<number>:<name>` (no country,
/// so only an international number), the forms of their keys' values, and a
/// missing part is [`RejectReason::Empty`].
pub fn key(kind: KeyType, raw: &str) -> Result<AccountKey, RejectReason> {
    match kind {
        KeyType::Domain => domain(raw),
        KeyType::Name => company_name(raw, None),
        KeyType::Duns => duns(raw),
        KeyType::PhoneName => {
            let Some((number, name)) = raw.split_once(':') else {
                return Err(RejectReason::Empty);
            };
            phone_name(name, None, number)
        }
        KeyType::CityName | KeyType::PostcodeName => {
            let mut parts = raw.splitn(3, ':');
            let (Some(cc), Some(qualifier), Some(name)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(RejectReason::Empty);
            };
            let qualified = if kind == KeyType::CityName {
                city_name
            } else {
                postcode_name
            };
            qualified(name, country(cc)?, qualifier)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_dispatches_by_type() {
        let d = key(KeyType::Domain, "www.acme.com").map(|k| k.message().to_owned());
        assert_eq!(d.as_deref(), Ok("domain:acme.com"));
        let n = key(KeyType::Name, "Acme Inc").map(|k| k.message().to_owned());
        assert_eq!(n.as_deref(), Ok("name::acme"));
        let u = key(KeyType::Duns, "15-048-3782").map(|k| k.message().to_owned());
        assert_eq!(u.as_deref(), Ok("duns:150483782"));
        for kind in KeyType::ALL {
            assert_eq!(key(kind, "  ").map(|k| k.kind()), Err(RejectReason::Empty));
        }
    }

    #[test]
    fn keys_carry_their_type() {
        for kind in KeyType::ALL {
            let raw = match kind {
                KeyType::Domain => "acme.com",
                KeyType::Name => "acme",
                KeyType::Duns => "150483782",
                KeyType::CityName => "UK:London:Acme Ltd",
                KeyType::PostcodeName => "UK:SW1A 1AA:Acme Ltd",
                KeyType::PhoneName => "+44 20 7946 0123:Acme Ltd",
            };
            assert_eq!(key(kind, raw).map(|k| k.kind()), Ok(kind));
        }
    }
}

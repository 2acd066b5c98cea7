//! Typed, domain-separated account keys: the exact messages that get hashed.

use std::fmt;

/// The kind of identifier a key was derived from.
///
/// The numeric values are the `key_type` byte of the wire records.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum KeyType {
    /// A registrable domain (eTLD+1) from a website or domain column. Strong.
    Domain = 1,
    /// A normalized company name. Weak: see [`crate::overlap::MatchPolicy`].
    Name = 2,
    /// A DUNS or other registration number, digits only. Strong.
    Duns = 3,
    /// A normalized company name qualified by its country and city. Weak,
    /// like [`KeyType::Name`]; it tells apart same-name companies of one
    /// country (see [`crate::overlap::MatchPolicy`]).
    #[serde(rename = "city-name")]
    CityName = 4,
    /// A normalized company name qualified by its country and postal code.
    /// Weak; it only adds matches: a postal code tells apart the same-name
    /// businesses of one city that the city cannot.
    #[serde(rename = "postcode-name")]
    PostcodeName = 5,
    /// A normalized company name qualified by a telephone number in
    /// international form. Weak; it only adds matches: a number tells apart
    /// same-name businesses that city and postal code cannot.
    #[serde(rename = "phone-name")]
    PhoneName = 6,
}

impl KeyType {
    /// All key types, in wire order.
    pub const ALL: [KeyType; 6] = [
        KeyType::Domain,
        KeyType::Name,
        KeyType::Duns,
        KeyType::CityName,
        KeyType::PostcodeName,
        KeyType::PhoneName,
    ];

    /// The prefix that separates this key type's messages from every other type's.
    pub const fn prefix(self) -> &'static str {
        match self {
            KeyType::Domain => "domain:",
            KeyType::Name => "name:",
            KeyType::Duns => "duns:",
            KeyType::CityName => "city-name:",
            KeyType::PostcodeName => "postcode-name:",
            KeyType::PhoneName => "phone-name:",
        }
    }

    /// The wire byte of this key type.
    pub const fn to_byte(self) -> u8 {
        self as u8
    }

    /// Parses a wire byte; `None` for an unknown type.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(KeyType::Domain),
            2 => Some(KeyType::Name),
            3 => Some(KeyType::Duns),
            4 => Some(KeyType::CityName),
            5 => Some(KeyType::PostcodeName),
            6 => Some(KeyType::PhoneName),
            _ => None,
        }
    }

    /// Whether a match on this key type is strong (domain, DUNS) rather than weak (name).
    pub const fn is_strong(self) -> bool {
        !matches!(
            self,
            KeyType::Name | KeyType::CityName | KeyType::PostcodeName | KeyType::PhoneName
        )
    }

    /// The lowercase name used in JSON and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyType::Domain => "domain",
            KeyType::Name => "name",
            KeyType::Duns => "duns",
            KeyType::CityName => "city-name",
            KeyType::PostcodeName => "postcode-name",
            KeyType::PhoneName => "phone-name",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A normalized account key: the exact UTF-8 message fed to hash-to-group.
///
/// The message is `prefix || value`, for example `domain:acme.co.uk`, so a
/// domain key can never equal a name key. Its `Debug` is redacted because the
/// value is an account identifier that must never reach a log.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    kind: KeyType,
    message: String,
}

impl AccountKey {
    /// Builds a key from an already-normalized value (without the type prefix).
    ///
    /// Only the normalizers should call this; it does not normalize.
    pub fn from_normalized(kind: KeyType, value: &str) -> Self {
        let mut message = String::with_capacity(kind.prefix().len() + value.len());
        message.push_str(kind.prefix());
        message.push_str(value);
        AccountKey { kind, message }
    }

    /// The key's type.
    pub fn kind(&self) -> KeyType {
        self.kind
    }

    /// The full message that is hashed, prefix included.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The normalized value, without the type prefix.
    pub fn value(&self) -> &str {
        &self.message[self.kind.prefix().len()..]
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountKey({}, <redacted>)", self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_separate_types() {
        let d = AccountKey::from_normalized(KeyType::Domain, "acme");
        let n = AccountKey::from_normalized(KeyType::Name, "acme");
        assert_ne!(d.message(), n.message());
        assert_eq!(d.value(), "acme");
        assert_eq!(n.message(), "name:acme");
    }

    #[test]
    fn debug_is_redacted() {
        let d = AccountKey::from_normalized(KeyType::Domain, "secret.example");
        assert!(!format!("{d:?}").contains("secret"));
    }

    #[test]
    fn wire_bytes_roundtrip() {
        for k in KeyType::ALL {
            assert_eq!(KeyType::from_byte(k.to_byte()), Some(k));
        }
        assert_eq!(KeyType::from_byte(0), None);
        assert_eq!(KeyType::from_byte(7), None);
    }
}

//! Why a raw CRM value produced no key.

/// The reason a raw value was rejected instead of normalized into a key.
///
/// Each reason has a stable kebab-case code ([`RejectReason::as_str`]) that is
/// part of the protocol's test vectors and is what reports and JSON carry;
/// serde uses the same codes. Neither the code nor the `Display` text ever
/// contains the rejected value, so a reason can be logged freely.
#[non_exhaustive]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum RejectReason {
    /// The value is empty or whitespace only: the column had no data.
    #[error("value is empty")]
    Empty,
    /// A domain value is an IPv4 or IPv6 address (bracketed or not).
    #[error("value is an IP address, not a domain")]
    IpAddress,
    /// A domain value is itself a public suffix (such as `co.uk` or
    /// `github.io`), so it names no registrant.
    #[error("value is a bare public suffix")]
    PublicSuffix,
    /// A domain value ends in a top-level domain that is not on the pinned
    /// Public Suffix List (`.local`, `.internal`, `.example`, typos such as
    /// `.con`), so it has no registrable domain.
    #[error("value has a top-level domain that is not on the public suffix list")]
    UnknownSuffix,
    /// A domain value reduces to a free-mail or consumer mail provider, which
    /// says nothing about the account's company.
    #[error("value is a free-mail or consumer mail domain")]
    FreeMail,
    /// A domain value is not a syntactically valid host name: invalid
    /// characters, empty or overlong labels, a single label, a bad port.
    #[error("value is not a valid domain")]
    InvalidDomain,
    /// A company name has no letters or digits left after normalization.
    #[error("no company name is left after normalization")]
    NoNameLeft,
    /// A company name is a placeholder, not a company (`Unknown`, `Test
    /// Account`, `N/A`, `DO NOT USE`): an entry of
    /// `protocol-spec/data/placeholder-names.txt`. Both parties' CRMs hold
    /// such rows, and their names would match each other.
    #[error("value is a placeholder, not a company name")]
    PlaceholderName,
    /// A DUNS value is not exactly nine digits after removing separators, or
    /// is a placeholder such as `000000000`.
    #[error("value is not a valid nine-digit DUNS number")]
    InvalidDuns,
    /// A country value is not in the country alias table
    /// (`protocol-spec/data/countries.tsv`) after normalization: a misspelling,
    /// a region or city, or a placeholder such as `unknown` or `N/A`.
    #[error("value is not a known country")]
    UnknownCountry,
    /// A city value has no letters or digits left after normalization, or
    /// is a placeholder (`N/A`, `Unknown`: an entry of
    /// `protocol-spec/data/placeholder-names.txt`).
    #[error("value is not a usable city")]
    UnusableCity,
    /// A postal code value is not 2 to 10 letters and digits once spaces and
    /// hyphens are removed, or repeats one character (`00000`, `XXXX`).
    #[error("value is not a usable postal code")]
    UnusablePostcode,
    /// A telephone number gives no international number: 7 to 15 digits
    /// after its calling code is settled, not starting with `0`, not ending
    /// in seven equal digits; or it is national and the row has no usable
    /// country to place it.
    #[error("value is not a usable telephone number")]
    UnusablePhone,
}

impl RejectReason {
    /// Every reason, in declaration order.
    pub const ALL: [RejectReason; 13] = [
        RejectReason::Empty,
        RejectReason::IpAddress,
        RejectReason::PublicSuffix,
        RejectReason::UnknownSuffix,
        RejectReason::FreeMail,
        RejectReason::InvalidDomain,
        RejectReason::NoNameLeft,
        RejectReason::PlaceholderName,
        RejectReason::InvalidDuns,
        RejectReason::UnknownCountry,
        RejectReason::UnusableCity,
        RejectReason::UnusablePostcode,
        RejectReason::UnusablePhone,
    ];

    /// The stable kebab-case code of this reason, identical to its serde form.
    pub const fn as_str(&self) -> &'static str {
        match self {
            RejectReason::Empty => "empty",
            RejectReason::IpAddress => "ip-address",
            RejectReason::PublicSuffix => "public-suffix",
            RejectReason::UnknownSuffix => "unknown-suffix",
            RejectReason::FreeMail => "free-mail",
            RejectReason::InvalidDomain => "invalid-domain",
            RejectReason::NoNameLeft => "no-name-left",
            RejectReason::PlaceholderName => "placeholder-name",
            RejectReason::InvalidDuns => "invalid-duns",
            RejectReason::UnknownCountry => "unknown-country",
            RejectReason::UnusableCity => "unusable-city",
            RejectReason::UnusablePostcode => "unusable-postcode",
            RejectReason::UnusablePhone => "unusable-phone",
        }
    }

    /// Parses a code produced by [`RejectReason::as_str`]; `None` for an unknown code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_roundtrip_and_match_serde() {
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::from_code(r.as_str()), Some(r));
            let json = serde_json::to_string(&r).expect("serialize");
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            let back: RejectReason = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, r);
        }
        assert_eq!(RejectReason::from_code("nope"), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<&str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RejectReason::ALL.len());
    }

    #[test]
    fn display_is_static_text() {
        for r in RejectReason::ALL {
            assert!(!r.to_string().is_empty());
        }
    }
}

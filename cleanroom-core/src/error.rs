//! Typed errors of the core. Their `Display` never carries account data.

/// Why a 32-byte string from the wire is not an acceptable blinded point.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input was not exactly 32 bytes.
    #[error("a ristretto255 point is 32 bytes, got {got}")]
    WrongLength {
        /// The length received.
        got: usize,
    },
    /// The bytes are not the canonical encoding of any ristretto255 element.
    #[error("not a canonical ristretto255 encoding")]
    NonCanonical,
    /// The bytes encode the identity element, which no honest party produces.
    #[error("the identity element is not a valid blinded point")]
    Identity,
}

/// Why a binary body of fixed-size records was rejected.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The body length is not a whole number of records.
    #[error("body of {len} bytes is not a whole number of {record}-byte records")]
    Truncated {
        /// Body length in bytes.
        len: usize,
        /// Record size in bytes.
        record: usize,
    },
    /// A record names an unknown key type.
    #[error("record {index}: unknown key type {key_type}")]
    UnknownKeyType {
        /// Record index within the body.
        index: usize,
        /// The byte found.
        key_type: u8,
    },
    /// A record's reserved bytes are not zero.
    #[error("record {index}: reserved bytes must be zero")]
    Reserved {
        /// Record index within the body.
        index: usize,
    },
    /// A record's point failed to decode.
    #[error("record {index}: {source}")]
    Point {
        /// Record index within the body.
        index: usize,
        /// Why the point was rejected.
        source: DecodeError,
    },
    /// A record's population bits name a population the session does not declare.
    #[error("record {index}: population bits outside the {declared} declared populations")]
    UndeclaredPopulation {
        /// Record index within the body.
        index: usize,
        /// How many populations the uploader declared.
        declared: usize,
    },
}

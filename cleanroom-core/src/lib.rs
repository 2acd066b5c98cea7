//! The cryptographic and matching core of cleanroom.
//!
//! Everything both parties and the broker must agree on byte for byte lives
//! here: key normalization, hash-to-group, blinding, match tokens, the binary
//! record formats, the JSON API types and the overlap semantics. The crate has
//! no async runtime and no database, so any tool can embed it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod blind;
pub mod disclosure;
pub mod error;
pub mod hash_to_group;
pub mod key;
pub mod noise;
pub mod normalize;
pub mod overlap;
pub mod protocol;
pub mod token;
pub mod wire;

pub use blind::{BlindedPoint, SessionSecret};
pub use error::{DecodeError, WireError};
pub use key::{AccountKey, KeyType};
pub use token::MatchToken;

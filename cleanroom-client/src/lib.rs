//! cleanroom-client: the library partner tools embed.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

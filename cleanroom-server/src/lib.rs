//! cleanroom-server: brokers matching sessions between a vendor and a partner.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

//! Normalization of CRM fields into account keys. (Being written.)

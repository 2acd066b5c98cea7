//! Company names that stand for no company (`Unknown`, `Test Account`, `N/A`).
//!
//! The table is `protocol-spec/data/placeholder-names.txt`, compiled in: the
//! spec's file is the one source of truth, and its header says how entries
//! are written (the finished name, legal forms already stripped) and why each
//! is there.

use std::collections::HashSet;
use std::sync::LazyLock;

/// `protocol-spec/data/placeholder-names.txt`, the normative table.
const TABLE: &str = include_str!("../../../protocol-spec/data/placeholder-names.txt");

fn entries() -> impl Iterator<Item = &'static str> {
    super::table_entries(TABLE)
}

static PLACEHOLDERS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| entries().collect());

/// Whether `name` (a finished name: tokens joined by single spaces, legal
/// forms stripped) is a placeholder as a whole. A placeholder word inside a
/// longer name (`Acme Test`, `Do Not Use - Acme`) is not: that row names a
/// company.
pub(crate) fn is_placeholder(name: &str) -> bool {
    PLACEHOLDERS.contains(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_finished_names() {
        // An entry the name steps would change (`test company` becomes
        // `test`) could never match, and would hide that its name gets
        // through.
        for entry in entries() {
            assert_eq!(
                super::super::name::tokens_before_placeholders(entry).as_deref(),
                Ok(entry),
                "placeholder {entry:?} is not a finished name"
            );
        }
    }

    #[test]
    fn entries_are_unique() {
        assert_eq!(PLACEHOLDERS.len(), entries().count());
        assert!(PLACEHOLDERS.len() >= 20, "the table did not load");
    }

    #[test]
    fn whole_names_only() {
        assert!(is_placeholder("test account"));
        assert!(is_placeholder("unknown"));
        assert!(!is_placeholder("acme test"));
        assert!(!is_placeholder("test accounting"));
        assert!(!is_placeholder(""));
    }
}

//! Population rules: which CSV rows belong to which named population.
//!
//! Syntax (`--population NAME=RULE`):
//!
//! | rule | meaning |
//! |---|---|
//! | `*` | every row |
//! | `Type=Customer` | column equals value |
//! | `Type!=Customer` | column differs from value |
//! | `Stage in (Qualification, Proposal)` | column is one of the values |
//! | `Stage not in (Closed Lost)` | column is none of the values |
//!
//! Column names and values are compared case-insensitively after trimming;
//! values may be quoted (`'Closed, Lost'`) to contain commas or parentheses.

use crate::csv_input::{CsvRow, CsvTable};
use crate::error::{Error, Result};

/// A condition on one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Every row.
    All,
    /// `column` is (or, when `negate`, is not) one of `values`.
    Match {
        /// Column name.
        column: String,
        /// Accepted values, lowercased.
        values: Vec<String>,
        /// `!=` / `not in`.
        negate: bool,
    },
}

/// A named population and its rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Population {
    /// The name shown in results.
    pub name: String,
    /// Which rows belong to it.
    pub rule: Rule,
}

impl Population {
    /// Parses `NAME=RULE`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (name, rule) = spec.split_once('=').ok_or_else(|| {
            Error::Config(format!(
                "population {spec:?} must look like NAME=RULE, e.g. customers='Type=Customer'"
            ))
        })?;
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(Error::Config(format!(
                "population name {name:?} must be 1 to 64 printable characters"
            )));
        }
        Ok(Population {
            name: name.to_owned(),
            rule: Rule::parse(rule)?,
        })
    }
}

impl Rule {
    /// Parses a rule (see the module docs).
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        if t == "*" {
            return Ok(Rule::All);
        }
        let bad = |why: &str| Error::Config(format!("population rule {t:?}: {why}"));
        if let Some(i) = t.find("!=") {
            return Rule::single(&t[..i], &t[i + 2..], true).map_err(&bad);
        }
        if let Some(i) = t.find('=') {
            return Rule::single(&t[..i], &t[i + 1..], false).map_err(&bad);
        }
        // `COLUMN [not] in (V, ...)`: the operator is whatever precedes the
        // first parenthesis, so column names may themselves contain "in".
        let open = t
            .find('(')
            .ok_or_else(|| bad("expected `*`, `=`, `!=`, `in (...)` or `not in (...)`"))?;
        let head = t[..open].trim_end();
        let lower = head.to_ascii_lowercase();
        let (column, negate) = if let Some(c) = lower.strip_suffix(" not in") {
            (&head[..c.len()], true)
        } else if let Some(c) = lower.strip_suffix(" in") {
            (&head[..c.len()], false)
        } else {
            return Err(bad("expected `*`, `=`, `!=`, `in (...)` or `not in (...)`"));
        };
        let column = column.trim();
        let inner = t[open + 1..]
            .trim_end()
            .strip_suffix(')')
            .ok_or_else(|| bad("the values of `in` go in parentheses: Stage in (A, B)"))?;
        let values = split_values(inner).map_err(&bad)?;
        if column.is_empty() {
            return Err(bad("missing column name"));
        }
        if values.is_empty() {
            return Err(bad("empty value list"));
        }
        Ok(Rule::Match {
            column: column.to_owned(),
            values,
            negate,
        })
    }

    fn single(column: &str, value: &str, negate: bool) -> std::result::Result<Self, &'static str> {
        let column = column.trim();
        if column.is_empty() {
            return Err("missing column name");
        }
        let value = unquote(value.trim())?;
        Ok(Rule::Match {
            column: column.to_owned(),
            values: vec![value.to_lowercase()],
            negate,
        })
    }

    /// The column the rule reads, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            Rule::All => None,
            Rule::Match { column, .. } => Some(column),
        }
    }
}

fn unquote(v: &str) -> std::result::Result<String, &'static str> {
    for q in ['\'', '"'] {
        if let Some(rest) = v.strip_prefix(q) {
            return rest
                .strip_suffix(q)
                .map(|s| s.to_owned())
                .ok_or("unbalanced quote");
        }
    }
    Ok(v.to_owned())
}

/// Splits `A, 'B, C', D` on commas outside quotes.
fn split_values(inner: &str) -> std::result::Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in inner.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ',') => {
                out.push(std::mem::take(&mut cur));
            }
            _ => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err("unbalanced quote");
    }
    out.push(cur);
    Ok(out
        .into_iter()
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
        .collect())
}

/// Population rules bound to the columns of one table.
#[derive(Clone, Debug)]
pub struct BoundPopulations {
    names: Vec<String>,
    rules: Vec<BoundRule>,
}

#[derive(Clone, Debug)]
enum BoundRule {
    All,
    Match {
        index: usize,
        values: Vec<String>,
        negate: bool,
    },
}

impl BoundPopulations {
    /// Resolves each rule's column in `table`; a missing column is an error
    /// naming the columns that exist.
    pub fn bind(populations: &[Population], table: &CsvTable) -> Result<Self> {
        if populations.len() > cleanroom_core::wire::MAX_POPULATIONS {
            return Err(Error::Config(format!(
                "at most {} populations",
                cleanroom_core::wire::MAX_POPULATIONS
            )));
        }
        let mut names: Vec<String> = Vec::new();
        let mut rules = Vec::new();
        for p in populations {
            if p.name == cleanroom_core::wire::OTHER_POPULATION {
                return Err(Error::Config(format!(
                    "population name {:?} is reserved: the server gives it to the accounts in none of your populations",
                    p.name
                )));
            }
            if names.iter().any(|n| n.eq_ignore_ascii_case(&p.name)) {
                return Err(Error::Config(format!(
                    "population {:?} is defined twice",
                    p.name
                )));
            }
            names.push(p.name.clone());
            rules.push(match &p.rule {
                Rule::All => BoundRule::All,
                Rule::Match {
                    column,
                    values,
                    negate,
                } => BoundRule::Match {
                    index: table.column(column).ok_or_else(|| {
                        Error::Input(format!(
                            "population {:?} uses column {column:?}, which the file does not have (columns: {})",
                            p.name,
                            table.headers.join(", ")
                        ))
                    })?,
                    values: values.clone(),
                    negate: *negate,
                },
            });
        }
        Ok(BoundPopulations { names, rules })
    }

    /// Population names, in bit order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The population bitmask of a row.
    pub fn mask(&self, row: &CsvRow) -> u64 {
        let mut mask = 0u64;
        for (i, rule) in self.rules.iter().enumerate() {
            let hit = match rule {
                BoundRule::All => true,
                BoundRule::Match {
                    index,
                    values,
                    negate,
                } => {
                    let v = row.get(*index).trim().to_lowercase();
                    values.contains(&v) != *negate
                }
            };
            if hit {
                mask |= 1 << i;
            }
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(column: &str, values: &[&str], negate: bool) -> Rule {
        Rule::Match {
            column: column.into(),
            values: values.iter().map(|s| s.to_string()).collect(),
            negate,
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(Rule::parse(" * ").unwrap(), Rule::All);
        assert_eq!(
            Rule::parse("Type=Customer").unwrap(),
            m("Type", &["customer"], false)
        );
        assert_eq!(
            Rule::parse("Type != 'Customer'").unwrap(),
            m("Type", &["customer"], true)
        );
        assert_eq!(
            Rule::parse("Stage in (Qualification, Proposal)").unwrap(),
            m("Stage", &["qualification", "proposal"], false)
        );
        assert_eq!(
            Rule::parse("Lifecycle Stage NOT IN ('a, b', c)").unwrap(),
            m("Lifecycle Stage", &["a, b", "c"], true)
        );
        let p = Population::parse("pipeline=Stage in (Qualification,Proposal)").unwrap();
        assert_eq!(p.name, "pipeline");
    }

    #[test]
    fn rejects_garbage() {
        assert!(Rule::parse("Type ~ x").is_err());
        assert!(Rule::parse("Stage in Qualification").is_err());
        assert!(Rule::parse("=x").is_err());
        assert!(Rule::parse("Stage in ()").is_err());
        assert!(Population::parse("no rule").is_err());
        assert!(Rule::parse("Type='x").is_err());
        assert_eq!(
            Rule::parse("Main Industry in (Retail)").unwrap(),
            m("Main Industry", &["retail"], false)
        );
    }

    #[test]
    fn masks_rows_case_insensitively() {
        let table = CsvTable {
            headers: vec!["Name".into(), "Type".into()],
            rows: vec![],
        };
        let pops = [
            Population::parse("all=*").unwrap(),
            Population::parse("customers=type=customer").unwrap(),
            Population::parse("others=Type not in (customer, partner)").unwrap(),
        ];
        let b = BoundPopulations::bind(&pops, &table).unwrap();
        let row = |t: &str| CsvRow::new(2, &["x", t]);
        assert_eq!(b.mask(&row(" CUSTOMER ")), 0b011);
        assert_eq!(b.mask(&row("Prospect")), 0b101);
        assert_eq!(b.mask(&CsvRow::new::<&str>(3, &[])), 0b101);
        let reserved = [Population::parse("(other)=*").unwrap()];
        assert!(BoundPopulations::bind(&reserved, &table).is_err());
        let missing = [Population::parse("x=Stage=1").unwrap()];
        let err = BoundPopulations::bind(&missing, &table)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Stage") && err.contains("Name, Type"), "{err}");
    }
}

//! Reading CRM exports: UTF-8 (with or without BOM), quoted fields, ragged
//! rows, CRLF line endings. Anything that is not UTF-8 is refused with the
//! line number and a guess at the encoding, never with the content.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One data row of a CSV file.
///
/// The fields share one buffer (two allocations per row rather than one per
/// field): a million-row export stays a few hundred megabytes smaller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvRow {
    /// 1-based line number where the record starts in the file.
    pub line: u64,
    record: csv::StringRecord,
}

impl CsvRow {
    /// A row from its fields.
    pub fn new<S: AsRef<str>>(line: u64, fields: &[S]) -> Self {
        CsvRow {
            line,
            record: fields.iter().map(AsRef::as_ref).collect(),
        }
    }

    /// The field at `index`, or `""` when the row is shorter.
    pub fn get(&self, index: usize) -> &str {
        self.record.get(index).unwrap_or("")
    }

    /// The fields, as many as the row has (rows may be ragged).
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.record.iter()
    }

    /// How many fields the row has.
    pub fn len(&self) -> usize {
        self.record.len()
    }

    /// Whether the row has no field.
    pub fn is_empty(&self) -> bool {
        self.record.is_empty()
    }
}

/// A parsed CSV file: header and rows.
#[derive(Clone, Debug, Default)]
pub struct CsvTable {
    /// Header names, trimmed.
    pub headers: Vec<String>,
    /// Data rows, in file order; fully blank rows are dropped.
    pub rows: Vec<CsvRow>,
}

impl CsvTable {
    /// Index of the first header equal to `name`, ignoring case and surrounding spaces.
    pub fn column(&self, name: &str) -> Option<usize> {
        let want = name.trim();
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(want))
    }
}

/// Reads and parses a CSV file.
pub fn read_csv(path: &Path) -> Result<CsvTable> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_csv(&bytes, path)
}

/// Parses CSV bytes; `path` only names the file in errors.
pub fn parse_csv(bytes: &[u8], path: &Path) -> Result<CsvTable> {
    check_utf8(bytes, path)?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    check_quotes_close(body, path)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(body);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, &e))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(Error::Input(format!(
            "{}: the file has no header row",
            path.display()
        )));
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    // csv's own line numbers lag by one on CRLF files, so count newlines up
    // to each record's first byte ourselves (incrementally: linear overall).
    let mut counted_to = 0usize;
    let mut line = 1u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if record.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                let mut start = record.position().map(|p| p.byte() as usize).unwrap_or(0);
                while start < body.len() && (body[start] == b'\n' || body[start] == b'\r') {
                    start += 1;
                }
                let start = start.min(body.len()).max(counted_to);
                line += body[counted_to..start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count() as u64;
                counted_to = start;
                // A clone is sized to fit, unlike the reused read buffer.
                rows.push(CsvRow {
                    line,
                    record: record.clone(),
                });
            }
            Err(e) => return Err(csv_error(path, &e)),
        }
    }
    Ok(CsvTable { headers, rows })
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    // csv's messages for these kinds carry no field content.
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_owned(),
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => "malformed CSV".to_owned(),
    };
    Error::Csv {
        path: PathBuf::from(path),
        line,
        message,
    }
}

/// Refuses non-UTF-8 input with the first bad line and a guess at the encoding.
fn check_utf8(bytes: &[u8], path: &Path) -> Result<()> {
    let utf16_bom = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
    let err = match std::str::from_utf8(bytes) {
        Ok(_) if !utf16_bom && !looks_utf16(bytes) => return Ok(()),
        Ok(_) => 0,
        Err(e) => e.valid_up_to(),
    };
    let line = 1 + bytes[..err].iter().filter(|&&b| b == b'\n').count() as u64;
    let guess = if utf16_bom || looks_utf16(bytes) {
        "UTF-16"
    } else {
        "Windows-1252 or Latin-1"
    };
    Err(Error::NotUtf8 {
        path: PathBuf::from(path),
        line,
        guess,
    })
}

/// UTF-16 text of mostly ASCII has a zero byte in every other position.
/// A quoted field that never closes makes the csv reader take the rest of
/// the file as one value: a stray double quote on line 11 of a 1,001-row
/// export would silently drop 990 rows. The reader does not report it, so
/// follow its quoting rules (a quote opens a field only at the field's start;
/// `""` inside is a literal quote) to the end of the input and refuse the
/// file, naming the line where the quote opened.
fn check_quotes_close(body: &[u8], path: &Path) -> Result<()> {
    let (mut line, mut open_line) = (1u64, 0u64);
    let (mut in_quotes, mut at_field_start) = (false, true);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        i += 1;
        if in_quotes {
            match b {
                b'"' if body.get(i) == Some(&b'"') => i += 1,
                b'"' => in_quotes = false,
                b'\n' => line += 1,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' if at_field_start => {
                in_quotes = true;
                open_line = line;
            }
            b',' => {
                at_field_start = true;
                continue;
            }
            b'\n' => {
                line += 1;
                at_field_start = true;
                continue;
            }
            _ => {}
        }
        at_field_start = false;
    }
    if in_quotes {
        return Err(Error::Input(format!(
            "{}: line {open_line}: a double quote opens a quoted value that is never closed, so the \
             {} lines after it would be read as one value; fix or remove that quote",
            path.display(),
            line - open_line
        )));
    }
    Ok(())
}

fn looks_utf16(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    head.len() >= 4 && head.iter().filter(|&&b| b == 0).count() * 4 >= head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<CsvTable> {
        parse_csv(b, Path::new("t.csv"))
    }

    #[test]
    fn bom_and_crlf() {
        let t = parse(b"\xEF\xBB\xBFAccount Name,Website\r\nAcme,acme.com\r\nBeta,beta.io\r\n")
            .unwrap();
        assert_eq!(t.headers, vec!["Account Name", "Website"]);
        assert_eq!(t.column("account name"), Some(0));
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            t.rows[1].fields().collect::<Vec<_>>(),
            vec!["Beta", "beta.io"]
        );
        assert_eq!(t.rows[1].line, 3);
    }

    #[test]
    fn quoted_commas_and_newlines() {
        let t = parse(
            b"Name,Website\n\"Acme, Inc.\",acme.com\n\"Multi\nLine Co\",ml.com\nLast,last.com\n",
        )
        .unwrap();
        assert_eq!(t.rows[0].get(0), "Acme, Inc.");
        assert_eq!(t.rows[1].get(0), "Multi\nLine Co");
        // A record's line is where it starts.
        assert_eq!(t.rows[2].line, 5);
    }

    #[test]
    fn a_quote_that_never_closes_is_an_error_naming_its_line() {
        let mut csv = String::from("Account Name,Website\n");
        for i in 0..1000 {
            if i == 9 {
                csv.push_str("\"Acme Best Corp,acme.com\n");
            } else {
                csv.push_str(&format!("Company {i},c{i}.com\n"));
            }
        }
        let err = parse(csv.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("line 11"), "{err}");
        assert!(err.contains("never closed"), "{err}");
        assert!(!err.contains("Acme"), "no content in errors: {err}");
        // Quotes that open and close, escaped quotes, and a quote inside an
        // unquoted value are all fine.
        let ok =
            "Account Name,Website\n\"Acme, \"\"Best\"\"\nCorp\",acme.com\nO\"Reilly,oreilly.com\n";
        assert_eq!(parse(ok.as_bytes()).unwrap().rows.len(), 2);
    }

    #[test]
    fn ragged_rows() {
        let t = parse(b"a,b,c\n1\n1,2,3,4\n,,\n").unwrap();
        assert_eq!(t.rows.len(), 2, "blank row dropped");
        assert_eq!(t.rows[0].get(2), "");
        assert_eq!(t.rows[1].len(), 4);
    }

    #[test]
    fn windows_1252_is_refused_with_line_not_content() {
        let err = parse(b"Name,Website\nAcme,acme.com\nSoci\xe9t\xe9 G,sg.fr\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("not UTF-8"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("Windows-1252"), "{msg}");
        assert!(!msg.contains("Soci"), "{msg}");
    }

    #[test]
    fn utf16_is_refused() {
        let mut b = vec![0xFF, 0xFE];
        for c in "Name,Website\n".encode_utf16() {
            b.extend_from_slice(&c.to_le_bytes());
        }
        let msg = parse(&b).unwrap_err().to_string();
        assert!(msg.contains("UTF-16"), "{msg}");
    }
}

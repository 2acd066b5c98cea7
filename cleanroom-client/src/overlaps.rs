//! Joining the server's overlapping row ids back to the local CSV.

use std::path::Path;

use crate::csv_input::read_csv;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::http::Client;
use crate::state::StateDir;

/// One of this side's matched accounts, in local terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalOverlap {
    /// The CSV lines of the account.
    pub lines: Vec<u64>,
    /// The counterpart populations it matched.
    pub counterpart_populations: Vec<String>,
}

/// Fetches the overlapping rows of a session and maps them to CSV lines via
/// the local row map saved when the session ran on this machine.
pub async fn fetch_local_overlaps(
    client: &Client,
    state: &StateDir,
    session_id: &str,
) -> Result<(Vec<LocalOverlap>, Option<std::path::PathBuf>)> {
    let map = state.load_rows(session_id)?.ok_or_else(|| {
        Error::State(format!(
            "no local row map for session {session_id} in {}: overlaps can only be joined on the machine (and state directory) that ran the session",
            state.path().display()
        ))
    })?;
    let o = client.overlaps(session_id).await?;
    let mut out = Vec::with_capacity(o.rows.len());
    for row in o.rows {
        let lines = map.rows.get(row.row_id as usize).cloned().ok_or_else(|| {
            Error::Protocol(format!("the server returned unknown row id {}", row.row_id))
        })?;
        let counterpart_populations = row
            .counterpart_populations
            .iter()
            .map(|&i| {
                o.counterpart_populations
                    .get(i as usize)
                    .cloned()
                    .ok_or_else(|| Error::Protocol("population index out of range".into()))
            })
            .collect::<Result<_>>()?;
        out.push(LocalOverlap {
            lines,
            counterpart_populations,
        });
    }
    out.sort_by_key(|o| o.lines[0]);
    Ok((out, map.csv_path))
}

/// Writes the matched CSV rows, each with a `partner_populations` column
/// (`;`-separated), to `out` atomically.
pub fn write_overlaps_csv(
    csv_path: &Path,
    overlaps: &[LocalOverlap],
    column: &str,
    out: &Path,
) -> Result<u64> {
    let table = read_csv(csv_path)?;
    let by_line: std::collections::HashMap<u64, usize> = table
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.line, i))
        .collect();
    let mut written = 0u64;
    let mut missing = 0u64;
    write_atomic(out, true, |w| {
        let mut w = csv::WriterBuilder::new().flexible(true).from_writer(w);
        let mut header = vec!["csv_line".to_owned(), column.to_owned()];
        header.extend(table.headers.iter().cloned());
        w.write_record(&header)?;
        for o in overlaps {
            let pops = o.counterpart_populations.join(";");
            for line in &o.lines {
                match by_line.get(line) {
                    Some(&i) => {
                        let mut rec = vec![line.to_string(), pops.clone()];
                        rec.extend(table.rows[i].fields().map(str::to_owned));
                        w.write_record(&rec)?;
                        written += 1;
                    }
                    None => missing += 1,
                }
            }
        }
        w.flush()?;
        Ok(())
    })?;
    if missing > 0 {
        return Err(Error::Input(format!(
            "{}: {missing} matched lines are not in the file any more; it changed since the session ran ({} was written with the rest)",
            csv_path.display(),
            out.display()
        )));
    }
    Ok(written)
}

//! The problem codes of PROTOCOL.md section 11.2 are exactly the server's
//! `ProblemType`s, and what a client sees when its request headers are too
//! large, through a real socket (hyper answers some of those itself).

mod common;

use std::collections::BTreeSet;

use cleanroom_server::problem::{ProblemType, TYPE_PREFIX};
use cleanroom_server::routes::{MAX_HEADER_BYTES, MAX_HEADER_FIELDS};
use cleanroom_server::{Config, spawn};
use common::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn spec() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../protocol-spec/PROTOCOL.md");
    std::fs::read_to_string(path).expect("protocol-spec/PROTOCOL.md")
}

/// The text of section 11.2, up to the next heading of its level or above.
fn errors_section(spec: &str) -> &str {
    let start = spec
        .find("### 11.2 Errors\n")
        .expect("PROTOCOL.md has a section 11.2 Errors");
    let rest = &spec[start + 1..];
    let end = rest
        .find("\n## ")
        .into_iter()
        .chain(rest.find("\n### "))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `(code, status)` of each row of the section's problem table: rows whose
/// first cell is a code in backticks.
fn spec_table(section: &str) -> Vec<(String, u16)> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in section.lines() {
        let line = line.trim();
        if line.starts_with("| code | status |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let code = cells[0]
            .strip_prefix('`')
            .and_then(|c| c.strip_suffix('`'))
            .unwrap_or_else(|| panic!("the code cell of {line:?} is not `code`"));
        let status = cells
            .get(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("the status cell of {line:?} is not a number"));
        rows.push((code.to_owned(), status));
    }
    rows
}

#[test]
fn the_table_parser_reads_every_row_and_stops_at_the_table_end() {
    let section = "### 11.2 Errors\n\n| code | status | meaning |\n|---|---|---|\n\
                   | `a-b` | 409 | x |\n| `c` | 422 | y, `z` |\n\n| other | table |\n";
    assert_eq!(
        spec_table(section),
        vec![("a-b".to_owned(), 409), ("c".to_owned(), 422)]
    );
}

#[test]
fn spec_table_lists_exactly_the_problem_types() {
    let spec = spec();
    let rows = spec_table(errors_section(&spec));
    let table: BTreeSet<(String, u16)> = rows.iter().cloned().collect();
    assert_eq!(table.len(), rows.len(), "a code is listed twice in 11.2");
    let code: BTreeSet<(String, u16)> = ProblemType::ALL
        .iter()
        .map(|p| (p.code().to_owned(), p.status().as_u16()))
        .collect();
    let only_spec: Vec<_> = table.difference(&code).collect();
    let only_code: Vec<_> = code.difference(&table).collect();
    assert!(
        only_spec.is_empty() && only_code.is_empty(),
        "PROTOCOL.md 11.2 and ProblemType disagree:\n  only in the spec: {only_spec:?}\n  only in the code: {only_code:?}"
    );
}

/// Every problem shown anywhere in the spec has a listed code, and the
/// status and title that code is answered with.
#[test]
fn spec_problem_examples_match_the_problem_types() {
    let spec = spec();
    let mut examples = 0;
    for block in spec.split("```json\n").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        if !block.contains(TYPE_PREFIX) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(block)
            .unwrap_or_else(|e| panic!("a problem example is not JSON ({e}):\n{block}"));
        let code = v["code"].as_str().expect("a problem example has a code");
        let p = ProblemType::from_code(code)
            .unwrap_or_else(|| panic!("example code {code} is not a ProblemType"));
        assert_eq!(v["type"], p.type_uri(), "{block}");
        assert_eq!(v["status"], p.status().as_u16(), "{block}");
        assert_eq!(v["title"], p.title(), "{block}");
        examples += 1;
    }
    assert!(examples >= 2, "the spec shows problems");
    // Codes named in prose, as `urn:cleanroom:problem:<code>`, exist too.
    for (i, _) in spec.match_indices(TYPE_PREFIX) {
        let code: String = spec[i + TYPE_PREFIX.len()..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        // `urn:cleanroom:problem:<code>` is the pattern, not a code.
        if code.is_empty() {
            continue;
        }
        assert!(
            ProblemType::from_code(&code).is_some(),
            "{TYPE_PREFIX}{code} is not a ProblemType"
        );
    }
}

#[test]
fn codes_are_unique_and_type_uris_end_in_them() {
    let mut seen = BTreeSet::new();
    for p in ProblemType::ALL {
        assert!(seen.insert(p.code()), "{} twice", p.code());
        assert_eq!(p.type_uri(), format!("{TYPE_PREFIX}{}", p.code()));
        assert_eq!(ProblemType::from_code(p.code()), Some(*p));
        assert!(p.status().is_client_error() || p.status().is_server_error());
        assert!(!p.meaning().is_empty() && !p.title().is_empty());
    }
}

/// What axum answers by itself keeps its status; a status no problem type
/// has becomes a listed one.
#[test]
fn framework_statuses_map_to_listed_problem_types() {
    use axum::http::StatusCode;
    for s in [400, 404, 405, 413, 415, 422, 431, 500] {
        let status = StatusCode::from_u16(s).expect("a valid status");
        assert_eq!(ProblemType::for_status(status).status(), status);
    }
    assert_eq!(
        ProblemType::for_status(StatusCode::REQUEST_TIMEOUT),
        ProblemType::BadRequest
    );
    assert_eq!(
        ProblemType::for_status(StatusCode::BAD_GATEWAY),
        ProblemType::Internal
    );
}

/// Sends `head` (a request line and header lines, no final CRLF) and returns
/// the status and the body of the answer, read until the server closes.
async fn raw(addr: &str, head: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let request = format!("{head}Connection: close\r\n\r\n");
    // The server may answer and close before it has read everything.
    let _ = s.write_all(request.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test]
async fn oversized_headers_are_a_431_problem_up_to_hypers_own_limit() {
    let db = TestDb::sqlite();
    let server = spawn(Config::for_tests(db.url())).await.unwrap();
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    let base = "GET /healthz HTTP/1.1\r\nHost: x\r\n";

    // Within the limits: answered.
    let (st, _, _) = raw(&addr, base).await;
    assert_eq!(st, 200);

    // One long field, and too many short ones: a problem naming the limits.
    let long = format!("{base}X-Filler: {}\r\n", "a".repeat(MAX_HEADER_BYTES));
    let many: String = (0..MAX_HEADER_FIELDS)
        .map(|i| format!("X-Filler-{i}: a\r\n"))
        .collect();
    for head in [long, format!("{base}{many}")] {
        let (st, head, body) = raw(&addr, &head).await;
        assert_eq!(st, 431, "{head}");
        assert!(
            head.contains("content-type: application/problem+json"),
            "{head}"
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("a problem body");
        assert_eq!(v["code"], ProblemType::HeadersTooLarge.code());
        assert_eq!(v["status"], 431);
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(&MAX_HEADER_BYTES.to_string()), "{detail}");
    }

    // Beyond hyper's own limit of 100 fields: its bare 431, no body, as
    // PROTOCOL.md 11.2 tells clients to expect. (Its byte limit, about
    // 400 KiB, ends in a reset while the client still sends, so a client may
    // not even read that 431.)
    let fields: String = (0..101).map(|i| format!("X-Filler-{i}: a\r\n")).collect();
    let (st, head, body) = raw(&addr, &format!("{base}{fields}")).await;
    assert_eq!(st, 431, "{head}");
    assert!(body.is_empty(), "{body}");
    server.shutdown().await;
}

//! `normalize::country` against the independent Python reference,
//! `protocol-spec/reference/country.py` (standard library only), on a few
//! hundred inputs: hand-picked edge cases plus table aliases in other case,
//! width, decomposition and punctuation.
//!
//! Skipped, with a notice, when `python3` is not installed. The inputs avoid
//! code points assigned after Unicode 14 (Python 3.11's `unicodedata`), where
//! the two Unicode tables could legitimately differ.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use cleanroom_core::normalize::country;

const RUNNER: &str = r#"
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("country", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
out = []
for raw in json.loads(sys.stdin.buffer.read().decode("utf-8")):
    try:
        out.append(m.normalize_country(raw))
    except m.Reject as e:
        out.append("reject:" + e.reason)
sys.stdout.write(json.dumps(out))
"#;

/// Hand-picked inputs: CRM spellings, placeholders, punctuation, Unicode
/// folding and separators in many scripts.
const EDGE_CASES: &[&str] = &[
    "",
    " ",
    "\t\n",
    "\u{a0}\u{3000}",
    "-",
    "..",
    "'",
    "&",
    "&&",
    "N/A",
    "n.a.",
    "NA",
    "n/a",
    "none",
    "None",
    "Unknown",
    "unknown country",
    "The",
    "the the netherlands",
    "The Netherlands",
    "THE NETHERLANDS",
    "Netherlands, The",
    "Theland",
    "Atlantis",
    "Europe",
    "EU",
    "London",
    "Germany, Berlin",
    "UK/Ireland",
    "123",
    "007",
    "¹²³",
    "Ⅻ",
    "①",
    "United Kingdom",
    "UK",
    "U.K.",
    "u. k.",
    "GB",
    "GBR",
    "Great Britain",
    "England",
    "Deutschland",
    "Germany",
    "DE",
    "U.S.A.",
    "U.S.A",
    "u s a",
    "United States of America",
    "US",
    "us of a",
    "España",
    "ESPAÑA",
    "Espan\u{303}a",
    "Österreich",
    "OESTERREICH",
    "Schweiz",
    "Suisse",
    "Nederland",
    "Holland",
    "Brasil",
    "México",
    "日本",
    "中国",
    "中國",
    "臺灣",
    "台灣",
    "\u{f900}",
    "Россия",
    "РОССИЯ",
    "Türkiye",
    "TÜRKİYE",
    "türkıye",
    "Korea, Republic of",
    "South Korea",
    "대한민국",
    "대한민국",
    "ᄀ'ᅡ",
    "ㄱ",
    "Côte d'Ivoire",
    "Côte d’Ivoire",
    "Cote d´Ivoire",
    "Côte-d'Ivoire",
    "COTE D'IVOIRE",
    "Ivory Coast",
    "UAE",
    "U.A.E.",
    "Viet Nam",
    "VIỆT NAM",
    "Việt Nam",
    "Ｕｎｉｔｅｄ Ｓｔａｔｅｓ",
    "ＵＳＡ",
    "ﾄﾞｲﾂ",
    "ドイツ",
    "にっぽん",
    "Straße",
    "STRASSE",
    "ẞ",
    "ß",
    "ﬀ",
    "ǅ",
    "Ǆ",
    "ŉ",
    "ǰ",
    "İ",
    "\u{212a}",
    "\u{212b}",
    "Ελλάς",
    "ΕΛΛΑΣ",
    "Ελλάδα",
    "ς",
    "Україна",
    "УКРАЇНА",
    "Србија",
    "Қазақстан",
    "ҚАЗАҚСТАН",
    "Монгол Улс",
    "საქართველო",
    "ᲡᲐᲥᲐᲠᲗᲕᲔᲚᲝ",
    "Հայաստան",
    "ՀԱՅԱՍՏԱՆ",
    "և",
    "ایران",
    "جمهوری\u{200c}اسلامی ایران",
    "الإمارات العربيّة المتّحدة",
    "مِصْر",
    "יִשְׂרָאֵל",
    "ישראל",
    "भारत",
    "भरत",
    "বাংলাদেশ",
    "இலங்கை",
    "ශ්‍රී ලංකාව",
    "ประเทศไทย",
    "ไทย",
    "ລາວ",
    "កម្ពុជា",
    "မြန်မာ",
    "ኢትዮጵያ",
    "Polska",
    "ČESKO",
    "Česká republika",
    "Magyarország",
    "România",
    "Romania",
    "Hrvatska",
    "Lietuva",
    "Ísland",
    "Éire",
    "Føroyar",
    "Lýðveldið Ísland",
    "Åland",
    "Ålandsöarna",
    "Oʻzbekiston",
    "O'zbekiston",
    "Ger\u{200b}many",
    "Ger\u{ad}many",
    "Germany\u{feff}",
    "e\u{301}",
    "\u{1f150}\u{1f151}",
    "Ⓤⓚ",
    "🇺🇸",
    "US 🇺🇸",
    "\"UK\"",
    "(UK)",
    "[Germany]",
    "Germany.",
    "Germany!!",
    "united_states",
    "united-states",
    "United\tStates",
    "United\nKingdom",
    "Trinidad & Tobago",
    "Trinidad&Tobago",
    "Bosnia & Herzegovina",
    "St. Kitts & Nevis",
    "St.Lucia",
    "Saint Lucia",
    "Congo",
    "CONGO",
    "Congo (DRC)",
    "Congo-Brazzaville",
    "Virgin Islands",
    "British Virgin Islands",
    "Virgin Islands, U.S.",
    "Hong Kong (SAR)",
    "Hong Kong S.A.R., China",
    "Macau",
    "Macao SAR",
    "Taiwan, Province of China",
    "Palestine, State of",
    "Holy See (Vatican City State)",
    "Burma",
    "Swaziland",
    "Cape Verde",
    "Kosovo",
    "Korea",
    "North Korea",
    "Korea, Democratic People's Republic of",
    "Lao People's Democratic Republic",
    "Saint Barthélemy",
    "Curaçao",
    "Réunion",
    "Åland Islands",
    "Türkei",
    "Großbritannien",
    "Vereinigtes Königreich",
    "États-Unis",
    "Etats Unis",
    "EE. UU.",
    "Estados Unidos",
    "Россия ",
    "  Japan  ",
];

/// Table-alias transformations, cycled over a sample of the table.
fn variant(alias: &str, i: usize) -> String {
    match i % 8 {
        0 => alias.to_uppercase(),
        1 => format!("The {alias}"),
        2 => alias.replace(' ', "-"),
        3 => alias
            .chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                ' ' => '\u{3000}',
                c => c,
            })
            .collect(),
        4 => format!("  {alias}.  "),
        5 => {
            use unicode_normalization::UnicodeNormalization;
            alias.nfd().collect()
        }
        6 => alias
            .split(' ')
            .map(|w| {
                let mut cs = w.chars();
                match cs.next() {
                    Some(f) => f.to_uppercase().chain(cs).collect::<String>(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => format!("\"{alias}\","),
    }
}

fn table_aliases() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol-spec/data/countries.tsv");
    let table = std::fs::read_to_string(path).expect("countries.tsv");
    table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t').map(|(a, _)| a.to_owned()))
        .collect()
}

fn rust_result(raw: &str) -> String {
    match country(raw) {
        Ok(c) => c.as_str().to_owned(),
        Err(r) => format!("reject:{}", r.as_str()),
    }
}

#[test]
fn country_agrees_with_the_python_reference() {
    let mut inputs: Vec<String> = EDGE_CASES.iter().map(|s| (*s).to_owned()).collect();
    let aliases = table_aliases();
    // Every 40th alias, as is and in one variant: about 130 aliases spread
    // over every script of the table.
    for (i, alias) in aliases.iter().step_by(40).enumerate() {
        inputs.push(alias.clone());
        inputs.push(variant(alias, i));
    }
    assert!(inputs.len() >= 300, "only {} inputs", inputs.len());

    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol-spec/reference/country.py");
    let child = Command::new("python3")
        .arg("-c")
        .arg(RUNNER)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("NOTICE: python3 not found; skipping the country reference comparison");
            return;
        }
        Err(e) => panic!("cannot start python3: {e}"),
    };
    let json = serde_json::to_vec(&inputs).expect("inputs as JSON");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&json)
        .expect("write inputs");
    let output = child.wait_with_output().expect("python3 output");
    assert!(output.status.success(), "the reference failed");
    let python: Vec<String> = serde_json::from_slice(&output.stdout).expect("reference JSON");
    assert_eq!(python.len(), inputs.len());

    let mut disagreements = Vec::new();
    let mut outcomes = std::collections::BTreeSet::new();
    for (raw, py) in inputs.iter().zip(&python) {
        let rs = rust_result(raw);
        if &rs != py {
            disagreements.push(format!("{raw:?}: rust {rs}, python {py}"));
        }
        outcomes.insert(rs);
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} inputs disagree:\n{}",
        disagreements.len(),
        inputs.len(),
        disagreements.join("\n")
    );
    // The inputs exercise both rejections and many countries.
    assert!(outcomes.contains("reject:empty") && outcomes.contains("reject:unknown-country"));
    assert!(
        outcomes.len() > 100,
        "only {} distinct outcomes",
        outcomes.len()
    );
}

//! The label selector parser against Go: every recorded case in
//! `tests/fixtures/label_selectors/` (kustomize v5.5.0's copy of the parser
//! and apimachinery v0.32.4's), checked byte for byte: errors, `String()`
//! and matches against fixed label sets. The answers come from
//! `tests/labels_oracle` (Go, not built in CI).

use fleet_kustomize::labels::{Dialect, parse_with};
use std::path::PathBuf;

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("label_selectors")
}

/// Undoes the corpus escaping: `\\`, `\t`, `\n`, `\r`, `\0`.
fn unesc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn read(name: &str) -> String {
    std::fs::read_to_string(cases_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn label_sets() -> Vec<Vec<(String, String)>> {
    let text = read("labelsets.txt");
    text.strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .map(|line| {
            if line.is_empty() {
                return Vec::new();
            }
            let f: Vec<&str> = line.split('\t').collect();
            f.chunks(2).map(|kv| (unesc(kv[0]), unesc(kv[1]))).collect()
        })
        .collect()
}

fn check(file: &str, dialect: Dialect) {
    let sets = label_sets();
    let text = read(file);
    let mut failures = Vec::new();
    let mut n = 0;
    // Split on '\n' only: selectors may contain raw U+2028, VT, FF, ...
    for line in text.strip_suffix('\n').unwrap_or(&text).split('\n') {
        n += 1;
        let f: Vec<&str> = line.split('\t').collect();
        let sel = unesc(f[0]);
        let got = parse_with(&sel, dialect);
        match (f[1], &got) {
            ("OK", Ok(s)) => {
                let bits: String = sets
                    .iter()
                    .map(|ls| if s.matches(ls) { '1' } else { '0' })
                    .collect();
                let want_str = unesc(f[2]);
                if s.to_string() != want_str || bits != f[3] {
                    failures.push(format!(
                        "{sel:?}: want OK {want_str:?} {} got OK {:?} {bits}",
                        f[3],
                        s.to_string()
                    ));
                }
            }
            ("ERR", Err(e)) => {
                let want = unesc(f[2]);
                if *e != want {
                    failures.push(format!("{sel:?}:\n  want ERR {want:?}\n  got  ERR {e:?}"));
                }
            }
            _ => failures.push(format!(
                "{sel:?}: want {} {:?}, got {got:?}",
                f[1],
                f.get(2)
            )),
        }
    }
    assert!(n >= 1000, "only {n} cases in {file}");
    assert!(
        failures.is_empty(),
        "{} of {n} cases differ from Go in {file}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn matches_go_kustomize_kyaml_v0_18_1() {
    check("kustomize.txt", Dialect::Kustomize);
}

#[test]
fn matches_go_apimachinery_v0_32_4() {
    check("apimachinery-v0.32.4.txt", Dialect::Apimachinery);
}

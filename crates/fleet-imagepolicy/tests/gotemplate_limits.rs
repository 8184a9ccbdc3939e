//! Resource bounds and behaviour that has no Go counterpart to diff against.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fleet_imagepolicy::gotemplate::{Error, MAX_OUTPUT, Template, Value};
use std::time::{Duration, Instant};

fn run(text: &str) -> Result<String, Error> {
    Template::parse("commit message", text)?.execute(&Value::Nil)
}

fn exec_err(text: &str) -> String {
    let start = Instant::now();
    let r = run(text);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    match r {
        Err(Error::Exec { message }) => message,
        other => panic!("expected exec error for {text:?}, got {other:?}"),
    }
}

#[test]
fn huge_range_is_cut_off() {
    assert!(
        exec_err("{{ range 1000000000 }}{{ end }}").contains("execution exceeds 1000000 steps")
    );
}

#[test]
fn huge_repeat_is_refused() {
    let e = exec_err(r#"{{ repeat 1000000000 "x" }}"#);
    assert!(
        e.contains("error calling repeat: result exceeds 1048576 bytes"),
        "{e}"
    );
}

#[test]
fn output_is_capped() {
    let e = exec_err(r#"{{ range 100000 }}{{ repeat 100 "x" }}{{ end }}"#);
    assert!(
        e.contains(&format!("output exceeds {MAX_OUTPUT} bytes")),
        "{e}"
    );
}

#[test]
fn recursive_templates_are_bounded() {
    let e = exec_err(r#"{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}"#);
    assert!(e.ends_with("exceeded maximum template depth (100)"), "{e}");
    let e = exec_err(
        r#"{{ define "a" }}{{ template "a" }}{{ template "a" }}{{ end }}{{ template "a" }}"#,
    );
    assert!(e.contains("exceeded"), "{e}");
}

#[test]
fn growing_lists_are_bounded() {
    let e = exec_err("{{ $l := list 1 }}{{ range 100 }}{{ $l = list $l $l }}{{ end }}");
    assert!(
        e.contains("error calling list: ") && e.ends_with("too large"),
        "{e}"
    );
    let many = format!(
        "{{{{ $l := list 1 }}}}{{{{ range 100 }}}}{{{{ $l = list {} }}}}{{{{ end }}}}",
        "$l ".repeat(1000)
    );
    let e = exec_err(&many);
    assert!(
        e.contains("error calling list: arguments are too large"),
        "{e}"
    );
}

#[test]
fn deep_nesting_is_a_parse_error() {
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(500), ")".repeat(500));
    assert!(
        matches!(run(&parens), Err(Error::Parse { message }) if message.ends_with("max expression depth exceeded"))
    );
    let blocks = format!(
        "{}{}",
        "{{ block \"x\" 1 }}".repeat(500),
        "{{ end }}".repeat(500)
    );
    assert!(
        matches!(run(&blocks), Err(Error::Parse { message }) if message.ends_with("max nesting depth exceeded"))
    );
    let ifs = format!("{}{}", "{{ if 1 }}".repeat(500), "{{ end }}".repeat(500));
    assert!(
        matches!(run(&ifs), Err(Error::Parse { message }) if message.ends_with("max nesting depth exceeded"))
    );
}

#[test]
fn unsupported_sprig_function_is_a_clear_parse_error() {
    let r = run(r#"{{ semver "1.0.0" }}"#);
    assert_eq!(
        r,
        Err(Error::Parse {
            message: r#"template: commit message:1: function "semver" not supported (Sprig function outside this renderer's subset)"#
                .into()
        })
    );
}

#[test]
fn undefined_function_matches_go() {
    assert_eq!(
        run("{{ nosuch }}").map_err(|e| e.to_string()),
        Err(r#"template: commit message:1: function "nosuch" not defined"#.into())
    );
}

#[test]
fn keys_are_sorted() {
    assert_eq!(
        run(r#"{{ keys (dict "b" 1 "c" 2 "a" 3) }} {{ values (dict "b" 1 "a" 2) }}"#),
        Ok("[a b c] [2 1]".into())
    );
}

#[test]
fn builders() {
    let mut m = std::collections::BTreeMap::new();
    m.insert("k".to_string(), "v".to_string());
    let data = Value::map_of_strings(m);
    let t = Template::parse("t", "{{ .k }} {{ index . \"k\" }}").expect("parses");
    assert_eq!(t.execute(&data), Ok("v v".into()));
    assert_eq!(
        Value::from(vec!["a", "b"]),
        Value::List(vec![Value::from("a"), Value::from("b")])
    );
}

#[test]
fn deep_execution_does_not_overflow_the_stack() {
    let ifs = format!(
        "{}{{{{ template \"a\" }}}}{}",
        "{{ if 1 }}".repeat(99),
        "{{ end }}".repeat(99)
    );
    let text = format!("{{{{ define \"a\" }}}}{ifs}{{{{ end }}}}{{{{ template \"a\" }}}}");
    let e = exec_err(&text);
    assert!(e.contains("exceed"), "{e}");
    let e = exec_err("{{ $l := list }}{{ range 100000 }}{{ $l = list $l }}{{ end }}{{ $l }}");
    assert!(e.contains("too large"), "{e}");
}

#[test]
fn deepest_allowed_nesting_fits_the_stack() {
    let parens = format!("{}1{}", "(print ".repeat(99), ")".repeat(99));
    let body = format!(
        "{}{{{{ {parens} }}}}{}",
        "{{ range 1 }}".repeat(99),
        "{{ end }}".repeat(99)
    );
    let text = format!(
        "{{{{ define \"a\" }}}}{body}{{{{ end }}}}{{{{ define \"b\" }}}}{}{{{{ template \"a\" }}}}{}{{{{ end }}}}{{{{ template \"b\" }}}}",
        "{{ with 1 }}".repeat(99),
        "{{ end }}".repeat(99)
    );
    assert_eq!(run(&text), Ok("1".into()));
}

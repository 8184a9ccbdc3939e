//! Label selector strings (`app=web,tier in (a,b),!canary`) as Kubernetes
//! parses them: a port of Go's parser, byte for byte in its errors.
//!
//! Two Go implementations are reproduced, selected with [`Dialect`]:
//!
//! * [`Dialect::Kustomize`] (the default used by [`parse`]): the copy of
//!   `k8s.io/apimachinery@v0.19.8/pkg/labels` that kustomize vendors as
//!   `sigs.k8s.io/kustomize/kyaml/yaml/internal/k8sgen/pkg/labels`
//!   (kyaml v0.18.1, i.e. kustomize v5.5.0 and the kustomize built into
//!   kubectl 1.32). This is what `RNode.MatchesLabelSelector` /
//!   `MatchesAnnotationSelector` call for patch `target.labelSelector` /
//!   `annotationSelector` and replacement selectors, so its errors are the
//!   ones kustomize prints.
//! * [`Dialect::Apimachinery`] reproduces `k8s.io/apimachinery@v0.32.4`'s
//!   `labels.Parse`, whose validation errors are `field.Error`s (`<nil>: Invalid value: ...`,
//!   `values[0][key]: Invalid value: ...`) aggregated as `[e1, e2]`.
//!
//! Both dialects accept and reject exactly the same strings and build the
//! same requirements; they differ only in error wording. Errors are
//! byte-for-byte Go's `err.Error()`, including Go `%q` quoting of keys and
//! values (Unicode 15.0.0 printability tables, as in Go 1.21 to 1.26).
//!
//! The parser works on bytes exactly like Go's lexer does: only ASCII bytes
//! are significant, so UTF-8 passes through untouched. One Go quirk is kept:
//! Go's lexer uses byte 0 as its end-of-input marker, so a NUL byte in the
//! input ends the current token, and a NUL at the start of a token (after
//! optional whitespace) ends the whole selector (`"a \0b"` parses as `"a"`).
//!
//! Parsing is linear in the input length (plus O(n log n) sorting of the
//! requirement and value lists), never panics, and uses no `unsafe`.
//!
//! ```
//! use fleet_kustomize::labels::{parse, Operator};
//!
//! let sel = parse("app in (web, api), tier!=db, !canary").unwrap();
//! // Sorted by key, values sorted (Go's String()).
//! assert_eq!(sel.to_string(), "app in (api,web),!canary,tier!=db");
//! assert_eq!(sel.0[0].operator, Operator::In);
//! let labels = vec![("app".to_string(), "web".to_string())];
//! assert!(sel.matches(&labels));
//!
//! assert_eq!(
//!     parse("app=x y").unwrap_err(),
//!     "found 'y', expected: ',' or 'end of string'"
//! );
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

pub use fleet_model::goquote::quote as go_quote;

mod go_sort;

/// Which Go implementation's error messages to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// kustomize's vendored fork (kyaml v0.18.1, copied from apimachinery
    /// v0.19.8): plain `fmt.Errorf` messages such as
    /// `invalid label key "-bad": ...`, first error only.
    #[default]
    Kustomize,
    /// `k8s.io/apimachinery` v0.32.4: `field.Error` messages such as
    /// `<nil>: Invalid value: "-bad": ...`, aggregated when several apply.
    Apimachinery,
}

/// A requirement operator (Go's `selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `key=value`
    Equals,
    /// `key==value`
    DoubleEquals,
    /// `key!=value`
    NotEquals,
    /// `key in (v1,v2)`
    In,
    /// `key notin (v1,v2)`
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>int`
    GreaterThan,
    /// `key<int`
    LessThan,
}

impl Operator {
    /// Go's string value of the operator (`selection.Operator`), e.g. `"notin"`,
    /// `"!"`, `"gt"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One requirement of a selector: a key, an operator and a set of values.
///
/// Requirements produced by [`parse`] have `values` sorted and free of
/// duplicates (Go's `sets.String.List()`): one value for `=`, `==`, `!=`,
/// `>` and `<`; at least one for `in`/`notin` (`()` yields `[""]`); none for
/// exists/does-not-exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The operator relating key and values.
    pub operator: Operator,
    /// The values.
    pub values: Vec<String>,
}

impl Requirement {
    fn has_value(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value)
    }

    /// Go's `Requirement.Matches`.
    ///
    /// * `=`, `==`, `in`: the key is present and its value is in `values`;
    /// * `!=`, `notin`: the key is absent, or its value is not in `values`;
    /// * exists / `!`: the key is present / absent;
    /// * `>` / `<`: the key is present, its value parses as a base-10 `i64`
    ///   (Go `strconv.ParseInt(v, 10, 64)`: optional sign, digits only), the
    ///   requirement has exactly one value which also parses, and the
    ///   comparison holds. Anything else does not match.
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                labels.lookup(&self.key).is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => {
                labels.lookup(&self.key).is_none_or(|v| !self.has_value(v))
            }
            Operator::Exists => labels.lookup(&self.key).is_some(),
            Operator::DoesNotExist => labels.lookup(&self.key).is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(val) = labels.lookup(&self.key) else {
                    return false;
                };
                let Some(ls_value) = parse_go_int(val) else {
                    return false;
                };
                let [only] = self.values.as_slice() else {
                    return false;
                };
                let Some(r_value) = parse_go_int(only) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    ls_value > r_value
                } else {
                    ls_value < r_value
                }
            }
        }
    }
}

/// Go's `Requirement.String()`, e.g. `!a`, `a!=b`, `a notin (x,y)`, `a>5`.
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let (op, parens) = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => ("=", false),
            Operator::DoubleEquals => ("==", false),
            Operator::NotEquals => ("!=", false),
            Operator::In => (" in ", true),
            Operator::NotIn => (" notin ", true),
            Operator::GreaterThan => (">", false),
            Operator::LessThan => ("<", false),
        };
        f.write_str(op)?;
        if parens {
            f.write_str("(")?;
        }
        if let [only] = self.values.as_slice() {
            f.write_str(only)?;
        } else {
            let mut sorted: Vec<&str> = self.values.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            f.write_str(&sorted.join(","))?;
        }
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A parsed selector: the AND of its requirements, sorted by key.
///
/// The empty selector (from `""` or whitespace) matches everything.
/// Requirements with equal keys are left in exactly the (unstable) order
/// Go's `sort.Sort` leaves them, so `to_string()` equals Go's `String()`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    /// Whether every requirement matches `labels` (Go's `Selector.Matches`
    /// with a `labels.Set`). If a key occurs more than once in `labels`, the
    /// last occurrence wins, as when building a Go map from the pairs.
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        self.matches_labels(labels)
    }

    /// [`Selector::matches`] for any [`Labels`] source (maps, slices of pairs).
    pub fn matches_labels<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }

    /// Whether the selector has no requirements (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.0
    }
}

/// Go's `Selector.String()`: requirements joined with `,`.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            fmt::Display::fmt(r, f)?;
        }
        Ok(())
    }
}

/// A source of labels for matching (Go's `labels.Labels`).
pub trait Labels {
    /// The value of `key`, if present.
    fn lookup(&self, key: &str) -> Option<&str>;
}

/// Pairs; the last occurrence of a key wins.
impl Labels for [(String, String)] {
    fn lookup(&self, key: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Pairs; the last occurrence of a key wins.
impl Labels for [(&str, &str)] {
    fn lookup(&self, key: &str) -> Option<&str> {
        self.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

impl<S: std::hash::BuildHasher> Labels for HashMap<String, String, S> {
    fn lookup(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl Labels for BTreeMap<String, String> {
    fn lookup(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

/// Parses `selector` like kustomize does (see [`Dialect::Kustomize`]).
///
/// On failure the error is exactly Go's `err.Error()`.
pub fn parse(selector: &str) -> Result<Selector, String> {
    parse_with(selector, Dialect::Kustomize)
}

/// Parses `selector`, producing the error messages of the given [`Dialect`].
pub fn parse_with(selector: &str, dialect: Dialect) -> Result<Selector, String> {
    let tokens = lex_all(selector);
    let mut parser = Parser {
        tokens,
        pos: 0,
        dialect,
    };
    let mut reqs = parser.parse()?;
    // Go: sort.Sort(ByKey(items)), unstable; reproduced exactly.
    go_sort::go_sort(&mut reqs, |a, b| a.key < b.key);
    Ok(Selector(reqs))
}

// ---------------------------------------------------------------------------
// Lexer (Go's Lexer; operates on bytes)
// ---------------------------------------------------------------------------

/// Token kinds, as in Go (ErrorToken cannot actually be produced, because
/// every single special symbol is itself a token; it is kept for fidelity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

#[derive(Debug, Clone)]
struct Item {
    tok: Tok,
    lit: String,
}

/// Go's `string2token` lookup.
fn keyword(s: &[u8]) -> Option<Tok> {
    Some(match s {
        b")" => Tok::ClosedPar,
        b"," => Tok::Comma,
        b"!" => Tok::DoesNotExist,
        b"==" => Tok::DoubleEquals,
        b"=" => Tok::Equals,
        b">" => Tok::GreaterThan,
        b"in" => Tok::In,
        b"<" => Tok::LessThan,
        b"!=" => Tok::NotEquals,
        b"notin" => Tok::NotIn,
        b"(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(ch: u8) -> bool {
    matches!(ch, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    /// Go's `read`: the next byte, or 0 at the end (a real NUL byte also
    /// reads as 0 but, unlike the end, advances the position).
    fn read(&mut self) -> u8 {
        match self.s.as_bytes().get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// The input between two byte offsets. Offsets always sit next to ASCII
    /// bytes, so they are char boundaries; `get` keeps this panic-free anyway.
    fn slice(&self, start: usize, end: usize) -> String {
        self.s.get(start..end).unwrap_or_default().to_string()
    }

    fn scan_id_or_keyword(&mut self) -> Item {
        let start = self.pos;
        let mut end = start;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special_symbol(ch) || is_whitespace(ch) {
                self.unread();
                break;
            }
            end = self.pos;
        }
        let bytes = self.s.as_bytes().get(start..end).unwrap_or_default();
        let tok = keyword(bytes).unwrap_or(Tok::Identifier);
        Item {
            tok,
            lit: self.slice(start, end),
        }
    }

    fn scan_special_symbol(&mut self) -> Item {
        let start = self.pos;
        let mut last: Option<(Tok, usize)> = None;
        let mut end = start;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special_symbol(ch) {
                end = self.pos;
                let buf = self.s.as_bytes().get(start..end).unwrap_or_default();
                if let Some(tok) = keyword(buf) {
                    last = Some((tok, end));
                } else if last.is_some() {
                    self.unread();
                    break;
                }
            } else {
                self.unread();
                break;
            }
        }
        match last {
            Some((tok, lit_end)) => Item {
                tok,
                lit: self.slice(start, lit_end),
            },
            None => Item {
                tok: Tok::Error,
                lit: format!("error expected: keyword found '{}'", self.slice(start, end)),
            },
        }
    }

    fn lex(&mut self) -> Item {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            Item {
                tok: Tok::EndOfString,
                lit: String::new(),
            }
        } else if is_special_symbol(ch) {
            self.unread();
            self.scan_special_symbol()
        } else {
            self.unread();
            self.scan_id_or_keyword()
        }
    }
}

/// Go's `Parser.scan`: all tokens up to and including EndOfString.
fn lex_all(s: &str) -> Vec<Item> {
    let mut lexer = Lexer { s, pos: 0 };
    let mut items = Vec::new();
    loop {
        let item = lexer.lex();
        let done = item.tok == Tok::EndOfString;
        items.push(item);
        if done {
            return items;
        }
    }
}

// ---------------------------------------------------------------------------
// Parser (Go's Parser)
// ---------------------------------------------------------------------------

/// Go's `ParserContext`: in `Values` context `in`/`notin` are identifiers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    KeyAndOperator,
    Values,
}

struct Parser {
    tokens: Vec<Item>,
    pos: usize,
    dialect: Dialect,
}

fn contextual(tok: Tok, ctx: Ctx) -> Tok {
    match (ctx, tok) {
        (Ctx::Values, Tok::In | Tok::NotIn) => Tok::Identifier,
        _ => tok,
    }
}

impl Parser {
    /// The current token (past the end, which Go never reaches, this
    /// reports EndOfString instead of panicking).
    fn peek_item(&self, at: usize) -> (Tok, String) {
        match self.tokens.get(at) {
            Some(item) => (item.tok, item.lit.clone()),
            None => (Tok::EndOfString, String::new()),
        }
    }

    fn lookahead(&self, ctx: Ctx) -> (Tok, String) {
        let (tok, lit) = self.peek_item(self.pos);
        (contextual(tok, ctx), lit)
    }

    fn consume(&mut self, ctx: Ctx) -> (Tok, String) {
        let (tok, lit) = self.peek_item(self.pos);
        self.pos += 1;
        (contextual(tok, ctx), lit)
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Ctx::Values);
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.consume(Ctx::Values);
                    match t {
                        Tok::EndOfString => return Ok(reqs),
                        Tok::Comma => {
                            let (t2, l2) = self.lookahead(Ctx::Values);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Tok::EndOfString => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(op @ (Operator::Exists | Operator::DoesNotExist)) = inferred {
            return new_requirement(key, op, BTreeSet::new(), self.dialect);
        }
        let op = self.parse_operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        new_requirement(key, op, values, self.dialect)
    }

    /// Returns the key and `Some(Exists | DoesNotExist)` when the operator
    /// is already known, `None` when a binary operator must follow.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Ctx::Values);
        if tok == Tok::DoesNotExist {
            op = Some(Operator::DoesNotExist);
            (tok, lit) = self.consume(Ctx::Values);
        }
        if tok != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        let errs = is_qualified_name(&lit, self.dialect);
        if !errs.is_empty() {
            return Err(key_error(&lit, &errs, self.dialect));
        }
        let (t, _) = self.lookahead(Ctx::Values);
        if (t == Tok::EndOfString || t == Tok::Comma) && op.is_none() {
            op = Some(Operator::Exists);
        }
        Ok((lit, op))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.consume(Ctx::KeyAndOperator);
        Ok(match tok {
            Tok::In => Operator::In,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => {
                return Err(match self.dialect {
                    Dialect::Kustomize => {
                        format!("found '{lit}', expected: '=', '!=', '==', 'in', notin'")
                    }
                    Dialect::Apimachinery => {
                        format!("found '{lit}', expected: in, notin, =, ==, !=, gt, lt")
                    }
                });
            }
        })
    }

    fn parse_values(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, lit) = self.consume(Ctx::Values);
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Ctx::Values);
        match tok {
            Tok::Identifier | Tok::Comma => {
                let s = self.parse_identifiers_list()?;
                let (tok, _) = self.consume(Ctx::Values);
                if tok != Tok::ClosedPar {
                    // Unreachable in Go too (the list ends before ')'); Go
                    // reports the literal that started the list.
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(s)
            }
            Tok::ClosedPar => {
                self.consume(Ctx::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    /// Go's `parseIdentifiersList` (both dialects consume the second comma
    /// of `,,`, so `(a,,)` is an error; apimachinery >= v0.33 accepts it).
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut s = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Ctx::Values);
            match tok {
                Tok::Identifier => {
                    s.insert(lit);
                    let (tok2, lit2) = self.lookahead(Ctx::Values);
                    match tok2 {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(s),
                        _ => return Err(format!("found '{lit2}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if s.is_empty() {
                        s.insert(String::new());
                    }
                    let (tok2, _) = self.lookahead(Ctx::Values);
                    if tok2 == Tok::ClosedPar {
                        s.insert(String::new());
                        return Ok(s);
                    }
                    if tok2 == Tok::Comma {
                        self.consume(Ctx::Values);
                        s.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, _) = self.lookahead(Ctx::Values);
        if tok == Tok::EndOfString || tok == Tok::Comma {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (tok, lit) = self.consume(Ctx::Values);
        if tok == Tok::Identifier {
            return Ok(BTreeSet::from([lit]));
        }
        Err(format!("found '{lit}', expected: identifier"))
    }
}

/// Go's `NewRequirement`, restricted to the checks the parser can trigger:
/// the parser always supplies a valid key, no values for exists/`!`, one
/// value for `=`/`==`/`!=`/`>`/`<` and at least one for `in`/`notin`, so
/// only the integer check for `>`/`<` and the label value checks can fail.
fn new_requirement(
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
    dialect: Dialect,
) -> Result<Requirement, String> {
    let values: Vec<String> = values.into_iter().collect();
    let mut errs: Vec<String> = Vec::new();
    if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
        for (i, v) in values.iter().enumerate() {
            if parse_go_int(v).is_none() {
                const MSG: &str = "for 'Gt', 'Lt' operators, the value must be an integer";
                match dialect {
                    Dialect::Kustomize => return Err(MSG.to_string()),
                    Dialect::Apimachinery => errs.push(format!(
                        "values[{i}]: Invalid value: {}: {MSG}",
                        go_quote(v)
                    )),
                }
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let msgs = is_valid_label_value(v);
        if msgs.is_empty() {
            continue;
        }
        let detail = msgs.join("; ");
        match dialect {
            Dialect::Kustomize => {
                return Err(format!(
                    "invalid label value: {}: at key: {}: {detail}",
                    go_quote(v),
                    go_quote(&key)
                ));
            }
            Dialect::Apimachinery => errs.push(format!(
                "values[{i}][{key}]: Invalid value: {}: {detail}",
                go_quote(v)
            )),
        }
    }
    if !errs.is_empty() {
        return Err(aggregate(errs));
    }
    Ok(Requirement {
        key,
        operator,
        values,
    })
}

/// `field.ErrorList.ToAggregate().Error()`: duplicates dropped, a single
/// message as is, several as `[m1, m2]`.
fn aggregate(errs: Vec<String>) -> String {
    let mut seen = BTreeSet::new();
    let mut unique = Vec::new();
    for e in errs {
        if seen.insert(e.clone()) {
            unique.push(e);
        }
    }
    if unique.len() == 1 {
        unique.pop().unwrap_or_default()
    } else {
        format!("[{}]", unique.join(", "))
    }
}

/// Go's `validateLabelKey` error. In apimachinery it is a `field.Error`
/// whose path is the parser's nil `*field.Path`, which prints as `<nil>`.
fn key_error(key: &str, errs: &[String], dialect: Dialect) -> String {
    let detail = errs.join("; ");
    match dialect {
        Dialect::Kustomize => format!("invalid label key {}: {detail}", go_quote(key)),
        Dialect::Apimachinery => format!("<nil>: Invalid value: {}: {detail}", go_quote(key)),
    }
}

/// Go's `strconv.ParseInt(s, 10, 64)`: optional `+`/`-`, then ASCII digits,
/// within `i64` range. Rust's `i64::from_str` accepts exactly the same set.
fn parse_go_int(s: &str) -> Option<i64> {
    s.parse::<i64>().ok()
}

// ---------------------------------------------------------------------------
// Validation (k8s.io/apimachinery/pkg/util/validation)
// ---------------------------------------------------------------------------

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

fn dns1123_subdomain_err_msg(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Kustomize => {
            "a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        }
        Dialect::Apimachinery => {
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        }
    }
}

/// Go's `validation.RegexError` (note the doubled spaces before "or").
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut out = format!("{msg} (e.g. ");
    for (i, ex) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push('\'');
        out.push_str(ex);
        out.push_str("', ");
    }
    out.push_str("regex used for validation is '");
    out.push_str(fmt);
    out.push_str("')");
    out
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`
fn matches_qualified_name(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
fn matches_dns1123_subdomain(s: &str) -> bool {
    let lower_alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.split('.').all(|label| {
        let b = label.as_bytes();
        match (b.first(), b.last()) {
            (Some(f), Some(l)) => {
                lower_alnum(f) && lower_alnum(l) && b.iter().all(|c| lower_alnum(c) || *c == b'-')
            }
            _ => false,
        }
    })
}

/// Go's `IsDNS1123Subdomain`.
fn is_dns1123_subdomain(value: &str, dialect: Dialect) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            dns1123_subdomain_err_msg(dialect),
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Go's `IsQualifiedName` (the label key check).
fn is_qualified_name(value: &str, dialect: Dialect) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    is_dns1123_subdomain(prefix, dialect)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(QUALIFIED_NAME_MAX_LENGTH)
        ));
    }
    if !matches_qualified_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Go's `IsValidLabelValue`.
fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_qualified_name(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

// ---------------------------------------------------------------------------
// Go's %q (strconv.Quote)
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn basic_parse_and_string() {
        let s = parse("x in (foo,,baz),y,z notin ()").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.to_string(), "x in (,baz,foo),y,z notin ()");
        assert_eq!(s.0[0].values, vec!["", "baz", "foo"]);
        assert_eq!(s.0[1].operator, Operator::Exists);
        assert_eq!(s.0[2].values, vec![""]);
        assert!(parse("").unwrap_or_else(|e| panic!("{e}")).is_empty());
        assert!(
            parse(" \t\r\n")
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty()
        );
    }

    #[test]
    fn operators() {
        let cases = [
            ("a=b", Operator::Equals),
            ("a==b", Operator::DoubleEquals),
            ("a!=b", Operator::NotEquals),
            ("a in (b)", Operator::In),
            ("a notin (b)", Operator::NotIn),
            ("a", Operator::Exists),
            ("!a", Operator::DoesNotExist),
            ("a>1", Operator::GreaterThan),
            ("a<1", Operator::LessThan),
        ];
        for (sel, op) in cases {
            assert_eq!(
                parse(sel).unwrap_or_else(|e| panic!("{e}")).0[0].operator,
                op,
                "{sel}"
            );
        }
    }

    #[test]
    fn errors_from_brief() {
        assert_eq!(
            parse("app=x y")
                .err()
                .unwrap_or_else(|| panic!("expected an error")),
            "found 'y', expected: ',' or 'end of string'"
        );
        assert_eq!(
            parse("-bad=x")
                .err()
                .unwrap_or_else(|| panic!("expected an error")),
            "unable to parse requirement: invalid label key \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        let v = "v".repeat(64);
        assert_eq!(
            parse(&format!("app={v}"))
                .err()
                .unwrap_or_else(|| panic!("expected an error")),
            format!(
                "unable to parse requirement: invalid label value: \"{v}\": at key: \"app\": must be no more than 63 characters"
            )
        );
        assert_eq!(
            parse_with(&format!("app={v}"), Dialect::Apimachinery)
                .err()
                .unwrap_or_else(|| panic!("expected an error")),
            format!(
                "unable to parse requirement: values[0][app]: Invalid value: \"{v}\": must be no more than 63 characters"
            )
        );
    }

    #[test]
    fn apimachinery_aggregates() {
        assert_eq!(
            parse_with("a>b", Dialect::Apimachinery)
                .err()
                .unwrap_or_else(|| panic!("expected an error")),
            "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        assert_eq!(
            parse("a>b")
                .err()
                .unwrap_or_else(|| panic!("expected an error")),
            "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer"
        );
        let err = parse_with("a>_", Dialect::Apimachinery)
            .err()
            .unwrap_or_else(|| panic!("expected an error"));
        assert!(
            err.starts_with(
                "unable to parse requirement: [values[0]: Invalid value: \"_\": for 'Gt'"
            ),
            "{err}"
        );
        assert!(
            err.contains(", values[0][a]: Invalid value: \"_\": a valid label"),
            "{err}"
        );
        assert!(err.ends_with(']'), "{err}");
    }

    #[test]
    fn nul_byte_quirk() {
        // A NUL ends the token; at a token start it ends the selector.
        assert_eq!(
            parse("a \0b").unwrap_or_else(|e| panic!("{e}")).to_string(),
            "a"
        );
        assert_eq!(
            parse("a\0b")
                .err()
                .unwrap_or_else(|| panic!("expected an error")),
            "unable to parse requirement: found 'b', expected: '=', '!=', '==', 'in', notin'"
        );
    }

    #[test]
    fn matching() {
        let s =
            parse("app in (web,api),tier!=db,!canary,n>5,m<0").unwrap_or_else(|e| panic!("{e}"));
        let yes = pairs(&[("app", "web"), ("n", "6"), ("m", "-1")]);
        assert!(s.matches(&yes));
        let no = pairs(&[("app", "web"), ("n", "5"), ("m", "-1")]);
        assert!(!s.matches(&no));
        let not_int = pairs(&[("app", "web"), ("n", "six"), ("m", "-1")]);
        assert!(!s.matches(&not_int));
        let canary = pairs(&[("app", "api"), ("n", "9"), ("m", "-1"), ("canary", "")]);
        assert!(!s.matches(&canary));
        // notin matches when the key is absent; last duplicate wins.
        let s = parse("a notin (x)").unwrap_or_else(|e| panic!("{e}"));
        assert!(s.matches(&[]));
        assert!(!s.matches(&pairs(&[("a", "y"), ("a", "x")])));
        let map: HashMap<String, String> = pairs(&[("a", "y")]).into_iter().collect();
        assert!(s.matches_labels(&map));
        assert!(parse("").unwrap_or_else(|e| panic!("{e}")).matches(&[]));
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            go_quote("\u{7}\u{8}\u{c}\n\r\t\u{b}\0\u{7f}"),
            "\"\\a\\b\\f\\n\\r\\t\\v\\x00\\x7f\""
        );
        assert_eq!(
            go_quote("é\u{a0}\u{ad}\u{200b}😀\u{e0001}"),
            "\"é\\u00a0\\u00ad\\u200b😀\\U000e0001\""
        );
        assert!(fleet_model::goquote::is_print_u32(u32::from('中')));
        assert!(!fleet_model::goquote::is_print_u32(0x378)); // unassigned
        assert!(!fleet_model::goquote::is_print_u32(0x10ffff));
    }

    #[test]
    fn long_input_is_fast() {
        let sel = "abc in (x,y,,z),!d,e!=f,".repeat(20_000) + "g";
        let t = std::time::Instant::now();
        let s = parse(&sel).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.0.len(), 60_001);
        let long_bad = "a".repeat(1_000_000) + "=";
        assert!(
            parse(&long_bad)
                .err()
                .unwrap_or_else(|| panic!("expected an error"))
                .contains("name part must be no more than 63")
        );
        assert!(t.elapsed().as_secs() < 20);
    }

    #[test]
    fn never_panics_on_garbage() {
        let pieces = [
            "a", "!", "=", "(", ")", ",", " ", "in", "notin", "\0", "é", ">", "/",
        ];
        // All strings of up to 4 pieces.
        let mut stack = vec![(String::new(), 0)];
        while let Some((s, depth)) = stack.pop() {
            let _ = parse(&s);
            let _ = parse_with(&s, Dialect::Apimachinery);
            if depth < 4 {
                for p in pieces {
                    stack.push((format!("{s}{p}"), depth + 1));
                }
            }
        }
    }
}

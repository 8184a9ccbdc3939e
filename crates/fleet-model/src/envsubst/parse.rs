//! The scanner and parser of Flux's envsubst (a fork of drone/envsubst, whose
//! parser clusterctl uses too). The grammar is quirky — which characters end
//! a word depends on the operator being parsed — so this follows the
//! upstream state machine: a scanner whose accepted characters and token
//! kinds are switched by the parser as it goes.

use super::EnvsubstError;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Literal text.
    Text(String),
    /// `${param<name>args…}`: a parameter with an operator (empty for `${x}`).
    Func {
        /// The variable.
        param: String,
        /// The operator, e.g. `:=`, `^^`, `//`; empty for a bare `${x}`.
        name: String,
        /// The operator's arguments.
        args: Vec<Node>,
    },
    /// A sequence.
    List(Vec<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Illegal,
    Eof,
    Ident,
    Lbrack,
    Rbrack,
}

const SCAN_IDENT: u8 = 1;
const SCAN_LBRACK: u8 = 2;
const SCAN_RBRACK: u8 = 4;
const SCAN_ESCAPE: u8 = 8;

const ESC_DOLLAR: u8 = 1;
const ESC_BACKSLASH: u8 = 2;
const ESC_ALL: u8 = ESC_DOLLAR | ESC_BACKSLASH;

/// Which characters a token may hold; `i` is the 1-based position in the token.
#[derive(Clone, Copy)]
enum Accept {
    Rune,
    Ident,
    Colon,
    OneHash,
    NotClosing,
    HashFunc,
    PercentFunc,
    DefaultFunc,
    ReplaceFunc,
    OneEqual,
    OneColon,
    RejectColonClose,
    Slash,
    NotSlash,
    CasingFunc,
}

impl Accept {
    fn test(self, r: char, i: usize) -> bool {
        match self {
            Accept::Rune => true,
            Accept::Ident => r.is_alphabetic() || is_go_digit(r) || r == '_',
            Accept::Colon => r == ':',
            Accept::OneHash => r == '#' && i == 1,
            Accept::NotClosing => r != '}',
            Accept::HashFunc => r == '#' && i < 3,
            Accept::PercentFunc => r == '%' && i < 3,
            Accept::DefaultFunc => {
                (i == 1 && r == ':') || (i == 2 && matches!(r, '=' | '-' | '?' | '+'))
            }
            Accept::ReplaceFunc => (i == 1 && r == '/') || (i == 2 && matches!(r, '/' | '#' | '%')),
            Accept::OneEqual => i == 1 && r == '=',
            Accept::OneColon => i == 1 && r == ':',
            Accept::RejectColonClose => r != ':' && r != '}',
            Accept::Slash => r == '/',
            Accept::NotSlash => r != '/',
            Accept::CasingFunc => (r == ',' || r == '^') && i < 3,
        }
    }
}

/// Go's `unicode.IsDigit`: decimal digits (category Nd).
fn is_go_digit(r: char) -> bool {
    r.is_ascii_digit() || is_nd(r)
}

/// A small approximation of Unicode's Nd category for non-ASCII digits:
/// characters that Rust considers numeric and that belong to a block of ten
/// consecutive digits (Arabic-Indic, Devanagari, fullwidth, …).
fn is_nd(r: char) -> bool {
    let c = r as u32;
    (0x0660..=0x0669).contains(&c)
        || (0x06F0..=0x06F9).contains(&c)
        || (0x0966..=0x096F).contains(&c)
        || (0x09E6..=0x09EF).contains(&c)
        || (0xFF10..=0xFF19).contains(&c)
}

struct Scanner {
    buf: String,
    /// Byte offsets (in `buf`) of escape characters dropped from the token
    /// being scanned. Go's scanner deletes them from its buffer; shifting
    /// the buffer for every escape made long runs of `$$` quadratic.
    skipped: Vec<usize>,
    pos: usize,
    start: usize,
    width: usize,
    mode: u8,
    escapes: u8,
    accept: Accept,
}

impl Scanner {
    fn read(&mut self) -> Option<char> {
        match self.buf[self.pos..].chars().next() {
            None => {
                self.width = 0;
                None
            }
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
        }
    }

    fn unread(&mut self) {
        self.pos -= self.width;
    }

    fn peek(&mut self) -> Option<char> {
        let r = self.read();
        self.unread();
        r
    }

    /// Drops the (one-byte) escape character just read from the token, and
    /// counts the (one-byte: `$`, `/` or `\\`) character it escapes as read,
    /// as Go's scanner does by deleting the escape from its buffer.
    fn skip(&mut self) {
        self.skipped.push(self.pos - 1);
        self.pos += 1;
    }

    /// Characters of the token before the current position, as Go counts
    /// them after deleting escapes.
    fn offset(&self) -> usize {
        self.pos - self.start - self.skipped.len()
    }

    fn text(&self) -> String {
        let mut out = String::with_capacity(self.pos - self.start);
        let mut from = self.start;
        for &at in &self.skipped {
            out.push_str(&self.buf[from..at]);
            from = at + 1;
        }
        out.push_str(&self.buf[from..self.pos]);
        out
    }

    fn scan(&mut self) -> Token {
        self.start = self.pos;
        self.skipped.clear();
        let Some(r) = self.read() else {
            return Token::Eof;
        };
        if self.scan_lbrack(r) {
            return Token::Lbrack;
        }
        if self.mode & SCAN_RBRACK != 0 && r == '}' {
            return Token::Rbrack;
        }
        if self.scan_ident(r) {
            return Token::Ident;
        }
        Token::Illegal
    }

    fn scan_lbrack(&mut self, r: char) -> bool {
        if self.mode & SCAN_LBRACK == 0 || r != '$' {
            return false;
        }
        if self.read() == Some('{') {
            return true;
        }
        self.unread();
        false
    }

    fn escaped(&mut self, r: char) -> bool {
        if self.mode & SCAN_ESCAPE == 0 {
            return false;
        }
        if r == '$' && self.escapes & ESC_DOLLAR != 0 && self.peek() == Some('$') {
            return true;
        }
        r == '\\' && self.escapes & ESC_BACKSLASH != 0 && matches!(self.peek(), Some('/' | '\\'))
    }

    fn scan_ident(&mut self, r: char) -> bool {
        if self.mode & SCAN_IDENT == 0 {
            return false;
        }
        if self.escaped(r) {
            self.skip();
        } else if !self.accept.test(r, self.offset()) {
            return false;
        }
        while let Some(r) = self.read() {
            if self.scan_lbrack(r) {
                // Give back both `$` and `{`.
                self.pos -= 1;
                self.unread();
                break;
            }
            if self.escaped(r) {
                self.skip();
                continue;
            }
            if !self.accept.test(r, self.offset()) {
                self.unread();
                break;
            }
        }
        true
    }
}

/// Parses a template.
pub fn parse(text: &str) -> Result<Node, EnvsubstError> {
    let mut p = Parser {
        depth: 0,
        s: Scanner {
            buf: text.to_string(),
            skipped: Vec::new(),
            pos: 0,
            start: 0,
            width: 0,
            mode: 0,
            escapes: 0,
            accept: Accept::Rune,
        },
    };
    let mut parts = p.parse_any()?;
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Node::List(parts)
    })
}

/// How deeply `${…}` may nest inside operator words (`${a:=${b:=…}}`).
pub const MAX_NESTING: usize = 64;

struct Parser {
    s: Scanner,
    depth: usize,
}

impl Parser {
    /// The top level: text and substitutions, one after another. Go's parser
    /// recurses once per part; a loop keeps the stack flat however long the
    /// input is.
    fn parse_any(&mut self) -> Result<Vec<Node>, EnvsubstError> {
        let mut parts = Vec::new();
        loop {
            self.s.accept = Accept::Rune;
            self.s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
            self.s.escapes = ESC_DOLLAR;
            match self.s.scan() {
                Token::Ident => parts.push(Node::Text(self.s.text())),
                Token::Eof => return Ok(parts),
                Token::Lbrack => parts.push(self.parse_func()?),
                _ => return Err(EnvsubstError::BadSubstitution),
            }
        }
    }

    fn func(param: String, name: String) -> Node {
        Node::Func {
            param,
            name,
            args: Vec::new(),
        }
    }

    fn parse_func(&mut self) -> Result<Node, EnvsubstError> {
        if self.depth >= MAX_NESTING {
            return Err(EnvsubstError::TooDeep(MAX_NESTING));
        }
        self.depth += 1;
        let node = self.parse_func_body();
        self.depth -= 1;
        node
    }

    fn parse_func_body(&mut self) -> Result<Node, EnvsubstError> {
        self.s.escapes = ESC_ALL;
        if self.s.peek() == Some('#') {
            return self.parse_len_func();
        }
        self.s.accept = Accept::Ident;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.text(),
            _ => return Err(EnvsubstError::ParseVariableName),
        };
        match self.s.peek() {
            Some(':') => return self.parse_default_or_substr(name),
            Some('=') => return self.parse_default_func(name),
            Some(',' | '^') => return self.parse_casing_func(name),
            Some('/') => return self.parse_replace_func(name),
            Some('#') => return self.parse_remove_func(name, Accept::HashFunc),
            Some('%') => return self.parse_remove_func(name, Accept::PercentFunc),
            _ => {}
        }
        self.s.accept = Accept::Ident;
        self.s.mode = SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => Ok(Self::func(name, String::new())),
            _ => Err(EnvsubstError::MissingClosingBrace),
        }
    }

    fn parse_param(&mut self, accept: Accept, mode: u8) -> Result<Node, EnvsubstError> {
        self.s.accept = accept;
        self.s.mode = mode | SCAN_LBRACK;
        match self.s.scan() {
            Token::Lbrack => self.parse_func(),
            Token::Ident | Token::Rbrack => Ok(Node::Text(self.s.text())),
            _ => Err(EnvsubstError::ParseFuncSubstitution),
        }
    }

    fn parse_default_or_substr(&mut self, name: String) -> Result<Node, EnvsubstError> {
        self.s.read();
        let r = self.s.peek();
        self.s.unread();
        match r {
            Some('=' | '-' | '?' | '+') => self.parse_default_func(name),
            _ => self.parse_substr_func(name),
        }
    }

    fn operator(&mut self, accept: Accept) -> Result<String, EnvsubstError> {
        self.s.accept = accept;
        self.s.mode = SCAN_IDENT;
        match self.s.scan() {
            Token::Ident => Ok(self.s.text()),
            _ => Err(EnvsubstError::BadSubstitution),
        }
    }

    fn parse_substr_func(&mut self, param: String) -> Result<Node, EnvsubstError> {
        let name = self.operator(Accept::OneColon)?;
        let mut args = vec![self.parse_param(Accept::RejectColonClose, SCAN_IDENT)?];
        self.s.accept = Accept::Colon;
        self.s.mode = SCAN_IDENT | SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => return Ok(Node::Func { param, name, args }),
            Token::Ident => {}
            _ => return Err(EnvsubstError::BadSubstitution),
        }
        args.push(self.parse_param(Accept::NotClosing, SCAN_IDENT)?);
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_remove_func(&mut self, param: String, accept: Accept) -> Result<Node, EnvsubstError> {
        let name = self.operator(accept)?;
        let args = vec![self.parse_param(Accept::NotClosing, SCAN_IDENT)?];
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_replace_func(&mut self, param: String) -> Result<Node, EnvsubstError> {
        let name = self.operator(Accept::ReplaceFunc)?;
        let mut args = Vec::new();
        if self.s.peek() == Some('/') {
            args.push(Node::Text(String::new()));
        } else {
            args.push(self.parse_param(Accept::NotSlash, SCAN_IDENT | SCAN_ESCAPE)?);
        }
        self.s.accept = Accept::Slash;
        self.s.mode = SCAN_IDENT;
        if self.s.scan() != Token::Ident {
            return Err(EnvsubstError::BadSubstitution);
        }
        if self.s.peek() == Some('}') {
            self.consume_rbrack()?;
            return Ok(Node::Func { param, name, args });
        }
        args.push(self.parse_param(Accept::NotClosing, SCAN_IDENT | SCAN_ESCAPE)?);
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_default_func(&mut self, param: String) -> Result<Node, EnvsubstError> {
        let accept = if self.s.peek() == Some('=') {
            Accept::OneEqual
        } else {
            Accept::DefaultFunc
        };
        self.s.accept = accept;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.text(),
            _ => return Err(EnvsubstError::ParseDefaultFunction),
        };
        let mut args = Vec::new();
        loop {
            if self.s.peek() == Some('}') {
                self.consume_rbrack()?;
                return Ok(Node::Func { param, name, args });
            }
            args.push(self.parse_param(Accept::NotClosing, SCAN_IDENT)?);
        }
    }

    fn parse_casing_func(&mut self, param: String) -> Result<Node, EnvsubstError> {
        let name = self.operator(Accept::CasingFunc)?;
        self.consume_rbrack()?;
        Ok(Self::func(param, name))
    }

    fn parse_len_func(&mut self) -> Result<Node, EnvsubstError> {
        let name = self.operator(Accept::OneHash)?;
        self.s.accept = Accept::Ident;
        self.s.mode = SCAN_IDENT;
        let param = match self.s.scan() {
            Token::Ident => self.s.text(),
            _ => return Err(EnvsubstError::BadSubstitution),
        };
        self.consume_rbrack()?;
        Ok(Self::func(param, name))
    }

    fn consume_rbrack(&mut self) -> Result<(), EnvsubstError> {
        self.s.mode = SCAN_RBRACK;
        if self.s.scan() != Token::Rbrack {
            return Err(EnvsubstError::BadSubstitution);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envsubst::{EnvsubstError, Vars, substitute};
    use std::time::{Duration, Instant};

    fn vars() -> Vars {
        Vars::from([("a", "x")])
    }

    /// Issue 18: tens of KB of `${…}` overflowed the stack (one recursion
    /// per part).
    #[test]
    fn long_inputs_parse_with_a_flat_stack() {
        let input = "k: ${a}-".repeat(50_000);
        let out = substitute(&input, &vars(), false).unwrap_or_default();
        assert_eq!(out, "k: x-".repeat(50_000));
    }

    /// Issue 18: every `$$` escape shifted the rest of the buffer.
    #[test]
    fn escapes_are_linear() {
        let input = "$$".repeat(500_000);
        let started = Instant::now();
        let out = substitute(&input, &vars(), false).unwrap_or_default();
        assert_eq!(out.len(), 500_000);
        assert!(out.bytes().all(|b| b == b'$'));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // Escapes inside a token keep Go's results.
        assert_eq!(
            substitute("a$${a}b", &vars(), false).ok().as_deref(),
            Some("a${a}b")
        );
    }

    #[test]
    fn nesting_is_bounded_with_a_clear_error() {
        let deep = format!(
            "{}x{}",
            "${a:=".repeat(MAX_NESTING + 1),
            "}".repeat(MAX_NESTING + 1)
        );
        assert!(matches!(
            parse(&deep),
            Err(EnvsubstError::TooDeep(MAX_NESTING))
        ));
        let ok = format!(
            "{}x{}",
            "${b:=".repeat(MAX_NESTING),
            "}".repeat(MAX_NESTING)
        );
        assert_eq!(substitute(&ok, &vars(), false).ok().as_deref(), Some("x"));
    }
}

//! An interpreter for Go's `text/template` language plus a subset of Sprig's hermetic text
//! functions, rendering Flux image-automation commit messages exactly as Flux's
//! image-automation-controller does (`template.New("commit message")
//! .Funcs(sprig.HermeticTxtFuncMap()).Parse(msg)` then `Execute`).
//!
//! Resource bounds (Go has none; a template must not hang or exhaust memory here):
//! output is capped at [`MAX_OUTPUT`] bytes (so is any string a function returns),
//! execution at 1,000,000 steps (nodes walked plus range iterations), `{{template}}`
//! nesting at 100 (Go: 100000), parenthesis and control-structure nesting at 100, and
//! values built by functions at 1,000,000 nodes. Exceeding a bound is an [`Error::Exec`]
//! (or [`Error::Parse`] for nesting).
//!
//! Not supported (refused at parse time): Sprig functions outside
//! the hermetic subset listed in `sprig.rs` (date, regex, semver, most crypto, float math,
//! `must*`, dictionary surgery, `fromJson`), custom delimiters and `missingkey` options;
//! `printf` lacks `%#v`, `%[n]` and `*` widths. Known differences: Sprig's `int64` results are
//! plain integers here, so a few error messages name `int` where Go says `int64`, and a
//! function taking an `int` accepts them where Go refuses (`trunc (add 1 2) s`).
//!
//! The expected outputs of `tests/gotemplate/cases` come from Go itself: `cd
//! tests/gotemplate/oracle && go run . ../cases` regenerates them.

mod ast;
mod codec;
mod error;
mod exec;
mod funcs;
mod lex;
mod literal;
mod parse;
mod print;
mod sprig;
mod value;

pub use error::Error;
pub use value::{Struct, Value};

/// Largest output (and largest string a function may return), in bytes: 1 MiB.
pub const MAX_OUTPUT: usize = 1 << 20;

/// A parsed template, ready to execute.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    text: String,
    trees: parse::TreeSet,
}

impl Template {
    /// Parses like Go's template.New(name).Funcs(sprig hermetic subset).Parse(text).
    pub fn parse(name: &str, text: &str) -> Result<Template, Error> {
        let trees = parse::parse(name, text)?;
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            trees,
        })
    }

    /// Executes against `data` (the dot).
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        exec::execute(&self.trees, &self.name, &self.text, data)
    }
}

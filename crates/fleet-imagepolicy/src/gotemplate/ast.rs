//! Parse tree nodes, printed back exactly like Go's `parse.Node.String()` (used in error context).

use std::fmt::{self, Display, Formatter};

/// A statement-level node of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break(usize),
    Continue(usize),
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

/// A pipeline with optional variable declarations.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

/// One stage of a pipeline: a function/field/value and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A numeric literal with the interpretations Go's parser allows.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub is_uint: bool,
    pub float: Option<f64>,
}

/// An operand.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Identifier(usize, String),
    Dot(usize),
    Nil(usize),
    /// `$x.A.B`: idents[0] is the variable name.
    Variable(usize, Vec<String>),
    Field(usize, Vec<String>),
    Chain(usize, Box<Arg>, Vec<String>),
    Bool(usize, bool),
    Number(usize, Number),
    /// Position, quoted source text, unquoted value.
    String(usize, String, String),
    Pipe(Box<Pipe>),
}

impl Arg {
    /// Byte offset of the node in the template text.
    pub fn pos(&self) -> usize {
        match self {
            Arg::Identifier(p, _)
            | Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Variable(p, _)
            | Arg::Field(p, _)
            | Arg::Chain(p, _, _)
            | Arg::Bool(p, _)
            | Arg::Number(p, _)
            | Arg::String(p, _, _) => *p,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl Display for Arg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Identifier(_, name) => f.write_str(name),
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Variable(_, idents) => f.write_str(&idents.join(".")),
            Arg::Field(_, idents) => idents.iter().try_for_each(|i| write!(f, ".{i}")),
            Arg::Chain(_, node, fields) => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    n => write!(f, "{n}")?,
                }
                fields.iter().try_for_each(|i| write!(f, ".{i}"))
            }
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => f.write_str(&n.text),
            Arg::String(_, quoted, _) => f.write_str(quoted),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl Display for Command {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match arg {
                Arg::Pipe(p) => write!(f, "({p})")?,
                a => write!(f, "{a}")?,
            }
        }
        Ok(())
    }
}

impl Display for Pipe {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

fn write_list(f: &mut Formatter<'_>, list: &[Node]) -> fmt::Result {
    list.iter().try_for_each(|n| write!(f, "{n}"))
}

fn write_branch(f: &mut Formatter<'_>, name: &str, b: &Branch) -> fmt::Result {
    write!(f, "{{{{{name} {}}}}}", b.pipe)?;
    write_list(f, &b.list)?;
    if let Some(e) = &b.else_list {
        f.write_str("{{else}}")?;
        write_list(f, e)?;
    }
    f.write_str("{{end}}")
}

impl Display for Node {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(t),
            Node::Action(p) => write!(f, "{{{{{p}}}}}"),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Template { name, pipe, .. } => {
                write!(f, "{{{{template {}", crate::gotemplate::print::quote(name))?;
                if let Some(p) = pipe {
                    write!(f, " {p}")?;
                }
                f.write_str("}}")
            }
            Node::Break(_) => f.write_str("{{break}}"),
            Node::Continue(_) => f.write_str("{{continue}}"),
        }
    }
}

/// Whether a body counts as empty for Go's "multiple definition" rule.
pub(crate) fn is_empty_tree(list: &[Node]) -> bool {
    list.iter().all(|n| matches!(n, Node::Text(t) if t.trim_matches([' ', '\t', '\r', '\n', '\x0b', '\x0c']).is_empty()))
}

//! Parser: a port of Go's `text/template/parse/parse.go`, including its error messages
//! and its three-token lookahead (which decides the line numbers in errors).

use crate::gotemplate::ast::{Arg, Branch, Command, Node, Number, Pipe, is_empty_tree};
use crate::gotemplate::error::Error;
use crate::gotemplate::funcs::{Known, lookup};
use crate::gotemplate::lex::{Item, ItemType as T, lex};

/// Deepest nesting of parentheses, and separately of if/range/with/block, accepted (bounds
/// recursion; an `else if` chain counts as nesting).
const MAX_DEPTH: usize = 100;

/// Named template bodies: the top-level one plus every `define`/`block`.
pub(crate) type TreeSet = Vec<(String, Vec<Node>)>;

type Res<X> = Result<X, Error>;

/// What `textOrAction` found: a node, or the `{{end}}` / `{{else}}` closing a list.
enum Parsed {
    Node(Node),
    End,
    Else,
}

impl Parsed {
    fn describe(&self) -> String {
        match self {
            Parsed::Node(n) => n.to_string(),
            Parsed::End => "{{end}}".into(),
            Parsed::Else => "{{else}}".into(),
        }
    }
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    next_item: usize,
    token: [Item; 3],
    peek_count: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
    depth: usize,
    nesting: usize,
    trees: TreeSet,
}

/// Parses `text` into its named trees, like Go's `parse.Parse`.
pub(crate) fn parse(name: &str, text: &str) -> Res<TreeSet> {
    let blank = Item {
        typ: T::Eof,
        pos: 0,
        val: String::new(),
        line: 0,
    };
    let mut p = Parser {
        name,
        items: lex(text),
        next_item: 0,
        token: [blank.clone(), blank.clone(), blank],
        peek_count: 0,
        vars: vec!["$".into()],
        action_line: 0,
        range_depth: 0,
        depth: 0,
        nesting: 0,
        trees: Vec::new(),
    };
    let mut root = Vec::new();
    while p.peek().typ != T::Eof {
        if p.peek().typ == T::LeftDelim {
            let delim = p.next();
            if p.next_non_space().typ == T::Define {
                p.sub_tree(Parser::parse_definition)?;
                continue;
            }
            p.backup2(delim);
        }
        match p.text_or_action()? {
            Parsed::Node(n) => root.push(n),
            other => return Err(p.error(format!("unexpected {}", other.describe()))),
        }
    }
    p.add(name.to_string(), root)?;
    Ok(p.trees)
}

fn unquote(p: &Parser<'_>, s: &str) -> Res<String> {
    crate::gotemplate::literal::unquote(s).ok_or_else(|| p.error("invalid syntax".into()))
}

impl Parser<'_> {
    fn error(&self, msg: String) -> Error {
        Error::Parse {
            message: format!("template: {}:{}: {}", self.name, self.token[0].line, msg),
        }
    }

    fn lex_next(&mut self) -> Item {
        let i = self.next_item.min(self.items.len().saturating_sub(1));
        self.next_item += 1;
        self.items
            .get(i)
            .cloned()
            .unwrap_or_else(|| self.token[0].clone())
    }

    fn next(&mut self) -> Item {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex_next();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item, t1: Item) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.lex_next();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != T::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, expected: T, context: &str) -> Res<Item> {
        let t = self.next_non_space();
        if t.typ != expected {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn unexpected(&self, t: &Item, context: &str) -> Error {
        if t.typ == T::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != t.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if t.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.error(format!("{t}{extra}"));
        }
        self.error(format!("unexpected {t} in {context}"))
    }

    /// Runs `f` as Go runs a nested `Tree` (define/block): fresh variables and range depth.
    fn sub_tree<X>(&mut self, f: impl FnOnce(&mut Self) -> Res<X>) -> Res<X> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = range_depth;
        r
    }

    fn add(&mut self, name: String, root: Vec<Node>) -> Res<()> {
        match self.trees.iter_mut().find(|(n, _)| *n == name) {
            None => self.trees.push((name, root)),
            Some((_, old)) if is_empty_tree(old) => *old = root,
            Some(_) if !is_empty_tree(&root) => {
                return Err(self.error(format!(
                    "template: multiple definition of template {}",
                    crate::gotemplate::print::quote(&name)
                )));
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn parse_definition(&mut self) -> Res<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if t.typ != T::String && t.typ != T::RawString {
            return Err(self.unexpected(&t, context));
        }
        let name = unquote(self, &t.val)?;
        self.expect(T::RightDelim, context)?;
        let (root, end) = self.item_list()?;
        if !matches!(end, Parsed::End) {
            return Err(self.error(format!("unexpected {} in {context}", end.describe())));
        }
        self.add(name, root)
    }

    fn item_list(&mut self) -> Res<(Vec<Node>, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != T::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
        Err(self.error("unexpected EOF".into()))
    }

    fn text_or_action(&mut self) -> Res<Parsed> {
        let t = self.next_non_space();
        match t.typ {
            T::Text => Ok(Parsed::Node(Node::Text(t.val))),
            T::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> Res<Parsed> {
        let t = self.next_non_space();
        let node = match t.typ {
            T::Block => self.block_control()?,
            T::Break | T::Continue => {
                let word = if t.typ == T::Break {
                    "break"
                } else {
                    "continue"
                };
                let next = self.next_non_space();
                if next.typ != T::RightDelim {
                    return Err(self.unexpected(&next, &format!("{{{{{word}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.error(format!("{{{{{word}}}}} outside {{{{range}}}}")));
                }
                if t.typ == T::Break {
                    Node::Break(t.pos)
                } else {
                    Node::Continue(t.pos)
                }
            }
            T::Else => {
                let peek = self.peek_non_space();
                if peek.typ != T::If && peek.typ != T::With {
                    self.expect(T::RightDelim, "else")?;
                }
                return Ok(Parsed::Else);
            }
            T::End => {
                self.expect(T::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            T::If => Node::If(self.control("if")?),
            T::Range => Node::Range(self.control("range")?),
            T::With => Node::With(self.control("with")?),
            T::Template => {
                let context = "template clause";
                let t = self.next_non_space();
                let name = self.template_name(&t, context)?;
                let mut pipe = None;
                if self.next_non_space().typ != T::RightDelim {
                    self.backup();
                    pipe = Some(self.pipeline(context, T::RightDelim)?);
                }
                Node::Template {
                    pos: t.pos,
                    name,
                    pipe,
                }
            }
            _ => {
                self.backup();
                Node::Action(self.pipeline("command", T::RightDelim)?)
            }
        };
        Ok(Parsed::Node(node))
    }

    fn template_name(&mut self, t: &Item, context: &str) -> Res<String> {
        match t.typ {
            T::String | T::RawString => unquote(self, &t.val),
            _ => Err(self.unexpected(t, context)),
        }
    }

    fn block_control(&mut self) -> Res<Node> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = self.pipeline(context, T::RightDelim)?;
        if self.nesting >= MAX_DEPTH {
            return Err(self.error("max nesting depth exceeded".into()));
        }
        self.nesting += 1;
        let listed = self.sub_tree(Parser::item_list);
        self.nesting -= 1;
        let (root, end) = listed?;
        if !matches!(end, Parsed::End) {
            return Err(self.error(format!("unexpected {} in {context}", end.describe())));
        }
        self.add(name.clone(), root)?;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn control(&mut self, context: &str) -> Res<Branch> {
        if self.nesting >= MAX_DEPTH {
            return Err(self.error("max nesting depth exceeded".into()));
        }
        self.nesting += 1;
        let mark = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(mark);
        self.nesting -= 1;
        r
    }

    fn control_inner(&mut self, context: &str) -> Res<Branch> {
        let pipe = self.pipeline(context, T::RightDelim)?;
        let is_range = context == "range";
        self.range_depth += usize::from(is_range);
        let listed = self.item_list();
        self.range_depth -= usize::from(is_range);
        let (list, next) = listed?;
        let mut else_list = None;
        if let Parsed::Else = next {
            let peek = self.peek().typ;
            if context == "if" && peek == T::If {
                self.next();
                else_list = Some(vec![Node::If(self.control("if")?)]);
            } else if context == "with" && peek == T::With {
                self.next();
                else_list = Some(vec![Node::With(self.control("with")?)]);
            } else {
                let (l, next) = self.item_list()?;
                if !matches!(next, Parsed::End) {
                    return Err(self.error(format!("expected end; found {}", next.describe())));
                }
                else_list = Some(l);
            }
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: T) -> Res<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.typ != T::Variable {
                break;
            }
            self.next();
            let after = self.peek();
            let next = self.peek_non_space();
            if next.typ == T::Assign || next.typ == T::Declare {
                pipe.is_assign = next.typ == T::Assign;
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val);
            } else if next.typ == T::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val);
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        T::Variable | T::RightDelim | T::RightParen => continue,
                        _ => return Err(self.error("range can only initialize variables".into())),
                    }
                }
                return Err(self.error(format!("too many declarations in {context}")));
            } else if after.typ == T::Space {
                self.backup3(v, after);
            } else {
                self.backup2(v);
            }
            break;
        }
        loop {
            let t = self.next_non_space();
            match t.typ {
                x if x == end => {
                    if pipe.cmds.is_empty() {
                        return Err(self.error(format!("missing value for {context}")));
                    }
                    for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                        if let Some(
                            Arg::Bool(..)
                            | Arg::Dot(_)
                            | Arg::Nil(_)
                            | Arg::Number(..)
                            | Arg::String(..),
                        ) = c.args.first()
                        {
                            return Err(self.error(format!(
                                "non executable command in pipeline stage {}",
                                i + 1
                            )));
                        }
                    }
                    return Ok(pipe);
                }
                T::Bool
                | T::CharConstant
                | T::Complex
                | T::Dot
                | T::Field
                | T::Identifier
                | T::Number
                | T::Nil
                | T::RawString
                | T::String
                | T::Variable
                | T::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn command(&mut self) -> Res<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(arg) = self.operand()? {
                cmd.args.push(arg);
            }
            let t = self.next();
            match t.typ {
                T::Space => continue,
                T::RightDelim | T::RightParen => self.backup(),
                T::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.error("empty command".into()));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Res<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != T::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == T::Field {
            fields.push(self.next().val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field(_, mut idents) | Arg::Variable(_, mut idents) if !fields.is_empty() => {
                let is_var = idents.first().is_some_and(|i| i.starts_with('$'));
                idents.extend(fields);
                if is_var {
                    Arg::Variable(pos, idents)
                } else {
                    Arg::Field(pos, idents)
                }
            }
            Arg::Bool(..) | Arg::String(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return Err(self.error(format!(
                    "unexpected . after term {}",
                    crate::gotemplate::print::quote(&node.to_string())
                )));
            }
            node => Arg::Chain(pos, Box::new(node), fields),
        }))
    }

    fn term(&mut self) -> Res<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.typ {
            T::Identifier => {
                match lookup(&t.val) {
                    Known::Yes => {}
                    Known::Unsupported => {
                        let q = crate::gotemplate::print::quote(&t.val);
                        return Err(self.error(format!("function {q} not supported (Sprig function outside this renderer's subset)")));
                    }
                    Known::No => {
                        return Err(self.error(format!(
                            "function {} not defined",
                            crate::gotemplate::print::quote(&t.val)
                        )));
                    }
                }
                Arg::Identifier(t.pos, t.val)
            }
            T::Dot => Arg::Dot(t.pos),
            T::Nil => Arg::Nil(t.pos),
            T::Variable => {
                if !self.vars.contains(&t.val) {
                    return Err(self.error(format!(
                        "undefined variable {}",
                        crate::gotemplate::print::quote(&t.val)
                    )));
                }
                Arg::Variable(t.pos, vec![t.val])
            }
            T::Field => Arg::Field(t.pos, vec![t.val[1..].to_string()]),
            T::Bool => Arg::Bool(t.pos, t.val == "true"),
            T::CharConstant | T::Number => Arg::Number(t.pos, self.number(&t)?),
            T::Complex => return Err(self.error("complex numbers are not supported".into())),
            T::LeftParen => {
                if self.depth >= MAX_DEPTH {
                    return Err(self.error("max expression depth exceeded".into()));
                }
                self.depth += 1;
                let pipe = self.pipeline("parenthesized pipeline", T::RightParen);
                self.depth -= 1;
                Arg::Pipe(Box::new(pipe?))
            }
            T::String | T::RawString => {
                let text = unquote(self, &t.val)?;
                Arg::String(t.pos, t.val, text)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn number(&self, t: &Item) -> Res<Number> {
        let text = t.val.clone();
        if t.typ == T::CharConstant {
            let c = crate::gotemplate::literal::unquote_char(&text)
                .ok_or_else(|| self.error("invalid syntax".into()))?;
            let c = c.ok_or_else(|| self.error(format!("malformed character constant: {text}")))?;
            return Ok(Number {
                text,
                int: Some(c as i64),
                is_uint: true,
                float: Some(c as u32 as f64),
            });
        }
        if text.ends_with('i') {
            return Err(self.error("complex numbers are not supported".into()));
        }
        let parsed = crate::gotemplate::literal::parse_int(&text);
        let mut n = Number {
            text: text.clone(),
            int: None,
            is_uint: false,
            float: None,
        };
        if let Some(v) = parsed {
            n.is_uint = v >= 0 && v <= u64::MAX as i128;
            n.int = i64::try_from(v).ok();
            n.float = Some(v as f64);
        } else if let Some(f) = crate::gotemplate::literal::parse_float(&text) {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(self.error(format!(
                    "integer overflow: {}",
                    crate::gotemplate::print::quote(&text)
                )));
            }
            n.float = Some(f);
            if f.fract() == 0.0 && (-9.223372036854776e18..9.223372036854776e18).contains(&f) {
                n.int = Some(f as i64);
                n.is_uint = f >= 0.0;
            }
        } else {
            return Err(self.error(format!(
                "illegal number syntax: {}",
                crate::gotemplate::print::quote(&text)
            )));
        }
        Ok(n)
    }
}

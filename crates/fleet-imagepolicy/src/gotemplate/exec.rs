//! Executor: a port of Go's `text/template/exec.go`, including which node an error is
//! reported at (Go reports the node most recently visited, which this tracks the same way).

use crate::gotemplate::ast::{Arg, Branch, Command, Node, Number, Pipe};
use crate::gotemplate::error::Error;
use crate::gotemplate::funcs::{Func, Ty, find};
use crate::gotemplate::parse::TreeSet;
use crate::gotemplate::print::{quote, to_string};
use crate::gotemplate::value::Value;

/// Most nodes walked plus range iterations in one execution.
pub(crate) const MAX_STEPS: usize = 1_000_000;
/// Deepest `{{template}}` nesting (Go allows 100000, more than a Rust stack holds).
pub(crate) const MAX_TEMPLATE_DEPTH: usize = 100;
/// Deepest nesting of if/with/range/template during execution (bounds the Rust stack).
pub(crate) const MAX_NESTING: usize = 200;
/// Largest value (in nodes) a function may return or take.
const MAX_VALUE_NODES: usize = 1_000_000;
/// Deepest nesting of lists/maps a function may return.
const MAX_VALUE_DEPTH: usize = 100;

/// Why walking stopped early.
enum Stop {
    Break,
    Continue,
    Err(Error),
}

type R<X> = Result<X, Stop>;

/// The node Go's `state.node` points at, for error locations.
#[derive(Clone, Copy)]
enum At<'a> {
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Arg(&'a Arg),
}

struct State<'a> {
    trees: &'a TreeSet,
    name: &'a str,
    text: &'a str,
    tmpl: &'a str,
    at: Option<At<'a>>,
    vars: Vec<(String, Value)>,
    out: String,
    steps: usize,
    depth: usize,
    nesting: usize,
}

/// Executes the tree named `name` with `data` as dot.
pub(crate) fn execute(
    trees: &TreeSet,
    name: &str,
    text: &str,
    data: &Value,
) -> Result<String, Error> {
    let mut s = State {
        trees,
        name,
        text,
        tmpl: name,
        at: None,
        vars: vec![("$".into(), data.clone())],
        out: String::new(),
        steps: 0,
        depth: 0,
        nesting: 0,
    };
    let root = trees
        .iter()
        .find(|(n, _)| n == name)
        .map_or(&[][..], |t| &t.1[..]);
    match s.walk_list(data, root) {
        Ok(()) | Err(Stop::Break | Stop::Continue) => Ok(s.out),
        Err(Stop::Err(e)) => Err(e),
    }
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Text(_) => 0,
        Node::Action(p) => p.pos,
        Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
        Node::Template { pos, .. } | Node::Break(pos) | Node::Continue(pos) => *pos,
    }
}

impl<'a> State<'a> {
    fn errorf(&self, msg: impl std::fmt::Display) -> Stop {
        let (pos, context) = match self.at {
            None => {
                return Stop::Err(Error::Exec {
                    message: format!("template: {}: {msg}", self.tmpl),
                });
            }
            Some(At::Node(n)) => (node_pos(n), n.to_string()),
            Some(At::Pipe(p)) => (p.pos, p.to_string()),
            Some(At::Cmd(c)) => (c.pos, c.to_string()),
            Some(At::Arg(a)) => (a.pos(), a.to_string()),
        };
        let before = &self.text[..pos.min(self.text.len())];
        let line = 1 + before.matches('\n').count();
        let col = before.rfind('\n').map_or(pos, |i| pos - i - 1);
        let tmpl = quote(self.tmpl);
        Stop::Err(Error::Exec {
            message: format!(
                "template: {}:{line}:{col}: executing {tmpl} at <{context}>: {msg}",
                self.name
            ),
        })
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.errorf(format!("execution exceeds {MAX_STEPS} steps")));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.out.len() + s.len() > crate::gotemplate::MAX_OUTPUT {
            return Err(self.errorf(format!(
                "output exceeds {} bytes",
                crate::gotemplate::MAX_OUTPUT
            )));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn var_value(&self, name: &str) -> R<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, value: Value) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn walk_list(&mut self, dot: &Value, list: &'a [Node]) -> R<()> {
        list.iter().try_for_each(|n| self.walk(dot, n))
    }

    fn walk(&mut self, dot: &Value, node: &'a Node) -> R<()> {
        self.step()?;
        self.at = Some(At::Node(node));
        match node {
            Node::Text(t) => self.write(t),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = Some(At::Node(node));
                    let text = if v == Value::Nil {
                        "<no value>".to_string()
                    } else {
                        to_string(&v)
                    };
                    self.write(&text)?;
                }
                Ok(())
            }
            Node::Break(_) => Err(Stop::Break),
            Node::Continue(_) => Err(Stop::Continue),
            _ => {
                if self.nesting >= MAX_NESTING {
                    return Err(
                        self.errorf(format!("exceeded maximum nesting depth ({MAX_NESTING})"))
                    );
                }
                self.nesting += 1;
                let r = match node {
                    Node::If(b) => self.walk_if_or_with(dot, b, false),
                    Node::With(b) => self.walk_if_or_with(dot, b, true),
                    Node::Range(b) => self.walk_range(dot, b),
                    Node::Template { name, pipe, .. } => {
                        self.walk_template(dot, name, pipe.as_ref())
                    }
                    _ => Ok(()),
                };
                self.nesting -= 1;
                r
            }
        }
    }

    fn walk_if_or_with(&mut self, dot: &Value, b: &'a Branch, with: bool) -> R<()> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let r = if val.is_true() {
            self.walk_list(if with { &val } else { dot }, &b.list)
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &'a Branch) -> R<()> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mut entries = Vec::new();
        let count = match &val {
            Value::Int(n) if b.pipe.decl.len() > 1 => {
                return Err(self.errorf(format!(
                    "can't use {n} to iterate over more than one variable"
                )));
            }
            Value::Int(n) => (*n).max(0) as usize,
            Value::List(l) => l.len(),
            Value::Map(_) | Value::Dict(_) => {
                entries = val.sorted_entries();
                entries.len()
            }
            Value::Nil => 0,
            v => return Err(self.errorf(format!("range can't iterate over {}", to_string(v)))),
        };
        let inner = self.vars.len();
        let decl = &b.pipe.decl;
        for i in 0..count {
            self.step()?;
            let (key, elem) = match &val {
                Value::Int(_) => (Value::Nil, Value::Int(i as i64)),
                Value::List(l) => (Value::Int(i as i64), l[i].clone()),
                _ => entries[i].clone(),
            };
            if !decl.is_empty() {
                if b.pipe.is_assign {
                    let v = if decl.len() > 1 {
                        key.clone()
                    } else {
                        elem.clone()
                    };
                    self.set_var(&decl[0], v)?;
                } else if let Some(top) = self.vars.last_mut() {
                    top.1 = elem.clone();
                }
            }
            if decl.len() > 1 {
                if b.pipe.is_assign {
                    self.set_var(&decl[1], elem.clone())?;
                } else {
                    let n = self.vars.len();
                    self.vars[n - 2].1 = key;
                }
            }
            let r = self.walk_list(&elem, &b.list);
            self.vars.truncate(inner);
            match r {
                Ok(()) | Err(Stop::Continue) => {}
                Err(Stop::Break) => break,
                Err(e) => return Err(e),
            }
        }
        let r = match &b.else_list {
            Some(e) if count == 0 => self.walk_list(dot, e),
            _ => Ok(()),
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_template(&mut self, dot: &Value, name: &'a str, pipe: Option<&'a Pipe>) -> R<()> {
        let Some((tname, tree)) = self.trees.iter().find(|(n, _)| n == name) else {
            return Err(self.errorf(format!("template {} not defined", quote(name))));
        };
        if self.depth >= MAX_TEMPLATE_DEPTH {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"
            )));
        }
        let dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        let vars = std::mem::replace(&mut self.vars, vec![("$".into(), dot.clone())]);
        let tmpl = std::mem::replace(&mut self.tmpl, tname);
        self.depth += 1;
        let r = self.walk_list(&dot, tree);
        self.depth -= 1;
        self.tmpl = tmpl;
        self.vars = vars;
        r
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        self.at = Some(At::Pipe(pipe));
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], last: &Option<Value>) -> R<()> {
        if args.len() > 1 || last.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Command, last: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(_, idents) => {
                self.at = Some(At::Arg(first));
                return self.eval_field_chain(dot.clone(), idents, &cmd.args, last);
            }
            Arg::Chain(..) => return self.eval_chain(dot, first, &cmd.args, last),
            Arg::Identifier(_, name) => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, last);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &last)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable(..) => return self.eval_variable(first, &cmd.args, last),
            _ => {}
        }
        self.at = Some(At::Arg(first));
        self.not_a_function(&cmd.args, &last)?;
        match first {
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Number(_, n) => self.ideal_constant(first, n),
            Arg::String(_, _, text) => Ok(Value::String(text.clone())),
            _ => Err(self.errorf("nil is not a command")),
        }
    }

    fn ideal_constant(&mut self, arg: &'a Arg, n: &Number) -> R<Value> {
        self.at = Some(At::Arg(arg));
        let t = &n.text;
        let hex =
            t.len() > 2 && (t.starts_with("0x") || t.starts_with("0X")) && !t.contains(['p', 'P']);
        match (n.float, n.int) {
            (Some(f), _)
                if !hex && !t.starts_with('\'') && t.contains(['.', 'e', 'E', 'p', 'P']) =>
            {
                Ok(Value::Float(f))
            }
            (_, Some(i)) => Ok(Value::Int(i)),
            _ if n.is_uint => Err(self.errorf(format!("{t} overflows int"))),
            _ => Ok(Value::Nil),
        }
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'a Arg,
        args: &'a [Arg],
        last: Option<Value>,
    ) -> R<Value> {
        self.at = Some(At::Arg(chain));
        let Arg::Chain(_, node, fields) = chain else {
            return Ok(Value::Nil);
        };
        if let Arg::Nil(_) = node.as_ref() {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let receiver = self.eval_arg(dot, Ty::Any, node)?;
        self.eval_field_chain(receiver, fields, args, last)
    }

    fn eval_variable(&mut self, var: &'a Arg, args: &'a [Arg], last: Option<Value>) -> R<Value> {
        self.at = Some(At::Arg(var));
        let Arg::Variable(_, idents) = var else {
            return Ok(Value::Nil);
        };
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, &last)?;
            return Ok(value);
        }
        self.eval_field_chain(value, &idents[1..], args, last)
    }

    fn eval_field_chain(
        &self,
        receiver: Value,
        idents: &[String],
        args: &[Arg],
        last: Option<Value>,
    ) -> R<Value> {
        let mut r = receiver;
        for id in &idents[..idents.len() - 1] {
            r = self.eval_field(id, &[], None, r)?;
        }
        self.eval_field(&idents[idents.len() - 1], args, last, r)
    }

    fn eval_field(
        &self,
        name: &str,
        args: &[Arg],
        last: Option<Value>,
        receiver: Value,
    ) -> R<Value> {
        let has_args = args.len() > 1 || last.is_some();
        match &receiver {
            Value::Nil => return Ok(Value::Nil),
            Value::Struct(s) => {
                if s.is_method(name) {
                    let got = args.len().saturating_sub(1) + usize::from(last.is_some());
                    if got != 0 {
                        return Err(self
                            .errorf(format!("wrong number of args for {name}: want 0 got {got}")));
                    }
                }
                if let Some(v) = s.member(name) {
                    if has_args && !s.is_method(name) {
                        return Err(self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok(v);
                }
            }
            Value::Map(m) if m.iter().all(|(k, _)| matches!(k, Value::String(_))) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                return Ok(m
                    .iter()
                    .find(|(k, _)| *k == Value::from(name))
                    .map_or(Value::Nil, |e| e.1.clone()));
            }
            Value::Dict(m) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                return Ok(m
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or(Value::Nil, |e| e.1.clone()));
            }
            _ => {}
        }
        Err(self.errorf(format!(
            "can't evaluate field {name} in type {}",
            receiver.type_name()
        )))
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        ident: &'a Arg,
        name: &str,
        node: At<'a>,
        args: &'a [Arg],
        last: Option<Value>,
    ) -> R<Value> {
        self.at = Some(At::Arg(ident));
        let Some(f) = find(name) else {
            return Err(self.errorf(format!("{} is not a defined function", quote(name))));
        };
        self.eval_call(dot, f, node, args, last)
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        f: &Func,
        node: At<'a>,
        args: &'a [Arg],
        last: Option<Value>,
    ) -> R<Value> {
        let name = f.name;
        let args = args.get(1..).unwrap_or(&[]);
        let num_in = args.len() + usize::from(last.is_some());
        let fixed = f.params.len();
        if f.variadic.is_some() && num_in < fixed {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want at least {fixed} got {}",
                args.len()
            )));
        }
        if f.variadic.is_none() && num_in != fixed {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            )));
        }
        if name == "and" || name == "or" {
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, Ty::Any, a)?;
                if v.is_true() == (name == "or") {
                    return Ok(v);
                }
            }
            return Ok(last.unwrap_or(v));
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut total = 0;
        for (i, a) in args.iter().enumerate() {
            let ty = f.params.get(i).copied().or(f.variadic).unwrap_or(Ty::Any);
            let v = self.eval_arg(dot, ty, a)?;
            total += v.size(MAX_VALUE_NODES);
            if total > MAX_VALUE_NODES {
                self.at = Some(node);
                return Err(self.errorf(format!("error calling {name}: arguments are too large")));
            }
            argv.push(v);
        }
        if let Some(v) = last {
            let ty = f
                .params
                .get(num_in - 1)
                .copied()
                .or(f.variadic)
                .unwrap_or(Ty::Any);
            argv.push(self.validate_type(v, ty)?);
        }
        let result = if name == "call" {
            let callee = args.first().map_or_else(
                || format!("<{} Value>", argv[0].type_name()),
                |a| a.to_string(),
            );
            match &argv[0] {
                Value::Nil => Err("call of nil".to_string()),
                v => Err(format!("non-function {callee} of type {}", v.type_name())),
            }
        } else {
            (f.call)(&argv)
        };
        let too_big = |v: &Value| match v {
            Value::String(s) => s.len() > crate::gotemplate::MAX_OUTPUT,
            v => {
                v.size(MAX_VALUE_NODES) > MAX_VALUE_NODES
                    || v.depth(MAX_VALUE_DEPTH) > MAX_VALUE_DEPTH
            }
        };
        match result {
            Ok(v) if !too_big(&v) => Ok(v),
            Ok(_) => {
                self.at = Some(node);
                Err(self.errorf(format!("error calling {name}: result is too large")))
            }
            Err(e) => {
                self.at = Some(node);
                Err(self.errorf(format!("error calling {name}: {e}")))
            }
        }
    }

    fn validate_type(&self, value: Value, ty: Ty) -> R<Value> {
        match (ty, &value) {
            (Ty::Any | Ty::StrMap, Value::Nil) | (Ty::Any, _) => Ok(value),
            (_, Value::Nil) => {
                Err(self.errorf(format!("invalid value; expected {}", ty.go_name())))
            }
            (Ty::Str, Value::String(_))
            | (Ty::Int, Value::Int(_))
            | (Ty::Bool, Value::Bool(_))
            | (Ty::StrMap, Value::Dict(_)) => Ok(value),
            _ => Err(self.errorf(format!(
                "wrong type for value; expected {}; got {}",
                ty.go_name(),
                value.type_name()
            ))),
        }
    }

    fn eval_arg(&mut self, dot: &Value, ty: Ty, arg: &'a Arg) -> R<Value> {
        self.at = Some(At::Arg(arg));
        let v = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) if matches!(ty, Ty::Any | Ty::StrMap) => return Ok(Value::Nil),
            Arg::Nil(_) => {
                return Err(self.errorf(format!("cannot assign nil to {}", ty.go_name())));
            }
            Arg::Field(_, idents) => {
                self.eval_field_chain(dot.clone(), idents, std::slice::from_ref(arg), None)?
            }
            Arg::Variable(..) => self.eval_variable(arg, &[], None)?,
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Identifier(_, name) => {
                self.eval_function(dot, arg, name, At::Arg(arg), &[], None)?
            }
            Arg::Chain(..) => self.eval_chain(dot, arg, &[], None)?,
            Arg::Bool(_, b) if matches!(ty, Ty::Bool | Ty::Any) => return Ok(Value::Bool(*b)),
            Arg::String(_, _, t) if matches!(ty, Ty::Str | Ty::Any) => {
                return Ok(Value::String(t.clone()));
            }
            Arg::Number(_, n) if ty == Ty::Any => return self.ideal_constant(arg, n),
            Arg::Number(_, Number { int: Some(i), .. }) if ty == Ty::Int => {
                return Ok(Value::Int(*i));
            }
            _ => {
                return Err(self.errorf(match ty {
                    Ty::Bool => format!("expected bool; found {arg}"),
                    Ty::Str => format!("expected string; found {arg}"),
                    Ty::Int => format!("expected integer; found {arg}"),
                    _ => format!("can't handle {arg} for arg of type {}", ty.go_name()),
                }));
            }
        };
        self.validate_type(v, ty)
    }
}

//! The data model handed to templates, with Go's truthiness, type names and map ordering.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A Go value as seen by `text/template`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Go's untyped nil / a missing value (printed `<no value>` by an action, `<nil>` by fmt).
    Nil,
    /// A Go `bool`.
    Bool(bool),
    /// A Go `int` (also stands in for `int64` results of Sprig math).
    Int(i64),
    /// A Go `float64`.
    Float(f64),
    /// A Go `string`.
    String(String),
    /// A Go slice.
    List(Vec<Value>),
    /// A typed Go map such as `map[string]string` or `update.ObjectChanges`. Entries in any
    /// order; `range` and printing visit them in Go's fmtsort order (keys compared: ints
    /// numerically, strings bytewise, structs field by field in declaration order, ...).
    /// As in Go, `.key` of a missing key yields no value (printed `<no value>`), while `index`
    /// of a missing key yields the zero value of the element type, guessed from an existing
    /// entry (`""` for `map[string]string` such as Flux's `.Values`, and for empty maps).
    Map(Vec<(Value, Value)>),
    /// A `map[string]interface{}` as built by Sprig's `dict`: like [`Value::Map`], except
    /// that `index` of a missing key yields nil and Sprig's `keys`/`values`/`hasKey`/`get`
    /// accept it (Go rejects typed maps there).
    Dict(Vec<(String, Value)>),
    /// A Go struct value.
    Struct(Struct),
}

/// A Go struct value.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    /// Go type name used in error messages, e.g. "source.TemplateData".
    pub type_name: String,
    /// Exported fields in declaration order. A field whose name equals the unqualified type
    /// name of its struct value (e.g. `("TypeMeta", Struct{type_name: "yaml.TypeMeta"..})`)
    /// is treated as embedded: its fields are promoted. Embedded structs may also simply be
    /// listed flattened (this changes only how the struct prints).
    pub fields: Vec<(String, Value)>,
    /// Zero-argument methods, their results precomputed (e.g. "Changes", "Objects").
    pub methods: Vec<(String, Value)>,
    /// What fmt prints for the value when the Go type has a String() method (e.g.
    /// NamespacedName prints "ns/name"); None = Go's default `{a b}` struct printing.
    pub display: Option<String>,
}

impl Struct {
    /// A struct with the given type name and fields, no methods and default printing.
    pub fn new(type_name: &str, fields: Vec<(&str, Value)>) -> Struct {
        Struct {
            type_name: type_name.to_string(),
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            methods: Vec::new(),
            display: None,
        }
    }

    /// Looks up a method (a `display` implies Go's `String` method), then a field, then a
    /// field promoted from an embedded struct.
    pub(crate) fn member(&self, name: &str) -> Option<Value> {
        if let Some((_, v)) = self.methods.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        if let (Some(d), "String") = (&self.display, name) {
            return Some(Value::String(d.clone()));
        }
        if let Some((_, v)) = self.fields.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        self.fields.iter().find_map(|(k, v)| match v {
            Value::Struct(s) if s.type_name.rsplit('.').next() == Some(k.as_str()) => {
                s.member(name)
            }
            _ => None,
        })
    }

    /// Whether `name` is a method (as opposed to a field).
    pub(crate) fn is_method(&self, name: &str) -> bool {
        self.methods.iter().any(|(k, _)| k == name) || (self.display.is_some() && name == "String")
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<Struct> for Value {
    fn from(s: Struct) -> Value {
        Value::Struct(s)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl Value {
    /// A Go `map[string]string`, e.g. Flux's `.Values`.
    pub fn map_of_strings(map: BTreeMap<String, String>) -> Value {
        Value::Map(
            map.into_iter()
                .map(|(k, v)| (Value::String(k), Value::String(v)))
                .collect(),
        )
    }

    /// Go's truth as used by `if`, `with`, `and`, `or`, `not`.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Dict(m) => !m.is_empty(),
            Value::Struct(_) => true,
        }
    }

    /// The Go type name used in error messages (best effort: collections are untyped here;
    /// a list of strings reads as `[]string`, of one struct type as `[]T`, else
    /// `[]interface {}`; a map as `map[K]V` from its first entry, with Flux's named
    /// `update.ObjectChanges` recognised).
    pub(crate) fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::List(l) => match l.first() {
                Some(first @ (Value::String(_) | Value::Struct(_)))
                    if l.iter().all(|v| v.type_name() == first.type_name()) =>
                {
                    format!("[]{}", first.type_name())
                }
                _ => "[]interface {}".into(),
            },
            Value::Map(m) => {
                let name = m.first().map_or("map[string]string".into(), |(k, v)| {
                    format!("map[{}]{}", k.type_name(), v.type_name())
                });
                match name.as_str() {
                    "map[update.ObjectIdentifier][]update.Change" => "update.ObjectChanges".into(),
                    _ => name,
                }
            }
            Value::Dict(_) => "map[string]interface {}".into(),
            Value::Struct(s) => s.type_name.clone(),
        }
    }

    /// Entries in Go's fmtsort order.
    pub(crate) fn sorted_entries(&self) -> Vec<(Value, Value)> {
        let mut entries: Vec<(Value, Value)> = match self {
            Value::Map(m) => m.clone(),
            Value::Dict(m) => m
                .iter()
                .map(|(k, v)| (Value::String(k.clone()), v.clone()))
                .collect(),
            _ => Vec::new(),
        };
        entries.sort_by(|a, b| compare(&a.0, &b.0));
        entries
    }

    /// Nesting depth of the value, counted up to `limit`.
    pub(crate) fn depth(&self, limit: usize) -> usize {
        if limit == 0 {
            return 1;
        }
        let inner = match self {
            Value::List(l) => l.iter().map(|v| v.depth(limit - 1)).max(),
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| k.depth(limit - 1).max(v.depth(limit - 1)))
                .max(),
            Value::Dict(m) => m.iter().map(|(_, v)| v.depth(limit - 1)).max(),
            Value::Struct(s) => s.fields.iter().map(|(_, v)| v.depth(limit - 1)).max(),
            _ => None,
        };
        1 + inner.unwrap_or(0)
    }

    /// Number of nodes in the value, counted up to `limit` (for resource bounds).
    pub(crate) fn size(&self, limit: usize) -> usize {
        let mut n = 1;
        let add = |v: &Value, n: &mut usize| {
            if *n <= limit {
                *n += v.size(limit - *n);
            }
        };
        match self {
            Value::String(s) => n += s.len() / 64,
            Value::List(l) => l.iter().for_each(|v| add(v, &mut n)),
            Value::Map(m) => m.iter().for_each(|(k, v)| {
                add(k, &mut n);
                add(v, &mut n)
            }),
            Value::Dict(m) => m.iter().for_each(|(_, v)| add(v, &mut n)),
            Value::Struct(s) => s.fields.iter().for_each(|(_, v)| add(v, &mut n)),
            _ => {}
        }
        n
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Nil => 0,
        Value::Bool(_) => 1,
        Value::Int(_) => 2,
        Value::Float(_) => 3,
        Value::String(_) => 4,
        Value::List(_) => 5,
        Value::Map(_) | Value::Dict(_) => 6,
        Value::Struct(_) => 7,
    }
}

/// Go's `internal/fmtsort` key comparison.
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        },
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::List(x), Value::List(y)) => x
            .iter()
            .zip(y)
            .map(|(p, q)| compare(p, q))
            .find(|o| o.is_ne())
            .unwrap_or(x.len().cmp(&y.len())),
        (Value::Struct(x), Value::Struct(y)) => x
            .fields
            .iter()
            .zip(&y.fields)
            .map(|(p, q)| compare(&p.1, &q.1))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal),
        _ => rank(a).cmp(&rank(b)),
    }
}

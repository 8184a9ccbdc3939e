//! The function table: Go's builtins plus the supported subset of
//! `sprig.HermeticTxtFuncMap()`, with Go signatures so argument checking matches Go.

use crate::gotemplate::print::{sprint, sprintf, sprintln, to_string};
use crate::gotemplate::sprig;
use crate::gotemplate::value::Value;

/// A Go parameter type, as far as argument conversion and checking care.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Ty {
    /// `interface{}` or `reflect.Value`: anything, including nil.
    Any,
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `bool`.
    Bool,
    /// `map[string]interface{}` (only [`Value::Dict`]).
    StrMap,
}

impl Ty {
    /// Go's spelling of the type.
    pub fn go_name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Bool => "bool",
            Ty::StrMap => "map[string]interface {}",
        }
    }
}

/// Result of calling a function: a value, or the text after "error calling NAME: ".
pub(crate) type FnResult = Result<Value, String>;

/// A callable function with its Go signature.
pub(crate) struct Func {
    pub name: &'static str,
    pub params: &'static [Ty],
    pub variadic: Option<Ty>,
    pub call: fn(&[Value]) -> FnResult,
}

/// Whether a name is a function Go would accept at parse time.
pub(crate) enum Known {
    Yes,
    Unsupported,
    No,
}

use Ty::{Any, Bool, Int, Str, StrMap};

macro_rules! f {
    ($name:literal, [$($p:expr),*], $v:expr, $call:expr) => {
        Func { name: $name, params: &[$($p),*], variadic: $v, call: $call }
    };
}

fn s(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        _ => "",
    }
}

fn i(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}

fn st(x: String) -> FnResult {
    Ok(Value::String(x))
}

fn math(a: &[Value], op: fn(i64, i64) -> Option<i64>) -> FnResult {
    let mut it = a.iter().map(sprig::to_int64);
    let first = it.next().unwrap_or(0);
    it.try_fold(first, op)
        .map(Value::Int)
        .ok_or_else(|| "runtime error: integer divide by zero".to_string())
}

static FUNCS: &[Func] = &[
    // Go builtins (and, or and call are evaluated specially by the executor).
    f!("and", [Any], Some(Any), |_| Ok(Value::Nil)),
    f!("or", [Any], Some(Any), |_| Ok(Value::Nil)),
    f!("call", [Any], Some(Any), |_| Ok(Value::Nil)),
    f!("not", [Any], None, |a| Ok(Value::Bool(!a[0].is_true()))),
    f!("len", [Any], None, sprig::length),
    f!("index", [Any], Some(Any), sprig::index),
    f!("print", [], Some(Any), |a| st(sprint(a))),
    f!("printf", [Str], Some(Any), |a| st(sprintf(
        s(&a[0]),
        &a[1..]
    ))),
    f!("println", [], Some(Any), |a| st(sprintln(a))),
    f!("html", [], Some(Any), |a| st(sprig::html(
        &sprig::eval_args(a)
    ))),
    f!("js", [], Some(Any), |a| st(sprig::js(&sprig::eval_args(a)))),
    f!("urlquery", [], Some(Any), |a| st(sprig::urlquery(
        &sprig::eval_args(a)
    ))),
    f!("eq", [Any], Some(Any), sprig::eq),
    f!("ne", [Any, Any], None, |a| sprig::eq(a)
        .map(|v| Value::Bool(!v.is_true()))),
    f!("lt", [Any, Any], None, |a| sprig::lt(&a[0], &a[1])
        .map(Value::Bool)),
    f!("le", [Any, Any], None, |a| Ok(Value::Bool(
        sprig::lt(&a[0], &a[1])? || sprig::eq(a)?.is_true()
    ))),
    f!("gt", [Any, Any], None, |a| Ok(Value::Bool(
        !(sprig::lt(&a[0], &a[1])? || sprig::eq(a)?.is_true())
    ))),
    f!("ge", [Any, Any], None, |a| Ok(Value::Bool(!sprig::lt(
        &a[0], &a[1]
    )?))),
    // Sprig: strings.
    f!("hello", [], None, |_| st("Hello!".into())),
    f!("upper", [Str], None, |a| st(s(&a[0])
        .chars()
        .map(sprig::simple_upper)
        .collect())),
    f!("lower", [Str], None, |a| st(s(&a[0])
        .chars()
        .map(sprig::simple_lower)
        .collect())),
    f!("title", [Str], None, |a| st(sprig::title(s(&a[0])))),
    f!("trim", [Str], None, |a| st(s(&a[0]).trim().to_string())),
    f!("trimAll", [Str, Str], None, |a| st(s(&a[1])
        .trim_matches(|c| s(&a[0]).contains(c))
        .to_string())),
    f!("trimall", [Str, Str], None, |a| st(s(&a[1])
        .trim_matches(|c| s(&a[0]).contains(c))
        .to_string())),
    f!("trimPrefix", [Str, Str], None, |a| st(s(&a[1])
        .strip_prefix(s(&a[0]))
        .unwrap_or(s(&a[1]))
        .to_string())),
    f!("trimSuffix", [Str, Str], None, |a| st(s(&a[1])
        .strip_suffix(s(&a[0]))
        .unwrap_or(s(&a[1]))
        .to_string())),
    f!("nospace", [Str], None, |a| st(s(&a[0])
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect())),
    f!("trunc", [Int, Str], None, |a| st(sprig::trunc(
        i(&a[0]),
        s(&a[1])
    ))),
    f!("abbrev", [Int, Str], None, |a| st(sprig::abbrev(
        i(&a[0]),
        s(&a[1])
    ))),
    f!("repeat", [Int, Str], None, |a| sprig::repeat(
        i(&a[0]),
        s(&a[1])
    )
    .and_then(st)),
    f!("replace", [Str, Str, Str], None, |a| st(
        s(&a[2]).replace(s(&a[0]), s(&a[1]))
    )),
    f!("contains", [Str, Str], None, |a| Ok(Value::Bool(
        s(&a[1]).contains(s(&a[0]))
    ))),
    f!("hasPrefix", [Str, Str], None, |a| Ok(Value::Bool(
        s(&a[1]).starts_with(s(&a[0]))
    ))),
    f!("hasSuffix", [Str, Str], None, |a| Ok(Value::Bool(
        s(&a[1]).ends_with(s(&a[0]))
    ))),
    f!("quote", [], Some(Any), |a| st(sprig::join_non_nil(
        a,
        |v| crate::gotemplate::print::quote(&to_string(v))
    ))),
    f!("squote", [], Some(Any), |a| st(sprig::join_non_nil(
        a,
        |v| format!("'{}'", to_string(v))
    ))),
    f!("cat", [], Some(Any), |a| st(sprig::join_non_nil(
        a, to_string
    ))),
    f!("indent", [Int, Str], None, |a| sprig::indent(
        i(&a[0]),
        s(&a[1])
    )
    .and_then(st)),
    f!("nindent", [Int, Str], None, |a| sprig::indent(
        i(&a[0]),
        s(&a[1])
    )
    .map(|x| Value::String(format!("\n{x}")))),
    f!("plural", [Str, Str, Int], None, |a| Ok(a
        [if i(&a[2]) == 1 { 0 } else { 1 }]
    .clone())),
    f!("toString", [Any], None, |a| st(to_string(&a[0]))),
    f!("toStrings", [Any], None, |a| Ok(Value::from(
        sprig::strslice(&a[0])
    ))),
    f!("join", [Str, Any], None, |a| st(
        sprig::strslice(&a[1]).join(s(&a[0]))
    )),
    f!("split", [Str, Str], None, |a| Ok(sprig::split(
        s(&a[0]),
        -1,
        s(&a[1])
    ))),
    f!("splitn", [Str, Int, Str], None, |a| Ok(sprig::split(
        s(&a[0]),
        i(&a[1]),
        s(&a[2])
    ))),
    f!("splitList", [Str, Str], None, |a| Ok(Value::from(
        sprig::split_list(s(&a[0]), -1, s(&a[1]))
    ))),
    f!("sortAlpha", [Any], None, sprig::sort_alpha),
    f!("b64enc", [Str], None, |a| st(
        crate::gotemplate::codec::b64_encode(s(&a[0]).as_bytes())
    )),
    f!("b64dec", [Str], None, |a| st(
        match crate::gotemplate::codec::b64_decode(s(&a[0])) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e,
        }
    )),
    f!("sha256sum", [Str], None, |a| st(
        crate::gotemplate::codec::sha256_hex(s(&a[0]).as_bytes())
    )),
    f!("toJson", [Any], None, |a| {
        let mut out = String::new();
        st(crate::gotemplate::codec::to_json(&a[0], &mut out).map_or(String::new(), |_| out))
    }),
    f!("base", [Str], None, |a| st(
        crate::gotemplate::codec::path_base(s(&a[0]))
    )),
    f!("dir", [Str], None, |a| st(
        crate::gotemplate::codec::path_dir(s(&a[0]))
    )),
    f!("clean", [Str], None, |a| st(
        crate::gotemplate::codec::path_clean(s(&a[0]))
    )),
    f!("ext", [Str], None, |a| st(
        crate::gotemplate::codec::path_ext(s(&a[0]))
    )),
    // Sprig: numbers.
    f!("atoi", [Str], None, |a| Ok(Value::Int(
        sprig::atoi(s(&a[0])).unwrap_or(0)
    ))),
    f!("int", [Any], None, |a| Ok(Value::Int(sprig::to_int64(
        &a[0]
    )))),
    f!("int64", [Any], None, |a| Ok(Value::Int(sprig::to_int64(
        &a[0]
    )))),
    f!("add1", [Any], None, |a| Ok(Value::Int(
        sprig::to_int64(&a[0]).wrapping_add(1)
    ))),
    f!("add", [], Some(Any), |a| Ok(Value::Int(
        a.iter().map(sprig::to_int64).fold(0, i64::wrapping_add)
    ))),
    f!("sub", [Any, Any], None, |a| math(a, |x, y| Some(
        x.wrapping_sub(y)
    ))),
    f!("mul", [Any], Some(Any), |a| math(a, |x, y| Some(
        x.wrapping_mul(y)
    ))),
    f!("div", [Any, Any], None, |a| math(a, |x, y| (y != 0)
        .then(|| x.wrapping_div(y)))),
    f!("mod", [Any, Any], None, |a| math(a, |x, y| (y != 0)
        .then(|| x.wrapping_rem(y)))),
    f!("max", [Any], Some(Any), |a| math(a, |x, y| Some(x.max(y)))),
    f!("biggest", [Any], Some(Any), |a| math(a, |x, y| Some(
        x.max(y)
    ))),
    f!("min", [Any], Some(Any), |a| math(a, |x, y| Some(x.min(y)))),
    // Sprig: defaults and flow.
    f!("default", [Any], Some(Any), |a| Ok(
        if a.len() < 2 || !a[1].is_true() {
            a[0].clone()
        } else {
            a[1].clone()
        }
    )),
    f!("empty", [Any], None, |a| Ok(Value::Bool(!a[0].is_true()))),
    f!("coalesce", [], Some(Any), |a| Ok(a
        .iter()
        .find(|v| v.is_true())
        .cloned()
        .unwrap_or(Value::Nil))),
    f!("all", [], Some(Any), |a| Ok(Value::Bool(
        a.iter().all(Value::is_true)
    ))),
    f!("any", [], Some(Any), |a| Ok(Value::Bool(
        a.iter().any(Value::is_true)
    ))),
    f!("ternary", [Any, Any, Bool], None, |a| Ok(a
        [if a[2].is_true() { 0 } else { 1 }]
    .clone())),
    // Sprig: lists and dicts.
    f!("list", [], Some(Any), |a| Ok(Value::List(a.to_vec()))),
    f!("tuple", [], Some(Any), |a| Ok(Value::List(a.to_vec()))),
    f!("first", [Any], None, |a| sprig::list_op(
        "find first",
        &a[0],
        |l| l.first().cloned().unwrap_or(Value::Nil)
    )),
    f!("last", [Any], None, |a| sprig::list_op(
        "find last",
        &a[0],
        |l| l.last().cloned().unwrap_or(Value::Nil)
    )),
    f!("rest", [Any], None, |a| sprig::list_op(
        "find rest",
        &a[0],
        |l| Value::List(l.iter().skip(1).cloned().collect())
    )),
    f!("initial", [Any], None, |a| {
        sprig::list_op("find initial", &a[0], |l| {
            Value::List(l[..l.len().saturating_sub(1)].to_vec())
        })
    }),
    f!("reverse", [Any], None, |a| sprig::list_op(
        "find reverse",
        &a[0],
        |l| Value::List(l.iter().rev().cloned().collect())
    )),
    f!("uniq", [Any], None, |a| sprig::list_op(
        "find uniq",
        &a[0],
        |l| Value::List(sprig::uniq(l))
    )),
    f!("compact", [Any], None, |a| {
        sprig::list_op("compact", &a[0], |l| {
            Value::List(l.iter().filter(|v| v.is_true()).cloned().collect())
        })
    }),
    f!("without", [Any], Some(Any), |a| {
        sprig::list_op("find without", &a[0], |l| {
            Value::List(l.iter().filter(|v| !a[1..].contains(v)).cloned().collect())
        })
    }),
    f!("append", [Any, Any], None, |a| sprig::list_op(
        "push",
        &a[0],
        |l| Value::List([l, &a[1..]].concat())
    )),
    f!("push", [Any, Any], None, |a| sprig::list_op(
        "push",
        &a[0],
        |l| Value::List([l, &a[1..]].concat())
    )),
    f!("prepend", [Any, Any], None, |a| sprig::list_op(
        "prepend",
        &a[0],
        |l| Value::List([&a[1..], l].concat())
    )),
    f!("has", [Any, Any], None, sprig::has),
    f!("concat", [], Some(Any), sprig::concat),
    f!("slice", [Any], Some(Any), sprig::slice),
    f!("dict", [], Some(Any), |a| Ok(sprig::dict(a))),
    f!("keys", [], Some(StrMap), |a| Ok(sprig::keys(a))),
    f!("values", [StrMap], None, |a| Ok(Value::List(
        a[0].sorted_entries().into_iter().map(|e| e.1).collect()
    ))),
    f!("get", [StrMap, Str], None, |a| Ok(sprig::dict_get(
        &a[0],
        s(&a[1])
    )
    .unwrap_or_else(|| Value::from("")))),
    f!("hasKey", [StrMap, Str], None, |a| Ok(Value::Bool(
        sprig::dict_get(&a[0], s(&a[1])).is_some()
    ))),
];

/// Every function name in `sprig.HermeticTxtFuncMap()` (Sprig v3.3.0), supported or not.
const SPRIG_HERMETIC: &str = "abbrev abbrevboth add add1 add1f addf adler32sum ago all any append atoi b32dec b32enc b64dec \
    b64enc base bcrypt biggest buildCustomCert camelcase cat ceil chunk clean coalesce compact concat contains decryptAES \
    deepCopy deepEqual default derivePassword dict dig dir div divf duration durationRound empty encryptAES ext fail first \
    float64 floor fromJson genCA genCAWithKey genPrivateKey genSelfSignedCert genSelfSignedCertWithKey genSignedCert \
    genSignedCertWithKey get has hasKey hasPrefix hasSuffix hello htpasswd indent initial initials int int64 isAbs join \
    kebabcase keys kindIs kindOf last list lower max maxf merge mergeOverwrite min minf mod mul mulf mustAppend mustChunk \
    mustCompact mustDateModify mustDeepCopy mustFirst mustFromJson mustHas mustInitial mustLast mustMerge \
    mustMergeOverwrite mustPrepend mustPush mustRegexFind mustRegexFindAll mustRegexMatch mustRegexReplaceAll \
    mustRegexReplaceAllLiteral mustRegexSplit mustRest mustReverse mustSlice mustToDate mustToJson mustToPrettyJson \
    mustToRawJson mustUniq mustWithout must_date_modify nindent nospace omit osBase osClean osDir osExt osIsAbs pick pluck \
    plural prepend push quote randInt regexFind regexFindAll regexMatch regexQuoteMeta regexReplaceAll \
    regexReplaceAllLiteral regexSplit repeat replace rest reverse round semver semverCompare seq set sha1sum sha256sum \
    sha512sum shuffle slice snakecase sortAlpha split splitList splitn squote sub subf substr swapcase ternary title toDate \
    toDecimal toJson toPrettyJson toRawJson toString toStrings trim trimAll trimPrefix trimSuffix trimall trunc tuple \
    typeIs typeIsLike typeOf uniq unixEpoch unset until untilStep untitle upper urlJoin urlParse values without wrap \
    wrapWith";

/// The implementation of a function name, if supported.
pub(crate) fn find(name: &str) -> Option<&'static Func> {
    FUNCS.iter().find(|f| f.name == name)
}

/// Classifies a name for the parser's "function not defined" check.
pub(crate) fn lookup(name: &str) -> Known {
    if find(name).is_some() {
        Known::Yes
    } else if SPRIG_HERMETIC.split_whitespace().any(|n| n == name) {
        Known::Unsupported
    } else {
        Known::No
    }
}

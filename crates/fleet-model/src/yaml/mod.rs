//! Reading and writing YAML as [`Value`](crate::Value) trees.
//!
//! Reading is built on `saphyr-parser`'s event stream (a maintained, pure-Rust
//! YAML 1.2 parser that reports spans). On top of it this module resolves
//! plain scalars the way kustomize's YAML library does, keeps key order and
//! number text, expands aliases within a budget (so an alias bomb is refused
//! instead of exhausting memory), and reports errors with line and column.
//!
//! Writing follows the block layout `kubectl kustomize` prints: two-space
//! indentation, sequences flush with their parent key, literal blocks for
//! multi-line strings, double quotes for strings that would read back as
//! another type and single quotes where YAML syntax needs them. No serde YAML
//! crate offers that control over layout, which is why the writer is ours.
//!
//! ```
//! let docs = fleet_model::yaml::parse_documents("a: 1\n---\nb: [x, 'y']\n").unwrap();
//! assert_eq!(docs.len(), 2);
//! assert_eq!(fleet_model::yaml::to_string(&docs[1].value), "b:\n- x\n- \"y\"\n");
//! ```

mod folded;
mod read;
mod scalar;
mod timestamp;
mod write;

pub use folded::go_folded_round_trip;
pub use read::{Document, Limits, YamlError, parse_documents, parse_documents_with, parse_one};
pub use scalar::is_written_quoted;

/// The value a plain (unquoted, untagged) scalar with this text reads as:
/// null, boolean, number or string.
///
/// ```
/// use fleet_model::{Value, yaml::plain_scalar};
/// assert!(matches!(plain_scalar("1.25"), Value::Number(_)));
/// assert_eq!(plain_scalar("v1"), Value::String("v1".into()));
/// ```
pub fn plain_scalar(text: &str) -> crate::Value {
    scalar::resolve_plain(text)
}
pub use write::{
    WriteOptions, go_json_string, natural_cmp, to_string, to_string_documents,
    to_string_documents_with, to_string_with,
};

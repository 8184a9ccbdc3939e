//! Case-insensitive struct field names, as Go's `encoding/json` matches them
//! when kustomize decodes a kustomization file: a key that is not exactly a
//! field name matches the field it equals ignoring case, at every depth,
//! while map keys (label names, `openapi` entries, …) stay verbatim.
//!
//! serde tells a deserializer which fields a struct has
//! (`deserialize_struct`'s `fields`), so this wrapper folds keys exactly
//! where the target is a struct. No crate offers this, hence the small
//! hand-written `Deserializer`.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value whose struct field names are matched case-insensitively.
pub(crate) struct CaseFold(pub Value);

type Error = serde_json::Error;

fn fold_keys(map: Map<String, Value>, fields: &'static [&'static str]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in map {
        let key = if fields.contains(&key.as_str()) {
            key
        } else {
            fields
                .iter()
                .find(|f| f.eq_ignore_ascii_case(&key))
                .map(|f| f.to_string())
                .unwrap_or(key)
        };
        // A later spelling of the same field wins, as in Go.
        out.insert(key, value);
    }
    out
}

struct Seq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Seq {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(CaseFold(v)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries {
    iter: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(k.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self.value.take().unwrap_or(Value::Null);
        seed.deserialize(CaseFold(value))
    }
}

impl<'de> de::Deserializer<'de> for CaseFold {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Seq(items.into_iter())),
            Value::Object(map) => visitor.visit_map(Entries {
                iter: map.into_iter(),
                value: None,
            }),
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Entries {
                iter: fold_keys(map, fields).into_iter(),
                value: None,
            }),
            other => CaseFold(other).deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(CaseFold(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Inner {
        new_tag: Option<String>,
        #[serde(default)]
        labels: IndexMap<String, String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Outer {
        name_prefix: Option<String>,
        #[serde(default)]
        images: Vec<Inner>,
    }

    #[test]
    fn struct_fields_fold_at_every_depth_and_map_keys_do_not() {
        let json = serde_json::json!({
            "NAMEPREFIX": "p-",
            "Images": [{"NewTag": "1.2", "labels": {"App": "web"}}]
        });
        let got = Outer::deserialize(CaseFold(json)).ok();
        assert_eq!(
            got,
            Some(Outer {
                name_prefix: Some("p-".into()),
                images: vec![Inner {
                    new_tag: Some("1.2".into()),
                    labels: IndexMap::from([("App".to_string(), "web".to_string())]),
                }],
            })
        );
        let unknown = Outer::deserialize(CaseFold(serde_json::json!({"namePrefx": "p-"})));
        assert!(unknown.is_err());
    }
}

//! Reading typed objects straight from a [`Value`], as if from its JSON
//! form with null mapping entries dropped (what [`crate::Manifest::to_typed`]
//! deserializes), without building that JSON first. Numbers are given as
//! JSON would give them: a non-negative integer as `u64`, a negative one
//! as `i64`, anything else (fractions, exponents, integers too large) as
//! `f64`; a number JSON cannot hold (`.inf`, `.nan`) is an error.
//!
//! Errors carry no path: the caller re-reads a failed value the slow way
//! for the message it shows.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::value::{Number, NumberKind, Value};

/// A failure to read a value; the text is serde's.
#[derive(Debug)]
pub(crate) struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// A deserializer over a borrowed value.
pub(crate) struct ValueDeserializer<'a>(pub &'a Value);

fn visit_number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, Error> {
    // JSON reads `-0` as the float -0.0.
    if n.as_text() == "-0" {
        return visitor.visit_f64(-0.0);
    }
    if n.kind() == NumberKind::Int {
        if let Some(u) = n.as_u64() {
            return visitor.visit_u64(u);
        }
        if let Some(i) = n.as_i64() {
            return visitor.visit_i64(i);
        }
    }
    let f = n.as_f64();
    if f.is_finite() {
        visitor.visit_f64(f)
    } else {
        Err(de::Error::custom(format!(
            "the number {} has no JSON form",
            n.as_text()
        )))
    }
}

impl<'de, 'a> de::Deserializer<'de> for ValueDeserializer<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_str(s),
            Value::Sequence(items) => {
                let mut seq = SeqAccess {
                    items: items.iter(),
                };
                let out = visitor.visit_seq(&mut seq)?;
                if seq.items.len() == 0 {
                    Ok(out)
                } else {
                    Err(de::Error::invalid_length(
                        items.len(),
                        &"fewer elements in array",
                    ))
                }
            }
            Value::Mapping(m) => {
                let mut map = MapAccess {
                    entries: m.iter(),
                    value: None,
                };
                visitor.visit_map(&mut map)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
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
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Mapping(m) => {
                let mut present = m.iter().filter(|(_, v)| !v.is_null());
                match (present.next(), present.next()) {
                    (Some((variant, value)), None) => visitor.visit_enum(EnumAccess {
                        variant,
                        value: Some(value),
                    }),
                    _ => Err(de::Error::invalid_value(
                        de::Unexpected::Map,
                        &"map with a single key",
                    )),
                }
            }
            other => Err(de::Error::invalid_type(unexpected(other), &"string or map")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // A field nobody reads still had to have a JSON form.
        if has_non_finite(self.0) {
            return Err(de::Error::custom("a number has no JSON form"));
        }
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// Whether a number without a JSON form (`.inf`, `.nan`) is anywhere in `v`.
fn has_non_finite(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.as_text() != "-0"
                && !n.as_f64().is_finite()
                && n.as_u64().is_none()
                && n.as_i64().is_none()
        }
        Value::Sequence(items) => items.iter().any(has_non_finite),
        Value::Mapping(m) => m.values().any(has_non_finite),
        _ => false,
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Sequence(_) => de::Unexpected::Seq,
        Value::Mapping(_) => de::Unexpected::Map,
    }
}

struct SeqAccess<'a> {
    items: std::slice::Iter<'a, Value>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            Some(v) => seed.deserialize(ValueDeserializer(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'a> {
    entries: indexmap::map::Iter<'a, String, Value>,
    value: Option<&'a Value>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        // Null entries are dropped, as `to_typed` drops them from the JSON.
        for (key, value) in self.entries.by_ref() {
            if value.is_null() {
                continue;
            }
            self.value = Some(value);
            return seed.deserialize(key.as_str().into_deserializer()).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(ValueDeserializer(v)),
            None => Err(de::Error::custom("value is missing")),
        }
    }
}

struct EnumAccess<'a> {
    variant: &'a str,
    value: Option<&'a Value>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumAccess<'a> {
    type Error = Error;
    type Variant = VariantAccess<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Error> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, VariantAccess { value: self.value }))
    }
}

struct VariantAccess<'a> {
    value: Option<&'a Value>,
}

impl<'de> de::VariantAccess<'de> for VariantAccess<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.value {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(unexpected(other), &"unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.value {
            Some(v) => seed.deserialize(ValueDeserializer(v)),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Some(v @ Value::Sequence(_)) => {
                de::Deserializer::deserialize_any(ValueDeserializer(v), visitor)
            }
            _ => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Some(v @ Value::Mapping(_)) => {
                de::Deserializer::deserialize_any(ValueDeserializer(v), visitor)
            }
            _ => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Manifest;
    use crate::flux::image::ImagePolicy;
    use crate::flux::kustomization::Kustomization;
    use crate::flux::source::GitRepository;
    use serde::Deserialize;
    use serde::de::DeserializeOwned;

    /// The value read straight and through its JSON form (the way
    /// `to_typed` read every value before), as JSON for comparing.
    fn both<T: DeserializeOwned + serde::Serialize>(text: &str) -> (String, String) {
        let value = crate::yaml::parse_one(text).unwrap_or_else(|e| panic!("{e}"));
        let fast: T = T::deserialize(super::ValueDeserializer(&value))
            .unwrap_or_else(|e| panic!("straight: {e}"));
        let mut json = value.to_json_value().unwrap_or_else(|e| panic!("{e}"));
        super::super::manifest::drop_nulls_for_tests(&mut json);
        let slow: T = serde_json::from_value(json).unwrap_or_else(|e| panic!("through JSON: {e}"));
        let text = |t: &T| serde_json::to_string(t).unwrap_or_default();
        (text(&fast), text(&slow))
    }

    #[test]
    fn any_value_reads_as_its_json_form_with_nulls_dropped() {
        let text = "a: 010\nb: 0x1f\nc: 1e3\nd: 1.0\ne: -7\nf: 99999999999999999999\ng: ~\nh: [1, ~, {x: ~, y: 'z'}]\ni: {j: true, k: \"007\"}\nl: 0o17\nm: -0\n";
        let (fast, slow) = both::<serde_json::Value>(text);
        assert_eq!(fast, slow);
        for number in [
            "0",
            "-0",
            "00",
            "007",
            "0x0",
            "0xff",
            "0o7",
            "+1",
            "-1",
            "1.5e-3",
            ".5",
            "-.5",
            "+.5",
            "1E5",
            "1e400",
            "0.0",
            "-0.0",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234567890",
        ] {
            let (fast, slow) = both::<serde_json::Value>(&format!("n: {number}\n"));
            assert_eq!(fast, slow, "{number}");
        }
    }

    #[test]
    fn flux_objects_read_the_same_either_way() {
        let ks = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system, labels: {a: b}}\nspec:\n  interval: 10m\n  timeout: ~\n  path: ./apps\n  prune: true\n  wait: false\n  deletionPolicy: Orphan\n  sourceRef: {kind: GitRepository, name: flux-system}\n  dependsOn: [{name: infra}]\n  postBuild:\n    substitute: {replicas: \"3\"}\n    substituteFrom: [{kind: ConfigMap, name: settings, optional: true}]\n  decryption: {provider: sops, secretRef: {name: age}}\n  patches:\n  - patch: |\n      - op: add\n        path: /x\n        value: 1\n    target: {kind: Deployment}\n  healthCheckExprs:\n  - {apiVersion: v1, kind: W, current: 'true'}\n";
        let (fast, slow) = both::<Kustomization>(ks);
        assert_eq!(fast, slow);
        let repo = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: r}\nspec:\n  interval: 1m\n  url: https://example.com/r.git\n  ref: {branch: main}\n  provider: generic\n  ignore: |\n    /*\n  include: [{repository: {name: other}, fromPath: a, toPath: b}]\n";
        let (fast, slow) = both::<GitRepository>(repo);
        assert_eq!(fast, slow);
        let policy = "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata: {name: p}\nspec:\n  imageRepositoryRef: {name: app}\n  policy:\n    semver: {range: '>=1.0.0'}\n  filterTags: {pattern: '^v(?P<v>.*)', extract: '$v'}\n";
        let (fast, slow) = both::<ImagePolicy>(policy);
        assert_eq!(fast, slow);
    }

    #[test]
    fn a_field_nobody_reads_still_needs_a_json_form() {
        // The JSON path refused `.inf` anywhere in the object; so does the
        // straight reader, in a field the type does not have.
        let text = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps}\nspec:\n  interval: 10m\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  extra: [.inf]\n";
        let value = crate::yaml::parse_one(text).unwrap_or_else(|e| panic!("{e}"));
        assert!(Kustomization::deserialize(super::ValueDeserializer(&value)).is_err());
        assert!(Manifest::typed_from::<Kustomization>(&value).is_none());
    }

    #[test]
    fn a_value_that_does_not_fit_still_names_its_field() {
        let text = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps}\nspec:\n  interval: 10m\n  prune: yes-please\n  sourceRef: {kind: GitRepository, name: flux-system}\n";
        let manifest = Manifest::read_all(text, "ks.yaml").unwrap_or_else(|e| panic!("{e}"));
        let err = manifest[0]
            .to_typed::<Kustomization>()
            .err()
            .unwrap_or_else(|| panic!("prune is a boolean"));
        assert!(err.to_string().contains("spec.prune"), "{err}");
    }
}

//! The numbers in a custom topic's JSON: which top-level fields count, shared
//! by the store (which records them as history) and the dashboard (which charts them).

use serde::{
    de::{IgnoredAny, MapAccess, Visitor},
    Deserialize, Deserializer,
};

/// The longest field name a series records; publishing refuses longer ones.
pub const MAX_FIELD_NAME: usize = 64;

/// The top-level numbers of a JSON object whose names are at most
/// [`MAX_FIELD_NAME`] long, by name, in name order; anything else has none.
pub fn numeric_fields(data: &str) -> Vec<(String, f64)> {
    let mut fields = all_numeric_fields(data);
    fields.retain(|(name, _)| name.len() <= MAX_FIELD_NAME);
    fields
}

/// Every top-level number of a JSON object, whatever its name's length.
pub fn all_numeric_fields(data: &str) -> Vec<(String, f64)> {
    let Ok(NumericFields(mut fields)) = serde_json::from_str::<NumericFields>(data) else { return Vec::new() };
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields.dedup_by(|a, b| a.0 == b.0);
    fields
}

/// Reads only what a chart can use, skipping the rest unparsed: lighter than
/// a whole `serde_json::Value`, in the browser bundle too.
struct NumericFields(Vec<(String, f64)>);

/// A field's value when it is a number.
struct Number(Option<f64>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl<'de> Visitor<'de> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                Ok(Number(Some(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
                Ok(Number(Some(v as f64)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_unit<E>(self) -> Result<Number, E> {
                Ok(Number(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Number, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Number(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Number, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Number(None))
            }
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

impl<'de> Deserialize<'de> for NumericFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = NumericFields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NumericFields, A::Error> {
                let mut fields = Vec::new();
                while let Some((name, Number(value))) = map.next_entry::<String, Number>()? {
                    if let Some(value) = value.filter(|v| v.is_finite()) {
                        fields.push((name, value));
                    }
                }
                Ok(NumericFields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_top_level_numbers_are_fields() {
        let fields = numeric_fields(r#"{"temp": 21.5, "name": "lab", "ok": true, "n": 3, "nested": {"x": 1}}"#);
        assert_eq!(fields, [("n".to_owned(), 3.0), ("temp".to_owned(), 21.5)]);
        assert!(numeric_fields("[1, 2]").is_empty());
        assert_eq!(numeric_fields(r#"{"b": 2, "a": 1, "b": 3}"#), [("a".to_owned(), 1.0), ("b".to_owned(), 2.0)], "a repeated name keeps its first value");
        assert!(numeric_fields("not json").is_empty());
    }
}

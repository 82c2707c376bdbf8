//! Filters: predicates over a document's top-level fields, evaluated identically by the
//! server (which documents a view holds) and the client (where an optimistic insert shows).
//!
//! Wire form (JSON):
//!
//! ```json
//! {"field": "status", "op": "eq", "value": "todo"}
//! {"field": "priority", "op": "in", "value": [1, 2]}
//! {"and": [ ... ]}   {"or": [ ... ]}   {"not": { ... }}
//! ```
//!
//! A missing field reads as `null`. `eq`/`ne`/`in` compare JSON values (numbers by their exact
//! decimal value, so `1` equals `1.0`; see [`crate::Number`]). `lt`/`lte`/`gt`/`gte` hold only
//! when both sides are numbers or both are strings (strings compare by Unicode code points);
//! otherwise they are false.

use std::cmp::Ordering;

#[cfg(feature = "serde")]
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::json::{Json, Object};

/// Deepest accepted nesting of `and` / `or` / `not`.
pub const MAX_FILTER_DEPTH: usize = 16;
/// Most predicates and combinators one filter may contain.
pub const MAX_FILTER_NODES: usize = 256;

/// A parsed, valid filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Field equals value.
    Eq(String, Json),
    /// Field does not equal value.
    Ne(String, Json),
    /// Field equals one of the values.
    In(String, Vec<Json>),
    /// Field is less than value.
    Lt(String, Json),
    /// Field is less than or equal to value.
    Lte(String, Json),
    /// Field is greater than value.
    Gt(String, Json),
    /// Field is greater than or equal to value.
    Gte(String, Json),
    /// All hold (true when empty).
    And(Vec<Filter>),
    /// Any holds (false when empty).
    Or(Vec<Filter>),
    /// Does not hold.
    Not(Box<Filter>),
}

/// Why a filter is invalid; answered as `INVALID_FILTER` with this text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterError {
    /// A filter node is not a JSON object.
    NotAnObject,
    /// A predicate lacks `field`, `op` or `value`, or has keys of both forms.
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// `op` is not one of eq, ne, in, lt, lte, gt, gte.
    UnknownOperator {
        /// The operator given.
        op: String,
    },
    /// `field` is empty.
    EmptyField,
    /// `in` needs an array value; `and`/`or` need an array of filters.
    ExpectedArray {
        /// The operator or combinator.
        op: String,
    },
    /// Nested deeper than [`MAX_FILTER_DEPTH`].
    TooDeep,
    /// More than [`MAX_FILTER_NODES`] nodes.
    TooLarge,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterError::NotAnObject => f.write_str("a filter must be a JSON object"),
            FilterError::Malformed { reason } => write!(f, "malformed filter: {reason}"),
            FilterError::UnknownOperator { op } => write!(
                f,
                "unknown operator \"{op}\" (expected eq, ne, in, lt, lte, gt, gte)"
            ),
            FilterError::EmptyField => f.write_str("filter field must not be empty"),
            FilterError::ExpectedArray { op } => write!(f, "\"{op}\" needs an array"),
            FilterError::TooDeep => {
                write!(f, "filter nests deeper than {MAX_FILTER_DEPTH} levels")
            }
            FilterError::TooLarge => write!(f, "filter has more than {MAX_FILTER_NODES} nodes"),
        }
    }
}

impl std::error::Error for FilterError {}

impl Filter {
    /// Parses and validates the wire form.
    pub fn parse(value: &Json) -> Result<Filter, FilterError> {
        let mut nodes = 0;
        parse_node(value, 0, &mut nodes)
    }

    /// The wire form; `Filter::parse(&f.to_value()) == Ok(f)`.
    pub fn to_value(&self) -> Json {
        let combinator = |name: &str, items: &[Filter]| {
            let mut list = Vec::with_capacity(items.len());
            for item in items {
                list.push(item.to_value());
            }
            single(name, Json::Array(list))
        };
        let predicate = |field: &str, op: &str, value: Json| {
            let mut map = Object::new();
            map.insert("field", Json::String(field.into()));
            map.insert("op", Json::String(op.into()));
            map.insert("value", value);
            Json::Object(map)
        };
        match self {
            Filter::Eq(f, v) => predicate(f, "eq", v.clone()),
            Filter::Ne(f, v) => predicate(f, "ne", v.clone()),
            Filter::In(f, vs) => predicate(f, "in", Json::Array(vs.clone())),
            Filter::Lt(f, v) => predicate(f, "lt", v.clone()),
            Filter::Lte(f, v) => predicate(f, "lte", v.clone()),
            Filter::Gt(f, v) => predicate(f, "gt", v.clone()),
            Filter::Gte(f, v) => predicate(f, "gte", v.clone()),
            Filter::And(items) => combinator("and", items),
            Filter::Or(items) => combinator("or", items),
            Filter::Not(inner) => single("not", inner.to_value()),
        }
    }

    /// A canonical string for the filter, equal for equal filters (used to share views).
    pub fn canonical_key(&self) -> String {
        self.to_value().to_text()
    }

    /// Whether the document body matches.
    pub fn matches(&self, doc: &Json) -> bool {
        let field = |name: &str| doc.get(name).unwrap_or(&Json::Null);
        match self {
            Filter::Eq(f, v) => json_eq(field(f), v),
            Filter::Ne(f, v) => !json_eq(field(f), v),
            Filter::In(f, vs) => vs.iter().any(|v| json_eq(field(f), v)),
            Filter::Lt(f, v) => order(field(f), v) == Some(Ordering::Less),
            Filter::Lte(f, v) => {
                matches!(order(field(f), v), Some(Ordering::Less | Ordering::Equal))
            }
            Filter::Gt(f, v) => order(field(f), v) == Some(Ordering::Greater),
            Filter::Gte(f, v) => {
                matches!(
                    order(field(f), v),
                    Some(Ordering::Greater | Ordering::Equal)
                )
            }
            Filter::And(items) => items.iter().all(|i| i.matches(doc)),
            Filter::Or(items) => items.iter().any(|i| i.matches(doc)),
            Filter::Not(inner) => !inner.matches(doc),
        }
    }
}

/// A JSON object with one key.
pub(crate) fn single(key: &str, value: Json) -> Json {
    let mut map = Object::new();
    map.insert(key, value);
    Json::Object(map)
}

fn parse_node(value: &Json, depth: usize, nodes: &mut usize) -> Result<Filter, FilterError> {
    if depth >= MAX_FILTER_DEPTH {
        return Err(FilterError::TooDeep);
    }
    *nodes += 1;
    if *nodes > MAX_FILTER_NODES {
        return Err(FilterError::TooLarge);
    }
    let map = value.as_object().ok_or(FilterError::NotAnObject)?;
    let malformed = |reason: &str| FilterError::Malformed {
        reason: reason.into(),
    };
    for name in ["and", "or", "not"] {
        if let Some(inner) = map.get(name) {
            if map.len() != 1 {
                return Err(malformed(match name {
                    "and" => "\"and\" must be the only key of its object",
                    "or" => "\"or\" must be the only key of its object",
                    _ => "\"not\" must be the only key of its object",
                }));
            }
            if name == "not" {
                return Ok(Filter::Not(Box::new(parse_node(inner, depth + 1, nodes)?)));
            }
            let list = inner
                .as_array()
                .ok_or(FilterError::ExpectedArray { op: name.into() })?;
            let mut items = Vec::with_capacity(list.len());
            for item in list {
                items.push(parse_node(item, depth + 1, nodes)?);
            }
            return Ok(if name == "and" {
                Filter::And(items)
            } else {
                Filter::Or(items)
            });
        }
    }
    if map.len() != 3 {
        return Err(malformed(
            "a predicate has exactly the keys \"field\", \"op\" and \"value\"",
        ));
    }
    let field = map
        .get("field")
        .and_then(Json::as_str)
        .ok_or_else(|| malformed("\"field\" must be a string"))?;
    if field.is_empty() {
        return Err(FilterError::EmptyField);
    }
    let op = map
        .get("op")
        .and_then(Json::as_str)
        .ok_or_else(|| malformed("\"op\" must be a string"))?;
    let value = map
        .get("value")
        .cloned()
        .ok_or_else(|| malformed("missing \"value\""))?;
    let field = field.to_owned();
    Ok(match op {
        "eq" => Filter::Eq(field, value),
        "ne" => Filter::Ne(field, value),
        "in" => match value {
            Json::Array(values) => Filter::In(field, values),
            _ => return Err(FilterError::ExpectedArray { op: "in".into() }),
        },
        "lt" => Filter::Lt(field, value),
        "lte" => Filter::Lte(field, value),
        "gt" => Filter::Gt(field, value),
        "gte" => Filter::Gte(field, value),
        other => {
            return Err(FilterError::UnknownOperator {
                op: other.to_owned(),
            })
        }
    })
}

/// Equality of JSON values, numbers by value (`1` equals `1.0`; see [`crate::Number`]).
fn json_eq(a: &Json, b: &Json) -> bool {
    a == b
}

fn order(a: &Json, b: &Json) -> Option<Ordering> {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => Some(x.cmp_numeric(y)),
        (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(feature = "serde")]
impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Json::deserialize(deserializer)?;
        Filter::parse(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    fn json(v: serde_json::Value) -> Json {
        Json::from(v)
    }

    macro_rules! json {
        ($($t:tt)+) => {
            json(serde_json::json!($($t)+))
        };
    }

    fn f(v: Json) -> Filter {
        Filter::parse(&v).unwrap()
    }

    #[test]
    fn predicates_match_as_documented() {
        let doc = json!({"status": "todo", "priority": 2, "title": "b"});
        assert!(f(json!({"field": "status", "op": "eq", "value": "todo"})).matches(&doc));
        assert!(f(json!({"field": "priority", "op": "eq", "value": 2.0})).matches(&doc));
        assert!(f(json!({"field": "status", "op": "ne", "value": "done"})).matches(&doc));
        assert!(f(json!({"field": "priority", "op": "in", "value": [1, 2]})).matches(&doc));
        assert!(f(json!({"field": "priority", "op": "lt", "value": 3})).matches(&doc));
        assert!(f(json!({"field": "priority", "op": "lte", "value": 2})).matches(&doc));
        assert!(!f(json!({"field": "priority", "op": "gt", "value": 2})).matches(&doc));
        assert!(f(json!({"field": "title", "op": "gte", "value": "a"})).matches(&doc));
        assert!(f(json!({"field": "missing", "op": "eq", "value": null})).matches(&doc));
        // Mixed types never order.
        assert!(!f(json!({"field": "title", "op": "lt", "value": 5})).matches(&doc));
        assert!(!f(json!({"field": "title", "op": "gte", "value": 5})).matches(&doc));
    }

    #[test]
    fn combinators() {
        let doc = json!({"status": "todo", "priority": 2});
        let todo = json!({"field": "status", "op": "eq", "value": "todo"});
        let high = json!({"field": "priority", "op": "gt", "value": 5});
        assert!(!f(json!({"and": [todo, high]})).matches(&doc));
        assert!(f(json!({"or": [todo, high]})).matches(&doc));
        assert!(f(json!({"not": high})).matches(&doc));
        assert!(f(json!({"and": []})).matches(&doc));
        assert!(!f(json!({"or": []})).matches(&doc));
    }

    #[test]
    fn invalid_filters_are_typed() {
        let err = |v: Json| Filter::parse(&v).unwrap_err();
        assert_eq!(err(json!(3)), FilterError::NotAnObject);
        assert_eq!(
            err(json!({"field": "a", "op": "like", "value": 1})),
            FilterError::UnknownOperator { op: "like".into() }
        );
        assert_eq!(
            err(json!({"field": "", "op": "eq", "value": 1})),
            FilterError::EmptyField
        );
        assert_eq!(
            err(json!({"field": "a", "op": "in", "value": 1})),
            FilterError::ExpectedArray { op: "in".into() }
        );
        assert!(matches!(
            err(json!({"field": "a", "op": "eq"})),
            FilterError::Malformed { .. }
        ));
        assert!(matches!(
            err(json!({"and": [], "field": "a"})),
            FilterError::Malformed { .. }
        ));
        let mut deep = json!({"field": "a", "op": "eq", "value": 1});
        for _ in 0..MAX_FILTER_DEPTH {
            deep = json!({ "not": deep });
        }
        assert_eq!(err(deep), FilterError::TooDeep);
        let wide: Vec<Json> = (0..MAX_FILTER_NODES)
            .map(|_| json!({"field": "a", "op": "eq", "value": 1}))
            .collect();
        assert_eq!(err(json!({ "or": wide })), FilterError::TooLarge);
    }

    #[test]
    fn wire_form_round_trips() {
        let v = json!({"or": [
            {"field": "status", "op": "in", "value": ["todo", "doing"]},
            {"not": {"field": "owner", "op": "eq", "value": null}}
        ]});
        let parsed = f(v.clone());
        assert_eq!(parsed.to_value(), v);
        assert_eq!(Filter::parse(&parsed.to_value()), Ok(parsed));
    }
}

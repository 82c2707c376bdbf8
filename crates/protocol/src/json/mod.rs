//! [`Json`]: Tether's own JSON value, parser and writer (no serde on this path).
//!
//! * [`Json::parse`]: hand-written, never panics, nesting limited to [`MAX_DEPTH`], accepts
//!   exactly the JSON texts serde_json accepts (RFC 8259; numbers beyond the double range are
//!   refused), typed [`ParseError`] with byte offset, line and column.
//! * [`Json::to_text`]: compact text, byte-identical to `serde_json::to_string` of the same
//!   value when its numbers are written the way serde_json writes them; numbers are written as
//!   their source text ([`Number`]), so no float is ever formatted.
//! * Objects ([`Object`]) keep their keys sorted, so output order matches serde_json's
//!   `BTreeMap`-backed `Map`.

mod decimal;
mod number;
mod object;
mod parse;
#[cfg(feature = "serde")]
mod serde_impl;
mod write;

pub(crate) use number::push_u64;
pub use number::Number;
pub use object::Object;
pub(crate) use parse::{KeyBytes, Parser};
pub use parse::{ParseError, ParseErrorKind, MAX_DEPTH};
pub(crate) use write::write_str;

/// A JSON value.
///
/// Equality is structural, with numbers compared numerically (see [`Number`]): `1 == 1.0`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object.
    Object(Object),
}

static NULL: Json = Json::Null;

impl Json {
    /// Parses one JSON text (surrounding whitespace allowed, nothing else after it).
    pub fn parse(text: &str) -> Result<Json, ParseError> {
        parse::parse(text)
    }

    /// Compact JSON text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        write::write(self, &mut out);
        out
    }

    /// Appends the compact JSON text to `out`.
    pub fn write_to(&self, out: &mut String) {
        write::write(self, out);
    }

    /// The field `key` of an object (`None` for a missing key or a non-object).
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object().and_then(|o| o.get(key))
    }

    /// The object, if it is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The object, mutably, if it is one.
    pub fn as_object_mut(&mut self) -> Option<&mut Object> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The array, if it is one.
    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if it is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Json::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as the nearest double, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::as_f64)
    }

    /// The number as a `u64`, if it is an integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The number as an `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// Whether it is a number that is neither a `u64` nor an `i64` integer.
    pub fn is_f64(&self) -> bool {
        self.as_number().is_some_and(Number::is_f64)
    }

    /// Whether it is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// Whether it is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// Whether it is a string.
    pub fn is_string(&self) -> bool {
        matches!(self, Json::String(_))
    }

    /// Whether it is a number.
    pub fn is_number(&self) -> bool {
        matches!(self, Json::Number(_))
    }

    /// Whether it is an array.
    pub fn is_array(&self) -> bool {
        matches!(self, Json::Array(_))
    }

    /// Takes the value out, leaving `null`.
    pub fn take(&mut self) -> Json {
        std::mem::take(self)
    }
}

impl std::ops::Index<&str> for Json {
    type Output = Json;
    /// The field, or `null` when missing or not an object (as serde_json's `Value`).
    fn index(&self, key: &str) -> &Json {
        self.get(key).unwrap_or(&NULL)
    }
}

impl std::ops::Index<&String> for Json {
    type Output = Json;
    /// The field, or `null` when missing or not an object.
    fn index(&self, key: &String) -> &Json {
        &self[key.as_str()]
    }
}

impl std::ops::Index<usize> for Json {
    type Output = Json;
    /// The element, or `null` when out of range or not an array.
    fn index(&self, i: usize) -> &Json {
        self.as_array().and_then(|a| a.get(i)).unwrap_or(&NULL)
    }
}

impl std::fmt::Display for Json {
    /// The compact text ([`Json::to_text`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl PartialEq<str> for Json {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Json {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}
impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::String(s)
    }
}
impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::String(s.to_owned())
    }
}
impl From<Number> for Json {
    fn from(n: Number) -> Json {
        Json::Number(n)
    }
}
impl From<Object> for Json {
    fn from(o: Object) -> Json {
        Json::Object(o)
    }
}
impl From<Vec<Json>> for Json {
    fn from(a: Vec<Json>) -> Json {
        Json::Array(a)
    }
}
macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(n: $t) -> Json {
                Json::Number(Number::from(n))
            }
        }
    )*};
}
from_int!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}

#[cfg(test)]
mod tests;

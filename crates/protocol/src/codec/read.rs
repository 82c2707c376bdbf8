//! Reading message fields out of a parsed [`Json`] object, with serde's field rules:
//! unknown fields are ignored, a repeated field is refused, `null` or a missing field is `None`
//! for optional fields, integers must be non-negative and in range.

use crate::json::{Json, Object};

/// A shape error: the message text (short, mostly static).
pub(crate) type Shape = String;

fn shape(what: &str, field: &str) -> Shape {
    let mut s = String::with_capacity(what.len() + field.len() + 3);
    s.push_str(what);
    s.push_str(" `");
    s.push_str(field);
    s.push('`');
    s
}

/// The fields of one JSON object that must be a message or a struct.
pub(crate) struct Fields<'a> {
    object: &'a Object,
}

impl<'a> Fields<'a> {
    /// The object's fields, or a shape error when `value` is not an object.
    pub(crate) fn of(value: &'a Json, what: &str) -> Result<Fields<'a>, Shape> {
        match value {
            Json::Object(object) => Ok(Fields { object }),
            _ => Err(shape("expected an object for", what)),
        }
    }

    /// The value of `field` (`null` included); a repeated field is an error.
    pub(crate) fn present(&self, field: &str) -> Result<Option<&'a Json>, Shape> {
        if self.object.is_duplicate_key(field) {
            return Err(shape("duplicate field", field));
        }
        Ok(self.object.get(field))
    }

    /// A present value, `null` included (an absent field is an error).
    pub(crate) fn required(&self, field: &str) -> Result<&'a Json, Shape> {
        self.present(field)?
            .ok_or_else(|| shape("missing field", field))
    }

    /// A present, non-null value (absent or `null`: `None`).
    pub(crate) fn optional(&self, field: &str) -> Result<Option<&'a Json>, Shape> {
        Ok(self.present(field)?.filter(|v| !v.is_null()))
    }

    /// A required string.
    pub(crate) fn string(&self, field: &str) -> Result<String, Shape> {
        as_string(self.required(field)?, field)
    }

    /// An optional string.
    pub(crate) fn opt_string(&self, field: &str) -> Result<Option<String>, Shape> {
        self.optional(field)?
            .map(|v| as_string(v, field))
            .transpose()
    }

    /// A required `u64`.
    pub(crate) fn u64(&self, field: &str) -> Result<u64, Shape> {
        as_u64(self.required(field)?, field)
    }

    /// An optional `u64`.
    pub(crate) fn opt_u64(&self, field: &str) -> Result<Option<u64>, Shape> {
        self.optional(field)?.map(|v| as_u64(v, field)).transpose()
    }

    /// A required `u32`.
    pub(crate) fn u32(&self, field: &str) -> Result<u32, Shape> {
        u32::try_from(self.u64(field)?).map_err(|_| shape("out of range:", field))
    }

    /// A required boolean.
    pub(crate) fn bool(&self, field: &str) -> Result<bool, Shape> {
        as_bool(self.required(field)?, field)
    }

    /// A boolean defaulting to `false` when absent (`null` is an error, as serde's `default`).
    pub(crate) fn bool_or_false(&self, field: &str) -> Result<bool, Shape> {
        self.present(field)?
            .map_or(Ok(false), |v| as_bool(v, field))
    }

    /// A string defaulting to empty when absent (`null` is an error).
    pub(crate) fn string_or_empty(&self, field: &str) -> Result<String, Shape> {
        self.present(field)?
            .map_or(Ok(String::new()), |v| as_string(v, field))
    }

    /// Any JSON value, `null` when absent.
    pub(crate) fn json_or_null(&self, field: &str) -> Result<Json, Shape> {
        Ok(self.present(field)?.cloned().unwrap_or(Json::Null))
    }

    /// Any JSON value, required (`null` allowed).
    pub(crate) fn json(&self, field: &str) -> Result<Json, Shape> {
        self.required(field).cloned()
    }

    /// A JSON value, `None` when absent or `null`.
    pub(crate) fn opt_json(&self, field: &str) -> Result<Option<Json>, Shape> {
        Ok(self.optional(field)?.cloned())
    }

    /// A required array, each element read by `item`.
    pub(crate) fn array<T>(
        &self,
        field: &str,
        item: impl Fn(&'a Json) -> Result<T, Shape>,
    ) -> Result<Vec<T>, Shape> {
        as_array(self.required(field)?, field, item)
    }

    /// A unit enum written as a string, read by `variant` (`None`: unknown variant).
    /// An optional string field read as an enum that maps every string (unknown names to an
    /// `Unknown` variant); absent or `null` is `None`.
    pub(crate) fn opt_variant<T>(
        &self,
        field: &str,
        variant: impl Fn(&str) -> T,
    ) -> Result<Option<T>, Shape> {
        match self.optional(field)? {
            Some(v) => v
                .as_str()
                .map(|text| Some(variant(text)))
                .ok_or_else(|| shape("expected a string for", field)),
            None => Ok(None),
        }
    }

    pub(crate) fn variant<T>(
        &self,
        field: &str,
        variant: impl Fn(&str) -> Option<T>,
    ) -> Result<T, Shape> {
        let text = self
            .required(field)?
            .as_str()
            .ok_or_else(|| shape("expected a string for", field))?;
        variant(text).ok_or_else(|| shape("unknown variant of", field))
    }
}

pub(crate) fn as_string(v: &Json, field: &str) -> Result<String, Shape> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| shape("expected a string for", field))
}

pub(crate) fn as_u64(v: &Json, field: &str) -> Result<u64, Shape> {
    v.as_u64()
        .ok_or_else(|| shape("expected a non-negative integer for", field))
}

fn as_bool(v: &Json, field: &str) -> Result<bool, Shape> {
    v.as_bool()
        .ok_or_else(|| shape("expected a boolean for", field))
}

pub(crate) fn as_array<'a, T>(
    v: &'a Json,
    field: &str,
    item: impl Fn(&'a Json) -> Result<T, Shape>,
) -> Result<Vec<T>, Shape> {
    let items = v
        .as_array()
        .ok_or_else(|| shape("expected an array for", field))?;
    // A loop, not `collect::<Result<Vec<_>, _>>()`: that costs a shunt adapter per item type
    // in the WASM build.
    let mut out = Vec::with_capacity(items.len());
    for v in items {
        out.push(item(v)?);
    }
    Ok(out)
}

/// Writes a JSON object field by field, in the order the fields are given.
pub(crate) struct Writer {
    out: String,
}

impl Writer {
    /// Starts `{"type":"<tag>"`.
    pub(crate) fn message(tag: &str) -> Writer {
        let mut out = String::with_capacity(64);
        out.push_str("{\"type\":\"");
        out.push_str(tag);
        out.push('"');
        Writer { out }
    }

    /// Starts a nested object (call [`Writer::end`] and put its text with [`Writer::raw`]).
    pub(crate) fn object() -> Writer {
        Writer {
            out: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    /// A string field.
    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Writer {
        self.key(key);
        crate::json::write_str(value, &mut self.out);
        self
    }

    /// An integer field.
    pub(crate) fn u64(&mut self, key: &str, value: u64) -> &mut Writer {
        self.key(key);
        crate::json::push_u64(value, &mut self.out);
        self
    }

    /// A boolean field.
    pub(crate) fn bool(&mut self, key: &str, value: bool) -> &mut Writer {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// A JSON value field.
    pub(crate) fn json(&mut self, key: &str, value: &Json) -> &mut Writer {
        self.key(key);
        value.write_to(&mut self.out);
        self
    }

    /// A field whose value is already JSON text.
    pub(crate) fn raw(&mut self, key: &str, text: &str) -> &mut Writer {
        self.key(key);
        self.out.push_str(text);
        self
    }

    /// A field whose value `write` appends as JSON text.
    pub(crate) fn with(&mut self, key: &str, write: impl FnOnce(&mut String)) -> &mut Writer {
        self.key(key);
        write(&mut self.out);
        self
    }

    /// Closes the object and gives its text.
    pub(crate) fn end(&mut self) -> String {
        let mut out = std::mem::take(&mut self.out);
        out.push('}');
        out
    }
}

/// Appends `[a,b,...]`, each element written by `item`.
pub(crate) fn write_array<T>(items: &[T], out: &mut String, item: impl Fn(&T, &mut String)) {
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(x, out);
    }
    out.push(']');
}

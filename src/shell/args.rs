//! Reading the plain objects JavaScript passes (options, mutations) field by field with
//! `Reflect`. A field that is absent, `undefined` or `null` is "not given"; a field of the
//! wrong type is an `INVALID_ARGUMENT` error naming it.

use js_sys::Reflect;
use tether_protocol::Json as Value;
use wasm_bindgen::JsValue;

use super::error::ShellError;
use super::json;

/// The `INVALID_ARGUMENT` error for `field` (a path like `backoff.initialMs`).
pub fn invalid(field: &str, must: &str) -> JsValue {
    ShellError::InvalidArgument {
        reason: ["`", field, "` ", must].concat(),
    }
    .to_js()
}

/// `object[key]`, `None` when it is absent, `undefined` or `null` (or `object` is not an
/// object).
pub fn field(object: &JsValue, key: &str) -> Option<JsValue> {
    if !object.is_object() {
        return None;
    }
    let value = Reflect::get(object, &JsValue::from_str(key)).ok()?;
    if value.is_undefined() || value.is_null() {
        None
    } else {
        Some(value)
    }
}

/// An optional string field.
pub fn string(object: &JsValue, key: &str, path: &str) -> Result<Option<String>, JsValue> {
    match field(object, key) {
        None => Ok(None),
        Some(value) => value
            .as_string()
            .map(Some)
            .ok_or_else(|| invalid(path, "must be a string")),
    }
}

/// An optional whole number of 0 or more, at most `max`.
pub fn whole(object: &JsValue, key: &str, path: &str, max: f64) -> Result<Option<u64>, JsValue> {
    let Some(value) = field(object, key) else {
        return Ok(None);
    };
    match value.as_f64() {
        Some(n) if n >= 0.0 && n <= max && n.fract() == 0.0 => Ok(Some(n as u64)),
        _ => Err(invalid(path, "must be a whole number of 0 or more")),
    }
}

/// The largest integer a JavaScript number holds exactly.
pub const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// An optional nested object.
pub fn object(parent: &JsValue, key: &str, path: &str) -> Result<Option<JsValue>, JsValue> {
    match field(parent, key) {
        None => Ok(None),
        Some(value) if value.is_object() => Ok(Some(value)),
        Some(_) => Err(invalid(path, "must be an object")),
    }
}

/// A JSON value argument (`undefined` reads as `null`).
pub fn json_value(value: &JsValue, path: &str) -> Result<Value, JsValue> {
    json::from_js(value).ok_or_else(|| invalid(path, "must be JSON"))
}

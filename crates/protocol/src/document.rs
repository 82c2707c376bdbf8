//! Documents, mutation ops and the one implementation of applying an op to a document body.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::json::{Json, Object};

/// Longest accepted channel name, in bytes.
pub const MAX_CHANNEL_LEN: usize = 128;
/// Longest accepted document id, in bytes.
pub const MAX_DOC_ID_LEN: usize = 256;
/// Largest integer magnitude a document may hold: 2^53 − 1, the largest integer JavaScript
/// (an IEEE double) reads exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A document as the server stores and sends it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct Document {
    /// Document id, unique within its channel.
    pub id: String,
    /// Starts at 1 and grows by exactly 1 with every applied mutation of the document.
    pub version: u64,
    /// The body: always a JSON object.
    pub doc: Json,
}

/// A mutation's operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Op {
    /// Create or replace the whole body.
    Put,
    /// Merge top-level fields into an existing body; a `null` field removes that field.
    Patch,
    /// Remove the document.
    Delete,
}

/// Why a mutation cannot be applied to a document body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentError {
    /// `put` or `patch` without a `doc`.
    MissingBody,
    /// The body is not a JSON object.
    BodyNotObject,
    /// `patch` or `delete` of a document that does not exist.
    NotFound,
    /// The channel name is empty, too long or has characters outside `[A-Za-z0-9_.:-]`.
    BadChannel,
    /// The document id is empty or longer than [`MAX_DOC_ID_LEN`].
    BadId,
    /// The body holds an integer (a number without fraction or exponent) whose magnitude is
    /// above [`MAX_SAFE_INTEGER`], which JavaScript would read as a different number.
    UnsafeInteger {
        /// The integer as written.
        number: String,
    },
}

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            DocumentError::UnsafeInteger { number } => {
                return write!(
                    f,
                    "`doc` holds the integer {number}, outside ±(2^53−1) = ±{MAX_SAFE_INTEGER}: \
                     JavaScript cannot read it exactly (send it as a string)"
                );
            }
            DocumentError::MissingBody => "put and patch need a `doc`",
            DocumentError::BodyNotObject => "`doc` must be a JSON object",
            DocumentError::NotFound => "the document does not exist",
            DocumentError::BadChannel => {
                "channel must be 1-128 characters of letters, digits, '_', '-', '.', ':'"
            }
            DocumentError::BadId => "document id must be 1-256 bytes",
        };
        f.write_str(text)
    }
}

impl std::error::Error for DocumentError {}

/// Checks a channel name: 1..=128 bytes of `[A-Za-z0-9_.:-]`.
pub fn validate_channel(channel: &str) -> Result<(), DocumentError> {
    let ok = !channel.is_empty()
        && channel.len() <= MAX_CHANNEL_LEN
        && channel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(DocumentError::BadChannel)
    }
}

/// Checks a document id: 1..=256 bytes.
pub fn validate_doc_id(id: &str) -> Result<(), DocumentError> {
    if id.is_empty() || id.len() > MAX_DOC_ID_LEN {
        Err(DocumentError::BadId)
    } else {
        Ok(())
    }
}

/// Checks that every integer in `value` is within ±[`MAX_SAFE_INTEGER`]. Numbers with a
/// fraction or an exponent are doubles and always pass (they travel bit-exactly).
pub fn validate_numbers(value: &Json) -> Result<(), DocumentError> {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Json::Number(n) => {
                let magnitude = n.as_u64().or_else(|| n.as_i64().map(|i| i.unsigned_abs()));
                if magnitude.is_some_and(|m| m > MAX_SAFE_INTEGER) {
                    return Err(DocumentError::UnsafeInteger {
                        number: n.as_str().to_owned(),
                    });
                }
            }
            Json::Array(items) => stack.extend(items),
            Json::Object(fields) => stack.extend(fields.values()),
            Json::Null | Json::Bool(_) | Json::String(_) => {}
        }
    }
    Ok(())
}

/// Applies `op` with body `doc` to the `current` body (None = absent) and returns the new body
/// (None = deleted). Shared by the server (authoritative) and the client (optimistic layer).
pub fn apply_op(
    current: Option<&Json>,
    op: Op,
    doc: Option<&Json>,
) -> Result<Option<Json>, DocumentError> {
    match op {
        Op::Put => {
            let body = doc.ok_or(DocumentError::MissingBody)?;
            if !body.is_object() {
                return Err(DocumentError::BodyNotObject);
            }
            validate_numbers(body)?;
            Ok(Some(body.clone()))
        }
        Op::Patch => {
            let patch = doc.ok_or(DocumentError::MissingBody)?;
            let patch = patch.as_object().ok_or(DocumentError::BodyNotObject)?;
            patch.values().try_for_each(validate_numbers)?;
            let base = current.ok_or(DocumentError::NotFound)?;
            let mut merged: Object = base.as_object().cloned().unwrap_or_default();
            for (key, value) in patch {
                if value.is_null() {
                    merged.remove(key);
                } else {
                    merged.insert(key.clone(), value.clone());
                }
            }
            Ok(Some(Json::Object(merged)))
        }
        Op::Delete => {
            current.ok_or(DocumentError::NotFound)?;
            Ok(None)
        }
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

    #[test]
    fn patch_merges_top_level_and_null_removes() {
        let cur = json!({"title": "a", "status": "todo", "tags": [1]});
        let out = apply_op(
            Some(&cur),
            Op::Patch,
            Some(&json!({"status": "doing", "tags": null})),
        );
        assert_eq!(out, Ok(Some(json!({"title": "a", "status": "doing"}))));
    }

    #[test]
    fn patch_and_delete_of_missing_doc_are_not_found() {
        assert_eq!(
            apply_op(None, Op::Patch, Some(&json!({}))),
            Err(DocumentError::NotFound)
        );
        assert_eq!(
            apply_op(None, Op::Delete, None),
            Err(DocumentError::NotFound)
        );
    }

    #[test]
    fn put_needs_an_object_body() {
        assert_eq!(
            apply_op(None, Op::Put, None),
            Err(DocumentError::MissingBody)
        );
        assert_eq!(
            apply_op(None, Op::Put, Some(&json!(3))),
            Err(DocumentError::BodyNotObject)
        );
        assert_eq!(
            apply_op(None, Op::Put, Some(&json!({"a": 1}))),
            Ok(Some(json!({"a": 1})))
        );
    }

    #[test]
    fn integers_beyond_2_pow_53_are_refused_anywhere_in_the_body() {
        let max = MAX_SAFE_INTEGER;
        let ok = json!({"a": max, "b": -(max as i64), "c": [1.5e300, -0.0, 9007199254740993.0]});
        assert_eq!(apply_op(None, Op::Put, Some(&ok)), Ok(Some(ok.clone())));
        for bad in [
            json!({"a": max + 1}),
            json!({"a": -(max as i64) - 1}),
            json!({"a": {"b": [1, u64::MAX]}}),
            json!({"a": i64::MIN}),
        ] {
            let err = apply_op(None, Op::Put, Some(&bad)).unwrap_err();
            assert!(matches!(err, DocumentError::UnsafeInteger { .. }), "{bad}");
            let patched = apply_op(Some(&json!({})), Op::Patch, Some(&bad)).unwrap_err();
            assert_eq!(patched, err);
        }
        let text = apply_op(None, Op::Put, Some(&json!({"n": max + 2})))
            .unwrap_err()
            .to_string();
        assert!(text.contains("9007199254740993"), "{text}");
    }

    #[test]
    fn channel_and_id_validation() {
        assert!(validate_channel("tasks:board-1.v2_x").is_ok());
        assert_eq!(validate_channel(""), Err(DocumentError::BadChannel));
        assert_eq!(validate_channel("a b"), Err(DocumentError::BadChannel));
        assert_eq!(
            validate_channel(&"x".repeat(129)),
            Err(DocumentError::BadChannel)
        );
        assert!(validate_doc_id("t1").is_ok());
        assert_eq!(validate_doc_id(""), Err(DocumentError::BadId));
        assert_eq!(validate_doc_id(&"x".repeat(257)), Err(DocumentError::BadId));
    }
}

//! JSON text between the engine and JavaScript.
//!
//! Values cross the boundary as text: Rust writes one JSON text per change batch (or per
//! object), and JavaScript's `JSON.parse` builds the objects in one native call, where a
//! field-by-field conversion would cost a boundary call per field. Inputs from JavaScript go
//! the other way through `JSON.stringify`.
//!
//! The document bodies (`Value`) are encoded and decoded in exactly two functions,
//! [`write_value`] and [`parse_value`]; everything else here is the shell's own writer.

use tether_protocol::Json as Value;
use wasm_bindgen::JsValue;

/// Appends `value` as JSON text (the one encoder of document bodies in the shell: the
/// protocol's writer, which copies numbers as written).
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(value.to_text().as_bytes());
}

/// Parses JSON text into a value (the one decoder of document bodies in the shell: the
/// protocol's parser).
pub fn parse_value(text: &str) -> Option<Value> {
    Value::parse(text).ok()
}

/// A JavaScript value as JSON (`undefined` reads as `null`); `None` for what JSON cannot hold
/// (functions, symbols, BigInt, cycles).
pub fn from_js(value: &JsValue) -> Option<Value> {
    if value.is_undefined() {
        return Some(Value::Null);
    }
    let text = js_sys::JSON::stringify(value).ok()?.as_string()?;
    parse_value(&text)
}

/// A value as a JavaScript value (objects, not `Map`s).
pub fn to_js(value: &Value) -> JsValue {
    let mut out = Writer::new();
    out.value(value);
    out.finish()
}

/// The decimal digits of `number`, written into the end of `digits` (no `core::fmt`).
pub fn decimal(number: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    let mut n = number;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

/// A JSON text writer that puts the commas in.
pub struct Writer {
    buf: Vec<u8>,
    comma: bool,
}

impl Default for Writer {
    fn default() -> Writer {
        Writer::new()
    }
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Writer {
        Writer {
            buf: Vec::new(),
            comma: false,
        }
    }

    fn sep(&mut self) {
        if self.comma {
            self.buf.push(b',');
        }
        self.comma = true;
    }

    /// Opens an object (as a value).
    pub fn begin_object(&mut self) -> &mut Writer {
        self.sep();
        self.buf.push(b'{');
        self.comma = false;
        self
    }

    /// Closes an object.
    pub fn end_object(&mut self) -> &mut Writer {
        self.buf.push(b'}');
        self.comma = true;
        self
    }

    /// Opens an array (as a value).
    pub fn begin_array(&mut self) -> &mut Writer {
        self.sep();
        self.buf.push(b'[');
        self.comma = false;
        self
    }

    /// Closes an array.
    pub fn end_array(&mut self) -> &mut Writer {
        self.buf.push(b']');
        self.comma = true;
        self
    }

    /// Writes an object key; the next call writes its value.
    pub fn key(&mut self, key: &str) -> &mut Writer {
        self.sep();
        self.escaped(key);
        self.buf.push(b':');
        self.comma = false;
        self
    }

    /// Writes a string.
    pub fn str(&mut self, text: &str) -> &mut Writer {
        self.sep();
        self.escaped(text);
        self
    }

    /// Writes a whole number.
    pub fn u64(&mut self, number: u64) -> &mut Writer {
        self.sep();
        let mut digits = [0u8; 20];
        self.buf.extend_from_slice(decimal(number, &mut digits));
        self
    }

    /// Writes `true` or `false`.
    pub fn bool(&mut self, value: bool) -> &mut Writer {
        self.sep();
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// Writes `null`.
    pub fn null(&mut self) -> &mut Writer {
        self.sep();
        self.buf.extend_from_slice(b"null");
        self
    }

    /// Writes a JSON value.
    pub fn value(&mut self, value: &Value) -> &mut Writer {
        self.sep();
        write_value(&mut self.buf, value);
        self
    }

    /// Writes a JSON value, or `null`.
    pub fn opt_value(&mut self, value: Option<&Value>) -> &mut Writer {
        match value {
            Some(value) => self.value(value),
            None => self.null(),
        }
    }

    /// Writes a list of strings.
    pub fn strs(&mut self, items: &[String]) -> &mut Writer {
        self.begin_array();
        for item in items {
            self.str(item);
        }
        self.end_array()
    }

    fn escaped(&mut self, text: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.buf.push(b'"');
        let bytes = text.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1f => b"",
                _ => continue,
            };
            self.buf.extend_from_slice(&bytes[start..i]);
            if escape.is_empty() {
                self.buf.extend_from_slice(b"\\u00");
                self.buf.push(HEX[usize::from(b >> 4)]);
                self.buf.push(HEX[usize::from(b & 0xf)]);
            } else {
                self.buf.extend_from_slice(escape);
            }
            start = i + 1;
        }
        self.buf.extend_from_slice(&bytes[start..]);
        self.buf.push(b'"');
    }

    /// Writes `key` and, as its value, an array of the values written into `items` (a writer
    /// used as a list: values only, no brackets).
    pub fn list(&mut self, key: &str, items: &Writer) -> &mut Writer {
        self.key(key);
        self.sep();
        self.buf.push(b'[');
        self.buf.extend_from_slice(&items.buf);
        self.buf.push(b']');
        self
    }

    /// Writes an object whose fields were written into `fields` (a writer of `key` and
    /// value pairs, no braces).
    pub fn object_of(&mut self, fields: &Writer) -> &mut Writer {
        self.sep();
        self.buf.push(b'{');
        self.buf.extend_from_slice(&fields.buf);
        self.buf.push(b'}');
        self.comma = true;
        self
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The text written so far.
    pub fn into_text(self) -> String {
        String::from_utf8(self.buf).unwrap_or_default()
    }

    /// The text written so far, as JavaScript objects (one `JSON.parse`).
    pub fn finish(self) -> JsValue {
        let text = String::from_utf8(self.buf).unwrap_or_default();
        js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL)
    }
}

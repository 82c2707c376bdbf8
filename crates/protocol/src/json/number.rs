//! [`Number`]: a JSON number kept as its validated source text.

use std::cmp::Ordering;

/// A JSON number, kept as the text it was written as (validated JSON number syntax, finite as
/// a double). Writing it gives that text back, so numbers pass through bit-exactly without any
/// float formatting. Negative zero (`-0`, `-0e0`, ...) is normalised to `-0.0` when parsed, so
/// a peer whose parser reads `-0` as the integer 0 still gets negative zero.
///
/// Equality and order are numeric and exact: the decimal values the texts write are compared
/// (`1 == 1.0 == 1e0`, `-0.0 == 0`), without parsing floats.
#[derive(Clone)]
pub struct Number {
    text: Text,
}

/// Longest number text kept inline (no allocation): fits beside the other variants of
/// [`super::Json`] without making it larger.
const INLINE: usize = 14;

/// A number's text: inline when short (most integers and many doubles), else on the heap
/// behind a thin pointer (so a number stays 16 bytes on 64-bit targets).
#[derive(Clone)]
enum Text {
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    #[allow(clippy::box_collection, clippy::redundant_allocation)]
    Heap(Box<Box<str>>),
}

impl Text {
    fn new(s: &str) -> Text {
        let b = s.as_bytes();
        if b.len() > INLINE {
            return Text::Heap(Box::new(s.into()));
        }
        let mut bytes = [0u8; INLINE];
        for (to, from) in bytes.iter_mut().zip(b) {
            *to = *from;
        }
        Text::Inline {
            len: b.len() as u8,
            bytes,
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Text::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or(""),
            Text::Heap(s) => s,
        }
    }
}

impl std::fmt::Debug for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Number")
            .field("text", &self.as_str())
            .finish()
    }
}

impl Number {
    /// The number as written.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// A number from JSON number text (e.g. JavaScript's `String(x)` of a finite double);
    /// `None` when the text is not a JSON number or lies beyond the double range.
    pub fn from_text(text: &str) -> Option<Number> {
        let end = scan_number(text.as_bytes(), 0).ok()?;
        if end != text.len() || super::decimal::overflows(text) {
            return None;
        }
        Some(Number::from_validated(text))
    }

    /// From text already checked to be a finite JSON number.
    pub(crate) fn from_validated(text: &str) -> Number {
        if text.starts_with('-') && is_zero(text) {
            return Number {
                text: Text::new("-0.0"),
            };
        }
        Number {
            text: Text::new(text),
        }
    }

    /// Whether it is written as an integer (no fraction, no exponent).
    pub fn is_integer(&self) -> bool {
        !self.as_str().contains(['.', 'e', 'E'])
    }

    /// The value as a `u64`, when it is written as an integer in `0..=u64::MAX`.
    pub fn as_u64(&self) -> Option<u64> {
        if !self.is_integer() || self.as_str().starts_with('-') {
            return None;
        }
        let mut n: u64 = 0;
        for b in self.as_str().bytes() {
            n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        }
        Some(n)
    }

    /// The value as an `i64`, when it is written as an integer in the `i64` range.
    pub fn as_i64(&self) -> Option<i64> {
        if !self.is_integer() {
            return None;
        }
        match self.as_str().strip_prefix('-') {
            None => self.as_u64().and_then(|n| i64::try_from(n).ok()),
            Some(digits) => {
                let mut n: i64 = 0;
                for b in digits.bytes() {
                    n = n.checked_mul(10)?.checked_sub(i64::from(b - b'0'))?;
                }
                Some(n)
            }
        }
    }

    /// Whether serde_json would hold it as a double: neither a `u64` nor an `i64` integer.
    pub fn is_f64(&self) -> bool {
        self.as_u64().is_none() && self.as_i64().is_none()
    }

    /// The nearest double (correctly rounded).
    pub fn as_f64(&self) -> f64 {
        // The text is a valid finite JSON number, which Rust's float syntax accepts.
        self.as_str().parse().unwrap_or(0.0)
    }

    /// Numeric order, exact: the decimal values of the two texts are compared (no float is
    /// parsed; `-0` equals `0`).
    pub fn cmp_numeric(&self, other: &Number) -> Ordering {
        super::decimal::cmp(self.as_str(), other.as_str())
    }
}

impl PartialEq for Number {
    /// Equal decimal values (`1 == 1.0 == 1e0`, `-0 == 0`), compared exactly.
    fn eq(&self, other: &Number) -> bool {
        self.as_str() == other.as_str() || self.cmp_numeric(other) == Ordering::Equal
    }
}

macro_rules! from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(n: $t) -> Number {
                Number { text: Text::new(&write_u64(n as u64, false)) }
            }
        }
    )*};
}
macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(n: $t) -> Number {
                Number { text: Text::new(&write_u64((n as i64).unsigned_abs(), n < 0)) }
            }
        }
    )*};
}
from_unsigned!(u8, u16, u32, u64, usize);
from_signed!(i8, i16, i32, i64, isize);

/// Appends the decimal digits of `n` (no formatting machinery, no bounds checks, no
/// allocation).
pub(crate) fn push_u64(n: u64, out: &mut String) {
    let mut div = 1u64;
    while n / div >= 10 {
        div *= 10;
    }
    loop {
        out.push(char::from(b'0' + (n / div % 10) as u8));
        if div == 1 {
            break;
        }
        div /= 10;
    }
}

/// Decimal digits of `n`, with a leading `-` when `negative`.
pub(crate) fn write_u64(n: u64, negative: bool) -> String {
    let mut out = String::with_capacity(21);
    if negative {
        out.push('-');
    }
    push_u64(n, &mut out);
    out
}

/// Scans a JSON number starting at `at`; the end offset, or the offset of the first bad byte.
pub(crate) fn scan_number(bytes: &[u8], start: usize) -> Result<usize, usize> {
    let mut at = start;
    let digit = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_digit);
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match bytes.get(at) {
        Some(b'0') => {
            at += 1;
            if digit(at) {
                return Err(at);
            }
        }
        Some(b'1'..=b'9') => {
            while digit(at) {
                at += 1;
            }
        }
        _ => return Err(at),
    }
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        if !digit(at) {
            return Err(at);
        }
        while digit(at) {
            at += 1;
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if !digit(at) {
            return Err(at);
        }
        while digit(at) {
            at += 1;
        }
    }
    Ok(at)
}

/// Whether every digit of the significand is zero.
fn is_zero(text: &str) -> bool {
    text.bytes()
        .take_while(|b| !matches!(b, b'e' | b'E'))
        .all(|b| matches!(b, b'-' | b'0' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts up to [`INLINE`] bytes are kept inline, longer ones on the heap: both read back
    /// as written and compare alike, and the inline form makes no JSON value larger.
    #[test]
    fn short_and_long_texts_read_back_alike() {
        for t in [
            "0",
            "-1",
            "12345678901234",
            "123456789012345",
            "1.5e300",
            "121.44729141098199",
        ] {
            let n = Number::from_text(t).unwrap();
            assert_eq!(n.as_str(), t);
            assert_eq!(n.clone(), n);
            let inline = matches!(n.text, Text::Inline { .. });
            assert_eq!(inline, t.len() <= INLINE, "{t}");
        }
        assert_eq!(
            Number::from_text("1.0"),
            Number::from_text("1.00000000000000000")
        );
        assert_eq!(
            format!("{:?}", Number::from(7u8)),
            r#"Number { text: "7" }"#
        );
        assert!(std::mem::size_of::<Number>() <= 16);
    }

    #[test]
    fn integers_read_and_compare_exactly() {
        let n = |t: &str| Number::from_text(t).unwrap();
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(n("18446744073709551616").as_u64(), None);
        assert_eq!(n("-9223372036854775808").as_i64(), Some(i64::MIN));
        assert_eq!(n("-9223372036854775809").as_i64(), None);
        assert!(n("-9223372036854775809").is_f64());
        assert_eq!(n("1"), n("1.0"));
        assert_eq!(n("100"), n("1e2"));
        assert_ne!(n("9007199254740993"), n("9007199254740992"));
        assert_eq!(n("-0").as_str(), "-0.0");
        assert_eq!(n("-0e7").as_str(), "-0.0");
        assert_eq!(n("0e7").as_str(), "0e7");
        assert_eq!(Number::from(-42i32).as_str(), "-42");
        assert_eq!(Number::from(u64::MAX).as_str(), "18446744073709551615");
        assert_eq!(Number::from(i64::MIN).as_str(), "-9223372036854775808");
        assert_eq!(Number::from(0u8).as_str(), "0");
    }

    #[test]
    fn the_double_range_is_exact() {
        assert!(Number::from_text("1.7976931348623157e308").is_some());
        assert!(Number::from_text("1.7976931348623159e308").is_none());
        assert!(Number::from_text("1e309").is_none());
        assert!(Number::from_text("0.001e311").is_some());
        assert!(Number::from_text("0e99999999999999999999999").is_some());
        assert!(Number::from_text("1e-99999999999999999999999").is_some());
        assert!(Number::from_text("-1e400").is_none());
        assert!(Number::from_text(&"9".repeat(309)).is_none());
        assert!(Number::from_text(&"9".repeat(308)).is_some());
        for bad in [
            "", "-", "01", "1.", ".5", "+1", "1e", "1e+", "0x1", " 1", "1 ",
        ] {
            assert!(Number::from_text(bad).is_none(), "{bad}");
        }
    }
}

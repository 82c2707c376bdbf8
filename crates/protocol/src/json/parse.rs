//! The JSON parser: recursive descent over bytes, never panics, nesting limited.

use super::decimal::overflows;
use super::number::scan_number;
use super::{Json, Number, Object};

/// Deepest nesting of arrays and objects accepted (serde_json's limit: its 128-level recursion
/// budget admits 127 nested containers).
pub const MAX_DEPTH: usize = 127;

/// What is wrong with a JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text ends inside a value (or is empty).
    UnexpectedEnd,
    /// A byte that cannot start or continue a value here (includes trailing commas).
    UnexpectedCharacter,
    /// A malformed number (leading zero, missing digits, ...).
    InvalidNumber,
    /// A number beyond the double range (reads as infinity).
    NumberOutOfRange,
    /// An unknown escape or a malformed `\u` escape.
    InvalidEscape,
    /// A `\u` escape of a lone UTF-16 surrogate.
    LoneSurrogate,
    /// A raw control character (below U+0020) inside a string.
    ControlCharacter,
    /// An object key that is not a string.
    KeyMustBeString,
    /// Non-whitespace after the value.
    TrailingCharacters,
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl ParseErrorKind {
    /// A short static description.
    pub fn description(self) -> &'static str {
        match self {
            ParseErrorKind::UnexpectedEnd => "unexpected end of JSON",
            ParseErrorKind::UnexpectedCharacter => "unexpected character",
            ParseErrorKind::InvalidNumber => "invalid number",
            ParseErrorKind::NumberOutOfRange => "number out of range",
            ParseErrorKind::InvalidEscape => "invalid escape",
            ParseErrorKind::LoneSurrogate => "lone surrogate in escape",
            ParseErrorKind::ControlCharacter => "control character in string",
            ParseErrorKind::KeyMustBeString => "key must be a string",
            ParseErrorKind::TrailingCharacters => "trailing characters",
            ParseErrorKind::TooDeep => "nesting too deep",
        }
    }
}

/// Why a text is not JSON, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// Byte offset of the error.
    pub offset: usize,
    /// 1-based line of the error.
    pub line: usize,
    /// 1-based column (in bytes) of the error.
    pub column: usize,
}

impl ParseError {
    fn at(text: &str, offset: usize, kind: ParseErrorKind) -> ParseError {
        let offset = offset.min(text.len());
        let before = text.as_bytes().get(..offset).unwrap_or(&[]);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        ParseError {
            kind,
            offset,
            line,
            column: offset - line_start + 1,
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.kind.description(),
            self.line,
            self.column
        )
    }
}

impl std::error::Error for ParseError {}

type Fail = (usize, ParseErrorKind);

/// The bytes that end a string without escapes: `"`, `\\` and the control characters (one
/// load per byte in the scan of [`Parser::plain_string`]).
static STOPS_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// A short byte string (a quoted key and its colon, 5 to 16 bytes) as words, so that whether
/// a text starts with it takes one or two word comparisons.
pub(crate) struct KeyBytes {
    /// The first eight bytes (little-endian), zero past the end.
    head: u64,
    /// Ones over the bytes of `head` that belong to the string.
    mask: u64,
    /// The eight bytes ending at the end (when longer than eight bytes).
    tail: u64,
    /// Its length.
    len: usize,
}

impl KeyBytes {
    /// `bytes`, which must be 1 to 16 bytes long (checked when the constant is built).
    pub(crate) const fn new(bytes: &[u8]) -> KeyBytes {
        assert!(!bytes.is_empty() && bytes.len() <= 16);
        let (mut head, mut mask, mut tail) = (0u64, 0u64, 0u64);
        let mut i = 0;
        while i < bytes.len() && i < 8 {
            head |= (bytes[i] as u64) << (8 * i);
            mask |= 0xff << (8 * i);
            i += 1;
        }
        if bytes.len() > 8 {
            let start = bytes.len() - 8;
            let mut j = 0;
            while j < 8 {
                tail |= (bytes[start + j] as u64) << (8 * j);
                j += 1;
            }
        }
        KeyBytes {
            head,
            mask,
            tail,
            len: bytes.len(),
        }
    }

    /// Whether `text` starts with these bytes.
    #[inline(always)]
    pub(crate) fn starts(&self, text: &[u8]) -> bool {
        let Some(word) = text.first_chunk::<8>() else {
            return false; // a key and colon, then at least a value and a `}`: never this short
        };
        if u64::from_le_bytes(*word) & self.mask != self.head {
            return false;
        }
        if self.len <= 8 {
            return true;
        }
        match text
            .get(self.len - 8..self.len)
            .and_then(<[u8]>::first_chunk::<8>)
        {
            Some(word) => u64::from_le_bytes(*word) == self.tail,
            None => false,
        }
    }
}

pub(crate) struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

pub(crate) fn parse(text: &str) -> Result<Json, ParseError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    let result = p.value().and_then(|v| {
        p.skip_ws();
        if p.at < p.bytes.len() {
            Err((p.at, ParseErrorKind::TrailingCharacters))
        } else {
            Ok(v)
        }
    });
    result.map_err(|(offset, kind)| ParseError::at(text, offset, kind))
}

impl<'a> Parser<'a> {
    /// A parser at the start of `text`, at nesting depth 0.
    pub(crate) fn new(text: &'a str) -> Parser<'a> {
        Parser {
            text,
            bytes: text.as_bytes(),
            at: 0,
            depth: 0,
        }
    }

    /// Skips whitespace, then consumes `byte` if it is next; whether it was.
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.at >= self.bytes.len()
    }

    /// Enters an object or array whose opening byte was consumed (for a caller reading the
    /// members itself): nested values then count their depth from here.
    pub(crate) fn nest(&mut self) {
        self.depth += 1;
    }

    /// Leaves what [`Parser::nest`] entered.
    pub(crate) fn unnest(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Skips whitespace, then consumes a `null` if it is next; whether it was.
    pub(crate) fn eat_null(&mut self) -> bool {
        self.skip_ws();
        if self.bytes.get(self.at..self.at + 4) == Some(b"null") {
            self.at += 4;
            true
        } else {
            false
        }
    }

    /// Skips whitespace, then consumes `bytes` if the text continues with exactly them;
    /// whether it did.
    #[inline]
    pub(crate) fn eat_bytes(&mut self, bytes: &[u8]) -> bool {
        self.skip_ws();
        let Some(rest) = self.bytes.get(self.at..self.at + bytes.len()) else {
            return false;
        };
        // A byte loop: these are a few bytes, too few for a call to `memcmp`.
        if rest.iter().zip(bytes).any(|(a, b)| a != b) {
            return false;
        }
        self.at += bytes.len();
        true
    }

    /// Skips whitespace, then consumes an object key and its colon written exactly as
    /// `keys[*next]` or `keys[*next + 1]` (quoted, no escapes, no space before the colon: the
    /// same key [`Parser::plain_string`] and `eat(b':')` would read); its slot, and `*next`
    /// moves past it. `None` (nothing consumed but whitespace) for any other key.
    #[inline]
    pub(crate) fn eat_expected_key(
        &mut self,
        keys: &[(KeyBytes, usize)],
        next: &mut usize,
    ) -> Option<usize> {
        self.skip_ws();
        let rest = self.bytes.get(self.at..)?;
        for i in [*next, *next + 1] {
            let (key, slot) = keys.get(i)?;
            if key.starts(rest) {
                self.at += key.len;
                *next = i + 1;
                return Some(*slot);
            }
        }
        None
    }

    /// A string without escapes, borrowed; `None` (position unspecified) for anything else.
    pub(crate) fn plain_string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let rest = self.bytes.get(start..)?;
        let len = rest.iter().position(|&b| STOPS_PLAIN[usize::from(b)])?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    /// A non-negative integer written as plain digits that fits a `u64`; `None` otherwise
    /// (also for a number with a sign, a fraction, an exponent or a leading zero). Read in one
    /// pass over its digits.
    pub(crate) fn plain_u64(&mut self) -> Option<u64> {
        self.skip_ws();
        let mut at = self.at;
        let mut n: u64 = 0;
        match self.bytes.get(at) {
            Some(b'0') => {
                at += 1;
                if self.bytes.get(at).is_some_and(u8::is_ascii_digit) {
                    return None; // a leading zero
                }
            }
            Some(b'1'..=b'9') => {
                while let Some(&b) = self.bytes.get(at).filter(|b| b.is_ascii_digit()) {
                    n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                    at += 1;
                }
            }
            _ => return None,
        }
        if matches!(self.bytes.get(at), Some(b'.' | b'e' | b'E')) {
            return None; // not written as an integer
        }
        self.at = at;
        Some(n)
    }

    /// One value, as [`Json::parse`] reads it at this depth; `None` when it is not JSON.
    pub(crate) fn json(&mut self) -> Option<Json> {
        self.value().ok()
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn end_or(&self, kind: ParseErrorKind) -> Fail {
        if self.at >= self.bytes.len() {
            (self.at, ParseErrorKind::UnexpectedEnd)
        } else {
            (self.at, kind)
        }
    }

    fn value(&mut self) -> Result<Json, Fail> {
        self.skip_ws();
        match self.peek() {
            None => Err((self.at, ParseErrorKind::UnexpectedEnd)),
            Some(b'n') => self.literal(b"null", Json::Null),
            Some(b't') => self.literal(b"true", Json::Bool(true)),
            Some(b'f') => self.literal(b"false", Json::Bool(false)),
            Some(b'"') => {
                self.at += 1;
                self.string().map(Json::String)
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => self.array(),
            Some(b'{') => self.object(),
            Some(_) => Err((self.at, ParseErrorKind::UnexpectedCharacter)),
        }
    }

    fn literal(&mut self, word: &[u8], value: Json) -> Result<Json, Fail> {
        for &expected in word {
            match self.peek() {
                Some(b) if b == expected => self.at += 1,
                _ => return Err(self.end_or(ParseErrorKind::UnexpectedCharacter)),
            }
        }
        Ok(value)
    }

    fn number(&mut self) -> Result<Json, Fail> {
        let start = self.at;
        let end = scan_number(self.bytes, start).map_err(|at| {
            if at >= self.bytes.len() {
                (at, ParseErrorKind::UnexpectedEnd)
            } else {
                (at, ParseErrorKind::InvalidNumber)
            }
        })?;
        let text = self.text.get(start..end).unwrap_or("");
        if overflows(text) {
            return Err((start, ParseErrorKind::NumberOutOfRange));
        }
        self.at = end;
        Ok(Json::Number(Number::from_validated(text)))
    }

    fn enter(&mut self) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err((self.at, ParseErrorKind::TooDeep));
        }
        self.at += 1;
        Ok(())
    }

    fn array(&mut self) -> Result<Json, Fail> {
        self.enter()?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            self.depth -= 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    self.depth -= 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.end_or(ParseErrorKind::UnexpectedCharacter)),
            }
        }
    }

    fn object(&mut self) -> Result<Json, Fail> {
        self.enter()?;
        // The capacity the first push would give: the growth path is not taken for it.
        let mut entries = Vec::with_capacity(4);
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.at += 1;
            self.depth -= 1;
            return Ok(Json::Object(Object::new()));
        }
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'"') => self.at += 1,
                _ => return Err(self.end_or(ParseErrorKind::KeyMustBeString)),
            }
            let key = self.string()?;
            self.skip_ws();
            match self.peek() {
                Some(b':') => self.at += 1,
                _ => return Err(self.end_or(ParseErrorKind::UnexpectedCharacter)),
            }
            let value = self.value()?;
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    self.depth -= 1;
                    return Ok(Json::Object(Object::from_entries(entries)));
                }
                _ => return Err(self.end_or(ParseErrorKind::UnexpectedCharacter)),
            }
        }
    }

    /// A string's contents; `self.at` is just past the opening quote.
    fn string(&mut self) -> Result<String, Fail> {
        // The usual string, without escapes: copied at once.
        let start = self.at;
        if let Some(rest) = self.bytes.get(start..) {
            if let Some(len) = rest.iter().position(|&b| STOPS_PLAIN[usize::from(b)]) {
                if rest.get(len) == Some(&b'"') {
                    if let Some(plain) = self.text.get(start..start + len) {
                        self.at = start + len + 1;
                        return Ok(plain.to_owned());
                    }
                }
            }
        }
        let mut out = String::new();
        let mut run = self.at;
        loop {
            let Some(b) = self.peek() else {
                return Err((self.at, ParseErrorKind::UnexpectedEnd));
            };
            match b {
                b'"' => {
                    out.push_str(self.text.get(run..self.at).unwrap_or(""));
                    self.at += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(self.text.get(run..self.at).unwrap_or(""));
                    self.at += 1;
                    self.escape(&mut out)?;
                    run = self.at;
                }
                0x00..=0x1f => return Err((self.at, ParseErrorKind::ControlCharacter)),
                _ => self.at += 1,
            }
        }
    }

    /// One escape; `self.at` is just past the backslash.
    fn escape(&mut self, out: &mut String) -> Result<(), Fail> {
        let Some(b) = self.peek() else {
            return Err((self.at, ParseErrorKind::UnexpectedEnd));
        };
        self.at += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode(out),
            _ => return Err((self.at - 1, ParseErrorKind::InvalidEscape)),
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, Fail> {
        let mut n = 0;
        for _ in 0..4 {
            let Some(b) = self.peek() else {
                return Err((self.at, ParseErrorKind::UnexpectedEnd));
            };
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err((self.at, ParseErrorKind::InvalidEscape)),
            };
            n = n * 16 + u32::from(digit);
            self.at += 1;
        }
        Ok(n)
    }

    /// A `\u` escape (and its low surrogate); `self.at` is just past the `u`.
    fn unicode(&mut self, out: &mut String) -> Result<(), Fail> {
        let start = self.at;
        let first = self.hex4()?;
        let code = match first {
            0xDC00..=0xDFFF => return Err((start, ParseErrorKind::LoneSurrogate)),
            0xD800..=0xDBFF => {
                if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                    return Err(self.end_or(ParseErrorKind::LoneSurrogate));
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err((self.at, ParseErrorKind::LoneSurrogate));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            other => other,
        };
        match char::from_u32(code) {
            Some(c) => {
                out.push(c);
                Ok(())
            }
            None => Err((start, ParseErrorKind::LoneSurrogate)),
        }
    }
}

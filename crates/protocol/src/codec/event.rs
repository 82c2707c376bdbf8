//! The fast path of the most frequent server message: an `event` read straight from its text
//! ([`decode_event`]), without building the envelope as a JSON tree.

use crate::json::{Json, KeyBytes, Parser};
use crate::messages::{EventKind, EventOp};

/// An `event` message read from its text: the envelope's strings borrowed from the frame, the
/// document body parsed. Exactly what [`super::decode_server`] would return as
/// `ServerMessage::Event` for the same text (the differential test `event_fast_path` holds the
/// two to that).
#[derive(Debug, Clone, PartialEq)]
pub struct EventRef<'a> {
    /// Channel name.
    pub channel: &'a str,
    /// Channel epoch.
    pub epoch: &'a str,
    /// Offset of this event.
    pub offset: u64,
    /// Offset of the channel's previous event.
    pub prev: u64,
    /// What the event does.
    pub op: EventOp,
    /// What happened, as the view sees it (`None`: absent or `null`).
    pub kind: Option<EventKind>,
    /// Document id.
    pub id: &'a str,
    /// Document version.
    pub version: u64,
    /// Document body (`None`: absent or `null`).
    pub doc: Option<Json>,
    /// The mutation that caused the event: its client id and mutation id.
    pub origin: Option<(&'a str, u64)>,
}

/// The event's fields as the codec writes them, in its order: each key with its quotes and
/// colon, and the slot `decode_event` reads it into.
const WRITE_ORDER: [(KeyBytes, usize); 11] = [
    (KeyBytes::new(b"\"type\":"), 0),
    (KeyBytes::new(b"\"channel\":"), 1),
    (KeyBytes::new(b"\"epoch\":"), 2),
    (KeyBytes::new(b"\"offset\":"), 3),
    (KeyBytes::new(b"\"prev\":"), 4),
    (KeyBytes::new(b"\"op\":"), 5),
    (KeyBytes::new(b"\"kind\":"), 10),
    (KeyBytes::new(b"\"id\":"), 6),
    (KeyBytes::new(b"\"version\":"), 7),
    (KeyBytes::new(b"\"doc\":"), 8),
    (KeyBytes::new(b"\"origin\":"), 9),
];

/// Reads `bytes` as an `event` message in its common form: every field the message has
/// appears once, its strings have no escapes and its integers are plain digits. Returns `None`
/// for anything else (another message type, another form, or not a message at all); the caller
/// then decodes with [`super::decode_server`], which gives the answer for those. Never panics.
pub fn decode_event(bytes: &[u8]) -> Option<EventRef<'_>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut p = Parser::new(text);
    if !p.eat(b'{') {
        return None;
    }
    p.nest();
    let mut seen = [false; 11];
    let mut tag = None;
    let (mut channel, mut epoch, mut id) = (None, None, None);
    let (mut offset, mut prev, mut version) = (None, None, None);
    let mut op = None;
    let mut kind = None;
    let mut doc = None;
    let mut origin = None;
    if p.eat(b'}') {
        return None;
    }
    // The fields in the order the codec writes them: each key is first tried as the next
    // (or, past an absent optional field, the one after) of that order, by its bytes.
    let mut next = 0;
    loop {
        let slot = match p.eat_expected_key(&WRITE_ORDER, &mut next) {
            Some(slot) => slot,
            None => {
                let key = p.plain_string()?;
                if !p.eat(b':') {
                    return None;
                }
                match key {
                    "type" => 0,
                    "channel" => 1,
                    "epoch" => 2,
                    "offset" => 3,
                    "prev" => 4,
                    "op" => 5,
                    "id" => 6,
                    "version" => 7,
                    "doc" => 8,
                    "origin" => 9,
                    "kind" => 10,
                    _ => {
                        // An unknown field: ignored, but it must be JSON.
                        p.json()?;
                        usize::MAX
                    }
                }
            }
        };
        if let Some(seen) = seen.get_mut(slot) {
            if std::mem::replace(seen, true) {
                return None; // a repeated field
            }
        }
        match slot {
            0 => {
                tag = Some(if p.eat_bytes(b"\"event\"") {
                    "event"
                } else {
                    p.plain_string()?
                })
            }
            1 => channel = Some(p.plain_string()?),
            2 => epoch = Some(p.plain_string()?),
            3 => offset = Some(p.plain_u64()?),
            4 => prev = Some(p.plain_u64()?),
            5 => {
                op = Some(if p.eat_bytes(b"\"upsert\"") {
                    EventOp::Upsert
                } else {
                    match p.plain_string()? {
                        "upsert" => EventOp::Upsert,
                        "remove" => EventOp::Remove,
                        _ => return None,
                    }
                })
            }
            6 => id = Some(p.plain_string()?),
            7 => version = Some(p.plain_u64()?),
            8 => doc = Some(p.json()?),
            9 => origin = read_origin(&mut p)?,
            10 => {
                kind = if p.eat_null() {
                    None
                } else {
                    Some(EventKind::parse(p.plain_string()?))
                }
            }
            _ => {}
        }
        if p.eat(b',') {
            continue;
        }
        if p.eat(b'}') {
            break;
        }
        return None;
    }
    if !p.at_end() || tag? != "event" {
        return None;
    }
    Some(EventRef {
        channel: channel?,
        epoch: epoch?,
        offset: offset?,
        prev: prev?,
        op: op?,
        kind,
        id: id?,
        version: version?,
        doc: doc.filter(|d| !d.is_null()),
        origin,
    })
}

/// The `origin` field's value: `Some(None)` for `null`, `None` when it is not an object of
/// exactly a plain `client_id` string and a plain `mutation_id` integer.
#[allow(clippy::option_option)]
fn read_origin<'a>(p: &mut Parser<'a>) -> Option<Option<(&'a str, u64)>> {
    if p.eat_null() {
        return Some(None);
    }
    if !p.eat(b'{') {
        return None;
    }
    p.nest();
    let (mut client_id, mut mutation_id) = (None, None);
    if !p.eat(b'}') {
        loop {
            let key = p.plain_string()?;
            if !p.eat(b':') {
                return None;
            }
            match key {
                "client_id" if client_id.is_none() => client_id = Some(p.plain_string()?),
                "mutation_id" if mutation_id.is_none() => mutation_id = Some(p.plain_u64()?),
                // Repeated or other fields: rare, left to the full decoder.
                _ => return None,
            }
            if p.eat(b',') {
                continue;
            }
            if p.eat(b'}') {
                break;
            }
            return None;
        }
    }
    p.unnest();
    Some(Some((client_id?, mutation_id?)))
}

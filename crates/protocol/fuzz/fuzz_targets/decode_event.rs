//! `decode_event` on arbitrary bytes: never a panic, and whenever it reads an event,
//! `decode_server` reads the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_protocol::{codec, Origin, ServerMessage};

fuzz_target!(|data: &[u8]| {
    if let Some(ev) = codec::decode_event(data) {
        let msg = ServerMessage::Event {
            channel: ev.channel.to_owned(),
            epoch: ev.epoch.to_owned(),
            offset: ev.offset,
            prev: ev.prev,
            op: ev.op,
            kind: ev.kind,
            id: ev.id.to_owned(),
            version: ev.version,
            doc: ev.doc.clone(),
            origin: ev.origin.map(|(client_id, mutation_id)| Origin {
                client_id: client_id.to_owned(),
                mutation_id,
            }),
        };
        assert_eq!(codec::decode_server(data), Ok(msg));
    }
});

//! `decode_server` on arbitrary bytes: a message or a typed error, never a panic; a decoded
//! message encodes to a frame that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_protocol::codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = codec::decode_server(data) {
        let frame = codec::encode_server(&msg);
        assert_eq!(codec::decode_server(frame.as_bytes()), Ok(msg));
    }
});

//! `Json::parse` on arbitrary UTF-8: a value or a typed error, never a panic; a parsed value
//! writes to text that parses to the same value and writes the same text again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_protocol::Json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(value) = Json::parse(text) {
        let written = value.to_text();
        let again = Json::parse(&written).expect("written text parses");
        assert_eq!(again, value);
        assert_eq!(again.to_text(), written);
    }
});

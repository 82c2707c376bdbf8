//! A background tab's timers are throttled: becoming visible retries a waiting reconnect at
//! once and probes an open connection with a ping.

use crate::common::{sent_of, Driver};
use tether_core::{Config, ConnectionState, Output};
use tether_protocol::ClientMessage;

#[test]
fn becoming_visible_retries_a_pending_reconnect_at_once() {
    let mut d = Driver::new(Config::default());
    d.engine.connect(0);
    d.drain();
    d.engine.set_visible(0, false);
    for _ in 0..6 {
        d.engine.socket_closed(d.now, 1006);
        d.drain();
        let at = d.engine.status().next_retry_at.unwrap();
        d.advance(at);
    }
    d.engine.socket_closed(d.now, 1006);
    d.drain();
    assert_eq!(d.engine.state(), ConnectionState::Backoff);
    d.engine.set_visible(d.now + 1, true);
    assert!(d.drain().contains(&Output::OpenSocket));
}

#[test]
fn becoming_visible_probes_an_open_connection() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    d.engine.set_visible(d.now, false);
    assert!(d.sent().is_empty());
    d.engine.set_visible(d.now + 5, true);
    let sent = sent_of(&d.drain());
    assert!(matches!(sent[..], [ClientMessage::Ping { .. }]), "{sent:?}");
    // Visible again without having been hidden: nothing to do.
    d.engine.set_visible(d.now + 6, true);
    assert!(d.sent().is_empty());
}

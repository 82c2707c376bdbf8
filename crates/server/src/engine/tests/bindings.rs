//! With auth on, a client id is bound to the subject that first used it: another subject's
//! `hello` is refused (CLIENT_ID_TAKEN, 4003), its adopting `mutate` is rejected `forbidden`
//! without reading or writing the owner's dedupe stream; adoption works within one subject;
//! the binding survives a restart; dev mode binds nothing.

use serde_json::{json, Value};
use tether_protocol::{CloseCode, ErrorCode, RejectReason, ServerMessage};

use super::{error_code, Got, H};
use crate::engine::{mint_hs256, AuthConfig, Claims, ServerConfig, ServerEngine};
use crate::store::{MemoryStore, Store};

const SECRET: &[u8] = b"s3cret";

fn config() -> ServerConfig {
    ServerConfig {
        auth: AuthConfig::hs256(SECRET),
        ..ServerConfig::default()
    }
}

fn token(sub: &str) -> String {
    mint_hs256(SECRET, &Claims::new(sub).write(&["*"])).unwrap()
}

/// A hello as `client` with `sub`'s token: what came back.
fn hello(h: &mut H, client: &str, sub: &str) -> (crate::engine::ConnId, Vec<Got>) {
    let c = h.raw();
    h.send(
        c,
        json!({"type": "hello", "protocol": 1, "client_id": client, "token": token(sub)}),
    );
    (c, h.drain())
}

fn welcomed(h: &mut H, client: &str, sub: &str) -> crate::engine::ConnId {
    let (c, got) = hello(h, client, sub);
    assert!(
        matches!(got.as_slice(), [Got::Msg(_, ServerMessage::Welcome { .. })]),
        "{got:?}"
    );
    c
}

fn put(mid: u64, id: &str) -> Value {
    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put", "id": id,
           "doc": {"n": mid}})
}

fn refused(got: &[Got]) {
    assert!(
        matches!(&got[0], Got::Msg(_, m) if error_code(m) == Some(ErrorCode::ClientIdTaken)),
        "{got:?}"
    );
    assert!(
        matches!(got[1], Got::Close(_, CloseCode::ClientIdTaken)),
        "{got:?}"
    );
    assert_eq!(got.len(), 2);
}

#[test]
fn another_subject_cannot_say_hello_as_a_bound_client_id() {
    let mut h = H::with(config());
    let alice = welcomed(&mut h, "c-alice", "alice");
    let (bob, got) = hello(&mut h, "c-alice", "bob");
    refused(&got);
    assert!(!h.e.is_connected(bob));
    assert!(h.e.is_connected(alice));
    // The owner may connect again (a second tab, a reconnect).
    welcomed(&mut h, "c-alice", "alice");
    assert_eq!(
        h.e.store_mut()
            .client_subject("c-alice")
            .unwrap()
            .as_deref(),
        Some("alice")
    );
}

#[test]
fn another_subjects_mutate_under_an_adopted_id_is_forbidden_and_leaves_the_stream_alone() {
    let mut h = H::with(config());
    let alice = welcomed(&mut h, "c-alice", "alice");
    let first = h.call(alice, put(1, "a1"));
    assert!(matches!(first[0], ServerMessage::Ack { .. }), "{first:?}");
    let bob = welcomed(&mut h, "c-bob", "bob");
    // Bob resends alice's mutation 1 under her id: not her ack, a forbidden reject.
    let mut stolen = put(1, "a1");
    stolen["client_id"] = json!("c-alice");
    let got = h.call(bob, stolen);
    assert!(
        matches!(
            got[0],
            ServerMessage::Reject {
                mutation_id: 1,
                reason: RejectReason::Forbidden,
                ..
            }
        ),
        "{got:?}"
    );
    // His mutation 2 under her id is not applied and not recorded.
    let mut stolen = put(2, "b2");
    stolen["client_id"] = json!("c-alice");
    let got = h.call(bob, stolen);
    assert!(
        matches!(
            got[0],
            ServerMessage::Reject {
                mutation_id: 2,
                reason: RejectReason::Forbidden,
                ..
            }
        ),
        "{got:?}"
    );
    assert!(h.e.store_mut().document("tasks", "b2").unwrap().is_none());
    // Alice's own mutation 2 is applied.
    let got = h.call(alice, put(2, "a2"));
    assert!(
        matches!(got[0], ServerMessage::Ack { mutation_id: 2, .. }),
        "{got:?}"
    );
    assert!(h.e.store_mut().document("tasks", "a2").unwrap().is_some());
}

#[test]
fn adoption_works_between_ids_of_one_subject_and_binds_a_new_id() {
    let mut h = H::with(config());
    let tab_a = welcomed(&mut h, "tab-a", "alice");
    // tab-b never connected (its outbox was written offline): adopting it binds it to alice.
    let mut m = put(1, "t1");
    m["client_id"] = json!("tab-b");
    let first = h.call(tab_a, m.clone());
    assert!(matches!(first[0], ServerMessage::Ack { .. }), "{first:?}");
    assert_eq!(
        h.e.store_mut().client_subject("tab-b").unwrap().as_deref(),
        Some("alice")
    );
    let tab_b = welcomed(&mut h, "tab-b", "alice");
    m.as_object_mut().unwrap().remove("client_id");
    assert_eq!(h.call(tab_b, m), first);
    // Bob can neither connect as tab-b nor adopt it.
    refused(&hello(&mut h, "tab-b", "bob").1);
}

#[test]
fn the_binding_survives_a_restart() {
    let mut h = H::with(config());
    welcomed(&mut h, "c-alice", "alice");
    let store: MemoryStore = h.e.into_store();
    let mut e = ServerEngine::new(config(), store);
    e.set_unix_time_ms(1_700_000_000_000);
    let mut h = H { e, now: 0 };
    refused(&hello(&mut h, "c-alice", "bob").1);
    welcomed(&mut h, "c-alice", "alice");
}

#[test]
fn dev_mode_binds_nothing() {
    let mut h = H::new();
    let a = h.conn("c-shared");
    h.call(a, put(1, "t1"));
    let _b = h.conn("c-shared");
    assert_eq!(h.e.store_mut().client_subject("c-shared").unwrap(), None);
}

#[test]
fn a_client_id_over_128_bytes_is_refused() {
    let mut h = H::new();
    let c = h.raw();
    let long = "x".repeat(129);
    h.send(
        c,
        json!({"type": "hello", "protocol": 1, "client_id": long}),
    );
    let got = h.drain();
    assert!(
        matches!(&got[..], [Got::Msg(_, ServerMessage::Error { code: ErrorCode::BadMessage, message, .. })] if message.contains("1-128")),
        "{got:?}"
    );
    let ok = h.conn(&"x".repeat(128));
    let mut m = put(1, "t1");
    m["client_id"] = json!(long);
    let got = h.call(ok, m);
    assert!(
        matches!(
            got[0],
            ServerMessage::Reject {
                reason: RejectReason::Invalid,
                ..
            }
        ),
        "{got:?}"
    );
}

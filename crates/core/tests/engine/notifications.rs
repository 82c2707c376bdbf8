//! A server `notification` reaches the app as `Output::Notification`, in order, once each.

use crate::common::Driver;
use tether_core::{Config, Output};
use tether_protocol::{json, ServerMessage};

#[test]
fn notifications_are_passed_to_the_app_in_order() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    d.drain();
    for n in 1..=2 {
        d.server(ServerMessage::Notification {
            payload: json!({"n": n}),
            from: "api:jobs".into(),
        });
    }
    let got: Vec<Output> = d
        .drain()
        .into_iter()
        .filter(|o| matches!(o, Output::Notification { .. }))
        .collect();
    assert_eq!(
        got,
        vec![
            Output::Notification {
                from: "api:jobs".into(),
                payload: json!({"n": 1})
            },
            Output::Notification {
                from: "api:jobs".into(),
                payload: json!({"n": 2})
            }
        ]
    );
}

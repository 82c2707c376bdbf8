//! By-id views through the WASM shell (`subscribe(channel, {ids})`): the view holds only its
//! ids against the real server — another client's writes of them arrive with their kinds,
//! writes of other ids do not show, this client's optimistic write to an id of the view shows
//! at once and one to another id does not — and invalid ids are refused as `INVALID_ARGUMENT`.
use crate::support::{client, error_json, unique, wait_for, Recorded};
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn js(value: Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).expect("json")
}

/// `(kind, id)` of every event reported for view `sub` so far.
fn events(c: &Recorded, sub: f64) -> Vec<(String, String)> {
    c.events(sub)
        .into_iter()
        .map(|(kind, id, _)| (kind, id))
        .collect()
}

#[wasm_bindgen_test]
async fn a_by_id_view_holds_only_its_ids() {
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    let b = client(json!({ "dbName": unique("db") })).await;
    let detail = a
        .client
        .subscribe(&channel, js(json!({"ids": ["t1", "t2"]})))
        .expect("a by-id view");
    b.subscribe(&channel);
    a.client.connect();
    b.client.connect();
    wait_for("both connected", 5000, || a.ready() && b.ready()).await;
    wait_for("a's view loaded", 5000, || !a.batches.borrow().is_empty()).await;

    // Another client's writes: t1 is in the view, t9 is not.
    let put = |id: &str, n: u32| json!({"op": "put", "id": id, "doc": {"n": n}});
    b.mutate(&channel, put("t9", 1)).await.expect("b's t9");
    b.mutate(&channel, put("t1", 1)).await.expect("b's t1");
    b.mutate(
        &channel,
        json!({"op": "patch", "id": "t1", "doc": {"n": 2}}),
    )
    .await
    .expect("b's patch");
    wait_for("a's events", 5000, || events(&a, detail).len() >= 2).await;
    assert_eq!(
        events(&a, detail),
        vec![
            ("created".to_owned(), "t1".to_owned()),
            ("updated".to_owned(), "t1".to_owned())
        ]
    );
    assert_eq!(
        a.row(detail, "t1").map(|r| r["doc"]["n"].clone()),
        Some(json!(2))
    );
    assert!(a.row(detail, "t9").is_none());

    // Optimistic writes: to t2 (in the view) shows at once, to t8 (not) never.
    let t2 = a.mutate(&channel, put("t2", 5));
    let t8 = a.mutate(&channel, put("t8", 5));
    wait_for("t2 shown", 5000, || a.row(detail, "t2").is_some()).await;
    t2.await.expect("a's t2");
    t8.await.expect("a's t8");
    wait_for("t2 confirmed", 5000, || {
        events(&a, detail).contains(&("created".to_owned(), "t2".to_owned()))
    })
    .await;
    assert!(a.row(detail, "t8").is_none());

    // Bad ids are refused before anything is sent.
    for bad in [
        json!({"ids": []}),
        json!({"ids": ["x", "x"]}),
        json!({"ids": [""]}),
    ] {
        let error = a
            .client
            .subscribe(&channel, js(bad.clone()))
            .expect_err("refused");
        assert_eq!(error_json(&error)["code"], "INVALID_ARGUMENT", "{bad}");
    }
    a.client.close();
    b.client.close();
}

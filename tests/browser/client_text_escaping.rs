//! Text the shell writes into change batches itself (document ids, beside the bodies)
//! reaches JavaScript unchanged, whatever it holds: quotes, backslashes, control characters,
//! line separators and non-BMP characters.
use crate::support::{client, unique, wait_for};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn ids_and_bodies_with_any_characters_arrive_unchanged() {
    let channel = unique("tasks");
    let a = client(json!({ "dbName": unique("db") })).await;
    let view = a.subscribe(&channel);
    a.client.connect();
    wait_for("connection", 5000, || a.ready()).await;
    let ids = [
        "quote\"back\\slash",
        "tab\tnew\nline\rcr",
        "ctl\u{1}\u{1f}\u{7f}",
        "sep\u{2028}\u{2029}",
        "emoji 🎉 ü",
        "</script>",
    ];
    let body = json!({"title": "a \"b\" \\ c\n\u{0}", "n": 1.5e300, "big": 9007199254740991u64});
    for id in ids {
        a.mutate(&channel, json!({"op": "put", "id": id, "doc": body}))
            .await
            .expect("write");
    }
    wait_for("every row confirmed", 5000, || {
        ids.iter()
            .all(|id| a.row(view, id).is_some_and(|r| r["pending"] == false))
    })
    .await;
    for id in ids {
        let row = a.row(view, id).expect("row");
        assert_eq!(row["id"], id);
        assert_eq!(row["doc"], body, "{id:?}");
    }
    a.client.close();
}

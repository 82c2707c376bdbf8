//! `GET /api/v1/openapi.json` (no key needed) is an OpenAPI 3.1 description of the API that
//! matches the server: every operation it lists is answered by a route (not the "no such
//! route" fallback, not 405), every other method on its paths is 405, and its error codes are
//! exactly those API.md §7 lists.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::api_client::{error_code, Req, API_KEY_ARG};
use crate::common::auth_server;

const METHODS: [&str; 5] = ["get", "put", "patch", "delete", "post"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_description_matches_the_routes_and_api_md() {
    let server = auth_server(|o| o.api_keys = vec![API_KEY_ARG.into()]).await;
    let addr = server.addr();
    let (status, spec) = Req::new("GET", "/api/v1/openapi.json")
        .key(None)
        .send(addr)
        .await;
    assert_eq!(status, 200, "{spec}");
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(spec["servers"][0]["url"], "/api/v1");
    let paths = spec["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 7, "{:?}", paths.keys().collect::<Vec<_>>());
    let mut operations = 0;
    for (template, item) in paths {
        let path = format!(
            "/api/v1{}",
            template
                .replace("{channel}", "tasks")
                .replace("{id}", "t1")
                .replace("{subject}", "sarah")
        );
        for method in METHODS {
            let described = item.get(method).is_some();
            let body = match (method, template.as_str()) {
                ("post", p) if p.ends_with("/batch") => {
                    json!({"mutations": [{"op": "put", "id": "x", "doc": {}}]})
                }
                ("post", _) => json!({"payload": 1}),
                ("put" | "patch", _) => json!({"k": 1}),
                _ => Value::Null,
            };
            let upper = method.to_ascii_uppercase();
            let mut req = Req::new(&upper, &path);
            if !body.is_null() {
                req = req.json(body);
            }
            let (status, answer) = req.send(addr).await;
            if described {
                operations += 1;
                assert_ne!(status, 405, "{method} {path}: {answer}");
                let fallback = status == 404 && answer["error"]["message"] == "no such API route";
                assert!(!fallback, "{method} {path} is described but not routed");
            } else {
                assert_eq!(
                    (status, error_code(&answer)),
                    (405, "METHOD_NOT_ALLOWED"),
                    "{method} {path} is routed but not described: {answer}"
                );
            }
        }
    }
    assert_eq!(operations, 10);

    let described: BTreeSet<String> = spec["components"]["schemas"]["Error"]["properties"]["error"]
        ["properties"]["code"]["enum"]
        .as_array()
        .expect("code enum")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let api_md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../API.md"))
        .expect("API.md");
    let section = api_md
        .split("## 7. Errors")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("API.md §7");
    let listed: BTreeSet<String> = section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(2)?;
            (cells.get(1)?.parse::<u16>().is_ok() && code.starts_with('`'))
                .then(|| code.trim_matches('`').to_owned())
        })
        .collect();
    assert_eq!(described, listed, "the description's codes vs API.md §7");
}

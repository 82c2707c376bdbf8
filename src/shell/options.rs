//! The plain objects JavaScript passes to the client, read field by field (see `args`): the
//! options of `TetherClient.create` and the mutations of `mutate`.

use js_sys::{Function, Reflect};
use tether_core::{Auth, BackoffConfig, Config, Precondition};
use tether_protocol::Op;
use wasm_bindgen::{JsCast, JsValue};

use super::args;
use super::signals;

/// How long writes wait by default for a database that failed to open at start (ms).
const STORAGE_WAIT_MS: u64 = 2_000;

/// The options object (`ClientOptions` in `js/src/types.ts`), read field by field.
pub struct Options {
    /// The token provider.
    pub get_token: Option<Function>,
    /// The server endpoints.
    pub urls: Endpoints,
    pub storage: Option<String>,
    pub db_name: Option<String>,
    /// How long writes wait for a database that failed to open (ms).
    pub storage_wait_ms: u64,
    pub config: Config,
}

impl Options {
    pub fn read(options: &JsValue) -> Result<Options, JsValue> {
        // Anything but a function is "not given".
        let get_token =
            args::field(options, "getToken").and_then(|f| f.dyn_into::<Function>().ok());
        let has_provider = get_token.is_some();
        let urls = read_urls(args::field(options, "url"))?;
        let token = args::string(options, "token", "token")?;
        let storage = args::string(options, "storage", "storage")?;
        let db_name = args::string(options, "dbName", "dbName")?;
        let u64_of = |object: &Option<JsValue>, key: &str, path: &str| match object {
            Some(object) => args::whole(object, key, path, args::MAX_SAFE),
            None => Ok(None),
        };
        let u32_of = |object: &Option<JsValue>, key: &str, path: &str| match object {
            Some(object) => {
                args::whole(object, key, path, f64::from(u32::MAX)).map(|v| v.map(|v| v as u32))
            }
            None => Ok(None),
        };
        let top = Some(options.clone());
        let backoff = args::object(options, "backoff", "backoff")?;
        let heartbeat = args::object(options, "heartbeat", "heartbeat")?;
        let flush = args::object(options, "flush", "flush")?;
        let defaults = Config::default();
        let default_backoff = BackoffConfig::default();
        let config = Config {
            backoff: BackoffConfig {
                initial_ms: u64_of(&backoff, "initialMs", "backoff.initialMs")?
                    .unwrap_or(default_backoff.initial_ms),
                max_ms: u64_of(&backoff, "maxMs", "backoff.maxMs")?
                    .unwrap_or(default_backoff.max_ms),
                factor: u32_of(&backoff, "factor", "backoff.factor")?
                    .unwrap_or(default_backoff.factor),
                max_attempts: u32_of(&backoff, "maxAttempts", "backoff.maxAttempts")?,
                reset_after_ms: u64_of(&backoff, "resetAfterMs", "backoff.resetAfterMs")?
                    .unwrap_or(default_backoff.reset_after_ms),
            },
            auth: match (&token, has_provider) {
                (_, true) => Auth::Provider,
                (Some(token), false) => Auth::Static(token.clone()),
                (None, false) => Auth::None,
            },
            ping_interval_ms: u64_of(&heartbeat, "pingIntervalMs", "heartbeat.pingIntervalMs")?,
            dead_link_timeout_ms: u64_of(
                &heartbeat,
                "deadLinkTimeoutMs",
                "heartbeat.deadLinkTimeoutMs",
            )?,
            flush_interval_ms: u64_of(&flush, "intervalMs", "flush.intervalMs")?
                .unwrap_or(defaults.flush_interval_ms),
            burst_hold_ms: Some(
                u64_of(&flush, "burstHoldMs", "flush.burstHoldMs")?.unwrap_or(BURST_HOLD_MS),
            ),
            request_timeout_ms: u64_of(&top, "requestTimeoutMs", "requestTimeoutMs")?
                .unwrap_or(defaults.request_timeout_ms),
            handshake_timeout_ms: u64_of(&top, "handshakeTimeoutMs", "handshakeTimeoutMs")?
                .unwrap_or(defaults.handshake_timeout_ms),
            start_online: signals::is_online(),
            endpoints: urls.count(),
            ..defaults
        };
        let storage_wait_ms =
            u64_of(&top, "storageWaitMs", "storageWaitMs")?.unwrap_or(STORAGE_WAIT_MS);
        Ok(Options {
            get_token,
            storage_wait_ms,
            urls,
            storage,
            db_name,
            config,
        })
    }
}

/// How long the SDK lets a continuing burst (full frames: a replay, a backlog) hold its
/// changes by default, so that a catch-up reaches React as one change set (ms); a live event is
/// never held by it.
const BURST_HOLD_MS: u64 = 100;

/// Where the sockets go: `url` as given.
#[derive(Clone)]
pub enum Endpoints {
    /// One or more WebSocket URLs; the engine picks the one each attempt is for (see
    /// `Config::endpoints`).
    List(Vec<String>),
    /// A function the shell calls before each attempt with the number of failed attempts so
    /// far; it returns the URL to use.
    Pick(Function),
}

impl Endpoints {
    /// How many endpoints the engine chooses from (a function is one: it chooses itself).
    fn count(&self) -> usize {
        match self {
            Endpoints::List(urls) => urls.len(),
            Endpoints::Pick(_) => 1,
        }
    }
}

/// `url`: one WebSocket URL, a non-empty list of them, or a function returning one.
fn read_urls(url: Option<JsValue>) -> Result<Endpoints, JsValue> {
    if let Some(pick) = url.as_ref().and_then(|u| u.dyn_ref::<Function>()) {
        return Ok(Endpoints::Pick(pick.clone()));
    }
    let urls = match url {
        Some(url) if js_sys::Array::is_array(&url) => js_sys::Array::from(&url)
            .iter()
            .map(|u| u.as_string())
            .collect::<Option<Vec<String>>>(),
        Some(url) => url.as_string().map(|u| vec![u]),
        None => None,
    };
    match urls {
        Some(urls) if !urls.is_empty() => Ok(Endpoints::List(urls)),
        _ => Err(args::invalid(
            "url",
            "must be a string, a non-empty list of strings or a function",
        )),
    }
}

/// A mutation object (`Mutation` in `js/src/types.ts`): its op, id, body and `baseVersion`
/// (absent or `undefined` → automatic, `null` → unconditional, a number → that version).
pub fn read_mutation(
    mutation: &JsValue,
) -> Result<(Op, String, Option<tether_protocol::Json>, Precondition), JsValue> {
    let op = match args::string(mutation, "op", "op")?.as_deref() {
        Some("put") => Op::Put,
        Some("patch") => Op::Patch,
        Some("delete") => Op::Delete,
        _ => {
            return Err(args::invalid(
                "op",
                "must be \"put\", \"patch\" or \"delete\"",
            ))
        }
    };
    let id = args::string(mutation, "id", "id")?
        .ok_or_else(|| args::invalid("id", "must be a string"))?;
    let doc = match op {
        Op::Delete => None,
        _ => {
            let doc = args::field(mutation, "doc")
                .ok_or_else(|| args::invalid("doc", "must be a JSON object"))?;
            Some(args::json_value(&doc, "doc")?)
        }
    };
    let base =
        Reflect::get(mutation, &JsValue::from_str("baseVersion")).unwrap_or(JsValue::UNDEFINED);
    let precondition = if base.is_undefined() {
        Precondition::Auto
    } else if base.is_null() {
        Precondition::Unconditional
    } else {
        match args::whole(mutation, "baseVersion", "baseVersion", args::MAX_SAFE)? {
            Some(0) => Precondition::MustNotExist,
            Some(v) => Precondition::Version(v),
            None => Precondition::Auto,
        }
    };
    Ok((op, id, doc, precondition))
}

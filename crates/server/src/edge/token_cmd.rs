//! `tether-server token`: mints an HS256 client token for development and tests.

use clap::Args;

use super::EdgeError;
use crate::engine::{mint_hs256, Audience, Claims};

/// Mint an HS256 JWT client token with the server's `--auth-secret` and print it on stdout.
///
/// For development and tests: production tokens come from the app's backend (any JWT
/// library), signed with the same secret or with a key whose public half the server holds.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Shared secret to sign with (the server's `--auth-secret`).
    #[arg(long, env = "TETHER_AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: String,

    /// Subject (`sub`): the user the token is for.
    #[arg(long, default_value = "")]
    pub sub: String,

    /// Channel patterns to read and write (comma-separated or repeated; `chat:*` is a prefix,
    /// `*` every channel).
    #[arg(long, value_delimiter = ',')]
    pub channels: Vec<String>,

    /// Channel patterns to read only (subscribe, presence).
    #[arg(long, value_delimiter = ',')]
    pub read: Vec<String>,

    /// Channel patterns to write (and read).
    #[arg(long, value_delimiter = ',')]
    pub write: Vec<String>,

    /// Lifetime: seconds, or a number with `s`, `m`, `h` or `d` (`90s`, `15m`, `12h`, `7d`).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: u64,

    /// `aud` claim (for a server run with `--jwt-audience`).
    #[arg(long)]
    pub aud: Option<String>,

    /// `iss` claim (for a server run with `--jwt-issuer`).
    #[arg(long)]
    pub iss: Option<String>,
}

/// Seconds of a `--ttl` value.
fn parse_ttl(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 3600, 90s, 15m, 12h or 7d"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit `{unit}`: use s, m, h or d")),
    };
    match n.checked_mul(scale) {
        Some(0) => Err("the ttl must be positive".into()),
        Some(secs) => Ok(secs),
        None => Err(format!("`{text}` is too long")),
    }
}

impl TokenArgs {
    /// The claims of the token, issued at `unix_secs`.
    pub fn claims(&self, unix_secs: u64) -> Claims {
        let mut claims = Claims::new(&self.sub);
        claims.channels.write = self
            .channels
            .iter()
            .chain(&self.write)
            .filter(|p| !p.is_empty())
            .cloned()
            .collect();
        claims.channels.read = self
            .read
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect();
        claims.iat = Some(unix_secs);
        claims.exp = Some(unix_secs.saturating_add(self.ttl));
        claims.aud = self.aud.clone().map(Audience::One);
        claims.iss = self.iss.clone();
        claims
    }

    /// The signed token, issued at `unix_secs`.
    pub fn mint(&self, unix_secs: u64) -> Result<String, EdgeError> {
        if self.auth_secret.is_empty() {
            return Err(EdgeError::Config {
                message: "--auth-secret (or TETHER_AUTH_SECRET) must not be empty".into(),
            });
        }
        mint_hs256(self.auth_secret.as_bytes(), &self.claims(unix_secs)).map_err(|e| {
            EdgeError::Config {
                message: e.to_string(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("3600"), Ok(3_600));
        assert_eq!(parse_ttl("90s"), Ok(90));
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("12h"), Ok(43_200));
        assert_eq!(parse_ttl("7d"), Ok(604_800));
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("99999999999999999999d").is_err());
    }
}

//! The server under test: a child process this generator starts (and alone ends), whose
//! resident memory and CPU time it reads from `/proc/<pid>/`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A started server process.
pub struct ServerProcess {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    clock_ticks: f64,
}

/// Finds `listening on http://ADDR` in a line of the server's standard output.
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    let at = line.find("listening on http://")? + "listening on http://".len();
    let rest = &line[at..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '/')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

impl ServerProcess {
    /// Starts `command` (program and arguments) and waits until it prints the address it
    /// listens on. Its standard error goes to `log` (appended).
    pub async fn start(command: &[String], log: &Path, timeout: Duration) -> Result<Self, String> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| "no server command given".to_owned())?;
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let pid = child
            .id()
            .ok_or_else(|| format!("{program} exited at once"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| "no stdout pipe".to_owned())?;
        let mut lines = BufReader::new(stdout).lines();
        let found = tokio::time::timeout(timeout, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = parse_listening(&line) {
                    return Some(addr);
                }
            }
            None
        })
        .await;
        let addr = match found {
            Ok(Some(addr)) => addr,
            Ok(None) => {
                let _ = child.kill().await;
                return Err(format!(
                    "{program} exited before it printed its address (log: {})",
                    log.display()
                ));
            }
            Err(_) => {
                let _ = child.kill().await;
                return Err(format!(
                    "{program} printed no address within {timeout:?} (log: {})",
                    log.display()
                ));
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ServerProcess {
            child,
            pid,
            addr,
            clock_ticks: clock_ticks_per_sec(),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// True while the process runs (not exited, not a zombie).
    pub fn alive(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .map(|s| {
                !s.lines()
                    .any(|l| l.starts_with("State:") && l.contains("Z"))
            })
            .unwrap_or(false)
    }

    /// Resident set size in bytes (`VmRSS` of `/proc/<pid>/status`).
    pub fn rss_bytes(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.pid);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        parse_vm_rss(&text).ok_or_else(|| format!("{path}: no VmRSS line"))
    }

    /// User + system CPU seconds so far (`utime + stime` of `/proc/<pid>/stat`).
    pub fn cpu_secs(&self) -> Result<f64, String> {
        cpu_secs_of(&format!("/proc/{}/stat", self.pid), self.clock_ticks)
    }

    /// CPU seconds of this load generator so far (it shares the machine with the server).
    pub fn own_cpu_secs(&self) -> Result<f64, String> {
        cpu_secs_of("/proc/self/stat", self.clock_ticks)
    }

    /// Ends the process (SIGKILL: nothing of it is needed afterwards) and reaps it.
    pub async fn stop(mut self) {
        self.kill().await;
    }

    /// SIGKILL (by this child's PID) and reap, keeping the value (a node killed mid-run).
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// The machine's 1-minute load average (`/proc/loadavg`): how busy it was besides this run.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn cpu_secs_of(path: &str, clock_ticks: f64) -> Result<f64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let ticks = parse_stat_ticks(&text).ok_or_else(|| format!("{path}: unexpected format"))?;
    Ok(ticks as f64 / clock_ticks)
}

/// `VmRSS` in bytes from the text of `/proc/<pid>/status`.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `utime + stime` in clock ticks from the text of `/proc/<pid>/stat`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces; fields after its closing parenthesis
    // start with field 3 (state). utime and stime are fields 14 and 15.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `getconf CLK_TCK`, or the usual 100 when that is not available.
fn clock_ticks_per_sec() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_formats() {
        let status = "Name:\ttether-server\nVmPeak:\t  9000 kB\nVmRSS:\t    4321 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(4321 * 1024));
        let stat = "1234 (tether (srv)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0";
        assert_eq!(parse_stat_ticks(stat), Some(325));
    }

    #[test]
    fn finds_the_listening_address() {
        assert_eq!(
            parse_listening("tether-server listening on http://127.0.0.1:40123"),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        assert_eq!(
            parse_listening("socketio-peer listening on http://127.0.0.1:5/ now"),
            Some("127.0.0.1:5".parse().unwrap())
        );
        assert_eq!(parse_listening("starting"), None);
    }
}

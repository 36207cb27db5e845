//! What machine the figures come from: printed with every report, since a
//! benchmark figure means nothing without it.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The machine and moment of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// UTC date, `YYYY-MM-DD`.
    pub date: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// CPU model name.
    pub cpu: String,
    /// Total memory.
    pub memory: String,
    /// Kernel release.
    pub kernel: String,
    /// File system type of the scratch directory.
    pub filesystem: String,
    /// The command line that produced the report.
    pub command: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The first `name: value` line of a /proc file whose name matches.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find(|l| l.split(':').next().map(str::trim) == Some(name))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The file system type of the mount that holds `dir`, from /proc/mounts.
fn filesystem_of(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    read("/proc/mounts")
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, mount, kind) = (f.next()?, f.next()?, f.next()?);
            dir.starts_with(mount)
                .then(|| (mount.len(), kind.to_string()))
        })
        .max()
        .map_or("unknown".to_string(), |(_, kind)| kind)
}

impl Machine {
    /// Describes this machine; `scratch` is where the stores are written.
    pub fn describe(scratch: &Path, command: String) -> Machine {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (y, m, d) = civil((secs / 86_400) as i64);
        let meminfo = read("/proc/meminfo");
        let memory = field(&meminfo, "MemTotal")
            .and_then(|v| v.trim_end_matches(" kB").trim().parse::<u64>().ok())
            .map_or("unknown memory".to_string(), |kb| {
                format!("{:.0} GiB", kb as f64 / (1u64 << 20) as f64)
            });
        Machine {
            date: format!("{y:04}-{m:02}-{d:02}"),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu: field(&read("/proc/cpuinfo"), "model name")
                .unwrap_or_else(|| "unknown CPU".into()),
            memory,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            filesystem: filesystem_of(scratch),
            command,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_723), (2024, 1, 1));
        assert_eq!(civil(20_779), (2026, 11, 22));
    }
}

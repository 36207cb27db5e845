//! Running a starter's tests, one target at a time, and reading what
//! passed.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One test target's results.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TargetResult {
    /// `--lib`, or the test file's name.
    pub target: String,
    /// Tests that passed.
    pub passed: Vec<String>,
    /// Tests that failed.
    pub failed: Vec<String>,
    /// Tests ignored.
    pub ignored: usize,
    /// Whether the run exited cleanly: a test binary that aborts (a stack
    /// overflow, an allocation too large) fails without a `FAILED` line.
    pub exited_ok: bool,
    /// Whether the run was stopped for taking too long.
    pub timed_out: bool,
}

impl TargetResult {
    /// Every test ran and passed.
    pub fn green(&self) -> bool {
        self.failed.is_empty() && !self.passed.is_empty() && self.exited_ok
    }

    /// Some test failed, or the run did not finish.
    pub fn red(&self) -> bool {
        !self.failed.is_empty() || !self.exited_ok
    }
}

/// The results in libtest's plain output `stdout`, for `target`.
pub fn parse(target: &str, stdout: &str) -> TargetResult {
    let mut out = TargetResult {
        target: target.to_string(),
        ..Default::default()
    };
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, outcome)) = rest.rsplit_once(" ... ") else {
            continue;
        };
        match outcome.trim() {
            "ok" => out.passed.push(name.to_string()),
            "FAILED" => out.failed.push(name.to_string()),
            o if o.starts_with("ignored") => out.ignored += 1,
            _ => {}
        }
    }
    out
}

/// Builds the starter at `dir` with its tests; the compiler's complaint if
/// it does not build.
pub fn build(dir: &Path) -> Result<(), String> {
    let output = Command::new(cargo())
        .args(["test", "--no-run", "--quiet"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("running cargo in {}: {e}", dir.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Runs the tests of `target` (`--lib`, or a test file's name) in the
/// starter at `dir`.
pub fn run(dir: &Path, target: &str) -> Result<TargetResult, String> {
    run_with(dir, target, &[], None)
}

/// [`run`], with the variables `env` set for the tests, stopped after
/// `limit` if one is given (a check left out may make a loop endless).
pub fn run_with(
    dir: &Path,
    target: &str,
    env: &[(&str, &str)],
    limit: Option<Duration>,
) -> Result<TargetResult, String> {
    let mut cmd = Command::new(cargo());
    cmd.envs(env.iter().copied());
    cmd.arg("test").current_dir(dir);
    if target == "--lib" {
        cmd.arg("--lib");
    } else {
        cmd.args(["--test", target]);
    }
    // Snapshots are compared, never written, and a failing test's panic
    // message is all the reader needs from a starter's run.
    // `cargo workshop` runs under the book's workspace, whose config tells
    // insta where that workspace is; the starter's snapshots are in the
    // starter.
    cmd.args(["--", "--test-threads=2"])
        .env("INSTA_WORKSPACE_ROOT", dir)
        .env("INSTA_UPDATE", "no")
        .env("RUST_BACKTRACE", "0");
    // Its own process group, so that a run stopped for taking too long
    // takes its test binary with it.
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("running cargo in {}: {e}", dir.display()))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_end(&mut text);
        }
        text
    });
    let started = Instant::now();
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break (Some(status), false);
        }
        if limit.is_some_and(|limit| started.elapsed() > limit) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = reader.join().unwrap_or_default();
    let mut result = parse(target, &String::from_utf8_lossy(&text));
    result.exited_ok = status.is_some_and(|s| s.success());
    result.timed_out = timed_out;
    Ok(result)
}

/// The cargo that runs this tool, as cargo tells its children.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_lines_are_read() {
        let out = "\nrunning 4 tests\ntest a ... ok\ntest m::b ... FAILED\n\
                   test c ... ignored, slow\ntest d ... ok\n\nfailures:\n\n\
                   test result: FAILED. 2 passed; 1 failed; 1 ignored\n";
        let r = parse("conformance", out);
        assert_eq!(r.passed, ["a", "d"]);
        assert_eq!(r.failed, ["m::b"]);
        assert_eq!(r.ignored, 1);
        assert!(!r.green());
    }
}

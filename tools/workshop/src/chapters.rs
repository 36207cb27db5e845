//! The chapters a reader can build, and the order of their tests.

use std::fs;
use std::path::Path;

/// One chapter's crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chapter {
    /// `ch04`.
    pub short: String,
    /// `ch04-footer-index`.
    pub crate_name: String,
}

/// Every chapter a reader builds: the crates `chapters/chNN-*` from
/// chapter 1 on (chapter 0 is the contract they are all built against).
pub fn all(root: &Path) -> Result<Vec<Chapter>, String> {
    let dir = root.join("chapters");
    let mut out = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| format!("reading {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let Some((short, _)) = name.split_once('-') else {
            continue;
        };
        let is_chapter = short.len() == 4
            && short.starts_with("ch")
            && short[2..].chars().all(|c| c.is_ascii_digit())
            && short != "ch00";
        if is_chapter {
            out.push(Chapter {
                short: short.to_string(),
                crate_name: name,
            });
        }
    }
    out.sort_by(|a, b| a.short.cmp(&b.short));
    Ok(out)
}

/// The chapter `name` names: `ch04`, `4` or `ch04-footer-index`.
pub fn find(root: &Path, name: &str) -> Result<Chapter, String> {
    let all = all(root)?;
    let wanted = match name.parse::<u32>() {
        Ok(n) => format!("ch{n:02}"),
        Err(_) => name.to_string(),
    };
    all.iter()
        .find(|c| c.short == wanted || c.crate_name == wanted)
        .cloned()
        .ok_or_else(|| {
            format!(
                "no chapter {name}; the chapters are {}",
                all.iter()
                    .map(|c| c.short.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// Tests that pass on a chapter's starter because they exercise only code
/// the starter gives, never a body it asks for: chapter 5's stores are
/// chapter 4's store over chapter 5's tables, and a second open refused by
/// the lock, or a set read back before any sync (from the buffer), never
/// reaches a table; chapter 2's space measurement is for the benchmarks,
/// not part of the store. `(crate, "target test", why)`.
pub const GIVEN: [(&str, &str, &str); 6] = [
    (
        "ch02-fsdb",
        "--lib usage::tests::small_files_take_whole_blocks",
        "the space measurement is given, for the benchmarks",
    ),
    (
        "ch05-sparse-index",
        "conformance a_second_open_of_the_directory_is_refused",
        "chapter 4's store takes the lock",
    ),
    (
        "ch05-sparse-index",
        "conformance on_simulated_disk::second_open_is_refused",
        "chapter 4's store takes the lock",
    ),
    (
        "ch05-sparse-index",
        "conformance conformance::set_then_get",
        "chapter 4's store answers from its buffer",
    ),
    (
        "ch05-sparse-index",
        "index_of_index conformance::set_then_get",
        "chapter 4's store answers from its buffer",
    ),
    (
        "ch05-sparse-index",
        "index_of_index on_simulated_disk::second_open_is_refused",
        "chapter 4's store takes the lock",
    ),
];

/// Why `test` ("target name") passes on `crate_name`'s starter, if it is
/// known to exercise given code only.
pub fn given(crate_name: &str, test: &str) -> Option<&'static str> {
    GIVEN
        .iter()
        .find(|(c, t, _)| *c == crate_name && *t == test)
        .map(|(_, _, why)| *why)
}

/// The order in which to make a chapter's test files pass: the format
/// first (its byte layout, pinned by snapshots), then what builds on it,
/// the conformance suite, and last the failures and crashes. Test files
/// not named here come after, in name order.
const ORDER: [&str; 16] = [
    "snapshots",
    "bloom",
    "collisions",
    "cursor",
    "counters",
    "lsm",
    "conformance",
    "corruption",
    "damage",
    "index_of_index",
    "index_of_index_damage",
    "ranges",
    "compaction",
    "durability",
    "failures",
    "faults",
];

/// Whether the test file `name` is about damaged files: the tests an
/// armour check answers to (with the unit tests).
pub fn is_damage_test(name: &str) -> bool {
    ["corruption", "damage", "failures"]
        .iter()
        .any(|d| name.contains(d))
}

/// The test targets of the crate at `dir` (`tests/*.rs`), in the order to
/// make them pass.
pub fn test_order(dir: &Path) -> Result<Vec<String>, String> {
    let tests = dir.join("tests");
    let mut names = Vec::new();
    if tests.is_dir() {
        for entry in
            fs::read_dir(&tests).map_err(|e| format!("reading {}: {e}", tests.display()))?
        {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|e| e == "rs")
                && let Some(stem) = path.file_stem()
            {
                names.push(stem.to_string_lossy().to_string());
            }
        }
    }
    let rank = |name: &str| ORDER.iter().position(|o| *o == name).unwrap_or(ORDER.len());
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
    }

    #[test]
    fn the_chapters_are_found_by_number_or_name() {
        let ch04 = find(root(), "ch04").unwrap();
        assert_eq!(ch04.crate_name, "ch04-footer-index");
        assert_eq!(find(root(), "4").unwrap(), ch04);
        assert_eq!(find(root(), "ch04-footer-index").unwrap(), ch04);
        assert!(find(root(), "ch00").is_err());
        assert!(find(root(), "ch99").unwrap_err().contains("ch01"));
    }

    #[test]
    fn the_format_comes_first_and_the_failures_last() {
        let dir = root().join("chapters/ch04-footer-index");
        let order = test_order(&dir).unwrap();
        assert_eq!(order.first().map(String::as_str), Some("snapshots"));
        assert_eq!(order.last().map(String::as_str), Some("faults"));
        let conformance = order.iter().position(|t| t == "conformance").unwrap();
        let durability = order.iter().position(|t| t == "durability").unwrap();
        assert!(conformance < durability);
    }
}

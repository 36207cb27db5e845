//! Generating a chapter's starter crate.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::chapters::Chapter;
use crate::manifest::{self, Inputs};
use crate::markers::{self, Level, Marked};

/// A body the reader is to write: where, and the hint.
#[derive(Clone, Debug)]
pub struct Todo {
    /// The file, relative to the starter's directory.
    pub file: PathBuf,
    /// The marker.
    pub marked: Marked,
}

/// A generated starter.
#[derive(Debug)]
pub struct Starter {
    /// Its directory.
    pub dir: PathBuf,
    /// The bodies (or, at the armour level, the checks) to write, in file
    /// order.
    pub todos: Vec<Todo>,
}

/// What the lint attribute at the top of the starter's `lib.rs` says, and
/// why: a body that is `todo!()` leaves its arguments unused.
const ALLOW: &str = "\
// A starter: what is marked todo!() or TODO is yours to write, and until then
// some arguments and helpers are unused. Remove this line when you are done.
#![allow(unused, unreachable_code)]
";

/// The switch a probe build's checks ask (see [`Level::Probe`]), read
/// from [`markers::PROBE_VAR`].
fn probe_switch() -> String {
    format!(
        "
/// Whether the armour check `name` is switched off in this build (CI's
/// probe of each check: with it off, a test must fail).
#[doc(hidden)]
pub fn armour_off(name: &str) -> bool {{
    std::env::var({:?}).is_ok_and(|off| off == name)
}}
",
        markers::PROBE_VAR
    )
}

/// Where a starter of `level` for `chapter` goes inside `dir`: the
/// chapter's crate name, with `-armour` (or `-probe`) after it for the
/// other levels, so that a reader's starters of both levels sit side by
/// side.
pub fn starter_dir(dir: &Path, chapter: &Chapter, level: Level) -> PathBuf {
    match level {
        Level::Bodies => dir.join(&chapter.crate_name),
        Level::Armour => dir.join(format!("{}-armour", chapter.crate_name)),
        Level::Probe => dir.join(format!("{}-probe", chapter.crate_name)),
    }
}

/// Generates the starter of `level` for `chapter` of the workspace at
/// `root` into `dir`. With `own`, earlier chapters are taken from the
/// reader's starters in `dir` where there are some. An existing starter is
/// the reader's work: it is replaced only with `force`.
pub fn generate(
    root: &Path,
    chapter: &Chapter,
    dir: &Path,
    level: Level,
    own: bool,
    force: bool,
) -> Result<Starter, String> {
    let source = root.join("chapters").join(&chapter.crate_name);
    let dest = starter_dir(dir, chapter, level);
    if dest.exists() {
        if !force {
            return Err(format!(
                "{} already exists, and may hold your work; add --force to replace it",
                dest.display()
            ));
        }
        fs::remove_dir_all(&dest).map_err(|e| format!("removing {}: {e}", dest.display()))?;
    }
    let mut todos = Vec::new();
    for entry in walkdir::WalkDir::new(&source)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != "target")
    {
        let entry = entry.map_err(|e| format!("reading {}: {e}", source.display()))?;
        let rel = entry
            .path()
            .strip_prefix(&source)
            .map_err(|e| e.to_string())?
            .to_path_buf();
        let to = dest.join(&rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to).map_err(|e| format!("creating {}: {e}", to.display()))?;
            continue;
        }
        if rel == Path::new("Cargo.toml") {
            continue;
        }
        let is_source = rel.starts_with("src") && rel.extension().is_some_and(|e| e == "rs");
        if !is_source {
            fs::copy(entry.path(), &to).map_err(|e| format!("copying {}: {e}", rel.display()))?;
            continue;
        }
        let text = fs::read_to_string(entry.path())
            .map_err(|e| format!("reading {}: {e}", entry.path().display()))?;
        let (mut stripped, mut marked) = markers::strip_at(&text, level)
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if rel == Path::new("src/lib.rs") {
            stripped = with_allow(&stripped);
            if level == Level::Probe {
                stripped.push_str(&probe_switch());
            }
            // The attribute goes above every item, so above every body.
            for m in &mut marked {
                m.starter_line += ALLOW.lines().count();
            }
        }
        todos.extend(marked.into_iter().map(|marked| Todo {
            file: rel.clone(),
            marked,
        }));
        fs::write(&to, stripped).map_err(|e| format!("writing {}: {e}", to.display()))?;
    }
    if todos.is_empty() {
        let _ = fs::remove_dir_all(&dest);
        return Err(if level == Level::Bodies {
            format!(
                "{} has no marked bodies yet: nothing to write",
                chapter.crate_name
            )
        } else {
            format!(
                "{} has no marked checks on damaged input, so no armour level",
                chapter.crate_name
            )
        });
    }
    write_manifest(root, &source, &dest, dir, level, own)?;
    let lock = root.join("Cargo.lock");
    if lock.exists() {
        // The versions the reference code was tested with.
        fs::copy(&lock, dest.join("Cargo.lock")).map_err(|e| format!("copying Cargo.lock: {e}"))?;
    }
    let cargo = dest.join(".cargo");
    fs::create_dir_all(&cargo).map_err(|e| format!("creating {}: {e}", cargo.display()))?;
    fs::write(
        cargo.join("config.toml"),
        "# Starters side by side share one target directory: the dependencies\n\
         # are built once.\n\
         [build]\ntarget-dir = \"../target\"\n\n\
         # Snapshot tests find this crate's snapshots without asking cargo.\n\
         [env]\nINSTA_WORKSPACE_ROOT = { value = \"\", relative = true }\n",
    )
    .map_err(|e| format!("writing the starter's .cargo/config.toml: {e}"))?;
    Ok(Starter { dir: dest, todos })
}

/// `lib_rs` with the starter's lint attribute after its opening doc
/// comment (inner attributes come before the first item).
fn with_allow(lib_rs: &str) -> String {
    let mut out = String::new();
    let mut placed = false;
    for line in lib_rs.lines() {
        if !placed && !line.starts_with("//!") {
            out.push_str(ALLOW);
            placed = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !placed {
        out.push_str(ALLOW);
    }
    out
}

fn write_manifest(
    root: &Path,
    source: &Path,
    dest: &Path,
    dir: &Path,
    level: Level,
    own: bool,
) -> Result<(), String> {
    let read = |path: &Path| -> Result<toml::Table, String> {
        fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?
            .parse()
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let workspace = read(&root.join("Cargo.toml"))?;
    let chapter = read(&source.join("Cargo.toml"))?;
    let mut mine = BTreeMap::new();
    if own {
        for other in crate::chapters::all(root)? {
            let theirs = starter_dir(dir, &other, Level::Bodies);
            if theirs != dest && theirs.join("Cargo.toml").exists() {
                mine.insert(other.crate_name.clone(), theirs);
            }
        }
    }
    let inputs = Inputs {
        workspace: &workspace,
        root,
        own: &mine,
    };
    let mut out = manifest::standalone(&chapter, &inputs)?;
    if level != Level::Bodies {
        // Starters share a target directory, and cargo tells a path
        // package's builds apart by its name and its path relative to its
        // workspace, which is the same for every level: the armour starter
        // would overwrite the first level's test binaries. Another package
        // name keeps them apart; the library keeps its name, which the
        // tests import.
        let suffix = match level {
            Level::Armour => "-armour",
            _ => "-probe",
        };
        manifest::rename_package(&mut out, suffix)?;
    }
    let text = toml::to_string(&out).map_err(|e| e.to_string())?;
    fs::write(
        dest.join("Cargo.toml"),
        format!("# Generated by `cargo workshop` from the chapter's own manifest.\n{text}"),
    )
    .map_err(|e| format!("writing the starter's Cargo.toml: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lint_attribute_goes_after_the_crate_doc() {
        let lib = "//! Chapter 9.\n//!\n//! Why.\n\nuse std::fs;\n";
        let out = with_allow(lib);
        assert!(out.starts_with("//! Chapter 9.\n//!\n//! Why.\n// A starter"));
        assert!(out.ends_with("#![allow(unused, unreachable_code)]\n\nuse std::fs;\n"));
    }
}

//! The starter's `Cargo.toml`: the chapter's own, standing alone.
//!
//! A chapter's manifest inherits from the workspace (`edition.workspace =
//! true`, `serde.workspace = true`). The starter lives outside the
//! workspace, in a workspace of its own, so every inherited value is
//! spelled out, and every path dependency (an earlier chapter) points at
//! the reference crate, or at the reader's own starter of that chapter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// What the starter's manifest is made from.
pub struct Inputs<'a> {
    /// The workspace's root manifest, parsed.
    pub workspace: &'a Table,
    /// The workspace's root directory (where path dependencies start).
    pub root: &'a Path,
    /// Path dependencies to point elsewhere: crate name to directory (the
    /// reader's own starters, with `--own`).
    pub own: &'a BTreeMap<String, PathBuf>,
}

/// The chapter's manifest `chapter`, made to stand alone.
pub fn standalone(chapter: &Table, inputs: &Inputs) -> Result<Table, String> {
    let ws = inputs
        .workspace
        .get("workspace")
        .and_then(Value::as_table)
        .ok_or("the workspace manifest has no [workspace]")?;
    let mut out = chapter.clone();
    // The package's inherited fields.
    if let Some(Value::Table(package)) = out.get_mut("package") {
        let inherited = ws.get("package").and_then(Value::as_table);
        for (key, value) in package.iter_mut() {
            if inherits(value) {
                *value = inherited
                    .and_then(|p| p.get(key))
                    .cloned()
                    .ok_or_else(|| format!("the workspace has no package.{key} to inherit"))?;
            }
        }
    }
    let deps = ws.get("dependencies").and_then(Value::as_table);
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(Value::Table(table)) = out.get_mut(section) else {
            continue;
        };
        for (name, spec) in table.iter_mut() {
            let resolved = if inherits(spec) {
                let base = deps
                    .and_then(|d| d.get(name))
                    .ok_or_else(|| format!("the workspace has no dependency {name}"))?;
                merge(base, spec)
            } else {
                spec.clone()
            };
            *spec = repoint(name, resolved, inputs);
        }
    }
    // The workspace's lints are the reference code's; a starter full of
    // todo!() would only trip them.
    out.remove("lints");
    // A workspace of its own: the starter is not a member of the book's.
    out.insert("workspace".into(), Value::Table(Table::new()));
    Ok(out)
}

/// Renames the package in `manifest` by adding `suffix` to its name,
/// keeping the library's name (what `use` says) as it was.
pub fn rename_package(manifest: &mut Table, suffix: &str) -> Result<(), String> {
    let package = manifest
        .get_mut("package")
        .and_then(Value::as_table_mut)
        .ok_or("the chapter's manifest has no [package]")?;
    let name = package
        .get("name")
        .and_then(Value::as_str)
        .ok_or("the chapter's [package] has no name")?
        .to_string();
    package.insert("name".into(), Value::String(format!("{name}{suffix}")));
    let lib = manifest
        .entry("lib")
        .or_insert_with(|| Value::Table(Table::new()));
    let lib = lib
        .as_table_mut()
        .ok_or("the chapter's [lib] is not a table")?;
    lib.entry("name")
        .or_insert_with(|| Value::String(name.replace('-', "_")));
    Ok(())
}

/// Whether `value` says `{ workspace = true, ... }`.
fn inherits(value: &Value) -> bool {
    value
        .as_table()
        .and_then(|t| t.get("workspace"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// The workspace's spec `base` with the member's additions (`features`,
/// `optional`) from `member`.
fn merge(base: &Value, member: &Value) -> Value {
    let mut spec = match base {
        Value::String(version) => {
            let mut t = Table::new();
            t.insert("version".into(), Value::String(version.clone()));
            t
        }
        Value::Table(t) => t.clone(),
        other => return other.clone(),
    };
    if let Some(extra) = member.as_table() {
        for (key, value) in extra {
            match (key.as_str(), spec.get_mut(key)) {
                ("workspace", _) => {}
                ("features", Some(Value::Array(features))) => {
                    for f in value.as_array().into_iter().flatten() {
                        if !features.contains(f) {
                            features.push(f.clone());
                        }
                    }
                }
                _ => {
                    spec.insert(key.clone(), value.clone());
                }
            }
        }
    }
    Value::Table(spec)
}

/// A path dependency made absolute from the workspace's root, or pointed
/// at the reader's own starter of that crate.
fn repoint(name: &str, spec: Value, inputs: &Inputs) -> Value {
    let Value::Table(mut t) = spec else {
        return spec;
    };
    if let Some(Value::String(path)) = t.get("path") {
        let dir = match inputs.own.get(name) {
            Some(own) => own.clone(),
            None => inputs.root.join(path),
        };
        t.insert("path".into(), Value::String(dir.display().to_string()));
    }
    Value::Table(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Table {
        s.parse().unwrap()
    }

    const WORKSPACE: &str = r#"
[workspace]
members = ["chapters/*"]
[workspace.package]
edition = "2024"
license = "MIT"
[workspace.dependencies]
ch00-contract = { path = "chapters/ch00-contract" }
serde = { version = "1", features = ["derive"] }
crc32fast = "1"
"#;

    const CHAPTER: &str = r#"
[package]
name = "ch09-x"
edition.workspace = true
license.workspace = true
[dependencies]
ch00-contract.workspace = true
crc32fast.workspace = true
serde = { workspace = true, features = ["rc"] }
[lints]
workspace = true
"#;

    #[test]
    fn inherited_values_are_spelled_out_and_paths_made_absolute() {
        let ws = parse(WORKSPACE);
        let own = BTreeMap::new();
        let inputs = Inputs {
            workspace: &ws,
            root: Path::new("/book"),
            own: &own,
        };
        let out = standalone(&parse(CHAPTER), &inputs).unwrap();
        let expected = parse(
            r#"
[package]
name = "ch09-x"
edition = "2024"
license = "MIT"
[dependencies]
ch00-contract = { path = "/book/chapters/ch00-contract" }
crc32fast = { version = "1" }
serde = { version = "1", features = ["derive", "rc"] }
[workspace]
"#,
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn a_readers_own_starter_replaces_the_reference_crate() {
        let ws = parse(WORKSPACE);
        let own = BTreeMap::from([("ch00-contract".to_string(), PathBuf::from("/mine/ch00"))]);
        let inputs = Inputs {
            workspace: &ws,
            root: Path::new("/book"),
            own: &own,
        };
        let out = standalone(&parse(CHAPTER), &inputs).unwrap();
        assert_eq!(
            out["dependencies"]["ch00-contract"]["path"].as_str(),
            Some("/mine/ch00")
        );
    }

    #[test]
    fn an_inherited_value_the_workspace_lacks_is_an_error() {
        let ws = parse("[workspace]\n[workspace.package]\n");
        let own = BTreeMap::new();
        let inputs = Inputs {
            workspace: &ws,
            root: Path::new("/book"),
            own: &own,
        };
        let err = standalone(&parse(CHAPTER), &inputs).unwrap_err();
        assert!(err.contains("package.edition"), "{err}");
    }

    #[test]
    fn a_renamed_package_keeps_its_library_name() {
        let mut m = parse("[package]\nname = \"ch09-x\"\n[lib]\nbench = false\n");
        rename_package(&mut m, "-armour").unwrap();
        assert_eq!(m["package"]["name"].as_str(), Some("ch09-x-armour"));
        assert_eq!(m["lib"]["name"].as_str(), Some("ch09_x"));
        assert_eq!(m["lib"]["bench"].as_bool(), Some(false));
        let mut bare = parse("[package]\nname = \"ch09-x\"\n");
        rename_package(&mut bare, "-probe").unwrap();
        assert_eq!(bare["lib"]["name"].as_str(), Some("ch09_x"));
    }
}

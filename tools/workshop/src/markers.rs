//! The markers in the real source around the bodies a reader writes, and
//! around the checks a reader may add as a second exercise.
//!
//! A marked body is an mdBook anchor whose name starts with `todo_`, with
//! a one-line hint after the name:
//!
//! ```text
//!     // ANCHOR: todo_encode Write the key's length, the key, then the value.
//!     ...the reference body...
//!     // ANCHOR_END: todo_encode
//! ```
//!
//! Anchors because mdBook drops every anchor line from what it includes,
//! so the markers never show in the book, and a page can include exactly
//! the body the reader is asked to write. A marked region must be the end
//! of its block (what follows it is only the closing brace): the starter
//! replaces it with `todo!("hint")`, whose type fits any block but an
//! `impl Iterator` (a body marked `todo_iter_...` becomes an iterator whose
//! first `next` is the `todo!`).
//!
//! A marked check, `armour_<name> hint`, is the second level: a check on
//! damaged or hostile input (a length, a checksum, a magic number) that
//! the armour starter leaves out, with the code around it whole. It must
//! be whole statements that declare nothing the code after them uses, so
//! that the code builds without it: CI builds it with each check switched
//! off in turn ([`Level::Probe`]) and asks that a test then fails.

use std::fmt;

/// The prefix of an anchor name that marks a body to write.
pub const PREFIX: &str = "todo_";

/// The prefix of an anchor name that marks a check on damaged input.
pub const ARMOUR: &str = "armour_";

/// What a starter asks of the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The chapter's core: `todo_` bodies become `todo!()`; the checks
    /// inside them go with them.
    Bodies,
    /// The armour: every body is given, and each `armour_` check is left
    /// out, a `TODO (armour)` comment with its hint in its place.
    Armour,
    /// For CI: every body given, and each `armour_` check wrapped in an
    /// `if` that the environment variable [`PROBE_VAR`] can switch off, so
    /// that one build tests each check alone.
    Probe,
}

impl Level {
    /// The prefix of the regions this level replaces.
    pub fn prefix(self) -> &'static str {
        match self {
            Level::Bodies => PREFIX,
            Level::Armour | Level::Probe => ARMOUR,
        }
    }
}

/// The variable that names the check a probe build leaves out.
pub const PROBE_VAR: &str = "WORKSHOP_ARMOUR_OFF";

/// One marked region in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marked {
    /// The anchor's name, without the prefix.
    pub name: String,
    /// The one-line hint.
    pub hint: String,
    /// The line of the opening marker, counted from 1.
    pub line: usize,
    /// The line of its `todo!` (or its comment) in the starter, counted
    /// from 1.
    pub starter_line: usize,
    /// Lines of reference code the marker holds.
    pub lines: usize,
}

/// A file's markers do not pair up.
#[derive(Debug, PartialEq, Eq)]
pub struct MarkerError {
    /// The line, counted from 1.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// The name after `ANCHOR:` or `ANCHOR_END:` on `line`, with the rest of
/// the line, if the line is such a comment for a region with `prefix`.
fn marker<'a>(line: &'a str, keyword: &str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = line.trim_start().strip_prefix("//")?.trim_start();
    let rest = rest.strip_prefix(keyword)?.trim_start();
    let name = rest.strip_prefix(prefix)?;
    let end = name
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(name.len());
    Some((&name[..end], name[end..].trim()))
}

/// What replaces a marked body: `todo!` with its hint; for a body that
/// returns `impl Iterator` (marked `todo_iter_...`), whose type `todo!`
/// alone cannot stand for, an iterator whose first step is that `todo!`.
fn stub(m: &Marked) -> String {
    // `todo!` takes a format string: a brace in the hint is written twice.
    let hint = m.hint.replace('{', "{{").replace('}', "}}");
    if m.name.starts_with("iter_") {
        format!("std::iter::from_fn(|| todo!({hint:?}))")
    } else {
        format!("todo!({hint:?})")
    }
}

/// Whether `line` is an mdBook anchor comment.
fn is_anchor(line: &str) -> bool {
    let line = line.trim_start();
    match line.strip_prefix("//") {
        Some(rest) if !rest.starts_with('/') => {
            let rest = rest.trim_start();
            rest.starts_with("ANCHOR:") || rest.starts_with("ANCHOR_END:")
        }
        _ => false,
    }
}

/// A check lies wholly inside a body or wholly outside one: no body's
/// marker falls inside a check's region. (Else the first level would cut
/// the check in two.)
fn no_straddle(source: &str) -> Result<(), MarkerError> {
    let mut check: Option<(&str, usize)> = None;
    for (i, line) in source.lines().enumerate() {
        if let Some((name, _)) = marker(line, "ANCHOR:", ARMOUR) {
            check = Some((name, i + 1));
        } else if marker(line, "ANCHOR_END:", ARMOUR).is_some() {
            check = None;
        } else if let Some((name, _)) =
            marker(line, "ANCHOR:", PREFIX).or_else(|| marker(line, "ANCHOR_END:", PREFIX))
            && let Some((open, at)) = check
        {
            return Err(MarkerError {
                line: i + 1,
                what: format!(
                    "todo_{name}'s marker is inside armour_{open} (line {at}); a check lies \
                     wholly inside a body or wholly outside one"
                ),
            });
        }
    }
    Ok(())
}

/// `source` with every marked body replaced by `todo!` with its hint, the
/// book's other anchor lines dropped, and the bodies it replaced.
pub fn strip(source: &str) -> Result<(String, Vec<Marked>), MarkerError> {
    strip_at(source, Level::Bodies)
}

/// `source` as a starter of `level` has it (see [`Level`]), the book's
/// other anchor lines dropped, and the regions it replaced.
pub fn strip_at(source: &str, level: Level) -> Result<(String, Vec<Marked>), MarkerError> {
    no_straddle(source)?;
    let prefix = level.prefix();
    let mut out = String::with_capacity(source.len());
    let mut out_lines = 0;
    let mut marked = Vec::new();
    // The region being replaced: its marker, and its indentation.
    let mut open: Option<(Marked, String)> = None;
    for (i, line) in source.lines().enumerate() {
        let number = i + 1;
        if let Some((name, hint)) = marker(line, "ANCHOR:", prefix) {
            if let Some((outer, _)) = &open {
                return Err(MarkerError {
                    line: number,
                    what: format!(
                        "{prefix}{name} opens inside {prefix}{} (line {}); marked regions do not nest",
                        outer.name, outer.line
                    ),
                });
            }
            if hint.is_empty() {
                return Err(MarkerError {
                    line: number,
                    what: format!("{prefix}{name} has no hint after its name"),
                });
            }
            let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
            let m = Marked {
                name: name.to_string(),
                hint: hint.to_string(),
                line: number,
                starter_line: out_lines + 1,
                lines: 0,
            };
            if level == Level::Probe {
                out.push_str(&format!("{indent}if !crate::armour_off({:?}) {{\n", m.name));
                out_lines += 1;
            }
            open = Some((m, indent));
            continue;
        }
        if let Some((name, _)) = marker(line, "ANCHOR_END:", prefix) {
            match open.take() {
                Some((m, indent)) if m.name == name => {
                    match level {
                        Level::Bodies => out.push_str(&format!("{indent}{}\n", stub(&m))),
                        Level::Armour => {
                            out.push_str(&format!("{indent}// TODO (armour): {}\n", m.hint))
                        }
                        Level::Probe => out.push_str(&format!("{indent}}}\n")),
                    }
                    out_lines += 1;
                    marked.push(m);
                }
                Some((m, _)) => {
                    return Err(MarkerError {
                        line: number,
                        what: format!("{prefix}{name} closes, but {prefix}{} is open", m.name),
                    });
                }
                None => {
                    return Err(MarkerError {
                        line: number,
                        what: format!("{prefix}{name} closes without opening"),
                    });
                }
            }
            continue;
        }
        // The book's other anchors are noise in a starter.
        if is_anchor(line) && (level != Level::Bodies || open.is_none()) {
            continue;
        }
        match &mut open {
            Some((m, _)) => {
                m.lines += 1;
                if level == Level::Probe {
                    out.push_str(line);
                    out.push('\n');
                    out_lines += 1;
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
                out_lines += 1;
            }
        }
    }
    if let Some((m, _)) = open {
        return Err(MarkerError {
            line: m.line,
            what: format!("{prefix}{} never closes", m.name),
        });
    }
    Ok((out, marked))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
fn encode(key: &[u8]) -> Vec<u8> {
    // ANCHOR: todo_encode Write the key's length, then the key.
    let mut out = Vec::new();
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out
    // ANCHOR_END: todo_encode
}
// ANCHOR: listing
fn kept() {}
// ANCHOR_END: listing
";

    #[test]
    fn a_marked_body_becomes_todo_with_its_hint() {
        let (out, marked) = strip(SOURCE).unwrap();
        assert_eq!(
            out,
            "\
fn encode(key: &[u8]) -> Vec<u8> {
    todo!(\"Write the key's length, then the key.\")
}
fn kept() {}
"
        );
        assert_eq!(
            marked,
            [Marked {
                name: "encode".into(),
                hint: "Write the key's length, then the key.".into(),
                line: 2,
                starter_line: 2,
                lines: 4,
            }]
        );
    }

    #[test]
    fn markers_that_do_not_pair_are_errors() {
        let unclosed = "// ANCHOR: todo_a hint\nx\n";
        assert_eq!(strip(unclosed).unwrap_err().line, 1);
        let stray = "x\n// ANCHOR_END: todo_a\n";
        assert_eq!(strip(stray).unwrap_err().line, 2);
        let nested = "// ANCHOR: todo_a hint\n// ANCHOR: todo_b hint\n";
        assert!(strip(nested).unwrap_err().what.contains("nest"));
        let crossed = "// ANCHOR: todo_a hint\n// ANCHOR_END: todo_b\n";
        assert!(strip(crossed).unwrap_err().what.contains("todo_a is open"));
        let silent = "// ANCHOR: todo_a\n// ANCHOR_END: todo_a\n";
        assert!(strip(silent).unwrap_err().what.contains("no hint"));
    }

    #[test]
    fn an_iterator_body_becomes_an_iterator_that_stops_at_todo() {
        let source = "fn f() -> impl Iterator<Item = u8> {\n    // ANCHOR: todo_iter_f Count.\n    0..3\n    // ANCHOR_END: todo_iter_f\n}\n";
        let (out, _) = strip(source).unwrap();
        assert!(
            out.contains("    std::iter::from_fn(|| todo!(\"Count.\"))\n"),
            "{out}"
        );
    }

    #[test]
    fn braces_in_a_hint_are_not_format_arguments() {
        let source = "fn f() {\n    // ANCHOR: todo_f Write {\"hex\": ...}.\n    x()\n    // ANCHOR_END: todo_f\n}\n";
        let (out, _) = strip(source).unwrap();
        assert!(out.contains(r#"todo!("Write {{\"hex\": ...}}.")"#), "{out}");
    }

    const CHECKED: &str = "\
fn decode(bytes: &[u8]) -> Result<u8> {
    // ANCHOR: todo_decode Read the byte.
    // ANCHOR: armour_short Refuse an empty input.
    if bytes.is_empty() {
        return Err(short());
    }
    // ANCHOR_END: armour_short
    Ok(bytes[0])
    // ANCHOR_END: todo_decode
}
";

    #[test]
    fn the_bodies_starter_takes_the_checks_with_the_bodies() {
        let (out, marked) = strip(CHECKED).unwrap();
        assert_eq!(
            out,
            "fn decode(bytes: &[u8]) -> Result<u8> {\n    todo!(\"Read the byte.\")\n}\n"
        );
        assert_eq!(marked[0].lines, 6);
    }

    #[test]
    fn the_armour_starter_gives_the_body_and_leaves_out_the_check() {
        let (out, marked) = strip_at(CHECKED, Level::Armour).unwrap();
        assert_eq!(
            out,
            "fn decode(bytes: &[u8]) -> Result<u8> {\n    \
             // TODO (armour): Refuse an empty input.\n    Ok(bytes[0])\n}\n"
        );
        assert_eq!(marked.len(), 1);
        assert_eq!(
            (marked[0].name.as_str(), marked[0].starter_line),
            ("short", 2)
        );
    }

    #[test]
    fn a_probe_switches_each_check_off_by_name() {
        let (out, _) = strip_at(CHECKED, Level::Probe).unwrap();
        assert_eq!(
            out,
            "fn decode(bytes: &[u8]) -> Result<u8> {\n    \
             if !crate::armour_off(\"short\") {\n    if bytes.is_empty() {\n        \
             return Err(short());\n    }\n    }\n    Ok(bytes[0])\n}\n"
        );
    }

    #[test]
    fn a_check_that_straddles_a_body_is_an_error() {
        let source = "// ANCHOR: armour_c Check.\n// ANCHOR: todo_b Body.\nx\n\
                      // ANCHOR_END: armour_c\n// ANCHOR_END: todo_b\n";
        for level in [Level::Bodies, Level::Armour, Level::Probe] {
            let e = strip_at(source, level).unwrap_err();
            assert_eq!(e.line, 2, "{e}");
            assert!(e.what.contains("armour_c"), "{e}");
        }
    }

    #[test]
    fn a_file_without_markers_is_unchanged() {
        let (out, marked) = strip("fn a() {}\n/// ANCHOR: in a doc comment\n").unwrap();
        assert_eq!(out, "fn a() {}\n/// ANCHOR: in a doc comment\n");
        assert!(marked.is_empty());
    }
}

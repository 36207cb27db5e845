//! The book's text diagrams, checked as a reader sees them.
//!
//! A diagram in a ```` ```text ```` block is cut off on the page past 80
//! columns, and a box drawn with `┌─┐ │ │ └─┘` whose edges do not line up
//! reads as a mistake in the format it describes. Both are easy to make
//! by hand and invisible in a diff, so `cargo test` checks every page:
//! each text block, with its `{{#include …}}` lines replaced by what they
//! include (the byte snapshots the pages show are included that way).
//!
//! It also checks that every listing of the project's code or files (a
//! code block that includes from `../../`) is captioned with the file it
//! comes from, in the line after the block: `*`path`*`.

use std::fmt;
use std::path::{Path, PathBuf};

/// The page's width in columns: what a code block shows without cutting.
pub const MAX_COLUMNS: usize = 80;

/// One problem with one line of a diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The page.
    pub page: PathBuf,
    /// The line of the page: the text line, or the include that brought
    /// it in.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.page.display(), self.line, self.what)
    }
}

/// A line of a text block as the reader sees it, with the page line it
/// comes from.
struct Shown {
    line: usize,
    text: String,
}

/// Every problem in the text blocks of the page at `page`. An include
/// that cannot be read is a problem too (mdBook would show the reader an
/// error in its place).
pub fn check_page(page: &Path) -> Result<Vec<Problem>, String> {
    let source =
        std::fs::read_to_string(page).map_err(|e| format!("reading {}: {e}", page.display()))?;
    let dir = page.parent().unwrap_or(Path::new("."));
    let mut problems: Vec<Problem> = uncaptioned(&source)
        .into_iter()
        .map(|line| Problem {
            page: page.to_path_buf(),
            line,
            what: "a listing of the project's code without a caption naming its file \
                   (*`path`* after the block)"
                .to_string(),
        })
        .collect();
    for block in text_blocks(&source) {
        let mut shown = Vec::new();
        for (line, text) in block {
            match include_target(text) {
                Some(target) => match expand(dir, target) {
                    Ok(lines) => shown.extend(lines.into_iter().map(|text| Shown { line, text })),
                    Err(what) => problems.push(Problem {
                        page: page.to_path_buf(),
                        line,
                        what,
                    }),
                },
                None => shown.push(Shown {
                    line,
                    text: text.to_string(),
                }),
            }
        }
        problems.extend(
            check_diagram(&shown)
                .into_iter()
                .map(|(line, what)| Problem {
                    page: page.to_path_buf(),
                    line,
                    what,
                }),
        );
    }
    Ok(problems)
}

/// The page lines (from 1) of the code blocks in `source` that include
/// the project's files and have no caption after them: the next line that
/// is not blank must start with `*`` ` (the file's path, in italics).
pub fn uncaptioned(source: &str) -> Vec<usize> {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].trim_start().starts_with("```") {
            i += 1;
            continue;
        }
        let open = i;
        let mut close = i + 1;
        while close < lines.len() && !lines[close].trim_start().starts_with("```") {
            close += 1;
        }
        let includes_project = lines[open + 1..close.min(lines.len())]
            .iter()
            .any(|l| l.contains("{{#include ../../"));
        if includes_project {
            let caption = lines[close.saturating_add(1).min(lines.len())..]
                .iter()
                .find(|l| !l.trim().is_empty());
            if !caption.is_some_and(|l| l.starts_with("*`")) {
                out.push(open + 1);
            }
        }
        i = close + 1;
    }
    out
}

/// The ```` ```text ```` blocks of a page: each a list of (page line,
/// text) pairs, lines numbered from 1.
fn text_blocks(source: &str) -> Vec<Vec<(usize, &str)>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<(usize, &str)>> = None;
    for (i, line) in source.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match (&mut current, fence) {
            (None, true) if line.trim_start()[3..].trim() == "text" => current = Some(Vec::new()),
            (Some(_), true) => blocks.extend(current.take()),
            (Some(block), false) => block.push((i + 1, line)),
            _ => {}
        }
    }
    blocks
}

/// `path:range` of a line that is only an include directive.
fn include_target(line: &str) -> Option<&str> {
    let inner = line
        .trim()
        .strip_prefix("{{#include ")?
        .strip_suffix("}}")?;
    Some(inner.trim())
}

/// The lines an include brings in: mdBook's forms `path`, `path:N` (line
/// N), `path:A:B`, `path:A:`, `path::B` (lines, from 1), and `path:name`
/// (between the `ANCHOR: name` and `ANCHOR_END: name` lines, without
/// other anchor lines).
fn expand(dir: &Path, target: &str) -> Result<Vec<String>, String> {
    let (path, range) = match target.split_once(':') {
        Some((path, range)) => (path, Some(range)),
        None => (target, None),
    };
    let file = dir.join(path);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("the include {target} cannot be read: {e}"))?;
    let lines: Vec<&str> = text.lines().collect();
    let number = |s: &str| -> Result<Option<usize>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<usize>()
            .map(Some)
            .map_err(|_| format!("the include {target} has a range that is not a number"))
    };
    let picked: Vec<&str> = match range {
        None => lines,
        Some(range)
            if range.chars().next().is_some_and(|c| c.is_ascii_digit())
                || range.starts_with(':') =>
        {
            let (start, end) = match range.split_once(':') {
                Some((a, b)) => (number(a)?.unwrap_or(1), number(b)?),
                None => {
                    let n = number(range)?.unwrap_or(1);
                    (n, Some(n))
                }
            };
            let end = end.unwrap_or(lines.len()).min(lines.len());
            lines
                .get(start.saturating_sub(1)..end)
                .unwrap_or_default()
                .to_vec()
        }
        Some(anchor) => {
            let begin = format!("ANCHOR: {anchor}");
            let finish = format!("ANCHOR_END: {anchor}");
            let from = lines
                .iter()
                .position(|l| l.contains(&begin))
                .ok_or_else(|| format!("the include {target}: no anchor {anchor}"))?;
            lines[from + 1..]
                .iter()
                .take_while(|l| !l.contains(&finish))
                .filter(|l| !l.contains("ANCHOR"))
                .copied()
                .collect()
        }
    };
    Ok(picked.into_iter().map(str::to_string).collect())
}

/// Lines wider than the page, and boxes whose edges do not line up: from
/// each top-left corner `┌`, the box's right edge is the first `┐` after
/// it on that line, and every line below must carry `│` (or `├`, `┤`) at
/// both columns until a `└` at the left one meets a `┘` at the right one.
fn check_diagram(shown: &[Shown]) -> Vec<(usize, String)> {
    let rows: Vec<Vec<char>> = shown.iter().map(|s| s.text.chars().collect()).collect();
    let mut problems = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        if row.len() > MAX_COLUMNS {
            problems.push((
                shown[r].line,
                format!(
                    "a diagram line of {} columns, wider than the page's {MAX_COLUMNS}: {}",
                    row.len(),
                    shown[r].text.trim_end()
                ),
            ));
        }
        for (left, _) in row.iter().enumerate().filter(|(_, c)| **c == '┌') {
            // A top with no `┐` is a box left open to the right ("and so
            // on"): only its left edge is followed.
            let right = row[left + 1..]
                .iter()
                .position(|c| *c == '┐')
                .map(|p| left + 1 + p);
            if let Some(problem) = follow_box(&rows, r, left, right) {
                let (at, what) = problem;
                problems.push((shown[at.min(shown.len() - 1)].line, what));
            }
        }
    }
    problems
}

/// Follows the box whose top runs from `left` to `right` on row `top`
/// down to its bottom; the first row where an edge is missing, if any.
///
/// A right edge may end before the left one does, where the box narrows
/// (`├───┴───┘`): from there only the left edge is followed.
fn follow_box(
    rows: &[Vec<char>],
    top: usize,
    left: usize,
    mut right: Option<usize>,
) -> Option<(usize, String)> {
    let at = |row: &[char], col: usize| row.get(col).copied().unwrap_or(' ');
    for (r, row) in rows.iter().enumerate().skip(top + 1) {
        let l = at(row, left);
        let rt = right.map_or('│', |right| at(row, right));
        if l == '└' && matches!(rt, '┘' | '│') && right.is_none_or(|_| rt == '┘') {
            return None;
        }
        if l == '├' && rt == '┘' {
            right = None;
            continue;
        }
        if !matches!(l, '│' | '├') || !matches!(rt, '│' | '┤') {
            return Some((
                r,
                format!(
                    "the box from `{}` has {l:?} and {rt:?} where its edges should be \
                     (columns {} and {})",
                    rows[top].iter().collect::<String>().trim(),
                    left + 1,
                    right.map_or("none".to_owned(), |r| (r + 1).to_string())
                ),
            ));
        }
    }
    Some((
        rows.len(),
        format!("a box opened at column {} never closes", left + 1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> Vec<Shown> {
        text.lines()
            .enumerate()
            .map(|(i, t)| Shown {
                line: i + 1,
                text: t.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_listing_without_its_file_is_caught() {
        let page = "```rust\n{{#include ../../a/b.rs:x}}\n```\n\n*`a/b.rs`*\n\n\
                    ```rust\n{{#include ../../a/c.rs:y}}\n```\n\nText.\n\n\
                    ```sh\ncargo test\n```\n";
        assert_eq!(uncaptioned(page), [7]);
    }

    #[test]
    fn an_aligned_box_passes() {
        let ok = "┌── a ──┬─ b ─┐\n│ key   │ val │\n├───────┼─────┤\n└───────┴─────┘\n";
        assert_eq!(check_diagram(&shown(ok)), vec![]);
        let two = "┌─┐ ┌──┐\n│a│ │bc│\n└─┘ └──┘";
        assert_eq!(check_diagram(&shown(two)), vec![]);
        let open_right = "┌────┬─────\n│ a  │ …\n└────┴─────\n";
        assert_eq!(check_diagram(&shown(open_right)), vec![]);
        let narrowing = "┌───┬───┐\n│ a │ b │\n├───┼───┘\n│ c │\n└───┘\n";
        assert_eq!(check_diagram(&shown(narrowing)), vec![]);
    }

    #[test]
    fn a_ragged_right_edge_is_caught() {
        let ragged = "┌──────┐\n│ key   │\n└──────┘\n";
        let problems = check_diagram(&shown(ragged));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, 2);
    }

    #[test]
    fn a_bottom_that_does_not_meet_is_caught() {
        let short = "┌──────┐\n│ key  │\n└─────┘\n";
        assert_eq!(check_diagram(&shown(short)).len(), 1);
        let open = "┌──────┐\n│ key  │\n";
        assert_eq!(check_diagram(&shown(open)).len(), 1);
        let open_left = "┌──────\n│ key  \n ───── \n";
        assert_eq!(check_diagram(&shown(open_left)).len(), 1);
    }

    #[test]
    fn a_wide_line_is_caught_and_80_columns_pass() {
        let at_limit = "x".repeat(MAX_COLUMNS);
        assert_eq!(check_diagram(&shown(&at_limit)), vec![]);
        let wide = "─".repeat(MAX_COLUMNS + 1);
        let problems = check_diagram(&shown(&wide));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].1.contains("81 columns"), "{}", problems[0].1);
    }

    #[test]
    fn includes_are_expanded_as_mdbook_does() {
        let dir = tempdir();
        std::fs::write(
            dir.join("inc.txt"),
            "one\ntwo\nthree\n// ANCHOR: a\nfour\n// ANCHOR_END: a\n",
        )
        .unwrap();
        let e = |t: &str| expand(&dir, t).unwrap();
        assert_eq!(e("inc.txt").len(), 6);
        assert_eq!(e("inc.txt:2"), vec!["two"]);
        assert_eq!(e("inc.txt:2:3"), vec!["two", "three"]);
        assert_eq!(
            e("inc.txt:3:"),
            vec!["three", "// ANCHOR: a", "four", "// ANCHOR_END: a"]
        );
        assert_eq!(e("inc.txt::2"), vec!["one", "two"]);
        assert_eq!(e("inc.txt:a"), vec!["four"]);
        assert!(expand(&dir, "missing.txt").is_err());
        assert!(expand(&dir, "inc.txt:nope").is_err());
    }

    #[test]
    fn a_page_is_checked_with_its_includes() {
        let dir = tempdir();
        std::fs::write(dir.join("wide.txt"), format!("{}\n", "y".repeat(90))).unwrap();
        let page = dir.join("page.md");
        std::fs::write(
            &page,
            "text\n\n```text\n┌─┐\n│a│\n└─┘\n{{#include wide.txt}}\n```\n\n```rust\nlet x = \"┌\";\n```\n",
        )
        .unwrap();
        let problems = check_page(&page).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 7, "the include's line");
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "book-check-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

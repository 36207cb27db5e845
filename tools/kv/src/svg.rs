//! `cargo kv svg`: an LSM tree drawn as its levels.
//!
//! One row per level, each table a rectangle spanning its key range: the
//! picture shows at a glance what the text of `inspect` says in numbers,
//! that level 0's tables overlap (each holds one memtable's keys) and a
//! deeper level's tile the key space without overlapping.
//!
//! Keys are not numbers, so the x axis cannot be their value. It is
//! their rank instead: every table's first and last key, sorted and
//! deduplicated, spread evenly across the width. That is deterministic
//! (the same store, the same picture), keeps every table visible however
//! skewed the keys, and puts tables that share keys one above the other.
//!
//! The SVG is written by hand as text: a few rectangles and labels need
//! no plotting library, and the text diffs well in a snapshot.

use std::fmt::Write as _;
use std::path::Path;

use ch00_contract::Result;
use ch06_lsm::files::{self, MANIFEST};
use ch06_lsm::manifest::Manifest;
use ch06_lsm::tables::{LiveTable, Upper};
use disk::Disk;

use crate::text::escape_short;

/// The picture's width in pixels.
pub const WIDTH: u32 = 800;
const LABEL_WIDTH: u32 = 50;
const MARGIN: u32 = 16;
const ROW_HEIGHT: u32 = 28;
const LANE_HEIGHT: u32 = 22;
const TOP: u32 = 40;

/// One table as the picture needs it.
#[derive(Clone, Debug)]
struct Drawn {
    number: u64,
    /// The smallest key it says something about, `None` if it holds none.
    lower: Option<Vec<u8>>,
    /// The largest, `None` for a range tombstone with no end (or none).
    upper: Option<Vec<u8>>,
}

/// The SVG of the LSM store in `dir`, read from its manifest and tables
/// without opening the store (which would change its files).
pub fn svg(dir: &Path) -> Result<String> {
    if crate::inspect::recognise(dir)? != crate::inspect::Format::LsmDir {
        return Err(ch00_contract::Error::InvalidInput(format!(
            "{} is not a chapter 6 store's directory (no MANIFEST in it): only an LSM tree \
             has levels to draw",
            dir.display()
        )));
    }
    let manifest_path = dir.join(MANIFEST);
    let bytes = std::fs::read(&manifest_path)
        .map_err(|e| ch00_contract::Error::io("reading", &manifest_path, e))?;
    let manifest = Manifest::decode(&manifest_path, &bytes)?;
    let disk = Disk::real();
    let mut levels: Vec<Vec<Drawn>> = Vec::new();
    for numbers in &manifest.levels {
        let mut tables = Vec::new();
        for &number in numbers {
            let table = LiveTable::open(&disk, &files::table_path(dir, number), number)?;
            tables.push(Drawn {
                number,
                lower: table.lower().map(<[u8]>::to_vec),
                upper: match table.upper() {
                    Some(Upper::Included(k) | Upper::Excluded(k)) => Some(k.to_vec()),
                    Some(Upper::Unbounded) | None => None,
                },
            });
        }
        levels.push(tables);
    }
    Ok(draw(&levels))
}

/// The picture of `levels`: everything but the reading, so that it is a
/// function of the tables' numbers and keys alone.
fn draw(levels: &[Vec<Drawn>]) -> String {
    let deepest = levels.iter().rposition(|l| !l.is_empty()).unwrap_or(0);
    let levels = &levels[..=deepest.min(levels.len().saturating_sub(1))];

    // The key axis: every boundary key, by rank.
    let mut keys: Vec<&[u8]> = levels
        .iter()
        .flatten()
        .flat_map(|t| [t.lower.as_deref(), t.upper.as_deref()])
        .flatten()
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let left = LABEL_WIDTH + MARGIN;
    let span = WIDTH - left - MARGIN;
    let x_of = |key: Option<&[u8]>, unbounded_at_end: bool| -> f64 {
        let rank = match key {
            Some(k) => keys.binary_search(&k).unwrap_or_else(|i| i),
            None if unbounded_at_end => keys.len().saturating_sub(1),
            None => 0,
        };
        let steps = keys.len().saturating_sub(1).max(1);
        f64::from(left) + f64::from(span) * rank as f64 / steps as f64
    };

    // Level 0's tables overlap: one lane each, newest at the top (the
    // order a read asks them in). A deeper level fits in one lane.
    let lanes: Vec<usize> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l.len().max(1) } else { 1 })
        .collect();
    let height: u32 = TOP
        + lanes
            .iter()
            .map(|&n| ROW_HEIGHT - LANE_HEIGHT + LANE_HEIGHT * n as u32)
            .sum::<u32>()
        + 40;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let tables: usize = levels.iter().map(Vec::len).sum();
    let _ = writeln!(
        out,
        r#"  <text x="{MARGIN}" y="24" font-size="14">LSM tree: {tables} tables; x is a key's rank among the tables' first and last keys</text>"#
    );
    let mut y = TOP;
    for (level, tables) in levels.iter().enumerate() {
        let row = ROW_HEIGHT - LANE_HEIGHT + LANE_HEIGHT * lanes[level] as u32;
        let _ = writeln!(
            out,
            r##"  <rect x="0" y="{y}" width="{WIDTH}" height="{row}" fill="{}"/>"##,
            if level % 2 == 0 { "#f4f4f4" } else { "#ffffff" }
        );
        let _ = writeln!(
            out,
            r#"  <text x="{MARGIN}" y="{}">L{level}</text>"#,
            y + row / 2 + 4
        );
        for (i, table) in tables.iter().enumerate() {
            let lane = if level == 0 { tables.len() - 1 - i } else { 0 };
            let top = y + (ROW_HEIGHT - LANE_HEIGHT) / 2 + LANE_HEIGHT * lane as u32;
            let x0 = x_of(table.lower.as_deref(), false);
            let x1 = x_of(table.upper.as_deref(), true);
            // A table of one key is a line by rank: widen it to be seen.
            let (x0, x1) = if x1 - x0 < 6.0 {
                let mid = (x0 + x1) / 2.0;
                (mid - 3.0, mid + 3.0)
            } else {
                (x0, x1)
            };
            let _ = writeln!(
                out,
                r##"  <rect x="{x0:.1}" y="{top}" width="{:.1}" height="{}" rx="3" fill="#9ecae1" stroke="#3182bd"><title>{:06}.sst: {} to {}</title></rect>"##,
                x1 - x0,
                LANE_HEIGHT - 4,
                table.number,
                xml(&table
                    .lower
                    .as_deref()
                    .map_or("-".to_owned(), |k| escape_short(k, 32))),
                xml(&table
                    .upper
                    .as_deref()
                    .map_or("the end".to_owned(), |k| escape_short(k, 32))),
            );
            let _ = writeln!(
                out,
                r#"  <text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                (x0 + x1) / 2.0,
                top + LANE_HEIGHT / 2 + 2,
                table.number
            );
        }
        y += row;
    }
    // The key axis's two ends.
    if let (Some(first), Some(last)) = (keys.first(), keys.last()) {
        let _ = writeln!(
            out,
            r#"  <text x="{left}" y="{}">{}</text>"#,
            y + 18,
            xml(&escape_short(first, 32))
        );
        let _ = writeln!(
            out,
            r#"  <text x="{}" y="{}" text-anchor="end">{}</text>"#,
            WIDTH - MARGIN,
            y + 18,
            xml(&escape_short(last, 32))
        );
    }
    out.push_str("</svg>\n");
    out
}

/// `text` with XML's special characters escaped.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_tree_is_a_picture_too() {
        let svg = draw(&vec![Vec::new(); 7]);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains(">L0<"), "{svg}");
        assert!(!svg.contains(">L1<"), "{svg}");
    }

    #[test]
    fn tables_are_placed_by_key_rank() {
        let t = |number, lower: &[u8], upper: &[u8]| Drawn {
            number,
            lower: Some(lower.to_vec()),
            upper: Some(upper.to_vec()),
        };
        let levels = vec![
            vec![t(5, b"a", b"z")],
            vec![t(3, b"a", b"m"), t(4, b"n", b"z")],
        ];
        let svg = draw(&levels);
        // Four keys, three steps over the span: "a" at the left edge.
        assert!(svg.contains(r#"<rect x="66.0""#), "{svg}");
        assert!(svg.contains("&quot;a&quot;"), "{svg}");
    }
}

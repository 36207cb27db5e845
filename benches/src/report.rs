//! Turning measurements into tables: for the terminal, for the book.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::machine::Machine;
use crate::run::{Footprint, Measurement, Outcome, Settings, Skip, SpaceAfter};
use crate::subjects::Subject;
use crate::workload::{Budget, Workload};

/// A subject as the report describes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubjectInfo {
    /// Name.
    pub name: String,
    /// One line on what it is.
    pub description: String,
    /// A peer rather than a stage of the book.
    pub is_peer: bool,
    /// Its durability, as text.
    pub durability: String,
}

impl SubjectInfo {
    // ANCHOR: class
    /// The subject's durability class, short: what survives a crash of
    /// the process, then what survives a power loss (`every / synced`:
    /// every write survives a crash, synced writes a power loss). Ratios
    /// mean most between subjects of one class: a store that promises
    /// less can skip work that one promising more must do.
    pub fn class(&self) -> String {
        let promise = |what: &str| -> &str {
            let Some(rest) = self.durability.split(what).nth(1) else {
                return "?";
            };
            let said = rest.split(';').next().unwrap_or_default().trim();
            match said {
                "every write" => "every",
                "nothing" | "no promise" => "none",
                s if s.starts_with("synced writes") => "synced",
                _ => "?",
            }
        };
        format!("{} / {}", promise("process crash:"), promise("power loss:"))
    }
    // ANCHOR_END: class
}

/// Everything a comparison run produced; saved as JSON beside the tables.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Where and when it ran.
    pub machine: Machine,
    /// Key counts run.
    pub sizes: Vec<u64>,
    /// Repetitions per measurement, at most.
    pub reps: usize,
    /// Seconds after which no further repetition starts.
    pub rep_seconds: f64,
    /// Work per measurement.
    pub budget: Budget,
    /// Whether this was a `--quick` run.
    pub quick: bool,
    /// The subjects, in report order.
    pub subjects: Vec<SubjectInfo>,
    /// Peer settings worth stating next to the figures.
    pub notes: Vec<String>,
    /// Timings.
    pub measurements: Vec<Measurement>,
    /// Space.
    pub footprints: Vec<Footprint>,
    /// Space after the workloads that leave stale data (absent from
    /// results written before it was measured).
    #[serde(default)]
    pub spaces: Vec<SpaceAfter>,
    /// What did not run, and why.
    pub skips: Vec<Skip>,
    /// The amplification figures, one row per subject: derived from the
    /// measurements and spaces above (see [`Report::amplification_rows`])
    /// and kept here so that a reader of the JSON need not derive them.
    #[serde(default)]
    pub amplification: Vec<Amplification>,
}

// ANCHOR: amplification
/// How much a subject's disk does for the bytes a user writes and keeps,
/// at one size. Every figure is `None` where it was not measured or the
/// subject does not count it: a report never shows a made-up ratio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Amplification {
    /// The subject's name.
    pub subject: String,
    /// Keys in the store: the largest size the subject's figures were
    /// measured at.
    pub n: u64,
    /// Write amplification of `fill-random`: bytes written to files per
    /// byte of keys and values set.
    pub write_fill: Option<f64>,
    /// Write amplification of `overwrite-all`, compactions included.
    pub write_overwrite: Option<f64>,
    /// Space amplification after `overwrite-all`: bytes allocated on disk
    /// per byte of keys and values still live.
    pub space_after_overwrite: Option<f64>,
    /// Space amplification after `delete-most`.
    pub space_after_delete: Option<f64>,
    /// Tables consulted per get of a present key (`get-uniform`).
    pub tables_per_get: Option<f64>,
    /// Tables consulted per get of an absent key (`get-missing`), Bloom
    /// filters that answered alone included.
    pub tables_per_missing_get: Option<f64>,
}
// ANCHOR_END: amplification

/// A table: a header row and body rows of cells.
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
    /// How many leading columns hold words, aligned left; the rest hold
    /// figures, aligned right.
    pub text_columns: usize,
}

impl Table {
    /// Columns padded to line up, for a terminal.
    pub fn to_text(&self) -> String {
        let cols = self.header.len();
        let mut widths = vec![0; cols];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |row: &[String]| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i < self.text_columns {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        };
        let mut out = line(&self.header);
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }

    /// A Markdown table.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.header.join(" | "));
        let align: Vec<&str> = (0..self.header.len())
            .map(|i| if i < self.text_columns { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "| {} |", align.join(" | "));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }
}

/// A growth fit as a cell: `+0.64 (r² 0.98)`.
fn fit_cell(fit: GrowthFit) -> String {
    format!("{:+.2} (r² {:.2})", fit.slope, fit.r2)
}

/// `1234567.0` as `1.23 M`.
pub fn si(x: f64) -> String {
    let (v, unit) = match x.abs() {
        a if a >= 1e9 => (x / 1e9, " G"),
        a if a >= 1e6 => (x / 1e6, " M"),
        a if a >= 1e3 => (x / 1e3, " k"),
        _ => (x, ""),
    };
    if v.abs() >= 100.0 {
        format!("{v:.0}{unit}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

/// Bytes with binary units: `1.5 MiB`.
pub fn bytes(b: u64) -> String {
    let x = b as f64;
    match b {
        b if b >= 1 << 30 => format!("{:.2} GiB", x / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", x / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", x / 1024.0),
        b => format!("{b} B"),
    }
}

/// A key count as `1k`, `100k`, `1M`.
pub fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

// ANCHOR: slope
/// How the cost of one operation grows with the data: the slope of the
/// least-squares line through (log N, log seconds-per-operation), and how
/// well that line fits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrowthFit {
    /// The growth exponent. About 0: the cost per operation does not grow
    /// with the data; about 1: it grows in proportion (an open that reads
    /// everything, a scan of every key).
    pub slope: f64,
    /// The share of the variation the line explains (r²): near 1, the
    /// cost follows a power of N; well below, it does not (a fixed cost
    /// that dominates the small sizes, or a change of regime), and the
    /// slope alone misleads.
    pub r2: f64,
}

/// The fewest sizes a slope is fitted over. Through two or three points
/// a line always fits, or nearly, whatever the costs do between them; a
/// fixed cost that dominates the smallest size then passes for a falling
/// cost per operation.
pub const MIN_FIT_SIZES: usize = 4;

/// The growth fit of `(N, seconds per operation)` points, if they cover
/// at least [`MIN_FIT_SIZES`] sizes.
pub fn growth_fit(points: &[(u64, f64)]) -> Option<GrowthFit> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(n, c)| *n > 0 && *c > 0.0 && c.is_finite())
        .map(|&(n, c)| ((n as f64).ln(), c.ln()))
        .collect();
    let distinct: BTreeSet<u64> = points.iter().map(|p| p.0).collect();
    if distinct.len() < MIN_FIT_SIZES || pts.len() < MIN_FIT_SIZES {
        return None;
    }
    let k = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / k;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / k;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    // A cost that does not vary at all is fitted perfectly by a flat line.
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        1.0
    };
    Some(GrowthFit {
        slope: sxy / sxx,
        r2,
    })
}
// ANCHOR_END: slope

impl Report {
    /// An empty report for a run of `subjects` at `sizes`.
    pub fn new(
        machine: Machine,
        subjects: &[Subject],
        sizes: &[u64],
        settings: Settings,
        quick: bool,
    ) -> Report {
        Report {
            machine,
            sizes: sizes.to_vec(),
            reps: settings.reps,
            rep_seconds: settings.rep_seconds,
            budget: settings.budget,
            quick,
            subjects: subjects
                .iter()
                .map(|s| SubjectInfo {
                    name: s.name.to_string(),
                    description: s.description.to_string(),
                    is_peer: s.is_peer,
                    durability: s.durability.to_string(),
                })
                .collect(),
            notes: Vec::new(),
            measurements: Vec::new(),
            footprints: Vec::new(),
            spaces: Vec::new(),
            skips: Vec::new(),
            amplification: Vec::new(),
        }
    }

    /// Adds what one subject at one size produced.
    pub fn add(&mut self, outcome: Outcome) {
        self.measurements.extend(outcome.measurements);
        self.footprints.extend(outcome.footprint);
        self.spaces.extend(outcome.spaces);
        self.skips.extend(outcome.skips);
        self.amplification = self.amplification_rows();
    }

    /// The workloads the amplification figures come from.
    const AMPLIFICATION_WORKLOADS: [Workload; 5] = [
        Workload::FillRandom,
        Workload::OverwriteAll,
        Workload::DeleteMost,
        Workload::GetUniform,
        Workload::GetMissing,
    ];

    /// One [`Amplification`] row per subject that ran any of the workloads
    /// it comes from, at the largest size it ran one at (a subject limited
    /// to smaller sizes still gets its row).
    pub fn amplification_rows(&self) -> Vec<Amplification> {
        let mut rows = Vec::new();
        for s in &self.subjects {
            let Some(n) = self
                .measurements
                .iter()
                .filter(|m| m.subject == s.name)
                .filter(|m| Self::AMPLIFICATION_WORKLOADS.contains(&m.workload))
                .map(|m| m.n)
                .max()
            else {
                continue;
            };
            let find = |w| self.find(&s.name, w, n);
            let space = |w| {
                self.spaces
                    .iter()
                    .find(|a| a.subject == s.name && a.workload == w && a.n == n)
                    .and_then(SpaceAfter::amplification)
            };
            rows.push(Amplification {
                subject: s.name.clone(),
                n,
                write_fill: find(Workload::FillRandom).and_then(Measurement::write_amplification),
                write_overwrite: find(Workload::OverwriteAll)
                    .and_then(Measurement::write_amplification),
                space_after_overwrite: space(Workload::OverwriteAll),
                space_after_delete: space(Workload::DeleteMost),
                tables_per_get: find(Workload::GetUniform).and_then(|m| m.tables_per_get),
                tables_per_missing_get: find(Workload::GetMissing).and_then(|m| m.tables_per_get),
            });
        }
        rows
    }

    /// Amplification: a row per subject, at the largest size of the run
    /// (a subject whose figures stop below it says at which N).
    pub fn amplification_table(&self) -> Table {
        let header = [
            "subject",
            "write amp: fill-random",
            "write amp: overwrite-all",
            "space amp after overwrite-all",
            "space amp after delete-most",
            "tables per get (present / missing)",
        ]
        .map(String::from)
        .to_vec();
        let largest = self.sizes.iter().copied().max().unwrap_or(0);
        let ratio = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{x:.2}"));
        let rows = self
            .amplification_rows()
            .into_iter()
            .map(|a| {
                let name = if a.n == largest {
                    a.subject.clone()
                } else {
                    format!("{} (N={})", a.subject, count(a.n))
                };
                let tables = match (a.tables_per_get, a.tables_per_missing_get) {
                    (None, None) => "—".to_string(),
                    (present, missing) => format!("{} / {}", ratio(present), ratio(missing)),
                };
                vec![
                    name,
                    ratio(a.write_fill),
                    ratio(a.write_overwrite),
                    ratio(a.space_after_overwrite),
                    ratio(a.space_after_delete),
                    tables,
                ]
            })
            .collect();
        Table {
            header,
            rows,
            text_columns: 1,
        }
    }

    /// What the amplification table's figures are, in one paragraph.
    pub fn amplification_note(&self) -> String {
        format!(
            "At N = {n} unless the row says otherwise. *Write amp* is bytes written to files \
             per byte of keys and values set (keys only, for deletes), from the store's own \
             counter: `—` where the subject does not count what it writes. *Space amp* is \
             bytes allocated on disk per byte of keys and values still live, measured after the \
             workload's sync once the store has settled (compactions included): `—` for a \
             store that keeps no files. *Tables per get* counts every table a get consults, \
             Bloom filters that answer alone included, where the subject counts it.",
            n = count(self.sizes.iter().copied().max().unwrap_or(0))
        )
    }

    /// The measurement of one subject, workload and size.
    pub fn find(&self, subject: &str, w: Workload, n: u64) -> Option<&Measurement> {
        self.measurements
            .iter()
            .find(|m| m.subject == subject && m.workload == w && m.n == n)
    }

    /// The sizes at which workload `w` was measured for anyone.
    pub fn sizes_of(&self, w: Workload) -> Vec<u64> {
        let set: BTreeSet<u64> = self
            .measurements
            .iter()
            .filter(|m| m.workload == w)
            .map(|m| m.n)
            .collect();
        set.into_iter().collect()
    }

    /// The workloads that were measured, in report order.
    pub fn workloads(&self) -> Vec<Workload> {
        Workload::ALL
            .into_iter()
            .filter(|w| self.measurements.iter().any(|m| m.workload == *w))
            .collect()
    }

    /// What workload `w` does, with this run's settings where they matter.
    pub fn describe(&self, w: Workload) -> String {
        match w {
            Workload::FillBatch => format!(
                "insert the keys of fill-random, in the same order, in write batches of {} \
                 keys, then sync",
                self.budget.batch_len
            ),
            _ => w.describe().to_string(),
        }
    }

    /// The stamp and the list of subjects with their durability: the head
    /// of a page that shows some of a run's tables.
    pub fn subjects_markdown(&self) -> String {
        let mut out = format!("{}\n\n**Subjects**\n\n", self.stamp());
        for s in &self.subjects {
            let _ = writeln!(
                out,
                "- `{}` ({}, {}): {}",
                s.name,
                if s.is_peer { "peer" } else { "stage" },
                s.durability,
                s.description
            );
        }
        out
    }

    /// The space and memory tables with what they measure, for a page
    /// that shows them without the rest of the run.
    pub fn space_markdown(&self) -> String {
        format!(
            "Measured after the random fill and its sync. *Logical* is the bytes of keys and \
             values; *allocated* counts the file system's blocks, which is what the disk \
             really gives up. *Peak heap while opening* is measured on the first open of \
             `reopen`: what the open store holds, and what it needed on the way.\n\n{}\n\
             Memory, measured at the same moments:\n\n{}",
            self.space_table().to_markdown(),
            self.memory_table().to_markdown()
        )
    }

    /// The "Not run" list: one line per subject and reason, naming the
    /// workloads and sizes it covers, so that a gap repeated at every size
    /// is said once.
    pub fn not_run(&self) -> Vec<String> {
        // Subject, reason, the workloads (none: every one) and the sizes.
        type Group<'a> = (&'a str, &'a str, Vec<Option<Workload>>, Vec<u64>);
        let mut groups: Vec<Group> = Vec::new();
        for skip in &self.skips {
            let at = groups
                .iter()
                .position(|g| g.0 == skip.subject && g.1 == skip.reason);
            let group = match at {
                Some(i) => &mut groups[i],
                None => {
                    groups.push((&skip.subject, &skip.reason, Vec::new(), Vec::new()));
                    let last = groups.len() - 1;
                    &mut groups[last]
                }
            };
            if !group.2.contains(&skip.workload) {
                group.2.push(skip.workload);
            }
            if !group.3.contains(&skip.n) {
                group.3.push(skip.n);
            }
        }
        groups
            .into_iter()
            .map(|(subject, reason, workloads, mut sizes)| {
                let what = workloads
                    .iter()
                    .map(|w| w.map_or("every workload".to_string(), |w| format!("`{}`", w.name())))
                    .collect::<Vec<_>>()
                    .join(", ");
                sizes.sort_unstable();
                let at = if sizes == self.sizes && sizes.len() > 1 {
                    "at every size".to_string()
                } else {
                    format!(
                        "at N = {}",
                        sizes
                            .iter()
                            .map(|&n| count(n))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                format!("`{subject}`, {what}, {at}: {reason}")
            })
            .collect()
    }

    /// What one workload does and what one operation is, as a sentence.
    pub fn workload_sentence(&self, w: Workload) -> String {
        format!(
            "{}. One operation is one {}{}.",
            capitalise(&self.describe(w)),
            w.unit(),
            if w.times_final_sync() {
                ", with its share of the final sync"
            } else {
                ""
            }
        )
    }

    /// One workload's table with a caption naming it, for a page that
    /// shows only some workloads: several tables one after another must
    /// say which is which.
    pub fn captioned_workload_table(&self, w: Workload) -> String {
        format!(
            "**`{}`**: {}\n\n{}",
            w.name(),
            self.workload_sentence(w),
            self.workload_table(w).to_markdown()
        )
    }

    /// The growth fit of one subject on one workload.
    pub fn slope(&self, subject: &str, w: Workload) -> Option<GrowthFit> {
        let points: Vec<(u64, f64)> = self
            .measurements
            .iter()
            .filter(|m| m.subject == subject && m.workload == w)
            .map(|m| (m.n, m.secs_per_op()))
            .collect();
        growth_fit(&points)
    }

    /// The best rate on `w` at `n`, among the subjects `alike` accepts.
    fn best_ops(&self, w: Workload, n: u64, alike: impl Fn(&str) -> bool) -> Option<f64> {
        self.measurements
            .iter()
            .filter(|m| m.workload == w && m.n == n && alike(&m.subject))
            .map(Measurement::ops_per_sec)
            .fold(None, |acc, x| Some(acc.map_or(x, |a: f64| a.max(x))))
    }

    /// The durability class of the subject named `name`.
    fn class_of(&self, name: &str) -> Option<String> {
        self.subjects
            .iter()
            .find(|s| s.name == name)
            .map(SubjectInfo::class)
    }

    // ANCHOR: workload_table
    /// One table per workload: a row per subject; ops/s and spread at each
    /// size; at the largest size, the ratio to the fastest subject and the
    /// reads (and bytes read) per operation; and the growth slope over all
    /// sizes.
    pub fn workload_table(&self, w: Workload) -> Table {
        let sizes = self.sizes_of(w);
        let largest = sizes.last().copied().unwrap_or(0);
        let mut header = vec![
            "subject".to_string(),
            "survives (crash / power)".to_string(),
        ];
        header.extend(
            sizes
                .iter()
                .map(|n| format!("N={} ops/s (±spread)", count(*n))),
        );
        // A column that would say nothing is left out: the ratio to the
        // fastest alike where every subject is of one class (it is the
        // ratio to the fastest), the slope where too few sizes were run.
        let present: Vec<&SubjectInfo> = self
            .subjects
            .iter()
            .filter(|s| {
                self.measurements
                    .iter()
                    .any(|m| m.subject == s.name && m.workload == w)
            })
            .collect();
        let classes: BTreeSet<String> = present.iter().map(|s| s.class()).collect();
        let alike = classes.len() > 1;
        let fitted = sizes.len() >= MIN_FIT_SIZES;
        header.push(format!("× fastest at N={}", count(largest)));
        if alike {
            header.push(format!("× fastest alike at N={}", count(largest)));
        }
        header.push(format!("reads/op (bytes) at N={}", count(largest)));
        if fitted {
            header.push("growth slope".to_string());
        }
        let mut rows = Vec::new();
        for s in present {
            let class = s.class();
            let mut row = vec![s.name.clone(), class.clone()];
            for &n in &sizes {
                row.push(match self.find(&s.name, w, n) {
                    Some(m) if m.seconds.len() < 2 => format!("{} (1 run)", si(m.ops_per_sec())),
                    Some(m) => format!("{} (±{:.0}%)", si(m.ops_per_sec()), m.spread() * 50.0),
                    None => "—".to_string(),
                });
            }
            let at_largest = self.find(&s.name, w, largest);
            let ratio = |best: Option<f64>| match (at_largest, best) {
                (Some(m), Some(best)) => format!("{:.2}", best / m.ops_per_sec()),
                _ => "—".to_string(),
            };
            row.push(ratio(self.best_ops(w, largest, |_| true)));
            if alike {
                row.push(ratio(self.best_ops(w, largest, |name| {
                    self.class_of(name).as_ref() == Some(&class)
                })));
            }
            row.push(reads_cell(at_largest));
            if fitted {
                row.push(self.slope(&s.name, w).map_or("—".to_string(), fit_cell));
            }
            rows.push(row);
        }
        Table {
            header,
            rows,
            text_columns: 2,
        }
    }
    // ANCHOR_END: workload_table

    /// Space on disk: a row per subject and size.
    pub fn space_table(&self) -> Table {
        self.space_rows(|_| true)
    }

    /// Memory: a row per subject and size.
    pub fn memory_table(&self) -> Table {
        self.memory_rows(|_| true)
    }

    /// Space on disk, for the subjects `keep` accepts.
    fn space_rows(&self, keep: impl Fn(&str) -> bool) -> Table {
        let header = [
            "logical",
            "file bytes",
            "allocated on disk",
            "allocated / logical",
            "allocated per key",
            "files",
        ];
        self.footprint_rows(keep, &header, |f| {
            vec![
                bytes(f.logical_bytes),
                bytes(f.file_bytes),
                bytes(f.allocated_bytes),
                format!(
                    "{:.2}",
                    f.allocated_bytes as f64 / f.logical_bytes.max(1) as f64
                ),
                bytes(f.allocated_bytes / f.n.max(1)),
                f.files.to_string(),
            ]
        })
    }

    /// Memory, for the subjects `keep` accepts: a table of its own, so
    /// that neither is wider than a page.
    fn memory_rows(&self, keep: impl Fn(&str) -> bool) -> Table {
        let header = [
            "index in memory",
            "index per key",
            "peak heap while filling",
            "peak heap while opening",
        ];
        self.footprint_rows(keep, &header, |f| {
            vec![
                f.index_bytes.map_or("—".to_string(), bytes),
                f.index_bytes
                    .map_or("—".to_string(), |b| bytes(b / f.n.max(1))),
                f.peak_heap_bytes.map_or("—".to_string(), bytes),
                f.open_heap_bytes.map_or("—".to_string(), bytes),
            ]
        })
    }

    /// A row per subject `keep` accepts and size: the subject, N, then
    /// `cells` of its footprint under `header`.
    fn footprint_rows(
        &self,
        keep: impl Fn(&str) -> bool,
        header: &[&str],
        cells: impl Fn(&Footprint) -> Vec<String>,
    ) -> Table {
        let mut rows = Vec::new();
        for s in self.subjects.iter().filter(|s| keep(&s.name)) {
            for f in self.footprints.iter().filter(|f| f.subject == s.name) {
                let mut row = vec![s.name.clone(), count(f.n)];
                row.extend(cells(f));
                rows.push(row);
            }
        }
        Table {
            header: ["subject", "N"]
                .iter()
                .chain(header)
                .map(|h| h.to_string())
                .collect(),
            rows,
            text_columns: 1,
        }
    }

    /// One subject's figures on every workload, for its own chapter page.
    pub fn subject_table(&self, subject: &str) -> Table {
        let sizes: BTreeSet<u64> = self
            .measurements
            .iter()
            .filter(|m| m.subject == subject)
            .map(|m| m.n)
            .collect();
        let largest = sizes.last().copied().unwrap_or(0);
        let mut header = vec!["workload".to_string()];
        header.extend(sizes.iter().map(|n| format!("N={} ops/s", count(*n))));
        header.push(format!("reads/op (bytes) at N={}", count(largest)));
        header.push(format!("written/op at N={}", count(largest)));
        let fitted = sizes.len() >= MIN_FIT_SIZES;
        if fitted {
            header.push("growth slope".to_string());
        }
        let mut rows = Vec::new();
        for w in self.workloads() {
            if !self
                .measurements
                .iter()
                .any(|m| m.subject == subject && m.workload == w)
            {
                continue;
            }
            let mut row = vec![w.name().to_string()];
            for &n in &sizes {
                row.push(
                    self.find(subject, w, n)
                        .map_or("—".to_string(), |m| si(m.ops_per_sec())),
                );
            }
            let at_largest = self.find(subject, w, largest);
            row.push(reads_cell(at_largest));
            row.push(
                at_largest
                    .and_then(|m| m.bytes_written_per_op)
                    .map_or("—".to_string(), |b| bytes(b.round() as u64)),
            );
            if fitted {
                row.push(self.slope(subject, w).map_or("—".to_string(), fit_cell));
            }
            rows.push(row);
        }
        Table {
            header,
            rows,
            text_columns: 1,
        }
    }

    /// One subject's space at every size, for its own chapter page.
    pub fn subject_space_table(&self, subject: &str) -> Table {
        self.space_rows(|name| name == subject)
    }

    /// One subject's memory at every size, for its own chapter page.
    pub fn subject_memory_table(&self, subject: &str) -> Table {
        self.memory_rows(|name| name == subject)
    }

    /// The lines that say where the figures come from.
    pub fn stamp(&self) -> String {
        let m = &self.machine;
        // Only what the page's figures need: the rule for slow short scans
        // where there are short scans, the spread where there are repeats.
        let repeats = if self.reps > 1 {
            format!(
                "{} repetitions per figure, or one when a single run takes {:.0} s or more \
                 (median shown; ± is half the spread between the fastest and slowest \
                 repetition, as a share of the median).",
                self.reps, self.rep_seconds
            )
        } else {
            "One repetition per figure.".to_string()
        };
        let scans = if self
            .measurements
            .iter()
            .any(|m| m.workload == Workload::ScanShort)
        {
            format!(
                " A subject that slow on `scan-short` stops after {:.0} s (and at least 10 \
                 scans) and its rate is over the scans it made.",
                self.rep_seconds
            )
        } else {
            String::new()
        };
        format!(
            "Measured on {date} with `{command}`: {cores} cores, {cpu}, {mem}, Linux {kernel}, \
             {fs} file system. {repeats}{scans} {values}-byte values, 16-byte keys.{quick}",
            date = m.date,
            command = m.command,
            cores = m.cores,
            cpu = m.cpu,
            mem = m.memory,
            kernel = m.kernel,
            fs = m.filesystem,
            values = self.budget.value_len,
            quick = if self.quick {
                " **A `--quick` run: a tiny size and a tenth of the work, for checking the harness, not for reading.**"
            } else {
                ""
            },
        )
    }

    /// The whole report as Markdown, for the book, with its charts in
    /// `book/src/generated/`.
    pub fn to_markdown(&self) -> String {
        self.to_markdown_with_charts_in("generated/")
    }

    /// The whole report as Markdown, its charts linked under `charts` (a
    /// path from the book's `src/`, ending in `/`).
    pub fn to_markdown_with_charts_in(&self, charts: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<!-- Generated by `cargo compare`; do not edit by hand. -->\n"
        );
        out.push_str(&self.subjects_markdown());
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\n**Settings**\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        if !self.skips.is_empty() {
            let _ = writeln!(out, "\n**Not run**\n");
            for line in self.not_run() {
                let _ = writeln!(out, "- {line}");
            }
        }
        for w in self.workloads() {
            let _ = writeln!(out, "\n### `{}`\n", w.name());
            let _ = writeln!(out, "{}\n", self.workload_sentence(w));
            out.push_str(&self.workload_table(w).to_markdown());
            let _ = writeln!(
                out,
                "\n![{name}: operations per second by subject]({charts}bars-{name}.svg)\n\
                 ![{name}: time per operation against N]({charts}growth-{name}.svg)",
                name = w.name()
            );
        }
        if !self.footprints.is_empty() {
            let _ = writeln!(out, "\n### Space\n");
            out.push_str(&self.space_markdown());
        }
        let amplification = self.amplification_table();
        if !amplification.rows.is_empty() {
            let _ = writeln!(out, "\n### Amplification\n");
            let _ = writeln!(out, "{}\n", self.amplification_note());
            out.push_str(&amplification.to_markdown());
        }
        out
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Reads (and bytes read) per operation, when the subject counts them.
fn reads_cell(m: Option<&Measurement>) -> String {
    match m.map(|m| (m.reads_per_op, m.bytes_read_per_op)) {
        Some((Some(r), Some(b))) => format!("{} ({})", si(r), bytes(b.round() as u64)),
        Some((Some(r), None)) => si(r),
        _ => "—".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_durability_class_is_what_a_crash_and_a_power_loss_keep() {
        let class = |durability: &str| {
            SubjectInfo {
                name: "s".into(),
                description: String::new(),
                is_peer: false,
                durability: durability.into(),
            }
            .class()
        };
        let every = "process crash: every write; power loss: synced writes; batches atomic";
        assert_eq!(class(every), "every / synced");
        let redb = "process crash: synced writes; power loss: synced writes; batches atomic";
        assert_eq!(class(redb), "synced / synced");
        let memory = "process crash: nothing; power loss: nothing; batches not atomic";
        assert_eq!(class(memory), "none / none");
        let raw = "process crash: every write; power loss: no promise; batches not atomic";
        assert_eq!(class(raw), "every / none");
        let per_key = "process crash: every write; power loss: synced writes, later ones per \
                       key; batches not atomic";
        assert_eq!(class(per_key), "every / synced");
        assert_eq!(class("something else"), "? / ?");
    }

    #[test]
    fn slope_of_a_power_law_is_its_exponent() {
        let sizes = [1_000u64, 10_000, 100_000, 1_000_000];
        let linear: Vec<(u64, f64)> = sizes.iter().map(|&n| (n, 3e-9 * n as f64)).collect();
        let fit = growth_fit(&linear).unwrap();
        assert!((fit.slope - 1.0).abs() < 1e-9 && (fit.r2 - 1.0).abs() < 1e-9);
        let flat: Vec<(u64, f64)> = sizes.iter().map(|&n| (n, 5e-7)).collect();
        let fit = growth_fit(&flat).unwrap();
        assert!(fit.slope.abs() < 1e-9 && (fit.r2 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn fewer_than_four_sizes_give_no_slope() {
        let three: Vec<(u64, f64)> = [1_000u64, 10_000, 100_000]
            .iter()
            .map(|&n| (n, 3e-9 * n as f64))
            .collect();
        assert_eq!(growth_fit(&three), None);
        // Repetitions at the same sizes are not more sizes.
        let repeated: Vec<(u64, f64)> = three.iter().chain(&three).copied().collect();
        assert_eq!(growth_fit(&repeated), None);
        assert_eq!(growth_fit(&[(1000, 1.0)]), None);
    }

    #[test]
    fn a_cost_that_is_no_power_of_n_fits_badly() {
        // A fixed cost that dominates the small sizes, then a linear one:
        // the slope alone would say "grows a little"; r² says the line
        // does not describe the points.
        let points: Vec<(u64, f64)> = [
            (1_000u64, 1e-3),
            (10_000, 1e-4),
            (100_000, 1e-4),
            (1_000_000, 1e-3),
        ]
        .into_iter()
        .collect();
        let fit = growth_fit(&points).unwrap();
        assert!(fit.r2 < 0.1, "{fit:?}");
        assert_eq!(
            fit_cell(fit),
            format!("{:+.2} (r² {:.2})", fit.slope, fit.r2)
        );
    }

    #[test]
    fn numbers_are_formatted_for_reading() {
        assert_eq!(si(1_234_567.0), "1.23 M");
        assert_eq!(si(45_600.0), "45.6 k");
        assert_eq!(si(999.0), "999");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(100), "100 B");
        assert_eq!(count(100_000), "100k");
        assert_eq!(count(1_000_000), "1M");
        assert_eq!(count(1_500), "1500");
    }

    /// A measurement of `w` by `subject` at N = 10 with the given counts.
    fn measured(subject: &str, w: Workload, ops: u64) -> Measurement {
        Measurement {
            subject: subject.into(),
            workload: w,
            n: 10,
            ops,
            seconds: vec![1.0],
            reads_per_op: None,
            bytes_read_per_op: None,
            bytes_written_per_op: None,
            user_bytes: None,
            tables_per_get: None,
        }
    }

    #[test]
    fn amplification_is_bytes_on_disk_per_user_byte_and_dashes_elsewhere() {
        let dir = std::env::temp_dir();
        let machine = Machine::describe(&dir, "test".into());
        let pick = |name: &str| {
            crate::subjects::all()
                .into_iter()
                .find(|s| s.name == name)
                .unwrap()
        };
        let subjects = [pick("ch01-memory"), pick("ch06-lsm")];
        let (counting, silent) = (subjects[1].name, subjects[0].name);
        let settings = Settings {
            reps: 1,
            rep_seconds: 1.0,
            budget: Budget::quick(),
        };
        let mut report = Report::new(machine, &subjects, &[10], settings, true);
        let mut outcome = Outcome::default();
        // Ten sets of 16 + 100 bytes for which 2,320 bytes reached files.
        let mut fill = measured(counting, Workload::FillRandom, 10);
        fill.bytes_written_per_op = Some(232.0);
        fill.user_bytes = Some(1160);
        // Thirty overwrites of the same pairs, 10,440 bytes written.
        let mut over = measured(counting, Workload::OverwriteAll, 30);
        over.bytes_written_per_op = Some(348.0);
        over.user_bytes = Some(3480);
        let mut get = measured(counting, Workload::GetUniform, 4);
        get.tables_per_get = Some(1.5);
        // A subject that counts nothing: its ratios are dashes.
        let mut quiet = measured(silent, Workload::FillRandom, 10);
        quiet.user_bytes = Some(1160);
        outcome.measurements = vec![fill, over, get, quiet];
        outcome.spaces = vec![SpaceAfter {
            subject: counting.into(),
            workload: Workload::OverwriteAll,
            n: 10,
            logical_bytes: 1160,
            file_bytes: 4000,
            allocated_bytes: 4640,
        }];
        report.add(outcome);

        let row = &report.amplification[1];
        assert_eq!(row.subject, counting);
        assert_eq!(row.write_fill, Some(2.0));
        assert_eq!(row.write_overwrite, Some(3.0));
        assert_eq!(row.space_after_overwrite, Some(4.0));
        assert_eq!(row.space_after_delete, None);
        assert_eq!(row.tables_per_get, Some(1.5));
        let table = report.amplification_table();
        assert!(table.header.len() <= 6);
        assert_eq!(
            table.rows,
            [
                [silent, "—", "—", "—", "—", "—"].map(String::from).to_vec(),
                [counting, "2.00", "3.00", "4.00", "—", "1.50 / —"]
                    .map(String::from)
                    .to_vec(),
            ]
        );
        assert!(report.to_markdown().contains("### Amplification"));
        // One size: no slope to fit, so no column for it; two classes of
        // durability, so a ratio to the fastest alike.
        let header = report.workload_table(Workload::FillRandom).header;
        assert!(!header.iter().any(|h| h == "growth slope"), "{header:?}");
        assert!(header.iter().any(|h| h.starts_with("× fastest alike")));
        let header = report.subject_table(counting).header;
        assert!(!header.iter().any(|h| h == "growth slope"), "{header:?}");
        // A workload's table alone says which workload it is.
        let get = report.captioned_workload_table(Workload::GetUniform);
        assert!(get.starts_with("**`get-uniform`**: "), "{get}");
        assert!(get.contains(&report.workload_table(Workload::GetUniform).to_markdown()));
    }

    #[test]
    fn a_gap_repeated_at_every_size_is_listed_once() {
        let machine = Machine::describe(&std::env::temp_dir(), "test".into());
        let settings = Settings {
            reps: 1,
            rep_seconds: 1.0,
            budget: Budget::quick(),
        };
        let mut report = Report::new(machine, &[], &[10, 20], settings, true);
        let skip = |w: Option<Workload>, n: u64, reason: &str| Skip {
            subject: "raw-fs".into(),
            workload: w,
            n,
            reason: reason.into(),
        };
        report.skips = vec![
            skip(Some(Workload::Reopen), 10, "nothing to open"),
            skip(Some(Workload::FillSeq), 20, "one fill"),
            skip(Some(Workload::FillBatch), 20, "one fill"),
            skip(Some(Workload::Reopen), 20, "nothing to open"),
            skip(None, 20, "too big"),
        ];
        assert_eq!(
            report.not_run(),
            [
                "`raw-fs`, `reopen`, at every size: nothing to open",
                "`raw-fs`, `fill-seq`, `fill-batch`, at N = 20: one fill",
                "`raw-fs`, every workload, at N = 20: too big",
            ]
        );
    }

    #[test]
    fn tables_render_in_both_forms() {
        let mut t = Table {
            header: vec!["a".into(), "bb".into()],
            rows: vec![vec!["xyz".into(), "1".into()]],
            text_columns: 1,
        };
        assert_eq!(t.to_text(), "a    bb\nxyz   1\n");
        assert_eq!(t.to_markdown(), "| a | bb |\n| --- | ---: |\n| xyz | 1 |\n");
        // Words in the second column too: aligned left.
        t.text_columns = 2;
        assert_eq!(t.to_text(), "a    bb\nxyz  1\n");
        assert_eq!(t.to_markdown(), "| a | bb |\n| --- | --- |\n| xyz | 1 |\n");
    }
}

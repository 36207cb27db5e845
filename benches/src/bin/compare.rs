//! `cargo compare`: every stage and peer on the same workloads, with
//! progress, tables in the terminal, and Markdown tables, JSON and SVG
//! charts written to `target/compare/`, or, with `--book`, as the book's
//! figures.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use benches::heap::CountingAlloc;
use benches::machine::Machine;
use benches::report::{Report, count};
use benches::run::{Settings, Skip, run_subject};
use benches::subjects::{self, Subject};
use benches::workload::{Budget, Workload};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Runs every stage of the book and real engines on the same workloads.
#[derive(Parser, Debug)]
#[command(name = "cargo compare")]
struct Args {
    /// Key counts to run, comma-separated; `k` and `M` suffixes allowed
    /// [default: 1k,10k,30k,100k, with the one-file-per-key subjects up to
    /// 10k].
    #[arg(long, value_delimiter = ',', value_parser = parse_count)]
    sizes: Option<Vec<u64>>,
    /// The scale run: sizes 10k, 100k, 300k and 1M, every stage and peer
    /// that manages a million keys (all but the one-file-per-key ones);
    /// results in target/compare-scale unless --out.
    #[arg(long, conflicts_with_all = ["sizes", "quick"])]
    scale: bool,
    /// Only these subjects (names as in the tables), comma-separated.
    #[arg(long, value_delimiter = ',')]
    subjects: Vec<String>,
    /// Only these workloads, comma-separated.
    #[arg(long, value_delimiter = ',', value_enum)]
    workloads: Vec<Workload>,
    /// Repetitions of every measurement, at most; the median is reported.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// No further repetition of a measurement starts once its repetitions
    /// have taken this many seconds.
    #[arg(long, default_value_t = 2.0)]
    rep_seconds: f64,
    /// A fast run that checks the harness: N = 1k (overriding --sizes) and
    /// a tenth of the work. Its figures are not for reading.
    #[arg(long)]
    quick: bool,
    /// Skip a subject at a size when its time at the previous size, scaled
    /// by the growth in N, projects more than this many seconds.
    #[arg(long, default_value_t = 600.0)]
    max_seconds: f64,
    /// Where to write results.md, results.json and the charts
    /// [default: target/compare in the workspace].
    #[arg(long, conflicts_with = "book")]
    out: Option<PathBuf>,
    /// Write the book's figures (book/src/generated): only from a full
    /// run (every subject, workload and default size, not --quick) unless
    /// --force.
    #[arg(long)]
    book: bool,
    /// Write into the book even from a quick or partial run.
    #[arg(long)]
    force: bool,
    /// Where the stores are created: on the disk you want to measure
    /// [default: target/compare-scratch in the workspace].
    #[arg(long)]
    scratch: Option<PathBuf>,
    /// Measure nothing: read the results of an earlier run (its
    /// results.json) and print and write its tables and charts again.
    #[arg(long, value_name = "RESULTS_JSON")]
    from: Option<PathBuf>,
}

/// The default run's sizes: four, so that a growth slope can be fitted,
/// up to 100k keys, where the stages' costs have come apart.
const DEFAULT_SIZES: [u64; 4] = [1_000, 10_000, 30_000, 100_000];

/// The scale run's sizes: up to a million keys, from where fixed costs
/// no longer decide the slope.
const SCALE_SIZES: [u64; 4] = [10_000, 100_000, 300_000, 1_000_000];

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn parse_count(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, scale) = match s.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1_000),
        None => match s.strip_suffix('M') {
            Some(d) => (d, 1_000_000),
            None => (s, 1),
        },
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a key count: {s}"))?;
    match n.checked_mul(scale) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(format!("key count out of range: {s}")),
    }
}

const NOTES: [&str; 8] = [
    "Each write goes through the `KvStore` trait, one call per key, for stages and peers alike; \
     `sync` ends every writing workload. Stores are opened, settled and closed outside the \
     timed part, and the file systems are synced (sync(2)) just before each timed repetition, \
     so that the write-back of the previous one's files, and of their removal, falls outside \
     it.",
    "`fill-batch` hands the same keys as `fill-random` to `KvStore::write` in batches (their \
     size is in the workload's description). The stages of chapters 2 to 5 apply a batch one \
     operation at a time (the contract's default); chapter 6 writes each batch as one log \
     record, fjall as one atomic journal entry, redb as one transaction.",
    "Chapter 6: default settings (4 MiB memtable, 4 KiB blocks, a Bloom filter of 10 bits per \
     key in each table, leveled compaction as LevelDB's: level 0 compacted at 4 tables, \
     level 1 of 16 MiB and each level below ten times the one above, 2 MiB tables; no block \
     cache). `ch06-lsm` syncs its log on `sync`; `ch06-lsm-every-write` after every write, so \
     each of its one-call-per-key writes costs an fsync; `ch06-no-compaction` never compacts, \
     as part 1's store.",
    "fjall 3: default settings (64 MiB memtable, 32 MiB block cache; data blocks LZ4-compressed \
     from level 2 down, levels 0 and 1 uncompressed). `sync` persists \
     its journal with `PersistMode::SyncAll` and waits for the flushes (memtables written out \
     as tables) and compactions under way; before every timed repetition the harness waits \
     until fjall has been idle for 50 ms. Keys are stored behind a one-byte prefix (fjall \
     refuses the empty key). `fjall-tables` is the same engine with its memtable written to \
     disk tables after the fill, so that its reads go through tables.",
    "redb 4: default settings (1 GiB page cache). One write transaction per `set`, `delete` \
     or batch, committed with `Durability::None`; `sync` commits with \
     `Durability::Immediate` (redb's default fsyncs every commit).",
    "The one-file-per-key subjects (chapter 2 and the raw-fs floors) make 2,000 point \
     operations and 50 short scans per measurement, a tenth of the others': each of their \
     operations is one file system call or several, slow enough that a tenth as many still \
     gives a steady rate. Above 1k keys they make one fill, the random one, and no \
     `overwrite-all` or `delete-most` (each needs a fresh store of N files per repetition), \
     and the default run stops them at 10k keys. `ch06-lsm-every-write` makes 2,000 point \
     operations too (each write is an fsync), and above 1k keys no fill in key order, \
     `overwrite-all` or `delete-most`; chapters 3 to 5, whose every sync \
     rewrites the whole file, make 20 `sync-writes`.",
    "raw-fs: one file per key named by the key in hex, written with `std::fs::write`: no \
     temporary file, no rename, no fsync, so it takes no part in `sync-writes`. \
     `raw-fs-synced` makes chapter 2's syncs (a temporary file, fsynced, renamed over the \
     key's file; the directory synced on `sync`). Neither is reopened: its open reads \
     nothing.",
    "The in-memory stage's `sync` does nothing, so it takes no part in `sync-writes` either.",
];

/// A line of progress above the bar, or on standard error when there is
/// no bar to draw (output to a file or a pipe): indicatif's `println` then
/// prints nothing.
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cargo compare: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let root = workspace()
        .canonicalize()
        .unwrap_or_else(|_| workspace().to_path_buf());
    let out = match (&args.out, args.book) {
        (Some(out), _) => out.clone(),
        (None, true) => root.join("book/src/generated"),
        (None, false) if args.scale => root.join("target/compare-scale"),
        (None, false) => root.join("target/compare"),
    };
    let scratch = args
        .scratch
        .clone()
        .unwrap_or_else(|| workspace().join("target/compare-scratch"));
    if let Some(from) = &args.from {
        let text = std::fs::read_to_string(from)
            .map_err(|e| format!("reading {}: {e}", from.display()))?;
        let mut report: Report = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a results file: {e}", from.display()))?;
        // Derived figures follow the measurements they are read from.
        report.amplification = report.amplification_rows();
        if let Some(why) = refusal(&args, &out, report.quick, false) {
            return Err(why);
        }
        return print_and_write(&report, &out);
    }
    // Sizes asked for, by --sizes or --scale, rather than the default's.
    let asked = args.scale || args.sizes.is_some();
    let partial = !args.subjects.is_empty()
        || !args.workloads.is_empty()
        || args.scale
        || args.sizes.as_deref().is_some_and(|s| s != DEFAULT_SIZES);
    if let Some(why) = refusal(&args, &out, args.quick, partial) {
        return Err(why);
    }
    let all = subjects::all();
    let known: BTreeSet<&str> = all.iter().map(|s| s.name).collect();
    for name in &args.subjects {
        if !known.contains(name.as_str()) {
            return Err(format!(
                "unknown subject {name}; known: {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let chosen: Vec<Subject> = all
        .into_iter()
        .filter(|s| {
            if args.subjects.is_empty() {
                !s.only_when_named && (s.scales() || !args.scale)
            } else {
                args.subjects.iter().any(|n| n == s.name)
            }
        })
        .collect();
    let workloads: Vec<Workload> = if args.workloads.is_empty() {
        Workload::ALL.to_vec()
    } else {
        Workload::ALL
            .into_iter()
            .filter(|w| args.workloads.contains(w))
            .collect()
    };
    let mut sizes = match (&args.sizes, args.scale, args.quick) {
        (_, _, true) => vec![1_000],
        (_, true, _) => SCALE_SIZES.to_vec(),
        (Some(sizes), ..) => sizes.clone(),
        (None, ..) => DEFAULT_SIZES.to_vec(),
    };
    sizes.sort_unstable();
    sizes.dedup();
    let settings = Settings {
        reps: args.reps.max(1),
        rep_seconds: args.rep_seconds,
        budget: if args.quick {
            Budget::quick()
        } else {
            Budget::standard()
        },
    };

    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("creating {}: {e}", scratch.display()))?;
    let command = format!(
        "cargo compare {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let machine = Machine::describe(&scratch, command.trim().to_string());
    let mut report = Report::new(machine, &chosen, &sizes, settings, args.quick);
    report.notes = NOTES.iter().map(|s| s.to_string()).collect();

    let steps = (chosen.len() * sizes.len() * workloads.len()) as u64;
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    let mut failures = 0;
    let started = Instant::now();
    // How long each subject took at the previous size, to project the next:
    // the size, then the seconds of the timed work that grows with N
    // (fills, full scans, opens) and of everything else (a fixed number of
    // point operations or short scans, and the untimed work around them,
    // mostly bounded by the same budget). It is a projection to skip the
    // hopeless, not a promise: a stage whose every sync rewrites all its
    // data (chapter 3) does more work per write as N grows.
    // The growing seconds are kept per workload, so that a workload the
    // subject skips at the next size is not projected there.
    type Took = (u64, Vec<(Workload, f64)>, f64);
    let mut took: Vec<Option<Took>> = vec![None; chosen.len()];
    for &n in &sizes {
        for (i, subject) in chosen.iter().enumerate() {
            let projected = took[i].as_ref().map(|(prev, growing, fixed)| {
                let growing: f64 = growing
                    .iter()
                    .filter(|(w, _)| subject.workload_skip(*w, n).is_none())
                    .map(|(_, seconds)| seconds)
                    .sum();
                growing * n as f64 / *prev as f64 + fixed
            });
            let reason = subject.skip_reason(n, asked).or_else(|| match projected {
                Some(p) if p > args.max_seconds => Some(format!(
                    "skipped: at the previous size it took long enough to project {p:.0} s \
                     here, over the {:.0} s limit (--max-seconds)",
                    args.max_seconds
                )),
                _ => None,
            });
            if let Some(reason) = reason {
                say(
                    &bar,
                    format!("{} at N = {}: {reason}", subject.name, count(n)),
                );
                bar.inc(workloads.len() as u64);
                report.skips.push(Skip {
                    subject: subject.name.to_string(),
                    workload: None,
                    n,
                    reason,
                });
                took[i] = None;
                continue;
            }
            let base = bar.position();
            let mut done = 0;
            let began = Instant::now();
            let outcome = run_subject(subject, n, &workloads, settings, &scratch, |w| {
                bar.set_position(base + done);
                done += 1;
                bar.set_message(format!("{} N={} {}", subject.name, count(n), w.name()));
            });
            let elapsed = began.elapsed().as_secs_f64();
            bar.set_position(base + workloads.len() as u64);
            let outcome = match outcome {
                Ok(outcome) => {
                    let growing: Vec<(Workload, f64)> = outcome
                        .measurements
                        .iter()
                        .filter(|m| m.workload.grows_with_n())
                        .map(|m| (m.workload, m.seconds.iter().sum::<f64>()))
                        .collect();
                    let total: f64 = growing.iter().map(|(_, s)| s).sum();
                    took[i] = Some((n, growing, (elapsed - total).max(0.0)));
                    outcome
                }
                Err(e) => {
                    // One failing subject must not throw away the others'
                    // figures: report it, and carry on.
                    took[i] = None;
                    let reason = format!("failed: {e}");
                    say(
                        &bar,
                        format!("{} at N = {}: {reason}", subject.name, count(n)),
                    );
                    report.skips.push(Skip {
                        subject: subject.name.to_string(),
                        workload: None,
                        n,
                        reason,
                    });
                    failures += 1;
                    continue;
                }
            };
            say(
                &bar,
                format!(
                    "{} at N = {}: done in {elapsed:.0} s",
                    subject.name,
                    count(n)
                ),
            );
            for skip in &outcome.skips {
                say(
                    &bar,
                    format!("{} at N = {}: {}", subject.name, count(n), skip.reason),
                );
            }
            report.add(outcome);
        }
    }
    bar.finish_and_clear();
    print_and_write(&report, &out)?;
    println!("measured in {:.0} s", started.elapsed().as_secs_f64());
    if failures > 0 {
        return Err(format!(
            "{failures} subject run(s) failed; see \"Not run\" in the report"
        ));
    }
    Ok(())
}

// ANCHOR: refusal
/// Why a run must not write to `out`, if it must not: the book's figures
/// are what every page describes, so a quick run (whose figures are not
/// for reading) never overwrites anything in the book, and a partial run
/// (some subjects, workloads or sizes) never replaces the main figures,
/// unless the caller says `--force`. A chapter's own figures are written
/// with an explicit `--out` into the book, and may be partial.
fn refusal(args: &Args, out: &Path, quick: bool, partial: bool) -> Option<String> {
    if args.force {
        return None;
    }
    let book = workspace().join("book");
    let inside = |dir: &Path| match (
        out.canonicalize().or_else(|_| absolute(out)),
        dir.canonicalize(),
    ) {
        (Ok(out), Ok(dir)) => out.starts_with(dir),
        _ => false,
    };
    if quick && inside(&book) {
        return Some(format!(
            "refusing to write a --quick run's figures (not for reading) into the book ({}); \
             leave out --book/--out to write to target/compare, or add --force",
            out.display()
        ));
    }
    if args.book && partial {
        return Some(
            "refusing to replace the book's main figures with a partial run (--subjects, \
             --workloads or --sizes narrowed); run it in full, write elsewhere with --out, \
             or add --force"
                .to_string(),
        );
    }
    None
}
// ANCHOR_END: refusal

/// `path` made absolute against the current directory, for a directory
/// that does not exist yet.
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    std::path::absolute(path)
}

fn print_and_write(report: &Report, out: &Path) -> Result<(), String> {
    println!("{}\n", report.stamp());
    for w in report.workloads() {
        println!("== {} ({})", w.name(), report.describe(w));
        println!("{}", report.workload_table(w).to_text());
    }
    println!("== space");
    println!("{}", report.space_table().to_text());
    println!("== memory");
    println!("{}", report.memory_table().to_text());
    println!("== amplification");
    println!("{}", report.amplification_table().to_text());

    write_outputs(report, out)?;
    println!(
        "wrote {} (results.md, results.json, amplification.md, stage-*.md, charts)",
        out.display()
    );
    Ok(())
}

fn write_outputs(report: &Report, out: &Path) -> Result<(), String> {
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))
    };
    std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    // Charts are linked from the book's `src/` when the output is inside
    // it (so that a page can include results.md), else from beside it.
    let book_src = workspace().join("book/src");
    let charts = match (out.canonicalize(), book_src.canonicalize()) {
        (Ok(out), Ok(src)) => match out.strip_prefix(&src) {
            Ok(rel) => format!("{}/", rel.display()),
            Err(_) => String::new(),
        },
        _ => String::new(),
    };
    write("results.md", report.to_markdown_with_charts_in(&charts))?;
    // One table per workload, for a page that shows only some of them.
    for w in report.workloads() {
        write(
            &format!("table-{}.md", w.name()),
            report.captioned_workload_table(w),
        )?;
    }
    // The head of the run and its space, for a page that shows only some
    // of its tables.
    const GENERATED: &str = "<!-- Generated by `cargo compare`; do not edit by hand. -->\n\n";
    write(
        "subjects.md",
        format!("{GENERATED}{}", report.subjects_markdown()),
    )?;
    if !report.footprints.is_empty() {
        write(
            "space.md",
            format!("{GENERATED}{}", report.space_markdown()),
        )?;
    }
    // The amplification table alone, for a page that shows only it.
    write(
        "amplification.md",
        format!(
            "<!-- Generated by `cargo compare`; do not edit by hand. -->\n\n{}\n\n{}\n\n{}",
            report.stamp(),
            report.amplification_note(),
            report.amplification_table().to_markdown()
        ),
    )?;
    write(
        "results.json",
        serde_json::to_string_pretty(report).map_err(|e| e.to_string())?,
    )?;
    for s in report.subjects.iter().filter(|s| !s.is_peer) {
        let text = format!(
            "<!-- Generated by `cargo compare`; do not edit by hand. -->\n\n{}\n\n{}\n{}",
            report.stamp(),
            report.subject_table(&s.name).to_markdown(),
            match report.subject_space_table(&s.name) {
                t if t.rows.is_empty() => String::new(),
                t => format!(
                    "\nSpace after the random fill:\n\n{}\nMemory:\n\n{}",
                    t.to_markdown(),
                    report.subject_memory_table(&s.name).to_markdown()
                ),
            }
        );
        write(&format!("stage-{}.md", s.name), text)?;
    }
    benches::chart::write_all(report, out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(args: &[&str], out: &str, partial: bool) -> bool {
        let args = Args::parse_from(std::iter::once("compare").chain(args.iter().copied()));
        refusal(&args, &workspace().join(out), args.quick, partial).is_some()
    }

    #[test]
    fn the_book_is_written_only_by_a_full_run_unless_forced() {
        assert!(refused(&["--quick", "--book"], "book/src/generated", false));
        assert!(refused(&["--book"], "book/src/generated", true));
        assert!(refused(&["--quick"], "book/src/generated/ch06-lsm", false));
        assert!(!refused(&["--book"], "book/src/generated", false));
        assert!(!refused(
            &["--quick", "--book", "--force"],
            "book/src/generated",
            true
        ));
        // A chapter's figures: explicit, and partial by design.
        assert!(!refused(
            &["--subjects", "ch06-lsm"],
            "book/src/generated/ch06-lsm",
            true
        ));
        // Anywhere else, anything goes.
        assert!(!refused(&["--quick"], "target/compare", true));
    }

    #[test]
    fn the_default_sizes_are_four_so_that_slopes_are_fitted() {
        assert_eq!(Args::parse_from(["compare"]).sizes, None);
        assert_eq!(DEFAULT_SIZES.len(), benches::report::MIN_FIT_SIZES);
        assert_eq!(SCALE_SIZES.len(), benches::report::MIN_FIT_SIZES);
        assert_eq!(SCALE_SIZES.last(), Some(&1_000_000));
    }
}

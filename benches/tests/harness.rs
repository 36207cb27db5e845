//! The harness itself, on tiny sizes: every workload runs, the counts add
//! up, the reports and charts are written. Nothing here depends on timing.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use benches::machine::Machine;
use benches::report::Report;
use benches::run::{Settings, run_subject};
use benches::subjects::{self, Subject};
use benches::workload::{Budget, Workload};

fn settings() -> Settings {
    Settings {
        reps: 2,
        // Large, so that every measurement runs both repetitions.
        rep_seconds: 1e9,
        budget: Budget {
            point_ops: 300,
            short_scans: 10,
            sync_writes: 5,
            batch_len: 64,
            scan_len: 100,
            value_len: 100,
        },
    }
}

fn subject(name: &str) -> Subject {
    subjects::all()
        .into_iter()
        .find(|s| s.name == name)
        .expect("a known subject")
}

fn report_for(subjects: &[Subject], sizes: &[u64]) -> Report {
    let scratch = tempfile::tempdir().unwrap();
    let machine = Machine::describe(scratch.path(), "test".into());
    let mut report = Report::new(machine, subjects, sizes, settings(), true);
    for &n in sizes {
        for s in subjects {
            let out = run_subject(s, n, &Workload::ALL, settings(), scratch.path(), |_| {})
                .unwrap_or_else(|e| panic!("{} at {n}: {e}", s.name));
            report.add(out);
        }
    }
    report
}

#[test]
fn every_workload_runs_and_the_counts_add_up() {
    let subjects = [
        subject("ch01-memory"),
        subject("raw-fs"),
        subject("ch03-sorted-file"),
    ];
    let report = report_for(&subjects, &[200, 400]);

    for w in Workload::ALL {
        for n in [200, 400] {
            if w == Workload::Reopen {
                // raw-fs has nothing to open: the stage of chapter 3 does.
                assert!(report.find("raw-fs", w, n).is_none());
                let opened = report.find("ch03-sorted-file", w, n).expect("ch03 reopens");
                assert_eq!(opened.seconds.len(), 2, "two repetitions");
                assert!(
                    opened.ops >= 2,
                    "as many opens as fill 20 ms: {}",
                    opened.ops
                );
                continue;
            }
            if w == Workload::SyncWrites {
                assert!(report.find("raw-fs", w, n).is_none());
                continue;
            }
            let raw = report.find("raw-fs", w, n).expect("raw-fs ran everything");
            assert_eq!(raw.seconds.len(), 2, "{w:?}: two repetitions");
            let expected_ops = match w {
                Workload::FillSeq | Workload::FillRandom | Workload::FillBatch => n,
                Workload::ScanShort => 10,
                Workload::ScanFull => 1,
                Workload::SyncWrites => 5,
                // A fifth of the keys, the same ones every repetition.
                Workload::Delete => n / 5,
                // Every key three times; nine keys in ten.
                Workload::OverwriteAll => 3 * n,
                Workload::DeleteMost => n * 9 / 10,
                _ => 300,
            };
            assert_eq!(raw.ops, expected_ops, "{w:?} at {n}");
            let memory = report.find("ch01-memory", w, n);
            let skipped = [Workload::Reopen, Workload::SyncWrites].contains(&w);
            assert_eq!(memory.is_some(), !skipped, "{w:?}");
        }
    }
    // The in-memory stage has nothing to reopen or sync, and says so; nor
    // does raw-fs sync.
    for (subject, w) in [
        ("ch01-memory", Workload::Reopen),
        ("ch01-memory", Workload::SyncWrites),
        ("raw-fs", Workload::SyncWrites),
        ("raw-fs", Workload::Reopen),
    ] {
        assert!(
            report
                .skips
                .iter()
                .any(|s| s.subject == subject && s.workload == Some(w)),
            "{subject} {w:?}"
        );
    }

    let raw = report
        .footprints
        .iter()
        .find(|f| f.subject == "raw-fs" && f.n == 400)
        .unwrap();
    assert_eq!(raw.files, 400, "one file per key");
    assert_eq!(raw.file_bytes, 400 * 100, "files hold exactly the values");
    assert!(raw.allocated_bytes >= raw.file_bytes, "{raw:?}");
    assert_eq!(raw.logical_bytes, 400 * 116);
    let memory = report
        .footprints
        .iter()
        .find(|f| f.subject == "ch01-memory" && f.n == 400)
        .unwrap();
    assert_eq!((memory.files, memory.allocated_bytes), (0, 0));

    // Space after the workloads that leave stale data: measured for the
    // subject that keeps files, against what is still live.
    let space = |w| {
        report
            .spaces
            .iter()
            .find(|s| s.subject == "raw-fs" && s.workload == w && s.n == 400)
            .unwrap()
    };
    assert_eq!(space(Workload::OverwriteAll).logical_bytes, 400 * 116);
    assert_eq!(space(Workload::OverwriteAll).file_bytes, 400 * 100);
    assert_eq!(space(Workload::DeleteMost).logical_bytes, 40 * 116);
    assert_eq!(space(Workload::DeleteMost).file_bytes, 40 * 100);
    assert!(report.spaces.iter().all(|s| s.subject != "ch01-memory"));
    // The in-memory stage and raw-fs count neither what they write nor
    // tables: dashes, not zeros. Chapter 3 counts its writes.
    for row in &report.amplification {
        assert_eq!(row.tables_per_get, None, "{row:?}");
        let counts_writes = row.subject == "ch03-sorted-file";
        assert_eq!(row.write_fill.is_some(), counts_writes, "{row:?}");
    }
    let raw = report.amplification.iter().find(|r| r.subject == "raw-fs");
    assert!(raw.unwrap().space_after_delete.is_some());

    // The stamp explains the rule for slow short scans only where there
    // are short scans.
    assert!(report.stamp().contains("`scan-short` stops after"));
    let mut no_scans = report.clone();
    no_scans
        .measurements
        .retain(|m| m.workload != Workload::ScanShort);
    assert!(
        !no_scans.stamp().contains("scan-short"),
        "{}",
        no_scans.stamp()
    );
    assert!(no_scans.stamp().contains("± is half the spread"));
    // And the spread only where a figure can have one.
    let mut single = report.clone();
    single.reps = 1;
    assert!(single.stamp().contains("One repetition per figure."));
    assert!(!single.stamp().contains('±'), "{}", single.stamp());

    // Two sizes give no growth slope: a line through two points says
    // nothing about how well it fits.
    assert!(report.slope("raw-fs", Workload::ScanFull).is_none());
}

#[test]
fn reports_and_charts_are_written() {
    let subjects = [
        subject("ch01-memory"),
        subject("redb"),
        subject("fjall-tables"),
    ];
    let report = report_for(&subjects, &[100, 300]);
    let markdown = report.to_markdown();
    for w in Workload::ALL {
        assert!(markdown.contains(&format!("### `{}`", w.name())), "{w:?}");
    }
    assert!(markdown.contains("| ch01-memory |"));
    assert!(markdown.contains("| redb |"));

    let out = tempfile::tempdir().unwrap();
    benches::chart::write_all(&report, out.path()).unwrap();
    for w in Workload::ALL {
        for kind in ["bars", "growth"] {
            let path = out.path().join(format!("{kind}-{}.svg", w.name()));
            let svg = std::fs::read_to_string(&path).unwrap();
            assert!(svg.starts_with("<svg"), "{}", path.display());
            assert!(
                svg.contains("redb"),
                "{} names the subjects",
                path.display()
            );
        }
    }
    let json = serde_json::to_string(&report).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back.measurements.len(), report.measurements.len());
}

#[test]
fn amplification_is_counted_where_the_stage_counts_it() {
    let subjects = [subject("ch04-footer-index"), subject("ch06-lsm")];
    let report = report_for(&subjects, &[300]);
    for s in ["ch04-footer-index", "ch06-lsm"] {
        let fill = report.find(s, Workload::FillRandom, 300).unwrap();
        // 300 pairs of a 16-byte key and a 100-byte value were asked for.
        assert_eq!(fill.user_bytes, Some(300 * 116), "{s}");
        let written = fill.bytes_written_per_op.unwrap() * 300.0;
        let row = report
            .amplification
            .iter()
            .find(|r| r.subject == s)
            .unwrap();
        assert_eq!(row.write_fill, Some(written / (300.0 * 116.0)), "{s}");
        // Every byte asked for reaches a file, with some framing.
        assert!(row.write_fill.unwrap() > 1.0, "{row:?}");
        // Chapter 4 buffers writes until the sync, where the three rounds
        // of overwrites come to one table: less than one byte per byte.
        assert!(row.write_overwrite.unwrap() > 0.0, "{row:?}");
        assert!(row.space_after_overwrite.is_some(), "{row:?}");
        assert!(row.space_after_delete.is_some(), "{row:?}");
    }
    let lsm = report
        .amplification
        .iter()
        .find(|r| r.subject == "ch06-lsm");
    assert!(
        lsm.unwrap().write_overwrite.unwrap() > 1.0,
        "its log records every set"
    );
    // Only chapter 6 has tables to count; 300 keys fit in its memtable,
    // so no get reaches a table.
    let lsm = report.find("ch06-lsm", Workload::GetUniform, 300).unwrap();
    assert_eq!(lsm.tables_per_get, Some(0.0));
    let table = report.find("ch04-footer-index", Workload::GetUniform, 300);
    assert_eq!(table.unwrap().tables_per_get, None);
    // A table of at most six columns, with a row per subject.
    let t = report.amplification_table();
    assert!(t.header.len() <= 6);
    assert_eq!(t.rows.len(), 2);
}

#[test]
fn a_size_over_a_subjects_limit_is_skipped_with_a_reason() {
    let raw = subject("raw-fs");
    assert!(raw.skip_reason(100_000, true).is_none());
    let reason = raw
        .skip_reason(1_000_000, true)
        .expect("raw-fs stops at 100k");
    assert!(reason.contains("above N = 100k"), "{reason}");
}

#[test]
fn a_workload_over_its_limit_is_skipped_with_a_reason() {
    let raw = subject("raw-fs");
    assert!(raw.workload_skip(Workload::FillBatch, 1_000).is_none());
    assert!(raw.workload_skip(Workload::FillRandom, 100_000).is_none());
    let reason = raw
        .workload_skip(Workload::FillBatch, 10_000)
        .expect("raw-fs makes one fill of 10k files");
    assert!(reason.contains("above N = 1k"), "{reason}");
    // A workload a subject never runs says so, without a size.
    let reason = raw
        .workload_skip(Workload::Reopen, 1_000)
        .expect("raw-fs is never reopened");
    assert!(reason.starts_with("not run: "), "{reason}");
}

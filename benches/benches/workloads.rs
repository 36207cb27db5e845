//! Criterion benchmarks over the shared workloads, grouped by workload so
//! that criterion's report compares the subjects side by side.
//!
//! `cargo bench -p benches` runs them; `cargo bench -p benches -- --test`
//! runs each once, which is what CI does to check they work. The comparison
//! command (`cargo compare`) covers more workloads and sizes; these give
//! criterion's statistics (confidence intervals, change detection between
//! runs) on the point operations.

// A benchmark whose store fails has nothing to measure: stop loudly.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use benches::run::{filled_store, random_fill};
use benches::subjects::{self, Subject};
use benches::workload::{Choices, VALUE_LEN, Workload, key, missing_key, value};
use ch00_contract::KeyRange;
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};

/// Keys in the store the read benchmarks run on.
const N: u64 = 10_000;
/// Keys inserted by one iteration of the fill benchmark.
const FILL_N: u64 = 1_000;

fn runnable(n: u64) -> Vec<Subject> {
    subjects::all()
        .into_iter()
        .filter(|s| s.skip_reason(n, true).is_none() && !s.only_when_named)
        .collect()
}

fn scratch() -> tempfile::TempDir {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/compare-scratch");
    std::fs::create_dir_all(root).expect("create the scratch directory");
    tempfile::tempdir_in(root).expect("create a scratch directory")
}

fn reads(c: &mut Criterion) {
    let uniform: Vec<Vec<u8>> = Choices::new(Workload::GetUniform, N)
        .uniform(N, 4096)
        .into_iter()
        .map(key)
        .collect();
    let missing: Vec<Vec<u8>> = Choices::new(Workload::GetMissing, N)
        .uniform(N, 4096)
        .into_iter()
        .map(missing_key)
        .collect();
    let mut get_uniform = c.benchmark_group(Workload::GetUniform.name());
    let mut stores = Vec::new();
    let data = random_fill(N, VALUE_LEN);
    for subject in runnable(N) {
        let dir = scratch();
        let store = filled_store(&subject, dir.path(), &data).expect("fill the store");
        stores.push((subject.name, store, dir));
    }
    for (name, store, _) in &stores {
        let mut i = 0;
        get_uniform.bench_function(BenchmarkId::new(*name, N), |b| {
            b.iter(|| {
                i = (i + 1) % uniform.len();
                black_box(store.get(&uniform[i]).expect("get"))
            })
        });
    }
    get_uniform.finish();

    let zipf: Vec<Vec<u8>> = Choices::new(Workload::GetZipf, N)
        .zipf(N, 4096)
        .into_iter()
        .map(key)
        .collect();
    let mut get_zipf = c.benchmark_group(Workload::GetZipf.name());
    for (name, store, _) in &stores {
        let mut i = 0;
        get_zipf.bench_function(BenchmarkId::new(*name, N), |b| {
            b.iter(|| {
                i = (i + 1) % zipf.len();
                black_box(store.get(&zipf[i]).expect("get"))
            })
        });
    }
    get_zipf.finish();

    let mut get_missing = c.benchmark_group(Workload::GetMissing.name());
    for (name, store, _) in &stores {
        let mut i = 0;
        get_missing.bench_function(BenchmarkId::new(*name, N), |b| {
            b.iter(|| {
                i = (i + 1) % missing.len();
                black_box(store.get(&missing[i]).expect("get"))
            })
        });
    }
    get_missing.finish();

    let mut scan_short = c.benchmark_group(Workload::ScanShort.name());
    for (name, store, _) in &stores {
        let mut i = 0;
        scan_short.bench_function(BenchmarkId::new(*name, N), |b| {
            b.iter(|| {
                i = (i + 1) % uniform.len();
                let scan = store
                    .scan(KeyRange::new(uniform[i].clone()..))
                    .expect("scan");
                black_box(scan.take(100).count())
            })
        });
    }
    scan_short.finish();

    // Overwrites change values, not the key set, so they can run on the
    // same stores. A sync every thousand writes (timed: it is part of the
    // cost of writing) keeps the stores in a steady state however many
    // iterations criterion asks for.
    let mut overwrite = c.benchmark_group(Workload::Overwrite.name());
    for (name, store, _) in &mut stores {
        let v = value(0, 9, VALUE_LEN);
        overwrite.bench_function(BenchmarkId::new(*name, N), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for i in 0..iters as usize {
                    store.set(&uniform[i % uniform.len()], &v).expect("set");
                    if i % 1000 == 999 {
                        store.sync().expect("sync");
                    }
                }
                store.sync().expect("sync");
                start.elapsed()
            })
        });
    }
    overwrite.finish();
}

fn fills(c: &mut Criterion) {
    let order = Choices::new(Workload::FillRandom, FILL_N).permutation(FILL_N);
    let data: Vec<(Vec<u8>, Vec<u8>)> = order
        .iter()
        .map(|&i| (key(i), value(i, 0, VALUE_LEN)))
        .collect();
    let mut group = c.benchmark_group(Workload::FillRandom.name());
    group.sample_size(10);
    for subject in runnable(FILL_N) {
        group.bench_function(BenchmarkId::new(subject.name, FILL_N), |b| {
            b.iter_batched(
                || {
                    let dir = scratch();
                    let store = subject.open(dir.path()).expect("open");
                    // The store first, so it closes before its directory goes.
                    (store, dir)
                },
                |(mut store, dir)| {
                    for (k, v) in &data {
                        store.set(k, v).expect("set");
                    }
                    store.sync().expect("sync");
                    (store, dir)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, reads, fills);
criterion_main!(benches);

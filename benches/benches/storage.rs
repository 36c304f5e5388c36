//! Storage-layer benchmarks (issue 2): keycode, snapshot point gets over 1M
//! keys, commit apply with and without sync, and a 10k-row range scan, all
//! on sled on disk. Run: `cargo bench -p quorumdb-bench --bench storage`.

use std::hint::black_box;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use quorumdb_storage::keycode::{self, KeyValue};
use quorumdb_storage::{Commit, Engine, Isolation, Mvcc, ScanOrder, SledEngine};

fn key(i: u64) -> Vec<u8> {
    keycode::encode(&[KeyValue::Int(7), KeyValue::Int(i as i64)])
}

fn open_sled() -> (tempfile::TempDir, Mvcc) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine: Arc<dyn Engine> = Arc::new(SledEngine::open(dir.path()).expect("open sled"));
    (dir, Mvcc::open(engine).expect("open store"))
}

/// Loads `n` keys with 100-byte values in commits of 10k keys.
fn load(mvcc: &Mvcc, n: u64) {
    let mut version = mvcc.applied();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let commit = Commit {
            read_version: version,
            isolation: Isolation::Serializable,
            writes: chunk.iter().map(|&i| (key(i), Some(vec![b'x'; 100]))).collect(),
            read_keys: vec![],
            read_ranges: vec![],
        };
        version += 1;
        mvcc.apply(version, &commit).expect("load");
    }
}

fn bench_keycode(c: &mut Criterion) {
    let tuple = [
        KeyValue::Int(1_234_567),
        KeyValue::Text("customer-000042".into()),
        KeyValue::Float(3.25),
    ];
    let encoded = keycode::encode(&tuple);
    let mut group = c.benchmark_group("keycode");
    group.bench_function("encode_3_columns", |b| {
        b.iter(|| keycode::encode(black_box(&tuple)))
    });
    group.bench_function("decode_3_columns", |b| {
        b.iter(|| keycode::decode(black_box(&encoded)))
    });
    group.finish();
}

fn bench_point_get(c: &mut Criterion) {
    let (_dir, mvcc) = open_sled();
    load(&mvcc, 1_000_000);
    let snapshot = mvcc.snapshot(mvcc.applied()).expect("snapshot");
    let mut i = 0u64;
    c.bench_function("mvcc/point_get_1M_keys", |b| {
        b.iter(|| {
            i = (i + 7919) % 1_000_000;
            black_box(snapshot.get(&key(i)).expect("get"))
        })
    });
}

fn bench_apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("mvcc/apply");
    group.measurement_time(Duration::from_secs(5));
    for sync in [false, true] {
        for size in [1u64, 10, 100] {
            let (_dir, mvcc) = open_sled();
            let mut next = 0u64;
            group.throughput(Throughput::Elements(size));
            let name = format!("{size}_keys{}", if sync { "_sync" } else { "" });
            group.bench_function(name, |b| {
                b.iter_batched(
                    || {
                        let writes = (0..size)
                            .map(|j| (key(next * 1000 + j), Some(vec![b'v'; 100])))
                            .collect();
                        next += 1;
                        Commit {
                            read_version: mvcc.applied(),
                            isolation: Isolation::Serializable,
                            writes,
                            read_keys: vec![],
                            read_ranges: vec![],
                        }
                    },
                    |commit| {
                        mvcc.apply(mvcc.applied() + 1, &commit).expect("apply");
                        if sync {
                            mvcc.sync().expect("sync");
                        }
                    },
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

fn bench_scan(c: &mut Criterion) {
    let (_dir, mvcc) = open_sled();
    load(&mvcc, 10_000);
    let snapshot = mvcc.snapshot(mvcc.applied()).expect("snapshot");
    let range = (Bound::Unbounded, Bound::Unbounded);
    let mut group = c.benchmark_group("mvcc/scan");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10k_rows", |b| {
        b.iter(|| {
            let n = snapshot
                .scan(&range, ScanOrder::Forward)
                .filter(|r| r.is_ok())
                .count();
            assert_eq!(n, 10_000);
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = bench_keycode, bench_point_get, bench_apply, bench_scan
}
criterion_main!(benches);

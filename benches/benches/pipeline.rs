//! criterion benches, one group per pipeline stage, with throughput set so that reports
//! read as elements per second:
//! - `ingest_normalize_keys`: CSV bytes to keyed accounts (rows/s);
//! - `primitives`: the curve operations the protocol is made of (elements/s, one thread);
//! - `psi_session`: a whole four-message session between two parties, 1 thread and 2;
//! - `matching`: the responder's last step alone (index the partner's values, compare,
//!   build the result), slots/s;
//! - `report`: a mapping's report built and written (pairs/s), for a list kept in memory
//!   and for a streamed one that reads its matched rows again.
//!
//! `cargo bench -p mapping-benches`; the whole-system figures with peak memory come from
//! `acctmap bench`.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use mapping_core::generate::{generate, GenerateOptions};
use mapping_core::party::Party;
use mapping_core::policy::SharingPolicy;
use mapping_core::psi::{hash_key, Initiator, Message, PartyInput, PsiConfig, Responder};
use mapping_core::report::Report;
use mapping_core::{ingest, IngestOptions, KeyConfig, KeyType, MatchKey, PreparedList};

fn data(rows: u64) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("acctmap-criterion-{rows}"));
    if !dir.join("a.csv").is_file() {
        generate(&dir, &GenerateOptions::new(rows).seed(5), |_| {}).expect("generate");
    }
    std::fs::read(dir.join("a.csv")).expect("read")
}

fn ingest_normalize_keys(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest_normalize_keys");
    g.sample_size(10);
    for rows in [5_000u64, 50_000] {
        let bytes = data(rows);
        g.throughput(Throughput::Elements(rows));
        g.bench_with_input(BenchmarkId::new("rows", rows), &bytes, |b, bytes| {
            b.iter(|| {
                let d = ingest::read(&bytes[..], "a.csv", &IngestOptions::new()).expect("ingest");
                PreparedList::build(d, &KeyConfig::new())
            })
        });
        // The streamed path that sessions use: only packed keys are kept.
        let path = std::env::temp_dir().join(format!("acctmap-criterion-{rows}/a.csv"));
        g.bench_with_input(BenchmarkId::new("streamed_rows", rows), &path, |b, path| {
            b.iter(|| PreparedList::stream(path, &IngestOptions::new(), &KeyConfig::new()).expect("stream"))
        });
    }
    g.finish();
}

fn primitives(c: &mut Criterion) {
    let mut g = c.benchmark_group("primitives");
    let n = 256usize;
    let keys: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("\x01company-{i}.example").into_bytes())
        .collect();
    let points: Vec<RistrettoPoint> = keys.iter().map(|k| hash_key(k)).collect();
    let compressed: Vec<CompressedRistretto> = points.iter().map(RistrettoPoint::compress).collect();
    let k = Scalar::from_bytes_mod_order([7u8; 32]);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("hash_to_group", n), |b| {
        b.iter(|| keys.iter().map(|k| hash_key(k)).collect::<Vec<_>>())
    });
    g.bench_function(BenchmarkId::new("scalar_mul", n), |b| {
        b.iter(|| {
            points
                .iter()
                .map(|p| k * p)
                .fold(RistrettoPoint::default(), |a, p| a + p)
        })
    });
    g.bench_function(BenchmarkId::new("decompress", n), |b| {
        b.iter(|| compressed.iter().filter_map(CompressedRistretto::decompress).count())
    });
    g.bench_function(BenchmarkId::new("compress_single", n), |b| {
        b.iter(|| points.iter().map(RistrettoPoint::compress).collect::<Vec<_>>())
    });
    g.bench_function(BenchmarkId::new("double_and_compress_batch", n), |b| {
        b.iter(|| RistrettoPoint::double_and_compress_batch(&points).len())
    });
    g.finish();
}

fn input(accounts: usize, offset: usize) -> PartyInput<'static> {
    let mut p = PartyInput::new();
    for i in 0..accounts {
        let v = i + offset;
        p.push(
            if v % 3 == 0 { "Customers" } else { "Prospects" },
            vec![
                MatchKey {
                    kind: KeyType::Domain,
                    value: format!("company-{v}.example"),
                },
                MatchKey {
                    kind: KeyType::Name,
                    value: format!("company {v}"),
                },
            ],
        );
    }
    p
}

fn psi_session(c: &mut Criterion) {
    let mut g = c.benchmark_group("psi_session");
    g.sample_size(10);
    let cfg = PsiConfig::new().slots(2).expect("slots").max_peer_accounts(u64::MAX);
    for accounts in [2_000usize, 10_000] {
        let a = input(accounts, 0);
        let b = input(accounts, accounts / 2);
        // One side's slots (accounts × 2 keys). Both parties run on the same pool, so the
        // rate reads as slots per party per second with the pair sharing the cores.
        g.throughput(Throughput::Elements((accounts * 2) as u64));
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            g.bench_with_input(
                BenchmarkId::new(format!("threads-{threads}"), accounts * 2),
                &(),
                |bench, _| {
                    bench.iter_batched(
                        || (),
                        |_| {
                            pool.install(|| {
                                let (ini, m1) = Initiator::start(&a, &cfg).expect("start");
                                let (resp, m2) = Responder::respond(&b, &cfg, &m1).expect("respond");
                                let (ra, m3) = ini.finish(&m2).expect("finish");
                                let rb = resp.complete(&m3).expect("complete");
                                let _ = Message::decode(&m3.encode(), u64::MAX).expect("decode");
                                assert_eq!(ra.matches.len(), accounts / 2);
                                rb.matches.len()
                            })
                        },
                        BatchSize::PerIteration,
                    )
                },
            );
        }
    }
    g.finish();
}

fn matching(c: &mut Criterion) {
    let mut g = c.benchmark_group("matching");
    g.sample_size(10);
    let cfg = PsiConfig::new().slots(2).expect("slots").max_peer_accounts(u64::MAX);
    let accounts = 20_000usize;
    let (a, b) = (input(accounts, 0), input(accounts, accounts / 2));
    g.throughput(Throughput::Elements((accounts * 2) as u64));
    g.bench_function(BenchmarkId::new("responder_complete", accounts * 2), |bench| {
        bench.iter_batched(
            || {
                let (ini, m1) = Initiator::start(&a, &cfg).expect("start");
                let (resp, m2) = Responder::respond(&b, &cfg, &m1).expect("respond");
                let (_, m3) = ini.finish(&m2).expect("finish");
                (resp, m3)
            },
            |(resp, m3)| {
                let r = resp.complete(&m3).expect("complete");
                assert_eq!(r.matches.len(), accounts / 2);
                r
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn report(c: &mut Criterion) {
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    data(50_000);
    let dir = std::env::temp_dir().join("acctmap-criterion-50000");
    let policy = SharingPolicy {
        max_peer_accounts: u64::MAX,
        ..SharingPolicy::default()
    };
    let prepare =
        |name: &str| PreparedList::stream(&dir.join(name), &IngestOptions::new(), &KeyConfig::new()).expect("stream");
    let a = Party::new(prepare("a.csv"), policy.clone()).expect("party");
    let b = Party::new(prepare("b.csv"), policy).expect("party");
    let (ini, m1) = a.start().expect("start");
    let (resp, m2) = b.respond(&m1).expect("respond");
    let (fin, m3) = a.finish(ini, &m2).expect("finish");
    let (cmp, m4) = b.compare(resp, &m3).expect("compare");
    let (dec, m5) = a.decide(fin, &m4).expect("decide");
    let (_, m6) = b.complete_responder(cmp, &m5).expect("complete");
    let mapping = a.complete_initiator(dec, &m6).expect("complete");
    let kept = {
        let d = ingest::read_path(&dir.join("a.csv"), &IngestOptions::new()).expect("ingest");
        PreparedList::build(d, &KeyConfig::new())
    };
    let out = std::env::temp_dir().join(format!("acctmap-criterion-report-{}", std::process::id()));
    g.throughput(Throughput::Elements(mapping.pairs.len() as u64));
    for (name, list) in [("kept", &kept), ("streamed", a.list())] {
        g.bench_function(BenchmarkId::new(name, mapping.pairs.len()), |bench| {
            bench.iter(|| {
                let report = Report::build(list, &mapping).expect("report");
                report.write_dir(&out, list).expect("write").len()
            })
        });
    }
    let _ = std::fs::remove_dir_all(&out);
    g.finish();
}

criterion_group!(
    benches,
    ingest_normalize_keys,
    primitives,
    psi_session,
    matching,
    report
);
criterion_main!(benches);

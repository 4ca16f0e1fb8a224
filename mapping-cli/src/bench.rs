//! `acctmap bench`: the whole two-party mapping on generated lists, stage by stage, against
//! the raw limit of the curve primitives measured on the same machine in the same run.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use mapping_core::generate::{generate, GenerateOptions};
use mapping_core::matching::Mapping;
use mapping_core::party::Party;
use mapping_core::policy::SharingPolicy;
use mapping_core::psi::{measure_primitive_rates, Message};
use mapping_core::report::Report;
use mapping_core::{IngestOptions, PreparedList};

use crate::args::BenchArgs;

/// Peak resident set size of this process so far (Linux), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak RSS counter (Linux ≥ 4.0), so that each stage reports its own peak.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[derive(serde::Serialize)]
struct Stage {
    stage: &'static str,
    wall_seconds: f64,
    elements: u64,
    elements_per_second: f64,
    peak_rss_bytes: Option<u64>,
}

fn stage(stage: &'static str, wall_seconds: f64, elements: u64) -> Stage {
    Stage {
        stage,
        wall_seconds,
        elements,
        elements_per_second: elements as f64 / wall_seconds.max(1e-9),
        peak_rss_bytes: peak_rss(),
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("thread pool")?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("acctmap-bench-{}-{}", args.rows, args.seed)));
    let say = |s: &str| {
        if !args.quiet && !args.json {
            eprintln!("{s}");
        }
    };
    if !dir.join("a.csv").is_file() || !dir.join("b.csv").is_file() {
        say(&format!(
            "generating {} rows per side into {}",
            args.rows,
            dir.display()
        ));
        let opts = GenerateOptions::new(args.rows).overlap(args.overlap)?.seed(args.seed);
        generate(&dir, &opts, |_| {})?;
    }
    say(&format!(
        "measuring the raw limit of the curve primitives on {threads} thread(s)"
    ));
    // The limit is the best of three measurements of each primitive (a conservative
    // fraction: noise in one measurement cannot lower the limit).
    let rates = pool.install(|| {
        (0..2).fold(measure_primitive_rates(args.samples), |best, _| {
            best.best(measure_primitive_rates(args.samples))
        })
    });

    let mut stages = Vec::new();
    let total = Instant::now();
    reset_peak();
    say("ingest + normalize + keys");
    let t = Instant::now();
    let keys = crate::args::key_config(args.keys.as_deref(), args.slots)?;
    let (a, b) = pool.install(|| -> anyhow::Result<(PreparedList, PreparedList)> {
        // Streamed, as `overlap` does: only the packed keys stay in memory.
        let read = |name: &str| -> anyhow::Result<PreparedList> {
            Ok(PreparedList::stream(&dir.join(name), &IngestOptions::new(), &keys)?)
        };
        // Like `overlap`: the two lists are read at once (CSV parsing is sequential per file).
        let (a, b) = rayon::join(|| read("a.csv"), || read("b.csv"));
        Ok((a?, b?))
    })?;
    let rows = a.rows_read + b.rows_read;
    stages.push(stage("ingest+normalize", t.elapsed().as_secs_f64(), rows));
    let policy = SharingPolicy {
        max_peer_accounts: u64::MAX,
        ..SharingPolicy::default()
    };
    let (mut pa, mut pb) = (Party::new(a, policy.clone())?, Party::new(b, policy)?);
    if let Some(dir) = &args.cache {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        pa = pa.with_hash_cache(dir);
        pb = pb.with_hash_cache(dir);
    }

    say("protocol: six messages between two in-process parties");
    reset_peak();
    let t = Instant::now();
    let mut wire_seconds = 0.0;
    // Each message is encoded and decoded, as between two machines.
    let (ma, mb) = strict_rounds(&pa, &pb, (&pool, &pool), &mut |m| {
        let t = Instant::now();
        let out = Message::decode_vec(m.into_bytes(), u64::MAX)?;
        wire_seconds += t.elapsed().as_secs_f64();
        Ok(out)
    })?;
    let protocol_seconds = t.elapsed().as_secs_f64();
    let protocol_peak = peak_rss();
    let (ta, tb) = (ma.timings, mb.timings);
    let accounts = (pa.accounts_in_session() + pb.accounts_in_session()).max(1);
    // The responder's side is done: only the initiator's report is built and timed.
    let responder_pairs = mb.pair_total();
    drop(mb);
    // `--live` needs the responder again, after the measured run.
    let pb = if args.live { Some(pb) } else { None };
    let slots = ta.own_slots + tb.own_slots;
    // Both sides' pair-round slots, and the slots an account costs a side on average.
    let pair_slots = ta.pair_slots + tb.pair_slots;
    let slots_per_account = slots as f64 / accounts as f64;
    // The protocol stages share one peak: they ran in one measured span.
    for (name, seconds, elements) in [
        (
            "hash-to-group",
            ta.hash_seconds + tb.hash_seconds,
            ta.distinct_keys + tb.distinct_keys,
        ),
        ("blinding", ta.blind_own_seconds + tb.blind_own_seconds, slots),
        (
            "peer blinding",
            ta.blind_peer_seconds + tb.blind_peer_seconds - ta.prove_seconds - tb.prove_seconds,
            ta.peer_slots + tb.peer_slots,
        ),
        (
            "proving (DLEQ)",
            ta.prove_seconds + tb.prove_seconds,
            ta.peer_slots + tb.peer_slots,
        ),
        ("verifying (DLEQ)", ta.verify_seconds + tb.verify_seconds, slots),
        ("matching", ta.match_seconds + tb.match_seconds, slots),
        ("messages", wire_seconds, slots),
    ] {
        stages.push(Stage {
            peak_rss_bytes: protocol_peak,
            ..stage(name, seconds, elements)
        });
    }
    reset_peak();
    let t = Instant::now();
    let out = std::env::temp_dir().join(format!("acctmap-bench-report-{}", std::process::id()));
    Report::build(pa.list(), &ma)?.write_dir(&out, pa.list())?;
    let _ = std::fs::remove_dir_all(&out);
    stages.push(stage("report", t.elapsed().as_secs_f64(), ma.pairs.len() as u64));
    let wall = total.elapsed().as_secs_f64();
    let peak = stages.iter().filter_map(|s| s.peak_rss_bytes).max();

    // The raw limit: the curve work this session needed, at the measured primitive rates.
    let keyed = ta.keyed_slots + tb.keyed_slots;
    let padding = slots - keyed;
    let raw_seconds = keyed as f64 * rates.own_slot_seconds()
        + padding as f64 * rates.padding_slot_seconds()
        + (ta.peer_slots + tb.peer_slots) as f64 * rates.peer_slot_seconds();
    let raw_limit_fraction = raw_seconds / wall;
    // Not part of the measured run (its memory would also swell the stages' peaks).
    let live = match &pb {
        Some(pb) => {
            say("live session: strict rounds, then overlapped over loopback TCP, each party on its own threads");
            Some(live_session(&pa, pb, threads)?)
        }
        None => None,
    };
    let protocol_fraction = raw_seconds / protocol_seconds;
    if !args.keep && args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }

    let stdout = std::io::stdout();
    let mut o = stdout.lock();
    if args.json {
        let doc = serde_json::json!({
            "rows": args.rows,
            "backend": mapping_core::psi::curve_backend(),
            "threads": threads,
            "wall_seconds": wall,
            "protocol_seconds": protocol_seconds,
            "peak_rss_bytes": peak,
            "slots": slots,
            "slots_per_second": slots as f64 / wall,
            "raw_limit_seconds": raw_seconds,
            "raw_limit_fraction": raw_limit_fraction,
            "protocol_raw_limit_fraction": protocol_fraction,
            "matched_pairs": ma.pair_total(),
            "pair_round_slots": pair_slots,
            "slots_per_account": slots_per_account,
            "rows_per_second_per_side": args.rows as f64 / wall,
            "hash_cache_hit": ta.hash_cache_hit && tb.hash_cache_hit,
            "responder_pairs": responder_pairs,
            "primitives_per_second": rates,
            "stages": stages,
            "live": live,
        });
        writeln!(o, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    writeln!(
        o,
        "acctmap bench: {} x {} rows, {threads} thread(s), {} slots in all",
        args.rows, args.rows, slots
    )?;
    writeln!(
        o,
        "{:<18} {:>10} {:>12} {:>14} {:>12}",
        "stage", "wall s", "elements", "elements/s", "peak RSS"
    )?;
    for s in &stages {
        writeln!(
            o,
            "{:<18} {:>10.3} {:>12} {:>14.0} {:>12}",
            s.stage,
            s.wall_seconds,
            s.elements,
            s.elements_per_second,
            s.peak_rss_bytes
                .map_or("-".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
        )?;
    }
    writeln!(
        o,
        "{:<18} {:>10.3} {:>12} {:>14.0} {:>12}",
        "total",
        wall,
        slots,
        slots as f64 / wall,
        peak.map_or("-".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
    )?;
    writeln!(
        o,
        "curve backend: {}; raw primitives/s: hash {:.0}, scalar mul {:.0}, decompress {:.0}, batched compress {:.0} (single {:.0}), padding point {:.0}",
        mapping_core::psi::curve_backend(),
        rates.hash_to_group,
        rates.scalar_mul,
        rates.decompress,
        rates.compress_batched,
        rates.compress_single,
        rates.random_point
    )?;
    writeln!(
        o,
        "raw limit for this session's curve work: {raw_seconds:.2} s; end to end {:.1}% of it ({:.1}% for the protocol alone); {} matched pairs",
        raw_limit_fraction * 100.0,
        protocol_fraction * 100.0,
        ma.pair_total()
    )?;
    writeln!(
        o,
        "slots per account: {slots_per_account:.2} ({} in the first round, {:.2} in the pair round: {} slots a side over {} compared candidate pairs); {:.0} rows/s per side",
        pa.list().config.slots,
        pair_slots as f64 / accounts as f64,
        pair_slots / 2,
        pair_slots / 2 / u64::from(mapping_core::compare::PAIR_SLOTS),
        args.rows as f64 / wall
    )?;
    if let Some(l) = &live {
        writeln!(
            o,
            "live session, each party on {} thread(s): strict rounds {:.2} s, overlapped over loopback TCP {:.2} s ({:.2}x); {} matched pairs",
            l.threads_per_party,
            l.strict_seconds,
            l.overlapped_seconds,
            l.strict_seconds / l.overlapped_seconds,
            l.matched_pairs
        )?;
    }
    Ok(())
}

/// What `bench --live` measures: the six messages between two parties that each have
/// their own threads (half of the machine each, as two machines would), first in strict
/// rounds (each message whole before the next step), then as a live session over loopback
/// TCP, which overlaps the two sides' work (docs/protocol.md, "Live sessions").
#[derive(serde::Serialize)]
struct Live {
    threads_per_party: usize,
    strict_seconds: f64,
    overlapped_seconds: f64,
    matched_pairs: u64,
}

/// The six messages in strict rounds, each step on its party's pool, every message through
/// `wire` (encoded and decoded, as between two machines) and dropped once used.
fn strict_rounds(
    pa: &Party,
    pb: &Party,
    (pool_a, pool_b): (&rayon::ThreadPool, &rayon::ThreadPool),
    wire: &mut (impl FnMut(Message) -> anyhow::Result<Message> + Send),
) -> anyhow::Result<(Mapping, Mapping)> {
    let (ini, m1) = pool_a.install(|| pa.start())?;
    let m1 = pool_b.install(|| wire(m1))?;
    let (resp, m2) = pool_b.install(|| pb.respond(&m1))?;
    drop(m1);
    let m2 = pool_a.install(|| wire(m2))?;
    let (fin, m3) = pool_a.install(|| pa.finish(ini, &m2))?;
    drop(m2);
    let m3 = pool_b.install(|| wire(m3))?;
    let (cmp, m4) = pool_b.install(|| pb.compare(resp, &m3))?;
    drop(m3);
    let m4 = pool_a.install(|| wire(m4))?;
    let (dec, m5) = pool_a.install(|| pa.decide(fin, &m4))?;
    drop(m4);
    let m5 = pool_b.install(|| wire(m5))?;
    let (mb, m6) = pool_b.install(|| pb.complete_responder(cmp, &m5))?;
    drop(m5);
    let m6 = pool_a.install(|| wire(m6))?;
    let ma = pool_a.install(|| pa.complete_initiator(dec, &m6))?;
    Ok((ma, mb))
}

fn live_session(pa: &Party, pb: &Party, threads: usize) -> anyhow::Result<Live> {
    use mapping_core::net::{new_code, run_session, NetRole};
    let half = (threads / 2).max(1);
    let pool = || {
        rayon::ThreadPoolBuilder::new()
            .num_threads(half)
            .build()
            .context("thread pool")
    };
    let (pool_a, pool_b) = (pool()?, pool()?);
    let t = Instant::now();
    let (strict_a, strict_b) = strict_rounds(pa, pb, (&pool_a, &pool_b), &mut |m| {
        Ok(Message::decode_vec(m.into_bytes(), u64::MAX)?)
    })?;
    let strict_seconds = t.elapsed().as_secs_f64();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    let addr = listener.local_addr()?;
    let code = new_code();
    let t = Instant::now();
    let (live_a, live_b) = std::thread::scope(|scope| -> anyhow::Result<_> {
        let server = scope.spawn(|| -> anyhow::Result<_> {
            let (stream, _) = listener.accept()?;
            Ok(pool_b.install(|| run_session(stream, NetRole::Responder, pb, &code, |_| true, |_| {}))?)
        });
        let stream = std::net::TcpStream::connect(addr)?;
        let a = pool_a.install(|| run_session(stream, NetRole::Initiator, pa, &code, |_| true, |_| {}));
        let b = server
            .join()
            .map_err(|_| anyhow::anyhow!("the responder thread stopped"))?;
        Ok((a?, b?))
    })?;
    let overlapped_seconds = t.elapsed().as_secs_f64();
    // Keys are fresh per session, the pairs are not: both schedules find the same ones.
    let totals = [&strict_a, &strict_b, &live_a, &live_b].map(|m| m.pair_total());
    anyhow::ensure!(
        totals.iter().all(|n| *n == totals[0]),
        "the live session found other pairs than strict rounds: {totals:?}"
    );
    Ok(Live {
        threads_per_party: half,
        strict_seconds,
        overlapped_seconds,
        matched_pairs: totals[0],
    })
}

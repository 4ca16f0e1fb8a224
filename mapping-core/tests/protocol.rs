//! The private protocol against the plaintext truth: random account sets with random
//! overlaps, both parties' match sets equal the plaintext intersection on keys and agree
//! with each other; counts-only counts equal the plaintext counts; every decoder error
//! class gives its typed error.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

use std::collections::{BTreeMap, BTreeSet};

use mapping_core::psi::{Initiator, Message, MessageType, Mode, PartyInput, PsiConfig, PsiResult, Responder};
use mapping_core::{ErrorKind, KeyType, MatchKey};
use proptest::prelude::*;

type Accounts = Vec<(String, Vec<MatchKey>)>;
/// (own account, peer position) -> matched key types.
type View = BTreeMap<(usize, u64), BTreeSet<KeyType>>;

fn input(accounts: &Accounts) -> PartyInput<'static> {
    let mut p = PartyInput::new();
    for (pop, keys) in accounts {
        p.push(pop, keys.clone());
    }
    p
}

fn run(a: &Accounts, b: &Accounts, cfg_a: &PsiConfig, cfg_b: &PsiConfig) -> (PsiResult, PsiResult) {
    let (ini, m1) = Initiator::start(&input(a), cfg_a).unwrap();
    let m1 = Message::decode(&m1.encode(), cfg_b.max_peer_accounts).unwrap();
    let (resp, m2) = Responder::respond(&input(b), cfg_b, &m1).unwrap();
    let m2 = Message::decode(&m2.encode(), cfg_a.max_peer_accounts).unwrap();
    let (ra, m3) = ini.finish(&m2).unwrap();
    let m3 = Message::decode(&m3.encode(), u64::MAX).unwrap();
    let rb = resp.complete(&m3).unwrap();
    (ra, rb)
}

/// Plaintext truth: (a account, b account) -> shared key types.
fn plaintext(a: &Accounts, b: &Accounts) -> BTreeMap<(usize, usize), BTreeSet<KeyType>> {
    let mut out: BTreeMap<(usize, usize), BTreeSet<KeyType>> = BTreeMap::new();
    for (i, (_, ka)) in a.iter().enumerate() {
        for (j, (_, kb)) in b.iter().enumerate() {
            for k in ka {
                if kb.contains(k) {
                    out.entry((i, j)).or_default().insert(k.kind);
                }
            }
        }
    }
    out
}

fn key(kind: KeyType, v: u8) -> MatchKey {
    MatchKey {
        kind,
        value: format!("k{v}"),
    }
}

fn accounts_strategy(max: usize) -> impl Strategy<Value = Accounts> {
    let kinds = prop_oneof![Just(KeyType::Domain), Just(KeyType::Name), Just(KeyType::NameCountry)];
    let pops = prop_oneof![
        Just("Customers".to_string()),
        Just("Prospects".to_string()),
        Just("Open Opportunities".to_string())
    ];
    prop::collection::vec(
        (pops, prop::collection::vec((kinds, 0u8..40), 0..=3)).prop_map(|(p, ks)| {
            let mut keys: Vec<MatchKey> = Vec::new();
            for (kind, v) in ks {
                let k = key(kind, v);
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            (p, keys)
        }),
        0..max,
    )
}

/// Each side's matches as (own account, partner position) -> key types.
fn views(ra: &PsiResult, rb: &PsiResult) -> (View, View) {
    let a = ra
        .matches
        .iter()
        .map(|m| ((m.own_account, m.peer_account), m.key_types.iter().copied().collect()))
        .collect();
    let b = rb
        .matches
        .iter()
        .map(|m| ((m.own_account, m.peer_account), m.key_types.iter().copied().collect()))
        .collect();
    (a, b)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn both_sides_learn_exactly_the_plaintext_intersection(a in accounts_strategy(25), b in accounts_strategy(25)) {
        let cfg = PsiConfig::new().slots(3).unwrap();
        let (ra, rb) = run(&a, &b, &cfg, &cfg);
        let truth = plaintext(&a, &b);
        // I's view, with peer positions: account-level truth must match in everything but
        // the peer's identity, which is its (shuffled) position.
        let (va, vb) = views(&ra, &rb);
        let own_a: BTreeMap<usize, Vec<BTreeSet<KeyType>>> = va.iter().fold(BTreeMap::new(), |mut m, ((o, _), t)| { m.entry(*o).or_insert_with(Vec::new).push(t.clone()); m });
        let truth_a: BTreeMap<usize, Vec<BTreeSet<KeyType>>> = truth.iter().fold(BTreeMap::new(), |mut m, ((i, _), t)| { m.entry(*i).or_insert_with(Vec::new).push(t.clone()); m });
        let sorted = |m: BTreeMap<usize, Vec<BTreeSet<KeyType>>>| m.into_iter().map(|(k, mut v)| { v.sort(); (k, v) }).collect::<BTreeMap<_, _>>();
        prop_assert_eq!(sorted(own_a), sorted(truth_a));
        let own_b: BTreeMap<usize, Vec<BTreeSet<KeyType>>> = vb.iter().fold(BTreeMap::new(), |mut m, ((o, _), t)| { m.entry(*o).or_insert_with(Vec::new).push(t.clone()); m });
        let truth_b: BTreeMap<usize, Vec<BTreeSet<KeyType>>> = truth.iter().fold(BTreeMap::new(), |mut m, ((_, j), t)| { m.entry(*j).or_insert_with(Vec::new).push(t.clone()); m });
        prop_assert_eq!(sorted(own_b), sorted(truth_b));
        // The two views are the same pairs: I's (own i, peer pos p) and R's (own j, peer pos q)
        // line up one-to-one, so pair counts per population cell agree (transposed).
        prop_assert_eq!(ra.matches.len(), truth.len());
        prop_assert_eq!(rb.matches.len(), truth.len());
        for (x, row) in ra.pair_counts.iter().enumerate() {
            for (y, n) in row.iter().enumerate() {
                let lx = &ra.own_populations[x].0;
                let ly = &ra.peer_populations[y].0;
                let bx = rb.own_populations.iter().position(|p| &p.0 == ly).unwrap();
                let by = rb.peer_populations.iter().position(|p| &p.0 == lx).unwrap();
                prop_assert_eq!(*n, rb.pair_counts[bx][by]);
            }
        }
    }

    #[test]
    fn counts_only_counts_equal_plaintext_counts(a in accounts_strategy(25), b in accounts_strategy(25)) {
        let cfg = PsiConfig::new().slots(3).unwrap().mode(Mode::CountsOnly);
        let (ra, rb) = run(&a, &b, &cfg, &cfg);
        prop_assert!(ra.matches.is_empty() && rb.matches.is_empty());
        let truth = plaintext(&a, &b);
        let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (i, j) in truth.keys() {
            *expected.entry((a[*i].0.clone(), b[*j].0.clone())).or_default() += 1;
        }
        let mut got_a: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (x, row) in ra.pair_counts.iter().enumerate() {
            for (y, n) in row.iter().enumerate() {
                if *n > 0 { got_a.insert((ra.own_populations[x].0.clone(), ra.peer_populations[y].0.clone()), *n); }
            }
        }
        let mut got_b: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (x, row) in rb.pair_counts.iter().enumerate() {
            for (y, n) in row.iter().enumerate() {
                if *n > 0 { got_b.insert((rb.peer_populations[y].0.clone(), rb.own_populations[x].0.clone()), *n); }
            }
        }
        prop_assert_eq!(&got_a, &expected);
        prop_assert_eq!(&got_b, &expected);
    }
}

/// Peer positions are consistent across the two sides: I's (own i, peer position p) has a
/// twin R's (own j, peer position q) with the same key types, for a fixed example where
/// every account is identifiable.
#[test]
fn both_sides_see_the_same_pairs() {
    let a: Accounts = (0..30u8)
        .map(|v| ("Customers".to_string(), vec![key(KeyType::Domain, v)]))
        .collect();
    let b: Accounts = (20..50u8)
        .rev()
        .map(|v| {
            (
                "Prospects".to_string(),
                vec![key(KeyType::Domain, v), key(KeyType::Name, v)],
            )
        })
        .collect();
    let cfg = PsiConfig::new().slots(2).unwrap();
    let (ra, rb) = run(&a, &b, &cfg, &cfg);
    assert_eq!(ra.matches.len(), 10);
    assert_eq!(rb.matches.len(), 10);
    // I's account i holds k{i}; R's account j holds k{49-j}. Every pair is (i, 49-i).
    let own_a: BTreeSet<usize> = ra.matches.iter().map(|m| m.own_account).collect();
    let own_b: BTreeSet<usize> = rb.matches.iter().map(|m| m.own_account).collect();
    assert_eq!(own_a, (20..30).collect());
    assert_eq!(own_b, (20..30).map(|i| 49 - i).collect());
    assert!(ra.matches.iter().all(|m| m.key_types == vec![KeyType::Domain]));
    assert_eq!(ra.pair_counts, vec![vec![10]]);
    // Peer positions are distinct and in range.
    let pos: BTreeSet<u64> = ra.matches.iter().map(|m| m.peer_account).collect();
    assert_eq!(pos.len(), 10);
    assert!(pos.iter().all(|p| *p < 30));
}

#[test]
fn single_thread_and_two_threads_agree() {
    let a: Accounts = (0..200u16)
        .map(|v| {
            (
                "Customers".to_string(),
                vec![MatchKey {
                    kind: KeyType::Domain,
                    value: format!("d{v}"),
                }],
            )
        })
        .collect();
    let b: Accounts = (150..400u16)
        .map(|v| {
            (
                "Customers".to_string(),
                vec![MatchKey {
                    kind: KeyType::Domain,
                    value: format!("d{v}"),
                }],
            )
        })
        .collect();
    let cfg = PsiConfig::new().slots(1).unwrap();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (ra, rb) = pool.install(|| run(&a, &b, &cfg, &cfg));
        assert_eq!(ra.matches.len(), 50, "{threads} threads");
        assert_eq!(rb.matches.len(), 50, "{threads} threads");
    }
}

// ---- decoder and session errors: every class, with the error it must give ----

fn sample() -> (PartyInput<'static>, PsiConfig, Initiator, Message) {
    let mut p = PartyInput::new();
    p.push("Customers", vec![key(KeyType::Domain, 1)]);
    p.push("Prospects", vec![key(KeyType::Domain, 2), key(KeyType::Name, 2)]);
    let cfg = PsiConfig::new().slots(2).unwrap();
    let (ini, m1) = Initiator::start(&p, &cfg).unwrap();
    (p, cfg, ini, m1)
}

fn decode_err(bytes: &[u8]) -> String {
    Message::decode(bytes, 1000).unwrap_err().to_string()
}

fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    use sha2::Digest;
    let n = bytes.len() - 32;
    let sum = sha2::Sha256::digest(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum);
    bytes
}

#[test]
fn truncated_message() {
    let (_, _, _, m1) = sample();
    let bytes = m1.encode();
    assert!(decode_err(&bytes[..20]).contains("shorter than any message"));
    // Cut inside the body and reseal the checksum: the lengths no longer add up.
    let cut = reseal(bytes[..bytes.len() - 40].to_vec());
    assert!(decode_err(&cut).contains("truncated or padded"), "{}", decode_err(&cut));
}

#[test]
fn oversized_message() {
    let (_, _, _, m1) = sample();
    let mut bytes = m1.encode();
    let n = bytes.len() - 32;
    bytes.splice(n..n, [0u8; 32]);
    let bytes = reseal(bytes);
    assert!(decode_err(&bytes).contains("truncated or padded"));
}

#[test]
fn corrupted_message() {
    let (_, _, _, m1) = sample();
    let mut bytes = m1.encode();
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    assert!(decode_err(&bytes).contains("checksum mismatch"));
}

#[test]
fn wrong_magic_version_type_mode() {
    let (_, _, _, m1) = sample();
    let bytes = m1.encode();
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(decode_err(&b).contains("not an acctmap protocol message"));
    let mut b = bytes.clone();
    b[6] = 9;
    assert!(decode_err(&reseal(b)).contains("version 9 is not supported"));
    let mut b = bytes.clone();
    b[7] = 7;
    assert!(decode_err(&reseal(b)).contains("unknown message type 7"));
    let mut b = bytes.clone();
    b[8] = 5;
    assert!(decode_err(&reseal(b)).contains("unknown mode 5"));
    let mut b = bytes.clone();
    b[9] = 0;
    assert!(decode_err(&reseal(b)).contains("outside 1..=16"));
    let mut b = bytes;
    b[10] = 8;
    assert!(decode_err(&reseal(b)).contains("8 bytes is outside 16..=32"));
}

#[test]
fn population_sizes_must_add_up() {
    let (_, _, _, mut m1) = sample();
    m1.populations[0].1 += 1;
    let bytes = m1.encode();
    let e = decode_err(&bytes);
    assert!(e.contains("truncated or padded"), "{e}");
    let mut b = bytes;
    // Header account count 44..52: set it to 2 while populations say 3.
    b[44..52].copy_from_slice(&2u64.to_be_bytes());
    assert!(decode_err(&reseal(b)).contains("add up to 3"));
}

#[test]
fn oversized_set_is_refused_before_allocation() {
    let (_, _, _, m1) = sample();
    let mut b = m1.encode();
    b[44..52].copy_from_slice(&u64::MAX.to_be_bytes());
    let e = Message::decode(&reseal(b), 1_000_000).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Protocol { .. }), "{e}");
    assert!(e.to_string().contains("more than this side accepts (1000000)"));
    // Declared within the decoder's bound but over the responder's own limit.
    let (p, cfg, _, m1) = sample();
    let strict = cfg.clone().max_peer_accounts(1);
    let e = Responder::respond(&p, &strict, &m1).unwrap_err();
    assert!(e.to_string().contains("more than this side accepts (1)"), "{e}");
}

#[test]
fn wrong_session_reordered_and_replayed_messages() {
    let (p, cfg, ini, m1) = sample();
    let (_, m2) = Responder::respond(&p, &cfg, &m1).unwrap();
    // Message 1 where message 2 is due.
    let e = Initiator::start(&p, &cfg).unwrap().0.finish(&m1).unwrap_err();
    assert!(
        e.to_string()
            .contains("expected the partner's step-2 message, got a step-1"),
        "{e}"
    );
    // Another session's message 2.
    let (other, _) = Initiator::start(&p, &cfg).unwrap();
    let e = other.finish(&m2).unwrap_err();
    assert!(e.to_string().contains("belongs to session"), "{e}");
    // The right one works; replaying message 2 to a responder is out of order.
    let (_, m3) = ini.finish(&m2).unwrap();
    let (resp, _) = Responder::respond(&p, &cfg, &m1).unwrap();
    let e = Responder::respond(&p, &cfg, &m2).unwrap_err();
    assert!(e.to_string().contains("expected the partner's step-1 message"), "{e}");
    // Message 3 answering another run of the same session.
    let e = resp.complete(&m3).unwrap_err();
    assert!(e.to_string().contains("answers another run of this session"), "{e}");
    assert_eq!(m3.kind, MessageType::InitiatorFinal);
}

#[test]
fn mismatched_settings_are_refused() {
    let (p, _, _, m1) = sample();
    let e = Responder::respond(&p, &PsiConfig::new().slots(3).unwrap(), &m1).unwrap_err();
    assert!(e.to_string().contains("both must use the same --slots"), "{e}");
}

/// A counts-only responder narrows a matches session: message 2 says counts-only, the
/// initiator follows, and neither side learns matching accounts.
#[test]
fn counts_only_responder_narrows_the_session() {
    let (p, cfg, ini, m1) = sample();
    let (resp, m2) = Responder::respond(&p, &cfg.clone().mode(Mode::CountsOnly), &m1).unwrap();
    assert_eq!(m2.mode, Mode::CountsOnly);
    let (ra, m3) = ini.finish(&m2).unwrap();
    let rb = resp.complete(&m3).unwrap();
    assert_eq!((ra.mode, rb.mode), (Mode::CountsOnly, Mode::CountsOnly));
    assert!(ra.matches.is_empty() && rb.matches.is_empty());
    assert_eq!(ra.pair_counts.iter().flatten().sum::<u64>(), 2);
    assert_eq!(rb.pair_counts.iter().flatten().sum::<u64>(), 2);
}

#[test]
fn wrong_returned_count_is_refused() {
    let (p, cfg, ini, m1) = sample();
    let (_, mut m2) = Responder::respond(&p, &cfg, &m1).unwrap();
    m2.returned.truncate(m2.returned.len() - 32);
    let m2 = Message::decode(&m2.encode(), 100).unwrap();
    let e = ini.finish(&m2).unwrap_err();
    assert!(e.to_string().contains("returns 3 values for our 4 slots"), "{e}");
}

#[test]
fn summary_says_what_is_disclosed() {
    let (_, _, _, m1) = sample();
    let s = m1.summary();
    assert!(s.contains("step 1"), "{s}");
    assert!(s.contains("sender's accounts: 2"), "{s}");
    assert!(s.contains("Customers: 1") && s.contains("Prospects: 1"), "{s}");
    assert!(s.contains("blinded points: 4 (2 accounts x 2 slots"), "{s}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    /// Arbitrary bytes, and arbitrary mutations of a valid message, never panic the decoder.
    #[test]
    fn decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6)) {
        let _ = Message::decode(&bytes, 1000);
        let (_, _, _, m1) = sample();
        let mut b = m1.encode();
        for (at, v) in flips { let n = b.len(); b[at % n] = v; }
        let _ = Message::decode(&reseal(b), 1000);
    }
}

/// Version 3's counts part: a whole message one step behind, counts-only, nested once. Each
/// misuse is refused with the field named; a good one round-trips.
#[test]
fn counts_part_is_checked_and_nested_once() {
    let (p, cfg, _, m1) = sample();
    let counts_cfg = cfg.clone().mode(Mode::CountsOnly);
    let (_, part) = Initiator::start(&p, &counts_cfg).unwrap();
    let (_, mut m2) = Responder::respond(&p, &cfg, &m1).unwrap();
    m2.counted = vec![("Partners".into(), 3)];
    m2.counts = Some(Box::new(part.clone()));
    let back = Message::decode(&m2.encode(), 1000).unwrap();
    assert_eq!(back, m2);
    assert_eq!(back.counted_accounts(), 3);
    // Declared counted accounts count against the set-size guard.
    assert!(Message::decode(&m2.encode(), 4)
        .unwrap_err()
        .to_string()
        .contains("declares 5 accounts"));
    // A counted population may not share a label with a matched one.
    let mut twice = m2.clone();
    twice.counted = vec![("Customers".into(), 3)];
    assert!(decode_err(&twice.encode()).contains("appears twice"));
    // Step 1 carries no counts part; a part must be one step behind; no part in a part.
    let mut m1_with = m1.clone();
    m1_with.counts = Some(Box::new(part.clone()));
    assert!(decode_err(&m1_with.encode()).contains("a step-1 message carries no counts part"));
    let mut wrong_step = m2.clone();
    wrong_step.counts = Some(Box::new(m2.clone().tap_counts(None)));
    assert!(decode_err(&wrong_step.encode()).contains("must be a step-1 message in counts-only mode"));
    let mut matches_mode = m2.clone();
    matches_mode.counts = Some(Box::new(m1.clone()));
    assert!(decode_err(&matches_mode.encode()).contains("must be a step-1 message in counts-only mode"));
    let mut m3 = m2.clone().tap_counts(None);
    m3.kind = MessageType::InitiatorFinal;
    let mut inner = m2.clone();
    inner.counted.clear();
    inner.mode = Mode::CountsOnly;
    let mut nested = m3.clone();
    nested.counted.clear();
    nested.populations.clear();
    nested.points.clear();
    nested.commitment = [0; 32];
    nested.counts = Some(Box::new(inner));
    assert!(
        decode_err(&nested.encode()).contains("holds no counts part of its own"),
        "{}",
        decode_err(&nested.encode())
    );
    // Counted populations belong to steps 1 and 2 only.
    let mut late = nested.clone();
    late.counts = None;
    late.counted = vec![("Partners".into(), 3)];
    assert!(decode_err(&late.encode()).contains("declares no counted populations"));
}

/// Version 4's pair part (the pair round over the candidates) rides in messages 3 to 5, two
/// steps behind the message carrying it, in matches mode, never inside another part; the
/// records moved to messages 5 and 6.
#[test]
fn pair_part_is_checked_and_nested_once() {
    let (p, cfg, ini, m1) = sample();
    let (_, m2) = Responder::respond(&p, &cfg, &m1).unwrap();
    let (_, m3) = ini.finish(&m2).unwrap();
    let (_, pair1) = Initiator::start(&p, &cfg).unwrap();
    let mut with = m3.clone();
    with.pairs = Some(Box::new(pair1.clone()));
    let back = Message::decode(&with.encode(), 1000).unwrap();
    assert_eq!(back, with);
    // Not in messages 1, 2 or 6.
    for (kind, mut m) in [(1, m1.clone()), (2, m2.clone()), (6, m3.clone())] {
        if kind == 6 {
            m.kind = MessageType::ResponderRecords;
            m.returned.clear();
            m.proofs.clear();
        }
        m.pairs = Some(Box::new(pair1.clone()));
        let e = decode_err(&m.encode());
        assert!(
            e.contains(&format!("a step-{kind} message carries no pair part")),
            "{e}"
        );
    }
    // Two steps behind, in matches mode.
    let mut wrong_step = m3.clone();
    wrong_step.pairs = Some(Box::new(m2.clone()));
    let e = decode_err(&wrong_step.encode());
    assert!(e.contains("pair part must be a step-1 message in matches mode"), "{e}");
    let (_, counting) = Initiator::start(&p, &cfg.clone().mode(Mode::CountsOnly)).unwrap();
    let mut counts_mode = m3.clone();
    counts_mode.pairs = Some(Box::new(counting));
    assert!(decode_err(&counts_mode.encode()).contains("pair part must be a step-1 message in matches mode"));
    // No part inside a part.
    let mut inner = pair1.clone();
    inner.pairs = Some(Box::new(pair1.clone()));
    let mut nested = m3.clone();
    nested.pairs = Some(Box::new(inner));
    let e = decode_err(&nested.encode());
    assert!(e.contains("holds no pair part of its own"), "{e}");
    // Records travel in steps 5 and 6 only: not in 3, not in 4.
    for kind in [MessageType::InitiatorFinal, MessageType::ResponderCompare] {
        let mut m = m3.clone();
        if kind == MessageType::ResponderCompare {
            m.kind = kind;
            m.returned.clear();
            m.proofs.clear();
        }
        m.records = b"[]".to_vec();
        let e = decode_err(&m.encode());
        assert!(e.contains("carries no shared records"), "{e}");
    }
}

trait TapCounts {
    fn tap_counts(self, counts: Option<Box<Message>>) -> Self;
}

impl TapCounts for Message {
    fn tap_counts(mut self, counts: Option<Box<Message>>) -> Self {
        self.counts = counts;
        self
    }
}

//! The two parties of one session, as state machines driven by messages in and out.
//!
//! ```text
//! Initiator::start(input)            -> (Initiator, message 1)
//! Responder::respond(input, msg 1)   -> (Responder, message 2)
//! Initiator::finish(msg 2)           -> (PsiResult, message 3)
//! Responder::complete(msg 3)         -> PsiResult
//! ```
//!
//! Each step consumes the state it needs, so a step cannot run twice on one state; every
//! incoming message is checked against the session (id, step, mode, slots, counts) before
//! any of its points is used. Work runs on the current rayon pool: call a step inside
//! `pool.install(..)` to choose the threads.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use curve25519_dalek::ristretto::RistrettoPoint;
use hashbrown::{hash_table, HashMap, HashTable};
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use rayon::prelude::*;
use zeroize::Zeroize;

use super::blinding::{blind_and_prove, compress_doubled, verify_returned, Layout};
use super::group::{decompress, hash_key, random_point, SessionKey, BATCH};
use super::messages::{Message, MessageType, Mode, VALUE_BYTES};
use crate::error::{Error, Result};
use crate::keys::{KeyType, MatchKey};
use crate::list::KeyedAccounts;

/// A shared counter of slots processed (own slots hashed and blinded, partner slots
/// blinded), advanced chunk by chunk, so that a caller can show progress from another
/// thread. Clones share the counter. Equality ignores it.
#[derive(Clone, Default)]
pub struct Progress(Option<std::sync::Arc<AtomicU64>>);

impl Progress {
    /// A new counter at zero.
    pub fn new() -> Self {
        Progress(Some(std::sync::Arc::new(AtomicU64::new(0))))
    }

    /// Slots processed so far.
    pub fn get(&self) -> u64 {
        self.0.as_ref().map_or(0, |c| c.load(Ordering::Relaxed))
    }

    pub(super) fn add(&self, n: usize) {
        if let Some(c) = &self.0 {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Progress({})", self.get())
    }
}

impl PartialEq for Progress {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Progress {}

/// Session settings. Both sides must agree on `mode` (the responder may only narrow
/// matches to counts), `slots` and `truncation`; `max_peer_accounts` is each side's own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PsiConfig {
    /// What each side learns.
    pub mode: Mode,
    /// Slots per account (K).
    pub slots: u8,
    /// Bytes of each double-blinded value compared (16 = 128 bits, up to 32).
    pub truncation: u8,
    /// The largest partner account count this side accepts (the set-size guard).
    pub max_peer_accounts: u64,
    /// Matched slot pairs allowed per account of the smaller list and slot (default 64): an
    /// honest list yields a few per account; a partner's repeated values would yield one
    /// per equal pair and exhaust memory.
    pub max_pair_factor: u64,
    /// Folder for the on-disk cache of `H(t)` of this side's keys (off when `None`).
    pub hash_cache: Option<std::path::PathBuf>,
    /// Counter advanced as slots are processed (for progress bars).
    pub progress: Progress,
    /// Keep the input order instead of shuffling: for the pair round ([`crate::compare`]),
    /// whose entries are the candidate pairs in an order both sides know, so that a match
    /// between two different entries shows a lie.
    pub(crate) ordered: bool,
}

impl Default for PsiConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Matches,
            slots: 5,
            truncation: 16,
            max_peer_accounts: 1_000_000,
            max_pair_factor: 64,
            hash_cache: None,
            progress: Progress::default(),
            ordered: false,
        }
    }
}

impl PsiConfig {
    /// Defaults: matches mode, 5 slots, 16-byte values, at most 1,000,000 partner accounts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the mode.
    ///
    /// ```
    /// use mapping_core::psi::{Mode, PsiConfig};
    /// assert_eq!(PsiConfig::new().mode(Mode::CountsOnly).mode, Mode::CountsOnly);
    /// ```
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the slots per account (1 to 16).
    ///
    /// ```
    /// assert!(mapping_core::psi::PsiConfig::new().slots(17).is_err());
    /// ```
    pub fn slots(mut self, slots: usize) -> Result<Self> {
        if !(1..=16).contains(&slots) {
            return Err(Error::config(format!("slots per account must be 1 to 16, not {slots}")));
        }
        self.slots = slots as u8;
        Ok(self)
    }

    /// Sets the bytes compared of each double-blinded value (16 to 32).
    ///
    /// ```
    /// assert_eq!(mapping_core::psi::PsiConfig::new().truncation(40).truncation, 32);
    /// ```
    pub fn truncation(mut self, bytes: u8) -> Self {
        self.truncation = bytes.clamp(16, 32);
        self
    }

    /// Keeps `H(t)` of this side's keys in `dir`, so a repeat run over an unchanged list
    /// skips hashing (see [`crate::psi`]'s cache notes: the file is as sensitive as the list).
    ///
    /// ```
    /// let c = mapping_core::psi::PsiConfig::new().hash_cache("/tmp/acctmap-cache");
    /// assert!(c.hash_cache.is_some());
    /// ```
    pub fn hash_cache(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.hash_cache = Some(dir.into());
        self
    }

    /// Sets the matched slot pairs allowed per account of the smaller list and slot.
    ///
    /// ```
    /// assert_eq!(mapping_core::psi::PsiConfig::new().max_pair_factor(8).max_pair_factor, 8);
    /// ```
    pub fn max_pair_factor(mut self, factor: u64) -> Self {
        self.max_pair_factor = factor.max(1);
        self
    }

    /// Sets the largest partner set accepted.
    ///
    /// ```
    /// assert_eq!(mapping_core::psi::PsiConfig::new().max_peer_accounts(10).max_peer_accounts, 10);
    /// ```
    pub fn max_peer_accounts(mut self, max: u64) -> Self {
        self.max_peer_accounts = max;
        self
    }
}

/// One party's accounts as the protocol sees them: a population and up to K keys each.
/// A view of a [`KeyedAccounts`] (borrowed from a prepared list, or owned and filled with
/// [`PartyInput::push`]), minus the populations left out with [`PartyInput::hide`].
/// Account indices are the store's, hidden accounts included.
#[derive(Debug, Clone, Default)]
pub struct PartyInput<'a> {
    accounts: Cow<'a, KeyedAccounts>,
    /// Per population label index: left out of the session.
    hidden: Vec<bool>,
    included: usize,
}

impl PartyInput<'static> {
    /// An empty input.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<'a> PartyInput<'a> {
    /// Every account of `accounts`, borrowed.
    pub fn of(accounts: &'a KeyedAccounts) -> Self {
        PartyInput {
            included: accounts.len(),
            accounts: Cow::Borrowed(accounts),
            hidden: Vec::new(),
        }
    }

    /// Leaves the accounts of population `label` out of the session.
    pub fn hide(mut self, label: &str) -> Self {
        if let Some(i) = self.accounts.labels().iter().position(|l| l == label) {
            if self.hidden.len() <= i {
                self.hidden.resize(i + 1, false);
            }
            self.hidden[i] = true;
            self.included = (0..self.accounts.len()).filter(|a| self.includes(*a)).count();
        }
        self
    }

    /// Leaves every account out (a side that takes part with nothing).
    pub fn hide_all(mut self) -> Self {
        self.hidden = vec![true; self.accounts.labels().len()];
        self.included = 0;
        self
    }

    /// Adds an account; returns its index (the `own_account` of matches).
    pub fn push(&mut self, population: &str, keys: Vec<MatchKey>) -> usize {
        let accounts = self.accounts.to_mut();
        let i = accounts.push(accounts.len() as u64 + 1, population, &keys);
        if self.includes(i) {
            self.included += 1;
        }
        i
    }

    /// Number of accounts in the session (hidden ones not counted).
    pub fn len(&self) -> usize {
        self.included
    }

    /// Whether no account is in the session.
    pub fn is_empty(&self) -> bool {
        self.included == 0
    }

    /// Whether account `i` takes part (its population is not hidden).
    pub fn includes(&self, i: usize) -> bool {
        !self
            .hidden
            .get(self.accounts.population_index(i))
            .copied()
            .unwrap_or(false)
    }

    /// The underlying store.
    pub fn accounts(&self) -> &KeyedAccounts {
        &self.accounts
    }
}

/// One matched account pair, as one side sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct PsiMatch {
    /// Index of the own account in the [`PartyInput`].
    pub own_account: usize,
    /// The own account's position in this side's message: the handle the partner knows it by.
    pub own_position: u64,
    /// The partner's account, as its position in the partner's message (the partner can
    /// map it back to its row; this side learns nothing else about it).
    pub peer_account: u64,
    /// Index into [`PsiResult::peer_populations`].
    pub peer_population: usize,
    /// Key types that matched, in priority order.
    pub key_types: Vec<KeyType>,
}

/// Where one side's time went, for benchmarks and `--json` output.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timings {
    /// Hashing own distinct keys to the group.
    pub hash_seconds: f64,
    /// Multiplying and compressing own slots (padding included).
    pub blind_own_seconds: f64,
    /// Decompressing, multiplying and compressing the partner's slots.
    pub blind_peer_seconds: f64,
    /// Indexing and comparing double-blinded values, building the result.
    pub match_seconds: f64,
    /// Proving this side's returned values (part of `blind_peer_seconds`).
    #[serde(default)]
    pub prove_seconds: f64,
    /// Checking the partner's proofs on the values it returned.
    #[serde(default)]
    pub verify_seconds: f64,
    /// Own slots (accounts × K).
    pub own_slots: u64,
    /// Own slots holding a key (the rest are random padding).
    pub keyed_slots: u64,
    /// Distinct own keys (each hashed once).
    pub distinct_keys: u64,
    /// Partner slots blinded by this side.
    pub peer_slots: u64,
    /// `H(t)` of own keys came from the on-disk cache.
    pub hash_cache_hit: bool,
    /// Own slots of the pair round ([`crate::compare`]), included in `own_slots`.
    #[serde(default)]
    pub pair_slots: u64,
}

impl Timings {
    /// Adds another sub-session's times and counts to these.
    pub fn add(&mut self, other: &Timings) {
        self.hash_seconds += other.hash_seconds;
        self.blind_own_seconds += other.blind_own_seconds;
        self.blind_peer_seconds += other.blind_peer_seconds;
        self.match_seconds += other.match_seconds;
        self.prove_seconds += other.prove_seconds;
        self.verify_seconds += other.verify_seconds;
        self.own_slots += other.own_slots;
        self.keyed_slots += other.keyed_slots;
        self.distinct_keys += other.distinct_keys;
        self.peer_slots += other.peer_slots;
        self.hash_cache_hit &= other.hash_cache_hit;
        self.pair_slots += other.pair_slots;
    }
}

/// What one side learns from a session.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PsiResult {
    /// Mode of the session.
    pub mode: Mode,
    /// Own populations in message order, with account counts.
    pub own_populations: Vec<(String, u64)>,
    /// The partner's populations as declared, with account counts.
    pub peer_populations: Vec<(String, u64)>,
    /// Matched account pairs, sorted (empty in counts-only mode).
    pub matches: Vec<PsiMatch>,
    /// Distinct matched account pairs per own population × peer population.
    pub pair_counts: Vec<Vec<u64>>,
    /// The session id.
    pub session: [u8; 16],
    /// Where this side's time went (zero for steps restored from a state file).
    #[serde(default)]
    pub timings: Timings,
}

/// Own side of a session: key, message order and what each slot holds.
pub(super) struct Side {
    /// The session key; `None` once no step needs it (the responder after message 2).
    pub(super) key: Option<SessionKey>,
    /// `key·G`, sent in this side's first message.
    pub(super) commitment: [u8; 32],
    /// Message position -> own account index.
    pub(super) order: Vec<u32>,
    /// Population index (into `populations`) of each message position.
    pub(super) position_population: Vec<u32>,
    pub(super) populations: Vec<(String, u64)>,
    /// Key type of each slot in message order, `None` for padding.
    pub(super) slot_types: Vec<Option<KeyType>>,
    /// This side's points as sent: the partner's returned values are checked against them.
    pub(super) points: Vec<u8>,
    /// Half of each point as computed (`points[i]` encodes `2·halves[i]`), kept when the side
    /// has at most [`KEPT_POINTS_MAX`] slots: checking the partner's proofs then needs no
    /// decompression of this side's own points. `None` for larger sides and after a state
    /// file (the points are decompressed again).
    pub(super) halves: Option<Vec<RistrettoPoint>>,
    pub(super) timings: Timings,
}

/// The most own slots whose points a side keeps for the proof check (160 bytes a slot, so
/// at most 160 MiB a side; it saves about a third of the check's time).
pub(super) const KEPT_POINTS_MAX: usize = 1 << 20;

impl Side {
    /// Shuffles the accounts, groups them by population (labels sorted), hashes and blinds
    /// every slot.
    fn build(
        input: &PartyInput,
        slots: u8,
        cache_dir: Option<&std::path::Path>,
        progress: &Progress,
        ordered: bool,
    ) -> Result<Side> {
        let t0 = Instant::now();
        let k = usize::from(slots);
        let keyed = input.accounts();
        if keyed.len() >= u32::MAX as usize {
            return Err(Error::config("more than 4 billion accounts"));
        }
        // Accounts by population; labels sorted, so the message order says nothing of the input.
        let labels = keyed.labels();
        let mut groups: Vec<Vec<u32>> = vec![Vec::new(); labels.len()];
        let mut total_keys = 0usize;
        for i in (0..keyed.len()).filter(|i| input.includes(*i)) {
            let n = keyed.keys(i).count();
            if n > k {
                return Err(Error::config(format!(
                    "account {i} has more keys than the {k} slots per account"
                )));
            }
            total_keys += n;
            groups[keyed.population_index(i)].push(i as u32);
        }
        let mut label_order: Vec<usize> = (0..labels.len()).filter(|l| !groups[*l].is_empty()).collect();
        label_order.sort_by(|a, b| labels[*a].cmp(&labels[*b]));
        let mut order: Vec<u32> = Vec::with_capacity(input.len());
        let mut position_population = Vec::with_capacity(input.len());
        let mut populations = Vec::new();
        for (new_index, &label) in label_order.iter().enumerate() {
            let mut group = std::mem::take(&mut groups[label]);
            if !ordered {
                shuffle(&mut group);
            }
            populations.push((labels[label].clone(), group.len() as u64));
            position_population.extend(std::iter::repeat_n(new_index as u32, group.len()));
            order.extend(group);
        }
        drop(groups);
        // Each slot: padding, or the slot where its key first occurs. Distinct keys are hashed
        // and blinded once; a repeated key copies the first occurrence's bytes afterwards.
        // The index holds slot numbers only (4 bytes a key); keys stay in the packed store.
        const PAD: u32 = u32::MAX;
        let n_slots = order.len() * k;
        if n_slots >= PAD as usize {
            return Err(Error::config("too many slots for one session"));
        }
        let key_of = |slot: usize| -> &[u8] { keyed.keys(order[slot / k] as usize).nth(slot % k).unwrap_or_default() };
        let hasher = hashbrown::DefaultHashBuilder::default();
        let mut first: HashTable<u32> = HashTable::with_capacity(total_keys);
        let mut slot_first: Vec<u32> = vec![PAD; n_slots];
        let mut slot_types: Vec<Option<KeyType>> = vec![None; n_slots];
        for (position, &account) in order.iter().enumerate() {
            for (s, key) in keyed.keys(account as usize).enumerate() {
                let slot = position * k + s;
                let entry = first.entry(
                    hasher.hash_one(key),
                    |&f| key_of(f as usize) == key,
                    |&f| hasher.hash_one(key_of(f as usize)),
                );
                slot_first[slot] = match entry {
                    hash_table::Entry::Occupied(e) => *e.get(),
                    hash_table::Entry::Vacant(e) => *e.insert(slot as u32).get(),
                };
                slot_types[slot] = key.first().and_then(|t| KeyType::from_tag(*t));
            }
        }
        let distinct_keys = first.len() as u64;
        drop(first);
        // For the hash cache: each included account's first key in input order.
        let cache_path = cache_dir.map(|d| super::cache::path_for(d, input));
        let key_start: Vec<usize> = match cache_path {
            Some(_) => {
                let mut at = 0;
                (0..keyed.len())
                    .map(|i| {
                        let start = at;
                        if input.includes(i) {
                            at += keyed.keys(i).count();
                        }
                        start
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let cached = cache_path.as_deref().and_then(|p| super::cache::load(p, total_keys));
        let input_key = |slot: usize| key_start[order[slot / k] as usize] + slot % k;
        let hash_nanos = AtomicU64::new(0);
        let secret = SessionKey::random();
        let mut points = vec![0u8; n_slots * 32];
        let keep = n_slots <= KEPT_POINTS_MAX;
        // Per chunk: the fresh hashes for the cache, and the halves when kept.
        type Chunk = (Vec<(usize, [u8; 32])>, Vec<RistrettoPoint>);
        let chunks: Vec<Chunk> = points
            .par_chunks_mut(BATCH * 32)
            .zip(slot_first.par_chunks(BATCH))
            .enumerate()
            .map(|(chunk, (out, firsts))| {
                let mut fresh = Vec::new();
                let mut hashing = std::time::Duration::ZERO;
                let halves: Vec<RistrettoPoint> = firsts
                    .iter()
                    .enumerate()
                    .map(|(i, &f)| match f {
                        PAD => random_point(),
                        f if f as usize == chunk * BATCH + i => {
                            let t = Instant::now();
                            let from_cache = cached.as_ref().and_then(|c| {
                                let at = input_key(chunk * BATCH + i) * 32;
                                c.get(at..at + 32)
                                    .and_then(|b| b.try_into().ok())
                                    .and_then(|b| decompress(&b))
                            });
                            let h = from_cache.unwrap_or_else(|| hash_key(key_of(chunk * BATCH + i)));
                            hashing += t.elapsed();
                            if cache_path.is_some() && cached.is_none() {
                                fresh.push((input_key(chunk * BATCH + i), h.compress().to_bytes()));
                            }
                            secret.half_mul(&h)
                        }
                        _ => RistrettoPoint::default(), // a repeat: copied below
                    })
                    .collect();
                compress_doubled(&halves, out, 32);
                hash_nanos.fetch_add(hashing.as_nanos() as u64, Ordering::Relaxed);
                progress.add(firsts.len());
                (fresh, if keep { halves } else { Vec::new() })
            })
            .collect();
        let mut halves: Vec<RistrettoPoint> = Vec::with_capacity(if keep { n_slots } else { 0 });
        let mut fresh = Vec::new();
        for (f, h) in chunks {
            fresh.extend(f);
            halves.extend(h);
        }
        for (slot, &f) in slot_first.iter().enumerate() {
            if f != PAD && f as usize != slot {
                let (src, dst) = (f as usize * 32, slot * 32);
                points.copy_within(src..src + 32, dst);
                if keep {
                    halves[slot] = halves[f as usize];
                }
            }
        }
        if let (Some(path), None) = (&cache_path, &cached) {
            // Every key position gets its key's point: repeats take their first occurrence's.
            let mut table = vec![0u8; total_keys * 32];
            for (at, bytes) in &fresh {
                table[at * 32..at * 32 + 32].copy_from_slice(bytes);
            }
            for (slot, &f) in slot_first.iter().enumerate() {
                if f != PAD && f as usize != slot {
                    let (src, dst) = (input_key(f as usize) * 32, input_key(slot) * 32);
                    table.copy_within(src..src + 32, dst);
                }
            }
            super::cache::store(path, &table)?;
        }
        drop(fresh);
        let elapsed = t0.elapsed().as_secs_f64();
        // Hashing and blinding run fused; the hash share is the hashing time summed over
        // threads, divided by the threads.
        let hash_seconds =
            (hash_nanos.load(Ordering::Relaxed) as f64 / 1e9 / rayon::current_num_threads() as f64).min(elapsed);
        let timings = Timings {
            hash_seconds,
            blind_own_seconds: elapsed - hash_seconds,
            own_slots: n_slots as u64,
            keyed_slots: slot_first.iter().filter(|f| **f != PAD).count() as u64,
            distinct_keys,
            hash_cache_hit: cached.is_some(),
            ..Timings::default()
        };
        Ok(Side {
            commitment: secret.commitment(),
            key: Some(secret),
            order,
            position_population,
            populations,
            slot_types,
            points,
            halves: keep.then_some(halves),
            timings,
        })
    }

    /// A message carrying this side's populations, commitment and points (message 1, or
    /// message 2 before its returned values and proofs).
    fn points_message(
        &self,
        kind: MessageType,
        mode: Mode,
        config: &PsiConfig,
        session: [u8; 16],
        previous: [u8; 16],
    ) -> Message {
        Message {
            kind,
            mode,
            slots: config.slots,
            truncation: config.truncation,
            session,
            previous,
            populations: self.populations.clone(),
            commitment: self.commitment,
            proofs: Vec::new(),
            returned: Vec::new(),
            points: self.points.clone(),
            records: Vec::new(),
            counted: Vec::new(),
            counts: None,
            pairs: None,
        }
    }
}

/// Fisher-Yates with ChaCha20 seeded from the OS (one system call per shuffle, not one
/// per element); the order must be unpredictable to the partner.
fn shuffle<T>(items: &mut [T]) {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let mut rng = ChaCha20Rng::from_seed(seed);
    seed.zeroize();
    for i in (1..items.len()).rev() {
        // A 64-bit draw modulo at most 2^32 items: bias below 2^-32.
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// An index of values (`stride` bytes apart in a borrowed buffer, the first `width` bytes of
/// each compared) for equality look-ups: an open-addressing table of value numbers (4 bytes
/// a slot, at most 2/3 full), equal values chained through `next` so that a partner's
/// repeated values cost no probing. The values are double-blinded points, uniformly random
/// to anyone without both keys, so their first bytes serve as the hash.
struct ValueIndex<'a> {
    values: &'a [u8],
    stride: usize,
    width: usize,
    table: Vec<u32>,
    shift: u32,
    next: Vec<u32>,
    /// The most times one value occurs.
    longest: u32,
}

const NONE: u32 = u32::MAX;

impl<'a> ValueIndex<'a> {
    fn build(values: &'a [u8], stride: usize, width: usize) -> Self {
        let n = values.len() / stride;
        let size = (n + n / 2).next_power_of_two().max(16);
        let mut index = ValueIndex {
            values,
            stride,
            width,
            table: vec![NONE; size],
            shift: 64 - size.trailing_zeros(),
            next: vec![NONE; n],
            longest: u32::from(n > 0),
        };
        // Chain length at each chain's head, to find the most repeated value.
        let mut run = vec![1u32; n];
        let mask = size - 1;
        for i in 0..n {
            let v = index.value(i);
            let mut at = index.home(v);
            loop {
                let held = index.table[at];
                if held == NONE {
                    index.table[at] = i as u32;
                    break;
                }
                if index.value(held as usize) == v {
                    index.next[i] = held;
                    index.table[at] = i as u32;
                    run[i] = run[held as usize] + 1;
                    index.longest = index.longest.max(run[i]);
                    break;
                }
                at = (at + 1) & mask;
            }
        }
        index
    }

    fn value(&self, i: usize) -> &'a [u8] {
        &self.values[i * self.stride..i * self.stride + self.width]
    }

    fn home(&self, v: &[u8]) -> usize {
        let mut head = [0u8; 8];
        head.copy_from_slice(&v[..8]);
        (u64::from_le_bytes(head).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Calls `f` with every index holding `value` (its first `width` bytes); stops early
    /// when `f` returns false.
    fn for_each_match(&self, value: &[u8], mut f: impl FnMut(usize) -> bool) {
        let value = &value[..self.width];
        let mask = self.table.len() - 1;
        let mut at = self.home(value);
        loop {
            let held = self.table[at];
            if held == NONE {
                return;
            }
            if self.value(held as usize) == value {
                let mut i = held;
                while i != NONE {
                    if !f(i as usize) {
                        return;
                    }
                    i = self.next[i as usize];
                }
                return;
            }
            at = (at + 1) & mask;
        }
    }
}

/// Permutation that shuffles whole accounts (K-slot blocks) within each population group.
fn group_shuffle(position_population: &[u32]) -> Vec<u32> {
    let mut perm: Vec<u32> = (0..position_population.len() as u32).collect();
    let mut start = 0;
    while start < perm.len() {
        let pop = position_population[start];
        let end = start + position_population[start..].iter().take_while(|p| **p == pop).count();
        shuffle(&mut perm[start..end]);
        start = end;
    }
    perm
}

fn apply_block_perm(values: &[u8], perm: &[u32], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len());
    for &p in perm {
        out.extend_from_slice(&values[p as usize * block..(p as usize + 1) * block]);
    }
    out
}

fn population_of(position: u64, populations: &[(String, u64)]) -> usize {
    let mut end = 0u64;
    for (i, (_, n)) in populations.iter().enumerate() {
        end += n;
        if position < end {
            return i;
        }
    }
    populations.len().saturating_sub(1)
}

/// Turns slot-level matches (own slot in own message order, peer slot in peer order) into
/// the result. `own_known` is false in counts-only mode, where own blocks came back
/// shuffled within their population and only the population is known.
fn collect_result(
    side: &Side,
    peer_populations: Vec<(String, u64)>,
    slot_pairs: Vec<(usize, usize)>,
    k: usize,
    mode: Mode,
    session: [u8; 16],
    timings: Timings,
) -> PsiResult {
    let mut pairs: HashMap<(u64, u64), Vec<KeyType>> = HashMap::new();
    for (own_slot, peer_slot) in slot_pairs {
        let entry = pairs
            .entry(((own_slot / k) as u64, (peer_slot / k) as u64))
            .or_default();
        if mode == Mode::Matches {
            if let Some(t) = side.slot_types[own_slot] {
                if !entry.contains(&t) {
                    entry.push(t);
                }
            }
        }
    }
    let mut pair_counts = vec![vec![0u64; peer_populations.len()]; side.populations.len()];
    let mut matches = Vec::new();
    for ((own_pos, peer_pos), mut types) in pairs {
        let own_pop = side.position_population[own_pos as usize] as usize;
        let peer_pop = population_of(peer_pos, &peer_populations);
        pair_counts[own_pop][peer_pop] += 1;
        if mode == Mode::Matches {
            types.sort();
            matches.push(PsiMatch {
                own_account: side.order[own_pos as usize] as usize,
                own_position: own_pos,
                peer_account: peer_pos,
                peer_population: peer_pop,
                key_types: types,
            });
        }
    }
    matches.sort();
    PsiResult {
        mode,
        own_populations: side.populations.clone(),
        peer_populations,
        matches,
        pair_counts,
        session,
        timings,
    }
}

/// Refuses a partner over this side's set-size limit.
fn check_peer_size(accounts: u64, max: u64) -> Result<()> {
    if accounts > max {
        return Err(Error::protocol(format!(
            "the partner has {accounts} accounts, more than this side accepts ({max})"
        )));
    }
    Ok(())
}

/// Refuses a reply that does not return exactly one value per own slot.
fn check_returned(msg: &Message, own_slots: usize, context: &str) -> Result<()> {
    if msg.returned_count() != own_slots {
        return Err(Error::message(
            context,
            format!("it returns {} values for our {own_slots} slots", msg.returned_count()),
        ));
    }
    Ok(())
}

/// The population index of each position, from a message's population sizes.
fn positions_by_population(populations: &[(String, u64)]) -> Vec<u32> {
    populations
        .iter()
        .enumerate()
        .flat_map(|(i, (_, n))| std::iter::repeat_n(i as u32, *n as usize))
        .collect()
}

/// The partner's values in the order they go back: as received (matches mode), or with
/// whole accounts shuffled within each partner population (counts-only mode).
fn returned_order(mode: Mode, values: Vec<u8>, partner_populations: &[(String, u64)], block: usize) -> Vec<u8> {
    match mode {
        Mode::Matches => values,
        Mode::CountsOnly => apply_block_perm(
            &values,
            &group_shuffle(&positions_by_population(partner_populations)),
            block,
        ),
    }
}

/// Bounds on what an honest pair of lists can produce, checked while matching.
struct PairLimits {
    /// The partner's account count: an honest partner's value occurs at most once per
    /// account (keys are distinct within an account; padding is random).
    peer_accounts: u64,
    /// The most slot pairs accepted.
    max_pairs: u64,
}

impl PairLimits {
    fn new(config: &PsiConfig, own_accounts: u64, peer_accounts: u64) -> Self {
        let smaller = own_accounts.min(peer_accounts).max(1);
        PairLimits {
            peer_accounts,
            max_pairs: smaller
                .saturating_mul(u64::from(config.slots))
                .saturating_mul(config.max_pair_factor),
        }
    }
}

/// (own slot, partner slot) for every returned own value equal to a partner value.
/// `partner_values` are this side's blinding of the partner's points (`stride` bytes apart);
/// `returned` are this side's points blinded by the partner and verified (32 bytes each);
/// `width` bytes are compared. Refuses what no honest list produces: a partner value repeated
/// in more slots than the partner has accounts, or more pairs than the limit; it stops
/// counting at the limit, so a hostile message costs no more memory than an honest one.
fn match_slots(
    partner_values: &[u8],
    stride: usize,
    returned: &[u8],
    width: usize,
    limits: &PairLimits,
) -> Result<Vec<(usize, usize)>> {
    let index = ValueIndex::build(partner_values, stride, width);
    if u64::from(index.longest) > limits.peer_accounts {
        return Err(Error::protocol(format!(
            "one of the partner's values occurs in {} of its slots, but it has {} accounts: no honest list does \
             that (a key occurs at most once per account); the session was stopped",
            index.longest, limits.peer_accounts
        )));
    }
    let mut pairs = Vec::new();
    let mut over = false;
    for (own_slot, v) in returned.chunks_exact(VALUE_BYTES).enumerate() {
        index.for_each_match(v, |peer_slot| {
            if pairs.len() as u64 >= limits.max_pairs {
                over = true;
                return false;
            }
            pairs.push((own_slot, peer_slot));
            true
        });
        if over {
            return Err(Error::protocol(format!(
                "the partner's values make more than {} matched slot pairs, more than --max-pair-factor allows for \
                 these list sizes; an honest list does not do this (raise the factor if both lists hold many \
                 duplicate records)",
                limits.max_pairs
            )));
        }
    }
    Ok(pairs)
}

/// Checks a partner's message against the step expected and, when given, the session id
/// and the transcript of the message this side sent; and its slots and compared bytes.
pub(crate) fn check_message(
    msg: &Message,
    kind: MessageType,
    session: Option<(&[u8; 16], &[u8; 16])>,
    slots: u8,
    truncation: u8,
) -> Result<()> {
    if msg.kind != kind {
        return Err(Error::protocol(format!(
            "expected the partner's step-{} message, got a step-{} message (out of order or replayed)",
            kind.step(),
            msg.kind.step()
        )));
    }
    if let Some((s, previous)) = session {
        if &msg.session != s {
            return Err(Error::protocol(format!(
                "message belongs to session {}, this is session {}",
                super::messages::hex(&msg.session),
                super::messages::hex(s)
            )));
        }
        if &msg.previous != previous {
            return Err(Error::protocol(
                "message answers another run of this session (its transcript does not match the message this side sent)",
            ));
        }
    }
    if msg.slots != slots {
        return Err(Error::protocol(format!(
            "the partner uses {} slots per account, this side {slots}; both must use the same --slots",
            msg.slots
        )));
    }
    if msg.truncation != truncation {
        return Err(Error::protocol(format!(
            "the partner compares {}-byte values, this side {truncation}",
            msg.truncation
        )));
    }
    Ok(())
}

/// What [`Initiator::blind_ahead`] computed: this side's blinding of the responder's points
/// with its proofs, for the points, populations and mode of the preview it came from.
pub struct Ahead {
    blinded: super::blinding::Blinded,
    seconds: f64,
    of: AheadOf,
}

impl std::fmt::Debug for Ahead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ahead({} values)", self.blinded.values.len() / VALUE_BYTES)
    }
}

/// What the blinding depends on, to tell whether message 2 is the message previewed.
#[derive(PartialEq, Eq)]
struct AheadOf {
    mode: Mode,
    populations: Vec<(String, u64)>,
    points: [u8; 32],
}

impl AheadOf {
    fn of(msg: &Message) -> AheadOf {
        use sha2::{Digest, Sha256};
        AheadOf {
            mode: msg.mode,
            populations: msg.populations.clone(),
            points: Sha256::digest(&msg.points).into(),
        }
    }
}

/// A responder's own side, hashed and blinded before message 1 arrives
/// ([`Responder::prepare`]); holds the session key until message 2 is made.
pub struct Prepared {
    side: Side,
}

impl Prepared {
    fn check(&self, config: &PsiConfig) -> Result<()> {
        if self.side.slot_types.len() != self.side.order.len() * usize::from(config.slots) {
            return Err(Error::config(
                "this side was prepared with another number of slots per account",
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prepared({} slots)", self.side.slot_types.len())
    }
}

/// The initiator, between sending message 1 and receiving message 2.
pub struct Initiator {
    pub(super) side: Side,
    pub(super) config: PsiConfig,
    pub(super) session: [u8; 16],
    pub(super) sent: [u8; 16],
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Initiator(session {})", super::messages::hex(&self.session))
    }
}

impl Initiator {
    /// Starts a session: draws the key and session id, blinds every slot, returns message 1
    /// with the key's commitment.
    pub fn start(input: &PartyInput, config: &PsiConfig) -> Result<(Initiator, Message)> {
        let side = Side::build(
            input,
            config.slots,
            config.hash_cache.as_deref(),
            &config.progress,
            config.ordered,
        )?;
        let mut session = [0u8; 16];
        OsRng.fill_bytes(&mut session);
        let msg = side.points_message(MessageType::InitiatorPoints, config.mode, config, session, [0; 16]);
        let sent = msg.transcript();
        Ok((
            Initiator {
                side,
                config: config.clone(),
                session,
                sent,
            },
            msg,
        ))
    }

    /// The session id.
    pub fn session(&self) -> [u8; 16] {
        self.session
    }

    /// Binds the reply to message 1 as it was sent, after the party added its own parts
    /// (the counted populations).
    pub(crate) fn bind_sent(&mut self, msg: &Message) {
        self.sent = msg.transcript();
    }

    /// The mode this side asked for.
    pub fn mode(&self) -> Mode {
        self.config.mode
    }

    /// Reports the remaining steps' slots to `progress` (for a state restored from a file).
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.config.progress = progress;
        self
    }

    /// The checks message 2 (or its preview) passes before any of its points is used.
    fn check_reply(&self, msg: &Message) -> Result<&SessionKey> {
        let c = &self.config;
        check_message(
            msg,
            MessageType::ResponderReply,
            Some((&self.session, &self.sent)),
            c.slots,
            c.truncation,
        )?;
        if msg.mode != c.mode && !(c.mode == Mode::Matches && msg.mode == Mode::CountsOnly) {
            return Err(Error::protocol("the partner changed the session mode"));
        }
        check_peer_size(msg.accounts(), c.max_peer_accounts)?;
        self.side
            .key
            .as_ref()
            .ok_or_else(|| Error::protocol("this side's session key is gone; the session cannot continue"))
    }

    /// This side's step-3 work on the responder's points (blinding and proofs), done from
    /// the preview of message 2 that a live responder sends before it has blinded our
    /// points ([`Responder::preview`]), so that both sides blind at the same time. Nothing
    /// of it leaves this side before [`Initiator::finish_with`] has checked the responder's
    /// proofs, and only if message 2 carries the same points.
    pub fn blind_ahead(&self, preview: &Message) -> Result<Ahead> {
        let key = self.check_reply(preview)?;
        let (blinded, seconds) = self.blind_peer(key, preview)?;
        Ok(Ahead {
            blinded,
            seconds,
            of: AheadOf::of(preview),
        })
    }

    /// Step 3's work on the responder's points of `msg` (message 2 or its preview): this
    /// side's blinding and its proofs, with the seconds it took.
    fn blind_peer(&self, key: &SessionKey, msg: &Message) -> Result<(super::blinding::Blinded, f64)> {
        let t0 = Instant::now();
        let blinded = blind_and_prove(
            key,
            &msg.points,
            &Layout::new(
                msg.mode,
                &msg.populations,
                usize::from(self.config.slots),
                &self.session,
                MessageType::InitiatorFinal.step(),
            ),
            "message 2",
            &self.config.progress,
        )?;
        Ok((blinded, t0.elapsed().as_secs_f64()))
    }

    /// Takes message 2: checks the responder's proofs on the values it returned, learns the
    /// matches, and returns message 3 (with this side's proofs) for the responder.
    pub fn finish(self, msg: &Message) -> Result<(PsiResult, Message)> {
        self.finish_with(msg, None)
    }

    /// [`Initiator::finish`], with the blinding of the responder's points already done by
    /// [`Initiator::blind_ahead`] on the preview; refuses a message 2 whose points, populations
    /// or mode differ from the preview's.
    pub fn finish_with(self, msg: &Message, ahead: Option<Ahead>) -> Result<(PsiResult, Message)> {
        let key = self.check_reply(msg)?;
        let c = &self.config;
        let k = usize::from(c.slots);
        let t = usize::from(c.truncation);
        let mode = msg.mode;
        check_returned(msg, self.side.slot_types.len(), "message 2")?;
        if let Some(a) = &ahead {
            if a.of != AheadOf::of(msg) {
                return Err(Error::protocol(
                    "message 2 differs from the preview the partner sent ahead of it (points, populations or mode); nothing was sent",
                ));
            }
        }
        let t0 = Instant::now();
        verify_returned(
            &msg.commitment,
            &self.side.points,
            self.side.halves.as_deref(),
            &msg.returned,
            &msg.proofs,
            &Layout::new(
                mode,
                &self.side.populations,
                k,
                &self.session,
                MessageType::ResponderReply.step(),
            ),
            "message 2",
        )?;
        let mut timings = self.side.timings;
        timings.verify_seconds = t0.elapsed().as_secs_f64();
        let (blinded, blind_seconds) = match ahead {
            Some(a) => (a.blinded, a.seconds),
            None => self.blind_peer(key, msg)?,
        };
        timings.blind_peer_seconds = blind_seconds;
        timings.prove_seconds = blinded.prove_seconds;
        timings.peer_slots = (msg.points.len() / 32) as u64;
        let t0 = Instant::now();
        // Padding slots hold random values, which match nothing.
        let limits = PairLimits::new(c, self.side.order.len() as u64, msg.accounts());
        let slot_pairs = match_slots(&blinded.values, VALUE_BYTES, &msg.returned, t, &limits)?;
        let returned = returned_order(mode, blinded.values, &msg.populations, k * VALUE_BYTES);
        let mut result = collect_result(
            &self.side,
            msg.populations.clone(),
            slot_pairs,
            k,
            mode,
            self.session,
            timings,
        );
        result.timings.match_seconds = t0.elapsed().as_secs_f64();
        let msg3 = Message {
            kind: MessageType::InitiatorFinal,
            mode,
            slots: c.slots,
            truncation: c.truncation,
            session: self.session,
            previous: msg.transcript(),
            populations: Vec::new(),
            commitment: [0; 32],
            proofs: blinded.proofs,
            returned,
            points: Vec::new(),
            records: Vec::new(),
            counted: Vec::new(),
            counts: None,
            pairs: None,
        };
        Ok((result, msg3))
    }
}

/// The responder, between sending message 2 and receiving message 3. Holds no secret: the
/// key is dropped (and zeroized) once message 2 is made.
pub struct Responder {
    pub(super) side: Side,
    pub(super) config: PsiConfig,
    pub(super) session: [u8; 16],
    pub(super) sent: [u8; 16],
    pub(super) mode: Mode,
    /// `b·a·H(t)` for the initiator's slots, in the initiator's order, first T bytes each.
    pub(super) peer_values: Vec<u8>,
    pub(super) peer_populations: Vec<(String, u64)>,
    /// The initiator's key commitment from message 1: message 3's proofs are checked with it.
    pub(super) peer_commitment: [u8; 32],
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Responder(session {})", super::messages::hex(&self.session))
    }
}

impl Responder {
    /// Takes message 1 and returns message 2. Refuses a partner over the set-size limit, a
    /// different slot count and an invalid commitment; a counts-only responder turns a
    /// matches session into a counts-only one (message 2 says so, and the initiator follows).
    pub fn respond(input: &PartyInput, config: &PsiConfig, msg: &Message) -> Result<(Responder, Message)> {
        Responder::check_first(msg, config)?;
        Responder::respond_prepared(Responder::prepare(input, config)?, config, msg)
    }

    /// The checks message 1 passes before this side does any work for it; the effective
    /// mode is what both allow (a counts-only side narrows a matches session).
    pub fn check_first(msg: &Message, config: &PsiConfig) -> Result<Mode> {
        check_message(msg, MessageType::InitiatorPoints, None, config.slots, config.truncation)?;
        check_peer_size(msg.accounts(), config.max_peer_accounts)?;
        if decompress(&msg.commitment).is_none() {
            return Err(Error::message(
                "message 1",
                "the partner's key commitment is not a valid group element (or is the identity)",
            ));
        }
        Ok(match (config.mode, msg.mode) {
            (Mode::CountsOnly, _) | (_, Mode::CountsOnly) => Mode::CountsOnly,
            _ => Mode::Matches,
        })
    }

    /// Hashes and blinds this side's slots before message 1 arrives: they do not depend on
    /// it, so a live session does this while the initiator computes message 1.
    pub fn prepare(input: &PartyInput, config: &PsiConfig) -> Result<Prepared> {
        Ok(Prepared {
            side: Side::build(
                input,
                config.slots,
                config.hash_cache.as_deref(),
                &config.progress,
                config.ordered,
            )?,
        })
    }

    /// Message 2 as it will be, without the returned values and their proofs: what a live
    /// responder sends as soon as message 1 has arrived, so that the initiator blinds our
    /// points ([`Initiator::blind_ahead`]) while we blind its.
    pub fn preview(prepared: &Prepared, config: &PsiConfig, msg: &Message) -> Result<Message> {
        let mode = Responder::check_first(msg, config)?;
        prepared.check(config)?;
        Ok(Responder::reply(&prepared.side, config, msg, mode))
    }

    fn reply(side: &Side, config: &PsiConfig, msg: &Message, mode: Mode) -> Message {
        side.points_message(MessageType::ResponderReply, mode, config, msg.session, msg.transcript())
    }

    /// [`Responder::respond`] with this side's slots already hashed and blinded.
    pub fn respond_prepared(prepared: Prepared, config: &PsiConfig, msg: &Message) -> Result<(Responder, Message)> {
        let mode = Responder::check_first(msg, config)?;
        let k = usize::from(config.slots);
        let t = usize::from(config.truncation);
        prepared.check(config)?;
        let mut side = prepared.side;
        let t0 = Instant::now();
        let key = side
            .key
            .take()
            .ok_or_else(|| Error::protocol("this side's session key is missing"))?;
        let blinded = blind_and_prove(
            &key,
            &msg.points,
            &Layout::new(
                mode,
                &msg.populations,
                k,
                &msg.session,
                MessageType::ResponderReply.step(),
            ),
            "message 1",
            &config.progress,
        )?;
        drop(key);
        side.timings.blind_peer_seconds = t0.elapsed().as_secs_f64();
        side.timings.prove_seconds = blinded.prove_seconds;
        side.timings.peer_slots = (msg.points.len() / 32) as u64;
        let peer_values: Vec<u8> = blinded
            .values
            .chunks_exact(VALUE_BYTES)
            .flat_map(|v| v[..t].iter().copied())
            .collect();
        let mut reply = Responder::reply(&side, config, msg, mode);
        reply.returned = returned_order(mode, blinded.values, &msg.populations, k * VALUE_BYTES);
        reply.proofs = blinded.proofs;
        let sent = reply.transcript();
        Ok((
            Responder {
                side,
                config: config.clone(),
                session: msg.session,
                sent,
                mode,
                peer_values,
                peer_populations: msg.populations.clone(),
                peer_commitment: msg.commitment,
            },
            reply,
        ))
    }

    /// The session id.
    pub fn session(&self) -> [u8; 16] {
        self.session
    }

    /// The effective mode of the session.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Binds message 3 to message 2 as it was sent, after the party added its own parts
    /// (the counted populations, the counts sub-session's first message).
    pub(crate) fn bind_sent(&mut self, msg: &Message) {
        self.sent = msg.transcript();
    }

    /// Takes message 3: checks the initiator's proofs on the values it returned against the
    /// commitment of message 1, then learns the matches.
    pub fn complete(self, msg: &Message) -> Result<PsiResult> {
        let c = &self.config;
        check_message(
            msg,
            MessageType::InitiatorFinal,
            Some((&self.session, &self.sent)),
            c.slots,
            c.truncation,
        )?;
        if msg.mode != self.mode {
            return Err(Error::protocol("the partner changed the session mode"));
        }
        let t = usize::from(c.truncation);
        let k = usize::from(c.slots);
        check_returned(msg, self.side.slot_types.len(), "message 3")?;
        let t0 = Instant::now();
        verify_returned(
            &self.peer_commitment,
            &self.side.points,
            self.side.halves.as_deref(),
            &msg.returned,
            &msg.proofs,
            &Layout::new(
                self.mode,
                &self.side.populations,
                k,
                &self.session,
                MessageType::InitiatorFinal.step(),
            ),
            "message 3",
        )?;
        let mut timings = self.side.timings;
        timings.verify_seconds = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let peer_accounts: u64 = self.peer_populations.iter().map(|(_, n)| n).sum();
        let limits = PairLimits::new(c, self.side.order.len() as u64, peer_accounts);
        let slot_pairs = match_slots(&self.peer_values, t, &msg.returned, t, &limits)?;
        let mut result = collect_result(
            &self.side,
            self.peer_populations.clone(),
            slot_pairs,
            k,
            self.mode,
            self.session,
            timings,
        );
        result.timings.match_seconds = t0.elapsed().as_secs_f64();
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The halves a side keeps are the points it sent, halved: keyed slots, repeated keys
    /// (copied from their first slot) and padding alike, so the proof check that reads them
    /// checks the values the partner saw.
    #[test]
    fn kept_halves_are_the_sent_points() {
        let mut input = PartyInput::new();
        let key = |kind, value: &str| MatchKey {
            kind,
            value: value.to_string(),
        };
        for i in 0..700 {
            // Every third account repeats a name another one holds; all have padding.
            let name = format!("name {}", i - i % 3);
            let mut keys = vec![key(KeyType::Name, &name)];
            if i % 2 == 0 {
                keys.push(key(KeyType::Domain, &format!("d{i}.example")));
            }
            input.push(if i % 5 == 0 { "Prospects" } else { "Customers" }, keys);
        }
        let side = Side::build(&input, 3, None, &Progress::default(), false).unwrap();
        let halves = side.halves.as_ref().expect("a small side keeps its points");
        assert_eq!(halves.len() * 32, side.points.len());
        let mut doubled = vec![0u8; side.points.len()];
        compress_doubled(halves, &mut doubled, 32);
        assert_eq!(doubled, side.points);
        assert!(side.slot_types.iter().filter(|t| t.is_none()).count() > 700);
    }

    /// The compact index finds every equal value, repeated ones included, and nothing else;
    /// a partner that repeats one value many times costs no probing.
    #[test]
    fn value_index_finds_all_and_only_equal_values() {
        let width = 16;
        let mut values = Vec::new();
        let mut expected: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        for i in 0..5000usize {
            // 1,000 distinct values, each seen 5 times, spread over the buffer; value 0 has
            // a zero first eight bytes like many others would after truncation.
            let v: Vec<u8> = (0..width)
                .map(|b| ((i % 1000) * 31 + b * 7) as u8 ^ (i % 1000 / 256) as u8)
                .collect();
            expected.entry(v.clone()).or_default().push(i);
            values.extend_from_slice(&v);
        }
        let index = ValueIndex::build(&values, width, width);
        for (v, at) in &expected {
            let mut found = Vec::new();
            index.for_each_match(v, |i| {
                found.push(i);
                true
            });
            found.sort();
            assert_eq!(&found, at);
        }
        let mut none = 0;
        index.for_each_match(&[0xAB; 16], |_| {
            none += 1;
            true
        });
        assert_eq!(none, 0);
        let same = vec![7u8; 16 * 100_000];
        let index = ValueIndex::build(&same, 16, 16);
        let mut n = 0;
        index.for_each_match(&[7; 16], |_| {
            n += 1;
            true
        });
        assert_eq!(n, 100_000);
        assert_eq!(index.longest, 100_000);
    }
}

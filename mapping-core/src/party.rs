//! The embedding API: a [`Party`] is one side's prepared list, sharing policy and session
//! settings; it drives the four protocol messages in and out as bytes (any transport works)
//! and yields a [`Mapping`].
//!
//! ```text
//! initiator                                   responder
//! party.start()          -- message 1 -->
//!                                             party.respond(msg1)
//!                        <-- message 2 --
//! party.finish(msg2)     -- message 3 -->     (carries the initiator's shared records)
//!                                             party.complete_responder(msg3) -> Mapping
//!                        <-- message 4 --     (the responder's shared records)
//! party.complete_initiator(msg4) -> Mapping
//! ```
//!
//! Populations the policy shares as `counts` run in a second, counts-only sub-session with
//! keys, shuffles and proofs of its own, which rides inside the same messages: message 1
//! declares the initiator's counted populations, the responder starts the sub-session in
//! message 2 (when either side counts one), the initiator answers in message 3, and the
//! responder's last step travels in message 4. A pair is shown only where both sides share
//! their populations as `overlaps`; the other cells are counts that neither side can link to
//! accounts (docs/protocol.md, "Per-population sharing").
//!
//! ```
//! use mapping_core::{ingest, IngestOptions, KeyConfig, PreparedList, party::Party, policy::SharingPolicy};
//! let prep = |csv: &str| PreparedList::build(ingest::read(csv.as_bytes(), "x.csv", &IngestOptions::new()).unwrap(), &KeyConfig::new());
//! let a = Party::new(prep("Name,Website\nAcme Inc,acme.com\nGlobex,globex.com\n"), SharingPolicy::default()).unwrap();
//! let b = Party::new(prep("Company,Domain\nACME,https://www.acme.com/\nInitech,initech.com\n"), SharingPolicy::default()).unwrap();
//! let (ini, m1) = a.start().unwrap();
//! let (resp, m2) = b.respond(&m1).unwrap();
//! let (fin, m3) = a.finish(ini, &m2).unwrap();
//! let (b_view, m4) = b.complete_responder(resp, &m3).unwrap();
//! let a_view = a.complete_initiator(fin, &m4).unwrap();
//! assert_eq!(a_view.pairs.len(), 1);
//! assert_eq!(b_view.pairs.len(), 1);
//! assert_eq!(a_view.pairs[0].partner_fields[2], ("name".to_string(), "ACME".to_string()));
//! ```

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::decide::{decide_all, Decision, Verdict};
use crate::error::{Error, Result};
use crate::list::PreparedList;
use crate::matching::{Disclosure, Mapping};
use crate::policy::{Share, SharingPolicy};
use crate::psi::{Ahead, Initiator, Message, MessageType, Mode, PartyInput, Prepared, PsiConfig, PsiResult, Responder};

/// Limits on what a partner's shared records may hold.
const MAX_FIELDS: usize = 32;
const MAX_VALUE: usize = 4096;

/// One side of a mapping.
#[derive(Debug)]
pub struct Party {
    list: PreparedList,
    policy: SharingPolicy,
    /// The matches sub-session: populations shared with their overlaps.
    config: PsiConfig,
    /// The counts-only sub-session: populations shared as counts (and, when the partner
    /// has such populations, the overlap ones too, so that every cell gets its count).
    counts_config: PsiConfig,
    /// Populations the policy leaves out, with their sizes.
    hidden: Vec<(String, u64)>,
    /// Populations shared as counts only, with their sizes (labels sorted).
    counted: Vec<(String, u64)>,
    /// Populations shared with their overlaps, with their sizes (labels sorted).
    overlapping: Vec<(String, u64)>,
}

/// The responder between messages 2 and 3: the matches sub-session's responder, and the
/// counts sub-session's initiator (it starts that one in message 2) when there is one.
/// Holds the counts sub-session's key: save it only to an owner-only file (`save` and
/// `load` are in `psi::state`, with the other session states).
#[derive(Debug)]
pub struct Responded {
    pub(crate) matches: Responder,
    pub(crate) counts: Option<Initiator>,
    pub(crate) partner_counted: Vec<(String, u64)>,
}

impl Responded {
    /// The session id (the matches sub-session's).
    pub fn session(&self) -> [u8; 16] {
        self.matches.session()
    }
}

/// The responder's own side of the matches sub-session, hashed and blinded before message 1
/// arrives ([`Party::prepare_responder`]). Holds the session key until message 2 is made.
#[derive(Debug)]
pub struct PreparedResponder {
    matches: Prepared,
    /// Built without any account: the partner declared no overlap population.
    empty: bool,
}

/// The initiator after message 3: the PSI result is known, the partner's records (and the
/// counts sub-session's last message) are due. Holds no secret (the session keys are
/// gone), so it can be kept in a plain state file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Finished {
    result: PsiResult,
    sent: [u8; 16],
    records_sent: u64,
    fields_sent: Vec<String>,
    fingerprint: String,
    /// The counts sub-session's responder, saved (hex; no key), when there is one.
    #[serde(default)]
    counts: Option<String>,
    /// The partner's populations shared as counts only, as it declared them.
    #[serde(default)]
    partner_counted: Vec<(String, u64)>,
}

/// Refuses a message that lacks the counts part the session runs (`which` says which), or
/// carries one where no side counts a population.
fn check_counts_part(message: &str, expected: bool, present: bool, which: &str) -> Result<()> {
    match (expected, present) {
        (true, false) => Err(Error::message(message, format!("it lacks the counts part {which}"))),
        (false, true) => Err(Error::message(
            message,
            "it carries a counts part, but neither side counts a population",
        )),
        _ => Ok(()),
    }
}

/// Whether a session with these two sides' counted populations runs a counts sub-session.
fn needs_counts(own_counted: &[(String, u64)], partner_counted: &[(String, u64)]) -> bool {
    !own_counted.is_empty() || !partner_counted.is_empty()
}

impl Party {
    /// Builds a party: populations the policy hides are left out; those it shares as
    /// counts run in the counts-only sub-session, the others in the matches one.
    pub fn new(list: PreparedList, policy: SharingPolicy) -> Result<Party> {
        let mut hidden: BTreeMap<String, u64> = BTreeMap::new();
        let mut counted: BTreeMap<String, u64> = BTreeMap::new();
        let mut overlapping: BTreeMap<String, u64> = BTreeMap::new();
        for (label, n) in list.keyed.population_sizes() {
            let to = match policy.rule(label).share {
                Share::Hidden => &mut hidden,
                Share::Counts => &mut counted,
                Share::Overlaps => &mut overlapping,
            };
            *to.entry(label.to_owned()).or_default() += n;
        }
        let base = PsiConfig::new()
            .slots(list.config.slots)?
            .max_peer_accounts(policy.max_peer_accounts)
            .max_pair_factor(policy.max_pair_factor);
        Ok(Party {
            list,
            policy,
            config: base.clone().mode(Mode::Matches),
            counts_config: base.mode(Mode::CountsOnly),
            hidden: hidden.into_iter().collect(),
            counted: counted.into_iter().collect(),
            overlapping: overlapping.into_iter().collect(),
        })
    }

    /// What this side puts into the matches sub-session: its overlap populations (a view,
    /// nothing copied).
    fn input(&self) -> PartyInput<'_> {
        self.hidden
            .iter()
            .chain(&self.counted)
            .fold(PartyInput::of(&self.list.keyed), |input, (label, _)| input.hide(label))
    }

    /// What this side puts into the counts sub-session: its counted populations, and its
    /// overlap ones too when the partner counts some of its own (so that a cell of our
    /// overlaps against their counts gets its count).
    fn counts_input(&self, with_overlaps: bool) -> PartyInput<'_> {
        let left_out: &[(String, u64)] = if with_overlaps { &[] } else { &self.overlapping };
        self.hidden
            .iter()
            .chain(left_out)
            .fold(PartyInput::of(&self.list.keyed), |input, (label, _)| input.hide(label))
    }

    /// Keeps `H(t)` of this side's keys in `dir` between runs (owner-only file; as sensitive
    /// as the list itself), so that mapping an unchanged list again skips hashing.
    pub fn with_hash_cache(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        let dir = dir.into();
        self.config = self.config.hash_cache(dir.clone());
        self.counts_config = self.counts_config.hash_cache(dir);
        self
    }

    /// Reports slots processed to `progress` (see [`crate::psi::Progress`]).
    pub fn with_progress(mut self, progress: crate::psi::Progress) -> Self {
        self.config.progress = progress.clone();
        self.counts_config.progress = progress;
        self
    }

    /// This side's slots in the session (accounts × K), the counts sub-session's included
    /// where it repeats the overlap populations.
    pub fn slots_in_session(&self) -> u64 {
        self.accounts_in_session() as u64 * u64::from(self.config.slots)
    }

    /// The prepared list.
    pub fn list(&self) -> &PreparedList {
        &self.list
    }

    /// The policy.
    pub fn policy(&self) -> &SharingPolicy {
        &self.policy
    }

    /// The mode this side asks for: matches when it shares any population with its
    /// overlaps, counts only when it shares none.
    pub fn mode(&self) -> Mode {
        if self.overlapping.is_empty() {
            Mode::CountsOnly
        } else {
            Mode::Matches
        }
    }

    /// Populations this side shares as counts only, with their sizes.
    pub fn counted_populations(&self) -> &[(String, u64)] {
        &self.counted
    }

    /// Accounts this side puts into the session.
    pub fn accounts_in_session(&self) -> usize {
        self.overlapping
            .iter()
            .chain(&self.counted)
            .map(|(_, n)| *n as usize)
            .sum()
    }

    /// A digest of what this side puts into the session (populations and how each is
    /// shared, keys, settings): a file exchange checks that the list did not change
    /// between steps.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update([self.config.slots, self.config.truncation, crate::psi::VERSION]);
        let input = self.counts_input(true);
        let keyed = &self.list.keyed;
        for i in (0..keyed.len()).filter(|i| input.includes(*i)) {
            h.update(keyed.population(i).as_bytes());
            h.update([0, self.policy.rule(keyed.population(i)).share as u8]);
            for k in keyed.keys(i) {
                h.update(k);
                h.update([0]);
            }
            h.update([1]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Initiator, step 1: the matches sub-session's first message, declaring this side's
    /// counted populations (the responder starts the counts sub-session in message 2).
    pub fn start(&self) -> Result<(Initiator, Message)> {
        let (mut ini, mut msg1) = Initiator::start(&self.input(), &self.config)?;
        msg1.counted = self.counted.clone();
        ini.bind_sent(&msg1);
        Ok((ini, msg1))
    }

    /// Responder, step 2: answers the matches sub-session and, when either side counts a
    /// population, starts the counts sub-session inside message 2.
    pub fn respond(&self, msg1: &Message) -> Result<(Responded, Message)> {
        Self::check_matches_part(msg1)?;
        Responder::check_first(msg1, &self.config)?;
        self.respond_prepared(self.prepare_responder(msg1.accounts())?, msg1)
    }

    fn check_matches_part(msg1: &Message) -> Result<()> {
        if msg1.mode != Mode::Matches {
            return Err(Error::message(
                "message 1",
                "its matches part is in counts-only mode; a version-3 partner declares counted populations instead",
            ));
        }
        Ok(())
    }

    /// Responder, before message 1: hashes and blinds this side's overlap populations, which
    /// do not depend on message 1, so that a live session does it while the initiator computes
    /// message 1. `partner_overlaps` is the number of accounts the partner shares with their
    /// overlaps (as declared): a partner without any cannot pair with ours, so ours stay out.
    pub fn prepare_responder(&self, partner_overlaps: u64) -> Result<PreparedResponder> {
        let empty = partner_overlaps == 0;
        let input = if empty { self.input().hide_all() } else { self.input() };
        Ok(PreparedResponder {
            matches: Responder::prepare(&input, &self.config)?,
            empty,
        })
    }

    /// Responder: message 2's matches part without its returned values and proofs (no
    /// counts part), sent ahead by a live session so that the initiator blinds our points
    /// ([`Party::blind_ahead`]) while we blind its.
    pub fn preview(&self, prepared: &PreparedResponder, msg1: &Message) -> Result<Message> {
        Self::check_matches_part(msg1)?;
        let mut preview = Responder::preview(&prepared.matches, &self.config, msg1)?;
        preview.counted = self.counted.clone();
        Ok(preview)
    }

    /// [`Party::respond`] with this side's points prepared ahead.
    pub fn respond_prepared(&self, prepared: PreparedResponder, msg1: &Message) -> Result<(Responded, Message)> {
        Self::check_matches_part(msg1)?;
        // Prepared for another message 1 (the partner's declaration was not what it sent).
        let prepared = if prepared.empty != (msg1.accounts() == 0) {
            self.prepare_responder(msg1.accounts())?
        } else {
            prepared
        };
        let (mut matches, mut msg2) = Responder::respond_prepared(prepared.matches, &self.config, msg1)?;
        let counts = if needs_counts(&self.counted, &msg1.counted) {
            let (ini, part) = Initiator::start(&self.counts_input(!msg1.counted.is_empty()), &self.counts_config)?;
            msg2.counts = Some(Box::new(part));
            Some(ini)
        } else {
            None
        };
        msg2.counted = self.counted.clone();
        matches.bind_sent(&msg2);
        Ok((
            Responded {
                matches,
                counts,
                partner_counted: msg1.counted.clone(),
            },
            msg2,
        ))
    }

    /// Initiator, step 3: learns the matches, returns message 3 with this side's records
    /// and its answer in the counts sub-session.
    pub fn finish(&self, initiator: Initiator, msg2: &Message) -> Result<(Finished, Message)> {
        self.finish_with(initiator, msg2, None)
    }

    /// Initiator, between messages 2's preview and message 2: blinds the responder's points
    /// of the matches part ([`Initiator::blind_ahead`]); [`Party::finish_with`] uses the
    /// result once it has checked message 2, and only if message 2 has the same points.
    pub fn blind_ahead(&self, initiator: &Initiator, preview: &Message) -> Result<Ahead> {
        Self::check_matches_reply(preview)?;
        initiator.blind_ahead(preview)
    }

    fn check_matches_reply(msg2: &Message) -> Result<()> {
        if msg2.mode != Mode::Matches {
            return Err(Error::message("message 2", "its matches part is in counts-only mode"));
        }
        Ok(())
    }

    /// [`Party::finish`] with the blinding of the responder's points done ahead.
    pub fn finish_with(
        &self,
        initiator: Initiator,
        msg2: &Message,
        ahead: Option<Ahead>,
    ) -> Result<(Finished, Message)> {
        Self::check_matches_reply(msg2)?;
        check_counts_part(
            "message 2",
            needs_counts(&self.counted, &msg2.counted),
            msg2.counts.is_some(),
            "that the counted populations need",
        )?;
        let (result, mut msg3) = initiator
            .with_progress(self.config.progress.clone())
            .finish_with(msg2, ahead)?;
        let counts = match &msg2.counts {
            Some(part) => {
                let input = self.counts_input(!msg2.counted.is_empty());
                let (responder, reply) = Responder::respond(&input, &self.counts_config, part)
                    .map_err(|e| Error::message("message 2 (counts part)", e.to_string()))?;
                msg3.counts = Some(Box::new(reply));
                Some(crate::psi::hex(&responder.save()))
            }
            None => None,
        };
        let decisions = decide_all(&result.matches, &self.list.keyed, &self.list.config.types);
        let (records, records_sent, fields) = self.records(&result, &decisions)?;
        msg3.records = records;
        Ok((
            Finished {
                sent: msg3.transcript(),
                result,
                records_sent,
                fields_sent: fields,
                fingerprint: self.fingerprint(),
                counts,
                partner_counted: msg2.counted.clone(),
            },
            msg3,
        ))
    }

    /// Responder, step 4: learns the matches, the initiator's records and the counts;
    /// returns this side's mapping and message 4 with this side's records (and the counts
    /// sub-session's last message).
    pub fn complete_responder(&self, responded: Responded, msg3: &Message) -> Result<(Mapping, Message)> {
        let Responded {
            matches: responder,
            counts,
            partner_counted,
        } = responded;
        let mode = responder.mode();
        let session = responder.session();
        let result = responder.complete(msg3)?;
        check_counts_part(
            "message 3",
            counts.is_some(),
            msg3.counts.is_some(),
            "of the sub-session message 2 started",
        )?;
        let (counts_result, counts_part) = match (counts, &msg3.counts) {
            (Some(ini), Some(part)) => {
                let (r, last) = ini
                    .with_progress(self.counts_config.progress.clone())
                    .finish(part)
                    .map_err(|e| Error::message("message 3 (counts part)", e.to_string()))?;
                (Some(r), Some(Box::new(last)))
            }
            _ => (None, None),
        };
        // The rule runs once over the candidates; the partner's records, ours and the
        // mapping all follow its verdicts.
        let decisions = decide_all(&result.matches, &self.list.keyed, &self.list.config.types);
        let partner = parse_records(&msg3.records, &result, &decisions, "message 3")?;
        let (records, records_sent, fields) = self.records(&result, &decisions)?;
        let msg4 = Message {
            kind: MessageType::ResponderRecords,
            mode,
            slots: msg3.slots,
            truncation: msg3.truncation,
            session,
            previous: msg3.transcript(),
            populations: Vec::new(),
            commitment: [0; 32],
            proofs: Vec::new(),
            returned: Vec::new(),
            points: Vec::new(),
            records,
            counted: Vec::new(),
            counts: counts_part,
        };
        let disclosure = self.disclosure(records_sent, fields);
        let mapping = Mapping::build(&result, decisions, partner, disclosure);
        Ok((mapping.with_counts(counts_result.as_ref(), &partner_counted), msg4))
    }

    /// Initiator, after message 4: the mapping with the responder's records and the counts.
    pub fn complete_initiator(&self, finished: Finished, msg4: &Message) -> Result<Mapping> {
        if finished.fingerprint != self.fingerprint() {
            return Err(Error::protocol(
                "your account list or options changed since this session started; run the session again",
            ));
        }
        if msg4.kind != MessageType::ResponderRecords {
            return Err(Error::protocol(format!(
                "expected the partner's step-4 message, got a step-{} message",
                msg4.kind.step()
            )));
        }
        if msg4.session != finished.result.session {
            return Err(Error::protocol("message 4 belongs to another session"));
        }
        if msg4.previous != finished.sent {
            return Err(Error::protocol("message 4 answers another run of this session"));
        }
        check_counts_part(
            "message 4",
            finished.counts.is_some(),
            msg4.counts.is_some(),
            "of the counts sub-session",
        )?;
        let counts = match (&finished.counts, &msg4.counts) {
            (Some(state), Some(part)) => {
                let bytes = crate::psi::unhex(state)
                    .ok_or_else(|| Error::message("session state", "the counts sub-session's state is invalid"))?;
                let responder = Responder::load(&bytes)?;
                Some(
                    responder
                        .complete(part)
                        .map_err(|e| Error::message("message 4 (counts part)", e.to_string()))?,
                )
            }
            _ => None,
        };
        // The same verdicts as in `finish` (the same candidates, decided alike).
        let decisions = decide_all(&finished.result.matches, &self.list.keyed, &self.list.config.types);
        let partner = parse_records(&msg4.records, &finished.result, &decisions, "message 4")?;
        let disclosure = self.disclosure(finished.records_sent, finished.fields_sent.clone());
        let mapping = Mapping::build(&finished.result, decisions, partner, disclosure);
        Ok(mapping.with_counts(counts.as_ref(), &finished.partner_counted))
    }

    /// Checks that a state file's fingerprint matches this party (the list is unchanged).
    pub fn check_fingerprint(&self, fingerprint: &str) -> Result<()> {
        if fingerprint != self.fingerprint() {
            return Err(Error::protocol(
                "your account list or options changed since this session started; run the session again",
            ));
        }
        Ok(())
    }

    fn disclosure(&self, records_sent: u64, fields_sent: Vec<String>) -> Disclosure {
        let mut populations_sent: Vec<(String, u64)> = self.overlapping.iter().chain(&self.counted).cloned().collect();
        populations_sent.sort();
        Disclosure {
            mode: self.mode(),
            accounts_sent: self.accounts_in_session() as u64,
            populations_sent,
            hidden_populations: self.hidden.clone(),
            counted_populations: self.counted.clone(),
            slots: self.config.slots,
            records_sent,
            fields_sent,
        }
    }

    /// This side's shared records for its matched accounts, as JSON, with how many records
    /// and which field names they hold.
    fn records(&self, result: &PsiResult, decisions: &[Decision]) -> Result<(Vec<u8>, u64, Vec<String>)> {
        if result.mode == Mode::CountsOnly {
            return Ok((Vec::new(), 0, Vec::new()));
        }
        // Only populations shared with their overlaps have records; their accounts are read
        // (again, for a streamed list) a batch at a time, and written straight to JSON.
        let shares = |i: usize| self.policy.rule(self.list.keyed.population(i)).share == Share::Overlaps;
        let mut positions: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
        for (m, _) in result
            .matches
            .iter()
            .zip(decisions)
            .filter(|(m, d)| d.verdict != Verdict::NoMatch && shares(m.own_account))
        {
            let at = positions.entry(m.own_account).or_default();
            if !at.contains(&m.own_position) {
                at.push(m.own_position);
            }
        }
        let wanted: BTreeSet<usize> = positions.keys().copied().collect();
        let mut fields_used = BTreeSet::new();
        let mut out = vec![b'['];
        let mut count = 0u64;
        let mut failed = None;
        self.list.for_each_detail(&wanted, |i, account| {
            let fields = self.policy.shared_fields(account, &self.list.extra_columns);
            if fields.is_empty() {
                return;
            }
            for name in &fields {
                if !fields_used.contains(&name.0) {
                    fields_used.insert(name.0.clone());
                }
            }
            for &position in positions.get(&i).into_iter().flatten() {
                if count > 0 {
                    out.push(b',');
                }
                count += 1;
                let record = RecordOut {
                    account: position,
                    fields: &fields,
                };
                if let Err(e) = serde_json::to_writer(&mut out, &record) {
                    failed = Some(e);
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(Error::config(format!("encoding shared records: {e}")));
        }
        if count == 0 {
            return Ok((Vec::new(), 0, Vec::new()));
        }
        out.push(b']');
        Ok((out, count, fields_used.into_iter().collect()))
    }
}

#[derive(serde::Serialize)]
struct RecordOut<'a> {
    account: u64,
    fields: &'a [(String, String)],
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    account: u64,
    fields: Vec<(String, String)>,
}

/// Parses and checks the partner's records: only for partner accounts that matched, within
/// size limits.
fn parse_records(
    bytes: &[u8],
    result: &PsiResult,
    decisions: &[Decision],
    context: &str,
) -> Result<BTreeMap<u64, Vec<(String, String)>>> {
    let mut out = BTreeMap::new();
    if bytes.is_empty() {
        return Ok(out);
    }
    if result.mode == Mode::CountsOnly {
        return Err(Error::message(context, "shared records in a counts-only session"));
    }
    let records: Vec<Record> = serde_json::from_slice(bytes)
        .map_err(|e| Error::message(context, format!("shared records are not valid: {e}")))?;
    // Both sides decide the same candidates alike, so a record comes only for an account
    // of a kept pair; one for a candidate the rule rejected means the partner decided
    // otherwise (another rule, or a lie), and its records are refused.
    let candidates: BTreeSet<u64> = result.matches.iter().map(|m| m.peer_account).collect();
    let kept: BTreeSet<u64> = result
        .matches
        .iter()
        .zip(decisions)
        .filter(|(_, d)| d.verdict != Verdict::NoMatch)
        .map(|(m, _)| m.peer_account)
        .collect();
    for r in records {
        if !candidates.contains(&r.account) {
            return Err(Error::message(
                context,
                format!("shared record for partner account {} that did not match", r.account),
            ));
        }
        if !kept.contains(&r.account) {
            return Err(Error::message(
                context,
                format!(
                    "shared record for partner account {}, a pair the decision rule rejects: the partner decided otherwise (does it use other --keys, or another acctmap version?)",
                    r.account
                ),
            ));
        }
        if r.fields.len() > MAX_FIELDS || r.fields.iter().any(|(k, v)| k.len() > 64 || v.len() > MAX_VALUE) {
            return Err(Error::message(
                context,
                format!("shared record {} is larger than allowed", r.account),
            ));
        }
        if out.insert(r.account, r.fields).is_some() {
            return Err(Error::message(
                context,
                format!("shared record {} appears twice", r.account),
            ));
        }
    }
    Ok(out)
}

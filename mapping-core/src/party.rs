//! The embedding API: a [`Party`] is one side's prepared list, sharing policy and session
//! settings; it drives the six protocol messages in and out as bytes (any transport works)
//! and yields a [`Mapping`].
//!
//! ```text
//! initiator                                   responder
//! party.start()          -- message 1 -->
//!                                             party.respond(msg1)
//!                        <-- message 2 --
//! party.finish(msg2)     -- message 3 -->     (the first round ends; the pair round starts)
//!                                             party.compare(msg3)
//!                        <-- message 4 --     (the pair round's reply)
//! party.decide(msg4)     -- message 5 -->     (the pair round ends; the initiator's records)
//!                                             party.complete_responder(msg5) -> Mapping
//!                        <-- message 6 --     (the responder's shared records)
//! party.complete_initiator(msg6) -> Mapping
//! ```
//!
//! The first round (messages 1 to 3) finds the candidate pairs: accounts that share a key.
//! The pair round ([`crate::compare`]) compares the candidates' attributes (presence of a
//! domain and a country, the country, the brand label) for those pairs only, inside messages
//! 3 to 5; then each side decides every candidate by the same rule ([`crate::decide`]) and
//! sends records only for the pairs it keeps.
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
//! let (cmp, m4) = b.compare(resp, &m3).unwrap();
//! let (dec, m5) = a.decide(fin, &m4).unwrap();
//! let (b_view, m6) = b.complete_responder(cmp, &m5).unwrap();
//! let a_view = a.complete_initiator(dec, &m6).unwrap();
//! assert_eq!(a_view.pairs.len(), 1);
//! assert_eq!(b_view.pairs.len(), 1);
//! assert_eq!(a_view.pairs[0].partner_fields[2], ("name".to_string(), "ACME".to_string()));
//! ```

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::compare::{self, Agreement, Role};
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

/// The initiator after message 3: the first round's result is known, the pair round has
/// started (its key is held: save this only to an owner-only file, with
/// [`Finished::save`]), and the counts sub-session waits for its last message.
#[derive(Debug)]
pub struct Finished {
    pub(crate) result: PsiResult,
    pub(crate) sent: [u8; 16],
    pub(crate) fingerprint: String,
    /// The pair round's initiator (holds its key until message 4).
    pub(crate) pairs: Initiator,
    /// The counts sub-session's responder, when there is one.
    pub(crate) counts: Option<Responder>,
    /// The partner's populations shared as counts only, as it declared them.
    pub(crate) partner_counted: Vec<(String, u64)>,
}

/// The responder after message 4: the first round's result and the counts are known, the
/// pair round waits for its last message. Holds no secret.
#[derive(Debug)]
pub struct Compared {
    pub(crate) result: PsiResult,
    pub(crate) sent: [u8; 16],
    pub(crate) fingerprint: String,
    pub(crate) pairs: Responder,
    pub(crate) counts: Option<PsiResult>,
    pub(crate) partner_counted: Vec<(String, u64)>,
}

/// The initiator after message 5: every candidate is decided, the partner's records are
/// due. Holds no secret, so it can be kept in a plain state file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Decided {
    pub(crate) result: PsiResult,
    pub(crate) agreements: Vec<Agreement>,
    pub(crate) sent: [u8; 16],
    pub(crate) records_sent: u64,
    pub(crate) fields_sent: Vec<String>,
    pub(crate) fingerprint: String,
    pub(crate) counts: Option<PsiResult>,
    pub(crate) partner_counted: Vec<(String, u64)>,
}

impl Finished {
    /// Candidate pairs the pair round compares: its entries.
    pub fn candidates(&self) -> u64 {
        compare::entries(&self.result) as u64
    }
}

impl Compared {
    /// Candidate pairs the pair round compares: its entries.
    pub fn candidates(&self) -> u64 {
        compare::entries(&self.result) as u64
    }
}

/// Adds the pair round's work to the first round's timings (the pair round never uses the
/// hash cache, so it does not count as a miss).
fn add_pair_timings(result: &mut PsiResult, pairs: &PsiResult) {
    let hit = result.timings.hash_cache_hit;
    result.timings.add(&pairs.timings);
    result.timings.hash_cache_hit = hit;
    result.timings.pair_slots += pairs.timings.own_slots;
}

/// The pair part a message must carry.
fn pair_part<'m>(msg: &'m Message, context: &str) -> Result<&'m Message> {
    msg.pairs
        .as_deref()
        .ok_or_else(|| Error::message(context, "it lacks the pair part (the candidate pairs' comparison)"))
}

/// A message of the second half: no points, values, proofs or populations of its own.
fn second_half(kind: MessageType, like: &Message, session: [u8; 16], previous: [u8; 16]) -> Message {
    Message {
        kind,
        mode: like.mode,
        slots: like.slots,
        truncation: like.truncation,
        session,
        previous,
        populations: Vec::new(),
        commitment: [0; 32],
        proofs: Vec::new(),
        returned: Vec::new(),
        points: Vec::new(),
        records: Vec::new(),
        counted: Vec::new(),
        counts: None,
        pairs: None,
    }
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
            let a = keyed.attributes(i);
            h.update([1, u8::from(a.domain), u8::from(a.several_domains)]);
            h.update(a.country.unwrap_or_default().as_bytes());
            h.update([0]);
            h.update(a.brand.unwrap_or_default().as_bytes());
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

    /// Initiator, step 3: learns the candidate pairs, returns message 3 with its answer in
    /// the counts sub-session and the pair round's first message.
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
                Some(responder)
            }
            None => None,
        };
        // The pair round starts over the candidates of the first.
        compare::check_candidates(&result, self.config.slots)?;
        let n = compare::entries(&result);
        let (pairs, part) = Initiator::start(
            &compare::input(&result, &self.list.keyed, Role::Initiator),
            &compare::config(&self.config, n),
        )?;
        msg3.pairs = Some(Box::new(part));
        Ok((
            Finished {
                sent: msg3.transcript(),
                result,
                fingerprint: self.fingerprint(),
                pairs,
                counts,
                partner_counted: msg2.counted.clone(),
            },
            msg3,
        ))
    }

    /// Responder, step 4: learns the candidate pairs (message 3's values, checked against
    /// their proofs) and the counts, and answers the pair round.
    pub fn compare(&self, responded: Responded, msg3: &Message) -> Result<(Compared, Message)> {
        let Responded {
            matches: responder,
            counts,
            partner_counted,
        } = responded;
        let result = responder.complete(msg3)?;
        check_counts_part(
            "message 3",
            counts.is_some(),
            msg3.counts.is_some(),
            "of the sub-session message 2 started",
        )?;
        let part = pair_part(msg3, "message 3")?;
        compare::check_candidates(&result, self.config.slots)?;
        let n = compare::entries(&result);
        compare::check_entries("message 3", part.accounts(), n)?;
        let (pairs, reply) = Responder::respond(
            &compare::input(&result, &self.list.keyed, Role::Responder),
            &compare::config(&self.config, n),
            part,
        )
        .map_err(|e| Error::message("message 3 (pair part)", e.to_string()))?;
        let mut msg4 = second_half(MessageType::ResponderCompare, msg3, result.session, msg3.transcript());
        msg4.pairs = Some(Box::new(reply));
        let counts = match (counts, &msg3.counts) {
            (Some(ini), Some(part)) => {
                let (r, last) = ini
                    .with_progress(self.counts_config.progress.clone())
                    .finish(part)
                    .map_err(|e| Error::message("message 3 (counts part)", e.to_string()))?;
                msg4.counts = Some(Box::new(last));
                Some(r)
            }
            _ => None,
        };
        Ok((
            Compared {
                sent: msg4.transcript(),
                result,
                fingerprint: self.fingerprint(),
                pairs,
                counts,
                partner_counted,
            },
            msg4,
        ))
    }

    /// Initiator, step 5: ends the pair round, decides every candidate, learns the counts,
    /// and returns message 5 with the pair round's last values and this side's records.
    pub fn decide(&self, finished: Finished, msg4: &Message) -> Result<(Decided, Message)> {
        let Finished {
            result,
            sent,
            fingerprint,
            pairs,
            counts,
            partner_counted,
        } = finished;
        self.check_second_half(msg4, MessageType::ResponderCompare, &result.session, &sent)?;
        check_counts_part(
            "message 4",
            counts.is_some(),
            msg4.counts.is_some(),
            "of the counts sub-session",
        )?;
        let part = pair_part(msg4, "message 4")?;
        compare::check_entries("message 4", part.accounts(), compare::entries(&result))?;
        let (pair_result, reply) = pairs
            .finish(part)
            .map_err(|e| Error::message("message 4 (pair part)", e.to_string()))?;
        let agreements = compare::read(&result, Role::Initiator, &pair_result)?;
        let counts = match (counts, &msg4.counts) {
            (Some(responder), Some(part)) => Some(
                responder
                    .complete(part)
                    .map_err(|e| Error::message("message 4 (counts part)", e.to_string()))?,
            ),
            _ => None,
        };
        let mut result = result;
        add_pair_timings(&mut result, &pair_result);
        let decisions = decide_all(
            &result.matches,
            &self.list.keyed,
            &self.list.config.types,
            Some(&agreements),
        );
        let (records, records_sent, fields) = self.records(&result, &decisions)?;
        let mut msg5 = second_half(MessageType::InitiatorRecords, msg4, result.session, msg4.transcript());
        msg5.pairs = Some(Box::new(reply));
        msg5.records = records;
        Ok((
            Decided {
                sent: msg5.transcript(),
                result,
                agreements,
                records_sent,
                fields_sent: fields,
                fingerprint,
                counts,
                partner_counted,
            },
            msg5,
        ))
    }

    /// Responder, step 6: ends the pair round, decides every candidate (as the initiator
    /// did), takes the initiator's records, and returns this side's mapping and message 6
    /// with this side's records.
    pub fn complete_responder(&self, compared: Compared, msg5: &Message) -> Result<(Mapping, Message)> {
        self.check_fingerprint(&compared.fingerprint)?;
        let Compared {
            mut result,
            sent,
            pairs,
            counts,
            partner_counted,
            ..
        } = compared;
        self.check_second_half(msg5, MessageType::InitiatorRecords, &result.session, &sent)?;
        check_counts_part("message 5", false, msg5.counts.is_some(), "")?;
        let part = pair_part(msg5, "message 5")?;
        let pair_result = pairs
            .complete(part)
            .map_err(|e| Error::message("message 5 (pair part)", e.to_string()))?;
        let agreements = compare::read(&result, Role::Responder, &pair_result)?;
        add_pair_timings(&mut result, &pair_result);
        // The rule runs once over the candidates; the partner's records, ours and the
        // mapping all follow its verdicts.
        let decisions = decide_all(
            &result.matches,
            &self.list.keyed,
            &self.list.config.types,
            Some(&agreements),
        );
        let partner = parse_records(&msg5.records, &result, &decisions, "message 5")?;
        let (records, records_sent, fields) = self.records(&result, &decisions)?;
        let mut msg6 = second_half(MessageType::ResponderRecords, msg5, result.session, msg5.transcript());
        msg6.records = records;
        let disclosure = self.disclosure(records_sent, fields, compare::entries(&result) as u64);
        let mapping = Mapping::build(&result, decisions, partner, disclosure);
        Ok((mapping.with_counts(counts.as_ref(), &partner_counted), msg6))
    }

    /// Initiator, after message 6: the mapping with the responder's records and the counts.
    pub fn complete_initiator(&self, decided: Decided, msg6: &Message) -> Result<Mapping> {
        self.check_fingerprint(&decided.fingerprint)?;
        self.check_second_half(
            msg6,
            MessageType::ResponderRecords,
            &decided.result.session,
            &decided.sent,
        )?;
        check_counts_part("message 6", false, msg6.counts.is_some(), "")?;
        if msg6.pairs.is_some() {
            return Err(Error::message(
                "message 6",
                "it carries a pair part; the pair round ended in message 5",
            ));
        }
        // The same verdicts as in `decide` (the same candidates and agreements, decided alike).
        let decisions = decide_all(
            &decided.result.matches,
            &self.list.keyed,
            &self.list.config.types,
            Some(&decided.agreements),
        );
        let partner = parse_records(&msg6.records, &decided.result, &decisions, "message 6")?;
        let disclosure = self.disclosure(
            decided.records_sent,
            decided.fields_sent.clone(),
            compare::entries(&decided.result) as u64,
        );
        let mapping = Mapping::build(&decided.result, decisions, partner, disclosure);
        Ok(mapping.with_counts(decided.counts.as_ref(), &decided.partner_counted))
    }

    /// Checks a message of the second half (messages 4 to 6, which only the party level
    /// reads) as the first round's messages are checked: the step expected, this session,
    /// an answer to the message this side sent, the session's slots and compared bytes.
    fn check_second_half(&self, msg: &Message, kind: MessageType, session: &[u8; 16], sent: &[u8; 16]) -> Result<()> {
        crate::psi::check_message(
            msg,
            kind,
            Some((session, sent)),
            self.config.slots,
            self.config.truncation,
        )
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

    fn disclosure(&self, records_sent: u64, fields_sent: Vec<String>, pairs_compared: u64) -> Disclosure {
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
            pairs_compared,
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

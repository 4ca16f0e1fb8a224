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
use crate::keys::PreparedList;
use crate::matching::{Disclosure, Mapping};
use crate::policy::{Share, SharingPolicy};
use crate::psi::{Initiator, Message, MessageType, Mode, PartyInput, PsiConfig, PsiResult, Responder};

/// Limits on what a partner's shared records may hold.
const MAX_FIELDS: usize = 32;
const MAX_VALUE: usize = 4096;

/// One side of a mapping.
#[derive(Debug)]
pub struct Party {
    list: PreparedList,
    policy: SharingPolicy,
    config: PsiConfig,
    /// Populations the policy leaves out, with their sizes.
    hidden: Vec<(String, u64)>,
    /// Accounts in the session (those not hidden).
    in_session: usize,
}

/// The initiator after message 3: the PSI result is known, the partner's records are due.
/// Holds no secret (the session key is gone), so it can be kept in a plain state file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Finished {
    result: PsiResult,
    sent: [u8; 16],
    records_sent: u64,
    fields_sent: Vec<String>,
    fingerprint: String,
}

impl Party {
    /// Builds a party: populations the policy hides are left out; one `counts` population
    /// makes the session counts-only.
    pub fn new(list: PreparedList, policy: SharingPolicy) -> Result<Party> {
        let mut hidden: BTreeMap<String, u64> = BTreeMap::new();
        let mut mode = Mode::Matches;
        let mut in_session = 0;
        for (label, n) in list.keyed.population_sizes() {
            match policy.rule(label).share {
                Share::Hidden => {
                    *hidden.entry(label.to_owned()).or_default() += n;
                    continue;
                }
                Share::Counts => mode = Mode::CountsOnly,
                Share::Overlaps => {}
            }
            in_session += n as usize;
        }
        let config = PsiConfig::new()
            .mode(mode)
            .slots(list.config.slots)?
            .max_peer_accounts(policy.max_peer_accounts)
            .max_pair_factor(policy.max_pair_factor);
        Ok(Party {
            list,
            policy,
            config,
            hidden: hidden.into_iter().collect(),
            in_session,
        })
    }

    /// What this side puts into the session: the list's accounts, hidden populations left out
    /// (a view, nothing copied).
    fn input(&self) -> PartyInput<'_> {
        self.hidden
            .iter()
            .fold(PartyInput::of(&self.list.keyed), |input, (label, _)| input.hide(label))
    }

    /// Keeps `H(t)` of this side's keys in `dir` between runs (owner-only file; as sensitive
    /// as the list itself), so that mapping an unchanged list again skips hashing.
    pub fn with_hash_cache(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config = self.config.hash_cache(dir);
        self
    }

    /// Reports slots processed to `progress` (see [`crate::psi::Progress`]).
    pub fn with_progress(mut self, progress: crate::psi::Progress) -> Self {
        self.config.progress = progress;
        self
    }

    /// This side's slots in the session (accounts × K).
    pub fn slots_in_session(&self) -> u64 {
        self.in_session as u64 * u64::from(self.config.slots)
    }

    /// The prepared list.
    pub fn list(&self) -> &PreparedList {
        &self.list
    }

    /// The policy.
    pub fn policy(&self) -> &SharingPolicy {
        &self.policy
    }

    /// The mode this side asks for.
    pub fn mode(&self) -> Mode {
        self.config.mode
    }

    /// Accounts this side puts into the session.
    pub fn accounts_in_session(&self) -> usize {
        self.in_session
    }

    /// A digest of what this side puts into the session (populations, keys, settings): a
    /// file exchange checks that the list did not change between steps.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update([
            self.config.slots,
            self.config.truncation,
            matches!(self.config.mode, Mode::CountsOnly) as u8,
        ]);
        let input = self.input();
        let keyed = &self.list.keyed;
        for i in (0..keyed.len()).filter(|i| input.includes(*i)) {
            h.update(keyed.population(i).as_bytes());
            h.update([0]);
            for k in keyed.keys(i) {
                h.update(k);
                h.update([0]);
            }
            h.update([1]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Initiator, step 1.
    pub fn start(&self) -> Result<(Initiator, Message)> {
        Initiator::start(&self.input(), &self.config)
    }

    /// Responder, step 2.
    pub fn respond(&self, msg1: &Message) -> Result<(Responder, Message)> {
        Responder::respond(&self.input(), &self.config, msg1)
    }

    /// Initiator, step 3: learns the matches, returns message 3 with this side's records.
    pub fn finish(&self, initiator: Initiator, msg2: &Message) -> Result<(Finished, Message)> {
        let (result, mut msg3) = initiator.with_progress(self.config.progress.clone()).finish(msg2)?;
        let decisions = decide_all(&result.matches, &self.list.keyed);
        let (records, records_sent, fields) = self.records(&result, &decisions)?;
        msg3.records = records;
        Ok((
            Finished {
                sent: msg3.transcript(),
                result,
                records_sent,
                fields_sent: fields,
                fingerprint: self.fingerprint(),
            },
            msg3,
        ))
    }

    /// Responder, step 4: learns the matches and the initiator's records; returns this
    /// side's mapping and message 4 with this side's records.
    pub fn complete_responder(&self, responder: Responder, msg3: &Message) -> Result<(Mapping, Message)> {
        let mode = responder.mode();
        let session = responder.session();
        let result = responder.complete(msg3)?;
        // The rule runs once over the candidates; the partner's records, ours and the
        // mapping all follow its verdicts.
        let decisions = decide_all(&result.matches, &self.list.keyed);
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
        };
        let disclosure = self.disclosure(&result, records_sent, fields);
        Ok((Mapping::build(&result, decisions, partner, disclosure), msg4))
    }

    /// Initiator, after message 4: the mapping with the responder's records.
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
        // The same verdicts as in `finish` (the same candidates, decided alike).
        let decisions = decide_all(&finished.result.matches, &self.list.keyed);
        let partner = parse_records(&msg4.records, &finished.result, &decisions, "message 4")?;
        let disclosure = self.disclosure(&finished.result, finished.records_sent, finished.fields_sent.clone());
        Ok(Mapping::build(&finished.result, decisions, partner, disclosure))
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

    fn disclosure(&self, result: &PsiResult, records_sent: u64, fields_sent: Vec<String>) -> Disclosure {
        Disclosure {
            mode: result.mode,
            accounts_sent: self.in_session as u64,
            populations_sent: result.own_populations.clone(),
            hidden_populations: self.hidden.clone(),
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
                    "shared record for partner account {}, a pair the decision rule rejects: the partner decided otherwise",
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

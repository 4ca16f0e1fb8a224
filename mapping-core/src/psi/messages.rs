//! The wire format: self-describing binary messages, checked field by field before anything
//! in them is used.
//!
//! ```text
//! offset size  field
//! 0      6     magic "ACMAP\0"
//! 6      1     version (4)
//! 7      1     message type: 1 initiator's points, 2 responder's reply, 3 initiator's final,
//!              4 responder's comparison, 5 initiator's records, 6 responder's records
//! 8      1     mode: 0 matches, 1 counts only
//! 9      1     slots per account (K), 1..=16
//! 10     1     compared bytes T of each double-blinded value, 16..=32
//! 11     1     reserved, 0
//! 12     16    session id (chosen by the initiator)
//! 28     16    transcript: first 16 bytes of the previous message's checksum (0 in step 1)
//! 44     8     sender's account count n (big-endian)
//! 52     8     returned value count r
//! 60     8     shared-records length s in bytes (types 5 and 6; within the message)
//! 68     2     population count p (at most 1024)
//! 70     32    the sender's key commitment `k·G` (types 1 and 2; zero otherwise)
//! 102    4     proof count q (types 2 and 3; zero otherwise)
//! 106    2     counted population count p2 (types 1 and 2; zero otherwise)
//! 108    8     counts-part length c in bytes (types 2 to 4; zero otherwise)
//! 116    8     pair-part length m in bytes (types 3 to 5; zero otherwise)
//! 124    ...   p × (u16 label length ≤ 256, UTF-8 label, u64 accounts); the counts sum to n
//! ...    ...   p2 × the same: the sender's populations shared as counts only (declared,
//!              their points travel in the counts part)
//! ...    s     shared records: JSON, the fields the sender's policy shares for its matched
//!              accounts (types 5 and 6)
//! ...    c     the counts part: a whole message of the counts sub-session (its own
//!              header, values and checksum; no part of its own), step one less
//!              than this message's
//! ...    m     the pair part: a whole message of the pair round over the candidate pairs
//!              (matches mode; no part of its own), step two less than this message's
//! ...    q·64  batched DLEQ proofs (RFC 9497 §2.2) that the returned values are the
//!              partner's points times the committed key (types 2 and 3)
//! ...    r·32  returned double-blinded values, whole (types 2 and 3)
//! ...    n·K·32  the sender's blinded points, grouped by population (types 1 and 2)
//! end-32 32    SHA-256 of everything before it (integrity, not authenticity)
//! ```
//!
//! Version 2 added the commitment and the proofs, and returns values whole (version 1
//! truncated them to T bytes, which made them impossible to check). Version 3 added
//! per-population sharing: the populations a sender shares as counts only are declared
//! (`p2`) and run in a second, counts-only sub-session with its own keys and shuffles,
//! whose messages ride inside messages 2 to 4 (`c`); see `crate::party`. Version 4 added the
//! pair round ([`crate::compare`]): a third sub-session over the candidate pairs of the first,
//! whose messages ride inside messages 3 to 5 (`m`), so the records move to messages 5 and 6,
//! after both sides have decided. A decoder error names
//! the field and what was wrong; lengths are checked against the bytes actually present
//! (and the caller's set-size limit) before any allocation.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Magic bytes at the start of every message.
pub const MAGIC: &[u8; 6] = b"ACMAP\0";
/// Wire-format version. 5: the pair round compares domain and country presence in two
/// slots (four values per candidate pair instead of three).
pub const VERSION: u8 = 5;
const FIXED_HEADER: usize = 124;
/// Bytes of one returned value on the wire (whole, so that its proof can be checked).
pub const VALUE_BYTES: usize = 32;
const PROOF: usize = super::proof::PROOF_BYTES;
const CHECKSUM: usize = 32;
const MAX_POPULATIONS: usize = 1024;
const MAX_LABEL: usize = 256;

/// Which step of the protocol a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// Initiator to responder: `a·H(t)` for every initiator slot.
    InitiatorPoints = 1,
    /// Responder to initiator: `b·a·H(t)` in the initiator's order, and `b·H(u)` for every
    /// responder slot.
    ResponderReply = 2,
    /// Initiator to responder: `a·b·H(u)` in the responder's order (and the pair round's
    /// first message).
    InitiatorFinal = 3,
    /// Responder to initiator: the pair round's reply (and the counts sub-session's last
    /// message).
    ResponderCompare = 4,
    /// Initiator to responder: the pair round's last message and the initiator's shared
    /// records.
    InitiatorRecords = 5,
    /// Responder to initiator: the responder's shared records.
    ResponderRecords = 6,
}

impl MessageType {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::InitiatorPoints),
            2 => Some(Self::ResponderReply),
            3 => Some(Self::InitiatorFinal),
            4 => Some(Self::ResponderCompare),
            5 => Some(Self::InitiatorRecords),
            6 => Some(Self::ResponderRecords),
            _ => None,
        }
    }

    /// Step number (1 to 6).
    pub fn step(self) -> u8 {
        self as u8
    }
}

/// What each side learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Each side learns which of its accounts match, the partner's account index and
    /// population, and the key types that matched.
    Matches,
    /// Each side learns only the population × population counts.
    CountsOnly,
}

impl Mode {
    fn to_byte(self) -> u8 {
        match self {
            Mode::Matches => 0,
            Mode::CountsOnly => 1,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Mode::Matches),
            1 => Some(Mode::CountsOnly),
            _ => None,
        }
    }
}

/// A decoded (or to-be-encoded) protocol message.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Protocol step.
    pub kind: MessageType,
    /// Mode of the session.
    pub mode: Mode,
    /// Slots per account (K).
    pub slots: u8,
    /// Bytes of each double-blinded value compared when matching (values travel whole).
    pub truncation: u8,
    /// Session id.
    pub session: [u8; 16],
    /// First 16 bytes of the previous message's checksum: binds a reply to the exact
    /// message it answers, so replies cannot be mixed across runs of one session.
    pub previous: [u8; 16],
    /// The sender's populations in message order, with account counts (empty in step 3).
    pub populations: Vec<(String, u64)>,
    /// The sender's key commitment `k·G` (steps 1 and 2; zero otherwise).
    pub commitment: [u8; 32],
    /// Batched DLEQ proofs for the returned values, 64 bytes each (steps 2 and 3).
    pub proofs: Vec<u8>,
    /// Returned double-blinded values, 32 bytes each, concatenated.
    pub returned: Vec<u8>,
    /// The sender's blinded points, 32 bytes each, `slots` per account, concatenated.
    pub points: Vec<u8>,
    /// Shared records (JSON), steps 5 and 6.
    pub records: Vec<u8>,
    /// The sender's populations shared as counts only, with account counts (steps 1 and 2):
    /// declared here, their points travel in the counts sub-session.
    pub counted: Vec<(String, u64)>,
    /// A message of the counts sub-session, one step behind this one (steps 2 to 4).
    pub counts: Option<Box<Message>>,
    /// A message of the pair round over the candidate pairs, two steps behind this one
    /// (steps 3 to 5).
    pub pairs: Option<Box<Message>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

/// The set-size guard's refusal: the partner declares `declared` accounts (those it matches
/// and those it counts), over this side's `max`.
fn over_limit(declared: u128, max: u64) -> Error {
    Error::protocol(format!(
        "the partner declares {declared} accounts, more than this side accepts ({max}); \
         a larger set could probe for accounts beyond a real list (raise --max-peer-accounts if expected)"
    ))
}

fn err(field: &str, what: impl Into<String>) -> Error {
    Error::message(format!("protocol message ({field})"), what)
}

impl Message {
    /// The sender's number of accounts (sum of its population sizes).
    pub fn accounts(&self) -> u64 {
        self.populations.iter().map(|(_, n)| n).sum()
    }

    /// Number of returned values.
    pub fn returned_count(&self) -> usize {
        self.returned.len() / VALUE_BYTES
    }

    fn header(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_HEADER + 64 * self.populations.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[
            VERSION,
            self.kind as u8,
            self.mode.to_byte(),
            self.slots,
            self.truncation,
            0,
        ]);
        out.extend_from_slice(&self.session);
        out.extend_from_slice(&self.previous);
        out.extend_from_slice(&self.accounts().to_be_bytes());
        out.extend_from_slice(&(self.returned_count() as u64).to_be_bytes());
        out.extend_from_slice(&(self.records.len() as u64).to_be_bytes());
        out.extend_from_slice(&(self.populations.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.commitment);
        out.extend_from_slice(&((self.proofs.len() / PROOF) as u32).to_be_bytes());
        let counts = self.counts.as_ref().map(|m| m.encode()).unwrap_or_default();
        let pairs = self.pairs.as_ref().map(|m| m.encode()).unwrap_or_default();
        out.extend_from_slice(&(self.counted.len() as u16).to_be_bytes());
        out.extend_from_slice(&(counts.len() as u64).to_be_bytes());
        out.extend_from_slice(&(pairs.len() as u64).to_be_bytes());
        for (label, n) in self.populations.iter().chain(&self.counted) {
            out.extend_from_slice(&(label.len() as u16).to_be_bytes());
            out.extend_from_slice(label.as_bytes());
            out.extend_from_slice(&n.to_be_bytes());
        }
        out.extend_from_slice(&self.records);
        out.extend_from_slice(&counts);
        out.extend_from_slice(&pairs);
        out.extend_from_slice(&self.proofs);
        out
    }

    /// Accounts the sender declares as shared counts only (steps 1 and 2).
    pub fn counted_accounts(&self) -> u64 {
        self.counted.iter().map(|(_, n)| n).sum()
    }

    /// The checksum of the encoded message (SHA-256 of everything before it), computed
    /// without encoding.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.header());
        h.update(&self.returned);
        h.update(&self.points);
        h.finalize().into()
    }

    /// The transcript value a reply to this message must carry.
    pub fn transcript(&self) -> [u8; 16] {
        let mut t = [0u8; 16];
        t.copy_from_slice(&self.digest()[..16]);
        t
    }

    /// Encodes the message with its checksum.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.header();
        out.reserve(self.returned.len() + self.points.len() + CHECKSUM);
        out.extend_from_slice(&self.returned);
        out.extend_from_slice(&self.points);
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// The encoding without the points section (header, returned values, checksum of the
    /// whole message): what a live session sends of message 2 after its preview, which
    /// carried the points. [`Message::with_points`] puts them back.
    pub fn encode_without_points(&self) -> Vec<u8> {
        let mut out = self.header();
        out.extend_from_slice(&self.returned);
        out.extend_from_slice(&self.digest());
        out
    }

    /// Decodes what [`Message::encode_without_points`] made, with `points` put back in their
    /// place; every check of [`Message::decode`] applies, the checksum included, so points
    /// other than the ones the sender encoded with are refused.
    pub fn with_points(mut bytes: Vec<u8>, points: &[u8], max_accounts: u64) -> Result<Message> {
        if bytes.len() < CHECKSUM {
            return Err(err(
                "length",
                format!("{} bytes is shorter than any message", bytes.len()),
            ));
        }
        let sum = bytes.split_off(bytes.len() - CHECKSUM);
        bytes.reserve_exact(points.len() + CHECKSUM);
        bytes.extend_from_slice(points);
        bytes.extend_from_slice(&sum);
        Message::decode_vec(bytes, max_accounts)
    }

    /// Encodes the message with its checksum, reusing the points' buffer (the largest part)
    /// instead of copying it.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut prefix = self.header();
        prefix.extend_from_slice(&self.returned);
        let mut out = self.points;
        out.reserve_exact(prefix.len() + CHECKSUM);
        out.splice(0..0, prefix);
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// [`Message::decode`], taking the bytes by value: their buffer becomes the points
    /// (moved in place, not copied).
    ///
    /// ```
    /// use mapping_core::psi::{Message, MessageType, Mode};
    /// let m = Message {
    ///     kind: MessageType::InitiatorPoints, mode: Mode::Matches, slots: 1, truncation: 16,
    ///     session: [7; 16], previous: [0; 16], populations: vec![("Customers".into(), 1)],
    ///     commitment: [1; 32], proofs: Vec::new(),
    ///     returned: Vec::new(), points: vec![0; 32], records: Vec::new(),
    ///     counted: Vec::new(), counts: None, pairs: None,
    /// };
    /// assert_eq!(m.clone().into_bytes(), m.encode());
    /// assert_eq!(Message::decode_vec(m.encode(), 10).unwrap(), m);
    /// assert!(Message::decode_vec(m.encode(), 0).is_err()); // over the set-size guard
    /// ```
    pub fn decode_vec(mut bytes: Vec<u8>, max_accounts: u64) -> Result<Message> {
        let (mut msg, points_at) = Message::parse(&bytes, max_accounts)?;
        bytes.truncate(bytes.len() - CHECKSUM);
        bytes.drain(..points_at);
        bytes.shrink_to_fit();
        msg.points = bytes;
        Ok(msg)
    }

    /// Decodes and checks a message on its own: magic, version, checksum, every header field,
    /// and that the lengths add up. `max_accounts` bounds the sender's declared account count
    /// (the set-size guard) before anything is allocated for it. Whether the message fits
    /// the session (id, step, counts) is checked by the session.
    pub fn decode(bytes: &[u8], max_accounts: u64) -> Result<Message> {
        let (mut msg, points_at) = Message::parse(bytes, max_accounts)?;
        msg.points = bytes[points_at..bytes.len() - CHECKSUM].to_vec();
        Ok(msg)
    }

    /// Checks a whole message and decodes all but the points; returns where they start.
    fn parse(bytes: &[u8], max_accounts: u64) -> Result<(Message, usize)> {
        Message::parse_part(bytes, max_accounts, false)
    }

    /// [`Message::parse`] of a whole message (`inner` false) or of a counts or pair part
    /// (`inner` true: one level only, so a nested part can never recurse).
    fn parse_part(bytes: &[u8], max_accounts: u64, inner: bool) -> Result<(Message, usize)> {
        if bytes.len() < FIXED_HEADER + CHECKSUM {
            return Err(err(
                "length",
                format!(
                    "{} bytes is shorter than any message ({} bytes)",
                    bytes.len(),
                    FIXED_HEADER + CHECKSUM
                ),
            ));
        }
        if &bytes[..6] != MAGIC {
            return Err(err("magic", "not an acctmap protocol message"));
        }
        if bytes[6] != VERSION {
            return Err(err(
                "version",
                format!("version {} is not supported (this build speaks {VERSION})", bytes[6]),
            ));
        }
        let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM);
        if Sha256::digest(body).as_slice() != sum {
            return Err(err(
                "checksum",
                "the message is corrupted or was changed (checksum mismatch)",
            ));
        }
        let kind = MessageType::from_byte(bytes[7])
            .ok_or_else(|| err("type", format!("unknown message type {}", bytes[7])))?;
        let mode = Mode::from_byte(bytes[8]).ok_or_else(|| err("mode", format!("unknown mode {}", bytes[8])))?;
        let slots = bytes[9];
        if !(1..=16).contains(&slots) {
            return Err(err("slots", format!("{slots} slots per account is outside 1..=16")));
        }
        let truncation = bytes[10];
        if !(16..=32).contains(&truncation) {
            return Err(err("truncation", format!("{truncation} bytes is outside 16..=32")));
        }
        if bytes[11] != 0 {
            return Err(err("reserved", "reserved byte is not zero"));
        }
        let mut session = [0u8; 16];
        session.copy_from_slice(&bytes[12..28]);
        let mut previous = [0u8; 16];
        previous.copy_from_slice(&bytes[28..44]);
        let read_u64 = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        let accounts = read_u64(44);
        let returned_count = read_u64(52);
        let records_len = read_u64(60);
        let pop_count = usize::from(u16::from_be_bytes([bytes[68], bytes[69]]));
        let mut commitment = [0u8; 32];
        commitment.copy_from_slice(&bytes[70..102]);
        let proof_count = u64::from(u32::from_be_bytes([bytes[102], bytes[103], bytes[104], bytes[105]]));
        let commits = matches!(kind, MessageType::InitiatorPoints | MessageType::ResponderReply);
        if commits == (commitment == [0u8; 32]) {
            return Err(err(
                "commitment",
                if commits {
                    format!("a step-{} message must carry the sender's key commitment", kind.step())
                } else {
                    format!("a step-{} message carries no key commitment", kind.step())
                },
            ));
        }
        if accounts > max_accounts {
            return Err(over_limit(accounts.into(), max_accounts));
        }
        if pop_count > MAX_POPULATIONS {
            return Err(err(
                "populations",
                format!("{pop_count} populations is more than {MAX_POPULATIONS}"),
            ));
        }
        let counted_count = usize::from(u16::from_be_bytes([bytes[106], bytes[107]]));
        let counts_len = read_u64(108);
        let pairs_len = read_u64(116);
        if pop_count + counted_count > MAX_POPULATIONS {
            return Err(err(
                "populations",
                format!(
                    "{} populations is more than {MAX_POPULATIONS}",
                    pop_count + counted_count
                ),
            ));
        }
        if counted_count > 0 && !commits {
            return Err(err(
                "populations",
                format!("a step-{} message declares no counted populations", kind.step()),
            ));
        }
        let mut at = FIXED_HEADER;
        let mut populations: Vec<(String, u64)> = Vec::with_capacity(pop_count);
        let mut counted: Vec<(String, u64)> = Vec::with_capacity(counted_count);
        for i in 0..pop_count + counted_count {
            let need = |at: usize, n: usize| -> Result<()> {
                if at + n > body.len() {
                    Err(err("populations", format!("truncated in population {}", i + 1)))
                } else {
                    Ok(())
                }
            };
            need(at, 2)?;
            let len = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
            at += 2;
            if len > MAX_LABEL {
                return Err(err(
                    "populations",
                    format!("label {} is {len} bytes, more than {MAX_LABEL}", i + 1),
                ));
            }
            need(at, len + 8)?;
            let label = std::str::from_utf8(&body[at..at + len])
                .map_err(|_| err("populations", format!("label {} is not UTF-8", i + 1)))?
                .to_owned();
            at += len;
            let n = u64::from_be_bytes(body[at..at + 8].try_into().unwrap_or([0; 8]));
            at += 8;
            if populations.iter().chain(&counted).any(|(l, _)| *l == label) {
                return Err(err("populations", format!("population {label:?} appears twice")));
            }
            if i < pop_count {
                populations.push((label, n));
            } else {
                counted.push((label, n));
            }
        }
        let declared: u128 = populations.iter().map(|(_, n)| u128::from(*n)).sum();
        if declared != u128::from(accounts) {
            return Err(err(
                "populations",
                format!("population sizes add up to {declared}, but the header says {accounts} accounts"),
            ));
        }
        let counted_total: u128 = counted.iter().map(|(_, n)| u128::from(*n)).sum();
        if declared + counted_total > u128::from(max_accounts) {
            return Err(over_limit(declared + counted_total, max_accounts));
        }
        let records_allowed = matches!(kind, MessageType::InitiatorRecords | MessageType::ResponderRecords);
        if records_len > 0 && !records_allowed {
            return Err(err(
                "records",
                format!("a step-{} message carries no shared records", kind.step()),
            ));
        }
        // Their size is bounded by the bytes present; transports bound those before reading
        // (by the partner's declared accounts), and the session checks every record.
        if records_len > (body.len() - at) as u64 {
            return Err(err(
                "records",
                format!("{records_len} bytes of shared records announced, more than the message holds"),
            ));
        }
        let records = body[at..at + records_len as usize].to_vec();
        at += records_len as usize;
        let counts = nested_part(body, &mut at, counts_len, kind, inner, max_accounts, Part::Counts)?;
        let pairs = nested_part(body, &mut at, pairs_len, kind, inner, max_accounts, Part::Pairs)?;
        let proves = matches!(kind, MessageType::ResponderReply | MessageType::InitiatorFinal);
        if !proves && proof_count != 0 {
            return Err(err(
                "proofs",
                format!("a step-{} message carries no proofs", kind.step()),
            ));
        }
        let proofs_len = proof_count * PROOF as u64;
        if proofs_len > (body.len() - at) as u64 {
            return Err(err(
                "proofs",
                format!("{proof_count} proofs announced, more than the message holds"),
            ));
        }
        let proofs = body[at..at + proofs_len as usize].to_vec();
        at += proofs_len as usize;
        let remaining = (body.len() - at) as u128;
        let returned_len = u128::from(returned_count) * VALUE_BYTES as u128;
        let points_len = u128::from(accounts) * u128::from(slots) * 32;
        let (want_returned, want_points) = match kind {
            MessageType::InitiatorPoints => (false, true),
            MessageType::ResponderReply => (true, true),
            MessageType::InitiatorFinal => (true, false),
            MessageType::ResponderCompare | MessageType::InitiatorRecords | MessageType::ResponderRecords => {
                (false, false)
            }
        };
        if !want_returned && returned_count != 0 {
            return Err(err(
                "returned values",
                format!(
                    "a step-{} message carries no returned values, this one declares {returned_count}",
                    kind.step()
                ),
            ));
        }
        if !want_points && accounts != 0 {
            return Err(err(
                "points",
                format!(
                    "a step-{} message carries no points, this one declares {accounts} accounts",
                    kind.step()
                ),
            ));
        }
        if returned_len + points_len != remaining {
            return Err(err(
                "length",
                format!(
                    "the header announces {} bytes of values, the message has {remaining} (truncated or padded)",
                    returned_len + points_len
                ),
            ));
        }
        let returned_end = at + returned_len as usize;
        let msg = Message {
            kind,
            mode,
            slots,
            truncation,
            session,
            previous,
            populations,
            commitment,
            proofs,
            returned: body[at..returned_end].to_vec(),
            points: Vec::new(),
            records,
            counted,
            counts,
            pairs,
        };
        Ok((msg, returned_end))
    }

    /// A human-readable account of what this message discloses, for review before sending.
    pub fn summary(&self) -> String {
        let mut s = self.describe();
        if !self.counted.is_empty() {
            s.push_str(&format!(
                "  sender's populations shared as counts only ({} accounts; their keys travel in the counts sub-session):\n",
                self.counted_accounts()
            ));
            for (label, n) in &self.counted {
                s.push_str(&format!("    {}: {n}\n", crate::display::printable(label)));
            }
        }
        if let Some(part) = &self.counts {
            s.push_str(
                "  counts part (the counts-only sub-session: keys of its own, values shuffled within populations):\n",
            );
            for line in part.describe().lines() {
                s.push_str(&format!("  {line}\n"));
            }
        }
        if let Some(part) = &self.pairs {
            s.push_str(
                "  pair part (the pair round, for the candidate pairs no domain decided: domain and country presence, country and brand label, each bound to its pair; keys of its own):\n",
            );
            for line in part.describe().lines() {
                s.push_str(&format!("  {line}\n"));
            }
        }
        s.push_str("  what the partner learns from the session:\n");
        for line in self.partner_learns() {
            s.push_str(&format!("    - {line}\n"));
        }
        s
    }

    /// The message's own fields, in words (no counted populations, counts part or
    /// leakage lines).
    fn describe(&self) -> String {
        let mut s = format!(
            "acctmap protocol message v{VERSION}, step {} ({})\n  session: {}\n  mode: {}\n  slots per account: {}\n",
            self.kind.step(),
            match self.kind {
                MessageType::InitiatorPoints => "initiator's blinded keys",
                MessageType::ResponderReply => "responder's reply",
                MessageType::InitiatorFinal => "initiator's final values",
                MessageType::ResponderCompare => "responder's comparison of the candidate pairs",
                MessageType::InitiatorRecords => "initiator's comparison and shared records",
                MessageType::ResponderRecords => "responder's shared records",
            },
            hex(&self.session),
            match self.mode {
                Mode::Matches => "matches (each side learns which accounts match)",
                Mode::CountsOnly => "counts only (each side learns population x population counts)",
            },
            self.slots
        );
        if !self.populations.is_empty()
            || matches!(self.kind, MessageType::InitiatorPoints | MessageType::ResponderReply)
        {
            s.push_str(&format!(
                "  sender's accounts: {}\n  sender's populations:\n",
                self.accounts()
            ));
            for (label, n) in &self.populations {
                s.push_str(&format!("    {}: {n}\n", crate::display::printable(label)));
            }
        }
        if !self.points.is_empty() {
            s.push_str(&format!(
                "  blinded points: {} ({} accounts x {} slots; keys blinded with the sender's secret, empty slots random)\n",
                self.points.len() / 32,
                self.accounts(),
                self.slots
            ));
        }
        if self.commitment != [0u8; 32] {
            s.push_str(&format!(
                "  key commitment: {} (the sender's session key times the group generator; reveals nothing of the key)\n",
                hex(&self.commitment)
            ));
        }
        if !self.returned.is_empty() {
            s.push_str(&format!(
                "  returned values: {} (the partner's points blinded once more, {VALUE_BYTES} bytes each; compared on {} bytes)\n",
                self.returned_count(),
                self.truncation
            ));
        }
        if !self.proofs.is_empty() {
            s.push_str(&format!(
                "  proofs: {} (batched DLEQ proofs that the returned values use the committed key)\n",
                self.proofs.len() / PROOF
            ));
        }
        s
    }

    /// What the partner learns from the session this message belongs to, in words: the
    /// lines `acctmap inspect` prints (docs/protocol.md has the table).
    pub fn partner_learns(&self) -> Vec<&'static str> {
        let mut lines = vec![
            "the sender's account count and population sizes (above)",
            "nothing about accounts whose keys the partner does not also hold: other values are random to it",
        ];
        match self.mode {
            Mode::Matches => {
                lines.push("which of the sender's accounts share a key with the partner's (candidate pairs), and which key types are equal (DOMAIN and NAME by default; BRAND_NAME, NAME_COUNTRY, NAME_PRESENCE, NAME_FUZZY if enabled)");
                lines.push("for candidate pairs that no domain decided, through the pair round: whether the two accounts hold a domain (none, one or several) alike, whether they hold a country alike, whether their countries are equal and whether their brand labels are equal (never the values), and so whether a domain or country both hold differs");
                lines.push("from that, the decision rule's verdict on each such pair (both sides compute the same); records travel only for pairs it keeps");
            }
            Mode::CountsOnly => {
                lines.push("population x population counts of candidate pairs; no account, pair or key type (values come back shuffled within population groups)");
            }
        }
        if !self.counted.is_empty() || self.counts.is_some() {
            lines.push("for populations either side shares as counts only: population x population counts of candidate pairs, from a sub-session with keys and shuffles of its own, so no pair in those cells can be linked to an account");
        }
        if !self.records.is_empty() {
            lines.push("the shared records listed below, for pairs the rule kept");
        }
        lines
    }
}

/// The two kinds of nested part: the counts sub-session (messages 2 to 4, one step behind)
/// and the pair round (messages 3 to 5, two steps behind).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Counts,
    Pairs,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Counts => "counts part",
            Part::Pairs => "pair part",
        }
    }

    /// How many steps the part's sub-session is behind the message carrying it.
    fn behind(self) -> u8 {
        match self {
            Part::Counts => 1,
            Part::Pairs => 2,
        }
    }

    fn mode(self) -> Mode {
        match self {
            Part::Counts => Mode::CountsOnly,
            Part::Pairs => Mode::Matches,
        }
    }

    /// Whether a message of this type may carry the part.
    fn carried_by(self, kind: MessageType) -> bool {
        let step = kind.step();
        match self {
            Part::Counts => (2..=4).contains(&step),
            Part::Pairs => (3..=5).contains(&step),
        }
    }
}

/// Reads a nested part of `len` bytes at `at` (advancing it): a whole message of a
/// sub-session, checked like any message, with no part of its own, in the sub-session's
/// mode and at its step.
fn nested_part(
    body: &[u8],
    at: &mut usize,
    len: u64,
    kind: MessageType,
    inner: bool,
    max_accounts: u64,
    part: Part,
) -> Result<Option<Box<Message>>> {
    let name = part.name();
    if len == 0 {
        return Ok(None);
    }
    if inner {
        return Err(err(name, format!("a nested part holds no {name} of its own")));
    }
    if !part.carried_by(kind) {
        return Err(err(name, format!("a step-{} message carries no {name}", kind.step())));
    }
    if len > (body.len() - *at) as u64 {
        return Err(err(
            name,
            format!("{len} bytes of {name} announced, more than the message holds"),
        ));
    }
    let bytes = &body[*at..*at + len as usize];
    let (mut msg, points_at) = Message::parse_part(bytes, max_accounts, true).map_err(|e| err(name, e.to_string()))?;
    msg.points = bytes[points_at..bytes.len() - CHECKSUM].to_vec();
    let step = kind.step() - part.behind();
    if msg.kind.step() != step || msg.mode != part.mode() || !msg.counted.is_empty() {
        return Err(err(
            name,
            format!(
                "a step-{} message's {name} must be a step-{step} message in {} mode that declares no counted populations",
                kind.step(),
                match part.mode() {
                    Mode::Matches => "matches",
                    Mode::CountsOnly => "counts-only",
                }
            ),
        ));
    }
    *at += len as usize;
    Ok(Some(Box::new(msg)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of hex text (a saved session state, which may hold a key: zeroized on drop);
/// `None` when it is not hex.
pub fn unhex(text: &str) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let t = text.as_bytes();
    if t.len() % 2 != 0 || !t.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(t.len() / 2));
    for c in t.chunks(2) {
        out.push(u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok()?);
    }
    Some(out)
}

//! Saving a party between protocol steps, for partners who exchange message files instead of
//! being online together. The state holds the session key: the caller writes it to an
//! owner-only file (see `crate::party`) and deletes it when the session ends. The buffer
//! returned by `save` is zeroized on drop.
//!
//! Format: magic `ACMAPST\0`, version, kind (1 initiator, 2 responder, 3 a party's responder
//! after message 2, 4 a party's initiator after message 3, 5 a party's responder after
//! message 4, 6 a party's initiator after message 5), fields, SHA-256.
//! Only the initiator's state holds a key: the responder needs none after message 2, so its
//! state file holds nothing secret beyond the list-derived values (still owner-only).

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::group::SessionKey;
use super::messages::Mode;
use super::session::{Initiator, PsiConfig, Responder, Side};
use crate::error::{Error, Result};
use crate::keys::KeyType;

const MAGIC: &[u8; 8] = b"ACMAPST\0";
/// 4: message version 5 (the pair round's agreements hold two presence bits).
const VERSION: u8 = 4;

struct Enc(Zeroizing<Vec<u8>>);

impl Enc {
    fn new(kind: u8) -> Self {
        let mut v = Zeroizing::new(Vec::new());
        v.extend_from_slice(MAGIC);
        v.push(VERSION);
        v.push(kind);
        Enc(v)
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.0.extend_from_slice(v);
    }
    fn u32s(&mut self, v: &[u32]) {
        self.u64(v.len() as u64);
        for x in v {
            self.0.extend_from_slice(&x.to_be_bytes());
        }
    }
    fn pops(&mut self, v: &[(String, u64)]) {
        self.u64(v.len() as u64);
        for (l, n) in v {
            self.bytes(l.as_bytes());
            self.u64(*n);
        }
    }
    fn config(&mut self, c: &PsiConfig) {
        self.u8(mode_byte(c.mode));
        self.u8(c.slots);
        self.u8(c.truncation);
        self.u64(c.max_peer_accounts);
        self.u64(c.max_pair_factor);
    }
    fn side(&mut self, s: &Side) {
        match &s.key {
            Some(k) => {
                self.u8(1);
                let key = Zeroizing::new(k.to_bytes());
                self.0.extend_from_slice(&key[..]);
            }
            None => self.u8(0),
        }
        self.0.extend_from_slice(&s.commitment);
        self.bytes(&s.points);
        self.u32s(&s.order);
        self.u32s(&s.position_population);
        self.pops(&s.populations);
        let types: Vec<u8> = s.slot_types.iter().map(|t| t.map_or(0, KeyType::tag)).collect();
        self.bytes(&types);
    }
    fn finish(mut self) -> Zeroizing<Vec<u8>> {
        let sum = Sha256::digest(&self.0[..]);
        self.0.extend_from_slice(&sum);
        self.0
    }
}

fn mode_byte(m: Mode) -> u8 {
    match m {
        Mode::Matches => 0,
        Mode::CountsOnly => 1,
    }
}

struct Dec<'a> {
    b: &'a [u8],
    at: usize,
}

fn bad(what: &str) -> Error {
    Error::message("session state file", what)
}

impl<'a> Dec<'a> {
    fn open(bytes: &'a [u8], kind: u8) -> Result<Self> {
        if bytes.len() < MAGIC.len() + 2 + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("not an acctmap session state file"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != sum {
            return Err(bad("the file is corrupted or was changed (checksum mismatch)"));
        }
        if bytes[MAGIC.len()] != VERSION {
            return Err(bad("written by another version of acctmap"));
        }
        let found = bytes[MAGIC.len() + 1];
        if found != kind {
            return Err(Error::protocol(format!(
                "this state file belongs to the {} side, not the {} side",
                role(found),
                role(kind)
            )));
        }
        Ok(Dec {
            b: body,
            at: MAGIC.len() + 2,
        })
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.b.len() - self.at < n {
            return Err(bad("truncated"));
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn len(&mut self, unit: usize) -> Result<usize> {
        let n = self.u64()?;
        if n > ((self.b.len() - self.at) / unit.max(1)) as u64 {
            return Err(bad("truncated"));
        }
        Ok(n as usize)
    }
    fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.len(1)?;
        Ok(self.take(n)?.to_vec())
    }
    fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.len(4)?;
        let raw = self.take(n * 4)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    fn pops(&mut self) -> Result<Vec<(String, u64)>> {
        let n = self.len(16)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let label = String::from_utf8(self.bytes()?).map_err(|_| bad("population label is not UTF-8"))?;
            out.push((label, self.u64()?));
        }
        Ok(out)
    }
    fn mode(&mut self) -> Result<Mode> {
        match self.u8()? {
            0 => Ok(Mode::Matches),
            1 => Ok(Mode::CountsOnly),
            _ => Err(bad("unknown mode")),
        }
    }
    fn config(&mut self) -> Result<PsiConfig> {
        let mode = self.mode()?;
        let slots = self.u8()?;
        let truncation = self.u8()?;
        let max = self.u64()?;
        let factor = self.u64()?;
        if !(1..=16).contains(&slots) || !(16..=32).contains(&truncation) {
            return Err(bad("invalid settings"));
        }
        Ok(PsiConfig::new()
            .mode(mode)
            .slots(usize::from(slots))?
            .max_peer_accounts(max)
            .max_pair_factor(factor)
            .truncation(truncation))
    }
    fn array16(&mut self) -> Result<[u8; 16]> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Ok(a)
    }
    fn side(&mut self, slots: u8) -> Result<Side> {
        let key = match self.u8()? {
            0 => None,
            1 => {
                let mut key_bytes = Zeroizing::new([0u8; 32]);
                key_bytes.copy_from_slice(self.take(32)?);
                Some(SessionKey::from_bytes(*key_bytes).ok_or_else(|| bad("invalid session key"))?)
            }
            _ => return Err(bad("invalid key marker")),
        };
        let mut commitment = [0u8; 32];
        commitment.copy_from_slice(self.take(32)?);
        if key.as_ref().is_some_and(|k| k.commitment() != commitment) {
            return Err(bad("the key does not match its commitment"));
        }
        let points = self.bytes()?;
        let order = self.u32s()?;
        let position_population = self.u32s()?;
        let populations = self.pops()?;
        let types = self.bytes()?;
        let slot_types = types
            .iter()
            .map(|t| {
                if *t == 0 {
                    Ok(None)
                } else {
                    KeyType::from_tag(*t).map(Some).ok_or_else(|| bad("unknown key type"))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let total = population_total(&populations)?;
        let slot_count = order
            .len()
            .checked_mul(usize::from(slots))
            .ok_or_else(|| bad("inconsistent contents"))?;
        if order.len() != position_population.len()
            || total != order.len() as u64
            || slot_types.len() != slot_count
            || points.len() != slot_count.checked_mul(32).ok_or_else(|| bad("inconsistent contents"))?
            || position_population.iter().any(|p| *p as usize >= populations.len())
        {
            return Err(bad("inconsistent contents"));
        }
        Ok(Side {
            key,
            commitment,
            order,
            position_population,
            populations,
            slot_types,
            points,
            halves: None,
            timings: Default::default(),
        })
    }
}

/// The sum of population sizes, refusing one that overflows.
fn population_total(populations: &[(String, u64)]) -> Result<u64> {
    populations
        .iter()
        .try_fold(0u64, |sum, (_, n)| sum.checked_add(*n))
        .ok_or_else(|| bad("population sizes overflow"))
}

fn role(kind: u8) -> &'static str {
    match kind {
        1 => "initiator",
        2 => "responder",
        3 => "responder (both sub-sessions)",
        4 => "initiator (after message 3)",
        5 => "responder (after message 4)",
        6 => "initiator (after message 5)",
        _ => "unknown",
    }
}

impl crate::party::Responded {
    /// Serializes the state as one checksummed record (kind 3): the matches sub-session's
    /// responder, the counts sub-session's initiator (its key included; none when no
    /// population is counted) and the partner's counted populations. Write it only to an
    /// owner-only file.
    pub fn save(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(3);
        e.bytes(&self.matches.save());
        match &self.counts {
            Some(c) => e.bytes(&c.save()),
            None => e.bytes(&[]),
        }
        e.pops(&self.partner_counted);
        e.finish()
    }

    /// Restores a state written by `Responded::save`.
    pub fn load(bytes: &[u8]) -> Result<Self> {
        let mut d = Dec::open(bytes, 3)?;
        let n = d.len(1)?;
        let matches = Responder::load(d.take(n)?)?;
        let counts = match d.len(1)? {
            0 => None,
            n => Some(Initiator::load(d.take(n)?)?),
        };
        Ok(Self {
            matches,
            counts,
            partner_counted: d.pops()?,
        })
    }
}

/// JSON of a value that always serializes (results and plain data).
fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|_| bad("inconsistent contents"))
}

fn array16(bytes: &[u8]) -> Result<[u8; 16]> {
    bytes.try_into().map_err(|_| bad("inconsistent contents"))
}

/// What the party's states after messages 3 and 4 both start with: the first round's
/// result, the transcript of the message this side sent, and the list's fingerprint.
fn put_round(e: &mut Enc, result: &super::session::PsiResult, sent: &[u8; 16], fingerprint: &str) {
    e.bytes(&json(result));
    e.bytes(sent);
    e.bytes(fingerprint.as_bytes());
}

fn get_round(d: &mut Dec) -> Result<(super::session::PsiResult, [u8; 16], String)> {
    let result = from_json(&d.bytes()?)?;
    let sent = array16(&d.bytes()?)?;
    let fingerprint = String::from_utf8(d.bytes()?).map_err(|_| bad("inconsistent contents"))?;
    Ok((result, sent, fingerprint))
}

impl crate::party::Finished {
    /// Serializes the state as one checksummed record (kind 4): the first round's result,
    /// the pair round's initiator (its key included), the counts sub-session's responder.
    /// Write it only to an owner-only file.
    pub fn save(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(4);
        put_round(&mut e, &self.result, &self.sent, &self.fingerprint);
        e.bytes(&self.pairs.save());
        match &self.counts {
            Some(c) => e.bytes(&c.save()),
            None => e.bytes(&[]),
        }
        e.pops(&self.partner_counted);
        e.finish()
    }

    /// Restores a state written by `Finished::save`.
    pub fn load(bytes: &[u8]) -> Result<Self> {
        let mut d = Dec::open(bytes, 4)?;
        let (result, sent, fingerprint) = get_round(&mut d)?;
        let n = d.len(1)?;
        let pairs = Initiator::load(d.take(n)?)?;
        let counts = match d.len(1)? {
            0 => None,
            n => Some(Responder::load(d.take(n)?)?),
        };
        Ok(Self {
            result,
            sent,
            fingerprint,
            pairs,
            counts,
            partner_counted: d.pops()?,
        })
    }
}

impl crate::party::Compared {
    /// Serializes the state as one checksummed record (kind 5): the first round's result,
    /// the pair round's responder, the counts. Holds no key (still owner-only: it is
    /// derived from the list).
    pub fn save(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(5);
        put_round(&mut e, &self.result, &self.sent, &self.fingerprint);
        e.bytes(&self.pairs.save());
        e.bytes(&json(&self.counts));
        e.pops(&self.partner_counted);
        e.finish()
    }

    /// Restores a state written by `Compared::save`.
    pub fn load(bytes: &[u8]) -> Result<Self> {
        let mut d = Dec::open(bytes, 5)?;
        let (result, sent, fingerprint) = get_round(&mut d)?;
        let n = d.len(1)?;
        let pairs = Responder::load(d.take(n)?)?;
        let counts = from_json(&d.bytes()?)?;
        Ok(Self {
            result,
            sent,
            fingerprint,
            pairs,
            counts,
            partner_counted: d.pops()?,
        })
    }
}

impl crate::party::Decided {
    /// Serializes the state as one checksummed record (kind 6). Holds no key.
    pub fn save(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(6);
        e.bytes(&json(self));
        e.finish()
    }

    /// Restores a state written by `Decided::save`.
    pub fn load(bytes: &[u8]) -> Result<Self> {
        let mut d = Dec::open(bytes, 6)?;
        from_json(&d.bytes()?)
    }
}

impl Initiator {
    /// Serializes this state, secret key included: write it only to an owner-only file.
    pub fn save(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(1);
        e.config(&self.config);
        e.0.extend_from_slice(&self.session);
        e.0.extend_from_slice(&self.sent);
        e.side(&self.side);
        e.finish()
    }

    /// Restores a state written by [`Initiator::save`].
    pub fn load(bytes: &[u8]) -> Result<Initiator> {
        let mut d = Dec::open(bytes, 1)?;
        let config = d.config()?;
        let session = d.array16()?;
        let sent = d.array16()?;
        let side = d.side(config.slots)?;
        if side.key.is_none() {
            return Err(bad("the initiator's state holds no session key"));
        }
        Ok(Initiator {
            side,
            config,
            session,
            sent,
        })
    }
}

impl Responder {
    /// Serializes this state, secret key included: write it only to an owner-only file.
    pub fn save(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(2);
        e.config(&self.config);
        e.0.extend_from_slice(&self.session);
        e.0.extend_from_slice(&self.sent);
        e.u8(mode_byte(self.mode));
        e.bytes(&self.peer_values);
        e.pops(&self.peer_populations);
        e.0.extend_from_slice(&self.peer_commitment);
        e.side(&self.side);
        e.finish()
    }

    /// Restores a state written by [`Responder::save`].
    pub fn load(bytes: &[u8]) -> Result<Responder> {
        let mut d = Dec::open(bytes, 2)?;
        let config = d.config()?;
        let session = d.array16()?;
        let sent = d.array16()?;
        let mode = d.mode()?;
        let peer_values = d.bytes()?;
        let peer_populations = d.pops()?;
        let mut peer_commitment = [0u8; 32];
        peer_commitment.copy_from_slice(d.take(32)?);
        let side = d.side(config.slots)?;
        if side.key.is_some() {
            return Err(bad("a responder's state holds no session key"));
        }
        let peer_total = population_total(&peer_populations)?;
        let want = u128::from(peer_total) * u128::from(config.slots) * u128::from(config.truncation);
        if peer_values.len() as u128 != want {
            return Err(bad("inconsistent contents"));
        }
        Ok(Responder {
            side,
            config,
            session,
            sent,
            mode,
            peer_values,
            peer_populations,
            peer_commitment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MatchKey;
    use crate::psi::{Message, PartyInput};

    fn input(values: &[&str]) -> PartyInput<'static> {
        let mut p = PartyInput::new();
        for v in values {
            p.push(
                "Customers",
                vec![MatchKey {
                    kind: KeyType::Domain,
                    value: v.to_string(),
                }],
            );
        }
        p
    }

    #[test]
    fn saved_states_finish_the_session() {
        let cfg = PsiConfig::new().slots(1).unwrap();
        let (ini, m1) = Initiator::start(&input(&["a", "b", "c"]), &cfg).unwrap();
        let ini = Initiator::load(&ini.save()).unwrap();
        let (resp, m2) = Responder::respond(&input(&["b", "c", "d", "e"]), &cfg, &m1).unwrap();
        let resp = Responder::load(&resp.save()).unwrap();
        let (ra, m3) = ini.finish(&m2).unwrap();
        let rb = resp.complete(&m3).unwrap();
        assert_eq!(ra.matches.len(), 2);
        assert_eq!(rb.matches.len(), 2);
        let _ = Message::decode(&m3.encode(), 10).unwrap();
    }

    /// Issue 11: the responder needs no key after message 2, so its state file holds none;
    /// the initiator's holds exactly one 32-byte key.
    #[test]
    fn responder_state_holds_no_key() {
        let cfg = PsiConfig::new().slots(1).unwrap();
        let (ini, m1) = Initiator::start(&input(&["a"]), &cfg).unwrap();
        let (resp, _) = Responder::respond(&input(&["a"]), &cfg, &m1).unwrap();
        assert!(resp.side.key.is_none());
        let saved = resp.save();
        let restored = Responder::load(&saved).unwrap();
        assert!(restored.side.key.is_none());
        let key = ini.side.key.as_ref().unwrap().to_bytes();
        assert!(ini.save().windows(32).any(|w| w == key));
    }

    #[test]
    fn tampered_or_wrong_state_is_refused() {
        let cfg = PsiConfig::new().slots(1).unwrap();
        let (ini, m1) = Initiator::start(&input(&["a"]), &cfg).unwrap();
        let mut bytes = ini.save().to_vec();
        bytes[20] ^= 1;
        assert!(Initiator::load(&bytes)
            .unwrap_err()
            .to_string()
            .contains("checksum mismatch"));
        let (resp, _) = Responder::respond(&input(&["a"]), &cfg, &m1).unwrap();
        let e = Initiator::load(&resp.save()).unwrap_err();
        assert!(e.to_string().contains("belongs to the responder side"), "{e}");
        assert!(Initiator::load(b"hello")
            .unwrap_err()
            .to_string()
            .contains("not an acctmap session state"));
    }
    /// The party's states after messages 3, 4 and 5, each saved and restored, finish the
    /// session as the states kept in memory do; the initiator's state after message 3 holds
    /// the pair round's key (and only that one), the later ones none; a state of another
    /// step is refused by name.
    #[test]
    fn party_states_between_steps_round_trip() {
        use crate::party::{Compared, Decided, Finished, Party};
        use crate::policy::SharingPolicy;
        use crate::{ingest, IngestOptions, KeyConfig, PreparedList};
        let party = |csv: &str| {
            let d = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
            Party::new(PreparedList::build(d, &KeyConfig::new()), SharingPolicy::default()).unwrap()
        };
        let a = party("Name,Country\nAcme,DE\nGlobex,FR\nInitech,US\n");
        let b = party("Name,Country\nAcme,DE\nGlobex,BE\nHooli,US\n");
        let (ini, m1) = a.start().unwrap();
        let (resp, m2) = b.respond(&m1).unwrap();
        let (fin, m3) = a.finish(ini, &m2).unwrap();
        let key = fin.pairs.side.key.as_ref().unwrap().to_bytes();
        let saved = fin.save();
        assert!(saved.windows(32).any(|w| w == key));
        let fin = Finished::load(&saved).unwrap();
        let (cmp, m4) = b.compare(resp, &m3).unwrap();
        let cmp = Compared::load(&cmp.save()).unwrap();
        assert!(cmp.pairs.side.key.is_none());
        let (dec, m5) = a.decide(fin, &m4).unwrap();
        let dec = Decided::load(&dec.save()).unwrap();
        let (mb, m6) = b.complete_responder(cmp, &m5).unwrap();
        let ma = a.complete_initiator(dec, &m6).unwrap();
        // Acme matches (name and country); Globex is left for review (the countries differ).
        assert_eq!((ma.pairs.len(), ma.review.len()), (1, 1));
        assert_eq!((mb.pairs.len(), mb.review.len()), (1, 1));
        let e = Compared::load(&saved).unwrap_err().to_string();
        assert!(e.contains("belongs to the initiator (after message 3) side"), "{e}");
    }
}

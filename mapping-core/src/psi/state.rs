//! Saving a party between protocol steps, for partners who exchange message files instead of
//! being online together. The state holds the session key: the caller writes it to an
//! owner-only file (see `crate::party`) and deletes it when the session ends. The buffer
//! returned by `save` is zeroized on drop.
//!
//! Format: magic `ACMAPST\0`, version, kind (1 initiator, 2 responder), fields, SHA-256.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::group::SessionKey;
use super::messages::Mode;
use super::session::{Initiator, PsiConfig, Responder, Side};
use crate::error::{Error, Result};
use crate::keys::KeyType;

const MAGIC: &[u8; 8] = b"ACMAPST\0";
const VERSION: u8 = 1;

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
    }
    fn side(&mut self, s: &Side) {
        let key = Zeroizing::new(s.key.to_bytes());
        self.0.extend_from_slice(&key[..]);
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
                "this state file belongs to the {} side, not the {}",
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
        if !(1..=16).contains(&slots) || !(16..=32).contains(&truncation) {
            return Err(bad("invalid settings"));
        }
        Ok(PsiConfig::new()
            .mode(mode)
            .slots(usize::from(slots))?
            .max_peer_accounts(max)
            .truncation(truncation))
    }
    fn array16(&mut self) -> Result<[u8; 16]> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Ok(a)
    }
    fn side(&mut self, slots: u8) -> Result<Side> {
        let mut key_bytes = Zeroizing::new([0u8; 32]);
        key_bytes.copy_from_slice(self.take(32)?);
        let key = SessionKey::from_bytes(*key_bytes).ok_or_else(|| bad("invalid session key"))?;
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
        let total: u64 = populations.iter().map(|(_, n)| n).sum();
        if order.len() != position_population.len()
            || total != order.len() as u64
            || slot_types.len() != order.len() * usize::from(slots)
            || position_population.iter().any(|p| *p as usize >= populations.len())
        {
            return Err(bad("inconsistent contents"));
        }
        Ok(Side {
            key,
            order,
            position_population,
            populations,
            slot_types,
            points: Vec::new(),
            timings: Default::default(),
        })
    }
}

fn role(kind: u8) -> &'static str {
    match kind {
        1 => "initiator",
        2 => "responder",
        _ => "unknown",
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
        let side = d.side(config.slots)?;
        let peer_total: u64 = peer_populations.iter().map(|(_, n)| n).sum();
        if peer_values.len() as u64 != peer_total * u64::from(config.slots) * u64::from(config.truncation) {
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
}

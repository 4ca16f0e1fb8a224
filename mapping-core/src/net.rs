//! A direct session between two partners over any `Read + Write` byte stream (a TCP
//! connection, a pipe, a service's own socket): pairing, an encrypted and authenticated
//! channel, the declarations each side checks before any account data flows, and the four
//! protocol messages. The protocol itself is the one of [`crate::party`]; this module only
//! carries it.
//!
//! ## Pairing and the channel
//!
//! The partners share a short pairing code, read out over a call. SPAKE2 (the `spake2`
//! crate, RustCrypto) turns it into a strong shared key: an eavesdropper learns nothing, and
//! an active attacker gets one guess per connection, never an offline dictionary attack.
//! We chose a PAKE over TLS with compared certificate fingerprints because a code is what
//! people can exchange by voice, and a fingerprint is not. From the SPAKE2 key and the
//! transcript, HKDF-SHA256 derives one ChaCha20-Poly1305 key per direction and two
//! confirmation keys; each side proves it holds the key (HMAC) before anything else is
//! sent, so a wrong code fails at once and reveals nothing. Every later frame is
//! `u32 length ‖ AEAD(counter nonce, type ‖ payload)`, at most 4 MiB; a replayed, reordered
//! or altered frame fails authentication.
//!
//! ## Session
//!
//! 1. Both sides send a [`Declaration`] (account count, population sizes, mode, K, limits,
//!    what their policy shares). Each checks the partner's against its own limits and asks
//!    its user (or `--yes`) before sending `proceed`.
//! 2. The initiator (the connecting side) and the responder exchange messages 1 to 6 in
//!    frames; message 1's and 2's account counts must equal the declarations. The sides
//!    overlap their work (network protocol 2 and later, docs/protocol.md "Live sessions"): the
//!    responder blinds its own points while the initiator computes message 1, and sends
//!    message 2 in two parts, a preview with its points (which the initiator blinds at once)
//!    and then the rest; message 3 still leaves only after message 2's proofs held.
//!    Messages 3 to 6 (the pair round and the records) go in strict rounds (network
//!    protocol 3).
//! 3. Each side gets its [`Mapping`]; nothing is written by this module.

use std::io::{ErrorKind as IoKind, Read, Write};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use zeroize::Zeroizing;

use crate::display::printable;
use crate::error::{Error, ErrorKind, Result};
use crate::matching::Mapping;
use crate::party::Party;
use crate::policy::Share;
use crate::psi::{Message, Mode};

const MAGIC: &[u8; 8] = b"ACMAPNET";
/// 3: the six messages of protocol version 4 (the pair round); 4: message version 5.
const VERSION: u8 = 4;
const MAX_FRAME: usize = 4 << 20;
const CHUNK: usize = 1 << 20;
/// Bytes of shared records allowed per partner account, on average, in a message bound.
const RECORD_ALLOWANCE: u64 = 4096;

/// Which side of the session this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetRole {
    /// Connects, and runs the protocol's initiator.
    Initiator,
    /// Listens, and runs the responder.
    Responder,
}

/// What a side declares before any account data flows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Declaration {
    /// Accounts it will put into the session.
    pub accounts: u64,
    /// Population sizes.
    pub populations: Vec<(String, u64)>,
    /// The mode it asks for.
    pub mode: Mode,
    /// Slots per account.
    pub slots: u8,
    /// The largest partner set it accepts.
    pub max_peer_accounts: u64,
    /// Per population: how it is shared and which fields.
    pub sharing: Vec<(String, Share, Vec<String>)>,
    /// The key types it matches on (`--keys`), sorted: both sides must use the same, since
    /// the decision rule reads which key types matched.
    #[serde(default)]
    pub key_types: Vec<String>,
}

impl Declaration {
    /// What a party declares.
    pub fn of(party: &Party) -> Declaration {
        let mut populations: Vec<(String, u64)> = party
            .list()
            .keyed
            .population_sizes()
            .filter(|(label, _)| party.policy().rule(label).share != Share::Hidden)
            .map(|(label, n)| (label.to_owned(), n))
            .collect();
        populations.sort();
        let sharing = populations
            .iter()
            .map(|(l, _)| {
                let r = party.policy().rule(l);
                (
                    l.clone(),
                    r.share,
                    if r.share == Share::Overlaps {
                        r.fields.clone()
                    } else {
                        Vec::new()
                    },
                )
            })
            .collect();
        Declaration {
            accounts: party.accounts_in_session() as u64,
            populations,
            mode: party.mode(),
            slots: party.list().config.slots as u8,
            max_peer_accounts: party.policy().max_peer_accounts,
            sharing,
            key_types: key_types(party),
        }
    }

    /// A few lines for a person deciding whether to proceed.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "  accounts: {}\n  populations: {}\n  mode: {}\n  slots per account: {}\n  keys: {}\n  accepts partners up to {} accounts\n",
            self.accounts,
            self.populations
                .iter()
                .map(|(l, n)| format!("{} {n}", printable(l)))
                .collect::<Vec<_>>()
                .join(", "),
            match self.mode {
                Mode::Matches => "matches",
                Mode::CountsOnly => "counts only",
            },
            self.slots,
            printable(&self.key_types.join(", ")),
            self.max_peer_accounts
        );
        for (label, share, fields) in &self.sharing {
            let what = match share {
                Share::Overlaps if fields.is_empty() => "matched accounts, no fields".to_owned(),
                Share::Overlaps => format!("matched accounts with {}", printable(&fields.join(", "))),
                Share::Counts => "counts only".to_owned(),
                Share::Hidden => "hidden".to_owned(),
            };
            s.push_str(&format!("  shares {}: {what}\n", printable(label)));
        }
        s
    }
}

/// The key types a party matches on, by name, sorted (the set is what the rule reads).
fn key_types(party: &Party) -> Vec<String> {
    let mut t: Vec<String> = party
        .list()
        .config
        .types
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    t.sort();
    t
}

/// Frame types inside the encrypted channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Declaration = 1,
    Proceed = 2,
    Abort = 3,
    Chunk = 4,
    End = 5,
    /// "Still computing": sent every [`WORKING_EVERY`] while this side computes the next
    /// message, so that a partner's read timeout measures silence, not work.
    Working = 6,
}

/// How often a computing side says so (a 17-byte frame: negligible traffic).
const WORKING_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl Frame {
    fn from_byte(b: u8) -> Option<Frame> {
        Some(match b {
            1 => Frame::Declaration,
            2 => Frame::Proceed,
            3 => Frame::Abort,
            4 => Frame::Chunk,
            5 => Frame::End,
            6 => Frame::Working,
            _ => return None,
        })
    }
}

fn io_error(e: std::io::Error, doing: &str) -> Error {
    match e.kind() {
        IoKind::WouldBlock | IoKind::TimedOut => {
            Error::protocol(format!("the partner stalled: no data arrived in time while {doing}"))
        }
        IoKind::UnexpectedEof | IoKind::ConnectionReset | IoKind::ConnectionAborted | IoKind::BrokenPipe => {
            Error::protocol(format!("the partner disconnected while {doing}"))
        }
        _ => Error::io(None, e),
    }
}

/// The encrypted channel after pairing.
struct Channel<S> {
    stream: S,
    send: ChaCha20Poly1305,
    recv: ChaCha20Poly1305,
    sent: u64,
    received: u64,
    /// The longest an incoming message may take, "still computing" frames included: an
    /// honest partner needs time in proportion to the two lists ([`step_limit`]), and a
    /// paired partner must not hold the session open for ever.
    step_limit: std::time::Duration,
    /// Set by the computing thread when its work failed while this channel receives on
    /// another ([`Channel::working_while`]): the receiving stops at the next frame instead of
    /// waiting for the rest of a message that will not be used.
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Ends a read that is waiting on the partner, called from the computing thread when its
    /// work failed ([`run_session_with`]): a partner that falls silent after a bad first
    /// part would otherwise hold the session until the read times out.
    stop_reading: Option<StopReading>,
    /// How long [`Channel::abort`] waits for the partner's reason ([`DRAIN_FOR`]).
    drain_for: std::time::Duration,
}

/// How long [`Channel::abort`] waits for the partner's reason (or its closing) after
/// telling it ours: a partner busy computing reads our reason only when it is done.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a partner may take over one message: 10 minutes, or 1 ms per slot of the two
/// sides together (some 20 times what one core needs), whichever is longer.
fn step_limit(slots: u64) -> std::time::Duration {
    std::time::Duration::from_secs(600).max(std::time::Duration::from_millis(slots))
}

impl<S: Read + Write> Channel<S> {
    fn nonce(counter: u64) -> Nonce {
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&counter.to_be_bytes());
        Nonce::from(n)
    }

    fn send(&mut self, kind: Frame, payload: &[u8]) -> Result<()> {
        let mut plain = Zeroizing::new(Vec::with_capacity(payload.len() + 1));
        plain.push(kind as u8);
        plain.extend_from_slice(payload);
        let ct = self
            .send
            .encrypt(
                &Self::nonce(self.sent),
                Payload {
                    msg: &plain,
                    aad: MAGIC,
                },
            )
            .map_err(|_| Error::protocol("encryption failed"))?;
        self.sent += 1;
        let len = u32::try_from(ct.len()).map_err(|_| Error::protocol("frame too large"))?;
        self.stream
            .write_all(&len.to_be_bytes())
            .map_err(|e| io_error(e, "sending"))?;
        self.stream.write_all(&ct).map_err(|e| io_error(e, "sending"))?;
        self.stream.flush().map_err(|e| io_error(e, "sending"))
    }

    fn recv(&mut self, doing: &str) -> Result<(Frame, Vec<u8>)> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).map_err(|e| io_error(e, doing))?;
        let len = u32::from_be_bytes(len) as usize;
        if !(17..=MAX_FRAME + 64).contains(&len) {
            return Err(Error::message(
                "network frame",
                format!("length {len} is out of bounds"),
            ));
        }
        let mut ct = vec![0u8; len];
        self.stream.read_exact(&mut ct).map_err(|e| io_error(e, doing))?;
        let plain = self
            .recv
            .decrypt(&Self::nonce(self.received), Payload { msg: &ct, aad: MAGIC })
            .map_err(|_| {
                Error::message(
                    "network frame",
                    "authentication failed (altered, replayed or reordered)",
                )
            })?;
        self.received += 1;
        let kind = Frame::from_byte(plain[0]).ok_or_else(|| Error::message("network frame", "unknown frame type"))?;
        if kind == Frame::Abort {
            return Err(Error::protocol(format!(
                "the partner ended the session: {}",
                printable(&String::from_utf8_lossy(&plain[1..]))
            )));
        }
        Ok((kind, plain[1..].to_vec()))
    }

    fn expect(&mut self, want: Frame, doing: &str) -> Result<Vec<u8>> {
        let (kind, payload) = self.recv(doing)?;
        if kind != want {
            return Err(Error::message(
                "network frame",
                format!("expected {want:?} while {doing}, got {kind:?}"),
            ));
        }
        Ok(payload)
    }

    /// Tells the partner why the session ends, then reads (and drops) what the partner still
    /// sends until it closes or ends the session too, at most 16 MiB: closing with unread
    /// data would reset the connection and the partner would see "disconnected" instead of
    /// the reason. Both sides refuse a declaration mismatch at once: each then stops at the
    /// other's reason instead of waiting for the other to close.
    fn abort(&mut self, reason: &str) -> Error {
        if self.send(Frame::Abort, reason.as_bytes()).is_ok() {
            let mut drained = 0usize;
            let started = std::time::Instant::now();
            // Bounded in bytes and in time: a partner may answer with "still computing"
            // frames (no payload) for as long as it likes.
            while drained < 16 << 20 && started.elapsed() < self.drain_for {
                // The partner's own reason (or its closing, or a bad frame) is an error.
                match self.recv("ending the session") {
                    Ok((_, payload)) => drained += payload.len() + 1,
                    Err(_) => break,
                }
            }
        }
        Error::protocol(reason.to_owned())
    }

    fn send_message(&mut self, msg: &Message) -> Result<()> {
        self.send_bytes(&msg.encode())
    }

    /// Message 2 after its preview: everything but the points, which the preview carried.
    fn send_rest(&mut self, msg: &Message) -> Result<()> {
        self.send_bytes(&msg.encode_without_points())
    }

    fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        for chunk in bytes.chunks(CHUNK) {
            self.send(Frame::Chunk, chunk)?;
        }
        self.send(Frame::End, &[])
    }

    fn recv_message(&mut self, max_bytes: u64, max_accounts: u64, doing: &str) -> Result<Message> {
        Message::decode_vec(self.recv_bytes(max_bytes, doing)?, max_accounts)
    }

    /// Message 2, whose points came in its preview: decoded whole, checksum included, so a
    /// message 2 with other points than the preview's is refused.
    fn recv_rest(&mut self, preview: &Message, max_bytes: u64, max_accounts: u64, doing: &str) -> Result<Message> {
        let bytes = self.recv_bytes(max_bytes, doing)?;
        Message::with_points(bytes, &preview.points, max_accounts)
            .map_err(|e| Error::message("message 2 (after its preview)", e.to_string()))
    }

    fn recv_bytes(&mut self, max_bytes: u64, doing: &str) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        let started = std::time::Instant::now();
        loop {
            if started.elapsed() > self.step_limit {
                return Err(self.abort(&format!(
                    "the partner took more than {} s over one message ({doing}), longer than these list sizes need; the session was stopped",
                    self.step_limit.as_secs()
                )));
            }
            let (kind, payload) = self.recv(doing)?;
            if self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
            {
                return Err(Error::protocol(format!("stopped {doing}: this side's own step failed")));
            }
            match kind {
                Frame::Chunk => {
                    if (bytes.len() + payload.len()) as u64 > max_bytes {
                        return Err(self.abort("the partner's message is larger than its declaration allows"));
                    }
                    bytes.extend_from_slice(&payload);
                }
                Frame::End => break,
                // The partner is still computing this message.
                Frame::Working if bytes.is_empty() => {}
                other => {
                    return Err(Error::message(
                        "network frame",
                        format!("unexpected {other:?} inside a message"),
                    ))
                }
            }
        }
        Ok(bytes)
    }
}

impl<S: Read + Write + Send> Channel<S> {
    /// Runs `work` (the next message's computation) on this thread while another tells the
    /// partner every [`WORKING_EVERY`] that this side is still computing: a large list takes
    /// minutes per step, longer than any sensible read timeout on the waiting side.
    fn working<T>(&mut self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        self.working_while(|_| Ok(()), work).map(|(out, ())| out)
    }

    /// Runs `work` on this thread (and its rayon pool) while another thread first runs
    /// `io` on the channel (receiving the partner's next message, say) and then says every
    /// [`WORKING_EVERY`] that this side is still computing. Returns both results. When the
    /// work fails, its error is the result: a receiving `io` stops at the partner's next
    /// frame (so a partner whose first part made our work fail cannot keep us waiting for
    /// the rest), and whatever it got is dropped.
    fn working_while<T, R: Send>(
        &mut self,
        io: impl FnOnce(&mut Self) -> Result<R> + Send,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<(T, R)> {
        let done = std::sync::atomic::AtomicBool::new(false);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        self.stop = Some(stop.clone());
        let stop_reading = self.stop_reading.clone();
        let this = &mut *self;
        let both = std::thread::scope(|scope| {
            let done = &done;
            let background = scope.spawn(move || -> Result<R> {
                let got = io(this)?;
                let mut last = std::time::Instant::now();
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    if last.elapsed() >= WORKING_EVERY {
                        // A partner that went away shows in the next send or read, with
                        // its reason.
                        if this.send(Frame::Working, &[]).is_err() {
                            break;
                        }
                        last = std::time::Instant::now();
                    }
                }
                Ok(got)
            });
            let out = work();
            if out.is_err() {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                // A partner that sends nothing more must not keep the receiving waiting.
                if let Some(stop_reading) = &stop_reading {
                    stop_reading();
                }
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            let got = background
                .join()
                .unwrap_or_else(|_| Err(Error::protocol("the network thread stopped unexpectedly")));
            // The work's error first: the receiving may have stopped because of it.
            match out {
                Ok(out) => got.map(|got| Ok((out, got))),
                Err(e) => Ok(Err(e)),
            }
        });
        self.stop = None;
        match both {
            Ok(Ok(both)) => Ok(both),
            Ok(Err(e)) => {
                // Tell the partner why, when the reason is its message (anything else is
                // this side's own affair: a file, a path, a state).
                let reason = match e.kind() {
                    ErrorKind::Message { .. } => e.to_string(),
                    _ => "the other side could not complete this step (its own error)".to_owned(),
                };
                let _ = self.abort(&reason);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

/// The SPAKE2 exchange and key confirmation; returns the encrypted channel.
fn pair<S: Read + Write>(mut stream: S, role: NetRole, code: &str) -> Result<Channel<S>> {
    let code = normalize_code(code)?;
    let (id_a, id_b) = (Identity::new(b"acctmap initiator"), Identity::new(b"acctmap responder"));
    let password = Password::new(code.as_bytes());
    let (state, outbound) = match role {
        NetRole::Initiator => Spake2::<Ed25519Group>::start_a(&password, &id_a, &id_b),
        NetRole::Responder => Spake2::<Ed25519Group>::start_b(&password, &id_a, &id_b),
    };
    let mut hello = Vec::with_capacity(MAGIC.len() + 3 + outbound.len());
    hello.extend_from_slice(MAGIC);
    hello.push(VERSION);
    hello.push(role as u8);
    hello.push(outbound.len() as u8);
    hello.extend_from_slice(&outbound);
    stream.write_all(&hello).map_err(|e| io_error(e, "pairing"))?;
    stream.flush().map_err(|e| io_error(e, "pairing"))?;
    let mut head = [0u8; 11];
    stream.read_exact(&mut head).map_err(|e| io_error(e, "pairing"))?;
    if &head[..8] != MAGIC {
        return Err(Error::protocol(
            "the other end does not speak the acctmap network protocol",
        ));
    }
    if head[8] != VERSION {
        return Err(Error::protocol(format!(
            "the partner speaks network protocol version {}, this side {VERSION}",
            head[8]
        )));
    }
    if head[9] == role as u8 {
        return Err(Error::protocol(
            "both ends have the same role (two servers or two clients)",
        ));
    }
    let mut inbound = vec![0u8; usize::from(head[10])];
    stream.read_exact(&mut inbound).map_err(|e| io_error(e, "pairing"))?;
    let key = Zeroizing::new(
        state
            .finish(&inbound)
            .map_err(|_| Error::protocol("invalid pairing message from the partner"))?,
    );
    // Transcript: both pairing messages, initiator's first.
    let (first, second) = match role {
        NetRole::Initiator => (hello.clone(), [&head[..], &inbound[..]].concat()),
        NetRole::Responder => ([&head[..], &inbound[..]].concat(), hello.clone()),
    };
    let transcript = Sha256::new().chain_update(&first).chain_update(&second).finalize();
    let hk = Hkdf::<Sha256>::new(Some(&transcript), &key);
    let mut okm = Zeroizing::new([0u8; 128]);
    hk.expand(b"acctmap v1 channel keys", &mut okm[..])
        .map_err(|_| Error::protocol("key derivation failed"))?;
    let (i2r, r2i, confirm_i, confirm_r) = (&okm[0..32], &okm[32..64], &okm[64..96], &okm[96..128]);
    let (send_key, recv_key, my_confirm, their_confirm) = match role {
        NetRole::Initiator => (i2r, r2i, confirm_i, confirm_r),
        NetRole::Responder => (r2i, i2r, confirm_r, confirm_i),
    };
    let tag = |k: &[u8]| -> Result<[u8; 32]> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(k).map_err(|_| Error::protocol("key confirmation failed"))?;
        mac.update(&transcript);
        Ok(mac.finalize().into_bytes().into())
    };
    stream
        .write_all(&tag(my_confirm)?)
        .map_err(|e| io_error(e, "pairing"))?;
    stream.flush().map_err(|e| io_error(e, "pairing"))?;
    let mut theirs = [0u8; 32];
    stream.read_exact(&mut theirs).map_err(|e| match e.kind() {
        IoKind::UnexpectedEof | IoKind::ConnectionReset | IoKind::BrokenPipe => {
            Error::protocol("the partner refused the pairing: the pairing codes do not match")
        }
        _ => io_error(e, "pairing"),
    })?;
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(their_confirm).map_err(|_| Error::protocol("key confirmation failed"))?;
    mac.update(&transcript);
    if mac.verify_slice(&theirs).is_err() {
        return Err(Error::protocol(
            "the pairing codes do not match (or the connection was tampered with); nothing was sent",
        ));
    }
    Ok(Channel {
        stream,
        send: ChaCha20Poly1305::new(Key::from_slice(send_key)),
        recv: ChaCha20Poly1305::new(Key::from_slice(recv_key)),
        sent: 0,
        received: 0,
        step_limit: step_limit(0),
        stop: None,
        stop_reading: None,
        drain_for: DRAIN_FOR,
    })
}

/// Upper-cases a pairing code and drops spaces and dashes; refuses codes under 8 characters.
pub fn normalize_code(code: &str) -> Result<String> {
    let c: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if c.len() < 8 {
        return Err(Error::config("the pairing code needs at least 8 letters or digits"));
    }
    Ok(c)
}

/// A fresh pairing code: 12 characters from an alphabet without look-alikes, in groups of
/// four (`7KQM-XW3R-PD9F`), about 60 bits.
pub fn new_code() -> String {
    use rand_core::{OsRng, RngCore};
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut s = String::new();
    for i in 0..12 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        let idx = (OsRng.next_u32() % ALPHABET.len() as u32) as usize;
        s.push(char::from(ALPHABET[idx]));
    }
    s
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Matches => "matches",
        Mode::CountsOnly => "counts-only",
    }
}

/// Whether two population lists hold the same labels with the same sizes (empty
/// populations aside; order aside).
fn same_populations(a: &[(String, u64)], b: &[(String, u64)]) -> bool {
    let norm = |v: &[(String, u64)]| {
        let mut v: Vec<(String, u64)> = v.iter().filter(|(_, n)| *n > 0).cloned().collect();
        v.sort();
        v
    };
    norm(a) == norm(b)
}

/// Runs a whole session on `stream`. `decide` sees the partner's declaration (after this
/// side's limits were checked) and returns whether to proceed; `step` is told each step for
/// progress display; the first step after `"pairing"` means the partner proved it knows the
/// code. Returns this side's mapping; writes nothing. Give the stream read and
/// write timeouts (as `acctmap serve`/`connect` do): every wait on the partner, including
/// the short drain after refusing it, ends when a read times out.
pub fn run_session<S: Read + Write + Send>(
    stream: S,
    role: NetRole,
    party: &Party,
    code: &str,
    decide: impl FnMut(&Declaration) -> bool,
    step: impl FnMut(&str),
) -> Result<Mapping> {
    run_session_with(stream, role, party, code, decide, step, None)
}

/// How a transport ends a read that waits on the partner, from another thread: for a TCP
/// stream, `shutdown(Shutdown::Read)` on a clone of it ([`run_session_with`]).
pub type StopReading = std::sync::Arc<dyn Fn() + Send + Sync>;

/// [`run_session`], with a way to end a read that waits on the partner. When this side's
/// own step fails while it is receiving the partner's next message (the first part of
/// message 2 does not decode, say), `stop_reading` is called so that the receiving ends
/// at once instead of at the partner's next frame, or at the read timeout if the partner
/// falls silent; the partner is then told why and the session ends with this side's error.
pub fn run_session_with<S: Read + Write + Send>(
    stream: S,
    role: NetRole,
    party: &Party,
    code: &str,
    mut decide: impl FnMut(&Declaration) -> bool,
    mut step: impl FnMut(&str),
    stop_reading: Option<StopReading>,
) -> Result<Mapping> {
    step("pairing");
    let mut ch = pair(stream, role, code)?;
    ch.stop_reading = stop_reading;
    step("paired: exchanging declarations");
    let mine = Declaration::of(party);
    let body = serde_json::to_vec(&mine).map_err(|e| Error::config(format!("declaration: {e}")))?;
    ch.send(Frame::Declaration, &body)?;
    let theirs_bytes = ch.expect(Frame::Declaration, "waiting for the partner's declaration")?;
    let theirs: Declaration =
        serde_json::from_slice(&theirs_bytes).map_err(|e| Error::message("partner declaration", e.to_string()))?;
    let declared: u64 = theirs.populations.iter().map(|(_, n)| n).sum();
    if declared != theirs.accounts {
        return Err(ch.abort("the partner's declaration does not add up"));
    }
    if theirs.accounts > party.policy().max_peer_accounts {
        return Err(ch.abort(&format!(
            "the partner declares {} accounts, more than this side accepts ({})",
            theirs.accounts,
            party.policy().max_peer_accounts
        )));
    }
    if theirs.slots != mine.slots {
        return Err(ch.abort(&format!(
            "the partner uses {} slots per account, this side {}; both must use the same --slots",
            theirs.slots, mine.slots
        )));
    }
    if theirs.key_types != mine.key_types {
        return Err(ch.abort(&format!(
            "the partner matches on the keys ({}), this side on ({}); both must use the same --keys (the decision rule reads which key types matched)",
            printable(&theirs.key_types.join(", ")),
            mine.key_types.join(", ")
        )));
    }
    if !decide(&theirs) {
        return Err(ch.abort("declined by the partner's user"));
    }
    ch.send(Frame::Proceed, &[])?;
    ch.expect(Frame::Proceed, "waiting for the partner to accept")?;
    ch.step_limit = step_limit(
        mine.accounts
            .saturating_add(theirs.accounts)
            .saturating_mul(u64::from(mine.slots)),
    );
    // A message carries at most: header, populations, records (up to 4 KiB a partner
    // account on average), returned values and points.
    let bound = |accounts: u64, returned_slots: u64| -> u64 {
        (1u64 << 20)
            .saturating_add(256 << 20)
            .saturating_add(theirs.accounts.saturating_mul(RECORD_ALLOWANCE))
            // Twice: an account shared with its overlaps can be in both sub-sessions.
            .saturating_add(accounts.saturating_mul(u64::from(mine.slots)).saturating_mul(64))
            .saturating_add(returned_slots.saturating_mul(64))
    };
    let my_slots = mine.accounts.saturating_mul(u64::from(mine.slots));
    let their_slots = theirs.accounts.saturating_mul(u64::from(theirs.slots));
    // The declaration binds: what the partner's messages carry must be what the user
    // approved, or the session stops before anything is computed on them.
    // Version 3: the matches part holds the populations declared as shared with their
    // overlaps, the counted ones are declared in the message (their points travel in the
    // counts sub-session). A responder sends an empty matches part to an initiator that
    // has no overlap populations.
    let declared_as = |share: Share| -> Vec<(String, u64)> {
        theirs
            .populations
            .iter()
            .filter(|(l, _)| theirs.sharing.iter().any(|(sl, s, _)| sl == l && *s == share))
            .cloned()
            .collect()
    };
    let (their_overlaps, their_counted) = (declared_as(Share::Overlaps), declared_as(Share::Counts));
    let overlap_total: u64 = their_overlaps.iter().map(|(_, n)| n).sum();
    let check_declared = |ch: &mut Channel<S>, msg: &Message, may_be_empty: bool| -> Result<()> {
        let empty = may_be_empty && msg.populations.is_empty();
        let sent = msg.accounts() + msg.counted_accounts() + if empty { overlap_total } else { 0 };
        let lie = if sent != theirs.accounts {
            Some(format!(
                "the partner declared {} accounts but sent {sent}",
                theirs.accounts
            ))
        } else if msg.mode != Mode::Matches {
            Some(format!(
                "the partner's message is in {} mode, but a version-{} session's matches part is always in matches mode",
                mode_name(msg.mode),
                crate::psi::VERSION
            ))
        } else if msg.slots != theirs.slots {
            Some(format!(
                "the partner declared {} slots per account but sent {}",
                theirs.slots, msg.slots
            ))
        } else if !(empty || same_populations(&msg.populations, &their_overlaps))
            || !same_populations(&msg.counted, &their_counted)
        {
            Some(
                "the partner's populations (labels, sizes or how each is shared) differ from its declaration"
                    .to_owned(),
            )
        } else {
            None
        };
        match lie {
            Some(lie) => Err(ch.abort(&lie)),
            None => Ok(()),
        }
    };
    let max = party.policy().max_peer_accounts;
    match role {
        NetRole::Initiator => {
            step("step 1: blinding your keys");
            let (ini, m1) = ch.working(|| party.start())?;
            ch.send_message(&m1)?;
            step("step 2: waiting for the partner");
            let may_be_empty = mine.mode == Mode::CountsOnly;
            let preview = ch.recv_message(bound(theirs.accounts, 0), max, "waiting for message 2")?;
            check_declared(&mut ch, &preview, may_be_empty)?;
            step("step 2: blinding the partner's keys while it blinds yours");
            let (ahead, m2) = ch.working_while(
                |ch| ch.recv_rest(&preview, bound(theirs.accounts, my_slots), max, "waiting for message 2"),
                || party.blind_ahead(&ini, &preview),
            )?;
            check_declared(&mut ch, &m2, may_be_empty)?;
            drop(preview);
            step("step 3: matching");
            let (fin, m3) = ch.working(|| party.finish_with(ini, &m2, Some(ahead)))?;
            let candidates = fin.candidates();
            ch.send_message(&m3)?;
            step("step 4: waiting for the partner's comparison of the candidates");
            // Message 4: the pair round's reply (one entry per candidate), and our values of
            // the counts sub-session.
            let m4 = ch.recv_message(
                bound(0, my_slots).saturating_add(pair_bytes(candidates)),
                candidates,
                "waiting for message 4",
            )?;
            step("step 5: deciding");
            let (dec, m5) = ch.working(|| party.decide(fin, &m4))?;
            ch.send_message(&m5)?;
            step("step 6: waiting for the partner's records");
            let m6 = ch.recv_message(bound(0, 0), 0, "waiting for message 6")?;
            party.complete_initiator(dec, &m6)
        }
        NetRole::Responder => {
            // This side's points do not depend on message 1: blind them while the partner
            // computes it.
            step("step 1: blinding your keys while the partner blinds its");
            let (prepared, m1) = ch.working_while(
                |ch| ch.recv_message(bound(theirs.accounts, 0), max, "waiting for message 1"),
                || party.prepare_responder(overlap_total),
            )?;
            check_declared(&mut ch, &m1, false)?;
            // Message 2 goes in two parts: its points at once, so that the partner blinds
            // them while this side blinds the partner's, then the rest.
            ch.send_message(&party.preview(&prepared, &m1)?)?;
            step("step 2: blinding the partner's keys");
            let (resp, m2) = ch.working(|| party.respond_prepared(prepared, &m1))?;
            ch.send_rest(&m2)?;
            step("step 3: waiting for the partner");
            // Message 3 may carry the partner's points of the counts sub-session, and carries
            // its entries of the pair round: at most `compare::MAX_ENTRIES_PER_SLOT` per slot
            // of the smaller list.
            let candidate_cap = mine
                .accounts
                .min(theirs.accounts)
                .saturating_mul(u64::from(mine.slots))
                .saturating_mul(crate::compare::MAX_ENTRIES_PER_SLOT);
            let m3 = ch.recv_message(
                bound(theirs.accounts, their_slots.max(my_slots)).saturating_add(pair_bytes(candidate_cap)),
                max.max(candidate_cap),
                "waiting for message 3",
            )?;
            step("step 4: comparing the candidate pairs");
            let (cmp, m4) = ch.working(|| party.compare(resp, &m3))?;
            let candidates = cmp.candidates();
            ch.send_message(&m4)?;
            step("step 5: waiting for the partner's decisions");
            let m5 = ch.recv_message(
                bound(0, 0).saturating_add(pair_bytes(candidates)),
                0,
                "waiting for message 5",
            )?;
            step("step 6: deciding");
            let (mapping, m6) = ch.working(|| party.complete_responder(cmp, &m5))?;
            ch.send_message(&m6)?;
            Ok(mapping)
        }
    }
}

/// Bytes of the pair round's part for `candidates` entries: points and returned values.
fn pair_bytes(candidates: u64) -> u64 {
    (1u64 << 20).saturating_add(
        candidates
            .saturating_mul(u64::from(crate::compare::PAIR_SLOTS))
            .saturating_mul(64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SharingPolicy;
    use crate::{ingest, IngestOptions, KeyConfig, PreparedList};
    use std::net::{TcpListener, TcpStream};

    fn party(n: u32) -> Party {
        let mut csv = String::from("Name,Website\n");
        for i in 0..n {
            csv.push_str(&format!("Company {i},company{i}.com\n"));
        }
        let d = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
        Party::new(PreparedList::build(d, &KeyConfig::new()), SharingPolicy::default()).unwrap()
    }

    /// An initiator channel that has paired, declared `party` and been accepted: the point
    /// where a misbehaving partner can start sending whatever it likes.
    fn proceeded_initiator(addr: std::net::SocketAddr, party: &Party) -> Channel<TcpStream> {
        declared_initiator(addr, &Declaration::of(party))
    }

    /// The same with any declaration.
    fn declared_initiator(addr: std::net::SocketAddr, declaration: &Declaration) -> Channel<TcpStream> {
        declared(TcpStream::connect(addr).unwrap(), NetRole::Initiator, declaration)
    }

    /// Pairs, exchanges declarations and proceeds, as `run_session` does, by hand.
    fn declared(stream: TcpStream, role: NetRole, declaration: &Declaration) -> Channel<TcpStream> {
        let mut ch = pair(stream, role, "AAAA-BBBB-CCCC").unwrap();
        ch.send(Frame::Declaration, &serde_json::to_vec(declaration).unwrap())
            .unwrap();
        ch.expect(Frame::Declaration, "test").unwrap();
        ch.send(Frame::Proceed, &[]).unwrap();
        ch.expect(Frame::Proceed, "test").unwrap();
        ch
    }

    /// A side that computes longer than the partner's read timeout keeps the session: its
    /// "still computing" frames arrive twice a second, and the message after them is read.
    /// Without them the waiting side's 1 s timeout ends the session at the first second.
    #[test]
    fn a_long_computation_keeps_the_session_alive() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (_, m1) = party(3).start().unwrap();
        let sent = m1.clone();
        let waiting = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(1))).unwrap();
            let mut ch = pair(s, NetRole::Responder, "AAAA-BBBB-CCCC").unwrap();
            let t = std::time::Instant::now();
            let got = ch.recv_message(1 << 20, 100, "waiting for message 1");
            (got, t.elapsed())
        });
        let mut ch = pair(TcpStream::connect(addr).unwrap(), NetRole::Initiator, "AAAA-BBBB-CCCC").unwrap();
        ch.working(|| {
            std::thread::sleep(std::time::Duration::from_millis(2600));
            Ok(())
        })
        .unwrap();
        ch.send_message(&sent).unwrap();
        let (got, waited) = waiting.join().unwrap();
        assert_eq!(got.unwrap(), m1);
        assert!(waited >= std::time::Duration::from_millis(2500), "{waited:?}");
    }

    /// Issue 14 over a live session: every mix of sharing modes (one side counting its
    /// prospects, either side; one side counting everything, which empties the matches
    /// part) runs to the end, the declarations check out, and every account is found once:
    /// as a pair where both share it with its overlaps, as a count otherwise.
    #[test]
    fn live_sessions_mix_sharing_modes() {
        let mixed = |policy: &str| {
            let mut csv = String::from("Name,Website,Type\n");
            for i in 0..60 {
                let kind = if i % 3 == 0 { "Prospect" } else { "Customer" };
                csv.push_str(&format!("Company {i},company{i}.com,{kind}\n"));
            }
            let d = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
            let policy = SharingPolicy::from_toml(policy, "p.toml").unwrap();
            Party::new(PreparedList::build(d, &KeyConfig::new()), policy).unwrap()
        };
        let prospects = "[population.\"Prospects\"]\nshare = \"counts\"\n";
        let all = "[default]\nshare = \"counts\"\n";
        // (initiator's policy, responder's, pairs each side sees)
        for (pa, pb, pairs) in [
            (prospects, "", 40),
            ("", prospects, 40),
            (all, "", 0),
            (prospects, all, 0),
        ] {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let b = mixed(pb);
            let server = std::thread::spawn(move || {
                let (s, _) = listener.accept().unwrap();
                run_session(s, NetRole::Responder, &b, "AAAA-BBBB-CCCC", |_| true, |_| {}).unwrap()
            });
            let a = mixed(pa);
            let s = TcpStream::connect(addr).unwrap();
            let ma = run_session(s, NetRole::Initiator, &a, "AAAA-BBBB-CCCC", |_| true, |_| {}).unwrap();
            let mb = server.join().unwrap();
            for m in [&ma, &mb] {
                assert_eq!(
                    (m.pairs.len(), m.pair_total() + m.counted_total()),
                    (pairs, 60),
                    "{pa:?} {pb:?}"
                );
                assert!(m.pairs.iter().all(|p| p.partner_population == "Customers"));
            }
        }
    }

    /// A partner that pairs and declares 40 accounts, then sends a message 1 built from 80,
    /// is refused by the responder, which names the lie.
    #[test]
    fn partner_lying_about_its_size_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let b = party(40);
            run_session(s, NetRole::Responder, &b, "AAAA-BBBB-CCCC", |_| true, |_| {})
                .map(|_| ())
                .unwrap_err()
                .to_string()
        });
        let honest = party(40);
        let bigger = party(80);
        let mut ch = proceeded_initiator(addr, &honest);
        let (_, m1) = bigger.start().unwrap();
        ch.send_message(&m1).unwrap();
        let e = ch.recv("test").unwrap_err().to_string();
        assert!(
            e.contains("the partner ended the session: the partner declared 40 accounts but sent 80"),
            "{e}"
        );
        drop(ch); // the server drains until we close
        let err = server.join().unwrap();
        assert!(err.contains("declared 40 accounts but sent 80"), "{err}");
    }

    /// Issue 11: a partner that declares counts-only (and other sizes or labels), is
    /// approved, then sends message 1 with its accounts in the matches part (or with other
    /// populations) is refused before anything is computed on it.
    #[test]
    fn declaration_binds_mode_and_populations() {
        for lie in 0..2 {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let approved = std::sync::Arc::new(std::sync::Mutex::new(None));
            let seen = approved.clone();
            let server = std::thread::spawn(move || {
                let (s, _) = listener.accept().unwrap();
                let b = party(40);
                run_session(
                    s,
                    NetRole::Responder,
                    &b,
                    "AAAA-BBBB-CCCC",
                    |d| {
                        *seen.lock().unwrap() = Some(d.mode);
                        true
                    },
                    |_| {},
                )
                .map(|_| ())
                .unwrap_err()
                .to_string()
            });
            let a = party(40);
            let mut declared = Declaration::of(&a);
            if lie == 0 {
                declared.mode = Mode::CountsOnly;
                for s in &mut declared.sharing {
                    s.1 = Share::Counts;
                    s.2.clear();
                }
            } else {
                declared.populations = vec![("Customers".into(), 40)];
            }
            let mut ch = declared_initiator(addr, &declared);
            let (_, m1) = a.start().unwrap();
            ch.send_message(&m1).unwrap();
            let _ = ch.recv("test");
            drop(ch);
            let err = server.join().unwrap();
            let want = "the partner's populations (labels, sizes or how each is shared) differ from its declaration";
            assert!(err.contains(want), "lie {lie}: {err}");
            if lie == 0 {
                assert_eq!(*approved.lock().unwrap(), Some(Mode::CountsOnly));
            }
        }
    }

    /// An initiator of 40 accounts running a whole session against `addr`, which must fail:
    /// its error and how long it took. `stoppable`: it can end a read on its partner.
    fn failing_initiator(
        addr: std::net::SocketAddr,
        stoppable: bool,
    ) -> std::thread::JoinHandle<(String, std::time::Duration)> {
        std::thread::spawn(move || {
            let a = party(40);
            let stream = TcpStream::connect(addr).unwrap();
            // As `acctmap serve`/`connect` stop a read: the socket's reading side shut down.
            let stop: Option<StopReading> = stoppable.then(|| {
                let for_stop = stream.try_clone().unwrap();
                std::sync::Arc::new(move || {
                    let _ = for_stop.shutdown(std::net::Shutdown::Read);
                }) as StopReading
            });
            let t = std::time::Instant::now();
            let e = run_session_with(stream, NetRole::Initiator, &a, "AAAA-BBBB-CCCC", |_| true, |_| {}, stop)
                .map(|_| ())
                .unwrap_err()
                .to_string();
            (e, t.elapsed())
        })
    }

    /// What a test initiator and its partner must see after a preview whose value 1 does
    /// not decode: that reason, soon, and the partner told it.
    fn assert_bad_preview_refused(err: &str, took: std::time::Duration, heard: &str) {
        assert!(err.contains("value 1 is not a valid ristretto255 encoding"), "{err}");
        assert!(took < std::time::Duration::from_secs(8), "took {took:?}: {err}");
        assert!(
            heard.contains("the partner ended the session") && heard.contains("value 1 is not a valid"),
            "{heard}"
        );
    }

    /// A hand-driven responder of 40 accounts: paired and declared, message 1 received, its
    /// own points prepared; returns the channel, message 1, the prepared state and the
    /// preview of message 2 (not sent).
    fn responder_at_preview(
        listener: &TcpListener,
        b: &Party,
    ) -> (Channel<TcpStream>, Message, crate::party::PreparedResponder, Message) {
        let (s, _) = listener.accept().unwrap();
        let mut ch = declared(s, NetRole::Responder, &Declaration::of(b));
        let m1 = ch.recv_message(1 << 24, 1000, "test").unwrap();
        let prepared = b.prepare_responder(m1.accounts()).unwrap();
        let preview = b.preview(&prepared, &m1).unwrap();
        (ch, m1, prepared, preview)
    }

    /// Reads what the other side sends until the session ends, "still computing" frames
    /// aside (any other frame is a failure: nothing may leave), and returns how it ended.
    fn until_ended(ch: &mut Channel<TcpStream>) -> String {
        loop {
            match ch.recv("test") {
                Ok((Frame::Working, _)) => continue,
                Ok((kind, _)) => panic!("the other side sent {kind:?}"),
                Err(e) => break e.to_string(),
            }
        }
    }

    /// Network protocol 2 sends message 2 as a preview (its points) and then the rest. A
    /// responder whose rest belongs to other points than the preview's (one point changed in
    /// the preview; a rest from another run) is refused when message 2 is decoded: the
    /// checksum covers the points the initiator put back. No message 3 leaves.
    #[test]
    fn a_message_2_unlike_its_preview_is_refused() {
        for lie in 0..2 {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = failing_initiator(listener.local_addr().unwrap(), false);
            let b = party(40);
            let (mut ch, m1, prepared, mut preview) = responder_at_preview(&listener, &b);
            let (_, m2) = b.respond_prepared(prepared, &m1).unwrap();
            let rest = if lie == 0 {
                let second = preview.points[32..64].to_vec();
                preview.points[..32].copy_from_slice(&second);
                m2
            } else {
                b.respond(&m1).unwrap().1
            };
            ch.send_message(&preview).unwrap();
            ch.send_rest(&rest).unwrap();
            // The initiator stops; whatever it sends now is not message 3.
            until_ended(&mut ch);
            let (err, _) = client.join().unwrap();
            assert!(
                err.contains("message 2 (after its preview)") && err.contains("checksum"),
                "lie {lie}: {err}"
            );
        }
    }

    /// A partner whose preview of message 2 holds a value that is not a group element, and
    /// which then only says "still computing", is refused at its next frame after the
    /// blinding of the preview fails, with that reason: not after the step limit, nor when
    /// the partner gives up. The partner hears the reason; nothing else leaves.
    #[test]
    fn a_bad_preview_is_refused_without_waiting_for_the_rest() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = failing_initiator(listener.local_addr().unwrap(), false);
        let b = party(40);
        let (mut ch, _, _, mut preview) = responder_at_preview(&listener, &b);
        preview.points[32..64].fill(0xFF);
        ch.send_message(&preview).unwrap();
        // "Still computing" for 1.5 s, then read what the initiator said.
        for _ in 0..15 {
            ch.send(Frame::Working, &[]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let heard = until_ended(&mut ch);
        drop(ch);
        let (err, took) = client.join().unwrap();
        assert_bad_preview_refused(&err, took, &heard);
    }

    /// A partner whose preview of message 2 does not decode and which then falls silent
    /// (no frame, the connection left open) is refused at once when the transport can stop
    /// a read (`run_session_with`, as `acctmap serve`/`connect` run it): not when the read
    /// times out (120 s by default; on a stream without a timeout, never). The partner
    /// still hears the reason.
    #[test]
    fn a_bad_preview_then_silence_is_refused_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = failing_initiator(listener.local_addr().unwrap(), true);
        let b = party(40);
        let (mut ch, _, _, mut preview) = responder_at_preview(&listener, &b);
        preview.points[32..64].fill(0xFF);
        ch.send_message(&preview).unwrap();
        // Silent from here on: only read what the initiator says, for at most 20 s (without
        // the stop, the initiator would wait for this side until then).
        ch.stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let heard = until_ended(&mut ch);
        drop(ch);
        let (err, took) = client.join().unwrap();
        assert_bad_preview_refused(&err, took, &heard);
    }

    /// After this side ends a session with its reason, a partner that answers with "still
    /// computing" frames for ever is read for the drain time only.
    #[test]
    fn an_abort_stops_reading_a_partner_that_keeps_talking() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let talker = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut ch = pair(s, NetRole::Responder, "AAAA-BBBB-CCCC").unwrap();
            for _ in 0..200 {
                if ch.send(Frame::Working, &[]).is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        let mut ch = pair(TcpStream::connect(addr).unwrap(), NetRole::Initiator, "AAAA-BBBB-CCCC").unwrap();
        ch.drain_for = std::time::Duration::from_millis(800);
        let t = std::time::Instant::now();
        let e = ch.abort("your message was wrong");
        let took = t.elapsed();
        drop(ch);
        talker.join().unwrap();
        assert!(e.to_string().contains("your message was wrong"), "{e}");
        assert!(took < std::time::Duration::from_secs(3), "drained for {took:?}");
    }

    /// A paired partner that says "still computing" for ever (or trickles its message) is
    /// stopped once one message has taken longer than the step limit, with a reason.
    #[test]
    fn a_partner_computing_for_ever_is_stopped() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let waiting = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut ch = pair(s, NetRole::Responder, "AAAA-BBBB-CCCC").unwrap();
            ch.step_limit = std::time::Duration::from_millis(1200);
            let t = std::time::Instant::now();
            let e = ch.recv_message(1 << 20, 100, "waiting for message 1").unwrap_err();
            (e.to_string(), t.elapsed())
        });
        let mut ch = pair(TcpStream::connect(addr).unwrap(), NetRole::Initiator, "AAAA-BBBB-CCCC").unwrap();
        // "Still computing" for 1.6 s, past the 1.2 s limit; then read what the other side said.
        for _ in 0..16 {
            ch.send(Frame::Working, &[]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let heard = ch.recv("test").map(|_| ()).unwrap_err().to_string();
        drop(ch); // the other side drains until we close
        assert!(
            heard.contains("the partner ended the session: the partner took more than 1 s"),
            "{heard}"
        );
        let (e, waited) = waiting.join().unwrap();
        assert!(
            e.contains("took more than 1 s over one message (waiting for message 1)"),
            "{e}"
        );
        assert!(waited < std::time::Duration::from_millis(4000), "{waited:?}");
    }

    /// Two sides with other `--keys` would decide pairs differently (the rule reads which
    /// key types matched) and one would refuse the other's records after all the work: the
    /// declarations say which keys each uses, and a difference ends the session at once.
    #[test]
    fn other_key_types_are_refused_before_data() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            run_session(s, NetRole::Responder, &party(20), "AAAA-BBBB-CCCC", |_| true, |_| {})
                .map(|_| ())
                .unwrap_err()
                .to_string()
        });
        let mut csv = String::from("Name,Website\n");
        for i in 0..20 {
            csv.push_str(&format!("Company {i},company{i}.com\n"));
        }
        let d = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
        let keys = KeyConfig::new().with_types("domain,name_country").unwrap();
        let other = Party::new(PreparedList::build(d, &keys), SharingPolicy::default()).unwrap();
        assert_eq!(other.list().config.slots, 2);
        let s = TcpStream::connect(addr).unwrap();
        let e = run_session(s, NetRole::Initiator, &other, "AAAA-BBBB-CCCC", |_| true, |_| {})
            .map(|_| ())
            .unwrap_err()
            .to_string();
        let want = "the keys (DOMAIN, NAME), this side on (DOMAIN, NAME_COUNTRY); both must use the same --keys";
        assert!(e.contains(want), "{e}");
        assert!(server.join().unwrap().contains("both must use the same --keys"));
    }

    /// A partner that pairs, proceeds, sends part of message 1 and disconnects.
    #[test]
    fn partner_dropping_mid_stream_is_reported() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
            let b = party(40);
            run_session(s, NetRole::Responder, &b, "AAAA-BBBB-CCCC", |_| true, |_| {})
                .map(|_| ())
                .unwrap_err()
                .to_string()
        });
        let a = party(40);
        let mut ch = proceeded_initiator(addr, &a);
        let (_, m1) = a.start().unwrap();
        let bytes = m1.encode();
        ch.send(Frame::Chunk, &bytes[..bytes.len() / 2]).unwrap();
        drop(ch);
        let err = server.join().unwrap();
        assert!(
            err.contains("the partner disconnected while waiting for message 1"),
            "{err}"
        );
    }

    #[test]
    fn codes() {
        let c = new_code();
        assert_eq!(c.len(), 14);
        assert_eq!(normalize_code(&c.to_lowercase()).unwrap(), c.replace('-', ""));
        assert!(normalize_code("123").is_err());
    }
}

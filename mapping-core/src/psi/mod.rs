//! PSI: the private set intersection of two parties' match keys, on ristretto255.
//!
//! The protocol is the commutative (Diffie-Hellman) PSI: with secret keys `a` and `b`,
//! `a·(b·H(t)) = b·(a·H(t))`, and without `a` or `b` nothing links `a·H(t)` to `t`.
//!
//! ```text
//! I (initiator, key a)                              R (responder, key b)
//! msg 1: a·H(t) for every I slot   ------------->
//!                                  <-------------   msg 2: b·a·H(t) in I's order (truncated)
//!                                                          b·H(u) for every R slot
//! msg 3: a·b·H(u) in R's order     ------------->
//! ```
//!
//! Every account is exactly K slots (missing keys are random points), accounts are shuffled
//! and grouped by population, and in counts-only mode the returned values are shuffled
//! within population groups, so each side learns only population × population counts.
//! `docs/protocol.md` states what each side learns and the trust model.
//!
//! - [`group`](self::hash_key): hashing to the group, the session key, batched compression;
//! - [`Message`]: the wire format and its decoder;
//! - [`generate_proof`] / [`verify_proof`]: the batched DLEQ proofs of RFC 9497 that each side
//!   blinded with the key it committed to;
//! - [`Initiator`] / [`Responder`]: the two state machines.

mod blinding;
mod cache;
mod group;
mod messages;
mod proof;
mod session;
mod state;

pub use group::{
    curve_backend, expand_message_xmd_sha512, hash_key, hash_to_ristretto255, measure_primitive_rates, PrimitiveRates,
    SessionKey, HASH_DST,
};
pub(crate) use messages::hex;
pub use messages::{unhex, Message, MessageType, Mode, MAGIC, VERSION};
pub use proof::{
    generate_proof, hash_to_scalar, hash_to_scalar_dst, protocol_context, rfc9497_voprf_context, verify_proof,
    PROOF_BATCH, PROOF_BYTES,
};
pub(crate) use session::check_message;
pub use session::{
    Ahead, Initiator, PartyInput, Prepared, Progress, PsiConfig, PsiMatch, PsiResult, Responder, Timings,
};

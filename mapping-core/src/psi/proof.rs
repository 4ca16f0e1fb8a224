//! Proofs that a party blinded the partner's points with the key it committed to.
//!
//! ## Why
//!
//! In the DH PSI each side multiplies the partner's points by its secret key and sends them
//! back. A partner who does not follow the protocol can send anything in their place: copies
//! of one value (so every account "matches"), the identity, values from another session. So
//! every value a party computes on the partner's points comes with a proof, and a party acts
//! only on values it computed itself or verified.
//!
//! ## What
//!
//! Each side commits to its key in its first message (`A = a·G`) and proves, for a batch of
//! inputs `C[i]` and outputs `D[i]`, that `D[i] = a·C[i]` for every `i`, with the batched
//! DLEQ proof of RFC 9497 section 2.2: a random linear combination of the batch (weights
//! `d_i` hashed from the batch itself), then one Chaum–Pedersen proof that
//! `log_G(A) = log_M(Z)` for the composites `M = Σ d_i·C[i]`, `Z = Σ d_i·D[i]`, made
//! non-interactive by Fiat–Shamir. The code here is the RFC's, parameterised by its
//! `contextString`: the RFC's own for its test vectors (tests/crypto_vectors.rs reproduces
//! them byte for byte), and for the protocol one that binds the session, the message and the
//! chunk ([`protocol_context`]). The composites are variable-time multiscalar
//! multiplications: every point and weight in them is public.
//!
//! A proof is `c || s`, two 32-byte little-endian scalars.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

use super::group::expand_message_xmd_sha512;

/// Bytes of one encoded proof (`c || s`).
pub const PROOF_BYTES: usize = 64;

/// Elements covered by one proof: RFC 9497 numbers the elements of a batch with two bytes,
/// and a chunk of this size keeps the composites in cache and the work parallel.
pub const PROOF_BATCH: usize = 4096;

/// The `contextString` of RFC 9497 for VOPRF(ristretto255, SHA-512), mode 0x01.
pub fn rfc9497_voprf_context() -> Vec<u8> {
    let mut c = b"OPRFV1-".to_vec();
    c.push(1);
    c.extend_from_slice(b"-ristretto255-SHA512");
    c
}

/// The `contextString` the protocol proves under: versioned, and bound to the session, the
/// protocol step and the chunk, so a proof cannot be carried to another place.
pub fn protocol_context(session: &[u8; 16], step: u8, chunk: u64) -> Vec<u8> {
    let mut c = b"acctmap-v5-DLEQ-ristretto255-SHA512-".to_vec();
    c.extend_from_slice(session);
    c.push(step);
    c.extend_from_slice(&chunk.to_be_bytes());
    c
}

/// `HashToScalar` of RFC 9497 for ristretto255-SHA512: 64 bytes of `expand_message_xmd`
/// with DST `"HashToScalar-" || contextString`, reduced modulo the group order.
pub fn hash_to_scalar(msg: &[u8], context: &[u8]) -> Scalar {
    let mut dst = b"HashToScalar-".to_vec();
    dst.extend_from_slice(context);
    hash_to_scalar_dst(msg, &dst)
}

/// `HashToScalar` with an explicit DST (RFC 9497's `DeriveKeyPair` uses another one).
pub fn hash_to_scalar_dst(msg: &[u8], dst: &[u8]) -> Scalar {
    let mut wide = [0u8; 64];
    // 64 output bytes and a DST well under 255 bytes are always in range.
    if let Ok(bytes) = expand_message_xmd_sha512(msg, dst, 64) {
        wide.copy_from_slice(&bytes);
    }
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn put(h: &mut Vec<u8>, bytes: &[u8]) {
    h.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    h.extend_from_slice(bytes);
}

/// The per-batch weights' seed: `Hash(len(Bm) || Bm || len(seedDST) || seedDST)`.
fn seed(b: &[u8; 32], context: &[u8]) -> [u8; 64] {
    let mut seed_dst = b"Seed-".to_vec();
    seed_dst.extend_from_slice(context);
    let mut h1 = Vec::with_capacity(2 + 32 + 2 + seed_dst.len());
    put(&mut h1, b);
    put(&mut h1, &seed_dst);
    Sha512::digest(&h1).into()
}

/// The weights `d_i` of RFC 9497's `ComputeComposites` for a batch given by the encodings
/// of its inputs and outputs (32 bytes each, concatenated). `B` is the prover's commitment.
pub fn composite_weights(b: &[u8; 32], c: &[u8], d: &[u8], context: &[u8]) -> Vec<Scalar> {
    let seed = seed(b, context);
    let mut dst = b"HashToScalar-".to_vec();
    dst.extend_from_slice(context);
    let mut h2 = Vec::with_capacity(2 + 64 + 2 + 2 + 32 + 2 + 32 + 9);
    c.chunks_exact(32)
        .zip(d.chunks_exact(32))
        .enumerate()
        .map(|(i, (ci, di))| {
            h2.clear();
            put(&mut h2, &seed);
            h2.extend_from_slice(&(i as u16).to_be_bytes());
            put(&mut h2, ci);
            put(&mut h2, di);
            h2.extend_from_slice(b"Composite");
            hash_to_scalar_dst(&h2, &dst)
        })
        .collect()
}

/// `Σ w_i·P_i`, variable time (public points and weights only).
pub fn combine_vartime(weights: &[Scalar], points: &[RistrettoPoint]) -> RistrettoPoint {
    if points.is_empty() {
        return RistrettoPoint::identity();
    }
    RistrettoPoint::vartime_multiscalar_mul(weights, points)
}

fn challenge(
    b: &[u8; 32],
    m: &RistrettoPoint,
    z: &RistrettoPoint,
    t2: &RistrettoPoint,
    t3: &RistrettoPoint,
    context: &[u8],
) -> Scalar {
    let mut t = Vec::with_capacity(5 * 34 + 9);
    put(&mut t, b);
    for p in [m, z, t2, t3] {
        put(&mut t, p.compress().as_bytes());
    }
    t.extend_from_slice(b"Challenge");
    hash_to_scalar(&t, context)
}

/// `GenerateProof` of RFC 9497 with `A = G`, given the composite `M` (the prover's side of
/// `ComputeCompositesFast`: `Z = k·M`) and the proof's random scalar `r`.
pub fn prove_composite(k: &Scalar, b: &[u8; 32], m: &RistrettoPoint, r: &Scalar, context: &[u8]) -> [u8; PROOF_BYTES] {
    let z = k * m;
    let t2 = r * RISTRETTO_BASEPOINT_POINT;
    let t3 = r * m;
    let c = challenge(b, m, &z, &t2, &t3, context);
    let s = r - c * k;
    let mut out = [0u8; PROOF_BYTES];
    out[..32].copy_from_slice(c.as_bytes());
    out[32..].copy_from_slice(s.as_bytes());
    out
}

/// [`prove_composite`] with a fresh random `r` from the OS.
pub fn prove_composite_random(k: &Scalar, b: &[u8; 32], m: &RistrettoPoint, context: &[u8]) -> [u8; PROOF_BYTES] {
    let mut r = super::group::random_scalar();
    let proof = prove_composite(k, b, m, &r, context);
    zeroize::Zeroize::zeroize(&mut r);
    proof
}

/// `VerifyProof` of RFC 9497 with `A = G`, given the composites `M` and `Z`. A
/// non-canonical scalar in the proof fails.
pub fn verify_composite(
    b: &RistrettoPoint,
    b_bytes: &[u8; 32],
    m: &RistrettoPoint,
    z: &RistrettoPoint,
    proof: &[u8; PROOF_BYTES],
    context: &[u8],
) -> bool {
    let scalar = |bytes: &[u8]| -> Option<Scalar> {
        let mut a = [0u8; 32];
        a.copy_from_slice(bytes);
        Scalar::from_canonical_bytes(a).into()
    };
    let (Some(c), Some(s)) = (scalar(&proof[..32]), scalar(&proof[32..])) else {
        return false;
    };
    let t2 = RistrettoPoint::vartime_double_scalar_mul_basepoint(&c, b, &s);
    let t3 = RistrettoPoint::vartime_multiscalar_mul([s, c], [*m, *z]);
    challenge(b_bytes, m, z, &t2, &t3, context) == c
}

fn encode_all(points: &[RistrettoPoint]) -> Vec<u8> {
    points.iter().flat_map(|p| p.compress().to_bytes()).collect()
}

/// The RFC's `GenerateProof` over a whole batch (used by the vector tests and for small
/// batches): composites from the encodings, then `prove_composite`.
pub fn generate_proof(
    k: &Scalar,
    c: &[RistrettoPoint],
    d: &[RistrettoPoint],
    r: &Scalar,
    context: &[u8],
) -> [u8; PROOF_BYTES] {
    let b = (k * RISTRETTO_BASEPOINT_POINT).compress().to_bytes();
    let (ce, de) = (encode_all(c), encode_all(d));
    let w = composite_weights(&b, &ce, &de, context);
    prove_composite(k, &b, &combine_vartime(&w, c), r, context)
}

/// The RFC's `VerifyProof` over a whole batch.
pub fn verify_proof(
    b: &RistrettoPoint,
    c: &[RistrettoPoint],
    d: &[RistrettoPoint],
    proof: &[u8; PROOF_BYTES],
    context: &[u8],
) -> bool {
    if c.len() != d.len() || c.len() > usize::from(u16::MAX) {
        return false;
    }
    let b_bytes = b.compress().to_bytes();
    let (ce, de) = (encode_all(c), encode_all(d));
    let w = composite_weights(&b_bytes, &ce, &de, context);
    verify_composite(
        b,
        &b_bytes,
        &combine_vartime(&w, c),
        &combine_vartime(&w, d),
        proof,
        context,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psi::hash_key;

    fn batch(k: &Scalar, n: u32) -> (Vec<RistrettoPoint>, Vec<RistrettoPoint>) {
        let c: Vec<RistrettoPoint> = (0..n).map(|i| hash_key(&i.to_le_bytes())).collect();
        let d = c.iter().map(|p| k * p).collect();
        (c, d)
    }

    #[test]
    fn honest_batches_verify_and_any_change_fails() {
        let k = crate::psi::group::random_scalar();
        let b = k * RISTRETTO_BASEPOINT_POINT;
        let ctx = protocol_context(&[3; 16], 2, 0);
        let (c, d) = batch(&k, 20);
        let r = crate::psi::group::random_scalar();
        let proof = generate_proof(&k, &c, &d, &r, &ctx);
        assert!(verify_proof(&b, &c, &d, &proof, &ctx));
        // Another context (session, step or chunk) refuses the same proof.
        assert!(!verify_proof(&b, &c, &d, &proof, &protocol_context(&[3; 16], 2, 1)));
        assert!(!verify_proof(&b, &c, &d, &proof, &protocol_context(&[3; 16], 3, 0)));
        // A copied value, the identity, or another key's value.
        for lie in 0..3 {
            let mut bad = d.clone();
            bad[7] = match lie {
                0 => d[0],
                1 => RistrettoPoint::identity(),
                _ => Scalar::from(5u8) * c[7],
            };
            assert!(!verify_proof(&b, &c, &bad, &proof, &ctx), "lie {lie}");
        }
        // A proof made with another key, for another commitment.
        let other = crate::psi::group::random_scalar();
        let (_, d2) = batch(&other, 20);
        let p2 = generate_proof(&other, &c, &d2, &r, &ctx);
        assert!(!verify_proof(&b, &c, &d2, &p2, &ctx));
        // Flipped bits anywhere in the proof.
        for bit in [0, 77, 255, 256, 300, 511] {
            let mut p = proof;
            p[bit / 8] ^= 1 << (bit % 8);
            assert!(!verify_proof(&b, &c, &d, &p, &ctx), "bit {bit}");
        }
    }
}

//! The group: ristretto255 from curve25519-dalek, hashing into it, and the session key.
//!
//! ## Hashing keys to the group
//!
//! `H(key) = hash_to_ristretto255(key_bytes, DST)` of RFC 9380 (Appendix B): 64 uniform
//! bytes from `expand_message_xmd` with SHA-512, then the RFC 9496 one-way map
//! (`RistrettoPoint::from_uniform_bytes`). The DST is the project's own and versioned
//! ([`HASH_DST`]), so our points never collide with another protocol's, and a change of key
//! format changes the tag. The key type is the first byte of the key bytes
//! ([`crate::MatchKey::to_bytes`]). `expand_message_xmd` is composed from SHA-512 here; the
//! RFC's test vectors check it (tests/crypto_vectors.rs).
//!
//! ## Blinding
//!
//! A party's secret is one scalar per session ([`SessionKey`]), drawn from the OS RNG,
//! zeroized on drop, printed as `SessionKey(..)`. Blinding multiplies by it in constant
//! time. Compression of a blinded point uses dalek's `double_and_compress_batch` on the point
//! multiplied by `k/2`: the same bytes as `compress(k·P)` for a fraction of the cost (one
//! shared inversion per batch instead of one per point).

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha512};
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// Domain-separation tag of the key hash, versioned with the protocol.
pub const HASH_DST: &[u8] = b"acctmap-v1-PSI-ristretto255_XMD:SHA-512_R255MAP_RO_";

/// Points per compression batch: large enough to amortise the shared inversion, small enough
/// to stay in cache.
pub(crate) const BATCH: usize = 256;

/// RFC 9380 §5.3.1 `expand_message_xmd` with SHA-512.
///
/// ```
/// let out = mapping_core::psi::expand_message_xmd_sha512(b"abc", b"QUUX-V01-CS02-with-expander-SHA512-256", 32).unwrap();
/// assert_eq!(out[..4], [0x0d, 0xa7, 0x49, 0xf1]);
/// ```
pub fn expand_message_xmd_sha512(msg: &[u8], dst: &[u8], len: usize) -> Result<Vec<u8>> {
    const B_IN_BYTES: usize = 64;
    const S_IN_BYTES: usize = 128;
    let ell = len.div_ceil(B_IN_BYTES);
    if ell == 0 || ell > 255 || len > 65535 {
        return Err(Error::config(format!("expand_message_xmd: length {len} out of range")));
    }
    if dst.len() > 255 {
        return Err(Error::config("expand_message_xmd: DST longer than 255 bytes"));
    }
    let dst_len = [dst.len() as u8];
    // `Z_pad` is one whole SHA-512 block: its state is computed once and cloned.
    static AFTER_Z_PAD: std::sync::LazyLock<Sha512> = std::sync::LazyLock::new(|| {
        let mut h = Sha512::new();
        h.update([0u8; S_IN_BYTES]);
        h
    });
    let mut h = AFTER_Z_PAD.clone();
    h.update(msg);
    h.update((len as u16).to_be_bytes());
    h.update([0u8]);
    h.update(dst);
    h.update(dst_len);
    let b0 = h.finalize();
    let mut out = Vec::with_capacity(ell * B_IN_BYTES);
    let mut prev = [0u8; B_IN_BYTES];
    for i in 1..=ell {
        let mut h = Sha512::new();
        let mut x = [0u8; B_IN_BYTES];
        for (j, byte) in x.iter_mut().enumerate() {
            *byte = b0[j] ^ prev[j];
        }
        h.update(if i == 1 { &b0[..] } else { &x[..] });
        h.update([i as u8]);
        h.update(dst);
        h.update(dst_len);
        prev.copy_from_slice(&h.finalize());
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    Ok(out)
}

/// `hash_to_ristretto255(msg, dst)` of RFC 9380 Appendix B.
///
/// ```
/// use mapping_core::psi::{hash_to_ristretto255, HASH_DST};
/// let a = hash_to_ristretto255(b"\x01acme.com", HASH_DST);
/// assert_eq!(a, hash_to_ristretto255(b"\x01acme.com", HASH_DST));
/// assert_ne!(a, hash_to_ristretto255(b"\x04acme.com", HASH_DST));
/// ```
pub fn hash_to_ristretto255(msg: &[u8], dst: &[u8]) -> RistrettoPoint {
    let mut uniform = [0u8; 64];
    // 64 bytes and a DST of at most 255 bytes are always in range.
    if let Ok(bytes) = expand_message_xmd_sha512(msg, dst, 64) {
        uniform.copy_from_slice(&bytes);
    }
    RistrettoPoint::from_uniform_bytes(&uniform)
}

/// Hashes a match key's bytes with the protocol's DST: the `H` of the protocol.
pub fn hash_key(key_bytes: &[u8]) -> RistrettoPoint {
    hash_to_ristretto255(key_bytes, HASH_DST)
}

/// A uniformly random group element, for padding slots. It is indistinguishable from a
/// blinded key, so it is sent without a multiplication.
pub(crate) fn random_point() -> RistrettoPoint {
    let mut bytes = [0u8; 64];
    OsRng.fill_bytes(&mut bytes);
    let p = RistrettoPoint::from_uniform_bytes(&bytes);
    bytes.zeroize();
    p
}

/// A uniformly random scalar: 64 bytes from the OS RNG reduced modulo the group order (bias
/// below 2^-250), as RFC 9497's `RandomScalar` allows.
pub(crate) fn random_scalar() -> Scalar {
    let mut bytes = [0u8; 64];
    OsRng.fill_bytes(&mut bytes);
    let s = Scalar::from_bytes_mod_order_wide(&bytes);
    bytes.zeroize();
    s
}

/// The curve25519-dalek backend this build runs on this CPU: `avx512ifma` (curve25519-dalek
/// 5 built for AVX-512, the default with Rust 1.89 or later, on a CPU with AVX-512 IFMA and
/// VL), `avx2`, or `serial`. Mirrors curve25519-dalek's own run-time choice, which it does not
/// expose; `--cfg curve25519_dalek_backend="simd"` forces AVX2.
pub fn curve_backend() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        let forced = cfg!(any(
            curve25519_dalek_backend = "serial",
            curve25519_dalek_backend = "fiat"
        ));
        let simd_only = cfg!(curve25519_dalek_backend = "simd") && !cfg!(curve25519_dalek_backend = "avx512");
        if !forced && !simd_only && is_x86_feature_detected!("avx512ifma") && is_x86_feature_detected!("avx512vl") {
            return "avx512ifma";
        }
        if !forced && is_x86_feature_detected!("avx2") {
            return "avx2";
        }
    }
    "serial"
}

/// A party's secret scalar for one session. Never serialized except into the owner-only
/// state file of a file exchange; zeroized on drop; `Debug` does not print it.
pub struct SessionKey {
    k: Scalar,
    half: Scalar,
}

impl SessionKey {
    /// A fresh key from the operating system's RNG.
    pub fn random() -> Self {
        Self::from_scalar(random_scalar())
    }

    fn from_scalar(k: Scalar) -> Self {
        let half = k * Scalar::from(2u8).invert();
        Self { k, half }
    }

    /// The key's canonical bytes, for the session state file only.
    pub(crate) fn to_bytes(&self) -> [u8; 32] {
        self.k.to_bytes()
    }

    /// Restores a key from the state file; `None` for a non-canonical or zero scalar.
    pub(crate) fn from_bytes(mut bytes: [u8; 32]) -> Option<Self> {
        let k: Option<Scalar> = Scalar::from_canonical_bytes(bytes).into();
        bytes.zeroize();
        k.filter(|k| *k != Scalar::ZERO).map(Self::from_scalar)
    }

    /// The commitment `k·G` sent in this side's first message: the partner checks every
    /// value this side computes on its points against it.
    pub(crate) fn commitment(&self) -> [u8; 32] {
        (&self.k * curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE)
            .compress()
            .to_bytes()
    }

    /// A batched DLEQ proof (RFC 9497) that `k·C[i]` are the outputs, given the composite `M`
    /// of the inputs; see [`super::proof`].
    pub(crate) fn prove(&self, commitment: &[u8; 32], m: &RistrettoPoint, context: &[u8]) -> [u8; 64] {
        super::proof::prove_composite_random(&self.k, commitment, m, context)
    }

    /// `(k/2)·P`: doubling it during batched compression gives the bytes of `k·P`.
    pub(crate) fn half_mul(&self, point: &RistrettoPoint) -> RistrettoPoint {
        self.half * point
    }
}

impl Drop for SessionKey {
    fn drop(&mut self) {
        self.k.zeroize();
        self.half.zeroize();
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

/// Decodes a peer's compressed point, refusing non-canonical and invalid encodings and the
/// identity (`k·0 = 0` for every key: an identity point would match whatever it meets).
pub(crate) fn decompress(bytes: &[u8; 32]) -> Option<RistrettoPoint> {
    if bytes == &[0u8; 32] {
        return None;
    }
    CompressedRistretto(*bytes).decompress()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_compression_equals_plain() {
        let key = SessionKey::random();
        let points: Vec<RistrettoPoint> = (0..300u32).map(|i| hash_key(&i.to_le_bytes())).collect();
        let halves: Vec<RistrettoPoint> = points.iter().map(|p| key.half_mul(p)).collect();
        let out = RistrettoPoint::double_and_compress_batch(&halves);
        for (p, o) in points.iter().zip(&out) {
            assert_eq!((key.k * p).compress(), *o);
        }
    }

    #[test]
    fn blinding_commutes() {
        let (a, b) = (SessionKey::random(), SessionKey::random());
        let h = hash_key(b"\x01acme.com");
        assert_eq!((a.k * (b.k * h)).compress(), (b.k * (a.k * h)).compress());
    }

    #[test]
    fn key_bytes_round_trip_and_debug_hides() {
        let a = SessionKey::random();
        let b = SessionKey::from_bytes(a.to_bytes()).unwrap();
        assert_eq!(a.k, b.k);
        assert_eq!(format!("{a:?}"), "SessionKey(..)");
        assert!(SessionKey::from_bytes([0u8; 32]).is_none());
        assert!(SessionKey::from_bytes([0xff; 32]).is_none());
    }
}

/// Throughput of the curve primitives on the current rayon pool, in elements per second:
/// the raw limit that protocol throughput is compared against.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PrimitiveRates {
    /// hash_to_ristretto255 of a short key.
    pub hash_to_group: f64,
    /// Constant-time scalar multiplication of a point.
    pub scalar_mul: f64,
    /// Decompression (decoding) of a point.
    pub decompress: f64,
    /// Compression with `double_and_compress_batch` (batches of 256).
    pub compress_batched: f64,
    /// Plain one-at-a-time compression (for comparison).
    pub compress_single: f64,
    /// A random padding point (64 random bytes through the one-way map).
    pub random_point: f64,
}

impl PrimitiveRates {
    /// Seconds the primitives need for one keyed own slot (hash, multiply, compress).
    pub fn own_slot_seconds(&self) -> f64 {
        1.0 / self.hash_to_group + 1.0 / self.scalar_mul + 1.0 / self.compress_batched
    }

    /// Seconds for one padding slot (random point, compress).
    pub fn padding_slot_seconds(&self) -> f64 {
        1.0 / self.random_point + 1.0 / self.compress_batched
    }

    /// The higher rate of each primitive from two measurements (the limit is the best seen).
    pub fn best(self, other: PrimitiveRates) -> PrimitiveRates {
        PrimitiveRates {
            hash_to_group: self.hash_to_group.max(other.hash_to_group),
            scalar_mul: self.scalar_mul.max(other.scalar_mul),
            decompress: self.decompress.max(other.decompress),
            compress_batched: self.compress_batched.max(other.compress_batched),
            compress_single: self.compress_single.max(other.compress_single),
            random_point: self.random_point.max(other.random_point),
        }
    }

    /// Seconds for one partner slot (decompress, multiply, compress).
    pub fn peer_slot_seconds(&self) -> f64 {
        1.0 / self.decompress + 1.0 / self.scalar_mul + 1.0 / self.compress_batched
    }
}

/// Measures [`PrimitiveRates`] over `samples` elements per primitive, in parallel on the
/// current rayon pool (call inside `pool.install` to choose the threads).
pub fn measure_primitive_rates(samples: usize) -> PrimitiveRates {
    use rayon::prelude::*;
    use std::time::Instant;
    let samples = samples.max(BATCH);
    let keys: Vec<[u8; 12]> = (0..samples as u64)
        .map(|i| {
            let mut k = [0u8; 12];
            k[0] = 1;
            k[1..9].copy_from_slice(&i.to_le_bytes());
            k
        })
        .collect();
    let rate = |n: usize, t: Instant| n as f64 / t.elapsed().as_secs_f64().max(1e-9);
    let t = Instant::now();
    let points: Vec<RistrettoPoint> = keys.par_iter().map(|k| hash_key(k)).collect();
    let hash_to_group = rate(samples, t);
    let key = SessionKey::random();
    let t = Instant::now();
    let blinded: Vec<RistrettoPoint> = points.par_iter().map(|p| key.half_mul(p)).collect();
    let scalar_mul = rate(samples, t);
    let t = Instant::now();
    let compressed: Vec<CompressedRistretto> = blinded
        .par_chunks(BATCH)
        .flat_map_iter(RistrettoPoint::double_and_compress_batch)
        .collect();
    let compress_batched = rate(samples, t);
    let t = Instant::now();
    let single: Vec<CompressedRistretto> = blinded.par_iter().map(RistrettoPoint::compress).collect();
    let compress_single = rate(samples, t);
    let t = Instant::now();
    let decoded = compressed
        .par_iter()
        .filter_map(CompressedRistretto::decompress)
        .count();
    let decompress = rate(samples, t);
    let t = Instant::now();
    let pads = (0..samples).into_par_iter().map(|_| random_point()).count();
    let random_point_rate = rate(samples, t);
    debug_assert_eq!((decoded, pads, single.len()), (samples, samples, samples));
    PrimitiveRates {
        hash_to_group,
        scalar_mul,
        decompress,
        compress_batched,
        compress_single,
        random_point: random_point_rate,
    }
}

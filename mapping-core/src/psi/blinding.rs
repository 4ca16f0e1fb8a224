//! Blinding the partner's points with proofs, and checking the partner's proofs on ours.
//!
//! A party multiplies every point the partner sent by its key and returns the results with
//! batched DLEQ proofs ([`super::proof`]) against the commitment of its first message. The
//! partner acts on returned values only once every proof holds. Where the proofs fall:
//!
//! - matches mode: values return in the owner's order, one proof per [`PROOF_BATCH`]
//!   consecutive values, weighted as RFC 9497 `ComputeComposites` does;
//! - counts-only mode: values return shuffled within the owner's population groups (so that
//!   the owner cannot tell which of its accounts matched). The owner does not know which
//!   output belongs to which input, so one proof per group covers the group's plain sums
//!   `Σ C` and `Σ D`. That proves the prover used its committed key on the group as a whole
//!   (no identity, no other key, no values from elsewhere), but not value by value: a prover
//!   can still move values within a group so that errors cancel. Counts-only mode releases
//!   no records and no pairs, so such a lie can only falsify the counts the liar's partner
//!   sees, which the liar can also do by choosing its input.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use rayon::prelude::*;

use super::group::{decompress, SessionKey, BATCH};
use super::messages::{Mode, VALUE_BYTES};
use super::proof::{combine_vartime, composite_weights, protocol_context, verify_composite, PROOF_BATCH, PROOF_BYTES};
use super::session::Progress;
use crate::error::{Error, Result};

/// How the returned values of one message are grouped under proofs, and the message they
/// belong to (session and step, bound into every proof's context).
pub(super) struct Layout {
    /// Slot ranges of the values, one per proof.
    ranges: Vec<Range<usize>>,
    /// Weighted composites (matches mode) or plain sums (counts-only mode).
    weighted: bool,
    session: [u8; 16],
    step: u8,
}

impl Layout {
    /// The layout for the values returned in step `step` of `session` to a side with
    /// `populations` (in message order, `k` slots per account), in `mode`.
    pub(super) fn new(mode: Mode, populations: &[(String, u64)], k: usize, session: &[u8; 16], step: u8) -> Layout {
        let slots: usize = populations.iter().map(|(_, n)| *n as usize * k).sum();
        let (session, ranges, weighted) = match mode {
            Mode::Matches => (
                *session,
                (0..slots.div_ceil(PROOF_BATCH))
                    .map(|i| i * PROOF_BATCH..((i + 1) * PROOF_BATCH).min(slots))
                    .collect(),
                true,
            ),
            Mode::CountsOnly => {
                let mut at = 0;
                let ranges = populations
                    .iter()
                    .map(|(_, n)| {
                        let r = at..at + *n as usize * k;
                        at = r.end;
                        r
                    })
                    .collect();
                (*session, ranges, false)
            }
        };
        Layout {
            ranges,
            weighted,
            session,
            step,
        }
    }

    fn context(&self, proof: usize) -> Vec<u8> {
        protocol_context(&self.session, self.step, proof as u64)
    }

    /// Number of proofs a message with this layout carries.
    pub(super) fn proofs(&self) -> usize {
        self.ranges.len()
    }

    /// Index of the proof that covers `slot` (ranges are sorted and contiguous).
    fn proof_of(&self, slot: usize) -> usize {
        self.ranges.partition_point(|r| r.end <= slot)
    }
}

/// What the prover hands back: values, proofs, and the time spent on proofs.
pub(super) struct Blinded {
    /// `k·P` for every partner point, 32 bytes each, in the partner's order.
    pub(super) values: Vec<u8>,
    /// One proof per range of the layout, 64 bytes each.
    pub(super) proofs: Vec<u8>,
    /// Seconds spent on the proofs (weights and composites), summed over threads and
    /// divided by the threads.
    pub(super) prove_seconds: f64,
}

/// Per chunk: a partial composite for each proof the chunk touches.
type Partials = Vec<(usize, RistrettoPoint)>;

fn decode(bytes: &[u8], index: usize, what: &str) -> Result<RistrettoPoint> {
    let arr: &[u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::message(what, "point is not 32 bytes"))?;
    decompress(arr).ok_or_else(|| {
        Error::message(
            what,
            format!("value {index} is not a valid ristretto255 encoding (or is the identity)"),
        )
    })
}

/// The partial composites of one chunk (`start` is its first slot): weighted within each
/// proof range, or plain sums.
fn partials(
    layout: &Layout,
    start: usize,
    commitment: &[u8; 32],
    inputs: &[u8],
    outputs: &[u8],
    points: &[&[RistrettoPoint]],
) -> Vec<Partials> {
    let n = inputs.len() / 32;
    let mut out: Vec<Partials> = vec![Vec::new(); points.len()];
    let mut at = 0;
    while at < n {
        let proof = layout.proof_of(start + at);
        let end = (layout.ranges[proof].end - start).min(n);
        let (c, d) = (&inputs[at * 32..end * 32], &outputs[at * 32..end * 32]);
        if layout.weighted {
            // RFC 9497 numbers the weights from 0 in each batch; weighted batches are
            // `PROOF_BATCH` long and so are the chunks, so a chunk starts its batch.
            debug_assert_eq!(start + at, layout.ranges[proof].start);
            let w = composite_weights(commitment, c, d, &layout.context(proof));
            for (o, p) in out.iter_mut().zip(points) {
                o.push((proof, combine_vartime(&w, &p[at..end])));
            }
        } else {
            for (o, p) in out.iter_mut().zip(points) {
                o.push((proof, p[at..end].iter().sum()));
            }
        }
        at = end;
    }
    out
}

fn sum_partials(layout: &Layout, chunks: impl Iterator<Item = Partials>) -> Vec<RistrettoPoint> {
    let mut total = vec![RistrettoPoint::identity(); layout.proofs()];
    for part in chunks {
        for (proof, p) in part {
            total[proof] += p;
        }
    }
    total
}

/// Multiplies every partner point by `key` (decompress, multiply, batched compress) and
/// proves the results under `layout`. `what` names the message for errors.
pub(super) fn blind_and_prove(
    key: &SessionKey,
    points: &[u8],
    layout: &Layout,
    what: &str,
    progress: &Progress,
) -> Result<Blinded> {
    let commitment = key.commitment();
    let n = points.len() / 32;
    let mut values = vec![0u8; n * VALUE_BYTES];
    let prove_nanos = AtomicU64::new(0);
    let parts: Vec<Partials> = values
        .par_chunks_mut(PROOF_BATCH * VALUE_BYTES)
        .zip(points.par_chunks(PROOF_BATCH * 32))
        .enumerate()
        .map(|(chunk, (out, input))| -> Result<Partials> {
            let start = chunk * PROOF_BATCH;
            let decoded: Vec<RistrettoPoint> = input
                .chunks_exact(32)
                .enumerate()
                .map(|(i, p)| decode(p, start + i, what))
                .collect::<Result<_>>()?;
            for (o, c) in out.chunks_mut(BATCH * VALUE_BYTES).zip(decoded.chunks(BATCH)) {
                let halves: Vec<RistrettoPoint> = c.iter().map(|p| key.half_mul(p)).collect();
                compress_doubled(&halves, o, VALUE_BYTES);
            }
            let t = std::time::Instant::now();
            let mut part = partials(layout, start, &commitment, input, out, &[&decoded]);
            prove_nanos.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            progress.add(decoded.len());
            Ok(part.pop().unwrap_or_default())
        })
        .collect::<Result<_>>()?;
    let t = std::time::Instant::now();
    let composites = sum_partials(layout, parts.into_iter());
    let proofs: Vec<u8> = composites
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, m)| key.prove(&commitment, m, &layout.context(i)))
        .collect();
    let threads = rayon::current_num_threads() as f64;
    let prove_seconds = prove_nanos.load(Ordering::Relaxed) as f64 / 1e9 / threads + t.elapsed().as_secs_f64();
    Ok(Blinded {
        values,
        proofs,
        prove_seconds,
    })
}

/// Checks the partner's proofs that `returned[i] = key·own[i]` (matches mode) or that each
/// group's sums agree (counts-only mode) for the key committed as `commitment`. `own` holds
/// this side's points as sent, and `halves`, where this side kept them, half of each as
/// computed (`own[i]` encodes `2·halves[i]`), which spares decompressing them; `what` names
/// the message.
pub(super) fn verify_returned(
    commitment: &[u8; 32],
    own: &[u8],
    halves: Option<&[RistrettoPoint]>,
    returned: &[u8],
    proofs: &[u8],
    layout: &Layout,
    what: &str,
) -> Result<()> {
    if proofs.len() != layout.proofs() * PROOF_BYTES {
        return Err(Error::message(
            what,
            format!(
                "it carries {} proofs for its returned values, the session needs {}",
                proofs.len() / PROOF_BYTES,
                layout.proofs()
            ),
        ));
    }
    if returned.len() != own.len() {
        return Err(Error::message(what, "returned values do not match our slots"));
    }
    // Halves of other points than `own` would check other inputs: never, but cheap to refuse.
    let halves = halves.filter(|h| h.len() * 32 == own.len());
    let b = decompress(commitment)
        .ok_or_else(|| Error::message(what, "the partner's key commitment is not a valid group element"))?;
    let parts: Vec<(Partials, Partials)> = own
        .par_chunks(PROOF_BATCH * 32)
        .zip(returned.par_chunks(PROOF_BATCH * VALUE_BYTES))
        .enumerate()
        .map(|(chunk, (c, d))| -> Result<(Partials, Partials)> {
            let start = chunk * PROOF_BATCH;
            let decode_all = |bytes: &[u8]| -> Result<Vec<RistrettoPoint>> {
                bytes
                    .chunks_exact(32)
                    .enumerate()
                    .map(|(i, p)| decode(p, start + i, what))
                    .collect()
            };
            let decoded;
            let cp: &[RistrettoPoint] = match halves {
                Some(h) => &h[start..start + c.len() / 32],
                None => {
                    decoded = decode_all(c)?;
                    &decoded
                }
            };
            let dp = decode_all(d)?;
            let mut both = partials(layout, start, commitment, c, d, &[cp, &dp]);
            let z = both.pop().unwrap_or_default();
            let mut m = both.pop().unwrap_or_default();
            if halves.is_some() {
                // Σ w·C = 2·Σ w·(C/2).
                m.iter_mut().for_each(|(_, p)| *p = *p + *p);
            }
            Ok((m, z))
        })
        .collect::<Result<_>>()?;
    let (ms, zs): (Vec<Partials>, Vec<Partials>) = parts.into_iter().unzip();
    let m = sum_partials(layout, ms.into_iter());
    let z = sum_partials(layout, zs.into_iter());
    let bad = (0..layout.proofs()).into_par_iter().find_first(|&i| {
        let mut proof = [0u8; PROOF_BYTES];
        proof.copy_from_slice(&proofs[i * PROOF_BYTES..(i + 1) * PROOF_BYTES]);
        !verify_composite(&b, commitment, &m[i], &z[i], &proof, &layout.context(i))
    });
    if let Some(i) = bad {
        let r = &layout.ranges[i];
        return Err(Error::protocol(format!(
            "{what}: proof {i} (values {} to {}) does not hold: the partner did not compute them with the key it committed to; nothing from this message was used",
            r.start,
            r.end.saturating_sub(1)
        )));
    }
    Ok(())
}

/// Compresses `2·P` for each `P` and writes the first `width` bytes of each.
pub(super) fn compress_doubled(halves: &[RistrettoPoint], out: &mut [u8], width: usize) {
    for (o, c) in out
        .chunks_mut(width)
        .zip(RistrettoPoint::double_and_compress_batch(halves))
    {
        o.copy_from_slice(&c.as_bytes()[..width]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psi::hash_key;

    /// Points as a side sends them (`2·h`), and their halves `h`.
    fn points(n: u32) -> (Vec<u8>, Vec<RistrettoPoint>) {
        let halves: Vec<RistrettoPoint> = (0..n).map(|i| hash_key(&i.to_le_bytes())).collect();
        let mut bytes = vec![0u8; halves.len() * 32];
        compress_doubled(&halves, &mut bytes, 32);
        (bytes, halves)
    }

    /// Both layouts, several proof chunks, a chunk that ends mid-message, with and without
    /// the prover's kept halves: honest values verify; a single changed value fails the
    /// proof that covers it.
    #[test]
    fn proofs_cover_every_value_in_both_layouts() {
        let key = SessionKey::random();
        let session = [9u8; 16];
        let n = PROOF_BATCH as u32 * 2 + 100;
        let (own, halves) = points(n);
        let pops = vec![("A".to_string(), 3000u64), ("B".to_string(), u64::from(n) - 3000)];
        for mode in [Mode::Matches, Mode::CountsOnly] {
            let layout = Layout::new(mode, &pops, 1, &session, 2);
            let other_step = Layout::new(mode, &pops, 1, &session, 3);
            assert_eq!(layout.proofs(), if mode == Mode::Matches { 3 } else { 2 });
            let out = blind_and_prove(&key, &own, &layout, "m", &Progress::default()).unwrap();
            let c = key.commitment();
            for kept in [None, Some(&halves[..])] {
                let check =
                    |values: &[u8], layout: &Layout| verify_returned(&c, &own, kept, values, &out.proofs, layout, "m");
                check(&out.values, &layout).unwrap();
                // The same values under another step do not verify.
                assert!(check(&out.values, &other_step).is_err());
                for at in [0usize, 2999, 3000, PROOF_BATCH * 2 + 99] {
                    let mut bad = out.values.clone();
                    bad[at * 32..at * 32 + 32].copy_from_slice(&out.values[(at + 1) % n as usize * 32..][..32]);
                    let e = check(&bad, &layout).unwrap_err();
                    assert!(e.to_string().contains("does not hold"), "{mode:?} value {at}: {e}");
                }
            }
            // Halves that are not the points' own: the check fails rather than pass.
            let mut wrong = halves.clone();
            wrong[5] = halves[6];
            let e = verify_returned(&c, &own, Some(&wrong), &out.values, &out.proofs, &layout, "m").unwrap_err();
            assert!(e.to_string().contains("does not hold"), "{mode:?}: {e}");
        }
    }
}

//! IETF vectors for the group layer, read from `testdata/rfc/` (see its LICENSES.md):
//! expand_message_xmd (RFC 9380 K.3), hash_to_ristretto255 through the RFC 9497 OPRF chain,
//! invalid ristretto255 encodings (RFC 9496 A.2) and element derivation (RFC 9496 A.3).
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

mod common;

use common::hex;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use mapping_core::psi::{expand_message_xmd_sha512, hash_to_ristretto255, Message};
use sha2::{Digest, Sha512};

fn data_lines(rel: &str) -> Vec<(usize, String)> {
    common::lines(rel)
        .into_iter()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty() || l.starts_with('\t'))
        .collect()
}

#[test]
fn rfc9380_expand_message_xmd_sha512() {
    let dst = b"QUUX-V01-CS02-with-expander-SHA512-256";
    let mut passed = 0;
    for (line, text) in data_lines("rfc/rfc9380_expand_message_xmd_sha512.txt") {
        let cols: Vec<&str> = text.split('\t').collect();
        let len = usize::from_str_radix(cols[1].trim_start_matches("0x"), 16).unwrap();
        let got = expand_message_xmd_sha512(cols[0].as_bytes(), dst, len).unwrap();
        assert_eq!(got, hex(cols[2]), "rfc9380_expand_message_xmd_sha512.txt:{line}");
        passed += 1;
    }
    assert_eq!(passed, 4);
}

#[test]
fn rfc9497_oprf_chain_pins_hash_to_ristretto255() {
    let mut context = b"OPRFV1-".to_vec();
    context.push(0);
    context.extend_from_slice(b"-ristretto255-SHA512");
    let mut dst = b"HashToGroup-".to_vec();
    dst.extend_from_slice(&context);
    let mut sk = None;
    let mut passed = 0;
    for (line, text) in data_lines("rfc/rfc9497_oprf_ristretto255_sha512.txt") {
        let cols: Vec<&str> = text.split('\t').collect();
        if cols[0] == "skSm" {
            sk = Some(Scalar::from_canonical_bytes(hex(cols[1]).try_into().unwrap()).unwrap());
            continue;
        }
        let sk = sk.expect("skSm before the cases");
        let input = hex(cols[0]);
        let blind = Scalar::from_canonical_bytes(hex(cols[1]).try_into().unwrap()).unwrap();
        let blinded = blind * hash_to_ristretto255(&input, &dst);
        assert_eq!(
            blinded.compress().to_bytes().to_vec(),
            hex(cols[2]),
            "rfc9497:{line} BlindedElement"
        );
        let evaluated = sk * blinded;
        assert_eq!(
            evaluated.compress().to_bytes().to_vec(),
            hex(cols[3]),
            "rfc9497:{line} EvaluationElement"
        );
        let unblinded = blind.invert() * evaluated;
        let mut h = Sha512::new();
        h.update((input.len() as u16).to_be_bytes());
        h.update(&input);
        h.update(32u16.to_be_bytes());
        h.update(unblinded.compress().as_bytes());
        h.update(b"Finalize");
        assert_eq!(h.finalize().to_vec(), hex(cols[4]), "rfc9497:{line} Output");
        passed += 1;
    }
    assert_eq!(passed, 2);
}

#[test]
fn rfc9496_invalid_encodings_are_rejected_by_the_decoder() {
    let mut passed = 0;
    for (line, text) in data_lines("rfc/rfc9496_ristretto255_invalid_encodings.txt") {
        let bytes: [u8; 32] = hex(text.trim()).try_into().unwrap();
        assert!(
            CompressedRistretto(bytes).decompress().is_none(),
            "rfc9496 A.2 line {line}"
        );
        passed += 1;
    }
    assert_eq!(passed, 29);
}

#[test]
fn rfc9496_element_derivation() {
    let mut passed = 0;
    for (line, text) in data_lines("rfc/rfc9496_ristretto255_element_derivation.txt") {
        let cols: Vec<&str> = text.split('\t').collect();
        let input: [u8; 64] = hex(cols[1]).try_into().unwrap();
        assert_eq!(
            Sha512::digest(cols[0].as_bytes()).to_vec(),
            input.to_vec(),
            "line {line}: input is SHA-512(label)"
        );
        let p = RistrettoPoint::from_uniform_bytes(&input);
        assert_eq!(
            p.compress().to_bytes().to_vec(),
            hex(cols[2]),
            "rfc9496 A.3 line {line}"
        );
        passed += 1;
    }
    assert_eq!(passed, 7);
}

/// The project's own decoder path refuses every RFC 9496 invalid encoding when it arrives in
/// a protocol message (typed error, no panic).
#[test]
fn protocol_refuses_invalid_encodings_in_messages() {
    use mapping_core::psi::{Initiator, PartyInput, PsiConfig, Responder};
    use mapping_core::{KeyType, MatchKey};
    let mut input = PartyInput::new();
    input.push(
        "Customers",
        vec![MatchKey {
            kind: KeyType::Domain,
            value: "acme.com".into(),
        }],
    );
    let cfg = PsiConfig::new().slots(1).unwrap();
    let (_, msg1) = Initiator::start(&input, &cfg).unwrap();
    for (line, text) in data_lines("rfc/rfc9496_ristretto255_invalid_encodings.txt") {
        let mut bad = msg1.clone();
        bad.points = hex(text.trim());
        let decoded = Message::decode(&bad.encode(), 10).unwrap();
        let err = Responder::respond(&input, &cfg, &decoded).unwrap_err();
        assert!(
            err.to_string().contains("value 0 is not a valid ristretto255 encoding"),
            "line {line}: {err}"
        );
    }
}

/// RFC 9497 A.1.2, VOPRF(ristretto255, SHA-512): the key derivation, the blinded and
/// evaluated elements, and the batched DLEQ proof reproduced byte for byte from the RFC's
/// proof randomness; each proof verifies, and a proof or an element with one flipped bit
/// does not.
#[test]
fn rfc9497_voprf_batched_dleq_proofs() {
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
    use mapping_core::psi::{generate_proof, hash_to_scalar_dst, rfc9497_voprf_context, verify_proof};
    let context = rfc9497_voprf_context();
    let mut h2g = b"HashToGroup-".to_vec();
    h2g.extend_from_slice(&context);
    // DeriveKeyPair(seed, info) of RFC 9497 section 3.2.1, from the file's header values.
    let mut derive_input = vec![0xa3u8; 32];
    derive_input.extend_from_slice(&8u16.to_be_bytes());
    derive_input.extend_from_slice(b"test key");
    derive_input.push(0);
    let mut dkp = b"DeriveKeyPair".to_vec();
    dkp.extend_from_slice(&context);
    let derived = hash_to_scalar_dst(&derive_input, &dkp);
    let scalar = |h: &str| Scalar::from_canonical_bytes(hex(h).try_into().unwrap()).unwrap();
    let point = |h: &str| CompressedRistretto(hex(h).try_into().unwrap()).decompress().unwrap();
    let (mut sk, mut pk) = (None, None);
    let mut passed = 0;
    for (line, text) in data_lines("rfc/rfc9497_voprf_ristretto255_sha512.txt") {
        let cols: Vec<&str> = text.split('\t').collect();
        match cols[0] {
            "skSm" => {
                let k = scalar(cols[1]);
                assert_eq!(k, derived, "line {line}: DeriveKeyPair");
                sk = Some(k);
                continue;
            }
            "pkSm" => {
                let p = point(cols[1]);
                assert_eq!(p, sk.unwrap() * RISTRETTO_BASEPOINT_POINT, "line {line}: pkSm");
                pk = Some(p);
                continue;
            }
            _ => {}
        }
        let (sk, pk) = (sk.unwrap(), pk.unwrap());
        let list = |i: usize| cols[i].split(',').collect::<Vec<&str>>();
        let (inputs, blinds, blinded, evaluated) = (list(0), list(1), list(2), list(3));
        let mut c = Vec::new();
        let mut d = Vec::new();
        for i in 0..inputs.len() {
            let be = scalar(blinds[i]) * hash_to_ristretto255(&hex(inputs[i]), &h2g);
            assert_eq!(
                be.compress().to_bytes().to_vec(),
                hex(blinded[i]),
                "line {line}: BlindedElement {i}"
            );
            let ee = sk * be;
            assert_eq!(
                ee.compress().to_bytes().to_vec(),
                hex(evaluated[i]),
                "line {line}: EvaluationElement {i}"
            );
            c.push(be);
            d.push(ee);
        }
        let proof = generate_proof(&sk, &c, &d, &scalar(cols[5]), &context);
        assert_eq!(proof.to_vec(), hex(cols[4]), "line {line}: Proof");
        assert!(verify_proof(&pk, &c, &d, &proof, &context), "line {line}: verify");
        for bit in [0, 9, 255, 256, 400, 511] {
            let mut bad = proof;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !verify_proof(&pk, &c, &d, &bad, &context),
                "line {line}: flipped bit {bit} verified"
            );
        }
        let mut swapped = d.clone();
        swapped[0] = RISTRETTO_BASEPOINT_POINT + d[0];
        assert!(
            !verify_proof(&pk, &c, &swapped, &proof, &context),
            "line {line}: changed element verified"
        );
        passed += 1;
    }
    assert_eq!(passed, 3);
}

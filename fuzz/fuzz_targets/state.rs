//! The session-state decoder (both roles) on arbitrary bytes, resealed with a valid checksum
//! so that the decoder behind it is reached (the state file's overflow was found this way);
//! the party's responder state (both sub-sessions) is one of them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mapping_core::party::Responded;
use mapping_core::psi::{Initiator, Responder};
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    let sum = Sha256::digest(&bytes);
    bytes.extend_from_slice(&sum);
    let _ = Initiator::load(&bytes);
    let _ = Responder::load(&bytes);
    let _ = Responded::load(&bytes);
    let _ = Initiator::load(data);
});

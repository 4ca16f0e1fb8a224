//! The session-state decoder (both roles) on arbitrary bytes, resealed with a valid checksum
//! so that the decoder behind it is reached (the state file's overflow was found this way);
//! the party's states between steps (the responder's after message 2, the initiator's after
//! messages 3 and 5, the responder's after message 4) are among them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mapping_core::party::{Compared, Decided, Finished, Responded};
use mapping_core::psi::{Initiator, Responder};
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    let sum = Sha256::digest(&bytes);
    bytes.extend_from_slice(&sum);
    let _ = Initiator::load(&bytes);
    let _ = Responder::load(&bytes);
    let _ = Responded::load(&bytes);
    let _ = Finished::load(&bytes);
    let _ = Compared::load(&bytes);
    let _ = Decided::load(&bytes);
    let _ = Initiator::load(data);
});

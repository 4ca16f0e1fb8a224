//! The message decoder on arbitrary bytes: as they come (the checksum refuses nearly all),
//! and resealed with a valid checksum (first byte odd) so the field checks behind it are
//! reached. A message that decodes must encode back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mapping_core::psi::Message;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 {
        let sum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&sum);
    }
    if let Ok(msg) = Message::decode(&bytes, 1 << 20) {
        let _ = msg.summary();
        let again = Message::decode(&msg.encode(), 1 << 20).expect("a decoded message re-encodes");
        assert!(again == msg);
        assert!(Message::decode_vec(bytes, 1 << 20).expect("same bytes") == msg);
    }
});

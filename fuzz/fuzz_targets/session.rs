//! A session step on a partner's arbitrary message: the responder (restored from its state)
//! takes a message 3, and the initiator a message 2, built from the fuzz bytes in two ways:
//! a whole message (resealed), or an honest message whose returned values, proofs and
//! points are overwritten by the bytes. Run under an RSS limit (scripts/fuzz.sh): a hostile
//! message must cost no more memory than an honest one, and nothing may panic.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mapping_core::psi::{Initiator, Message, PartyInput, PsiConfig, Responder};
use mapping_core::{KeyType, MatchKey};
use sha2::{Digest, Sha256};

struct Fixture {
    initiator: Vec<u8>,
    responder: Vec<u8>,
    m2: Message,
    m3: Message,
}

fn input(offset: u32) -> PartyInput<'static> {
    let mut p = PartyInput::new();
    for i in 0..24u32 {
        let pop = if i % 3 == 0 { "Customers" } else { "Prospects" };
        p.push(
            pop,
            vec![MatchKey {
                kind: KeyType::Domain,
                value: format!("c{}.com", i + offset),
            }],
        );
    }
    p
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let cfg = PsiConfig::new().slots(2).expect("slots");
        let (ini, m1) = Initiator::start(&input(0), &cfg).expect("start");
        let initiator = ini.save().to_vec();
        let (resp, m2) = Responder::respond(&input(12), &cfg, &m1).expect("respond");
        let responder = resp.save().to_vec();
        let (_, m3) = Initiator::load(&initiator).expect("load").finish(&m2).expect("finish");
        Fixture {
            initiator,
            responder,
            m2,
            m3,
        }
    })
}

fn overwrite(target: &mut [u8], data: &[u8]) {
    for (t, d) in target.iter_mut().zip(data.iter().cycle()) {
        *t = *d;
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let to_responder = mode & 1 == 0;
    let msg = if mode & 2 == 0 {
        let mut bytes = rest.to_vec();
        let sum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&sum);
        match Message::decode(&bytes, 1 << 16) {
            Ok(m) => m,
            Err(_) => return,
        }
    } else {
        let mut m = if to_responder { f.m3.clone() } else { f.m2.clone() };
        match (mode >> 2) % 3 {
            0 => overwrite(&mut m.returned, rest),
            1 => overwrite(&mut m.proofs, rest),
            _ => overwrite(&mut m.points, rest),
        }
        m
    };
    if to_responder {
        let resp = Responder::load(&f.responder).expect("state");
        let _ = resp.complete(&msg);
    } else {
        let ini = Initiator::load(&f.initiator).expect("state");
        let _ = ini.finish(&msg);
    }
});

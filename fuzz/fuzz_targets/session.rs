//! A session step on a partner's arbitrary message: the responder (restored from its state)
//! takes a message 3, and the initiator a message 2, built from the fuzz bytes in two ways:
//! a whole message (resealed), or an honest message whose returned values, proofs and
//! points are overwritten by the bytes; and at the party level, the initiator's step 5 takes
//! a message 4 and the responder's step 6 a message 5 (the pair round's reply and last
//! values, overwritten the same way inside their pair part). Run under an RSS limit
//! (scripts/fuzz.sh): a hostile message must cost no more memory than an honest one, and
//! nothing may panic.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mapping_core::party::{Compared, Finished, Party};
use mapping_core::policy::SharingPolicy;
use mapping_core::psi::{Initiator, Message, PartyInput, PsiConfig, Responder};
use mapping_core::{ingest, IngestOptions, KeyConfig, KeyType, MatchKey, PreparedList};
use sha2::{Digest, Sha256};

struct Fixture {
    initiator: Vec<u8>,
    responder: Vec<u8>,
    m2: Message,
    m3: Message,
    /// Two parties, the initiator after message 3 and the responder after message 4 (saved),
    /// and the honest messages 4 and 5.
    parties: (Party, Party),
    finished: Vec<u8>,
    compared: Vec<u8>,
    m4: Message,
    m5: Message,
}

fn party(offset: u32) -> Party {
    let mut csv = String::from("Account Name,Billing Country,Website,Type\n");
    for i in 0..16u32 {
        let country = if i % 2 == 0 { "DE" } else { "FR" };
        let site = if i % 3 == 0 { format!("firm{}.com", i + offset) } else { String::new() };
        csv.push_str(&format!("Firm{} GmbH,{country},{site},Customer\n", i + offset));
    }
    let d = ingest::read(csv.as_bytes(), "fuzz.csv", &IngestOptions::new()).expect("csv");
    Party::new(PreparedList::build(d, &KeyConfig::new()), SharingPolicy::default()).expect("party")
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
        let (a, b) = (party(0), party(8));
        let (ini, p1) = a.start().expect("start");
        let (resp, p2) = b.respond(&p1).expect("respond");
        let (fin, p3) = a.finish(ini, &p2).expect("finish");
        let finished = fin.save().to_vec();
        let (cmp, m4) = b.compare(resp, &p3).expect("compare");
        let compared = cmp.save().to_vec();
        let (_, m5) = a.decide(fin, &m4).expect("decide");
        Fixture {
            initiator,
            responder,
            m2,
            m3,
            parties: (a, b),
            finished,
            compared,
            m4,
            m5,
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
    // Bits 0-1: which step; bit 2: a whole message or an honest one overwritten; the rest:
    // which field is overwritten.
    let step = mode & 3;
    let honest = |step: u8| match step {
        0 => &f.m3,
        1 => &f.m2,
        2 => &f.m4,
        _ => &f.m5,
    };
    let msg = if mode & 4 == 0 {
        let mut bytes = rest.to_vec();
        let sum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&sum);
        match Message::decode(&bytes, 1 << 16) {
            Ok(m) => m,
            Err(_) => return,
        }
    } else {
        let mut m = honest(step).clone();
        // Messages 4 and 5 carry their values in the pair part.
        let target = match m.pairs.as_deref_mut() {
            Some(part) if step >= 2 => part,
            _ => &mut m,
        };
        match (mode >> 3) % 3 {
            0 => overwrite(&mut target.returned, rest),
            1 => overwrite(&mut target.proofs, rest),
            _ => overwrite(&mut target.points, rest),
        }
        m
    };
    let (a, b) = &f.parties;
    match step {
        0 => {
            let resp = Responder::load(&f.responder).expect("state");
            let _ = resp.complete(&msg);
        }
        1 => {
            let ini = Initiator::load(&f.initiator).expect("state");
            let _ = ini.finish(&msg);
        }
        2 => {
            let fin = Finished::load(&f.finished).expect("state");
            let _ = a.decide(fin, &msg);
        }
        _ => {
            let cmp = Compared::load(&f.compared).expect("state");
            let _ = b.complete_responder(cmp, &msg);
        }
    }
});

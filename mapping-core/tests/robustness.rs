//! Every parser of untrusted bytes, fed arbitrary and mutated input: CSV exports, protocol
//! messages (also in tests/protocol.rs), session state files, sharing policies. None may
//! panic; ingest accounts for every row it reads. (cargo-fuzz needs a nightly toolchain;
//! these property tests run on stable in CI.)
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

use mapping_core::policy::SharingPolicy;
use mapping_core::psi::{Initiator, PartyInput, PsiConfig, Responder};
use mapping_core::{ingest, IngestOptions, KeyConfig, KeyType, MatchKey, PreparedList};
use proptest::prelude::*;

fn sample_csv() -> Vec<u8> {
    b"Account Name,Website,Billing Country,Type,Email\n\"Acme, Inc.\",https://acme.com/x,US,Customer,jo@acme.com\nGlobex GmbH,globex.de,Deutschland,Prospect,\n,,,,\nM\xfcller AG,m\xfcller.de,DE,Partner,info@mueller.de\n".to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn ingest_never_panics_and_accounts_for_every_row(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(d) = ingest::read(&bytes[..], "fuzz.csv", &IngestOptions::new()) {
            prop_assert_eq!(d.accounts.len() as u64 + d.rejects.len() as u64, d.rows_read);
            let list = PreparedList::build(d, &KeyConfig::new());
            prop_assert_eq!(list.accounts.len() as u64 + list.rejects.len() as u64, list.rows_read);
        }
    }

    #[test]
    fn mutated_exports_never_panic(flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12), cut in any::<usize>()) {
        let mut bytes = sample_csv();
        for (at, v) in flips {
            let n = bytes.len();
            bytes[at % n] = v;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        if let Ok(d) = ingest::read(&bytes[..], "fuzz.csv", &IngestOptions::new()) {
            let list = PreparedList::build(d, &KeyConfig::new());
            prop_assert_eq!(list.accounts.len() as u64 + list.rejects.len() as u64, list.rows_read);
        }
    }

    #[test]
    fn state_files_never_panic(flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
        let mut input = PartyInput::new();
        input.push("Customers", vec![MatchKey { kind: KeyType::Domain, value: "acme.com".into() }]);
        let cfg = PsiConfig::new().slots(2).unwrap();
        let (ini, m1) = Initiator::start(&input, &cfg).unwrap();
        let (resp, _) = Responder::respond(&input, &cfg, &m1).unwrap();
        for mut bytes in [ini.save().to_vec(), resp.save().to_vec()] {
            for (at, v) in &flips {
                let n = bytes.len();
                bytes[at % n] = *v;
            }
            bytes.truncate(cut % (bytes.len() + 1));
            let _ = Initiator::load(&bytes);
            let _ = Responder::load(&bytes);
            // The same bytes with a valid checksum, so that the field decoder is reached.
            if bytes.len() > 42 {
                use sha2::Digest;
                let n = bytes.len() - 32;
                let sum = sha2::Sha256::digest(&bytes[..n]);
                bytes[n..].copy_from_slice(&sum);
                let _ = Initiator::load(&bytes);
                let _ = Responder::load(&bytes);
            }
        }
    }

    #[test]
    fn policies_never_panic(text in "\\PC{0,200}") {
        let _ = SharingPolicy::from_toml(&text, "fuzz.toml");
    }
}

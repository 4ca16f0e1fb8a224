//! CSV ingest on arbitrary bytes: never a panic, and every row accounted for (accepted or
//! rejected), through to match keys.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mapping_core::{ingest, IngestOptions, KeyConfig, PreparedList};

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = ingest::read(data, "fuzz.csv", &IngestOptions::new()) {
        assert_eq!(d.accounts.len() as u64 + d.rejects.len() as u64, d.rows_read);
        let rows = d.rows_read;
        let list = PreparedList::build(d, &KeyConfig::new());
        assert_eq!(list.keyed.len() as u64 + list.rejects.len() as u64, rows);
    }
});

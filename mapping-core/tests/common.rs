//! Helpers shared by the integration tests: reading the external suites bundled in the
//! repository's `testdata/` (see `testdata/LICENSES.md`), and running a whole session.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of a file under the repository's `testdata/` folder.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(rel)
}

/// The lines of a test-data file, with 1-based line numbers; panics naming the file if absent.
pub fn lines(rel: &str) -> Vec<(usize, String)> {
    let path = testdata(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (the suites live in testdata/ at the repository root)",
            path.display()
        )
    });
    text.lines().enumerate().map(|(i, l)| (i + 1, l.to_string())).collect()
}

/// Decodes a lowercase/uppercase hex string.
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Runs the six messages of a session between `a` (initiator) and `b` through their byte
/// encoding; returns both sides' mappings.
pub fn session(
    a: &mapping_core::party::Party,
    b: &mapping_core::party::Party,
) -> (mapping_core::matching::Mapping, mapping_core::matching::Mapping) {
    use mapping_core::psi::Message;
    let wire = |m: &Message| Message::decode(&m.encode(), u64::MAX).unwrap();
    let (ini, m1) = a.start().unwrap();
    let (resp, m2) = b.respond(&wire(&m1)).unwrap();
    let (fin, m3) = a.finish(ini, &wire(&m2)).unwrap();
    let (cmp, m4) = b.compare(resp, &wire(&m3)).unwrap();
    let (dec, m5) = a.decide(fin, &wire(&m4)).unwrap();
    let (mb, m6) = b.complete_responder(cmp, &wire(&m5)).unwrap();
    let ma = a.complete_initiator(dec, &wire(&m6)).unwrap();
    (ma, mb)
}

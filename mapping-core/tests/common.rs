//! Helpers shared by the integration tests: reading the external suites bundled in the
//! repository's `testdata/` (see `testdata/LICENSES.md`).
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

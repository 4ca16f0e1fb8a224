//! The acctmap binary as a user runs it: normalize, overlap, the file exchange (equal to
//! overlap; refusing steps out of order, twice, with another session's or a tampered file,
//! and changing nothing when it refuses), inspect, exit codes.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_acctmap"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(name)
}

fn run(cmd: &mut Command, dir: &Path) -> Output {
    cmd.current_dir(dir).output().expect("runs")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: &Output, needle: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "exit code; stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("acctmap-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn pairs(path: &Path) -> std::collections::BTreeSet<(String, String)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|x| x.unwrap())
        .map(|x| (x[0].to_string(), x[1].to_string()))
        .collect()
}

#[test]
fn normalize_shows_rows_keys_and_rejects() {
    let dir = tempdir("normalize");
    let out = ok(&run(
        bin().arg("normalize").arg(fixture("b.csv")).args(["--limit", "3"]),
        &dir,
    ));
    assert!(
        out.starts_with(&format!(
            "{}: 3000 rows read, 2964 accepted, 36 rejected (hubspot layout",
            fixture("b.csv").display()
        )),
        "{out}"
    );
    assert!(out.contains("website   <- Company Domain Name"));
    assert!(out.contains("rejected rows:"));
    let json = ok(&run(
        bin().arg("normalize").arg(fixture("a.csv")).args(["--format", "json"]),
        &dir,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v["rows_read"].as_u64(), v["accepted"].as_u64(), v["rejected"].as_u64()),
        (Some(3000), Some(2972), Some(28))
    );
    assert_eq!(v["accounts"][0]["keys"][0]["kind"], "DOMAIN");
    let csv_out = ok(&run(
        bin().arg("normalize").arg(fixture("a.csv")).args(["--format", "csv"]),
        &dir,
    ));
    assert_eq!(csv_out.lines().filter(|l| l.contains(",rejected,")).count(), 28);
}

#[test]
fn overlap_writes_the_report() {
    let dir = tempdir("overlap");
    let out = ok(&run(
        bin().arg("overlap").arg(fixture("a.csv")).arg(fixture("b.csv")).args([
            "--out",
            "rep",
            "--json",
            "--threads",
            "2",
        ]),
        &dir,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["matched_pairs"], 873);
    for f in [
        "report.html",
        "matches.csv",
        "matrix.csv",
        "summary.json",
        "rejects.csv",
        "crm_import.csv",
    ] {
        assert!(dir.join("rep").join(f).is_file(), "{f}");
    }
    assert_eq!(pairs(&dir.join("rep/matches.csv")).len(), 873);
}

#[test]
fn file_exchange_equals_overlap_and_refuses_misuse() {
    let dir = tempdir("exchange");
    let a = fixture("a.csv");
    let b = fixture("b.csv");
    ok(&run(
        bin().arg("overlap").arg(&a).arg(&b).args(["--out", "ovl", "-q"]),
        &dir,
    ));

    ok(&run(
        bin()
            .arg("start")
            .arg(&a)
            .args(["--message", "m1.msg", "--state", "a.state", "-q"]),
        &dir,
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("a.state")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "state file is owner-only");
    }
    // A second start would lose the running session.
    fails(
        &run(
            bin()
                .arg("start")
                .arg(&a)
                .args(["--message", "m1.msg", "--state", "a.state"]),
            &dir,
        ),
        "already exists",
    );
    ok(&run(
        bin()
            .arg("respond")
            .arg(&b)
            .args(["--to", "m1.msg", "--message", "m2.msg", "--state", "b.state", "-q"]),
        &dir,
    ));
    let state_before = std::fs::read(dir.join("a.state")).unwrap();

    // Out of order: complete before continue.
    fails(
        &run(
            bin().args(["complete", "--reply", "m2.msg", "--state", "a.state"]),
            &dir,
        ),
        "run `acctmap continue",
    );
    // The responder's state with the initiator's message: it waits for step 3.
    fails(
        &run(
            bin().args(["continue", "--reply", "m2.msg", "--state", "b.state"]),
            &dir,
        ),
        "expected the partner's step-3 message, got a step-2 message",
    );
    // A tampered message.
    let mut bad = std::fs::read(dir.join("m2.msg")).unwrap();
    bad[300] ^= 0x40;
    std::fs::write(dir.join("bad.msg"), &bad).unwrap();
    fails(
        &run(
            bin().args(["continue", "--reply", "bad.msg", "--state", "a.state"]),
            &dir,
        ),
        "checksum mismatch",
    );
    // Another session's reply.
    ok(&run(
        bin()
            .arg("start")
            .arg(&a)
            .args(["--message", "x1.msg", "--state", "x.state", "-q"]),
        &dir,
    ));
    ok(&run(
        bin()
            .arg("respond")
            .arg(&b)
            .args(["--to", "x1.msg", "--message", "x2.msg", "--state", "y.state", "-q"]),
        &dir,
    ));
    fails(
        &run(
            bin().args(["continue", "--reply", "x2.msg", "--state", "a.state"]),
            &dir,
        ),
        "belongs to session",
    );
    // A tampered state file.
    let mut st = state_before.clone();
    let at = st.len() / 2;
    st[at] = if st[at] == b'a' { b'b' } else { b'a' };
    std::fs::write(dir.join("t.state"), &st).unwrap();
    fails(
        &run(
            bin().args(["continue", "--reply", "m2.msg", "--state", "t.state"]),
            &dir,
        ),
        "corrupted or was changed",
    );
    // None of the refusals changed anything.
    assert_eq!(std::fs::read(dir.join("a.state")).unwrap(), state_before);
    assert!(!dir.join("acctmap-3.msg").exists());

    // `finish` is the old name of `continue`.
    ok(&run(
        bin().args([
            "finish",
            "--reply",
            "m2.msg",
            "--message",
            "m3.msg",
            "--state",
            "a.state",
            "-q",
        ]),
        &dir,
    ));
    let st = std::fs::read_to_string(dir.join("a.state")).unwrap();
    assert!(st.contains("\"step\":\"finished\""), "{st}");
    // Twice: the session now waits for step 4.
    fails(
        &run(
            bin().args(["continue", "--reply", "m2.msg", "--state", "a.state"]),
            &dir,
        ),
        "expected the partner's step-4 message, got a step-2 message",
    );

    // Message 3 carries no records: they wait for the decisions (messages 5 and 6). It
    // starts the pair round over the candidates that no domain decides.
    let out = ok(&run(bin().args(["inspect", "m3.msg", "--json"]), &dir));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["step"], 3);
    assert!(v["shared_records"].is_null());
    let entries = v["pair_part"]["sender_accounts"].as_u64().unwrap();
    assert!((100..900).contains(&entries), "{entries}");
    assert_eq!(v["pair_part"]["blinded_points"].as_u64(), Some(entries * 4));

    ok(&run(
        bin().args([
            "continue",
            "--reply",
            "m3.msg",
            "--message",
            "m4.msg",
            "--state",
            "b.state",
            "-q",
        ]),
        &dir,
    ));
    ok(&run(
        bin().args([
            "continue",
            "--reply",
            "m4.msg",
            "--message",
            "m5.msg",
            "--state",
            "a.state",
            "-q",
        ]),
        &dir,
    ));
    let out = ok(&run(bin().args(["inspect", "m5.msg", "--json"]), &dir));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["step"], 5);
    assert_eq!(v["shared_records"].as_array().unwrap().len(), 858);
    assert_eq!(v["shared_records"][0]["fields"][0][0], "row");
    assert_eq!(v["pair_part"]["returned_values"].as_u64(), Some(entries * 4));
    // The initiator is done but for the partner's records.
    fails(
        &run(
            bin().args(["continue", "--reply", "m4.msg", "--state", "a.state"]),
            &dir,
        ),
        "run `acctmap complete --reply STEP6.msg`",
    );

    ok(&run(
        bin().args([
            "complete",
            "--reply",
            "m5.msg",
            "--message",
            "m6.msg",
            "--state",
            "b.state",
            "--out",
            "rep_b",
            "-q",
        ]),
        &dir,
    ));
    assert!(!dir.join("b.state").exists(), "state deleted at completion");
    ok(&run(
        bin().args([
            "complete", "--reply", "m6.msg", "--state", "a.state", "--out", "rep_a", "-q",
        ]),
        &dir,
    ));
    assert!(!dir.join("a.state").exists());

    let overlap = pairs(&dir.join("ovl/matches.csv"));
    assert_eq!(pairs(&dir.join("rep_a/matches.csv")), overlap);
    let mirrored: std::collections::BTreeSet<(String, String)> = pairs(&dir.join("rep_b/matches.csv"))
        .into_iter()
        .map(|(x, y)| (y, x))
        .collect();
    assert_eq!(mirrored, overlap);
}

#[test]
fn exit_codes_and_clear_errors() {
    let dir = tempdir("errors");
    fails(&run(bin().args(["normalize", "nope.csv"]), &dir), "nope.csv");
    // Issue 13: the OS error is printed once, not again as its own cause.
    let missing = run(bin().args(["normalize", "nope.csv"]), &dir);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    std::fs::write(dir.join("x.csv"), "Foo,Bar\n1,2\n").unwrap();
    fails(
        &run(bin().args(["normalize", "x.csv"]), &dir),
        "no column holds a company name",
    );
    fails(
        &run(bin().args(["normalize", "x.csv", "--column", "name=Baz"]), &dir),
        "there is no column \"Baz\"",
    );
    fails(
        &run(bin().args(["normalize", "x.csv", "--keys", "domain,zip"]), &dir),
        "unknown key type \"zip\"",
    );
    std::fs::write(dir.join("junk.msg"), b"hello").unwrap();
    fails(
        &run(bin().args(["inspect", "junk.msg"]), &dir),
        "shorter than any message",
    );
    // A partner's file far larger than any message within the limits is refused unread.
    let big = std::fs::File::create(dir.join("big.msg")).unwrap();
    big.set_len(1 << 30).unwrap(); // sparse: no disk used
    fails(
        &run(
            bin().arg("respond").arg(fixture("b.csv")).args([
                "--to",
                "big.msg",
                "--max-peer-accounts",
                "10",
                "--state",
                "s.state",
            ]),
            &dir,
        ),
        "larger than any message from a partner within your limits",
    );
    assert!(!dir.join("s.state").exists());
    // Issue 11: the bound was read from metadata, which is 0 for /dev/zero and pipes; the
    // read itself is bounded now.
    fails(
        &run(
            bin().arg("respond").arg(fixture("b.csv")).args([
                "--to",
                "/dev/zero",
                "--max-peer-accounts",
                "10",
                "--state",
                "s.state",
            ]),
            &dir,
        ),
        "larger than",
    );
    assert!(!dir.join("s.state").exists());
    let usage = run(bin().args(["overlap"]), &dir);
    assert_eq!(usage.status.code(), Some(2));
}

/// Connects to `server` at `addr` with `code`, maps fixtures/a.csv into `cli/`, and checks
/// that both sides succeed with the fixtures' decided pairs.
fn connect_and_map_the_fixtures(dir: &Path, addr: &str, code: &str, server: std::process::Child) {
    let out = run(
        bin()
            .args(["connect", addr, "--code", code, "--out", "cli", "--yes", "-q", "--json"])
            .arg("--accounts")
            .arg(fixture("a.csv")),
        dir,
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(v["summary"]["matched_pairs"], 873);
    assert!(server.wait_with_output().unwrap().status.success());
}

/// Starts `acctmap serve` on a free loopback port and returns the child and its address.
fn serve(dir: &Path, code: &str, out: &str, yes: bool) -> (std::process::Child, String) {
    serve_with(dir, code, out, yes, &["--timeout", "20"])
}

fn serve_with(dir: &Path, code: &str, out: &str, yes: bool, extra: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut cmd = bin();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--code", code, "--out", out, "-q"])
        .args(extra)
        .arg("--accounts")
        .arg(fixture("b.csv"))
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if yes {
        cmd.arg("--yes");
    }
    let mut child = cmd.spawn().unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(line.contains("waiting for your partner on"), "{line}");
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut sink);
    });
    (child, addr)
}

#[test]
fn live_session_equals_overlap_and_wrong_code_writes_nothing() {
    let dir = tempdir("live");
    ok(&run(
        bin()
            .arg("overlap")
            .arg(fixture("a.csv"))
            .arg(fixture("b.csv"))
            .args(["--out", "ovl", "-q"]),
        &dir,
    ));
    let (server, addr) = serve(&dir, "QX7P-M3KD-9WRT", "srv", true);
    connect_and_map_the_fixtures(&dir, &addr, "qx7p m3kd 9wrt", server);
    assert_eq!(pairs(&dir.join("cli/matches.csv")), pairs(&dir.join("ovl/matches.csv")));
    let mirrored: std::collections::BTreeSet<(String, String)> = pairs(&dir.join("srv/matches.csv"))
        .into_iter()
        .map(|(x, y)| (y, x))
        .collect();
    assert_eq!(mirrored, pairs(&dir.join("ovl/matches.csv")));

    // Wrong code: the client fails and writes nothing; the server drops it and, with one
    // attempt allowed, gives up without a report.
    let (server, addr) = serve_with(&dir, "QX7P-M3KD-9WRT", "srv2", true, &["--attempts", "1"]);
    let out = run(
        bin()
            .args(["connect", &addr, "--code", "QX7P-M3KD-9WRX", "--out", "cli2", "--yes"])
            .arg("--accounts")
            .arg(fixture("a.csv")),
        &dir,
    );
    fails(&out, "pairing codes do not match");
    let s = server.wait_with_output().unwrap();
    assert_eq!(s.status.code(), Some(1));
    assert!(!dir.join("cli2").exists() && !dir.join("srv2").exists());

    // No terminal and no --yes: the server does not proceed, and says why.
    let (server, addr) = serve(&dir, "QX7P-M3KD-9WRT", "srv3", false);
    let out = run(
        bin()
            .args(["connect", &addr, "--code", "QX7P-M3KD-9WRT", "--out", "cli3", "--yes"])
            .arg("--accounts")
            .arg(fixture("a.csv")),
        &dir,
    );
    fails(&out, "declined by the partner's user");
    assert_eq!(server.wait_with_output().unwrap().status.code(), Some(1));
    assert!(!dir.join("cli3").exists() && !dir.join("srv3").exists());
}

#[test]
fn config_file_sets_columns_populations_and_keys() {
    let dir = tempdir("config");
    std::fs::write(
        dir.join("odd.csv"),
        "Org;Web site;Kind\nAcme GmbH;www.acme.de;Lost account\nGlobex;globex.com;Active\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("acctmap.toml"),
        "delimiter = \";\"\nkeys = \"domain\"\nslots = 2\n[columns]\nname = \"Org\"\nwebsite = [\"Web site\"]\nstatus = \"Kind\"\n[populations]\nChurned = [\"lost account\"]\n",
    )
    .unwrap();
    let out = ok(&run(
        bin().args(["normalize", "odd.csv", "--config", "acctmap.toml", "--format", "json"]),
        &dir,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["accepted"], 2);
    let first = &v["accounts"][0];
    assert_eq!(first["account"]["name"], "Acme GmbH");
    assert_eq!(first["account"]["population"], "Churned");
    assert_eq!(first["keys"].as_array().unwrap().len(), 1, "keys = domain only");
    // A flag beats the file.
    let out = ok(&run(
        bin().args([
            "normalize",
            "odd.csv",
            "--config",
            "acctmap.toml",
            "--keys",
            "domain,name",
            "--format",
            "json",
        ]),
        &dir,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["accounts"][0]["keys"].as_array().unwrap().len(), 2);
    std::fs::write(dir.join("bad.toml"), "colums = 1\n").unwrap();
    fails(
        &run(bin().args(["normalize", "odd.csv", "--config", "bad.toml"]), &dir),
        "bad.toml: invalid configuration",
    );
}

/// Issue 11: partner values that start with `=`, `+`, `-` or `@` reached matches.csv and
/// crm_import.csv as they were (spreadsheet formula injection). Now they arrive as text.
#[test]
fn partner_formulas_reach_the_csv_files_as_text() {
    let dir = tempdir("formulas");
    std::fs::write(
        dir.join("a.csv"),
        "Account Name,Website,Type\nAcme,acme.com,Customer\nGlobex,globex.com,Customer\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.csv"),
        "Company name,Website,Lifecycle Stage\n\"=HYPERLINK(\"\"http://x.invalid\"\",\"\"go\"\")\",acme.com,customer\n@SUM(1+1),globex.com,customer\n",
    )
    .unwrap();
    ok(&run(
        bin().args(["overlap", "a.csv", "b.csv", "--out", "out", "-q"]),
        &dir,
    ));
    let text = std::fs::read_to_string(dir.join("out/matches.csv")).unwrap();
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert!(text.contains("'@SUM(1+1)"), "{text}");
    let mut r = csv::Reader::from_path(dir.join("out/matches.csv")).unwrap();
    for rec in r.records() {
        for cell in rec.unwrap().iter() {
            assert!(!cell.starts_with(['=', '+', '@']), "{cell}");
        }
    }
}

/// Issue 11: `start` wrote the message before the state, so a failed state write left a
/// message for a session that could not continue. Now the state comes first, and a failed
/// message write removes it again: either both files exist or neither.
#[test]
fn start_leaves_both_files_or_neither() {
    let dir = tempdir("order");
    // The state cannot be written: no message appears.
    fails(
        &run(
            bin().arg("start").arg(fixture("a.csv")).args([
                "--message",
                "m1.msg",
                "--state",
                "no-such-dir/s.state",
                "-q",
            ]),
            &dir,
        ),
        "writing no-such-dir/s.state",
    );
    assert!(!dir.join("m1.msg").exists());
    // The message cannot be written: the state is removed again, so the step can be rerun.
    fails(
        &run(
            bin().arg("start").arg(fixture("a.csv")).args([
                "--message",
                "no-such-dir/m1.msg",
                "--state",
                "s.state",
                "-q",
            ]),
            &dir,
        ),
        "writing no-such-dir/m1.msg",
    );
    assert!(!dir.join("s.state").exists());
    ok(&run(
        bin()
            .arg("start")
            .arg(fixture("a.csv"))
            .args(["--message", "m1.msg", "--state", "s.state", "-q"]),
        &dir,
    ));
    assert!(dir.join("m1.msg").exists() && dir.join("s.state").exists());
}

/// Issue 11: `serve` exited when anyone probed the port, and a client trickling a byte every
/// 2 s held the pre-authentication read far past --timeout. Now a wrong code, an HTTP
/// request, a silent client and a trickler are each dropped within the timeout, and the
/// real partner that comes after them gets its session.
#[test]
fn serve_outlasts_probes_and_slow_clients() {
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    let dir = tempdir("probes");
    // The timeout is also the longest a partner may compute between two messages: 5 s
    // leaves the session room on a loaded 2-core machine (2 s did not, in CI).
    let (server, addr) = serve_with(&dir, "QX7P-M3KD-9WRT", "srv", true, &["--timeout", "5"]);
    // A wrong code.
    let out = run(
        bin()
            .args(["connect", &addr, "--code", "QX7P-M3KD-9WRX", "--out", "bad", "--yes"])
            .arg("--accounts")
            .arg(fixture("a.csv")),
        &dir,
    );
    fails(&out, "pairing codes do not match");
    // An HTTP probe, answered with nothing useful and closed.
    let mut http = TcpStream::connect(&addr).unwrap();
    http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut sink = Vec::new();
    http.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = std::io::Read::read_to_end(&mut http, &mut sink);
    // A silent client, then a trickler: one byte every 0.5 s, never a whole message.
    let silent = TcpStream::connect(&addr).unwrap();
    let mut trickler = TcpStream::connect(&addr).unwrap();
    let t = Instant::now();
    let trickle = std::thread::spawn(move || {
        for _ in 0..40 {
            if trickler.write_all(b"x").is_err() {
                return t.elapsed();
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        t.elapsed()
    });
    let dropped_after = trickle.join().unwrap();
    drop(silent);
    // Silent (up to 5 s) and trickler (5 s from its turn) are both dropped well before the
    // 20 s the trickle would have lasted.
    assert!(dropped_after < Duration::from_secs(17), "{dropped_after:?}");
    connect_and_map_the_fixtures(&dir, &addr, "QX7P-M3KD-9WRT", server);
    assert!(dir.join("srv/matches.csv").exists() && !dir.join("bad").exists());
}

/// Issue 13: `overlap` takes per-side settings: two lists from different CRMs, each needing
/// its own column assignment, map together.
#[test]
fn overlap_takes_settings_per_side() {
    let dir = tempdir("per-side");
    std::fs::write(
        dir.join("a.csv"),
        "Org Title,Web,Kind\nAcme Ltd,acme.co.uk,Customer\nGlobex,globex.com,Prospect\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.csv"),
        "Firm;Homepage Link;Stage\nACME;https://www.acme.co.uk/;customer\nHooli;hooli.com;lead\n",
    )
    .unwrap();
    let base = [
        "overlap",
        "a.csv",
        "b.csv",
        "--out",
        "out",
        "-q",
        "--json",
        "--column",
        "name=Org Title",
        "--column",
        "website=Web",
        "--column",
        "status=Kind",
    ];
    fails(&run(bin().args(base), &dir), "there is no column \"Org Title\"");
    let out = run(
        bin().args(base).args([
            "--column-b",
            "name=Firm",
            "--column-b",
            "website=Homepage Link",
            "--column-b",
            "status=Stage",
            "--delimiter-b",
            ";",
        ]),
        &dir,
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(v["summary"]["matched_pairs"], 1);
    assert_eq!(
        pairs(&dir.join("out/matches.csv")),
        [("1".to_string(), "1".to_string())].into_iter().collect()
    );
}

/// Issue 13: shell completions and a man page, from the same definitions as --help.
#[test]
fn completions_and_man_page() {
    let dir = tempdir("completions");
    let bash = ok(&run(bin().args(["completions", "bash"]), &dir));
    assert!(bash.contains("_acctmap()") && bash.contains("overlap") && bash.contains("--max-pair-factor"));
    let fish = ok(&run(bin().args(["completions", "fish"]), &dir));
    assert!(fish.contains("complete -c acctmap"));
    let man = ok(&run(bin().arg("man"), &dir));
    assert!(man.starts_with(".ie") && man.contains(".TH acctmap 1") && man.contains("overlap"));
    let unknown = run(bin().args(["completions", "tcsh"]), &dir);
    assert_eq!(unknown.status.code(), Some(2), "an unknown shell is a usage error");
}

/// Issue 13: every command that prints a summary takes --json.
#[test]
fn summaries_as_json() {
    let dir = tempdir("json");
    let v: serde_json::Value = serde_json::from_str(&ok(&run(
        bin()
            .arg("start")
            .arg(fixture("a.csv"))
            .args(["--message", "m1.msg", "--json"]),
        &dir,
    )))
    .unwrap();
    assert_eq!(
        (v["step"].as_str(), v["message"].as_str()),
        (Some("start"), Some("m1.msg"))
    );
    assert!(v["blinded_points"].as_u64().unwrap() > 0);
    let v: serde_json::Value = serde_json::from_str(&ok(&run(
        bin().args(["generate", "--rows", "20", "--out", "g", "--json"]),
        &dir,
    )))
    .unwrap();
    assert_eq!(v["a_rows"], 20);
}

/// Issue 13: crm_import.csv has a row for every account with a record id (so stale flags
/// are cleared on re-import), under the export's own id header, with columns named after
/// the partner, and no invented ids for rows without one.
#[test]
fn crm_import_covers_every_account_with_an_id() {
    let dir = tempdir("crm");
    ok(&run(
        bin().arg("overlap").arg(fixture("a.csv")).arg(fixture("b.csv")).args([
            "--out",
            "out",
            "-q",
            "--partner-name",
            "Globex",
            "--no-history",
        ]),
        &dir,
    ));
    let mut r = csv::Reader::from_path(dir.join("out/crm_import.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "Account ID",
            "Globex Overlap",
            "Globex Populations",
            "Globex Match Count",
            "Globex Match Confidence"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let count = |v: &str| rows.iter().filter(|x| &x[1] == v).count();
    assert_eq!(
        (rows.len(), count("true"), count("review"), count("false")),
        (2972, 856, 2, 2114)
    );
    assert!(
        rows.iter().all(|x| x[0].starts_with("001")),
        "only the export's own ids"
    );
    // A list without record ids gets no made-up ones.
    std::fs::write(dir.join("noid.csv"), "Name,Website\nAcme,acme.com\n").unwrap();
    ok(&run(
        bin().args(["overlap", "noid.csv", "noid.csv", "--out", "o2", "-q"]),
        &dir,
    ));
    let text = std::fs::read_to_string(dir.join("o2/crm_import.csv")).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
}

/// A one-request HTTP server on 127.0.0.1 that answers `status` and hands back the request.
fn webhook(status: &'static str) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Read the head, then the body its Content-Length announces.
        loop {
            let n = s.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len: usize = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if got.len() >= end + 4 + len || n == 0 {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        s.write_all(reply.as_bytes()).unwrap();
        String::from_utf8_lossy(&got).to_string()
    });
    (url, handle)
}

/// Issue 14 from the command line: a partnership's history (owner-only, under --history),
/// the changes of a second session (changes.csv, the summary line, the report's top
/// section), --notify to a local webhook, a failing webhook that leaves the report, and
/// `acctmap partners`.
#[test]
fn history_changes_notify_and_partners() {
    let dir = tempdir("history");
    let hist = dir.join("hist");
    let a = fixture("a.csv");
    // Session 1 with the whole partner list, session 2 with its first 2,000 rows and every
    // `lead` now a `customer`.
    let text = std::fs::read_to_string(fixture("b.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().take(2001).map(str::to_owned).collect();
    for l in lines.iter_mut().skip(1) {
        *l = l.replace(",lead,", ",customer,");
    }
    std::fs::write(dir.join("b2.csv"), lines.join("\n") + "\n").unwrap();
    let session = |b: &Path, out: &str, extra: &[&str]| {
        run(
            bin()
                .arg("overlap")
                .arg(&a)
                .arg(b)
                .args(["--out", out, "--partner-name", "Globex", "--history"])
                .arg(&hist)
                .args(extra),
            &dir,
        )
    };
    let first = ok(&session(&fixture("b.csv"), "r1", &[]));
    assert!(
        first.contains("changes:  first session with Globex kept in the history"),
        "{first}"
    );
    assert!(!dir.join("r1/changes.csv").exists());
    let (url, server) = webhook("200 OK");
    let second = ok(&session(&dir.join("b2.csv"), "r2", &["--notify", &url]));
    let request = server.join().unwrap();
    assert!(request.starts_with("POST /hook HTTP/1.1"), "{request}");
    let body: serde_json::Value = serde_json::from_str(&request[request.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    let changes = &body["changes"];
    let csv = std::fs::read_to_string(dir.join("r2/changes.csv")).unwrap();
    let count = |kind: &str| csv.lines().filter(|l| l.starts_with(kind)).count() as u64;
    assert_eq!(changes["gone"].as_u64(), Some(count("overlap gone,")));
    assert_eq!(
        changes["partner_moves"].as_u64(),
        Some(count("partner population moved,"))
    );
    assert!(
        count("overlap gone,") > 100 && count("partner population moved,") > 20,
        "{csv}"
    );
    assert!(second.contains(&format!("{} gone", count("overlap gone,"))), "{second}");
    let html = std::fs::read_to_string(dir.join("r2/report.html")).unwrap();
    assert!(
        html.contains("<section id=\"changes\"><h2>Changes since "),
        "changes section first"
    );
    assert!(html.find("id=\"changes\"").unwrap() < html.find("id=\"summary\"").unwrap());
    // A webhook that fails: a warning, exit 0, the report written all the same.
    let (url, server) = webhook("500 Internal Server Error");
    let out = session(&dir.join("b2.csv"), "r3", &["--notify", &url]);
    ok(&out);
    server.join().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--notify"), "{out:?}");
    assert!(dir.join("r3/report.html").is_file());
    // Three sessions kept, owner-only.
    let kept: Vec<_> = std::fs::read_dir(hist.join("globex"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 3);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in &kept {
            assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
    let out = ok(&run(
        bin().args(["partners", "--json", "--out", "p", "--history"]).arg(&hist),
        &dir,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["partners"][0]["partner"], "Globex");
    assert_eq!(v["partners"][0]["sessions"], 3);
    let accounts = std::fs::read_to_string(dir.join("p/accounts.csv")).unwrap();
    assert!(accounts.starts_with("own_key,own_name,own_population,partner_count,partners\n"));
    assert_eq!(
        accounts.lines().count() as u64 - 1,
        v["accounts_with_a_partner"].as_u64().unwrap()
    );
    // --history without a partner name is refused with the reason.
    fails(
        &run(
            bin()
                .arg("overlap")
                .arg(&a)
                .arg(fixture("b.csv"))
                .args(["--out", "r4", "--history", "x"]),
            &dir,
        ),
        "--history needs --partner-name",
    );
}

/// A damaged history record costs the comparison, not the session: a warning, the report,
/// and this session kept.
#[test]
fn a_damaged_history_record_does_not_stop_the_session() {
    let dir = tempdir("history-damaged");
    let hist = dir.join("hist");
    let args = |out: &str| -> Vec<String> {
        ["--out", out, "-q", "--partner-name", "Initech", "--history"]
            .iter()
            .map(|s| s.to_string())
            .chain([hist.display().to_string()])
            .collect()
    };
    ok(&run(
        bin()
            .arg("overlap")
            .arg(fixture("a.csv"))
            .arg(fixture("b.csv"))
            .args(args("r1")),
        &dir,
    ));
    let kept: Vec<_> = std::fs::read_dir(hist.join("initech"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    std::fs::write(&kept[0], b"{\"version\": 1, \"date\": 5}").unwrap();
    let out = run(
        bin()
            .arg("overlap")
            .arg(fixture("a.csv"))
            .arg(fixture("b.csv"))
            .args(args("r2")),
        &dir,
    );
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the last session with Initech cannot be read"), "{err}");
    assert!(dir.join("r2/report.html").is_file() && !dir.join("r2/changes.csv").exists());
    assert_eq!(std::fs::read_dir(hist.join("initech")).unwrap().count(), 2);
}

/// Issue 14: one session, modes per population. A shares its prospects as counts only and
/// hides former customers; B shares everything. The file exchange (with the counts
/// sub-session inside messages 2 to 4) gives the overlap command's pairs and matrix; the
/// prospects' cells are counts in both reports and no prospect appears in a pair.
#[test]
fn per_population_sharing_by_file_exchange() {
    let dir = tempdir("per-population");
    let (a, b, policy) = (
        fixture("a.csv"),
        fixture("b.csv"),
        fixture("policy-counts-prospects.toml"),
    );
    let default_policy = dir.join("default.toml");
    std::fs::write(&default_policy, "[default]\nshare = \"overlaps\"\n").unwrap();
    let out = ok(&run(
        bin()
            .arg("overlap")
            .arg(&a)
            .arg(&b)
            .arg("--policy")
            .arg(&policy)
            .arg("--policy-b")
            .arg(&default_policy)
            .args(["--out", "ovl", "-q", "--json"]),
        &dir,
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (paired, counted) = (
        v["summary"]["matched_pairs"].as_u64().unwrap(),
        v["summary"]["counted_pairs"].as_u64().unwrap(),
    );
    assert!(paired > 400 && counted > 100, "{paired} pairs, {counted} counted");
    let step = |args: &[&str]| ok(&run(bin().args(args), &dir));
    step(&[
        "start",
        a.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--message",
        "m1.msg",
        "--state",
        "a.state",
        "-q",
    ]);
    let m1: serde_json::Value = serde_json::from_str(&step(&["inspect", "m1.msg", "--json"])).unwrap();
    assert_eq!(m1["counted_populations"][0][0], "Prospects");
    assert!(m1["counts_part"].is_null());
    step(&[
        "respond",
        b.to_str().unwrap(),
        "--to",
        "m1.msg",
        "--message",
        "m2.msg",
        "--state",
        "b.state",
        "-q",
    ]);
    let m2: serde_json::Value = serde_json::from_str(&step(&["inspect", "m2.msg", "--json"])).unwrap();
    assert_eq!(m2["counts_part"]["mode"], "counts_only");
    assert!(m2["counts_part"]["blinded_points"].as_u64().unwrap() > 0);
    let text = step(&["inspect", "m2.msg"]);
    assert!(text.contains("counts part (the counts-only sub-session"), "{text}");
    for (reply, message, state) in [
        ("m2.msg", "m3.msg", "a.state"),
        ("m3.msg", "m4.msg", "b.state"),
        ("m4.msg", "m5.msg", "a.state"),
    ] {
        step(&[
            "continue",
            "--reply",
            reply,
            "--message",
            message,
            "--state",
            state,
            "-q",
        ]);
    }
    step(&[
        "complete",
        "--reply",
        "m5.msg",
        "--message",
        "m6.msg",
        "--state",
        "b.state",
        "--out",
        "rep_b",
        "-q",
    ]);
    step(&[
        "complete", "--reply", "m6.msg", "--state", "a.state", "--out", "rep_a", "-q",
    ]);
    assert_eq!(
        pairs(&dir.join("rep_a/matches.csv")),
        pairs(&dir.join("ovl/matches.csv"))
    );
    let summary = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(p)).unwrap()).unwrap()
    };
    let (sa, so, sb) = (
        summary("rep_a/summary.json"),
        summary("ovl/summary.json"),
        summary("rep_b/summary.json"),
    );
    assert_eq!(sa["summary"]["matched_pairs"].as_u64(), Some(paired));
    assert_eq!(sa["summary"]["counted_pairs"].as_u64(), Some(counted));
    assert_eq!(sb["summary"]["counted_pairs"].as_u64(), Some(counted));
    assert_eq!(sa["matrix"], so["matrix"]);
    for cell in sa["matrix"].as_array().unwrap() {
        let prospects = cell["own_population"] == "Prospects";
        assert_eq!(cell["counts_only"].as_bool(), Some(prospects), "{cell}");
        assert_eq!(cell["own_accounts"].is_null(), prospects, "{cell}");
    }
    let mut r = csv::Reader::from_path(dir.join("rep_a/matches.csv")).unwrap();
    let col = r.headers().unwrap().iter().position(|h| h == "a_population").unwrap();
    assert!(r.records().all(|x| &x.unwrap()[col] != "Prospects"));
    let html = std::fs::read_to_string(dir.join("rep_b/report.html")).unwrap();
    assert!(html.contains("counts only</span>") && html.contains("candidate pairs in cells shared as counts only"));
}

/// An `--out` that names a file is refused before the session runs, not after.
#[test]
fn an_out_that_is_a_file_is_refused_first() {
    let dir = tempdir("out-file");
    std::fs::write(dir.join("taken"), "x").unwrap();
    let t0 = std::time::Instant::now();
    let o = run(
        bin()
            .arg("overlap")
            .arg(fixture("a.csv"))
            .arg(fixture("b.csv"))
            .args(["--out", "taken", "-q", "--no-history"]),
        &dir,
    );
    fails(&o, "--out taken: a file of that name exists");
    assert!(t0.elapsed().as_secs_f64() < 1.5, "refused before the work");
    assert_eq!(std::fs::read_to_string(dir.join("taken")).unwrap(), "x");
}

/// `bench --live` runs the same two parties in strict rounds and as a live session over
/// loopback TCP (each on half the threads) and reports both; the two find the pairs the
/// in-process run found.
#[test]
fn bench_live_reports_strict_and_overlapped_times() {
    let dir = tempdir("bench-live");
    let o = run(
        bin()
            .args([
                "bench",
                "--rows",
                "400",
                "--live",
                "--json",
                "--samples",
                "500",
                "--threads",
                "2",
                "--dir",
            ])
            .arg(dir.join("lists")),
        &dir,
    );
    let doc: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    let live = &doc["live"];
    assert_eq!(live["threads_per_party"], 1);
    assert_eq!(live["matched_pairs"], doc["matched_pairs"]);
    assert!(doc["matched_pairs"].as_u64().unwrap() > 50, "{doc}");
    for t in ["strict_seconds", "overlapped_seconds"] {
        assert!(live[t].as_f64().unwrap() > 0.0, "{t}: {doc}");
    }
    let without = run(
        bin()
            .args(["bench", "--rows", "400", "--json", "--samples", "500", "--dir"])
            .arg(dir.join("lists")),
        &dir,
    );
    let doc: serde_json::Value = serde_json::from_str(&ok(&without)).unwrap();
    assert!(doc["live"].is_null());
}

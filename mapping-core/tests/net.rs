//! Direct sessions over loopback TCP: the same matches as in process; a wrong code refused
//! without revealing anything; a peer that drops, stalls, lies about sizes or sends garbage
//! gives a clear error; concurrent sessions on one server do not mix.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use mapping_core::net::{new_code, run_session, NetRole};
use mapping_core::party::Party;
use mapping_core::policy::SharingPolicy;
use mapping_core::{ingest, IngestOptions, KeyConfig, PreparedList};

fn party(csv: &str, max: u64) -> Party {
    let d = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
    let policy = SharingPolicy {
        max_peer_accounts: max,
        ..SharingPolicy::default()
    };
    Party::new(PreparedList::build(d, &KeyConfig::new()), policy).unwrap()
}

fn list(range: std::ops::Range<u32>) -> String {
    let mut s = String::from("Name,Website,Type\n");
    for i in range {
        s.push_str(&format!(
            "Company {i} Ltd,https://www.company{i}.com/,{}\n",
            if i % 2 == 0 { "Customer" } else { "Prospect" }
        ));
    }
    s
}

fn stream(s: TcpStream) -> TcpStream {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn pairs(m: &mapping_core::matching::Mapping, p: &Party) -> Vec<String> {
    let mut v: Vec<String> = m
        .pairs
        .iter()
        .map(|x| {
            format!(
                "{}|{}",
                p.list().accounts[x.own].account.row,
                x.partner_fields.iter().find(|(k, _)| k == "row").unwrap().1
            )
        })
        .collect();
    v.sort();
    v
}

fn in_process(a: &Party, b: &Party) -> (Vec<String>, Vec<String>) {
    let (ini, m1) = a.start().unwrap();
    let (resp, m2) = b.respond(&m1).unwrap();
    let (fin, m3) = a.finish(ini, &m2).unwrap();
    let (cmp, m4) = b.compare(resp, &m3).unwrap();
    let (dec, m5) = a.decide(fin, &m4).unwrap();
    let (mb, m6) = b.complete_responder(cmp, &m5).unwrap();
    let ma = a.complete_initiator(dec, &m6).unwrap();
    (pairs(&ma, a), pairs(&mb, b))
}

#[test]
fn session_over_tcp_equals_in_process() {
    let a = party(&list(0..300), 10_000);
    let b = party(&list(200..500), 10_000);
    let expected = in_process(&a, &b);
    assert_eq!(expected.0.len(), 100);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let code = new_code();
    let code2 = code.to_lowercase().replace('-', " ");
    let server = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let m = run_session(stream(s), NetRole::Responder, &b, &code2, |_| true, |_| {}).unwrap();
        pairs(&m, &b)
    });
    let mut seen = None;
    let m = run_session(
        stream(TcpStream::connect(addr).unwrap()),
        NetRole::Initiator,
        &a,
        &code,
        |d| {
            seen = Some(d.clone());
            true
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(pairs(&m, &a), expected.0);
    assert_eq!(server.join().unwrap(), expected.1);
    let seen = seen.unwrap();
    assert_eq!(seen.accounts, 300);
    assert_eq!(
        seen.populations,
        vec![("Customers".to_string(), 150), ("Prospects".to_string(), 150)]
    );
}

#[test]
fn wrong_code_is_refused_and_nothing_flows() {
    let a = party(&list(0..50), 1000);
    let b = party(&list(0..50), 1000);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut declared = false;
        let r = run_session(
            stream(s),
            NetRole::Responder,
            &b,
            "AAAA-BBBB-CCCC",
            |_| {
                declared = true;
                true
            },
            |_| {},
        );
        (r.map(|_| ()).unwrap_err().to_string(), declared)
    });
    let mut declared = false;
    let e = run_session(
        stream(TcpStream::connect(addr).unwrap()),
        NetRole::Initiator,
        &a,
        "AAAA-BBBB-CCCD",
        |_| {
            declared = true;
            true
        },
        |_| {},
    )
    .unwrap_err()
    .to_string();
    let (server_err, server_declared) = server.join().unwrap();
    assert!(e.contains("pairing codes do not match"), "{e}");
    assert!(server_err.contains("pairing codes do not match"), "{server_err}");
    assert!(
        !declared && !server_declared,
        "no declaration is seen with a wrong code"
    );
}

#[test]
fn oversized_partner_is_refused_before_data() {
    let a = party(&list(0..300), 10_000);
    let b = party(&list(0..50), 100);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        run_session(stream(s), NetRole::Responder, &b, "AAAA-BBBB-CCCC", |_| true, |_| {})
            .map(|_| ())
            .unwrap_err()
            .to_string()
    });
    let e = run_session(
        stream(TcpStream::connect(addr).unwrap()),
        NetRole::Initiator,
        &a,
        "AAAA-BBBB-CCCC",
        |_| true,
        |_| {},
    )
    .unwrap_err()
    .to_string();
    let server_err = server.join().unwrap();
    assert!(
        server_err.contains("declares 300 accounts, more than this side accepts (100)"),
        "{server_err}"
    );
    assert!(
        e.contains("the partner ended the session") && e.contains("more than this side accepts"),
        "{e}"
    );
}

#[test]
fn peer_that_drops_or_stalls_or_speaks_garbage() {
    let b = party(&list(0..50), 1000);
    // Drops right after connecting.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || drop(TcpStream::connect(addr).unwrap()));
    let (s, _) = listener.accept().unwrap();
    let e = run_session(stream(s), NetRole::Responder, &b, "AAAA-BBBB-CCCC", |_| true, |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("disconnected while pairing"), "{e}");
    // Stalls: connects and sends nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = thread::spawn(move || {
        let s = TcpStream::connect(addr).unwrap();
        thread::sleep(Duration::from_millis(1500));
        drop(s);
    });
    let (s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let e = run_session(s, NetRole::Responder, &b, "AAAA-BBBB-CCCC", |_| true, |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("stalled"), "{e}");
    hold.join().unwrap();
    // Speaks something else.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
    });
    let (s, _) = listener.accept().unwrap();
    let e = run_session(stream(s), NetRole::Responder, &b, "AAAA-BBBB-CCCC", |_| true, |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not speak the acctmap network protocol"), "{e}");
}

#[test]
fn concurrent_sessions_on_one_server_do_not_mix() {
    let server_party = std::sync::Arc::new(party(&list(0..400), 10_000));
    let c1 = party(&list(0..100), 10_000);
    let c2 = party(&list(300..600), 10_000);
    let e1 = in_process(&c1, &server_party).0;
    let e2 = in_process(&c2, &server_party).0;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sp = server_party.clone();
    let server = thread::spawn(move || {
        let mut handles = Vec::new();
        for _ in 0..2 {
            let (s, _) = listener.accept().unwrap();
            let sp = sp.clone();
            handles.push(thread::spawn(move || {
                run_session(stream(s), NetRole::Responder, &sp, "SAME-CODE-1234", |_| true, |_| {})
                    .unwrap()
                    .pairs
                    .len()
            }));
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    });
    let t1 = thread::spawn(move || {
        let m = run_session(
            stream(TcpStream::connect(addr).unwrap()),
            NetRole::Initiator,
            &c1,
            "SAME-CODE-1234",
            |_| true,
            |_| {},
        )
        .unwrap();
        pairs(&m, &c1)
    });
    let t2 = thread::spawn(move || {
        let m = run_session(
            stream(TcpStream::connect(addr).unwrap()),
            NetRole::Initiator,
            &c2,
            "SAME-CODE-1234",
            |_| true,
            |_| {},
        )
        .unwrap();
        pairs(&m, &c2)
    });
    assert_eq!(t1.join().unwrap(), e1);
    assert_eq!(t2.join().unwrap(), e2);
    let mut counts = server.join().unwrap();
    counts.sort();
    let mut want = vec![e1.len(), e2.len()];
    want.sort();
    assert_eq!(counts, want);
    assert_eq!((e1.len(), e2.len()), (100, 100));
}

//! A service that maps on request: the session is CPU-bound work, so it runs on a worker
//! thread, never on the thread that serves requests. With an async runtime the worker is
//! `tokio::task::spawn_blocking(move || ...)` and the channel an `oneshot`; the shape is the
//! same as here with `std::thread` and `std::sync::mpsc`. The rayon pool the library uses
//! for the curve work is chosen by the caller (`pool.install(|| ...)`).
//!
//!     cargo run -p mapping-core --example blocking_service

use std::sync::mpsc;

use mapping_core::party::Party;
use mapping_core::policy::SharingPolicy;
use mapping_core::psi::Message;
use mapping_core::{ingest, IngestOptions, KeyConfig, PreparedList};

/// One request: two lists as CSV text; the answer: decided pairs and review candidates.
fn map(a: String, b: String) -> mapping_core::Result<(usize, usize)> {
    let party = |csv: &str| -> mapping_core::Result<Party> {
        let data = ingest::read(csv.as_bytes(), "upload.csv", &IngestOptions::new())?;
        Party::new(PreparedList::build(data, &KeyConfig::new()), SharingPolicy::default())
    };
    let (a, b) = (party(&a)?, party(&b)?);
    // Each message crosses as bytes, as it would between two services.
    let wire = |m: Message| Message::decode_vec(m.into_bytes(), 1_000_000);
    let (ini, m1) = a.start()?;
    let (resp, m2) = b.respond(&wire(m1)?)?;
    let (fin, m3) = a.finish(ini, &wire(m2)?)?;
    let (cmp, m4) = b.compare(resp, &wire(m3)?)?;
    let (dec, m5) = a.decide(fin, &wire(m4)?)?;
    let (_, m6) = b.complete_responder(cmp, &wire(m5)?)?;
    let mapping = a.complete_initiator(dec, &wire(m6)?)?;
    Ok((mapping.pairs.len(), mapping.review.len()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;
    let (tx, rx) = mpsc::channel();
    let a = "Account Name,Website\nAcme Inc,acme.com\nGlobex,globex.com\n".to_owned();
    let b = "Company,Domain\nACME,https://www.acme.com/\nGlobex Corp,\nInitech,initech.com\n".to_owned();
    // The request handler hands the work off and waits without blocking its own thread's job.
    let worker = std::thread::spawn(move || {
        let answer = pool.install(|| map(a, b));
        let _ = tx.send(answer);
    });
    let (decided, review) = rx.recv()??;
    worker.join().map_err(|_| "worker panicked")?;
    println!("{decided} decided match(es), {review} for review");
    assert_eq!((decided, review), (1, 1));
    Ok(())
}

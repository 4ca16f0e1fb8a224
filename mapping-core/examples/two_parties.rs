//! Two partners, each with its own list, run a live session over an in-memory pipe: the
//! same protocol `acctmap serve` / `connect` run over TCP (SPAKE2 pairing from a code, an
//! encrypted channel, declarations checked, then the four messages with their proofs).
//!
//!     cargo run -p mapping-core --example two_parties

use std::os::unix::net::UnixStream;

use mapping_core::net::{new_code, run_session, NetRole};
use mapping_core::party::Party;
use mapping_core::policy::SharingPolicy;
use mapping_core::{ingest, IngestOptions, KeyConfig, PreparedList};

fn party(csv: &str) -> mapping_core::Result<Party> {
    let data = ingest::read(csv.as_bytes(), "list.csv", &IngestOptions::new())?;
    Party::new(PreparedList::build(data, &KeyConfig::new()), SharingPolicy::default())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vendor = party(
        "Account Name,Website,Billing Country,Type\n\
         Acme Inc,https://www.acme.com/,US,Customer\n\
         Globex,globex.com,DE,Prospect\n\
         Initech,initech.com,US,Customer\n",
    )?;
    let reseller = party(
        "Company name,Website URL,Country/Region,Lifecycle Stage\n\
         ACME,acme.com,United States,opportunity\n\
         Initech LLC,initech.com,US,customer\n\
         Hooli,hooli.com,US,lead\n",
    )?;
    // One code, read out on a call; in-memory sockets stand in for the network. Give real
    // sockets read and write timeouts.
    let code = new_code();
    let (a, b) = UnixStream::pair()?;
    let reseller_code = code.clone();
    let responder =
        std::thread::spawn(move || run_session(b, NetRole::Responder, &reseller, &reseller_code, |_| true, |_| {}));
    let mine = run_session(
        a,
        NetRole::Initiator,
        &vendor,
        &code,
        |d| d.accounts <= 10_000,
        |step| eprintln!("vendor: {step}"),
    )?;
    let theirs = responder.join().map_err(|_| "responder thread panicked")??;
    for pair in &mine.pairs {
        let name = vendor.list().accounts[pair.own]
            .account
            .name
            .clone()
            .unwrap_or_default();
        println!(
            "{name} is the reseller's {} ({}): {}",
            pair.partner_population,
            pair.decision.explain(),
            pair.partner_fields
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    assert_eq!(mine.pairs.len(), theirs.pairs.len(), "both sides see the same pairs");
    Ok(())
}

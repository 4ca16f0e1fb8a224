//! Issue 14: a partnership over three sessions, on lists that change between them (rows
//! added and removed, populations moved on both sides, a row without a record id whose
//! website changed); each session's changes are checked exactly.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

mod common;

use mapping_core::history::{self, ChangeKind, History};
use mapping_core::party::Party;
use mapping_core::policy::SharingPolicy;
use mapping_core::report::Report;
use mapping_core::{ingest, IngestOptions, KeyConfig, PreparedList};

const HEADER: &str = "Account ID,Account Name,Website,Billing Country,Type\n";

fn party(rows: &[&str]) -> Party {
    let csv = format!("{HEADER}{}\n", rows.join("\n"));
    let d = ingest::read(csv.as_bytes(), "list.csv", &IngestOptions::new()).unwrap();
    Party::new(PreparedList::build(d, &KeyConfig::new()), SharingPolicy::default()).unwrap()
}

/// Runs a session and keeps it; returns the changes against the previous one.
fn session(history: &History, ours: &[&str], theirs: &[&str], at: u64) -> Option<history::Changes> {
    let (a, b) = (party(ours), party(theirs));
    let (ma, _) = common::session(&a, &b);
    let report = Report::build(a.list(), &ma).unwrap();
    let record = history::record_of("Globex", a.list(), &ma, &report, a.policy(), at);
    let changes = history
        .last("Globex")
        .unwrap()
        .map(|before| history::changes(&before, &record));
    history.record(&record).unwrap();
    changes
}

fn kinds(c: &history::Changes) -> Vec<(ChangeKind, String, String, String, String)> {
    c.rows
        .iter()
        .map(|r| {
            (
                r.kind,
                r.own_key.clone(),
                r.partner_key.clone(),
                format!("{}>{}", r.own_population_before, r.own_population_now),
                format!("{}>{}", r.partner_population_before, r.partner_population_now),
            )
        })
        .collect()
}

#[test]
fn three_sessions_report_exactly_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path().join("h")).unwrap();
    let ours1 = [
        "A1,Acme Inc,acme.com,US,Customer",
        "A2,Globex Corp,globex.com,US,Prospect",
        "A3,Initech LLC,initech.com,US,Prospect",
        ",Umbrella Corp,umbrella.com,US,Customer",
    ];
    let theirs1 = [
        "B1,Acme,acme.com,US,Customer",
        "B2,Globex,globex.com,US,Prospect",
        "B3,Initech,initech.com,US,Customer",
        "B4,Umbrella,umbrella.com,US,Prospect",
    ];
    assert!(
        session(&history, &ours1, &theirs1, 1_000).is_none(),
        "nothing to compare the first time"
    );

    // Theirs: Globex became a customer, Initech is gone, Hooli is new. Ours: Acme is a
    // prospect now, and Hooli is new.
    let ours2 = [
        "A1,Acme Inc,acme.com,US,Prospect",
        "A2,Globex Corp,globex.com,US,Prospect",
        "A3,Initech LLC,initech.com,US,Prospect",
        ",Umbrella Corp,umbrella.com,US,Customer",
        "A5,Hooli,hooli.com,US,Prospect",
    ];
    let theirs2 = [
        "B1,Acme,acme.com,US,Customer",
        "B2,Globex,globex.com,US,Customer",
        "B4,Umbrella,umbrella.com,US,Prospect",
        "B5,Hooli Inc,hooli.com,US,Customer",
    ];
    let c = session(&history, &ours2, &theirs2, 2_000).unwrap();
    assert_eq!(c.since, "1970-01-01T00:16:40Z");
    assert_eq!(
        (c.new_overlaps, c.gone, c.partner_moves, c.own_moves, c.not_followed),
        (1, 1, 1, 1, 0)
    );
    let s = |x: &str| x.to_string();
    assert_eq!(
        kinds(&c),
        vec![
            (
                ChangeKind::PartnerMoved,
                s("id:A2"),
                s("id:B2"),
                s("Prospects>Prospects"),
                s("Prospects>Customers")
            ),
            (
                ChangeKind::NewOverlap,
                s("id:A5"),
                s("id:B5"),
                s(">Prospects"),
                s(">Customers")
            ),
            (
                ChangeKind::OwnMoved,
                s("id:A1"),
                s(""),
                s("Customers>Prospects"),
                s(">")
            ),
            (
                ChangeKind::OverlapGone,
                s("id:A3"),
                s("id:B3"),
                s("Prospects>"),
                s("Customers>")
            ),
        ]
    );

    // Ours: Umbrella (no record id) has a new website, so its keys changed: it cannot be
    // followed, and its overlap is new under its new keys. Nothing else changed.
    let mut ours3 = ours2;
    ours3[3] = ",Umbrella Corp,umbrella-group.com,US,Customer";
    let mut theirs3 = theirs2;
    theirs3[2] = "B4,Umbrella,umbrella-group.com,US,Prospect";
    let c = session(&history, &ours3, &theirs3, 3_000).unwrap();
    assert_eq!(
        (c.new_overlaps, c.gone, c.partner_moves, c.own_moves, c.not_followed),
        (1, 0, 0, 0, 1)
    );
    assert_eq!(c.rows.len(), 1);
    assert_eq!(c.rows[0].kind, ChangeKind::NewOverlap);
    assert_eq!(c.rows[0].partner_name, "Umbrella");
    assert!(c.rows[0].own_key.starts_with("keys:"), "{:?}", c.rows[0]);
    assert!(c
        .line()
        .contains("1 earlier row(s) without a record id could not be followed"));

    // Three sessions kept, owner-only, and the accounts view across partners.
    assert_eq!(history.sessions("Globex").unwrap().len(), 3);
    #[cfg(unix)]
    for f in history.sessions("Globex").unwrap() {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let latest = history.partners().unwrap();
    assert_eq!(latest.len(), 1);
    // The policy and mode are kept as the session ran them.
    assert_eq!(latest[0].mode, mapping_core::psi::Mode::Matches);
    assert!(latest[0]
        .policy
        .contains(&(s("Customers"), mapping_core::policy::Share::Overlaps)));
    let accounts = history::accounts_across(&latest);
    assert_eq!(accounts.len(), 4);
    let hooli = accounts.iter().find(|a| a.key == "id:A5").unwrap();
    assert_eq!(hooli.partners, vec![(s("Globex"), vec![s("Customers")])]);
}

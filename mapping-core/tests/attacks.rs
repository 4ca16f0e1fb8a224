//! A partner who writes its own messages (issue 11). Each test is one way to lie, built from
//! an honest run that the attacker then changes (and reseals, so the checksum holds): each
//! passes only when the lie gains nothing, that is the victim stops with an error and
//! releases no records and no pairs.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

use mapping_core::matching::Mapping;
use mapping_core::party::{Finished, Party, Responded};
use mapping_core::policy::SharingPolicy;
use mapping_core::psi::{Initiator, Message, Mode, PartyInput, PsiConfig, Responder};
use mapping_core::{ingest, IngestOptions, KeyConfig, KeyType, MatchKey, PreparedList};

fn list(rows: usize) -> PreparedList {
    let mut csv = String::from("Account Name,Website,Type\n");
    for i in 0..rows {
        csv.push_str(&format!("Company{i} Inc,https://www.company{i}.com/,Customer\n"));
    }
    let d = ingest::read(csv.as_bytes(), "list.csv", &IngestOptions::new()).unwrap();
    PreparedList::build(d, &KeyConfig::new())
}

fn party(rows: usize, max_peer: u64) -> Party {
    let policy = SharingPolicy {
        max_peer_accounts: max_peer,
        ..SharingPolicy::default()
    };
    Party::new(list(rows), policy).unwrap()
}

fn wire(m: &Message) -> Message {
    Message::decode(&m.encode(), u64::MAX).unwrap()
}

/// The rest of an honest session from message 3: steps 4 to 6.
fn rest(a: &Party, b: &Party, fin: Finished, resp: Responded, m3: &Message) -> (Mapping, Mapping) {
    let (cmp, m4) = b.compare(resp, &wire(m3)).unwrap();
    let (dec, m5) = a.decide(fin, &wire(&m4)).unwrap();
    let (mb, m6) = b.complete_responder(cmp, &wire(&m5)).unwrap();
    let ma = a.complete_initiator(dec, &wire(&m6)).unwrap();
    (ma, mb)
}

/// Review finding 1: a one-account initiator returns the first value of message 2 in every
/// position of message 3. Before the fix the responder matched 2,973 of its 3,000 accounts
/// and sent their records; now message 3's proofs fail and nothing is released.
#[test]
fn forged_message_3_releases_nothing() {
    let attacker = party(1, 10_000);
    let victim = party(3000, 10);
    let (ini, m1) = attacker.start().unwrap();
    let (resp, m2) = victim.respond(&wire(&m1)).unwrap();
    let (_, honest3) = attacker.finish(ini, &wire(&m2)).unwrap();
    let mut forged = honest3.clone();
    let first = m2.returned[..32].to_vec();
    forged.returned = first.repeat(forged.returned.len() / 32);
    let e = victim.compare(resp, &wire(&forged)).unwrap_err().to_string();
    assert!(e.contains("message 3: proof 0") && e.contains("does not hold"), "{e}");
}

/// The same forgery with the proofs left out, or with one flipped bit in an honest proof.
#[test]
fn message_3_without_valid_proofs_is_refused() {
    let attacker = party(1, 10_000);
    let victim = party(50, 10);
    for lie in 0..3 {
        let (ini, m1) = attacker.start().unwrap();
        let (resp, m2) = victim.respond(&wire(&m1)).unwrap();
        let (_, mut m3) = attacker.finish(ini, &wire(&m2)).unwrap();
        match lie {
            0 => m3.proofs.clear(),
            1 => m3.proofs[40] ^= 4,
            _ => {
                // A value of the right form, but for another partner point.
                let v = m3.returned[32..64].to_vec();
                m3.returned[..32].copy_from_slice(&v);
            }
        }
        let e = victim.compare(resp, &wire(&m3)).unwrap_err().to_string();
        assert!(
            e.contains("proofs for its returned values") || e.contains("does not hold"),
            "lie {lie}: {e}"
        );
    }
}

/// Review finding 2: a message 2 of identity points whose returned values are all zero made
/// `finish` match every account (`a·0 = 0`), and message 3 carried every record.
#[test]
fn identity_points_and_values_are_refused() {
    let victim = party(3000, 10_000);
    let attacker = party(1, 10_000);
    for lie in 0..3 {
        let (ini, m1) = victim.start().unwrap();
        let (_, mut m2) = attacker.respond(&wire(&m1)).unwrap();
        match lie {
            0 => {
                m2.points.iter_mut().for_each(|b| *b = 0);
                m2.returned.iter_mut().for_each(|b| *b = 0);
            }
            1 => m2.points.iter_mut().for_each(|b| *b = 0),
            _ => m2.returned[32 * 5..32 * 6].iter_mut().for_each(|b| *b = 0),
        }
        let e = victim.finish(ini, &wire(&m2)).unwrap_err().to_string();
        assert!(
            e.contains("is not a valid ristretto255 encoding (or is the identity)"),
            "lie {lie}: {e}"
        );
    }
}

/// A commitment that is the identity (zero) is refused by the decoder, one that is not a
/// point by the session.
#[test]
fn bad_commitments_are_refused() {
    let p = party(3, 100);
    let (_, mut m1) = p.start().unwrap();
    m1.commitment = [0; 32];
    let e = Message::decode(&m1.encode(), 100).unwrap_err().to_string();
    assert!(e.contains("must carry the sender's key commitment"), "{e}");
    m1.commitment = [0xff; 32];
    let e = p.respond(&wire(&m1)).unwrap_err().to_string();
    assert!(e.contains("key commitment is not a valid group element"), "{e}");
}

/// A responder that blinds with one key but commits to another (or proves with a third)
/// gains nothing: its values fail the proofs against its commitment.
#[test]
fn commitment_of_another_key_is_refused() {
    let victim = party(40, 10_000);
    let attacker = party(40, 10_000);
    let (ini, m1) = victim.start().unwrap();
    let (_, mut m2) = attacker.respond(&wire(&m1)).unwrap();
    let (_, other) = attacker.respond(&wire(&m1)).unwrap();
    m2.commitment = other.commitment;
    let e = victim.finish(ini, &wire(&m2)).unwrap_err().to_string();
    assert!(e.contains("message 2: proof 0") && e.contains("does not hold"), "{e}");
}

/// In counts-only mode the values come back shuffled within population groups; a partner
/// that blinds them with another key than its commitment is caught by the group proofs.
#[test]
fn counts_only_values_of_another_key_are_refused() {
    let mut input = PartyInput::new();
    for i in 0..30u32 {
        let pop = if i % 3 == 0 { "Customers" } else { "Prospects" };
        input.push(
            pop,
            vec![MatchKey {
                kind: KeyType::Domain,
                value: format!("c{i}.com"),
            }],
        );
    }
    let cfg = PsiConfig::new().slots(1).unwrap().mode(Mode::CountsOnly);
    let (ini, m1) = Initiator::start(&input, &cfg).unwrap();
    let (_, mut m2) = Responder::respond(&input, &cfg, &m1).unwrap();
    let (_, other) = Responder::respond(&input, &cfg, &m1).unwrap();
    // The other run's values, with this run's commitment and proofs.
    m2.returned = other.returned;
    let e = ini.finish(&wire(&m2)).unwrap_err().to_string();
    assert!(e.contains("does not hold"), "{e}");
}

/// Review finding: a message of one value repeated made `match_slots` build one entry per
/// equal pair (29 s, 3.4 GB for 3,000 accounts). A partner value in more slots than the
/// partner has accounts is refused before any pair is built.
#[test]
fn a_value_repeated_beyond_the_partner_accounts_is_refused() {
    let victim = party(3000, 10_000);
    let attacker = party(3000, 10_000);
    let (ini, m1) = victim.start().unwrap();
    let (_, mut m2) = attacker.respond(&wire(&m1)).unwrap();
    // The attacker's own points are its input; the returned values stay honest and proven.
    let first = m2.points[..32].to_vec();
    m2.points = first.repeat(m2.points.len() / 32);
    let e = victim.finish(ini, &wire(&m2)).unwrap_err().to_string();
    assert!(
        e.contains("occurs in 6000 of its slots, but it has 3000 accounts"),
        "{e}"
    );
}

/// Lists that are all one key pass the repetition check (a key once per account) but would
/// make every pair: the pair limit stops them, counting no further than the limit.
#[test]
fn more_pairs_than_the_limit_are_refused() {
    let mut input = PartyInput::new();
    for _ in 0..300 {
        input.push(
            "Customers",
            vec![MatchKey {
                kind: KeyType::Domain,
                value: "same.com".into(),
            }],
        );
    }
    let strict = PsiConfig::new().slots(1).unwrap().max_pair_factor(64);
    let loose = strict.clone().max_pair_factor(1000);
    // The initiator refuses message 2.
    let (ini, m1) = Initiator::start(&input, &strict).unwrap();
    let (_, m2) = Responder::respond(&input, &loose, &m1).unwrap();
    let e = ini.finish(&m2).unwrap_err().to_string();
    assert!(e.contains("more than 19200 matched slot pairs"), "{e}");
    // The responder refuses message 3.
    let (ini, m1) = Initiator::start(&input, &loose).unwrap();
    let (resp, m2) = Responder::respond(&input, &strict, &m1).unwrap();
    let (_, m3) = ini.finish(&m2).unwrap();
    let e = resp.complete(&m3).unwrap_err().to_string();
    assert!(e.contains("more than 19200 matched slot pairs"), "{e}");
    // With a factor that allows them, the 90,000 pairs are all found.
    let (ini, m1) = Initiator::start(&input, &loose).unwrap();
    let (resp, m2) = Responder::respond(&input, &loose, &m1).unwrap();
    let (ra, m3) = ini.finish(&m2).unwrap();
    let rb = resp.complete(&m3).unwrap();
    assert_eq!((ra.matches.len(), rb.matches.len()), (90_000, 90_000));
}

/// Values and proofs of another session (same lists, same partner) are refused: the
/// transcript and the proofs' context bind each message to its session.
#[test]
fn message_3_from_another_session_is_refused() {
    let a = party(20, 10_000);
    let b = party(20, 10_000);
    let (ini1, m1a) = a.start().unwrap();
    let (_, m2a) = b.respond(&wire(&m1a)).unwrap();
    let (_, m3a) = a.finish(ini1, &wire(&m2a)).unwrap();
    let (ini2, m1b) = a.start().unwrap();
    let (resp2, m2b) = b.respond(&wire(&m1b)).unwrap();
    drop(ini2);
    let mut moved = m3a.clone();
    moved.session = m2b.session;
    moved.previous = m2b.transcript();
    let e = b.compare(resp2, &wire(&moved)).unwrap_err().to_string();
    assert!(e.contains("does not hold"), "{e}");
}

/// Issue 10: both sides run the same decision rule over the same candidates, so records come
/// only for pairs it keeps. A partner who sends a record for a candidate the rule rejects
/// (the same name, but a different domain and country) decided otherwise, or lies: its
/// records are refused, and nothing is reported.
#[test]
fn a_record_for_a_rejected_candidate_is_refused() {
    let build = |csv: &str| {
        let d = ingest::read(csv.as_bytes(), "list.csv", &IngestOptions::new()).unwrap();
        Party::new(PreparedList::build(d, &KeyConfig::new()), SharingPolicy::default()).unwrap()
    };
    let attacker = build(
        "Account Name,Website,Billing Country,Type\nAcme Inc,acme.com,US,Customer\nGlobex,globex.com,US,Customer\n",
    );
    let victim = build("Account Name,Website,Billing Country,Type\nAcme GmbH,acme-gruppe.de,Germany,Customer\nGlobex,globex.com,US,Customer\n");
    let (ini, m1) = attacker.start().unwrap();
    let (resp, m2) = victim.respond(&wire(&m1)).unwrap();
    let (fin, m3) = attacker.finish(ini, &wire(&m2)).unwrap();
    let (cmp, m4) = victim.compare(resp, &wire(&m3)).unwrap();
    let saved = cmp.save();
    let (_, honest5) = attacker.decide(fin, &wire(&m4)).unwrap();
    // The honest message 5 carries one record: Globex's. Acme is a candidate (NAME is
    // equal) that the rule rejects: the pair round shows both hold a domain and a country
    // and neither is equal: name +10, domain -8, country -5.
    let records: Vec<serde_json::Value> = serde_json::from_slice(&honest5.records).unwrap();
    assert_eq!(records.len(), 1);
    let globex = records[0]["account"].as_u64().unwrap();
    let mut forged = honest5.clone();
    let mut more = records.clone();
    more.push(serde_json::json!({"account": 1 - globex, "fields": [["row", "1"]]}));
    forged.records = serde_json::to_vec(&more).unwrap();
    let e = victim.complete_responder(cmp, &wire(&forged)).unwrap_err().to_string();
    assert!(e.contains("a pair the decision rule rejects"), "{e}");
    // Honest, the victim reports Globex and nothing of Acme.
    let cmp = mapping_core::party::Compared::load(&saved).unwrap();
    let (mapping, _) = victim.complete_responder(cmp, &wire(&honest5)).unwrap();
    assert_eq!((mapping.pairs.len(), mapping.review.len()), (1, 0));
}

/// A list whose first `prospects` rows are prospects, the rest customers.
fn mixed(rows: usize, prospects: usize, policy: &str) -> Party {
    let mut csv = String::from("Account Name,Website,Type\n");
    for i in 0..rows {
        let kind = if i < prospects { "Prospect" } else { "Customer" };
        csv.push_str(&format!("Company{i} Inc,https://www.company{i}.com/,{kind}\n"));
    }
    let d = ingest::read(csv.as_bytes(), "list.csv", &IngestOptions::new()).unwrap();
    Party::new(
        PreparedList::build(d, &KeyConfig::new()),
        SharingPolicy::from_toml(policy, "policy.toml").unwrap(),
    )
    .unwrap()
}

const PROSPECTS_COUNTED: &str = "[population.\"Prospects\"]\nshare = \"counts\"\n";

/// Issue 14: a side that counts a population gets its counts from a second sub-session. A
/// partner that leaves it out of its reply, or answers a counts part nobody started, is
/// refused before anything is released; so is one that drops it from message 3 or 4.
#[test]
fn a_missing_or_unasked_counts_part_is_refused() {
    let counting = mixed(40, 10, PROSPECTS_COUNTED);
    let plain = mixed(40, 10, "");
    // The responder (plain) must start the counts part: the initiator counts prospects.
    let (ini, m1) = counting.start().unwrap();
    assert_eq!(m1.counted, vec![("Prospects".to_string(), 10)]);
    let (_, mut m2) = plain.respond(&wire(&m1)).unwrap();
    assert!(m2.counts.is_some());
    m2.counts = None;
    let e = counting.finish(ini, &wire(&m2)).unwrap_err().to_string();
    assert!(e.contains("lacks the counts part"), "{e}");
    // Between two plain sides no counts part is asked for.
    let (ini, m1) = plain.start().unwrap();
    let (_, mut m2) = plain.respond(&wire(&m1)).unwrap();
    assert!(m2.counts.is_none());
    let (_, counted_m1) = counting.start().unwrap();
    let (_, with_counts) = plain.respond(&wire(&counted_m1)).unwrap();
    m2.counts = with_counts.counts;
    let e = plain.finish(ini, &wire(&m2)).unwrap_err().to_string();
    assert!(e.contains("neither side counts a population"), "{e}");
    // Message 3 and 4 without their counts parts.
    let (ini, m1) = plain.start().unwrap();
    let (resp, m2) = counting.respond(&wire(&m1)).unwrap();
    let (fin, m3) = plain.finish(ini, &wire(&m2)).unwrap();
    let mut no_counts = m3.clone();
    no_counts.counts = None;
    let saved = resp.save();
    let e = counting.compare(resp, &wire(&no_counts)).unwrap_err().to_string();
    assert!(e.contains("message 3") && e.contains("lacks the counts part"), "{e}");
    let resp = mapping_core::party::Responded::load(&saved).unwrap();
    let (_, mut m4) = counting.compare(resp, &wire(&m3)).unwrap();
    m4.counts = None;
    let e = plain.decide(fin, &wire(&m4)).unwrap_err().to_string();
    assert!(e.contains("message 4") && e.contains("lacks the counts part"), "{e}");
}

/// Issue 14: the counted cells' pairs are unlinkable. The counts sub-session uses keys of
/// its own, so no value a side sends there equals one it sends in the matches part (with
/// one key for both, the partner would link its counts matches to the paired accounts);
/// and its returned values come back shuffled, so the values a side gets back in the
/// counts part are not in the order it sent them.
#[test]
fn the_counts_sub_session_shares_no_value_with_the_matches_part() {
    let counting = mixed(300, 100, PROSPECTS_COUNTED);
    let plain = mixed(300, 100, "");
    let (ini, m1) = plain.start().unwrap();
    let (resp, m2) = counting.respond(&wire(&m1)).unwrap();
    let c1 = m2.counts.as_deref().unwrap();
    // The counting side's counts part holds its 100 prospects (the partner counts none, so
    // its customers need no count), its matches part its 200 customers.
    assert_eq!((c1.accounts(), m2.accounts()), (100, 200));
    let values = |b: &[u8]| -> std::collections::BTreeSet<Vec<u8>> { b.chunks(32).map(|c| c.to_vec()).collect() };
    assert!(values(&c1.points).is_disjoint(&values(&m2.points)));
    assert_ne!(c1.commitment, m2.commitment);
    let (fin, m3) = plain.finish(ini, &wire(&m2)).unwrap();
    let c2 = m3.counts.as_deref().unwrap();
    // The plain side's counts part holds all its 300 accounts (each may meet a prospect).
    assert_eq!(c2.accounts(), 300);
    assert!(values(&c2.points).is_disjoint(&values(&m1.points)));
    assert!(values(&c2.returned).is_disjoint(&values(&m3.returned)));
    let (ma, mb) = rest(&plain, &counting, fin, resp, &m3);
    // Every account matches its twin: 200 customer pairs, 100 prospect counts.
    assert_eq!((ma.pairs.len(), mb.pairs.len()), (200, 200));
    assert_eq!((ma.pair_total(), ma.counted_total()), (200, 100));
    assert!(mb.pairs.iter().all(|p| p.partner_population == "Customers"));
    let prospects = mb.own_populations.iter().position(|(l, _)| l == "Prospects").unwrap();
    assert_eq!(mb.pair_counts[prospects].iter().sum::<u64>(), 100);
    assert!(mb.counted_cells[prospects].iter().all(|c| *c));
}

/// A live responder sends a preview of message 2 (its points) ahead of the rest, and the
/// initiator blinds those points at once (docs/protocol.md, "Live sessions"). A responder
/// whose message 2 then carries other points, or the same points under other population
/// sizes, gets nothing: the blinding done ahead is not used and no message 3 is made. The
/// honest preview gives the very message 3 a strict round gives.
#[test]
fn a_message_2_unlike_its_preview_is_refused() {
    let initiator = party(30, 10_000);
    let responder = party(40, 10_000);
    let (ini, m1) = initiator.start().unwrap();
    let m1 = wire(&m1);
    let prepared = responder.prepare_responder(m1.accounts()).unwrap();
    let preview = wire(&responder.preview(&prepared, &m1).unwrap());
    let (resp, m2) = responder.respond_prepared(prepared, &m1).unwrap();
    let m2 = wire(&m2);
    assert_eq!((&preview.points, &preview.populations), (&m2.points, &m2.populations));
    assert!(preview.returned.is_empty() && preview.proofs.is_empty());
    let ahead = initiator.blind_ahead(&ini, &preview).unwrap();
    let (fin, m3) = initiator.finish_with(ini, &m2, Some(ahead)).unwrap();
    let (i_view, r_view) = rest(&initiator, &responder, fin, resp, &m3);
    // Companies 0 to 29 are on both lists: the values blinded ahead pair all of them.
    assert_eq!((i_view.pairs.len(), r_view.pairs.len()), (30, 30));
    for lie in 0..2 {
        let (ini, m1) = initiator.start().unwrap();
        let m1 = wire(&m1);
        let prepared = responder.prepare_responder(m1.accounts()).unwrap();
        let mut preview = responder.preview(&prepared, &m1).unwrap();
        let (_, m2) = responder.respond_prepared(prepared, &m1).unwrap();
        match lie {
            // Other points (one slot's point moved to another slot).
            0 => {
                let second = preview.points[32..64].to_vec();
                preview.points[..32].copy_from_slice(&second);
            }
            // The same points under other population sizes (one account moved).
            _ => {
                let (label, n) = preview.populations[0].clone();
                preview.populations = vec![(label, n - 1), ("Other".into(), 1)];
            }
        }
        let ahead = initiator.blind_ahead(&ini, &wire(&preview)).unwrap();
        let e = initiator
            .finish_with(ini, &wire(&m2), Some(ahead))
            .unwrap_err()
            .to_string();
        assert!(e.contains("message 2 differs from the preview"), "lie {lie}: {e}");
    }
}

/// Two lists of companies without domains, each named once on both sides with a country:
/// every pair is a candidate by NAME only, so the pair round compares every one.
fn named(rows: usize) -> Party {
    let mut csv = String::from("Account Name,Billing Country,Type\n");
    for i in 0..rows {
        csv.push_str(&format!("Firm{i} GmbH,Germany,Customer\n"));
    }
    let d = ingest::read(csv.as_bytes(), "list.csv", &IngestOptions::new()).unwrap();
    Party::new(PreparedList::build(d, &KeyConfig::new()), SharingPolicy::default()).unwrap()
}

/// Issue 10's pair round: a responder that answers it for another number of candidates than
/// the first round found (to probe more pairs, or to leave some out) is refused before the
/// initiator decides anything; so is a message 5 without the pair round's last values.
#[test]
fn a_pair_round_of_other_entries_is_refused() {
    let a = named(6);
    let b = named(6);
    let (ini, m1) = a.start().unwrap();
    let (resp, m2) = b.respond(&wire(&m1)).unwrap();
    let (fin, m3) = a.finish(ini, &wire(&m2)).unwrap();
    assert_eq!(fin.candidates(), 6);
    assert_eq!(m3.pairs.as_ref().unwrap().accounts(), 6);
    // The responder's honest reply, with one entry dropped (its points and populations).
    let (cmp, honest4) = b.compare(resp, &wire(&m3)).unwrap();
    let mut fewer = honest4.clone();
    let part = fewer.pairs.as_mut().unwrap();
    part.points
        .truncate(part.points.len() - usize::from(mapping_core::compare::PAIR_SLOTS) * 32);
    part.populations[0].1 -= 1;
    let saved = fin.save();
    let e = a.decide(fin, &wire(&fewer)).unwrap_err().to_string();
    assert!(
        e.contains("message 4") && e.contains("5 entries") && e.contains("6 candidate pairs"),
        "{e}"
    );
    // Honest message 4; then a message 5 whose pair part is gone.
    let fin = Finished::load(&saved).unwrap();
    let (_, m5) = a.decide(fin, &wire(&honest4)).unwrap();
    let compared = cmp.save();
    let mut bare = m5.clone();
    bare.pairs = None;
    let e = b.complete_responder(cmp, &wire(&bare)).unwrap_err().to_string();
    assert!(e.contains("message 5") && e.contains("lacks the pair part"), "{e}");
    // Messages 4 to 6 are checked as the first round's are: a message 5 that answers
    // another message, or that changes the session's slots, is refused.
    let mut replayed = m5.clone();
    replayed.previous = [9; 16];
    let cmp = mapping_core::party::Compared::load(&compared).unwrap();
    let e = b.complete_responder(cmp, &wire(&replayed)).unwrap_err().to_string();
    assert!(e.contains("answers another run of this session"), "{e}");
    let mut resized = m5.clone();
    resized.slots = 3;
    let cmp = mapping_core::party::Compared::load(&compared).unwrap();
    let e = b.complete_responder(cmp, &wire(&resized)).unwrap_err().to_string();
    assert!(e.contains("uses 3 slots per account, this side 2"), "{e}");
}

/// A responder that returns the initiator's pair-round values as it likes (to make an
/// agreement appear: every value the first one) fails the pair round's proofs; one that
/// moves its own values to another candidate's entry is caught by the binding to the pair.
#[test]
fn a_forged_pair_round_is_refused() {
    let a = named(5);
    let b = named(5);
    for lie in 0..2 {
        let (ini, m1) = a.start().unwrap();
        let (resp, m2) = b.respond(&wire(&m1)).unwrap();
        let (fin, m3) = a.finish(ini, &wire(&m2)).unwrap();
        let (_, mut m4) = b.compare(resp, &wire(&m3)).unwrap();
        let part = m4.pairs.as_mut().unwrap();
        match lie {
            0 => {
                let first = part.returned[..32].to_vec();
                part.returned = first.repeat(part.returned.len() / 32);
            }
            _ => {
                // Entries 0 and 1 swap their three values.
                let (x, y) = part.points.split_at_mut(3 * 32);
                x.swap_with_slice(&mut y[..3 * 32]);
            }
        }
        let e = a.decide(fin, &wire(&m4)).unwrap_err().to_string();
        let want = if lie == 0 {
            "does not hold"
        } else {
            "not bound to their pairs"
        };
        assert!(e.contains(want), "lie {lie}: {e}");
    }
}

/// The pair round decides: two companies of one name, one in Germany and one in France,
/// without domains. The first round pairs them (NAME); the pair round shows both hold a
/// country and the countries differ, so neither side decides the pair (a rare name with a
/// country against it is left for review, 10 - 5); the same name in one country is a match
/// on both sides.
#[test]
fn the_pair_round_shows_a_country_disagreement_to_both_sides() {
    let build = |csv: &str| {
        let d = ingest::read(csv.as_bytes(), "list.csv", &IngestOptions::new()).unwrap();
        Party::new(PreparedList::build(d, &KeyConfig::new()), SharingPolicy::default()).unwrap()
    };
    let a = build("Account Name,Billing Country,Type\nSummit Bank,Germany,Customer\nOrbis Labs,Spain,Customer\n");
    let b = build("Account Name,Billing Country,Type\nSummit Bank,France,Customer\nOrbis Labs,ES,Customer\n");
    let (ini, m1) = a.start().unwrap();
    let (resp, m2) = b.respond(&wire(&m1)).unwrap();
    let (fin, m3) = a.finish(ini, &wire(&m2)).unwrap();
    assert_eq!(fin.candidates(), 2);
    let (ma, mb) = rest(&a, &b, fin, resp, &m3);
    for m in [&ma, &mb] {
        assert_eq!((m.pairs.len(), m.review.len()), (1, 1));
        let why = m.pairs[0].decision.explain();
        assert!(
            why.contains("country=agree(+3)") && why.contains("domain=missing"),
            "{why}"
        );
        let why = m.review[0].decision.explain();
        assert!(why.contains("country=disagree(-5)"), "{why}");
    }
}

/// A partner that gives all its accounts one name of ours makes a candidate of every pair
/// (ten of its accounts against ten of ours: 100 candidates; each would cost three more
/// slots in the pair round). Both sides refuse before the pair round, at more than 4
/// candidates per first-round slot of the smaller list (here 80).
#[test]
fn a_candidate_flood_is_refused_before_the_pair_round() {
    let build = |csv: String| {
        let d = ingest::read(csv.as_bytes(), "list.csv", &IngestOptions::new()).unwrap();
        Party::new(PreparedList::build(d, &KeyConfig::new()), SharingPolicy::default()).unwrap()
    };
    let rows = |prefix: &str| -> String {
        let mut csv = String::from("Account Name,Website,Type\n");
        for i in 0..10 {
            csv.push_str(&format!("Acme,{prefix}{i}.com,Customer\n"));
        }
        csv
    };
    let (victim, attacker) = (build(rows("v")), build(rows("x")));
    let (ini, m1) = attacker.start().unwrap();
    let (resp, m2) = victim.respond(&wire(&m1)).unwrap();
    let e = attacker.finish(ini, &wire(&m2)).unwrap_err().to_string();
    assert!(e.contains("found 100 candidate pairs to compare, more than 80"), "{e}");
    // The victim refuses too, whatever the attacker's own step 3 does.
    let (ini, m1) = victim.start().unwrap();
    let (resp2, m2) = attacker.respond(&wire(&m1)).unwrap();
    drop((resp, resp2));
    let e = victim.finish(ini, &wire(&m2)).unwrap_err().to_string();
    assert!(e.contains("found 100 candidate pairs"), "{e}");
}

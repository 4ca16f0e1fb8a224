//! The pair round: between [`crate::psi`] (candidate pairs: accounts that share a key) and
//! [`crate::decide`] (which candidates are matches).
//!
//! The first round finds candidates by equal keys (`DOMAIN`, `BRAND_NAME`, `NAME`), and so
//! sees only agreements. Whether two candidates *disagree* (both hold a country and the
//! countries differ; both hold a domain and the domains differ) needs their attributes, and
//! only theirs: this round compares them for the candidate pairs of the first round and
//! for no other account. It is a second run of the same private-set-intersection machinery
//! ([`crate::psi`]: fresh keys, commitments, batched DLEQ proofs), over a list whose entries
//! are the candidate pairs, in an order both sides know (by the initiator's position, then
//! the responder's), each with [`PAIR_SLOTS`] values bound to the session and the pair
//! (candidates whose `DOMAIN` key matched are decided without it: [`compared`]):
//!
//! - `PAIR_DOMAIN_HELD`: whether the account holds no domain, one, or several (`d0`, `d1`,
//!   `d2`; with several, only as many were keyed as there were slots, so their differing is
//!   not shown);
//! - `PAIR_COUNTRY_HELD`: whether it holds a country (`c0`, `c1`);
//! - `PAIR_COUNTRY`: its country, when it has one;
//! - `PAIR_BRAND`: the brand label of its first organisation domain, when it has one.
//!
//! The two presence values are separate slots so that one side lacking a country does not
//! hide that both hold a domain and the domains differ (or the reverse).
//!
//! An absent value is a random point, like first-round padding: the partner cannot tell it
//! from a value that differs. Equal values are equal on both sides, so both learn, for each
//! candidate pair, the same four bits ([`Agreement`]), and the decision rule reads them
//! alike. The cost is in proportion to the candidate pairs, not to the lists.
//!
//! What a partner that writes its own entries can do: put other values in its slots (four
//! guesses per candidate pair, never for an account that is not a candidate), or values bound
//! to another pair. The entries are not shuffled, so a match between two entries that are
//! not the same candidate pair is a lie and ends the session ([`read`]).

use crate::error::{Error, Result};
use crate::keys::{KeyType, MatchKey};
use crate::list::KeyedAccounts;
use crate::psi::{Mode, PartyInput, PsiConfig, PsiMatch, PsiResult};

/// Slots per candidate pair in the pair round: domain held, country held, country, brand.
pub const PAIR_SLOTS: u8 = 4;

/// The most entries the pair round takes per first-round slot of the smaller list. An
/// honest session has about one candidate per shared account; a partner that repeats a name
/// of ours over all its accounts makes a candidate of every pair (the first round allows up
/// to 64 per slot), and each would cost four slots more: such a session is refused instead.
pub const MAX_ENTRIES_PER_SLOT: u64 = 4;

/// The most entries the pair round takes for a first-round result with `slots` slots an
/// account: [`MAX_ENTRIES_PER_SLOT`] per slot of the smaller side.
pub fn max_entries(result: &PsiResult, slots: u8) -> u64 {
    let total = |p: &[(String, u64)]| p.iter().map(|(_, n)| *n).sum::<u64>();
    total(&result.own_populations)
        .min(total(&result.peer_populations))
        .saturating_mul(u64::from(slots))
        .saturating_mul(MAX_ENTRIES_PER_SLOT)
}

/// Refuses a first round that found more candidates to compare than [`max_entries`]. Both
/// sides see the same candidates, so both refuse alike.
pub fn check_candidates(result: &PsiResult, slots: u8) -> Result<()> {
    let (n, max) = (entries(result) as u64, max_entries(result, slots));
    if n > max {
        return Err(Error::protocol(format!(
            "the first round found {n} candidate pairs to compare, more than {max} ({MAX_ENTRIES_PER_SLOT} per slot of the smaller list): \
             one list repeats the other's names over many accounts (a partner probing, or duplicate records); the session was stopped"
        )));
    }
    Ok(())
}

/// The one population of the pair round's entries.
pub const POPULATION: &str = "candidate pairs";

/// Which side of the session this is: a candidate pair is named by the initiator's
/// position and the responder's, and each side knows which of the two is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sent message 1.
    Initiator,
    /// Answered it.
    Responder,
}

/// What the pair round showed about one candidate pair: which of the two accounts'
/// attributes are equal. Both sides learn the same bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Agreement {
    /// Both hold no domain, or both one, or both several.
    pub domain_held: bool,
    /// Both hold a country, or both lack one.
    pub country_held: bool,
    /// Both hold a country and it is the same.
    pub country: bool,
    /// Both hold an organisation domain with the same brand label.
    pub brand: bool,
}

/// (initiator position, responder position) of a candidate pair.
fn pair_id(m: &PsiMatch, role: Role) -> (u64, u64) {
    match role {
        Role::Initiator => (m.own_position, m.peer_account),
        Role::Responder => (m.peer_account, m.own_position),
    }
}

/// Whether a candidate pair goes through the pair round: one whose `DOMAIN` key matched is
/// a match whatever its attributes say (the domain's weight outweighs any disagreement,
/// [`crate::decide`]), so it is not compared, and its attributes stay unknown to the partner.
/// Both sides see the same key types for a pair, so both pick the same candidates.
pub fn compared(m: &PsiMatch) -> bool {
    !m.key_types.contains(&KeyType::Domain)
}

/// The candidate pairs the pair round compares ([`compared`]), in its order: each entry is
/// an index into `result.matches`. Both sides compute the same order.
pub fn order(result: &PsiResult, role: Role) -> Vec<usize> {
    let mut order: Vec<usize> = (0..result.matches.len())
        .filter(|&i| compared(&result.matches[i]))
        .collect();
    order.sort_by_key(|&i| pair_id(&result.matches[i], role));
    order
}

/// The number of entries of the pair round for a first-round result.
pub fn entries(result: &PsiResult) -> usize {
    result.matches.iter().filter(|m| compared(m)).count()
}

/// The pair round's settings: matches mode, [`PAIR_SLOTS`] slots, the entries in order,
/// and a partner of exactly `entries` entries.
pub fn config(base: &PsiConfig, entries: usize) -> PsiConfig {
    let mut c = base.clone().mode(Mode::Matches).max_peer_accounts(entries as u64);
    c.hash_cache = None;
    c.slots = PAIR_SLOTS;
    c.ordered = true;
    c
}

/// This side's entries of the pair round: one per compared candidate pair of `result`, in [`order`],
/// with this side's attributes of its account, each bound to the session and the pair.
///
/// ```
/// use mapping_core::compare::{input, Role};
/// use mapping_core::keys::{Attributes, KeyType};
/// use mapping_core::list::KeyedAccounts;
/// use mapping_core::psi::{Mode, PsiMatch, PsiResult};
/// let mut own = KeyedAccounts::new();
/// let a = Attributes { domain: false, several_domains: false, country: Some("DE".into()), brand: None };
/// own.push_with(1, "Customers", &[], &a);
/// let m = PsiMatch { own_account: 0, own_position: 4, peer_account: 9, peer_population: 0, key_types: vec![KeyType::Name] };
/// let result = PsiResult { mode: Mode::Matches, own_populations: vec![], peer_populations: vec![],
///     matches: vec![m], pair_counts: vec![], session: [1; 16], timings: Default::default() };
/// let entries = input(&result, &own, Role::Initiator);
/// let keys = entries.accounts().match_keys(0);
/// assert_eq!(keys.len(), 3); // domain held, country held and country; no brand
/// assert!(keys[0].value.ends_with("|4|9|d0"));
/// assert!(keys[1].value.ends_with("|4|9|c1"));
/// assert!(keys[2].value.ends_with("|4|9|DE"));
/// ```
pub fn input(result: &PsiResult, own: &KeyedAccounts, role: Role) -> PartyInput<'static> {
    let session = crate::psi::hex(&result.session);
    let mut input = PartyInput::new();
    for i in order(result, role) {
        let m = &result.matches[i];
        let (ip, rp) = pair_id(m, role);
        let a = own.attributes(m.own_account);
        let bind = |kind: KeyType, value: &str| MatchKey {
            kind,
            value: format!("{session}|{ip}|{rp}|{value}"),
        };
        let domains = match (a.domain, a.several_domains) {
            (false, _) => "d0",
            (true, false) => "d1",
            (true, true) => "d2",
        };
        let country = if a.country.is_some() { "c1" } else { "c0" };
        let mut keys = vec![
            bind(KeyType::PairDomainHeld, domains),
            bind(KeyType::PairCountryHeld, country),
        ];
        if let Some(c) = &a.country {
            keys.push(bind(KeyType::PairCountry, c));
        }
        if let Some(b) = &a.brand {
            keys.push(bind(KeyType::PairBrand, b));
        }
        input.push(POPULATION, keys);
    }
    input
}

/// Refuses a partner's pair-round message that does not hold one entry per compared
/// candidate pair.
pub fn check_entries(context: &str, declared: u64, entries: usize) -> Result<()> {
    if declared != entries as u64 {
        return Err(Error::message(
            context,
            format!(
                "its pair part has {declared} entries, but the first round found {entries} candidate pairs to compare"
            ),
        ));
    }
    Ok(())
}

/// Reads the pair round's result `pairs` into one [`Agreement`] per candidate pair of
/// `result` (in `result.matches` order). A match between two entries that are not the same
/// candidate pair cannot come from an honest partner (each value is bound to its pair, and
/// the entries are in the agreed order): it is refused.
pub fn read(result: &PsiResult, role: Role, pairs: &PsiResult) -> Result<Vec<Agreement>> {
    let order = order(result, role);
    let mut out = vec![Agreement::default(); result.matches.len()];
    for m in &pairs.matches {
        if m.own_account as u64 != m.peer_account || m.own_account >= order.len() {
            return Err(Error::protocol(format!(
                "the partner's pair round pairs candidate {} with candidate {}: its values are not bound to their pairs",
                m.own_account, m.peer_account
            )));
        }
        let a = &mut out[order[m.own_account]];
        for t in &m.key_types {
            match t {
                KeyType::PairDomainHeld => a.domain_held = true,
                KeyType::PairCountryHeld => a.country_held = true,
                KeyType::PairCountry => a.country = true,
                KeyType::PairBrand => a.brand = true,
                _ => {}
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Attributes;
    use crate::psi::{Initiator, Responder};

    fn store(attrs: &[Attributes]) -> KeyedAccounts {
        let mut k = KeyedAccounts::new();
        for (i, a) in attrs.iter().enumerate() {
            k.push_with(i as u64 + 1, "Customers", &[], a);
        }
        k
    }

    fn candidate(own: usize, own_position: u64, peer: u64) -> PsiMatch {
        PsiMatch {
            own_account: own,
            own_position,
            peer_account: peer,
            peer_population: 0,
            key_types: vec![KeyType::Name],
        }
    }

    fn result(matches: Vec<PsiMatch>) -> PsiResult {
        PsiResult {
            mode: Mode::Matches,
            own_populations: Vec::new(),
            peer_populations: Vec::new(),
            matches,
            pair_counts: Vec::new(),
            session: [3; 16],
            timings: Default::default(),
        }
    }

    fn attrs(domain: bool, country: Option<&str>, brand: Option<&str>) -> Attributes {
        Attributes {
            domain,
            several_domains: false,
            country: country.map(str::to_owned),
            brand: brand.map(str::to_owned),
        }
    }

    /// Runs the pair round between two sides' candidate lists and returns what each learns.
    fn run(
        i_own: &KeyedAccounts,
        i_res: &PsiResult,
        r_own: &KeyedAccounts,
        r_res: &PsiResult,
    ) -> (Vec<Agreement>, Vec<Agreement>) {
        let n = entries(i_res);
        let cfg = config(&PsiConfig::new(), n);
        let (ini, m1) = Initiator::start(&input(i_res, i_own, Role::Initiator), &cfg).unwrap();
        let (resp, m2) = Responder::respond(&input(r_res, r_own, Role::Responder), &cfg, &m1).unwrap();
        let (i_pairs, m3) = ini.finish(&m2).unwrap();
        let r_pairs = resp.complete(&m3).unwrap();
        (
            read(i_res, Role::Initiator, &i_pairs).unwrap(),
            read(r_res, Role::Responder, &r_pairs).unwrap(),
        )
    }

    /// Four candidate pairs, listed in different orders on the two sides: each side learns
    /// the same bits for the same pair, and only equal attributes agree. Domain and country
    /// presence are compared apart: a country on one side only does not hide that both
    /// hold a domain.
    #[test]
    fn both_sides_learn_the_same_bits_for_each_pair() {
        // Initiator accounts 0..4 at positions 7, 2, 5, 3; responder accounts at 1, 8, 4, 6.
        let mut several = attrs(true, Some("SE"), Some("epirocgroup"));
        several.several_domains = true;
        let i_own = store(&[
            attrs(true, Some("DE"), Some("acme")),
            attrs(false, Some("FR"), None),
            attrs(true, None, Some("globex")),
            several,
        ]);
        let r_own = store(&[
            attrs(true, Some("DE"), Some("acme")),    // pairs with initiator 0: all agree
            attrs(false, Some("BE"), None),           // with initiator 1: both presences only
            attrs(true, Some("US"), Some("initech")), // with initiator 2: a domain each
            attrs(true, Some("SE"), Some("epiroc")),  // with initiator 3: one domain, not several
        ]);
        let i_res = result(vec![
            candidate(0, 7, 1),
            candidate(1, 2, 8),
            candidate(2, 5, 4),
            candidate(3, 3, 6),
        ]);
        // The responder's own list order differs: its matches sort otherwise.
        let r_res = result(vec![
            candidate(0, 1, 7),
            candidate(2, 4, 5),
            candidate(1, 8, 2),
            candidate(3, 6, 3),
        ]);
        let (i, r) = run(&i_own, &i_res, &r_own, &r_res);
        let bits = |domain_held, country_held, country, brand| Agreement {
            domain_held,
            country_held,
            country,
            brand,
        };
        let all = bits(true, true, true, true);
        let presences = bits(true, true, false, false);
        let domains = bits(true, false, false, false);
        let country = bits(false, true, true, false);
        assert_eq!(i, [all, presences, domains, country]);
        assert_eq!(r, [all, domains, presences, country]);
    }

    /// A partner whose values for one candidate are bound to another (or who sends them at
    /// another entry) is refused, not read as an agreement of the wrong pair.
    #[test]
    fn a_match_across_entries_is_refused() {
        let own = store(&[attrs(false, Some("DE"), None), attrs(false, Some("DE"), None)]);
        let i_res = result(vec![candidate(0, 1, 1), candidate(1, 2, 2)]);
        let r_res = result(vec![candidate(0, 1, 1), candidate(1, 2, 2)]);
        let n = 2;
        let cfg = config(&PsiConfig::new(), n);
        let (ini, m1) = Initiator::start(&input(&i_res, &own, Role::Initiator), &cfg).unwrap();
        // The lying responder swaps its two entries' values.
        let honest = input(&r_res, &own, Role::Responder);
        let mut swapped = PartyInput::new();
        swapped.push(POPULATION, honest.accounts().match_keys(1));
        swapped.push(POPULATION, honest.accounts().match_keys(0));
        let (_, m2) = Responder::respond(&swapped, &cfg, &m1).unwrap();
        let (i_pairs, _) = ini.finish(&m2).unwrap();
        let err = read(&i_res, Role::Initiator, &i_pairs).unwrap_err().to_string();
        assert!(err.contains("not bound to their pairs"), "{err}");
    }

    /// A partner that sends a presence value unlike its account's hides a disagreement:
    /// the pair is then judged on what agrees. That is the bound protocol.md states: it
    /// gets no more than a pair whose domains are not known, which holding the name in its
    /// first round already gave it; it cannot make a pair that shows a difference disagree
    /// less than "unknown", nor learn more than the bits an honest round shows.
    #[test]
    fn a_lie_about_presence_hides_a_disagreement_and_no_more() {
        use crate::decide::{decide, Context, Field, Level, Presence, Verdict};
        let mine = store(&[attrs(true, Some("DE"), Some("acme"))]);
        let theirs = store(&[attrs(true, Some("DE"), Some("acme-industrie"))]);
        let i_res = result(vec![candidate(0, 1, 1)]);
        let r_res = result(vec![candidate(0, 1, 1)]);
        let judge = |bits: Agreement| {
            decide(
                &[KeyType::Name],
                Context {
                    presence: Some(Presence {
                        domain: true,
                        country: true,
                    }),
                    name_pairs: Some(1),
                    pair: Some(bits),
                    ..Context::default()
                },
            )
        };
        let (honest, _) = run(&mine, &i_res, &theirs, &r_res);
        let d = judge(honest[0]);
        assert_eq!(d.level(Field::Domain), Some(Level::Disagree));
        assert_eq!(d.verdict, Verdict::Review, "{}", d.explain());
        // The responder claims several domains for its account.
        let cfg = config(&PsiConfig::new(), 1);
        let (ini, m1) = Initiator::start(&input(&i_res, &mine, Role::Initiator), &cfg).unwrap();
        let honest_in = input(&r_res, &theirs, Role::Responder);
        let mut keys = honest_in.accounts().match_keys(0);
        keys[0].value = keys[0].value.replace("|d1", "|d2");
        let mut lying = PartyInput::new();
        lying.push(POPULATION, keys);
        let (_, m2) = Responder::respond(&lying, &cfg, &m1).unwrap();
        let (i_pairs, _) = ini.finish(&m2).unwrap();
        let seen = read(&i_res, Role::Initiator, &i_pairs).unwrap();
        assert!(!seen[0].domain_held && seen[0].country_held && seen[0].country);
        let d = judge(seen[0]);
        assert_eq!(d.level(Field::Domain), Some(Level::Unknown));
        assert_eq!(d.verdict, Verdict::Match, "{}", d.explain());
        // Exactly what a pair of the same name and country gets when one side has no domain.
        let no_domain = judge(Agreement {
            country_held: true,
            country: true,
            ..Agreement::default()
        });
        assert_eq!((d.verdict, d.score), (no_domain.verdict, no_domain.score));
    }

    #[test]
    fn entries_must_be_the_candidates() {
        assert!(check_entries("message 3", 3, 3).is_ok());
        let err = check_entries("message 3", 4, 3).unwrap_err().to_string();
        assert!(err.contains("4 entries") && err.contains("3 candidate pairs"), "{err}");
    }

    /// A candidate whose domain matched is not compared; the others are, in the order of
    /// their pair ids, whichever side lists them.
    #[test]
    fn domain_matches_skip_the_pair_round() {
        let mut by_domain = candidate(0, 9, 9);
        by_domain.key_types = vec![KeyType::Domain, KeyType::Name];
        let r = result(vec![candidate(1, 5, 2), by_domain, candidate(2, 1, 7)]);
        assert_eq!(entries(&r), 2);
        assert_eq!(order(&r, Role::Initiator), [2, 0]);
        assert_eq!(order(&r, Role::Responder), [0, 2]);
    }
}

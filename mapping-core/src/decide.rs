//! Deciding a candidate pair: between [`crate::psi`] (which keys are equal) and
//! [`crate::matching`] (the pairs a report shows).
//!
//! Equal keys are evidence, not a verdict. A pair is scored in the Fellegi–Sunter manner:
//! each field (name, domain, country) gets a level (agree, disagree, missing, unknown) and
//! each level a weight (a log2 likelihood ratio, [`WEIGHTS`]); the sum decides: at least
//! [`MATCH_AT`] is a match (in `matches.csv` and the counts), at least [`REVIEW_AT`] a
//! review candidate (`review.csv`, never in the counts), below it no match (dropped, and
//! neither side sends a record for it).
//!
//! The levels come only from what both sides see alike: the key types that matched for the
//! pair (equal keys are equal on both sides), and this side's own presence bits when the
//! `NAME_PRESENCE` marker matched (it encodes which of domain and country an account holds,
//! so when it matches, the partner's bits are this side's), and how many candidate pairs
//! share the pair's name (each side sees every candidate pair). Both partners therefore
//! reach the same verdict for the same pair, and their reports reconcile.
//!
//! What each level means:
//! - name: `NAME`, `NAME_COUNTRY` or `NAME_PRESENCE` matched (agree, weighed by how many
//!   candidate pairs share the name: [`name_agree_weight`]); else not known to agree (0: a
//!   domain match with two spellings of a name is still a match);
//! - domain: `DOMAIN` matched (agree); `BRAND_NAME` without `DOMAIN` (the same label on two
//!   suffixes, `acme.com`/`acme.de`); both hold one and they differ (disagree, known only
//!   through the marker); both lack one (missing); otherwise unknown;
//! - country: `NAME_COUNTRY` matched (agree); both hold one and they differ (disagree,
//!   marker); both lack one (missing); otherwise unknown.
//!
//! The weights were set by hand from the cases below and then checked on the real-data set
//! in `eval/banks` (docs/matching.md has the figures); they are not fitted by EM.

use crate::compare::Agreement;
use crate::keys::KeyType;
use crate::list::KeyedAccounts;
use crate::psi::PsiMatch;

/// A field's level for one pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Both hold the same value.
    Agree,
    /// The names share their consonant skeleton (`NAME_FUZZY`): a typo, or another name.
    FuzzyAgree,
    /// The same brand label on two public suffixes (domain only).
    BrandAgree,
    /// Both hold a value and the values differ.
    Disagree,
    /// Neither holds a value.
    Missing,
    /// Not known from what both sides see (one side may lack it, or they may differ).
    Unknown,
}

/// A pair's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Below the review threshold: not reported, no record sent.
    NoMatch,
    /// Worth a person's look: `review.csv`, not in the counts.
    Review,
    /// A decided match.
    Match,
}

/// The fields a pair is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The normalized name.
    Name,
    /// The registrable domain (or its brand label).
    Domain,
    /// The ISO country.
    Country,
}

/// The weight table: field, level, weight (log2 of how much likelier the level is for a
/// true pair than for a false one). Levels not listed weigh 0.
pub const WEIGHTS: &[(Field, Level, f64)] = &[
    // Where the name's frequency is not known; otherwise see [`name_agree_weight`].
    (Field::Name, Level::Agree, 7.0),
    (Field::Name, Level::FuzzyAgree, 5.0),
    (Field::Domain, Level::Agree, 15.0),
    (Field::Domain, Level::BrandAgree, 6.0),
    (Field::Domain, Level::Disagree, -8.0),
    (Field::Country, Level::Agree, 3.0),
    (Field::Country, Level::Disagree, -5.0),
];

/// Score at which a pair is a match: a domain alone, or the name with its country.
pub const MATCH_AT: f64 = 10.0;
/// Score at which a pair is worth a review: the name alone, a brand label with a first name
/// word, a typo-level name match.
pub const REVIEW_AT: f64 = 5.0;

/// Which of domain and country an account holds, as its `NAME_PRESENCE` key says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Presence {
    /// Holds a usable domain.
    pub domain: bool,
    /// Holds a country.
    pub country: bool,
}

impl Presence {
    /// The value suffix of a `NAME_PRESENCE` key: `|d1|c0`.
    pub fn suffix(self) -> &'static str {
        match (self.domain, self.country) {
            (false, false) => "|d0|c0",
            (false, true) => "|d0|c1",
            (true, false) => "|d1|c0",
            (true, true) => "|d1|c1",
        }
    }

    /// Reads it back from a `NAME_PRESENCE` key value.
    pub fn parse(value: &str) -> Option<Presence> {
        let mut parts = value.rsplitn(3, '|');
        let c = parts.next()?;
        let d = parts.next()?;
        let bit = |s: &str, p: &str| match s.strip_prefix(p) {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        };
        Some(Presence {
            domain: bit(d, "d")?,
            country: bit(c, "c")?,
        })
    }
}

/// A scored pair: the verdict, the score, and the levels that made it (its "waterfall").
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    /// Match, review or no match.
    pub verdict: Verdict,
    /// Sum of the weights.
    pub score: f64,
    /// Each field's level and weight.
    pub levels: Vec<(Field, Level, f64)>,
}

impl Decision {
    /// Whether a field disagrees (the pair shows another country or another domain).
    pub fn disagrees(&self) -> bool {
        self.levels.iter().any(|(_, l, _)| *l == Level::Disagree)
    }

    /// A field's level.
    pub fn level(&self, field: Field) -> Option<Level> {
        self.levels.iter().find(|(f, _, _)| *f == field).map(|(_, l, _)| *l)
    }

    /// `name=agree(+7) domain=unknown(0) country=agree(+3)`: for reports.
    pub fn explain(&self) -> String {
        self.levels
            .iter()
            .map(|(f, l, w)| {
                let f = serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let l = serde_json::to_value(l)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                format!("{f}={l}({w:+})")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn weight(field: Field, level: Level) -> f64 {
    WEIGHTS
        .iter()
        .find(|(f, l, _)| *f == field && *l == level)
        .map_or(0.0, |(_, _, w)| *w)
}

/// What both sides know about a pair beyond its matched key types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// This side's presence bits for its account (which of domain and country it holds).
    pub presence: Option<Presence>,
    /// How many candidate pairs share the pair's name: the own accounts that agree with the
    /// partner account on the name, times the partner accounts that agree with the own
    /// account (1: the name names one account on each side). `None`: not known.
    pub name_pairs: Option<u32>,
    /// The session compares no `DOMAIN` keys, so a domain both hold is not known to
    /// differ when no `DOMAIN` key matched (the presence bits say only that both hold one).
    pub no_domain_key: bool,
    /// The session compares no countries (no `NAME_COUNTRY` key and no pair round):
    /// likewise for the country.
    pub no_country_key: bool,
    /// What the pair round showed for this pair ([`crate::compare`]), when it ran.
    pub pair: Option<Agreement>,
    /// This side's account holds several domains, not all of them keyed: when the pair
    /// round shows that both hold several, their differing is not known.
    pub several_domains: bool,
}

/// The weight of a name agreement that `pairs` candidate pairs share: the Fellegi–Sunter
/// frequency adjustment, log2 of how much rarer the agreement is. A name that names one
/// account on each side weighs [`NAME_AGREE_RARE`]; each doubling of the pairs sharing it
/// takes one off (a name entered twice on one side: 9; a name 20 branches share: 5.7).
///
/// ```
/// use mapping_core::decide::name_agree_weight;
/// assert_eq!(name_agree_weight(1), 10.0);
/// assert_eq!(name_agree_weight(4), 8.0);
/// assert_eq!(name_agree_weight(20), 5.7);
/// assert_eq!(name_agree_weight(5000), 0.0);
/// ```
pub fn name_agree_weight(pairs: u32) -> f64 {
    // Rounded to a tenth, for reports; both sides compute the same value.
    let w = (NAME_AGREE_RARE - f64::from(pairs.max(1)).log2()).max(0.0);
    (w * 10.0).round() / 10.0
}

/// A name agreement between one account on each side: as strong as a domain, enough alone
/// to decide a pair unless something disagrees.
pub const NAME_AGREE_RARE: f64 = 10.0;

fn names_agree(types: &[KeyType]) -> bool {
    types
        .iter()
        .any(|t| matches!(t, KeyType::Name | KeyType::NameCountry | KeyType::NamePresence))
}

/// Decides every candidate pair of a PSI result, in order.
///
/// Besides each pair's own keys, the rule reads one fact of the whole candidate set: how
/// many accounts share the pair's name on each side; for a pair whose countries agree and
/// nothing disagrees, only those not told apart from the pair's accounts by a disagreement
/// (its *rivals*: a `Deutsche Bank` in France is no rival of the one in Germany once the
/// pair round shows their countries differ). Both partners see the same candidate pairs
/// (the key types of a pair are equal on both sides) and the same levels, so both compute
/// the same counts and reach the same verdicts. The counts are taken over all candidates,
/// before any is dropped, so deciding the same candidates again gives the same result.
///
/// `types` are the key types the session compares (this side's [`crate::KeyConfig`]; both
/// sides must use the same): the marker shows a disagreement only for a field whose key
/// type is compared.
pub fn decide_all(
    matches: &[PsiMatch],
    own: &KeyedAccounts,
    types: &[KeyType],
    pairs: Option<&[Agreement]>,
) -> Vec<Decision> {
    let no_domain_key = !types.contains(&KeyType::Domain);
    let no_country_key = !types.contains(&KeyType::NameCountry) && pairs.is_none();
    let contexts: Vec<Context> = matches
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let a = own.attributes(m.own_account);
            Context {
                presence: Some(Presence {
                    domain: a.domain,
                    country: a.country.is_some(),
                }),
                name_pairs: None,
                no_domain_key,
                no_country_key,
                pair: pairs.and_then(|p| p.get(i).copied()),
                several_domains: a.several_domains,
            }
        })
        .collect();
    // Name frequency, counted two ways. For a pair whose countries agree (and nothing
    // disagrees), what needs to be rare is the name in that country: a candidate that
    // shares the name but shows a disagreement (another country, another domain) is told
    // apart by it and is no rival (`Deutsche Bank` in twelve countries on each side is twelve
    // unambiguous pairs, not 144 candidates of one common name). For any other pair, the
    // name alone carries the evidence, and every candidate sharing it counts (a `Deutsche
    // Bank` without a country could be any of the twelve). The levels do not depend on the
    // name's weight, so a first pass without it gives them.
    let verdicts: Vec<Decision> = matches
        .iter()
        .zip(&contexts)
        .map(|(m, c)| decide(&m.key_types, *c))
        .collect();
    let mut all = Counts::default();
    let mut rivals = Counts::default();
    for (m, d) in matches.iter().zip(&verdicts) {
        if names_agree(&m.key_types) {
            all.add(m);
            if !d.disagrees() {
                rivals.add(m);
            }
        }
    }
    matches
        .iter()
        .zip(contexts)
        .zip(verdicts)
        .map(|((m, context), first)| {
            let name_pairs = names_agree(&m.key_types).then(|| {
                if first.level(Field::Country) == Some(Level::Agree) && !first.disagrees() {
                    rivals.pairs(m)
                } else {
                    all.pairs(m)
                }
            });
            decide(&m.key_types, Context { name_pairs, ..context })
        })
        .collect()
}

/// How many name-agreeing candidates each account is in, on each side.
#[derive(Default)]
struct Counts {
    peers_of_own: hashbrown::HashMap<usize, u32>,
    owns_of_peer: hashbrown::HashMap<u64, u32>,
}

impl Counts {
    fn add(&mut self, m: &PsiMatch) {
        *self.peers_of_own.entry(m.own_account).or_default() += 1;
        *self.owns_of_peer.entry(m.peer_account).or_default() += 1;
    }

    /// The candidate pairs that share the pair's name: own accounts times partner accounts.
    fn pairs(&self, m: &PsiMatch) -> u32 {
        let mine = self.peers_of_own.get(&m.own_account).copied().unwrap_or(1);
        let theirs = self.owns_of_peer.get(&m.peer_account).copied().unwrap_or(1);
        mine.saturating_mul(theirs)
    }
}

/// Decides a pair from the key types that matched and what both sides know of it.
///
/// ```
/// use mapping_core::decide::{decide, Context, Presence, Verdict};
/// use mapping_core::KeyType::*;
/// let none = Context::default();
/// assert_eq!(decide(&[Domain], none).verdict, Verdict::Match);
/// assert_eq!(decide(&[NameCountry, Name], none).verdict, Verdict::Match);
/// assert_eq!(decide(&[Name], none).verdict, Verdict::Review);
/// // A name that names one account on each side, with nothing against it.
/// let unique = Context { name_pairs: Some(1), ..none };
/// assert_eq!(decide(&[Name], unique).verdict, Verdict::Match);
/// // The same name on 20 partner accounts: the name alone is not enough.
/// let common = Context { name_pairs: Some(20), ..none };
/// assert_eq!(decide(&[Name], common).verdict, Verdict::Review);
/// // Both hold a country (the marker matched), and NAME_COUNTRY did not: they differ.
/// let both = Context { presence: Some(Presence { domain: false, country: true }), name_pairs: Some(1), ..none };
/// assert_eq!(decide(&[Name, NamePresence], both).verdict, Verdict::Review);
/// // Same name and country, but both hold a domain and the domains differ.
/// let all = Context { presence: Some(Presence { domain: true, country: true }), ..none };
/// assert_eq!(decide(&[NameCountry, Name, NamePresence], all).verdict, Verdict::NoMatch);
/// ```
pub fn decide(types: &[KeyType], context: Context) -> Decision {
    let has = |t: KeyType| types.contains(&t);
    let pair = context.pair.unwrap_or_default();
    // The marker matched, or the pair round found a presence value equal: the partner's
    // presence bit is ours. Two accounts with several domains each hold one, but not all of
    // theirs were compared.
    let marker = has(KeyType::NamePresence);
    let held = |equal: bool, bit: fn(&Presence) -> bool| {
        if marker || equal {
            context.presence.as_ref().map(bit)
        } else {
            None
        }
    };
    let domain_held = held(pair.domain_held && !context.several_domains, |p| p.domain);
    let country_held = held(pair.country_held, |p| p.country);
    let absent = |held: Option<bool>| match held {
        Some(true) => Level::Disagree,
        Some(false) => Level::Missing,
        None => Level::Unknown,
    };
    let name = if names_agree(types) {
        Level::Agree
    } else if has(KeyType::NameFuzzy) {
        Level::FuzzyAgree
    } else {
        Level::Unknown
    };
    let domain = if has(KeyType::Domain) {
        Level::Agree
    } else if has(KeyType::BrandName) || pair.brand {
        Level::BrandAgree
    } else {
        absent(domain_held.filter(|_| !context.no_domain_key))
    };
    let country = if has(KeyType::NameCountry) || pair.country {
        Level::Agree
    } else {
        absent(country_held.filter(|_| !context.no_country_key))
    };
    let levels: Vec<(Field, Level, f64)> = [(Field::Name, name), (Field::Domain, domain), (Field::Country, country)]
        .into_iter()
        .map(|(f, l)| match (f, l, context.name_pairs) {
            (Field::Name, Level::Agree, Some(pairs)) => (f, l, name_agree_weight(pairs)),
            _ => (f, l, weight(f, l)),
        })
        .collect();
    let score: f64 = levels.iter().map(|(_, _, w)| w).sum();
    let verdict = if score >= MATCH_AT {
        Verdict::Match
    } else if score >= REVIEW_AT {
        Verdict::Review
    } else {
        Verdict::NoMatch
    };
    Decision { verdict, score, levels }
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyType::*;

    /// Every case the weights were set from, with its verdict.
    #[test]
    fn the_cases_behind_the_weights() {
        let p = |domain, country| Some(Presence { domain, country });
        let cases: &[(&[KeyType], Option<Presence>, Verdict)] = &[
            (&[Domain], None, Verdict::Match),
            (&[Domain, Name], None, Verdict::Match),
            (&[BrandName, Name], None, Verdict::Match),
            (&[NameCountry, Name], None, Verdict::Match),
            (&[NameCountry, Name, NamePresence], p(false, true), Verdict::Match),
            (&[Name], None, Verdict::Review),
            (&[BrandName], None, Verdict::Review),
            (&[Name, NamePresence], p(false, false), Verdict::Review),
            // One name and one domain in two countries: one organisation's subsidiaries.
            (&[Domain, Name, NamePresence], p(true, true), Verdict::Match),
            (&[Name, NamePresence], p(false, true), Verdict::NoMatch),
            (&[Name, NamePresence], p(true, false), Verdict::NoMatch),
            (&[NameCountry, Name, NamePresence], p(true, true), Verdict::NoMatch),
            // A typo-level name match is never decided: a person looks.
            (&[NameFuzzy], None, Verdict::Review),
        ];
        for (types, presence, want) in cases {
            let d = decide(
                types,
                Context {
                    presence: *presence,
                    ..Context::default()
                },
            );
            assert_eq!(d.verdict, *want, "{types:?} {presence:?}: {}", d.explain());
        }
    }

    /// A session without `NAME_COUNTRY` (or `DOMAIN`) keys cannot see those values agree, so
    /// the marker's "both hold one" is no disagreement: same name, both with a country, in a
    /// session keyed on names only, is a match, not a rejected pair.
    #[test]
    fn the_marker_shows_disagreement_only_for_compared_fields() {
        use KeyType::*;
        let both = Some(Presence {
            domain: true,
            country: true,
        });
        let keyed = Context {
            presence: both,
            name_pairs: Some(1),
            ..Context::default()
        };
        assert_eq!(decide(&[Name, NamePresence], keyed).verdict, Verdict::NoMatch);
        let names_only = Context {
            no_domain_key: true,
            no_country_key: true,
            ..keyed
        };
        let d = decide(&[Name, NamePresence], names_only);
        assert_eq!(d.verdict, Verdict::Match, "{}", d.explain());
        assert!(d.explain().contains("country=unknown"), "{}", d.explain());
        let no_country = Context {
            no_country_key: true,
            ..keyed
        };
        assert_eq!(decide(&[Name, NamePresence], no_country).verdict, Verdict::NoMatch);
    }

    /// The pair round's bits, read as levels: each case a kind of candidate pair (a rare name
    /// on both sides) with what the round found and the verdict it should get.
    #[test]
    fn the_pair_round_decides_by_agreements_and_disagreements() {
        use KeyType::*;
        // Both presence values equal (`presence`), the country, the brand.
        let bits = |presence, country, brand| {
            Some(Agreement {
                domain_held: presence,
                country_held: presence,
                country,
                brand,
            })
        };
        let only = |domain_held, country_held| {
            Some(Agreement {
                domain_held,
                country_held,
                ..Agreement::default()
            })
        };
        let own = |domain, country| Some(Presence { domain, country });
        /// Key types, own presence bits, the pair round's bits, whether this side holds
        /// several domains, verdict, a level it shows.
        type Case<'a> = (
            &'a [KeyType],
            Option<Presence>,
            Option<Agreement>,
            bool,
            Verdict,
            &'a str,
        );
        let cases: &[Case] = &[
            // Same name and country, neither has a domain.
            (
                &[Name],
                own(false, true),
                bits(true, true, false),
                false,
                Verdict::Match,
                "country=agree(+3)",
            ),
            // Same name, both hold a country and they differ: a homonym abroad.
            (
                &[Name],
                own(false, true),
                bits(true, false, false),
                false,
                Verdict::Review,
                "country=disagree(-5)",
            ),
            // Same name, both hold a domain (not equal) and a country (not equal).
            (
                &[Name],
                own(true, true),
                bits(true, false, false),
                false,
                Verdict::NoMatch,
                "domain=disagree(-8)",
            ),
            // `acme.com` and `acme.de`, same name, two countries: one group's companies.
            (
                &[Name],
                own(true, true),
                bits(true, false, true),
                false,
                Verdict::Match,
                "domain=brand_agree(+6)",
            ),
            // One side lacks what the other holds: nothing is known to differ.
            (
                &[Name],
                own(true, true),
                bits(false, false, false),
                false,
                Verdict::Match,
                "country=unknown(+0)",
            ),
            // Both hold a domain and they differ; one side lacks a country. The country's
            // absence does not hide the domains' difference.
            (
                &[Name],
                own(true, true),
                only(true, false),
                false,
                Verdict::NoMatch,
                "domain=disagree(-8) country=unknown(+0)",
            ),
            // Both hold a country and it differs; one side lacks a domain.
            (
                &[Name],
                own(false, true),
                only(false, true),
                false,
                Verdict::Review,
                "domain=unknown(+0) country=disagree(-5)",
            ),
            // Both hold several domains: only the first of each was compared, so their
            // differing is unknown (`epirocgroup.com epiroc.com` against `epiroc.com www.epiroc.se`).
            (
                &[Name],
                own(true, true),
                bits(true, true, false),
                true,
                Verdict::Match,
                "domain=unknown(+0) country=agree(+3)",
            ),
            // A domain decides even where the countries differ.
            (
                &[Domain],
                own(true, true),
                bits(true, false, false),
                false,
                Verdict::Match,
                "domain=agree(+15)",
            ),
        ];
        for (types, presence, pair, several_domains, want, why) in cases {
            let d = decide(
                types,
                Context {
                    presence: *presence,
                    name_pairs: Some(1),
                    pair: *pair,
                    several_domains: *several_domains,
                    ..Context::default()
                },
            );
            assert_eq!(d.verdict, *want, "{types:?} {pair:?}: {}", d.explain());
            assert!(d.explain().contains(why), "{}", d.explain());
        }
    }

    #[test]
    fn presence_round_trips() {
        for (domain, country) in [(true, true), (true, false), (false, true), (false, false)] {
            let p = Presence { domain, country };
            assert_eq!(Presence::parse(&format!("acme{}", p.suffix())), Some(p));
        }
        assert_eq!(Presence::parse("acme"), None);
    }
}

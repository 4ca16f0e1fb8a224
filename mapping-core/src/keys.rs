//! Match keys: the typed values two partners compare privately.
//!
//! The private intersection can only test equality, so all fuzziness lives here: each key
//! type is one way two CRM rows can name the same organisation. Every key costs a
//! hash-to-group and two scalar multiplications per party in the protocol, so each type
//! must be worth it (docs/matching.md gives what each one catches and what it risks):
//!
//! | type | value | tier | catches |
//! |---|---|---|---|
//! | `DOMAIN` | registrable domain | strong | any URL, host or e-mail spelling of one site |
//! | `BRAND_NAME` | brand of a website or corporate e-mail domain + first name token | strong | `acme.com` vs `acme.de` for "Acme" |
//! | `NAME_COUNTRY` | folded name + ISO country | strong | accounts without a website |
//! | `NAME` | folded name | medium | no website, no or different country |
//! | `NAME_PRESENCE` | folded name + which of domain and country the account holds | marker | nothing alone; shows a domain or country disagreement ([`crate::decide`]) |
//! | `NAME_FUZZY` | consonant skeleton of the name | weak | typos; off by default |
//!
//! The type is the first byte of the key, so `NAME(acme)` never equals `DOMAIN(acme)`.

use std::fmt;

use crate::error::{Error, Result};
use crate::normalize::{first_significant_token, NormalizedAccount};

/// A kind of match key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum KeyType {
    /// Registrable domain.
    Domain,
    /// Brand label of a website domain + first significant token of the name.
    BrandName,
    /// Normalized name + ISO country.
    NameCountry,
    /// Normalized name.
    Name,
    /// Consonant skeleton of the normalized name (typo-tolerant).
    NameFuzzy,
    /// Normalized name + which of domain and country the account holds (`acme|d1|c0`): a
    /// marker that never decides a match, but when it matches, both sides know the other
    /// holds the same fields, so a missing `DOMAIN` or `NAME_COUNTRY` match means the values
    /// differ (see [`crate::decide`]).
    NamePresence,
    /// Pair round ([`crate::compare`]): whether the account of a candidate pair holds no
    /// domain, one, or several, bound to the pair. Not a key of the first round.
    PairDomainHeld,
    /// Pair round: whether the account of a candidate pair holds a country, bound to the
    /// pair.
    PairCountryHeld,
    /// Pair round: the country of the account of a candidate pair, bound to the pair.
    PairCountry,
    /// Pair round: the brand label of the account's first organisation domain, bound to the
    /// pair.
    PairBrand,
}

/// How much a matching key type says about two accounts being the same organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// A fuzzy key alone: review before acting.
    Weak,
    /// The name alone: likely, worth a look.
    Medium,
    /// Domain or name plus a second attribute.
    Strong,
}

impl KeyType {
    /// All key types, in priority order.
    pub const ALL: [KeyType; 6] = [
        KeyType::Domain,
        KeyType::BrandName,
        KeyType::NameCountry,
        KeyType::Name,
        KeyType::NamePresence,
        KeyType::NameFuzzy,
    ];

    /// The pair round's types ([`crate::compare`]), in slot order; not accepted by `--keys`.
    pub const PAIR: [KeyType; 4] = [
        KeyType::PairDomainHeld,
        KeyType::PairCountryHeld,
        KeyType::PairCountry,
        KeyType::PairBrand,
    ];

    /// The byte that starts every key of this type (part of the hashed input).
    pub fn tag(self) -> u8 {
        match self {
            KeyType::PairCountry => 17,
            KeyType::PairBrand => 18,
            KeyType::PairDomainHeld => 19,
            KeyType::PairCountryHeld => 20,
            KeyType::Domain => 1,
            KeyType::BrandName => 2,
            KeyType::NameCountry => 3,
            KeyType::Name => 4,
            KeyType::NameFuzzy => 5,
            KeyType::NamePresence => 6,
        }
    }

    /// The type of a tag byte.
    pub fn from_tag(tag: u8) -> Option<KeyType> {
        KeyType::ALL.into_iter().chain(KeyType::PAIR).find(|t| t.tag() == tag)
    }

    /// The confidence tier of a match on this key type.
    pub fn tier(self) -> Tier {
        match self {
            KeyType::Domain | KeyType::BrandName | KeyType::NameCountry => Tier::Strong,
            KeyType::Name => Tier::Medium,
            KeyType::NameFuzzy
            | KeyType::NamePresence
            | KeyType::PairDomainHeld
            | KeyType::PairCountryHeld
            | KeyType::PairCountry
            | KeyType::PairBrand => Tier::Weak,
        }
    }

    /// The name used in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Domain => "DOMAIN",
            KeyType::BrandName => "BRAND_NAME",
            KeyType::NameCountry => "NAME_COUNTRY",
            KeyType::Name => "NAME",
            KeyType::NameFuzzy => "NAME_FUZZY",
            KeyType::NamePresence => "NAME_PRESENCE",
            KeyType::PairDomainHeld => "PAIR_DOMAIN_HELD",
            KeyType::PairCountryHeld => "PAIR_COUNTRY_HELD",
            KeyType::PairCountry => "PAIR_COUNTRY",
            KeyType::PairBrand => "PAIR_BRAND",
        }
    }

    /// Parses a key type name (case-insensitive, `-` or `_`).
    pub fn parse(s: &str) -> Option<KeyType> {
        let s = s.trim().to_ascii_uppercase().replace('-', "_");
        KeyType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One typed key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct MatchKey {
    /// The key type.
    pub kind: KeyType,
    /// The normalized value (`acme.co.uk`, `acme|acme`, `acme|gb`).
    pub value: String,
}

impl MatchKey {
    /// The bytes that are hashed to the group: the type tag, then the UTF-8 value.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.value.len());
        out.push(self.kind.tag());
        out.extend_from_slice(self.value.as_bytes());
        out
    }
}

impl fmt::Display for MatchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.kind, self.value)
    }
}

/// Which keys to derive, and how many slots an account has in the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyConfig {
    /// Enabled key types, in priority order (when an account has more keys than slots, the
    /// later ones are dropped).
    pub types: Vec<KeyType>,
    /// Slots per account (K): every account sends exactly this many values, padded with
    /// random points, so that the partner cannot tell how many keys an account has.
    pub slots: usize,
}

impl Default for KeyConfig {
    fn default() -> Self {
        Self {
            types: vec![KeyType::Domain, KeyType::Name],
            slots: 2,
        }
    }
}

impl KeyConfig {
    /// The default: two slots; DOMAIN and NAME (the pair round, [`crate::compare`], compares
    /// the candidates' countries and brand labels).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the enabled key types from names (`domain,brand_name,name`), with one slot per
    /// type (set another number with [`KeyConfig::with_slots`] after this).
    ///
    /// ```
    /// let cfg = mapping_core::KeyConfig::new().with_types("domain, name_country").unwrap();
    /// assert_eq!((cfg.types.len(), cfg.slots), (2, 2));
    /// assert!(mapping_core::KeyConfig::new().with_types("domain,zip").is_err());
    /// ```
    pub fn with_types(mut self, list: &str) -> Result<Self> {
        let mut types = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let t = KeyType::parse(name).ok_or_else(|| {
                Error::config(format!(
                    "unknown key type {name:?}; known: domain, brand_name, name_country, name, name_presence, name_fuzzy"
                ))
            })?;
            if !types.contains(&t) {
                types.push(t);
            }
        }
        if types.is_empty() {
            return Err(Error::config("at least one key type is needed"));
        }
        self.slots = types.len().min(16);
        self.types = types;
        Ok(self)
    }

    /// Sets the number of slots per account (1 to 16).
    ///
    /// ```
    /// assert_eq!(mapping_core::KeyConfig::new().with_slots(6).unwrap().slots, 6);
    /// assert!(mapping_core::KeyConfig::new().with_slots(0).is_err());
    /// ```
    pub fn with_slots(mut self, slots: usize) -> Result<Self> {
        if !(1..=16).contains(&slots) {
            return Err(Error::config(format!("slots per account must be 1 to 16, not {slots}")));
        }
        self.slots = slots;
        Ok(self)
    }
}

/// Derives the keys of one normalized account, deduplicated, in priority order, at most
/// `config.slots` of them: when they do not all fit, each key type's first key comes before
/// any type's second. The second value counts the keys dropped for lack of slots.
///
/// ```
/// use mapping_core::{ingest, keys, normalize, IngestOptions, KeyConfig};
/// let csv = "Name,Website,Country\nAcme Ltd,https://shop.acme.co.uk/x,United Kingdom\n";
/// let data = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
/// let n = normalize::normalize_account(&data.accounts[0]);
/// let (k, dropped) = keys::derive(&n, &KeyConfig::new());
/// let shown: Vec<String> = k.iter().map(|k| k.to_string()).collect();
/// assert_eq!(shown, ["DOMAIN(acme.co.uk)", "NAME(acme)"]);
/// assert_eq!(dropped, 0);
/// let every = KeyConfig::new().with_types("domain,brand_name,name_country,name,name_presence").unwrap();
/// let (k, dropped) = keys::derive(&n, &every.with_slots(4).unwrap());
/// let shown: Vec<String> = k.iter().map(|k| k.to_string()).collect();
/// assert_eq!(shown, ["DOMAIN(acme.co.uk)", "BRAND_NAME(acme|acme)", "NAME_COUNTRY(acme|GB)", "NAME(acme)"]);
/// assert_eq!(dropped, 1); // NAME_PRESENCE(acme|d1|c1), the last, has no slot
/// // Two domains in one website field, two slots: the name keeps its slot.
/// let csv = "Name,Website\nAres Management,www.aresmgmt.com www.arescre.com\n";
/// let data = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
/// let n = normalize::normalize_account(&data.accounts[0]);
/// let (k, dropped) = keys::derive(&n, &KeyConfig::new());
/// let shown: Vec<String> = k.iter().map(|k| k.to_string()).collect();
/// assert_eq!(shown, ["DOMAIN(aresmgmt.com)", "NAME(ares management)"]);
/// assert_eq!(dropped, 1);
/// ```
pub fn derive(account: &NormalizedAccount, config: &KeyConfig) -> (Vec<MatchKey>, usize) {
    let mut keys: Vec<MatchKey> = Vec::new();
    let mut push = |kind: KeyType, value: String| {
        let key = MatchKey { kind, value };
        if !keys.contains(&key) {
            keys.push(key);
        }
    };
    let token = account.name.as_deref().and_then(first_significant_token);
    for kind in &config.types {
        match kind {
            KeyType::Domain => {
                for d in &account.domains {
                    push(KeyType::Domain, d.domain.registrable.clone());
                }
            }
            KeyType::BrandName => {
                if let Some(token) = token {
                    for d in account
                        .domains
                        .iter()
                        // Website and corporate e-mail domains alike; never a free-mail domain,
                        // nor a label under a government, school or locality suffix.
                        .filter(|d| d.domain.brand_names_an_organisation())
                    {
                        push(KeyType::BrandName, [d.domain.brand.as_str(), "|", token].concat());
                    }
                }
            }
            KeyType::NameCountry => {
                if let (Some(name), Some(country)) = (&account.name, account.country) {
                    push(KeyType::NameCountry, [name.as_str(), "|", country].concat());
                }
            }
            KeyType::Name => {
                if let Some(name) = &account.name {
                    push(KeyType::Name, name.clone());
                }
            }
            KeyType::NameFuzzy => {
                if let Some(skeleton) = account.name.as_deref().and_then(skeleton) {
                    push(KeyType::NameFuzzy, skeleton);
                }
            }
            KeyType::PairDomainHeld | KeyType::PairCountryHeld | KeyType::PairCountry | KeyType::PairBrand => {}
            KeyType::NamePresence => {
                if let Some(name) = &account.name {
                    let presence = crate::decide::Presence {
                        domain: !account.domains.is_empty(),
                        country: account.country.is_some(),
                    };
                    push(KeyType::NamePresence, [name.as_str(), presence.suffix()].concat());
                }
            }
        }
    }
    let dropped = keys.len().saturating_sub(config.slots);
    if dropped > 0 {
        // Every key type gets a slot before any gets a second: a website field listing two
        // domains must not push the name out of a two-slot session.
        let mut seen = Vec::new();
        let (firsts, rest): (Vec<MatchKey>, Vec<MatchKey>) = keys.into_iter().partition(|k| {
            let first = !seen.contains(&k.kind);
            if first {
                seen.push(k.kind);
            }
            first
        });
        keys = firsts;
        keys.extend(rest);
        keys.truncate(config.slots);
    }
    (keys, dropped)
}

/// What the pair round compares of an account ([`crate::compare`]), for candidate pairs
/// only: whether it holds a usable domain, its country, and the brand label of its first
/// domain that names an organisation (none for a label under a government, school or
/// locality suffix, nor for free-mail: those never become domains).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Attributes {
    /// Holds a usable domain.
    pub domain: bool,
    /// Holds two or more registrable domains (a website and another e-mail domain, or a
    /// website field listing two): the first round keys only as many as there are slots,
    /// so a missing `DOMAIN` match does not show that its domains and a partner's differ.
    pub several_domains: bool,
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    /// Brand label (`acme` of `acme.co.uk`).
    pub brand: Option<String>,
}

/// The attributes the pair round compares for an account.
///
/// ```
/// use mapping_core::{ingest, keys, normalize, IngestOptions};
/// let csv = "Name,Website,Country\nAcme Ltd,https://shop.acme.co.uk/x,United Kingdom\nGranada,granada.k12.co.us,\n";
/// let data = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
/// let a = keys::attributes(&normalize::normalize_account(&data.accounts[0]));
/// assert_eq!((a.domain, a.country.as_deref(), a.brand.as_deref()), (true, Some("GB"), Some("acme")));
/// let b = keys::attributes(&normalize::normalize_account(&data.accounts[1]));
/// assert_eq!((b.domain, b.country, b.brand), (true, None, None));
/// assert!(!a.several_domains && !b.several_domains);
/// let csv = "Name,Website,Email\nEpiroc,epirocgroup.com epiroc.com,\nAcme,acme.com,jo@acme.com\n";
/// let data = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
/// assert!(keys::attributes(&normalize::normalize_account(&data.accounts[0])).several_domains);
/// assert!(!keys::attributes(&normalize::normalize_account(&data.accounts[1])).several_domains);
/// ```
pub fn attributes(account: &NormalizedAccount) -> Attributes {
    let first = account.domains.first().map(|d| &d.domain.registrable);
    Attributes {
        domain: first.is_some(),
        several_domains: account.domains.iter().any(|d| Some(&d.domain.registrable) != first),
        country: account.country.map(str::to_owned),
        brand: account
            .domains
            .iter()
            .find(|d| d.domain.brand_names_an_organisation())
            .map(|d| d.domain.brand.clone()),
    }
}

/// The consonant skeleton of a normalized name: spaces removed, vowels after the first
/// letter removed, runs of one letter collapsed (`acme corporation` has no legal form left
/// to drop, so: `acmcrprtn`; `acmee` gives `acm` like `acme`). `None` under four letters,
/// where skeletons collide too often to be worth a slot.
fn skeleton(name: &str) -> Option<String> {
    let letters: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = String::new();
    let mut last = None;
    for (i, c) in letters.iter().copied().enumerate() {
        let vowel = matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
        if (i > 0 && vowel) || Some(c) == last {
            if !vowel {
                last = Some(c);
            }
            continue;
        }
        out.push(c);
        last = Some(c);
    }
    (out.chars().count() >= 3 && letters.len() >= 4).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeletons() {
        assert_eq!(skeleton("acme").as_deref(), Some("acm"));
        assert_eq!(skeleton("acmee").as_deref(), Some("acm"));
        assert_eq!(skeleton("globex corp").as_deref(), Some("glbxcrp"));
        assert_eq!(skeleton("ibm"), None);
    }

    #[test]
    fn tags_round_trip_and_are_distinct() {
        for t in KeyType::ALL {
            assert_eq!(KeyType::from_tag(t.tag()), Some(t));
            assert_eq!(KeyType::parse(t.as_str()), Some(t));
        }
        let a = MatchKey {
            kind: KeyType::Name,
            value: "acme".into(),
        };
        let b = MatchKey {
            kind: KeyType::Domain,
            value: "acme".into(),
        };
        assert_ne!(a.to_bytes(), b.to_bytes());
    }
}

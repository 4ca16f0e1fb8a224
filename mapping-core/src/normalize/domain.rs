//! Domains: from whatever a CRM holds (a URL, a bare host, an e-mail address) to the
//! registrable domain and its brand label.
//!
//! The steps, in order: strip invisible characters and surrounding space; take the host out
//! of an e-mail address or URL (scheme, userinfo, port, path, query and fragment go); map it
//! through IDNA (UTS #46, so `BÜCHER.de`, `bücher.de` and `xn--bcher-kva.de` agree, and the
//! ideographic full stop `。` is a dot); refuse IP addresses and malformed labels; then find the
//! public suffix with the Public Suffix List, *private section included*, so that
//! `foo.myshopify.com` and `bar.myshopify.com` stay two organisations.
//!
//! The list comes compiled into the `psl` crate. That crate (like `publicsuffix` and `addr`)
//! walks a trie and loses a wildcard rule `*.X` when a sibling rule `*.Y.X` exists: for
//! `ex.futurecms.at` it answers `at` where the list's algorithm answers `ex.futurecms.at`.
//! [`public_suffix_len`] corrects this by asking the same list whether `X` carries a
//! wildcard (a made-up label under `X` is a suffix only through one); the cases are in
//! `testdata/psl/wildcard_sibling_cases.tsv` and the tests check all of them.

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::OnceLock;

use hashbrown::HashSet;
use psl::Psl as _;

/// Where a domain value came from: a website-like column, or an e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainSource {
    /// A website, URL or domain column.
    Website,
    /// An e-mail address.
    Email,
}

/// A domain reduced to what identifies an organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NormalizedDomain {
    /// The full host, lowercase ASCII (punycode for IDN), without a trailing dot.
    pub host: String,
    /// The registrable domain (public suffix plus one label), lowercase ASCII.
    pub registrable: String,
    /// The label left of the public suffix: `acme` for `shop.acme.co.uk`.
    pub brand: String,
    /// The public suffix comes from the list's private section (`myshopify.com`, `github.io`).
    pub private_suffix: bool,
    /// The domain is a free-mail, ISP or disposable mail domain (`gmail.com`).
    pub free_mail: bool,
}

/// Labels of a public suffix under which the label left of it names a place, a school or a
/// public body, not a brand: `granada.k12.co.us` (a school district) is not the brand
/// "granada" of `granada.es` (a city) or `granada.com`.
const NON_BRAND_SUFFIX_LABELS: &[&str] = &[
    "gov",
    "gouv",
    "gob",
    "govt",
    "gv",
    "go",
    "gub",
    "mil",
    "edu",
    "ac",
    "sch",
    "school",
    "schools",
    "k12",
    "lib",
    "cc",
    "tec",
    "muni",
    "mun",
    "kommune",
    "city",
    "town",
    "state",
    "police",
    "nhs",
    "parliament",
];

impl NormalizedDomain {
    /// The public suffix (`co.uk` of `acme.co.uk`).
    pub fn suffix(&self) -> &str {
        self.registrable.get(self.brand.len() + 1..).unwrap_or_default()
    }

    /// Whether the brand label names an organisation that may hold the same label under
    /// other suffixes: not under a government, municipal, state, school or academic suffix
    /// (`gov.uk`, `k12.co.us`, `ac.jp`, `ca.us`, `.gov`, `.edu`), and not a free-mail domain.
    ///
    /// ```
    /// use mapping_core::{normalize_domain, DomainSource};
    /// let brand = |d: &str| normalize_domain(d, DomainSource::Website).unwrap().brand_names_an_organisation();
    /// assert!(brand("granada.es") && brand("acme.co.uk"));
    /// assert!(!brand("granada.k12.co.us") && !brand("camden.gov.uk") && !brand("ox.ac.uk"));
    /// assert!(!brand("portland.or.us") && !brand("springfield.gov") && !brand("gmail.com"));
    /// ```
    pub fn brand_names_an_organisation(&self) -> bool {
        if self.free_mail {
            return false;
        }
        let labels: Vec<&str> = self.suffix().split('.').collect();
        let us_state = labels.len() == 2 && labels[1] == "us" && labels[0].len() == 2;
        !us_state && !labels.iter().any(|l| NON_BRAND_SUFFIX_LABELS.contains(l))
    }
}

/// Why a value is not a usable domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainError {
    /// Nothing left after trimming.
    Empty,
    /// The value is a URL whose scheme or authority cannot be read.
    InvalidUrl(String),
    /// An IPv4 or IPv6 address, which names a machine, not an organisation.
    IpAddress(String),
    /// IDNA mapping failed or a label is empty, too long, or has characters a host cannot have.
    InvalidHost(String),
    /// The last label is not a top-level domain in the Public Suffix List.
    UnknownTld(String),
    /// The host is itself a public suffix (`co.uk`, `myshopify.com`): no organisation in it.
    PublicSuffixOnly(String),
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainError::Empty => write!(f, "empty domain"),
            DomainError::InvalidUrl(v) => write!(f, "cannot read a host out of URL {v:?}"),
            DomainError::IpAddress(v) => write!(f, "{v:?} is an IP address, not a domain"),
            DomainError::InvalidHost(v) => write!(f, "{v:?} is not a valid host name"),
            DomainError::UnknownTld(v) => write!(f, "{v:?} has an unknown top-level domain"),
            DomainError::PublicSuffixOnly(v) => {
                write!(f, "{v:?} is a public suffix, not an organisation's domain")
            }
        }
    }
}

impl std::error::Error for DomainError {}

/// Characters that are invisible in a CRM cell but break equality: zero-width spaces and
/// joiners, the byte-order mark, soft hyphens, directional marks.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

/// Normalizes one domain-like value. `source` decides whether a free-mail domain is merely
/// flagged (a website) or kept out of the match keys later (an e-mail address: see
/// [`NormalizedDomain::free_mail`]).
///
/// ```
/// use mapping_core::{normalize_domain, DomainSource};
/// let d = normalize_domain("https://Shop.ACME.co.uk:8443/en/?ref=x", DomainSource::Website).unwrap();
/// assert_eq!(normalize_domain("https//www.acme.com/", DomainSource::Website).unwrap().registrable, "acme.com");
/// assert_eq!(normalize_domain("http:/acme.com", DomainSource::Website).unwrap().registrable, "acme.com");
/// assert_eq!(d.registrable, "acme.co.uk");
/// assert_eq!(d.brand, "acme");
/// let e = normalize_domain("jane.doe@eu.acme.de", DomainSource::Email).unwrap();
/// assert_eq!(e.registrable, "acme.de");
/// ```
pub fn normalize_domain(raw: &str, source: DomainSource) -> Result<NormalizedDomain, DomainError> {
    let cleaned: String = raw.chars().filter(|c| !is_invisible(*c)).collect();
    let value = cleaned.trim();
    if value.is_empty() {
        return Err(DomainError::Empty);
    }
    let authority = match source {
        DomainSource::Email => email_host(value)?,
        DomainSource::Website => url_host(value)?,
    };
    let host = to_ascii_host(authority)?;
    let suffix = public_suffix_len(&host).ok_or_else(|| DomainError::InvalidHost(host.clone()))?;
    if suffix.typ.is_none() {
        return Err(DomainError::UnknownTld(host));
    }
    if suffix.len >= host.len() {
        return Err(DomainError::PublicSuffixOnly(host));
    }
    let (registrable, brand) = registrable_of(&host, suffix.len);
    let free_mail = is_free_mail(&host) || is_free_mail(registrable);
    Ok(NormalizedDomain {
        registrable: registrable.to_owned(),
        brand: brand.to_owned(),
        private_suffix: suffix.typ == Some(psl::Type::Private),
        free_mail,
        host,
    })
}

/// The registrable domain (eTLD+1) of a host, by the Public Suffix List algorithm including
/// the implicit `*` rule for unlisted TLDs, in the form of the input (Unicode in, Unicode
/// out). `None` for a leading dot, an invalid host, or a host that is itself a suffix.
/// This is the `checkPublicSuffix` function of the list's own conformance tests.
///
/// ```
/// use mapping_core::registrable_domain;
/// assert_eq!(registrable_domain("www.食狮.公司.cn").as_deref(), Some("食狮.公司.cn"));
/// assert_eq!(registrable_domain("a.b.example.example").as_deref(), Some("example.example"));
/// assert_eq!(registrable_domain("co.uk"), None);
/// ```
pub fn registrable_domain(host: &str) -> Option<String> {
    if host.starts_with('.') {
        return None;
    }
    let ascii = to_ascii_host(host).ok()?;
    let suffix = public_suffix_len(&ascii)?;
    if suffix.len >= ascii.len() {
        return None;
    }
    let (registrable, _) = registrable_of(&ascii, suffix.len);
    if host.is_ascii() {
        Some(registrable.to_owned())
    } else {
        let (unicode, result) = idna::domain_to_unicode(registrable);
        result.ok().map(|()| unicode)
    }
}

/// Whether a lowercase ASCII domain is on the bundled free-mail / ISP / disposable list.
pub fn is_free_mail(domain: &str) -> bool {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../../data/free-email-domains.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
    .contains(domain)
}

fn registrable_of(host: &str, suffix_len: usize) -> (&str, &str) {
    let rest = &host[..host.len() - suffix_len - 1];
    let start = rest.rfind('.').map_or(0, |i| i + 1);
    (&host[start..], &host[start..host.len() - suffix_len - 1])
}

fn email_host(value: &str) -> Result<&str, DomainError> {
    let value = value
        .strip_prefix("mailto:")
        .or_else(|| value.strip_prefix("MAILTO:"))
        .unwrap_or(value);
    let value = value.split(['?', '>']).next().unwrap_or(value);
    match value.rfind('@') {
        Some(at) => Ok(&value[at + 1..]),
        // A bare domain in an e-mail column ("acme.com") is still a domain.
        None => url_host(value),
    }
}

/// Spellings of `http`/`https` that CRM users type (`htps`, `hhtp`, a lost `h`, defanged
/// `hxxp`), for [`repair_scheme`].
const SCHEME_TYPOS: &[&str] = &[
    "https", "http", "htps", "htp", "hhtps", "hhtp", "ttps", "ttp", "hxxps", "hxxp",
];

/// `https//acme.com`, `http:/acme.com`, `http:\\acme.com`, `htps;//acme.com`: the host after
/// a mistyped web scheme, or `None` when `value` does not start with one. A well-formed
/// `scheme://` is left to the URL path.
fn repair_scheme(value: &str) -> Option<&str> {
    for typo in SCHEME_TYPOS {
        let Some(head) = value.get(..typo.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(typo) {
            continue;
        }
        let rest = &value[typo.len()..];
        let seps = rest
            .bytes()
            .take_while(|b| matches!(b, b':' | b';' | b'/' | b'\\'))
            .count();
        let sep = &rest[..seps];
        if sep.contains(['/', '\\']) && sep != "://" {
            return Some(&rest[seps..]);
        }
    }
    None
}

/// The authority's host part of a URL or bare host; `Err` where a scheme is malformed.
fn url_host(value: &str) -> Result<&str, DomainError> {
    let value = repair_scheme(value).unwrap_or(value);
    let rest = if let Some(i) = value.find("://") {
        let scheme = &value[..i];
        let valid = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid {
            return Err(DomainError::InvalidUrl(value.to_owned()));
        }
        &value[i + 3..]
    } else if let Some(r) = value.strip_prefix("//") {
        r
    } else {
        value
    };
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_port = authority.rfind('@').map_or(authority, |i| &authority[i + 1..]);
    if host_port.starts_with('[') {
        return Err(DomainError::IpAddress(host_port.to_owned()));
    }
    let host = match host_port.rfind(':') {
        Some(i) if host_port[i + 1..].chars().all(|c| c.is_ascii_digit()) => &host_port[..i],
        Some(_) => return Err(DomainError::InvalidUrl(value.to_owned())),
        None => host_port,
    };
    if host.is_empty() {
        return Err(DomainError::InvalidUrl(value.to_owned()));
    }
    Ok(host)
}

/// IDNA-maps a host to lowercase ASCII, drops one trailing dot, and checks every label.
fn to_ascii_host(host: &str) -> Result<String, DomainError> {
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::InvalidHost(host.to_owned()));
    }
    let mut ascii = idna::domain_to_ascii(host).map_err(|_| DomainError::InvalidHost(host.to_owned()))?;
    if ascii.ends_with('.') {
        ascii.pop();
    }
    if ascii.is_empty() || ascii.len() > 253 {
        return Err(DomainError::InvalidHost(host.to_owned()));
    }
    if ascii.parse::<Ipv4Addr>().is_ok() {
        return Err(DomainError::IpAddress(ascii));
    }
    for label in ascii.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(DomainError::InvalidHost(host.to_owned()));
        }
    }
    let last = ascii.rsplit('.').next().unwrap_or("");
    if last.bytes().all(|b| b.is_ascii_digit()) {
        // All-numeric TLDs do not exist; this is a (partial or odd) IP address.
        return Err(DomainError::IpAddress(ascii));
    }
    Ok(ascii)
}

/// Length in bytes and section of the public suffix of a lowercase ASCII host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SuffixInfo {
    pub(crate) len: usize,
    pub(crate) typ: Option<psl::Type>,
}

/// A label no list rule names, used to ask whether `*.X` is a rule.
const PROBE_LABEL: &str = "acctmap-probe-0";

fn find(host: &str) -> psl::Info {
    psl::List.find(host.rsplit('.').map(str::as_bytes))
}

/// The public suffix of a lowercase ASCII host, by the list's algorithm (the prevailing
/// rule is an exception rule if one matches, else the longest matching rule).
pub(crate) fn public_suffix_len(host: &str) -> Option<SuffixInfo> {
    let info = find(host);
    if info.len == 0 || info.len > host.len() {
        return None;
    }
    let mut best = SuffixInfo {
        len: info.len,
        typ: info.typ,
    };
    // Label starts, from the left; suffix X = host[start..], its parent X' = after X's first dot.
    let mut probe = String::with_capacity(host.len() + PROBE_LABEL.len() + 1);
    let mut start = 0;
    while let Some(dot) = host[start..].find('.') {
        let x = &host[start..];
        let parent = &host[start + dot + 1..];
        if x.len() <= best.len {
            break;
        }
        probe.clear();
        probe.push_str(PROBE_LABEL);
        probe.push('.');
        probe.push_str(parent);
        let wildcard = find(&probe);
        if wildcard.len == probe.len() && wildcard.typ.is_some() {
            // `*.parent` is a rule. An exception rule `!x` makes the list answer exactly
            // `parent` for `x`; the trie walk's sibling bug answers something shorter.
            if find(x).len < parent.len() {
                best = SuffixInfo {
                    len: x.len(),
                    typ: wildcard.typ,
                };
                break;
            }
        }
        start += dot + 1;
    }
    Some(best)
}

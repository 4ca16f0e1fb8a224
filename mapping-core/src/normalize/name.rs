//! Company names and countries: from how people type them to one comparable form.
//!
//! A name goes through Unicode NFKC (full-width letters, ligatures and superscripts become
//! plain ones), removal of invisible characters, full case folding (`Straße` = `STRASSE`),
//! removal of diacritics on Latin letters only (`Müller` = `Muller`, `Łódź` = `Lodz`; Greek,
//! Cyrillic, Arabic, Hebrew and CJK text stays as NFKC and folded, since stripping marks
//! there changes letters), `&` spelled `and`, dots and apostrophes dropped (`A.B.C.` = `ABC`,
//! `McDonald's` = `McDonalds`), other punctuation and symbols turned into spaces, and
//! legal-form terms removed from the end and, for a few, from the start. A name is never
//! reduced to nothing: `Limited Inc` keeps `limited`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::LazyLock;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::domain::is_invisible;

use super::legal_forms::{LEADING, TRAILING};

/// Articles skipped when looking for a name's first significant token.
const ARTICLES: &[&str] = &[
    "the", "der", "die", "das", "le", "la", "les", "el", "los", "las", "il", "de",
];

/// Normalizes a company name; `None` when nothing identifying is left (blank, punctuation).
///
/// ```
/// use mapping_core::normalize_name;
/// assert_eq!(normalize_name("Müller & Söhne GmbH & Co. KG").as_deref(), Some("muller and sohne"));
/// assert_eq!(normalize_name("ACME, Inc.").as_deref(), Some("acme"));
/// assert_eq!(normalize_name("Aktiebolaget Volvo").as_deref(), Some("volvo"));
/// assert_eq!(normalize_name("Inc."), Some("inc".to_string())); // never empty
/// ```
pub fn normalize_name(raw: &str) -> Option<String> {
    let text = fold_umlaut_spellings(&fold_text(raw));
    let mut tokens: Vec<&str> = text.split_whitespace().collect();
    strip_legal_forms(&mut tokens);
    if tokens.is_empty() {
        None
    } else {
        Some(tokens.join(" "))
    }
}

/// German spells `ü`, `ö`, `ä` as `ue`, `oe`, `ae` where the letter is missing
/// (`Mueller`, `Goebel`, `Baecker`); after [`fold_text`] has made `Müller` into `muller`, the
/// two spellings meet when the digraph becomes its vowel. Only before a consonant, so that
/// `Boeing`, `Queen` and `Joe` keep theirs, and never `ue` after `q` (`Quest`); `ae` also
/// before `u`, the diphthong `äu` (`Allgaeu`, `Haeuser`), which no English word spells. Both sides
/// fold alike, so the rare word that loses a letter it needed (`Michael` is `michal`) still
/// equals itself.
///
/// ```
/// use mapping_core::normalize_name;
/// assert_eq!(normalize_name("Mueller GmbH"), normalize_name("Müller GmbH"));
/// assert_eq!(normalize_name("Goebel & Baecker").as_deref(), Some("gobel and backer"));
/// assert_eq!(normalize_name("Aerzte Oerlikon"), normalize_name("Ärzte Örlikon"));
/// assert_eq!(normalize_name("Boeing Queen Quest").as_deref(), Some("boeing queen quest"));
/// assert_eq!(normalize_name("VR Bank Augsburg-Ostallgaeu"), normalize_name("VR Bank Augsburg-Ostallgäu"));
/// assert_eq!(normalize_name("Haeuser Baeume").as_deref(), Some("hauser baume"));
/// ```
fn fold_umlaut_spellings(text: &str) -> String {
    let b = text.as_bytes();
    let consonant = |c: u8| c.is_ascii_lowercase() && !b"aeiouy".contains(&c);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let after = b.get(i + 2).copied();
        if matches!(c, b'a' | b'o' | b'u')
            && b.get(i + 1) == Some(&b'e')
            && (after.is_some_and(consonant) || (c == b'a' && after == Some(b'u')))
            && !(c == b'u' && i > 0 && b[i - 1] == b'q')
        {
            out.push(c);
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    // Only ASCII bytes were dropped (an `e` after an ASCII vowel), so this stays UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// Values CRMs hold where nobody typed a name ("n/a", "test", "unknown"), in normalized form.
const PLACEHOLDERS: &[&str] = &[
    "na",
    "n a",
    "none",
    "null",
    "nil",
    "unknown",
    "test",
    "tbd",
    "tba",
    "xxx",
    "xx",
    "x",
    "asdf",
    "no name",
    "noname",
    "sample",
    "dummy",
    "delete",
    "do not use",
    "dont use",
    "company",
    "customer",
    "account",
    "private",
    "individual",
];

/// Whether a normalized name is a placeholder rather than a name.
///
/// ```
/// use mapping_core::normalize::{is_placeholder_name, normalize_name};
/// assert!(is_placeholder_name(&normalize_name("N/A").unwrap()));
/// assert!(!is_placeholder_name(&normalize_name("Acme").unwrap()));
/// ```
pub fn is_placeholder_name(normalized: &str) -> bool {
    PLACEHOLDERS.contains(&normalized)
}

/// The first token of a normalized name that is not an article: `acme` for `the acme group`.
pub fn first_significant_token(normalized: &str) -> Option<&str> {
    let mut tokens = normalized.split(' ').filter(|t| !t.is_empty());
    let first = tokens.next()?;
    if ARTICLES.contains(&first) {
        Some(tokens.next().unwrap_or(first))
    } else {
        Some(first)
    }
}

/// NFKC, invisible-character removal, case folding, Latin transliteration, punctuation.
/// The result has only letters, digits, combining marks (of non-Latin scripts) and single
/// spaces between them.
pub(crate) fn fold_text(raw: &str) -> String {
    // ASCII is its own NFKC and folds by lowercasing: most CRM values skip the Unicode work.
    let folded: String = if raw.is_ascii() && !raw.chars().any(is_invisible) {
        raw.to_ascii_lowercase()
    } else {
        let nfkc: String = raw.chars().filter(|c| !is_invisible(*c)).nfkc().collect();
        caseless::default_case_fold_str(&nfkc).nfkc().collect()
    };
    // Punctuation first: dropping an apostrophe can put a mark next to a Latin letter, and
    // the mark must then go in this pass, not the next (idempotence).
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        match c {
            '&' => out.push_str(" and "),
            '.' | '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{02BC}' | '\u{00B4}' => {}
            c if c.is_alphanumeric() || is_combining_mark(c) => out.push(c),
            _ => out.push(' '),
        }
    }
    let latin = if out.is_ascii() { out } else { strip_latin_marks(&out) };
    let mut joined = String::with_capacity(latin.len());
    for token in latin.split_whitespace() {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(token);
    }
    joined
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' | '\u{2C60}'..='\u{2C7F}' | '\u{A720}'..='\u{A7FF}' | '\u{AB30}'..='\u{AB6F}')
}

/// Decomposes, drops combining marks that follow a Latin base letter, spells out the Latin
/// letters that do not decompose (`ø`, `ł`, `æ`, ...), and recomposes everything else.
fn strip_latin_marks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_latin = false;
    for c in s.nfd() {
        if is_combining_mark(c) {
            if !after_latin {
                out.push(c);
            }
            continue;
        }
        after_latin = is_latin(c);
        match c {
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ø' => out.push('o'),
            'ł' | 'ŀ' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'þ' => out.push_str("th"),
            'ı' => out.push('i'),
            'ħ' => out.push('h'),
            'ŧ' => out.push('t'),
            'ß' => out.push_str("ss"),
            _ => out.push(c),
        }
    }
    out.nfc().collect()
}

/// The legal-form terms split into tokens once, longest first.
fn term_tokens(terms: &'static [&'static str]) -> Vec<Vec<&'static str>> {
    let mut out: Vec<Vec<&str>> = terms.iter().map(|t| t.split(' ').collect()).collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.len()));
    out
}

/// The legal-form terms by the token a match must hold at the name's edge (the last token
/// for trailing terms, the first for leading ones), longest first: a name is compared with
/// the few terms that can match it, not with the whole table.
type TermIndex = HashMap<&'static str, Vec<Vec<&'static str>>>;

fn index_terms(
    terms: &'static [&'static str],
    edge: for<'a> fn(&'a [&'static str]) -> Option<&'a &'static str>,
) -> TermIndex {
    let mut index: TermIndex = HashMap::new();
    for term in term_tokens(terms) {
        if let Some(&token) = edge(&term) {
            index.entry(token).or_default().push(term);
        }
    }
    index
}

static TRAILING_TOKENS: LazyLock<TermIndex> = LazyLock::new(|| index_terms(TRAILING, <[_]>::last));
static LEADING_TOKENS: LazyLock<TermIndex> = LazyLock::new(|| index_terms(LEADING, <[_]>::first));

/// Removes legal-form terms from the end (repeatedly, longest match first), then from the
/// start, never removing the last remaining token.
fn strip_legal_forms(tokens: &mut Vec<&str>) {
    while let Some(n) = tokens
        .last()
        .and_then(|last| TRAILING_TOKENS.get(last))
        .and_then(|terms| terms.iter().find(|t| t.len() < tokens.len() && tokens.ends_with(t)))
        .map(Vec::len)
    {
        tokens.truncate(tokens.len() - n);
    }
    while let Some(n) = tokens
        .first()
        .and_then(|first| LEADING_TOKENS.get(first))
        .and_then(|terms| terms.iter().find(|t| t.len() < tokens.len() && tokens.starts_with(t)))
        .map(Vec::len)
    {
        tokens.drain(..n);
    }
}

/// Common local and informal spellings that the ISO tables do not carry.
const COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("uk", "GB"),
    ("greatbritain", "GB"),
    ("britain", "GB"),
    ("unitedkingdom", "GB"),
    ("northernireland", "GB"),
    ("wales", "GB"),
    ("us", "US"),
    ("usa", "US"),
    ("unitedstates", "US"),
    ("unitedstatesofamerica", "US"),
    ("deutschland", "DE"),
    ("allemagne", "DE"),
    ("espana", "ES"),
    ("espagne", "ES"),
    ("italia", "IT"),
    ("frankreich", "FR"),
    ("nederland", "NL"),
    ("holland", "NL"),
    ("thenetherlands", "NL"),
    ("belgique", "BE"),
    ("belgie", "BE"),
    ("osterreich", "AT"),
    ("schweiz", "CH"),
    ("suisse", "CH"),
    ("svizzera", "CH"),
    ("sverige", "SE"),
    ("norge", "NO"),
    ("danmark", "DK"),
    ("suomi", "FI"),
    ("polska", "PL"),
    ("ceskarepublika", "CZ"),
    ("czechia", "CZ"),
    ("czechrepublic", "CZ"),
    ("brasil", "BR"),
    ("mexico", "MX"),
    ("nippon", "JP"),
    ("korea", "KR"),
    ("southkorea", "KR"),
    ("russia", "RU"),
    ("uae", "AE"),
    ("unitedarabemirates", "AE"),
    ("turkiye", "TR"),
    ("turkey", "TR"),
    ("vietnam", "VN"),
    ("hongkong", "HK"),
    ("taiwan", "TW"),
    ("ireland", "IE"),
    ("eire", "IE"),
];

/// Normalizes a country to its ISO 3166-1 alpha-2 code from a code (`GB`, `GBR`, `826`), an
/// English name or a common local name (`Deutschland`, `España`); `None` when unknown.
///
/// ```
/// use mapping_core::normalize_country;
/// assert_eq!(normalize_country("United Kingdom"), Some("GB"));
/// assert_eq!(normalize_country("deutschland"), Some("DE"));
/// assert_eq!(normalize_country("U.S.A."), Some("US"));
/// assert_eq!(normalize_country("Atlantis"), None);
/// ```
pub fn normalize_country(raw: &str) -> Option<&'static str> {
    // A list holds few distinct country values: each thread remembers what it found, up to
    // 1,024 values (then starts again), so a file of random values costs no more than now.
    thread_local! {
        static SEEN: RefCell<HashMap<String, Option<&'static str>>> = RefCell::new(HashMap::new());
    }
    if let Some(found) = SEEN.with_borrow(|seen| seen.get(raw).copied()) {
        return found;
    }
    let found = country_code(raw);
    SEEN.with_borrow_mut(|seen| {
        if seen.len() >= 1024 {
            seen.clear();
        }
        seen.insert(raw.to_owned(), found);
    });
    found
}

fn country_code(raw: &str) -> Option<&'static str> {
    let compact: String = fold_text(raw).chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if compact.is_empty() {
        return None;
    }
    if let Some((_, code)) = COUNTRY_ALIASES.iter().find(|(alias, _)| *alias == compact) {
        return Some(code);
    }
    celes::Country::from_str(&compact).ok().map(|c| c.alpha2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-thread memo of country values answers as the rules do, for values seen once
    /// or again, and after it filled up and started again.
    #[test]
    fn the_country_memo_answers_as_the_rules_do() {
        let values = [
            "Germany",
            "DE",
            "deutschland",
            "U.S.A.",
            "  united kingdom ",
            "Atlantis",
            "",
            "ÖSTERREICH",
            "fr",
        ];
        let expected: Vec<_> = values.iter().map(|v| country_code(v)).collect();
        assert_eq!(expected[..4], [Some("DE"), Some("DE"), Some("DE"), Some("US")]);
        assert_eq!((expected[5], expected[6], expected[7]), (None, None, Some("AT")));
        for round in 0..3 {
            let got: Vec<_> = values.iter().map(|v| normalize_country(v)).collect();
            assert_eq!(got, expected, "round {round}");
            // Enough other values to fill the memo and make it start again.
            for i in 0..1500 {
                assert_eq!(normalize_country(&format!("nowhere {i}")), None);
            }
        }
    }

    /// The legal-form index strips what a scan of the whole table strips: the longest term
    /// at the end, repeatedly, then at the start, never the last token.
    #[test]
    fn legal_forms_by_edge_token_strip_as_the_table_does() {
        let scan = |name: &str| {
            let mut tokens: Vec<&str> = name.split(' ').collect();
            let trailing = term_tokens(TRAILING);
            let leading = term_tokens(LEADING);
            while let Some(n) = trailing
                .iter()
                .find(|t| t.len() < tokens.len() && tokens[tokens.len() - t.len()..] == t[..])
                .map(Vec::len)
            {
                tokens.truncate(tokens.len() - n);
            }
            while let Some(n) = leading
                .iter()
                .find(|t| t.len() < tokens.len() && tokens[..t.len()] == t[..])
                .map(Vec::len)
            {
                tokens.drain(..n);
            }
            tokens.join(" ")
        };
        let indexed = |name: &str| {
            let mut tokens: Vec<&str> = name.split(' ').collect();
            strip_legal_forms(&mut tokens);
            tokens.join(" ")
        };
        let mut names: Vec<String> = [
            "acme gmbh and co kg",
            "gmbh",
            "oy acme ab",
            "acme public limited company",
            "pt bank x tbk",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every term after a name and before it, and every term alone.
        for t in TRAILING.iter().chain(LEADING) {
            names.push(format!("acme {t}"));
            names.push(format!("{t} acme"));
            names.push(format!("acme {t} {t}"));
            names.push(t.to_string());
        }
        for n in &names {
            assert_eq!(indexed(n), scan(n), "{n}");
        }
        assert_eq!(indexed("acme gmbh and co kg"), "acme");
        assert_eq!(indexed("gmbh"), "gmbh");
    }
}

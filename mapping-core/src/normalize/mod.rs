//! Normalize: an [`Account`] as written to the values that identify it ([`NormalizedAccount`]):
//! registrable domains with their brand labels, a folded company name without legal form,
//! and an ISO country code. Values that cannot be used are kept as [`FieldIssue`]s, so that a
//! row whose every identifier fails can be rejected with the reasons.
//!
//! - `domain`: URL / e-mail / host to registrable domain and brand, free-mail detection.
//! - `name`: Unicode folding, transliteration of Latin diacritics, legal forms; countries.

mod domain;
mod legal_forms;
mod name;

pub use domain::{is_free_mail, normalize_domain, registrable_domain, DomainError, DomainSource, NormalizedDomain};
pub(crate) use name::fold_text;
pub use name::{first_significant_token, is_placeholder_name, normalize_country, normalize_name};

use crate::ingest::Account;

/// One normalized domain and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountDomain {
    /// The normalized domain.
    #[serde(flatten)]
    pub domain: NormalizedDomain,
    /// Website column or e-mail address.
    pub source: DomainSource,
}

/// A value of an account that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldIssue {
    /// Which field: `website`, `email`, `name`, `country`.
    pub field: &'static str,
    /// The value as written.
    pub value: String,
    /// What was wrong.
    pub reason: String,
}

/// What identifies one account after normalization.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NormalizedAccount {
    /// Normalized company name, legal form removed.
    pub name: Option<String>,
    /// Distinct registrable domains usable for matching, websites first.
    pub domains: Vec<AccountDomain>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<&'static str>,
    /// Values that were dropped, with reasons (including flagged free-mail websites).
    pub issues: Vec<FieldIssue>,
}

impl NormalizedAccount {
    /// The registrable domains, space-separated (`acme.com acme.de`), for reports.
    pub fn domain_list(&self) -> String {
        self.domains
            .iter()
            .map(|d| d.domain.registrable.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Normalizes every identifying value of an account.
///
/// ```
/// use mapping_core::{ingest, normalize, IngestOptions};
/// let csv = "Company,Website,Email,Country\nAcme GmbH,www.ACME.de/,jo@acme.de; me@gmail.com,Deutschland\n";
/// let data = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
/// let n = normalize::normalize_account(&data.accounts[0]);
/// assert_eq!(n.name.as_deref(), Some("acme"));
/// assert_eq!(n.domains.len(), 1); // acme.de once; gmail.com is not the company's
/// assert_eq!(n.domains[0].domain.registrable, "acme.de");
/// assert_eq!(n.country, Some("DE"));
/// ```
pub fn normalize_account(account: &Account) -> NormalizedAccount {
    let mut issues = Vec::new();
    let mut domains: Vec<AccountDomain> = Vec::new();
    // An e-mail address typed into a website column is an e-mail address: `jo@gmail.com`
    // there must not make gmail.com the company's domain.
    let sources = account
        .websites
        .iter()
        .map(|v| {
            if v.contains('@') && !v.contains("://") {
                (v, DomainSource::Email, "website")
            } else {
                (v, DomainSource::Website, "website")
            }
        })
        .chain(account.emails.iter().map(|v| (v, DomainSource::Email, "email")));
    for (value, source, field) in sources {
        match normalize_domain(value, source) {
            // A free-mail, ISP or disposable domain names the mail provider, not the account,
            // whichever column it comes from: every such row would match every other one.
            Ok(d) if d.free_mail => issues.push(FieldIssue {
                field,
                value: value.clone(),
                reason: format!(
                    "{} is a free-mail, ISP or disposable mail domain{}; not used for matching (the row maps through its name)",
                    d.registrable,
                    if source == DomainSource::Website { " typed as a website" } else { "" }
                ),
            }),
            Ok(d) => {
                if !d.brand_names_an_organisation() {
                    issues.push(FieldIssue {
                        field,
                        value: value.clone(),
                        reason: format!(
                            "{} is a government, school, academic or locality suffix: the domain is used, but its label {:?} is not a brand (no BRAND_NAME key)",
                            d.suffix(),
                            d.brand
                        ),
                    });
                }
                if !domains.iter().any(|e| e.domain.registrable == d.registrable) {
                    domains.push(AccountDomain { domain: d, source });
                }
            }
            Err(e) => issues.push(FieldIssue {
                field,
                value: value.clone(),
                reason: e.to_string(),
            }),
        }
    }
    let name = account.name.as_deref().and_then(|raw| match normalize_name(raw) {
        None => {
            issues.push(FieldIssue {
                field: "name",
                value: raw.to_owned(),
                reason: "no letters or digits in the name".into(),
            });
            None
        }
        Some(n) if is_placeholder_name(&n) => {
            issues.push(FieldIssue {
                field: "name",
                value: raw.to_owned(),
                reason: "a placeholder, not a company name; not used for matching".into(),
            });
            None
        }
        Some(n) => Some(n),
    });
    let country = account.country.as_deref().and_then(|raw| {
        let c = normalize_country(raw);
        if c.is_none() {
            issues.push(FieldIssue {
                field: "country",
                value: raw.to_owned(),
                reason: "unknown country".into(),
            });
        }
        c
    });
    NormalizedAccount {
        name,
        domains,
        country,
        issues,
    }
}

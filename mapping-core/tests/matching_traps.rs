//! The traps real CRM lists have (issue 10), as regression tests through ingest, normalize
//! and keys: free-mail domains typed as websites, brand labels under school and government
//! suffixes, legal forms the table lacked, mistyped schemes.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

use mapping_core::{ingest, IngestOptions, KeyConfig, KeyType, PreparedList};

fn keys(csv: &str) -> Vec<Vec<(KeyType, String)>> {
    let d = ingest::read(csv.as_bytes(), "t.csv", &IngestOptions::new()).unwrap();
    let list = PreparedList::build(d, &KeyConfig::new());
    list.accounts
        .iter()
        .map(|a| a.keys.iter().map(|k| (k.kind, k.value.clone())).collect())
        .collect()
}

/// Issue 10, cause 1: `gmail.com`, `yahoo.co.jp`, `web.de` typed into the Website column
/// became DOMAIN keys, so every such row matched every other (about 6,450 false pairs).
#[test]
fn free_mail_websites_make_no_domain_or_brand_keys() {
    let k = keys("Account Name,Website,Billing Country\nAcme Plumbing,gmail.com,US\nBeta Bakery,https://www.yahoo.co.jp/,JP\nGamma GmbH,web.de,DE\n");
    for account in &k {
        assert!(
            account
                .iter()
                .all(|(t, _)| !matches!(t, KeyType::Domain | KeyType::BrandName)),
            "{account:?}"
        );
        assert!(
            account.iter().any(|(t, _)| *t == KeyType::Name),
            "the row still maps by name"
        );
    }
    let d = ingest::read(
        "Account Name,Website\nAcme,gmail.com\n".as_bytes(),
        "t.csv",
        &IngestOptions::new(),
    )
    .unwrap();
    let list = PreparedList::build(d, &KeyConfig::new());
    let why = &list.accounts[0].normalized.issues[0].reason;
    assert!(
        why.contains("gmail.com is a free-mail, ISP or disposable mail domain typed as a website"),
        "{why}"
    );
}

/// Issue 10, cause 3: `granada.es` (a city) and `granada.k12.co.us` (a school district)
/// shared the brand label "granada"; labels under school, government, academic and US-state
/// suffixes are not brands.
#[test]
fn labels_under_public_suffixes_are_not_brands() {
    let k = keys(
        "Account Name,Website\nGranada City Council,granada.es\nGranada School District,granada.k12.co.us\nCamden Council,camden.gov.uk\nCity of Portland,ci.portland.or.us\n",
    );
    assert!(k[0].contains(&(KeyType::BrandName, "granada|granada".into())));
    for account in &k[1..] {
        assert!(account.iter().all(|(t, _)| *t != KeyType::BrandName), "{account:?}");
        assert!(
            account.iter().any(|(t, _)| *t == KeyType::Domain),
            "the domain itself still counts"
        );
    }
}

/// Issue 10, cause 4: legal forms the table lacked or placed only in front (`Company`,
/// `P.T.` after a comma), and mistyped schemes.
#[test]
fn legal_forms_and_schemes_real_lists_use() {
    let k = keys(
        "Account Name,Website\n\"Bank Mandiri, P.T.\",\nPT Bank Mandiri,\nBank Mandiri Tbk,\nAcme Company,https//acme.com\nAcme Co.,http:/www.acme.com\nAcme,htps://acme.com/\n",
    );
    let name = |i: usize| k[i].iter().find(|(t, _)| *t == KeyType::Name).unwrap().1.clone();
    assert_eq!(
        (name(0), name(1), name(2)),
        ("bank mandiri".into(), "bank mandiri".into(), "bank mandiri".into())
    );
    for (i, account) in k.iter().enumerate().skip(3) {
        assert_eq!(name(i), "acme");
        assert!(account.contains(&(KeyType::Domain, "acme.com".into())), "{account:?}");
    }
}

//! Properties of normalization: idempotent, never panics on arbitrary Unicode, and the
//! fuzzy-domain spellings the design promises all meet in one key.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

use mapping_core::{normalize_domain, normalize_name, DomainSource};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn name_normalization_is_idempotent(s in "\\PC{0,40}") {
        if let Some(n) = normalize_name(&s) {
            prop_assert_eq!(normalize_name(&n), Some(n.clone()), "input {:?}", s);
        }
    }

    #[test]
    fn name_normalization_of_company_like_text_is_idempotent(s in "[A-Za-zÀ-ÿ&.,' -]{1,12} (Inc|GmbH & Co. KG|S\\.A\\.|Oy|AB|K\\.K\\.|Pty Ltd|LLC)\\.?") {
        let n = normalize_name(&s).expect("letters present");
        prop_assert_eq!(normalize_name(&n), Some(n.clone()));
    }

    #[test]
    fn domain_normalization_never_panics_and_is_idempotent(s in "\\PC{0,60}") {
        for source in [DomainSource::Website, DomainSource::Email] {
            if let Ok(d) = normalize_domain(&s, source) {
                let again = normalize_domain(&d.host, DomainSource::Website).expect("a normalized host stays valid");
                prop_assert_eq!(&again.registrable, &d.registrable);
                let reg = normalize_domain(&d.registrable, DomainSource::Website).expect("registrable is valid");
                prop_assert_eq!(reg.registrable, d.registrable);
            }
        }
    }

    #[test]
    fn url_shaped_inputs(sub in "(www\\.|eu\\.|shop\\.|)", brand in "[a-z][a-z0-9-]{0,10}[a-z0-9]", tld in "(com|co\\.uk|de|com\\.au|fr)", path in "(/[a-z0-9?=&#]{0,10}){0,2}") {
        // Some brand.tld pairs are themselves private-section suffixes (eu.com, uk.com).
        prop_assume!(normalize_domain(&format!("{brand}.{tld}"), DomainSource::Website).is_ok());
        let url = format!("HTTPS://{}{}.{}{}", sub.to_uppercase(), brand, tld, path);
        let d = normalize_domain(&url, DomainSource::Website).expect("valid URL");
        prop_assert_eq!(d.registrable, format!("{brand}.{tld}"));
        prop_assert_eq!(d.brand, brand);
    }
}

#[test]
fn fuzzy_domain_spellings_meet() {
    let same = [
        "acme.co.uk",
        "https://www.acme.co.uk/en/contact?x=1#top",
        "http://user:pw@shop.ACME.CO.UK:8080",
        "ACME.co.uk.",
        "  \u{200B}acme.co.uk\u{FEFF} ",
        "//eu.acme.co.uk",
        "acme.co.uk/path",
    ];
    for s in same {
        assert_eq!(
            normalize_domain(s, DomainSource::Website).unwrap().registrable,
            "acme.co.uk",
            "{s:?}"
        );
    }
    assert_eq!(
        normalize_domain("Jane.Doe@Sales.Acme.co.uk", DomainSource::Email)
            .unwrap()
            .registrable,
        "acme.co.uk"
    );
    assert_eq!(
        normalize_domain("mailto:jo@acme.co.uk?subject=hi", DomainSource::Email)
            .unwrap()
            .registrable,
        "acme.co.uk"
    );
    // IDN and punycode meet.
    let idn = normalize_domain("https://www.Bücher.de", DomainSource::Website).unwrap();
    let puny = normalize_domain("xn--bcher-kva.de", DomainSource::Website).unwrap();
    assert_eq!(idn.registrable, puny.registrable);
    assert_eq!(idn.registrable, "xn--bcher-kva.de");
    // Country variants share the brand, and platform subdomains are separate organisations.
    let brands: Vec<String> = ["acme.com", "acme.de", "acme.co.uk", "acme.com.au"]
        .iter()
        .map(|d| normalize_domain(d, DomainSource::Website).unwrap().brand)
        .collect();
    assert!(brands.iter().all(|b| b == "acme"));
    let foo = normalize_domain("foo.myshopify.com", DomainSource::Website).unwrap();
    let bar = normalize_domain("https://bar.myshopify.com/", DomainSource::Website).unwrap();
    assert_ne!(foo.registrable, bar.registrable);
    assert!(foo.private_suffix);
    // Hyphen variants stay distinct domains (they are different registrations).
    assert_ne!(
        normalize_domain("acme-corp.com", DomainSource::Website)
            .unwrap()
            .registrable,
        normalize_domain("acmecorp.com", DomainSource::Website)
            .unwrap()
            .registrable
    );
}

#[test]
fn domain_rejections_name_the_reason() {
    use mapping_core::DomainError::*;
    type Check = fn(&mapping_core::DomainError) -> bool;
    let cases: [(&str, Check); 8] = [
        ("", |e| matches!(e, Empty)),
        ("192.168.0.1", |e| matches!(e, IpAddress(_))),
        ("http://[::1]:80/", |e| matches!(e, IpAddress(_))),
        ("acme.notatld", |e| matches!(e, UnknownTld(_))),
        ("co.uk", |e| matches!(e, PublicSuffixOnly(_))),
        ("acme..com", |e| matches!(e, InvalidHost(_))),
        ("-acme.com", |e| matches!(e, InvalidHost(_))),
        ("ht tp://acme.com", |e| matches!(e, InvalidUrl(_) | InvalidHost(_))),
    ];
    for (input, ok) in cases {
        let e = normalize_domain(input, DomainSource::Website).unwrap_err();
        assert!(ok(&e), "{input:?} gave {e:?}");
        assert!(!e.to_string().is_empty());
    }
    let gmail = normalize_domain("jane@gmail.com", DomainSource::Email).unwrap();
    assert!(gmail.free_mail);
}

#[test]
fn names_across_languages() {
    let pairs = [
        ("Müller & Söhne GmbH & Co. KG", "MULLER AND SOHNE"),
        ("STRAßE Logistik AG", "Strasse Logistik"),
        ("Société Générale S.A.", "societe generale"),
        ("Ørsted A/S", "orsted"),
        ("Aktiebolaget Volvo (publ)", "Volvo AB"),
        ("Toyota Motor K.K.", "toyota motor"),
        ("ＡＣＭＥ Ｉｎｃ", "acme"),
        ("Acme Pty Ltd", "ACME LIMITED"),
        ("Łódź Sp. z o.o.", "lodz"),
        ("Nestlé S.A.", "Nestle SA"),
    ];
    for (a, b) in pairs {
        assert_eq!(normalize_name(a), normalize_name(b), "{a:?} vs {b:?}");
    }
    // Non-Latin scripts keep their letters (no transliteration), but fold case.
    assert_eq!(normalize_name("ΑΘΗΝΑ").as_deref(), Some("αθηνα"));
    assert_eq!(normalize_name("삼성전자").as_deref(), Some("삼성전자"));
    assert_eq!(normalize_name("!!!"), None);
}

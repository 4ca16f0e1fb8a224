//! Ingest of CRM exports as they really come: encodings, delimiters, quoting, ragged rows,
//! duplicate headers, junk. Every row is accounted for.
#![allow(clippy::unwrap_used)] // tests unwrap; the rule is for library code

use mapping_core::{ingest, ErrorKind, IngestOptions, KeyConfig, Population, PreparedList};

fn read(bytes: &[u8]) -> mapping_core::Dataset {
    ingest::read(bytes, "test.csv", &IngestOptions::new()).expect("readable")
}

fn accounted(d: &mapping_core::Dataset) {
    assert_eq!(d.accounts.len() as u64 + d.rejects.len() as u64, d.rows_read);
}

#[test]
fn utf8_bom_and_crlf() {
    let d = read(b"\xEF\xBB\xBFAccount Name,Website\r\nAcme,acme.com\r\nGlobex,globex.com\r\n");
    assert_eq!(d.headers[0], "Account Name");
    assert_eq!(d.accounts.len(), 2);
    assert_eq!(d.accounts[1].websites, vec!["globex.com"]);
    accounted(&d);
}

#[test]
fn windows_1252_is_decoded_with_a_warning() {
    // "Müller GmbH" and "Société" in Windows-1252, semicolon-separated as European Excel writes.
    let d =
        read(b"Firma;Website;Land\nM\xfcller GmbH;mueller.de;Deutschland\nSoci\xe9t\xe9 G\xe9n\xe9rale;sg.fr;France\n");
    assert_eq!(d.delimiter, ';');
    assert_eq!(d.accounts[0].name.as_deref(), Some("Müller GmbH"));
    assert_eq!(d.accounts[1].name.as_deref(), Some("Société Générale"));
    assert!(
        d.warnings.iter().any(|w| w.contains("Windows-1252")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn utf16_excel_unicode_text() {
    let text = "Company\tDomain\nAcme\tacme.com\n";
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let d = read(&bytes);
    assert_eq!(d.delimiter, '\t');
    assert_eq!(d.accounts.len(), 1);
    assert_eq!(d.accounts[0].websites, vec!["acme.com"]);
    assert!(d.warnings[0].contains("UTF-16"));
}

#[test]
fn quoted_newlines_blank_lines_ragged_rows() {
    let csv = "Name,Website,Notes,Country\n\
               \"Acme, Inc.\",acme.com,\"line one\nline two, with comma\",US\n\
               \n\
               Globex,globex.com\n\
               Initech,initech.com,x,US,EXTRA\n\
               Umbrella,umbrella.com,,GB,\n";
    let d = read(csv.as_bytes());
    accounted(&d);
    assert_eq!(d.rows_read, 4, "the blank line is not a row");
    assert_eq!(d.accounts.len(), 3);
    assert_eq!(d.accounts[0].name.as_deref(), Some("Acme, Inc."));
    assert_eq!(d.accounts[0].extra, vec!["line one\nline two, with comma"]);
    // Globex: short row, missing cells blank, counted in a warning.
    assert_eq!(d.accounts[1].country, None);
    assert!(d.warnings.iter().any(|w| w.contains("1 row(s) had fewer fields")));
    // Initech: a fifth non-empty cell cannot be placed.
    assert_eq!(d.rejects.len(), 1);
    assert_eq!(d.rejects[0].row, 3);
    assert!(d.rejects[0].reason.contains("5 fields but the header has 4"));
    // Umbrella: a trailing empty cell is harmless.
    assert_eq!(d.accounts[2].row, 4);
    assert_eq!(d.accounts[2].country.as_deref(), Some("GB"));
}

#[test]
fn duplicate_headers_stay_usable() {
    let d = read(b"Name,Email,Email\nAcme,jo@acme.com,sales@acme-group.com\n");
    assert_eq!(d.headers, vec!["Name", "Email", "Email (2)"]);
    assert_eq!(d.accounts[0].emails, vec!["jo@acme.com", "sales@acme-group.com"]);
}

#[test]
fn multi_value_cells_and_display_names() {
    let d = read(b"Company,Emails\nAcme,\"Jo Doe <jo@acme.com>; ann@acme.com\"\n");
    assert_eq!(d.accounts[0].emails, vec!["jo@acme.com", "ann@acme.com"]);
}

#[test]
fn populations_from_status_columns() {
    let d =
        read(b"Account Name,Type\nA,Customer - Direct\nB,Prospect\nC,Opportunity\nD,Reseller\nE,\nF,Former Customer\n");
    let pops: Vec<Population> = d.accounts.iter().map(|a| a.population.clone()).collect();
    assert_eq!(
        pops,
        vec![
            Population::Customers,
            Population::Prospects,
            Population::OpenOpportunities,
            Population::Partners,
            Population::Unassigned,
            Population::Custom("Former Customer".into())
        ]
    );
    let custom =
        IngestOptions::new().populations(mapping_core::PopulationRules::parse(&["Churned=former customer"]).unwrap());
    let d = ingest::read(&b"Account Name,Type\nF,Former Customer\n"[..], "t", &custom).unwrap();
    assert_eq!(d.accounts[0].population, Population::Custom("Churned".into()));
}

#[test]
fn file_level_errors_are_clear() {
    let e = ingest::read(&b""[..], "empty.csv", &IngestOptions::new()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::EmptyInput { .. }));
    assert!(e.to_string().starts_with("empty.csv: "));
    let e = ingest::read(&b"PK\x03\x04\x14\x00rest"[..], "book.xlsx", &IngestOptions::new()).unwrap_err();
    assert!(e.to_string().contains("export it as CSV"), "{e}");
    let e = ingest::read(&b"\x00\x01\x02binary"[..], "x.bin", &IngestOptions::new()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NotCsv { .. }));
    let e = ingest::read(&b"Foo,Bar\n1,2\n"[..], "nums.csv", &IngestOptions::new()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NoIdentifyingColumn { .. }));
    assert!(e.to_string().contains("Foo, Bar"), "{e}");
}

#[test]
fn prepared_list_accounts_for_every_row_and_explains_rejects() {
    let csv =
        "Name,Website,Email\nAcme,acme.com,\nn/a,,jo@gmail.com\n---,http://10.1.1.1/,\nGlobex,,sales@globex.com\n";
    let d = read(csv.as_bytes());
    let list = PreparedList::build(d, &KeyConfig::new());
    assert_eq!(list.accounts.len() + list.rejects.len(), 4);
    assert_eq!(list.accounts.len(), 2);
    let r: Vec<(u64, &str)> = list.rejects.iter().map(|r| (r.row, r.reason.as_str())).collect();
    assert_eq!(r[0].0, 2);
    assert!(
        r[0].1.contains("gmail.com is a free-mail") && r[0].1.contains("placeholder"),
        "{}",
        r[0].1
    );
    assert_eq!(r[1].0, 3);
    assert!(r[1].1.contains("IP address"), "{}", r[1].1);
    // Lines are carried through normalization: row 3 starts on line 4.
    assert_eq!(list.rejects[1].line, 4);
}

/// The bundled fixtures: exact counts, so that a change in ingest or normalization that
/// moves a row shows up here.
#[test]
fn bundled_fixtures() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    for (file, accepted, rejected) in [("a.csv", FIXTURE_A.0, FIXTURE_A.1), ("b.csv", FIXTURE_B.0, FIXTURE_B.1)] {
        let d = ingest::read_path(&root.join(file), &IngestOptions::new()).unwrap();
        let list = PreparedList::build(d, &KeyConfig::new());
        assert_eq!(list.rows_read, 3000, "{file}");
        assert_eq!(
            (list.accounts.len(), list.rejects.len()),
            (accepted, rejected),
            "{file}"
        );
    }
}

const FIXTURE_A: (usize, usize) = (2972, 28);
const FIXTURE_B: (usize, usize) = (2964, 36);

/// Issue 11: a stray opening quote swallowed the rest of the file into one field (1,000 rows
/// read as 3, nothing rejected). Now the row with the stray quote is rejected with its own
/// line, and every other row is read, in LF and CRLF files alike.
#[test]
fn a_stray_quote_rejects_its_row_and_nothing_else() {
    for eol in ["\n", "\r\n"] {
        let mut text = format!("Account Name,Website,Type{eol}");
        for i in 0..1000 {
            if i == 9 {
                text.push_str(&format!("\"Acme, Inc,acme.com,Customer{eol}"));
            } else {
                text.push_str(&format!("Company {i},company{i}.com,Customer{eol}"));
            }
        }
        let d = read(text.as_bytes());
        accounted(&d);
        assert_eq!(d.rows_read, 1000, "{eol:?}");
        assert_eq!(d.accounts.len(), 999, "{eol:?}");
        assert_eq!(d.rejects.len(), 1);
        assert_eq!((d.rejects[0].row, d.rejects[0].line), (10, 11), "{eol:?}");
        assert!(
            d.rejects[0].reason.contains("does not close within 100 lines"),
            "{}",
            d.rejects[0].reason
        );
        let last = d.accounts.last().unwrap();
        assert_eq!((last.row, last.line), (1000, 1001), "{eol:?}");
    }
}

/// A single field longer than 64 KiB is a reject naming its line, not a memory sink.
#[test]
fn an_overlong_row_is_rejected() {
    let text = format!(
        "Name,Website\nAcme,acme.com\n{},x.com\nGlobex,globex.com\n",
        "z".repeat(70_000)
    );
    let d = read(text.as_bytes());
    accounted(&d);
    assert_eq!(d.accounts.len(), 2);
    assert_eq!((d.rejects[0].row, d.rejects[0].line), (2, 3));
    assert!(d.rejects[0].reason.contains("longer than 64 KiB"));
}

/// Issue 11: 4,000 duplicate `Name` headers took 42 s (cubic); now they are named in
/// linear time, uniquely.
#[test]
fn thousands_of_duplicate_headers_are_fast_and_unique() {
    let mut text = vec!["Name"; 4000].join(",");
    text.push_str("\nAcme\n");
    let t = std::time::Instant::now();
    let d = read(text.as_bytes());
    assert!(t.elapsed().as_secs_f64() < 2.0, "{:?}", t.elapsed());
    assert_eq!(d.headers.len(), 4000);
    assert_eq!(d.headers[1], "Name (2)");
    assert_eq!(d.headers[3999], "Name (4000)");
    let unique: std::collections::HashSet<String> = d.headers.iter().map(|h| h.to_lowercase()).collect();
    assert_eq!(unique.len(), 4000);
}

/// Issue 13: a Salesforce report export's footer (a blank line, "Total", a count, the
/// copyright and confidentiality lines, "Generated By", the company name) became accepted
/// accounts whose keys were sent to the partner. Each footer line is now a reject.
#[test]
fn salesforce_report_footer_lines_are_not_accounts() {
    let text = "\"Account Name\",\"Website\",\"Type\"\n\"Acme\",\"acme.com\",\"Customer\"\n\"Globex\",\"globex.com\",\"Prospect\"\n\n\"Total\"\n\"2\"\n\n\n\"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.\"\n\"Confidential Information - Do Not Distribute\"\n\"Generated By: Jane Doe  12/1/2026, 9:14 AM\"\n\"Acme Partners Inc.\"\n";
    let d = read(text.as_bytes());
    accounted(&d);
    let names: Vec<_> = d.accounts.iter().map(|a| a.name.clone().unwrap()).collect();
    assert_eq!(names, ["Acme", "Globex"]);
    assert_eq!(d.rejects.len(), 6);
    assert!(d.rejects.iter().all(|r| r.reason.contains("footer")));
    assert_eq!(d.rejects[0].line, 5);
    assert_eq!(d.rejects[5].line, 12);
    // The layout as a file, with the report's title lines above the column row.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/layouts/salesforce_report.csv");
    let d = ingest::read_path(&path, &IngestOptions::new()).unwrap();
    accounted(&d);
    assert_eq!(d.headers, ["Account Name", "Website", "Type", "Billing Country"]);
    let got: Vec<_> = d
        .accounts
        .iter()
        .map(|a| (a.name.clone().unwrap(), a.line, a.population.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("Acme".to_string(), 5, Population::Customers),
            ("Globex".to_string(), 6, Population::Prospects),
            ("Initech".to_string(), 7, Population::Customers)
        ]
    );
    assert_eq!(d.rejects.len(), 6);
    assert!(
        d.warnings.iter().any(|w| w.contains("skipped 2 title line(s)")),
        "{:?}",
        d.warnings
    );
    // A one-column list whose names hold commas keeps its header.
    let d = read(b"Name\nAcme, Inc\nGlobex\n");
    assert_eq!(d.headers[0], "Name");
    // A company really called "Total" in a full row is still an account, and accounts after
    // a grouped report's "Total" line are read again.
    let d = read(b"Account Name,Website\nTotal,total.fr\nTotal\n3\nInitech,initech.com\n");
    assert_eq!(d.accounts.len(), 2);
    assert_eq!(d.rejects.len(), 2);
}

/// Issue 13: without a status column every account was silently Unassigned; now ingest says
/// so once, with the option that fixes it. HubSpot's "Evangelist" stage is a customer.
#[test]
fn a_missing_status_column_is_said_once() {
    let d = read(b"Account Name,Website\nAcme,acme.com\nGlobex,globex.com\n");
    let notes: Vec<_> = d.warnings.iter().filter(|w| w.contains("no status column")).collect();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("all 2 accounts are Unassigned; use --column status=HEADER"),
        "{}",
        notes[0]
    );
    let d = read(b"Company name,Lifecycle Stage\nAcme,evangelist\n");
    assert!(d.warnings.iter().all(|w| !w.contains("no status column")));
    assert_eq!(d.accounts[0].population, Population::Customers);
}

/// Issue 13: Excel's `sep=;` first line names the delimiter; it is not the header, and line
/// numbers still count it.
#[test]
fn excel_sep_line_sets_the_delimiter() {
    let d = read(b"sep=;\r\nAccount Name;Website;Billing Country\r\nAcme;acme.de;DE\r\n;;\r\nn/a;;\r\n");
    assert_eq!(d.delimiter, ';');
    assert_eq!(d.headers, ["Account Name", "Website", "Billing Country"]);
    assert_eq!(d.accounts.len(), 2);
    assert_eq!((d.accounts[0].row, d.accounts[0].line), (1, 3));
    assert_eq!(d.accounts[1].line, 5);
}

/// Issue 13: Pipedrive, Dynamics 365 and Zoho exports, in the layouts those CRMs write, map
/// with zero configuration: record id, name, website, country and population per row.
#[test]
fn pipedrive_dynamics_and_zoho_layouts_map_without_configuration() {
    use mapping_core::ingest::CrmLayout;
    let path = |n: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/layouts")
            .join(n)
    };
    /// Record id, name, country, population of each expected row.
    type Row<'a> = (&'a str, &'a str, &'a str, Population);
    let cases: [(&str, CrmLayout, Vec<Row>); 3] = [
        (
            "pipedrive.csv",
            CrmLayout::Pipedrive,
            vec![
                ("11", "Acme GmbH", "Germany", Population::Customers),
                ("12", "Globex Corporation", "United States", Population::Prospects),
                ("13", "Initech", "", Population::Unassigned),
            ],
        ),
        (
            "dynamics365.csv",
            CrmLayout::Dynamics365,
            vec![
                (
                    "5f3c1e2a-0d4b-4c8e-9a61-1b2c3d4e5f60",
                    "Contoso Ltd",
                    "United Kingdom",
                    Population::Customers,
                ),
                (
                    "6a4d2f3b-1e5c-4d9f-8b72-2c3d4e5f6071",
                    "Fabrikam Inc",
                    "United States",
                    Population::Prospects,
                ),
                (
                    "7b5e3a4c-2f6d-4ea0-9c83-3d4e5f607182",
                    "Northwind Traders",
                    "",
                    Population::Unassigned,
                ),
            ],
        ),
        (
            "zoho.csv",
            CrmLayout::Zoho,
            vec![
                (
                    "zcrm_4876876000000401001",
                    "Zylker Corp",
                    "India",
                    Population::Customers,
                ),
                (
                    "zcrm_4876876000000401002",
                    "Soylent Oy",
                    "Finland",
                    Population::Prospects,
                ),
                (
                    "zcrm_4876876000000401003",
                    "Umbrella plc",
                    "United Kingdom",
                    Population::Partners,
                ),
            ],
        ),
    ];
    for (file, layout, want) in cases {
        let d = ingest::read_path(&path(file), &IngestOptions::new()).unwrap();
        assert_eq!(d.columns.layout, layout, "{file}");
        accounted(&d);
        let got: Vec<(String, String, String, Population)> = d
            .accounts
            .iter()
            .map(|a| {
                (
                    a.record_id.clone().unwrap_or_default(),
                    a.name.clone().unwrap_or_default(),
                    a.country.clone().unwrap_or_default(),
                    a.population.clone(),
                )
            })
            .collect();
        let want: Vec<(String, String, String, Population)> = want
            .into_iter()
            .map(|(i, n, c, p)| (i.to_owned(), n.to_owned(), c.to_owned(), p))
            .collect();
        assert_eq!(got, want, "{file}");
        assert!(
            d.warnings.iter().all(|w| !w.contains("no status column")),
            "{file}: {:?}",
            d.warnings
        );
    }
    // Websites too: Pipedrive's and Dynamics' website columns.
    let list = PreparedList::build(
        ingest::read_path(&path("dynamics365.csv"), &IngestOptions::new()).unwrap(),
        &KeyConfig::new(),
    );
    assert_eq!(list.accounts[0].normalized.domain_list(), "contoso.co.uk");
}

/// Issue 13: status values that no rule maps are said once, with counts, instead of each
/// silently becoming a population.
#[test]
fn unmapped_status_values_are_said_once() {
    let d = read(b"Account Name,Type\nAcme,Tier 2\nGlobex,Tier 2\nInitech,Customer\nHooli,Gold\n");
    let notes: Vec<_> = d.warnings.iter().filter(|w| w.contains("no rule maps")).collect();
    assert_eq!(notes.len(), 1, "{:?}", d.warnings);
    assert!(
        notes[0].starts_with("3 accounts have status values") && notes[0].contains("\"Tier 2\" 2, \"Gold\" 1"),
        "{}",
        notes[0]
    );
}

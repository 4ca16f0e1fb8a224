//! Synthetic CRM exports for two partners with a known overlap: the bundled fixtures and the
//! benchmark sets are made here.
//!
//! Not a pipeline stage: a tool that writes what the pipeline reads. Both files come from
//! one universe of fictional companies; each side spells a shared company its own way
//! (URL forms, e-mail-only contacts, country-TLD variants, legal forms, case, `&`/`and`,
//! dropped diacritics, country spellings, a group site that only one side lists beside the
//! company's own) and adds the mess real CRMs have (duplicates,
//! junk rows, IP addresses, free-mail contacts, blank lines, quoted newlines). `a.csv` looks
//! like a Salesforce Account export, `b.csv` like a HubSpot company export (with a BOM).
//! `truth.csv` lists the true pairs `(a_row, b_row)` so that matching quality can be
//! measured. Output is streamed: memory does not grow with `rows`.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GenerateOptions {
    /// Data rows per file.
    pub rows: u64,
    /// Fraction of each file's companies that the other file also has (0 to 1).
    pub overlap: f64,
    /// Seed: equal seeds give byte-identical files.
    pub seed: u64,
}

impl GenerateOptions {
    /// `rows` rows per side, 20% overlap, seed 1.
    pub fn new(rows: u64) -> Self {
        Self {
            rows,
            overlap: 0.2,
            seed: 1,
        }
    }

    /// Sets the overlap fraction.
    ///
    /// ```
    /// assert!(mapping_core::generate::GenerateOptions::new(10).overlap(1.5).is_err());
    /// ```
    pub fn overlap(mut self, overlap: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&overlap) {
            return Err(Error::config(format!(
                "--overlap must be between 0 and 1, not {overlap}"
            )));
        }
        self.overlap = overlap;
        Ok(self)
    }

    /// Sets the seed.
    ///
    /// ```
    /// assert_eq!(mapping_core::generate::GenerateOptions::new(10).seed(7).seed, 7);
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GenerateSummary {
    /// Data rows in `a.csv`.
    pub a_rows: u64,
    /// Data rows in `b.csv`.
    pub b_rows: u64,
    /// Companies present on both sides.
    pub shared_companies: u64,
    /// Lines in `truth.csv` (true account pairs, duplicates included).
    pub true_pairs: u64,
}

/// SplitMix64: a small, fast, seedable generator for test data (not for secrets).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 >= 1.0 - p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const ONSETS: &[&str] = &[
    "Vel", "Tor", "Kra", "Mon", "Zen", "Lu", "Bri", "Cor", "Dal", "Fen", "Gar", "Hal", "Ish", "Jo", "Kel", "Lor",
    "Mar", "Nor", "Or", "Pra", "Quin", "Ros", "Sol", "Tri", "Ul", "Var", "Wes", "Xa", "Yor", "Zu", "Ab", "Bel",
];
const MIDDLES: &[&str] = &[
    "a", "e", "i", "o", "u", "ar", "en", "is", "on", "ul", "ex", "ia", "or", "an", "el", "yn", "ad", "et", "im", "os",
    "ur", "ev", "ax", "ob", "ig", "ut", "em", "ol", "ab", "id", "uv", "oz",
];
const CODAS: &[&str] = &[
    "nix", "tech", "gen", "ra", "dor", "via", "mo", "lux", "ton", "sys", "ly", "ium", "com", "wise", "net", "core",
    "lab", "sta", "ko", "za", "ver", "bit", "nova", "pix", "dex", "lo", "ga", "tis", "rus", "mex", "nik", "vo",
];
const WORDS: &[&str] = &[
    "",
    "Systems",
    "Logistics",
    "Foods",
    "Analytics",
    "Energy",
    "Health",
    "Robotics",
    "Media",
    "Capital",
    "Software",
    "Textiles",
    "Motors",
    "Pharma",
    "Consulting",
    "Security",
    "Networks",
    "Bau",
    "Maschinenbau",
    "Industries",
];
/// (country spellings, ccTLD, legal forms as written)
const COUNTRIES: &[(&[&str], &str, &[&str])] = &[
    (
        &["United States", "USA", "US", "U.S.A."],
        "com",
        &["Inc.", "Inc", "LLC", "Corp.", "Corporation", "Incorporated"],
    ),
    (
        &["United Kingdom", "UK", "GB", "Great Britain"],
        "co.uk",
        &["Ltd", "Ltd.", "Limited", "PLC"],
    ),
    (
        &["Germany", "Deutschland", "DE"],
        "de",
        &["GmbH", "AG", "GmbH & Co. KG"],
    ),
    (&["France", "FR"], "fr", &["S.A.", "SAS", "SARL"]),
    (&["Sweden", "Sverige", "SE"], "se", &["AB", "AB (publ)"]),
    (&["Finland", "Suomi", "FI"], "fi", &["Oy", "Oyj"]),
    (&["Australia", "AU"], "com.au", &["Pty Ltd", "Pty. Ltd."]),
    (&["Japan", "JP"], "co.jp", &["K.K.", "Kabushiki Kaisha"]),
    (&["Netherlands", "Nederland", "NL"], "nl", &["B.V.", "N.V."]),
    (&["Spain", "España", "ES"], "es", &["S.L.", "S.A."]),
];
const FIRST: &[&str] = &[
    "jane", "john", "maria", "li", "ahmed", "sofia", "lukas", "emma", "noah", "yuki",
];
const FREEMAIL: &[&str] = &["gmail.com", "yahoo.com", "outlook.com", "gmx.de", "hotmail.co.uk"];
const FREEMAIL_TYPED: &[&str] = &[
    "gmail.com",
    "yahoo.co.jp",
    "web.de",
    "outlook.com",
    "orange.fr",
    "icloud.com",
];
const PLACEHOLDER_SITES: &[&str] = &["n/a", "www.", "http://", "tbd", "-"];
const OWNERS: &[&str] = &["Alex Kim", "Sam Rivera", "Jordan Lee", "Taylor Brooks", "Morgan Diaz"];
const SF_TYPES: &[&str] = &[
    "Customer - Direct",
    "Customer - Channel",
    "Prospect",
    "Opportunity",
    "Partner",
    "Former Customer",
];
const HS_STAGES: &[&str] = &[
    "customer",
    "opportunity",
    "salesqualifiedlead",
    "lead",
    "marketingqualifiedlead",
    "evangelist",
];

/// A fictional company, derived from its id alone.
struct Company {
    stem: String,
    word: &'static str,
    country: usize,
    idn: bool,
    shopify: bool,
    /// Also runs a group site (`<label>-group.com`): side A's website field lists both, side B
    /// knows only the group site (as `Epiroc` is `epirocgroup.com epiroc.com` in one list and
    /// `epiroc.com` in another).
    group: bool,
    /// A trap's own website, where it differs from the one its name gives.
    site: Option<String>,
}

/// The traps real lists have, planted in companies that are on one side only (so that the
/// truth never holds them): a company with a shared company's name elsewhere, a public body
/// whose site's label is a shared company's, and a company one letter from a shared one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trap {
    /// The same name in another country, on its own domain.
    Homonym,
    /// The same name in the same country, on its own domain (two towns called Springfield).
    Namesake,
    /// `<Stem> City Council` on `<stem>.gov.uk` or a US school district on `k12`.
    PublicBody,
    /// One letter changed: another organisation.
    OneEdit,
}

impl Company {
    fn new(id: u64) -> Company {
        let mut r = Rng(id.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x0005_DEEC_E66D);
        // Spread small ids over all stem/word combinations (a bijection on 0..SPACE, since
        // 7919 is prime to SPACE = 2^17 * 5), so that a small file has varied names.
        const SPACE: u64 = 32768 * 20;
        let n = if id < SPACE { id * 7919 % SPACE } else { id };
        let stem = format!(
            "{}{}{}",
            ONSETS[(n % 32) as usize],
            MIDDLES[((n / 32) % 32) as usize],
            CODAS[((n / 1024) % 32) as usize]
        );
        // Ids beyond 32^3 get a distinguishing word, so names and domains stay unique.
        let word = WORDS[((n / 32768) % WORDS.len() as u64) as usize];
        let stem = if n >= 32768 * WORDS.len() as u64 {
            format!("{stem}{}", n / (32768 * WORDS.len() as u64))
        } else {
            stem
        };
        let country = r.below(COUNTRIES.len() as u64) as usize;
        let idn = r.chance(0.02);
        let shopify = r.chance(0.01);
        // Group sites are ASCII (an IDN's site may be written in punycode on one side).
        let group = r.chance(0.03) && !idn;
        Company {
            stem,
            word,
            country,
            idn,
            shopify,
            site: None,
            group,
        }
    }

    /// Company `id` (on one side only) set as a trap around the shared company `shared`.
    fn trap(id: u64, shared: u64, trap: Trap) -> Company {
        let base = Company::new(shared);
        let own = Company::new(id);
        let label = base.domain_label();
        // A homonym's or namesake's own site: the shared label, its own stem, a ccTLD.
        let own_site = |country: usize| Some(format!("{label}-{}.{}", own.stem.to_lowercase(), COUNTRIES[country].1));
        // A trap runs no group site (it would be the shared company's, by its name).
        let base = Company { group: false, ..base };
        match trap {
            Trap::Homonym => Company {
                country: (base.country + 1 + (id % 3) as usize) % COUNTRIES.len(),
                site: own_site(own.country),
                ..base
            },
            Trap::Namesake => Company {
                site: own_site(base.country),
                ..base
            },
            Trap::PublicBody => {
                let (word, site) = if id % 2 == 0 {
                    ("City Council", format!("{label}.gov.uk"))
                } else {
                    ("School District", format!("{label}.k12.tx.us"))
                };
                Company {
                    word,
                    country: if id % 2 == 0 { 1 } else { 0 },
                    site: Some(site),
                    idn: false,
                    shopify: false,
                    group: false,
                    ..base
                }
            }
            Trap::OneEdit => {
                let mut stem: Vec<char> = base.stem.chars().collect();
                let at = 1 + (id as usize % (stem.len() - 1));
                stem[at] = if stem[at] == 'x' { 'q' } else { 'x' };
                let stem: String = stem.into_iter().collect();
                Company {
                    stem,
                    site: None,
                    ..base
                }
            }
        }
    }

    fn name(&self) -> String {
        // IDN companies carry a prefix no other company has, so that a side dropping the
        // diacritics does not turn one company into another.
        let stem = if self.idn {
            format!("Über{}", self.stem.to_lowercase())
        } else {
            self.stem.clone()
        };
        if self.word.is_empty() {
            stem
        } else {
            format!("{stem} {}", self.word)
        }
    }

    fn domain_label(&self) -> String {
        self.name().to_lowercase().replace(' ', "-")
    }

    fn group_domain(&self) -> String {
        format!("{}-group.com", self.domain_label())
    }

    fn domain(&self, tld: &str) -> String {
        if let Some(site) = &self.site {
            site.clone()
        } else if self.shopify {
            format!("{}.myshopify.com", self.domain_label())
        } else {
            format!("{}.{tld}", self.domain_label())
        }
    }
}

/// How one side writes a company.
fn spell_name(c: &Company, r: &mut Rng) -> String {
    let (_, _, forms) = COUNTRIES[c.country];
    let mut name = c.name();
    if r.chance(0.15) {
        name = strip_diacritics(&name);
    }
    if r.chance(0.1) {
        name = name.to_uppercase();
    }
    if c.word == "Foods" && r.chance(0.5) {
        name = name.replace("Foods", "Food & Beverage");
    }
    if r.chance(0.75) {
        let sep = if r.chance(0.2) { ", " } else { " " };
        name = format!("{name}{sep}{}", r.pick(forms));
    }
    name
}

fn strip_diacritics(s: &str) -> String {
    s.replace('Ü', "U").replace('ü', "u")
}

fn spell_website(c: &Company, r: &mut Rng, tld: &str) -> String {
    let d = c.domain(tld);
    let d = if c.idn && r.chance(0.5) {
        idna::domain_to_ascii(&d).unwrap_or(d)
    } else {
        d
    };
    match r.below(9) {
        0 => d,
        1 => format!("https://www.{d}/"),
        2 => format!("http://{d}"),
        3 => format!("WWW.{}", d.to_uppercase()),
        4 => format!("https://www.{d}/about-us?utm_source=crm"),
        5 => format!("{d}."),
        6 => format!("https://eu.{d}/en"),
        7 => format!("www.{d}"),
        _ => format!("https://{d}:443/contact#form"),
    }
}

fn spell_country(c: &Company, r: &mut Rng) -> String {
    let (spellings, _, _) = COUNTRIES[c.country];
    if r.chance(0.05) {
        String::new()
    } else {
        r.pick(spellings).to_string()
    }
}

struct Side {
    rows: u64,
    companies: Vec<u64>,
    /// Companies `0..shared` are on both sides.
    shared: u64,
}

/// Writes `a.csv`, `b.csv` and `truth.csv` into `dir`, calling `progress(rows_written)`
/// now and then.
pub fn generate(dir: &Path, options: &GenerateOptions, mut progress: impl FnMut(u64)) -> Result<GenerateSummary> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(Some(dir.to_owned()), e))?;
    let n = options.rows;
    let shared = ((n as f64) * options.overlap).round() as u64;
    // Company ids: shared ones first (0..shared), then each side's own, disjoint ranges.
    // Ids are spread by a bijective scramble so the shared companies do not all look alike.
    let plan = |side: u64| -> Side {
        let own_start = shared + side * n;
        Side {
            rows: n,
            companies: Vec::new(),
            shared,
        }
        .with_range(shared, own_start)
    };
    let a = plan(0);
    let b = plan(1);
    let mut rng_a = Rng(options.seed ^ 0xA5A5_A5A5);
    let mut rng_b = Rng(options.seed ^ 0x5A5A_5A5A);
    let truth_a = write_side(dir, "a.csv", &a, &mut rng_a, Flavor::Salesforce, &mut progress)?;
    let truth_b = write_side(dir, "b.csv", &b, &mut rng_b, Flavor::Hubspot, &mut progress)?;
    // Truth: rows of one company on each side (duplicates give several rows).
    let path = dir.join("truth.csv");
    let file = std::fs::File::create(&path).map_err(|e| Error::io(Some(path.clone()), e))?;
    let mut w = std::io::BufWriter::new(file);
    let io = |e| Error::io(Some(path.clone()), e);
    writeln!(w, "a_row,b_row").map_err(io)?;
    let mut pairs = 0u64;
    let mut bi = 0usize;
    for (company, a_row) in truth_a.iter().filter(|(c, _)| *c < shared) {
        while bi < truth_b.len() && truth_b[bi].0 < *company {
            bi += 1;
        }
        let mut j = bi;
        while j < truth_b.len() && truth_b[j].0 == *company {
            writeln!(w, "{a_row},{}", truth_b[j].1).map_err(io)?;
            pairs += 1;
            j += 1;
        }
    }
    w.flush().map_err(io)?;
    Ok(GenerateSummary {
        a_rows: a.rows,
        b_rows: b.rows,
        shared_companies: shared,
        true_pairs: pairs,
    })
}

impl Side {
    /// The company with this id; of the companies on this side only, 2 % carry a
    /// shared company's name in another country, 1 % in the same country (each on its own
    /// domain), 1 % are public bodies on a shared company's
    /// label, and 1 % are one letter from a shared company's name.
    fn company(&self, id: u64) -> Company {
        if id < self.shared || self.shared == 0 {
            return Company::new(id);
        }
        let base = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) % self.shared;
        match id % 100 {
            0..=1 => Company::trap(id, base, Trap::Homonym),
            2 => Company::trap(id, base, Trap::Namesake),
            3 => Company::trap(id, base, Trap::PublicBody),
            4 => Company::trap(id, base, Trap::OneEdit),
            _ => Company::new(id),
        }
    }

    fn with_range(mut self, shared: u64, own_start: u64) -> Side {
        let own = self.rows - shared.min(self.rows);
        self.companies = (0..shared.min(self.rows)).chain(own_start..own_start + own).collect();
        self
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Salesforce,
    Hubspot,
}

/// Writes one side; returns `(company, row)` for rows that carry a company, sorted.
fn write_side(
    dir: &Path,
    file: &str,
    side: &Side,
    r: &mut Rng,
    flavor: Flavor,
    progress: &mut impl FnMut(u64),
) -> Result<Vec<(u64, u64)>> {
    progress(0);
    let path = dir.join(file);
    let handle = std::fs::File::create(&path).map_err(|e| Error::io(Some(path.clone()), e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, handle);
    let io = |e: std::io::Error| Error::io(Some(path.clone()), e);
    let header: &[&str] = match flavor {
        Flavor::Salesforce => &[
            "Account ID",
            "Account Name",
            "Website",
            "Billing Country",
            "Type",
            "Account Owner",
            "Industry",
            "Open Pipeline",
            "Description",
        ],
        Flavor::Hubspot => &[
            "Record ID",
            "Company name",
            "Company Domain Name",
            "Website URL",
            "Country/Region",
            "Lifecycle Stage",
            "Company owner",
            "Email",
            "Deal Amount",
        ],
    };
    if flavor == Flavor::Hubspot {
        out.write_all(b"\xEF\xBB\xBF").map_err(io)?;
    }
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(out);
    let csv_err = |e: csv::Error| Error::config(format!("writing {}: {e}", path.display()));
    w.write_record(header).map_err(csv_err)?;
    let mut truth = Vec::with_capacity(side.companies.len());
    let mut row = 0u64;
    // Visit companies in a scrambled order, so shared ones are spread through the file.
    let len = side.companies.len() as u64;
    let stride = coprime_stride(len, r.next());
    let start = r.below(len.max(1));
    let mut i = 0u64;
    while row < side.rows {
        let junk = r.chance(0.01);
        let company_id = if junk || len == 0 {
            None
        } else {
            let idx = (start + i.wrapping_mul(stride)) % len;
            i += 1;
            Some(side.companies[idx as usize])
        };
        if i > len {
            break;
        }
        let record = match company_id {
            None => junk_row(r, flavor, row),
            Some(id) => company_row(&side.company(id), r, flavor, row),
        };
        w.write_record(&record).map_err(csv_err)?;
        row += 1;
        if let Some(id) = company_id {
            truth.push((id, row));
        }
        // Duplicates: the same company entered twice, spelled differently.
        if let Some(id) = company_id {
            if row < side.rows && r.chance(0.02) {
                w.write_record(company_row(&side.company(id), r, flavor, row))
                    .map_err(csv_err)?;
                row += 1;
                truth.push((id, row));
            }
        }
        if row % 100_000 == 0 {
            progress(row);
        }
        if flavor == Flavor::Salesforce && r.chance(0.002) {
            // A row of empty cells, as Excel exports an empty row; not a data row.
            w.write_record(std::iter::repeat_n("", header.len())).map_err(csv_err)?;
        }
    }
    w.flush().map_err(io)?;
    progress(row);
    truth.sort_unstable();
    Ok(truth)
}

fn coprime_stride(len: u64, seed: u64) -> u64 {
    if len <= 1 {
        return 1;
    }
    let mut s = (seed % len).max(1);
    while gcd(s, len) != 1 {
        s += 1;
    }
    s
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn company_row(c: &Company, r: &mut Rng, flavor: Flavor, row: u64) -> Vec<String> {
    let (_, home_tld, _) = COUNTRIES[c.country];
    // Multinationals: the other side may know the .com (or the local) site.
    let tld = if r.chance(0.12) { "com" } else { home_tld };
    let name = spell_name(c, r);
    let country = spell_country(c, r);
    let owner = r.pick(OWNERS).to_string();
    let amount = if r.chance(0.4) {
        format!("{}", (r.below(200) + 1) * 1000)
    } else {
        String::new()
    };
    let email_only = r.chance(0.08);
    let website = if email_only {
        String::new()
    } else if r.chance(0.04) {
        // A rep typed a contact's free-mail domain into the Website column.
        r.pick(FREEMAIL_TYPED).to_string()
    } else if r.chance(0.02) {
        r.pick(PLACEHOLDER_SITES).to_string()
    } else {
        spell_website(c, r, tld)
    };
    let typed_trap = !email_only && !website.is_empty() && !website.contains(&c.domain_label());
    // A group's two sites: A lists both in one field, B knows the group site only.
    let own_site = !email_only && website.to_lowercase().contains(&c.domain_label());
    let website = match flavor {
        Flavor::Salesforce if c.group && own_site => format!("{website} {}", c.group_domain()),
        Flavor::Hubspot if c.group && own_site => format!("https://www.{}/", c.group_domain()),
        _ => website,
    };
    let email = if email_only {
        // A group's contacts write from the group domain, the one both sides know.
        let domain = if c.group { c.group_domain() } else { c.domain(tld) };
        format!("{}@{}", r.pick(FIRST), domain)
    } else if r.chance(0.1) {
        format!("{}@{}", r.pick(FIRST), r.pick(FREEMAIL))
    } else {
        String::new()
    };
    match flavor {
        Flavor::Salesforce => {
            let website = if website.is_empty() { email } else { website };
            let description = if r.chance(0.05) {
                "Key account.\nRenewal in Q3, \"strategic\"".to_string()
            } else {
                String::new()
            };
            vec![
                format!("001{:012}", row + 1),
                name,
                website,
                country,
                r.pick(SF_TYPES).to_string(),
                owner,
                if c.word.is_empty() {
                    "Technology".into()
                } else {
                    c.word.to_string()
                },
                amount,
                description,
            ]
        }
        Flavor::Hubspot => {
            let (domain, url) = match r.below(3) {
                0 => (website.clone(), String::new()),
                1 => (String::new(), website.clone()),
                _ if typed_trap => (website.clone(), String::new()),
                _ if c.group && own_site => (c.group_domain(), website.clone()),
                _ => (c.domain(tld), website.clone()),
            };
            let (domain, url) = if email_only {
                (String::new(), String::new())
            } else {
                (domain, url)
            };
            vec![
                format!("{}", 5_000_000 + row),
                name,
                domain,
                url,
                country,
                r.pick(HS_STAGES).to_string(),
                owner,
                email,
                amount,
            ]
        }
    }
}

fn junk_row(r: &mut Rng, flavor: Flavor, row: u64) -> Vec<String> {
    let (name, web) = match r.below(4) {
        0 => (String::new(), String::new()),
        1 => ("---".to_string(), "http://10.0.0.12/crm".to_string()),
        2 => (String::new(), "localhost".to_string()),
        _ => ("n/a".to_string(), format!("{}@gmail.com", r.pick(FIRST))),
    };
    match flavor {
        Flavor::Salesforce => vec![
            format!("001{:012}", row + 1),
            name,
            web,
            String::new(),
            "Prospect".into(),
        ],
        Flavor::Hubspot => vec![
            format!("{}", 5_000_000 + row),
            name,
            String::new(),
            web,
            String::new(),
            "lead".into(),
            String::new(),
            String::new(),
            String::new(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_truthful() {
        let dir = std::env::temp_dir().join(format!("acctmap-gen-{}", std::process::id()));
        let s1 = generate(&dir, &GenerateOptions::new(500).seed(3), |_| {}).unwrap();
        let a1 = std::fs::read(dir.join("a.csv")).unwrap();
        let s2 = generate(&dir, &GenerateOptions::new(500).seed(3), |_| {}).unwrap();
        assert_eq!(s1, s2);
        assert_eq!(a1, std::fs::read(dir.join("a.csv")).unwrap());
        assert_eq!(s1.a_rows, 500);
        assert_eq!(s1.shared_companies, 100);
        assert!(s1.true_pairs >= 90, "{s1:?}");
        let truth = std::fs::read_to_string(dir.join("truth.csv")).unwrap();
        assert_eq!(truth.lines().count() as u64, s1.true_pairs + 1);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn company_names_are_unique() {
        let names: std::collections::HashSet<String> = (0..100_000).map(|i| Company::new(i).name()).collect();
        assert_eq!(names.len(), 100_000);
    }
}

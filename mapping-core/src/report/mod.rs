//! Report: the mapping in the forms people and tools read. One [`Report`] model; writers for
//! `report.html` (self-contained: no network, no external files), `matches.csv`,
//! `matrix.csv`, `summary.json`, `rejects.csv` and `crm_import.csv` (record id plus partner
//! overlap fields, for re-import into Salesforce or HubSpot).
//!
//! `matches.csv` has one row per matched pair with `a_row` / `b_row`: the 1-based data row
//! of each side's input file, `a` being the side that writes the report. The partner's
//! values are what its sharing policy shared; empty where it shared nothing.

mod html;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use hashbrown::HashMap;

use crate::error::{Error, Result};
use crate::list::PreparedList;
use crate::matching::{Disclosure, Mapping};
use crate::psi::Mode;

/// One cell of the population × population matrix.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MatrixCell {
    /// Own population.
    pub own_population: String,
    /// Partner population.
    pub partner_population: String,
    /// Matched account pairs (decided), or candidate pairs where `counts_only`.
    pub pairs: u64,
    /// Either side shares its population in this cell as counts only: `pairs` counts
    /// candidate pairs from the counts sub-session (an upper bound), with no pair behind it.
    pub counts_only: bool,
    /// Distinct own accounts in those pairs (matches mode).
    pub own_accounts: Option<u64>,
    /// Distinct partner accounts in those pairs (matches mode).
    pub partner_accounts: Option<u64>,
    /// Sum of own amounts over those own accounts, when an amount column is present.
    pub own_pipeline: Option<f64>,
}

/// One matched pair, flattened for tables.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MatchRow {
    /// Own data row.
    pub a_row: u64,
    /// Partner data row, when shared.
    pub b_row: String,
    /// Own record id.
    pub a_record_id: String,
    /// Partner record id, when shared.
    pub b_record_id: String,
    /// Own name.
    pub a_name: String,
    /// Partner name, when shared.
    pub b_name: String,
    /// Own registrable domains.
    pub a_domains: String,
    /// Partner domains, when shared.
    pub b_domains: String,
    /// Own population.
    pub a_population: String,
    /// Partner population.
    pub b_population: String,
    /// Matched key types, `|`-separated.
    pub matched_keys: String,
    /// `strong`, `medium` or `weak`.
    pub confidence: String,
    /// The decision rule's score ([`crate::decide`]).
    pub score: f64,
    /// The levels behind the score: `name=agree(+7) domain=unknown(+0) country=agree(+3)`.
    pub evidence: String,
    /// Own owner.
    pub a_owner: String,
    /// Own amount.
    pub a_amount: Option<f64>,
    /// Other fields the partner shared, `name=value; ...`.
    pub b_other: String,
    /// The same fields one by one (for `matches.csv`, a column each).
    #[serde(skip)]
    pub b_fields: Vec<(String, String)>,
}

/// Headline numbers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Own input file.
    pub source: String,
    /// Session mode.
    pub mode: Mode,
    /// Session id.
    pub session: String,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows with match keys.
    pub accepted: u64,
    /// Rows rejected, with reasons in rejects.csv.
    pub rejected: u64,
    /// Own accounts put into the session (hidden populations left out).
    pub accounts_in_session: u64,
    /// Partner accounts in the session.
    pub partner_accounts: u64,
    /// Matched account pairs (decided matches).
    pub matched_pairs: u64,
    /// Candidate pairs in the cells shared as counts only in a session that also maps
    /// pairs (an upper bound; no pairs behind it). Zero otherwise.
    #[serde(default)]
    pub counted_pairs: u64,
    /// Candidate pairs for review (in review.csv; not in the counts).
    pub review_pairs: u64,
    /// Own accounts with a match (matches mode).
    pub own_accounts_matched: Option<u64>,
    /// Partner accounts with a match (matches mode).
    pub partner_accounts_matched: Option<u64>,
    /// Pairs per confidence tier.
    pub pairs_by_confidence: BTreeMap<String, u64>,
    /// Pairs per matched key type (a pair counts once for each type it matched on).
    pub pairs_by_key_type: BTreeMap<String, u64>,
    /// Pipeline over own matched accounts, when an amount column is present.
    pub own_pipeline_matched: Option<f64>,
    /// Seconds the whole run took, when the caller measured it.
    pub seconds: Option<f64>,
}

/// Everything a report shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// Headline numbers.
    pub summary: Summary,
    /// Population × population cells, own populations first.
    pub matrix: Vec<MatrixCell>,
    /// Matched pairs.
    pub matches: Vec<MatchRow>,
    /// Candidate pairs for review.
    pub review: Vec<MatchRow>,
    /// Rejected rows.
    pub rejects: Vec<crate::ingest::Reject>,
    /// What this side sent.
    pub disclosure: Disclosure,
    /// Populations of the partner with sizes.
    pub partner_populations: Vec<(String, u64)>,
    /// File-level warnings from ingest.
    pub warnings: Vec<String>,
    /// The partner's name, for the columns of crm_import.csv ("Partner" unless set).
    pub partner_name: String,
    /// What changed since the last session with this partner, when a history was given
    /// ([`crate::history`]): written as changes.csv and the top section of report.html.
    pub changes: Option<crate::history::Changes>,
}

/// What the report shows of one own matched account.
struct Own {
    row: u64,
    record_id: String,
    name: String,
    domains: String,
    population: String,
    owner: String,
    amount: Option<f64>,
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

impl Report {
    /// Builds the report of one side from its list and mapping.
    /// A streamed list's matched records are read again from its file (an error if the
    /// file changed since).
    pub fn build(list: &PreparedList, mapping: &Mapping) -> Result<Report> {
        let has_amount = list.columns.amount.is_some();
        let own_matched: BTreeSet<usize> = mapping.pairs.iter().map(|p| p.own).collect();
        let own_shown: BTreeSet<usize> = mapping.pairs.iter().chain(&mapping.review).map(|p| p.own).collect();
        // What the report shows of each matched own account, read one batch at a time.
        let mut shown: HashMap<usize, Own> = HashMap::with_capacity(own_shown.len());
        list.for_each_detail(&own_shown, |i, a| {
            shown.insert(
                i,
                Own {
                    row: a.account.row,
                    record_id: a.account.record_id.clone().unwrap_or_default(),
                    name: a.account.name.clone().unwrap_or_default(),
                    domains: a.normalized.domain_list(),
                    population: a.account.population.to_string(),
                    owner: a.account.owner.clone().unwrap_or_default(),
                    amount: a.account.amount,
                },
            );
        })?;
        let account = |i: usize| -> &Own { &shown[&i] };
        let row = |p: &crate::matching::MatchedPair| {
            let a = account(p.own);
            let f = &p.partner_fields;
            let known = ["row", "record_id", "name", "domain"];
            MatchRow {
                a_row: a.row,
                b_row: field(f, "row").to_owned(),
                a_record_id: a.record_id.clone(),
                b_record_id: field(f, "record_id").to_owned(),
                a_name: a.name.clone(),
                b_name: field(f, "name").to_owned(),
                a_domains: a.domains.clone(),
                b_domains: field(f, "domain").to_owned(),
                a_population: a.population.clone(),
                b_population: p.partner_population.clone(),
                matched_keys: p.key_types.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("|"),
                confidence: format!("{:?}", p.confidence).to_lowercase(),
                score: p.decision.score,
                evidence: p.decision.explain(),
                a_owner: a.owner.clone(),
                a_amount: a.amount,
                b_other: f
                    .iter()
                    .filter(|(k, _)| !known.contains(&k.as_str()))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                b_fields: f
                    .iter()
                    .filter(|(k, _)| !known.contains(&k.as_str()))
                    .cloned()
                    .collect(),
            }
        };
        let sorted = |pairs: &[crate::matching::MatchedPair]| {
            let mut rows: Vec<MatchRow> = pairs.iter().map(row).collect();
            rows.sort_by(|x, y| x.a_row.cmp(&y.a_row).then_with(|| x.b_row.cmp(&y.b_row)));
            rows
        };
        let matches = sorted(&mapping.pairs);
        let review = sorted(&mapping.review);
        let matrix = build_matrix(&account, mapping, has_amount);
        let mut by_key: BTreeMap<String, u64> = BTreeMap::new();
        for p in &mapping.pairs {
            for k in &p.key_types {
                *by_key.entry(k.as_str().to_owned()).or_default() += 1;
            }
        }
        let matches_mode = mapping.mode == Mode::Matches;
        let summary = Summary {
            source: list.source.clone(),
            mode: mapping.mode,
            session: mapping.session.clone(),
            rows_read: list.rows_read,
            accepted: list.len() as u64,
            rejected: list.rejects.len() as u64,
            accounts_in_session: mapping.disclosure.accounts_sent,
            partner_accounts: mapping.partner_populations.iter().map(|(_, n)| n).sum(),
            matched_pairs: mapping.pair_total(),
            counted_pairs: mapping.counted_total(),
            review_pairs: mapping.review.len() as u64,
            own_accounts_matched: matches_mode.then_some(own_matched.len() as u64),
            partner_accounts_matched: matches_mode.then_some(mapping.partner_matched() as u64),
            pairs_by_confidence: mapping
                .by_confidence()
                .into_iter()
                .map(|(t, n)| (format!("{t:?}").to_lowercase(), n as u64))
                .collect(),
            pairs_by_key_type: by_key,
            own_pipeline_matched: (has_amount && matches_mode)
                .then(|| own_matched.iter().filter_map(|i| account(*i).amount).sum()),
            seconds: None,
        };
        Ok(Report {
            summary,
            matrix,
            matches,
            review,
            rejects: list.rejects.clone(),
            disclosure: mapping.disclosure.clone(),
            partner_populations: mapping.partner_populations.clone(),
            warnings: list.warnings.clone(),
            partner_name: "Partner".into(),
            changes: None,
        })
    }

    /// Writes every output file into `dir` (created if needed). Files are written to a
    /// temporary folder inside `dir` first and moved into place only when all succeeded,
    /// so a failed run leaves no partial report behind. Returns the paths written.
    pub fn write_dir(&self, dir: &Path, list: &PreparedList) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(Some(dir.to_owned()), e))?;
        let tmp = dir.join(format!(".acctmap-tmp-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(Some(tmp.clone()), e))?;
        let result = self.write_files(&tmp, list);
        let names = match result {
            Ok(names) => names,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        let mut written = Vec::new();
        for name in names {
            let to = dir.join(name);
            std::fs::rename(tmp.join(name), &to).map_err(|e| Error::io(Some(to.clone()), e))?;
            written.push(to);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        Ok(written)
    }

    fn write_files(&self, dir: &Path, list: &PreparedList) -> Result<Vec<&'static str>> {
        let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        let amount = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        // Each field the partner shared beyond the four identifying ones gets a column of its
        // own (`partner_owner`, `partner_industry` for `column:Industry`), in name order.
        let partner_fields: BTreeSet<&str> = self
            .matches
            .iter()
            .chain(&self.review)
            .flat_map(|m| m.b_fields.iter().map(|(k, _)| k.as_str()))
            .collect();
        let partner_columns: Vec<String> = partner_fields.iter().map(|k| partner_column(k)).collect();
        let mut pair_header: Vec<&str> = vec![
            "a_row",
            "b_row",
            "a_record_id",
            "b_record_id",
            "a_name",
            "b_name",
            "a_domains",
            "b_domains",
            "a_population",
            "b_population",
            "matched_keys",
            "confidence",
            "score",
            "evidence",
            "a_owner",
            "a_amount",
        ];
        pair_header.extend(partner_columns.iter().map(String::as_str));
        let pair_cells = |m: &MatchRow| {
            let mut cells = vec![
                m.a_row.to_string(),
                m.b_row.clone(),
                m.a_record_id.clone(),
                m.b_record_id.clone(),
                m.a_name.clone(),
                m.b_name.clone(),
                m.a_domains.clone(),
                m.b_domains.clone(),
                m.a_population.clone(),
                m.b_population.clone(),
                m.matched_keys.clone(),
                m.confidence.clone(),
                m.score.to_string(),
                m.evidence.clone(),
                m.a_owner.clone(),
                amount(m.a_amount),
            ];
            cells.extend(partner_fields.iter().map(|k| field(&m.b_fields, k).to_owned()));
            cells
        };
        write_csv(
            &dir.join("matches.csv"),
            &pair_header,
            self.matches.iter().map(pair_cells),
        )?;
        write_csv(
            &dir.join("review.csv"),
            &pair_header,
            self.review.iter().map(pair_cells),
        )?;
        write_csv(
            &dir.join("matrix.csv"),
            &[
                "own_population",
                "partner_population",
                "pairs",
                "own_accounts",
                "partner_accounts",
                "own_pipeline",
            ],
            self.matrix.iter().map(|c| {
                vec![
                    c.own_population.clone(),
                    c.partner_population.clone(),
                    c.pairs.to_string(),
                    opt(c.own_accounts),
                    opt(c.partner_accounts),
                    amount(c.own_pipeline),
                ]
            }),
        )?;
        write_csv(
            &dir.join("rejects.csv"),
            &["row", "line", "record_id", "name", "reason"],
            self.rejects.iter().map(|r| {
                vec![
                    r.row.to_string(),
                    r.line.to_string(),
                    r.record_id.clone(),
                    r.name.clone(),
                    r.reason.clone(),
                ]
            }),
        )?;
        self.write_crm_import(&dir.join("crm_import.csv"), list)?;
        // summary.json
        let path = dir.join("summary.json");
        let doc = serde_json::json!({
            "summary": self.summary,
            "changes": self.changes.as_ref().map(|c| c.summary_json()),
            "matrix": self.matrix,
            "disclosure": self.disclosure,
            "partner_populations": self.partner_populations,
            "warnings": self.warnings,
            "columns": list.columns,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::config(format!("summary.json: {e}")))?;
        std::fs::write(&path, text + "\n").map_err(|e| Error::io(Some(path.clone()), e))?;
        // report.html
        let path = dir.join("report.html");
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| Error::io(Some(path.clone()), e))?);
        f.write_all(self.html().as_bytes())
            .map_err(|e| Error::io(Some(path.clone()), e))?;
        f.flush().map_err(|e| Error::io(Some(path.clone()), e))?;
        let mut names = vec![
            "matches.csv",
            "review.csv",
            "matrix.csv",
            "rejects.csv",
            "crm_import.csv",
            "summary.json",
            "report.html",
        ];
        if let Some(c) = &self.changes {
            c.write_csv(&dir.join("changes.csv"))?;
            names.push("changes.csv");
        }
        Ok(names)
    }

    /// crm_import.csv: a row for every own account that has a record id (no ids are made
    /// up for rows without one), under the export's own record-id header, so that a CRM
    /// import by id updates every account and clears flags that no longer hold. The value
    /// columns are named after the partner ([`Report::partner_name`]): `Overlap` is `true`
    /// (a decided match), `review`, `false`, or `not compared` (a hidden population).
    fn write_crm_import(&self, path: &Path, list: &PreparedList) -> Result<()> {
        let mut per_row: BTreeMap<u64, (&str, BTreeSet<&str>, u64, &str)> = BTreeMap::new();
        for (verdict, rows) in [("true", &self.matches), ("review", &self.review)] {
            for m in rows.iter() {
                let e = per_row.entry(m.a_row).or_insert((verdict, BTreeSet::new(), 0, ""));
                if verdict == "true" {
                    e.0 = "true";
                }
                e.1.insert(&m.b_population);
                e.2 += 1;
                if e.3.is_empty() || m.confidence == "strong" {
                    e.3 = &m.confidence;
                }
            }
        }
        let hidden: BTreeSet<&str> = self
            .disclosure
            .hidden_populations
            .iter()
            .map(|(l, _)| l.as_str())
            .collect();
        let err = |e: csv::Error| Error::config(format!("writing {}: {e}", path.display()));
        let mut w = csv::Writer::from_path(path).map_err(err)?;
        let p = &self.partner_name;
        let id_header = list
            .columns
            .record_id
            .and_then(|i| list.headers.get(i))
            .map_or("Record ID", String::as_str);
        w.write_record([
            id_header.to_owned(),
            format!("{p} Overlap"),
            format!("{p} Populations"),
            format!("{p} Match Count"),
            format!("{p} Match Confidence"),
        ])
        .map_err(err)?;
        let mut failed = None;
        list.for_each_record_id(|i, id| {
            if id.is_empty() || failed.is_some() {
                return;
            }
            let row = list.keyed.row(i);
            let cells = match per_row.get(&row) {
                Some((verdict, pops, n, conf)) => [
                    id.to_owned(),
                    (*verdict).to_owned(),
                    pops.iter().copied().collect::<Vec<_>>().join(";"),
                    n.to_string(),
                    (*conf).to_owned(),
                ],
                None if hidden.contains(list.keyed.population(i)) => [
                    id.to_owned(),
                    "not compared".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
                None => [id.to_owned(), "false".into(), String::new(), "0".into(), String::new()],
            };
            if let Err(e) = w.write_record(cells.iter().map(|c| spreadsheet_safe(c).into_owned().into_bytes())) {
                failed = Some(e);
            }
        })?;
        if let Some(e) = failed {
            return Err(err(e));
        }
        w.flush().map_err(|e| Error::io(Some(path.to_owned()), e))
    }

    /// The self-contained HTML page.
    pub fn html(&self) -> String {
        html::render(self)
    }
}

/// Writes one CSV file: the header, then the rows, each cell through [`spreadsheet_safe`].
fn write_csv(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    let err = |e: csv::Error| Error::config(format!("writing {}: {e}", path.display()));
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    w.write_record(header).map_err(err)?;
    for row in rows {
        w.write_record(row.iter().map(|c| spreadsheet_safe(c).into_owned().into_bytes()))
            .map_err(err)?;
    }
    w.flush().map_err(|e| Error::io(Some(path.to_owned()), e))
}

/// The `matches.csv` column of a partner field: `partner_owner`, `partner_industry` for
/// `column:Industry` (lower case, other characters as `_`).
fn partner_column(field: &str) -> String {
    let name = field.strip_prefix("column:").unwrap_or(field);
    let mut out = String::from("partner_");
    for c in name.trim().chars() {
        out.push(if c.is_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        });
    }
    out
}

/// A cell as a spreadsheet will read it without running it: text that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets
/// (a partner's "name" can be `=HYPERLINK(...)`), so it gets a leading `'` (OWASP's advice
/// for CSV injection). Plain numbers (`-12.5`) are left as they are.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = matches!(cell.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    if risky && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

fn build_matrix<'a>(account: &impl Fn(usize) -> &'a Own, mapping: &Mapping, has_amount: bool) -> Vec<MatrixCell> {
    let matches_mode = mapping.mode == Mode::Matches;
    let mut cells = Vec::new();
    for (x, (own_pop, _)) in mapping.own_populations.iter().enumerate() {
        for (y, (partner_pop, _)) in mapping.partner_populations.iter().enumerate() {
            let pairs = mapping.pair_counts.get(x).and_then(|r| r.get(y)).copied().unwrap_or(0);
            let counted = mapping
                .counted_cells
                .get(x)
                .and_then(|r| r.get(y))
                .copied()
                .unwrap_or(true);
            let paired = matches_mode && !counted;
            let in_cell = || {
                mapping
                    .pairs
                    .iter()
                    .filter(|p| account(p.own).population == *own_pop && &p.partner_population == partner_pop)
            };
            let own: BTreeSet<usize> = in_cell().map(|p| p.own).collect();
            let partner: BTreeSet<u64> = in_cell().map(|p| p.partner).collect();
            cells.push(MatrixCell {
                own_population: own_pop.clone(),
                partner_population: partner_pop.clone(),
                pairs,
                counts_only: counted,
                own_accounts: paired.then_some(own.len() as u64),
                partner_accounts: paired.then_some(partner.len() as u64),
                own_pipeline: (has_amount && paired).then(|| own.iter().filter_map(|i| account(*i).amount).sum()),
            });
        }
    }
    cells
}

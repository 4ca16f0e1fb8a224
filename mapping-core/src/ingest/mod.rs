//! Ingest: a CRM export (CSV or TSV, as Salesforce, HubSpot or a spreadsheet writes it) to
//! [`Account`]s, with every data row either accepted or rejected with a reason.
//!
//! What real exports throw at us, and what happens to it:
//! - the delimiter (`,` `;` TAB `|`) is detected from the first lines, outside quotes;
//! - UTF-8 with or without a byte-order mark is read as is; a field that is not UTF-8 is
//!   decoded as Windows-1252 (Excel's "CSV" on Western Windows) and a warning says so;
//!   UTF-16 exports (Excel's "Unicode text") are decoded whole;
//! - quoted fields may hold delimiters and newlines; blank lines and rows of empty cells
//!   (Excel's `,,,,`) are skipped and not counted as rows;
//! - a row shorter than the header has its missing cells blank (and is counted in a
//!   warning); a row longer than the header is rejected, since its cells cannot be placed;
//! - duplicate header names get a suffix (`Email (2)`) so that both columns stay usable.
//!
//! The columns are recognised by name (`columns.rs`); a population (Customers, Open
//! Opportunities, ...) is derived from a status column (`population.rs`).

mod columns;
mod population;
mod records;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub use columns::{ColumnMap, ColumnOverride, CrmLayout, Role};
pub use population::{Population, PopulationRules};

use crate::error::{Error, ErrorKind, Result};

/// One accepted CRM row, as read (not yet normalized).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Account {
    /// 1-based data row number (the first row after the header is 1).
    pub row: u64,
    /// 1-based line in the file where the row starts (quoted newlines make it differ).
    pub line: u64,
    /// CRM record id (Salesforce Account ID, HubSpot Record ID), if the file has one.
    pub record_id: Option<String>,
    /// Company name as written.
    pub name: Option<String>,
    /// Website, URL and domain values as written.
    pub websites: Vec<String>,
    /// E-mail addresses as written (a cell may hold several, separated by `;` or `,`).
    pub emails: Vec<String>,
    /// Country as written.
    pub country: Option<String>,
    /// The population this account belongs to, from the status column.
    pub population: Population,
    /// The status value as written (type, lifecycle stage, ...).
    pub status: Option<String>,
    /// Account owner.
    pub owner: Option<String>,
    /// Pipeline amount, when an amount column is present and the value parses.
    pub amount: Option<f64>,
    /// Values of the columns not used for matching, aligned with [`Dataset::extra_columns`].
    pub extra: Vec<String>,
    /// Problems with single cells that did not reject the row (an unreadable amount, ...).
    pub notes: Vec<String>,
}

/// A row that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reject {
    /// 1-based data row number.
    pub row: u64,
    /// 1-based line in the file where the row starts.
    pub line: u64,
    /// The column concerned, when one is.
    pub column: Option<String>,
    /// What was wrong.
    pub reason: String,
    /// The row's record id, when it has one (to find it in the CRM).
    pub record_id: String,
    /// The row's name cell, when it has one.
    pub name: String,
}

impl Reject {
    /// A reject of row `row` starting at `line`, for `reason`; no identifying cells.
    pub fn new(row: u64, line: u64, reason: impl Into<String>) -> Reject {
        Reject {
            row,
            line,
            column: None,
            reason: reason.into(),
            record_id: String::new(),
            name: String::new(),
        }
    }

    /// The same with the row's record id and name.
    pub fn identified(mut self, record_id: &str, name: &str) -> Reject {
        self.record_id = record_id.trim().to_owned();
        self.name = name.trim().to_owned();
        self
    }
}

/// What was read from one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dataset {
    /// The file name or label given to the reader.
    pub source: String,
    /// The header as read (duplicates disambiguated).
    pub headers: Vec<String>,
    /// The detected (or overridden) column layout.
    pub columns: ColumnMap,
    /// Names of the columns kept as extra fields, for reports.
    pub extra_columns: Vec<String>,
    /// The accepted rows.
    pub accounts: Vec<Account>,
    /// The rejected rows.
    pub rejects: Vec<Reject>,
    /// File-level observations (encoding, ragged rows), one line each.
    pub warnings: Vec<String>,
    /// Data rows read: always `accounts.len() + rejects.len()`.
    pub rows_read: u64,
    /// The delimiter used.
    pub delimiter: char,
}

/// How to read a CRM export. `Default` detects everything.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct IngestOptions {
    /// Force a delimiter instead of detecting it.
    pub delimiter: Option<u8>,
    /// Explicit column assignments, which replace detection for their role.
    pub columns: Vec<ColumnOverride>,
    /// Custom population rules, applied before the built-in ones.
    pub populations: PopulationRules,
}

impl IngestOptions {
    /// Options that detect the delimiter and the columns.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forces the field delimiter.
    ///
    /// ```
    /// let opts = mapping_core::IngestOptions::new().delimiter(b';');
    /// # let _ = opts;
    /// ```
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = Some(delimiter);
        self
    }

    /// Assigns a column to a role, replacing what detection found for that role.
    ///
    /// ```
    /// use mapping_core::{IngestOptions, ColumnOverride, Role};
    /// let opts = IngestOptions::new().column(ColumnOverride::new(Role::Name, "Organisation"));
    /// # let _ = opts;
    /// ```
    pub fn column(mut self, column: ColumnOverride) -> Self {
        self.columns.push(column);
        self
    }

    /// Sets custom population rules.
    ///
    /// ```
    /// use mapping_core::{IngestOptions, PopulationRules};
    /// let rules = PopulationRules::parse(&["Churned=former customer"]).unwrap();
    /// let opts = IngestOptions::new().populations(rules);
    /// # let _ = opts;
    /// ```
    pub fn populations(mut self, rules: PopulationRules) -> Self {
        self.populations = rules;
        self
    }
}

/// Reads a CRM export from a file.
pub fn read_path(path: &Path, options: &IngestOptions) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(Some(path.to_owned()), e))?;
    read(file, &path.display().to_string(), options)
}

/// Reads a CRM export from a file row by row: each accepted account goes to `sink` as
/// soon as it is read and is not kept (the returned [`Dataset`] has no `accounts`; its
/// rejects, warnings and counts are complete). For files too large to hold.
pub fn read_path_each(path: &Path, options: &IngestOptions, sink: impl FnMut(Account)) -> Result<Dataset> {
    read_path_rows(path, options, |_| true, sink)
}

/// Like [`read_path_each`], but only rows for which `wanted(row)` holds become accounts;
/// the others are parsed and counted but not built (for reading back a few rows of a
/// large file).
pub fn read_path_rows(
    path: &Path,
    options: &IngestOptions,
    wanted: impl Fn(u64) -> bool,
    sink: impl FnMut(Account),
) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(Some(path.to_owned()), e))?;
    read_filtered(file, &path.display().to_string(), options, wanted, sink)
}

/// Reads a CRM export from any reader; `source` names it in messages.
///
/// ```
/// use mapping_core::{ingest, IngestOptions};
/// let csv = "Account Name,Website,Type\nAcme Ltd,https://www.acme.co.uk,Customer\n,,Prospect\n";
/// let data = ingest::read(csv.as_bytes(), "example.csv", &IngestOptions::new()).unwrap();
/// assert_eq!(data.accounts.len(), 1);
/// assert_eq!(data.rejects.len(), 1);
/// assert_eq!(data.rows_read, 2);
/// ```
pub fn read<R: Read>(input: R, source: &str, options: &IngestOptions) -> Result<Dataset> {
    let mut accounts = Vec::new();
    let dataset = read_each(input, source, options, |a| accounts.push(a))?;
    Ok(Dataset { accounts, ..dataset })
}

/// Like [`read`], but each accepted account goes to `sink` as it is read and is not kept.
///
/// ```
/// use mapping_core::{ingest, IngestOptions};
/// let csv = "Account Name,Website\nAcme Ltd,acme.com\nGlobex,globex.com\n";
/// let mut names = Vec::new();
/// let data = ingest::read_each(csv.as_bytes(), "x.csv", &IngestOptions::new(), |a| names.extend(a.name)).unwrap();
/// assert_eq!(names, ["Acme Ltd", "Globex"]);
/// assert!(data.accounts.is_empty());
/// assert_eq!(data.rows_read, 2);
/// ```
pub fn read_each<R: Read>(
    input: R,
    source: &str,
    options: &IngestOptions,
    sink: impl FnMut(Account),
) -> Result<Dataset> {
    read_filtered(input, source, options, |_| true, sink)
}

fn read_filtered<R: Read>(
    input: R,
    source: &str,
    options: &IngestOptions,
    wanted: impl Fn(u64) -> bool,
    sink: impl FnMut(Account),
) -> Result<Dataset> {
    let io_err = |e| Error::io(Some(source.into()), e);
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let head = fill_head(&mut reader).map_err(io_err)?;
    if head.is_empty() {
        return Err(ErrorKind::EmptyInput { source: source.into() }.into());
    }
    let mut warnings = Vec::new();
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).map_err(io_err)?;
        let (text, encoding, _) = encoding_rs::Encoding::for_bom(&all)
            .map(|(enc, _)| enc.decode(&all))
            .unwrap_or_else(|| encoding_rs::UTF_16LE.decode(&all));
        warnings.push(format!("decoded from {} (byte-order mark)", encoding.name()));
        let bytes = text.into_owned().into_bytes();
        return read_text(&bytes[..], source, options, warnings, wanted, sink);
    }
    check_text(&head, source)?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    read_text(reader, source, options, warnings, wanted, sink)
}

/// Fills the buffer with up to 64 KiB of the input without consuming it.
fn fill_head<R: Read>(reader: &mut BufReader<R>) -> std::io::Result<Vec<u8>> {
    loop {
        match reader.fill_buf() {
            Ok(buf) => return Ok(buf.to_vec()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

fn check_text(head: &[u8], source: &str) -> Result<()> {
    let not_csv = |reason: &str| -> Result<()> {
        Err(ErrorKind::NotCsv {
            source: source.into(),
            reason: reason.into(),
        }
        .into())
    };
    if head.starts_with(b"PK\x03\x04") {
        return not_csv("it is a ZIP archive (an .xlsx workbook?); export it as CSV first");
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return not_csv("it is an old Excel .xls workbook; export it as CSV first");
    }
    if head.starts_with(b"%PDF") {
        return not_csv("it is a PDF document");
    }
    if head.contains(&0) {
        return not_csv("it contains binary data (NUL bytes)");
    }
    Ok(())
}

/// Picks the delimiter that splits the first lines into the most equal, non-trivial fields.
fn detect_delimiter(head: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    for &b in head {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                lines.push(counts);
                counts = [0; 4];
                if lines.len() >= 20 {
                    break;
                }
            }
            _ if !in_quotes => {
                if let Some(i) = CANDIDATES.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    if counts.iter().any(|c| *c > 0) {
        lines.push(counts);
    }
    let Some(header) = lines.first().copied() else {
        return b',';
    };
    let score = |i: usize| -> (usize, usize) {
        if header[i] == 0 {
            return (0, 0);
        }
        let agree = lines.iter().filter(|l| l[i] == header[i]).count();
        (agree, header[i])
    };
    (0..CANDIDATES.len())
        .max_by_key(|i| score(*i))
        .filter(|i| header[*i] > 0)
        .map_or(b',', |i| CANDIDATES[i])
}

fn read_text<R: Read>(
    input: R,
    source: &str,
    options: &IngestOptions,
    mut warnings: Vec<String>,
    wanted: impl Fn(u64) -> bool,
    mut sink: impl FnMut(Account),
) -> Result<Dataset> {
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut head = fill_head(&mut input).map_err(|e| Error::io(Some(source.into()), e))?;
    // Excel's `sep=;` first line names the delimiter; it is not the header.
    let excel_sep = excel_separator(&head);
    if let Some((len, _)) = excel_sep {
        input.consume(len);
        head.drain(..len);
    }
    let delimiter = options
        .delimiter
        .or(excel_sep.map(|(_, d)| d))
        .unwrap_or_else(|| detect_delimiter(&head));
    let gate = records::RecordGate::new(input, delimiter, if excel_sep.is_some() { 2 } else { 1 });
    // The first line of each record, in the order the parser yields them.
    let starts = gate.starts();
    let next_start = || starts.borrow_mut().pop_front().unwrap_or(0);
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(gate);
    let mut record = csv::ByteRecord::new();
    let mut decoded_1252 = 0u64;
    let csv_error = |e: csv::Error| -> Error {
        let line = e.position().map_or(0, |p| p.line());
        ErrorKind::Csv {
            source: source.into(),
            line,
            message: e.to_string(),
        }
        .into()
    };
    if !csv.read_byte_record(&mut record).map_err(csv_error)? {
        return Err(ErrorKind::EmptyInput { source: source.into() }.into());
    }
    next_start();
    // A report export can start with title lines ("Accounts with open opportunities",
    // "As of 12/1/2026") above the column row: single cells in a file whose lines otherwise
    // hold several. Up to 10 are skipped, and said.
    let titles = title_lines(&head, delimiter);
    for _ in 0..titles {
        if !csv.read_byte_record(&mut record).map_err(csv_error)? {
            return Err(ErrorKind::EmptyInput { source: source.into() }.into());
        }
        next_start();
    }
    if titles > 0 {
        warnings.push(format!(
            "skipped {titles} title line(s) above the column row (a report export's header)"
        ));
    }
    let headers = header_names(&record, &mut decoded_1252);
    let columns = ColumnMap::detect(&headers, &options.columns, source)?;
    if !columns.has_identifier() {
        return Err(ErrorKind::NoIdentifyingColumn {
            source: source.into(),
            headers,
        }
        .into());
    }
    if headers.len() == 1 && head.len() > 64 && !head.contains(&delimiter) {
        warnings.push(format!(
            "only one column found with delimiter {:?}; use --delimiter if the file uses another",
            delimiter as char
        ));
    }
    let extra_columns: Vec<String> = columns.extras.iter().map(|i| headers[*i].clone()).collect();
    let mut rejects = Vec::new();
    let mut short_rows = 0u64;
    let mut row = 0u64;
    let mut fields: Vec<String> = Vec::with_capacity(headers.len());
    let reads: Vec<bool> = (0..headers.len()).map(|i| columns.reads(i)).collect();
    let mut statuses = population::StatusMemo::new(&options.populations);
    let mut in_footer = false;
    let mut accepted = 0u64;
    let mut unrecognised: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // A broken record (invalid quoting is tolerated by the parser; this is I/O or
                // UTF-8 at the parser level): the row is rejected and reading goes on.
                row += 1;
                let line = next_start();
                rejects.push(Reject::new(row, line, format!("unreadable row: {e}")));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(csv_error(e));
                }
                continue;
            }
        }
        let line = next_start();
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // a blank line, or a row of empty cells (Excel's ",,,,"), is not a row
        }
        row += 1;
        let marker = match record.get(0) {
            Some(f) if record.len() == 1 && f == records::UNTERMINATED => Some(format!(
                "a quoted field opens on this line and does not close within {} lines or {} KiB (a stray quote?); \
                 the row was rejected and reading went on with the next line",
                records::MAX_RECORD_LINES,
                records::MAX_RECORD_BYTES / 1024
            )),
            Some(f) if record.len() == 1 && f == records::OVERLONG => Some(format!(
                "the row is longer than {} KiB",
                records::MAX_RECORD_BYTES / 1024
            )),
            _ => None,
        };
        if let Some(reason) = marker {
            rejects.push(Reject::new(row, line, reason));
            continue;
        }
        // The row's record id and name cells, as they stand, for rejects.
        let cell = |i: Option<usize>| -> String {
            i.and_then(|i| record.get(i))
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .unwrap_or_default()
        };
        let reject =
            |reason: String| Reject::new(row, line, reason).identified(&cell(columns.record_id), &cell(columns.name));
        if record.len() > headers.len() && record.iter().skip(headers.len()).any(|f| !f.trim_ascii().is_empty()) {
            rejects.push(reject(format!(
                "row has {} fields but the header has {}; its cells cannot be placed",
                record.len(),
                headers.len()
            )));
            continue;
        }
        if record.len() < headers.len() {
            short_rows += 1;
        }
        // A Salesforce report export ends with a footer: "Total" and a count, the copyright
        // and confidentiality lines, "Generated By: ...", the company name. Those lines are
        // not accounts: their keys must never reach the partner.
        let filled: Vec<&[u8]> = record.iter().filter(|f| !f.trim_ascii().is_empty()).collect();
        // Footer lines are single cells; a fuller row ends the footer (a grouped report's
        // "Total" line is followed by accounts again).
        in_footer = filled.len() == 1 && (in_footer || is_report_footer(filled[0]));
        if in_footer {
            rejects.push(reject(
                "a line of the report's footer (Salesforce report export), not an account".into(),
            ));
            continue;
        }
        if !wanted(row) {
            continue;
        }
        fields.clear();
        // Only the columns an account reads are decoded (the others stay empty).
        for (i, &read) in reads.iter().enumerate() {
            fields.push(match record.get(i) {
                Some(f) if read => decode_field(f, &mut decoded_1252),
                _ => String::new(),
            });
        }
        match columns.build_account(row, line, &fields, &mut statuses) {
            Ok(account) => {
                accepted += 1;
                if let Population::Custom(label) = &account.population {
                    // A memo hit: the status was classified when the account was built.
                    if statuses.classify(account.status.as_deref()).1 {
                        *unrecognised.entry(label.clone()).or_default() += 1;
                    }
                }
                sink(account)
            }
            Err(reason) => rejects.push(reject(reason)),
        }
    }
    if decoded_1252 > 0 {
        warnings.push(format!(
            "{decoded_1252} field(s) were not UTF-8 and were decoded as Windows-1252; \
             re-export as UTF-8 if names look wrong"
        ));
    }
    if columns.status.is_none() && accepted > 0 {
        warnings.push(format!(
            "no status column: all {accepted} accounts are Unassigned; use --column status=HEADER \
             (the column that holds the account type or lifecycle stage)"
        ));
    }
    if !unrecognised.is_empty() {
        let mut top: Vec<(&String, &u64)> = unrecognised.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let examples: Vec<String> = top.iter().take(5).map(|(v, n)| format!("{v:?} {n}")).collect();
        warnings.push(format!(
            "{} accounts have status values no rule maps to a population ({}{}): each value became a population of its \
             own name; use --population \"LABEL=value,...\" to group them",
            unrecognised.values().sum::<u64>(),
            examples.join(", "),
            if top.len() > 5 { ", ..." } else { "" }
        ));
    }
    if short_rows > 0 {
        warnings.push(format!(
            "{short_rows} row(s) had fewer fields than the header; missing cells were left blank"
        ));
    }
    Ok(Dataset {
        source: source.into(),
        headers,
        columns,
        extra_columns,
        rows_read: row,
        accounts: Vec::new(),
        rejects,
        warnings,
        delimiter: delimiter as char,
    })
}

/// How many single-cell title lines stand above the column row, judged from the head of the
/// file: the column row is the first record with several cells that is followed by another
/// of the same width; a one-column file, or one whose second record differs, has none.
fn title_lines(head: &[u8], delimiter: u8) -> usize {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(head);
    let widths: Vec<usize> = reader
        .byte_records()
        .take(13)
        .map_while(|r| r.ok())
        .map(|r| r.iter().filter(|f| !f.trim_ascii().is_empty()).count())
        .collect();
    match widths.iter().position(|w| *w >= 2) {
        Some(i) if i > 0 && i <= 10 && widths[..i].iter().all(|w| *w <= 1) && widths.get(i + 1) == Some(&widths[i]) => {
            i
        }
        _ => 0,
    }
}

/// Excel's `sep=X` first line: its length (with its line end) and the delimiter it names.
fn excel_separator(head: &[u8]) -> Option<(usize, u8)> {
    let prefix = head.get(..4)?;
    if !prefix.eq_ignore_ascii_case(b"sep=") {
        return None;
    }
    let delimiter = *head.get(4)?;
    if !matches!(delimiter, b',' | b';' | b'\t' | b'|') {
        return None;
    }
    let rest = &head[5..];
    let end = if rest.starts_with(b"\r\n") {
        2
    } else if rest.starts_with(b"\n") || rest.starts_with(b"\r") {
        1
    } else if rest.is_empty() {
        0
    } else {
        return None;
    };
    Some((5 + end, delimiter))
}

/// The first line of a Salesforce report's footer: `Total`/`Grand Total`, the copyright
/// line, the confidentiality line or `Generated By:`.
fn is_report_footer(cell: &[u8]) -> bool {
    let text = String::from_utf8_lossy(cell.trim_ascii()).to_ascii_lowercase();
    matches!(text.as_str(), "total" | "grand total" | "grand totals")
        || (text.starts_with("copyright") && text.contains("salesforce.com"))
        || text.starts_with("confidential information - do not distribute")
        || text.starts_with("generated by:")
}

fn decode_field(bytes: &[u8], decoded_1252: &mut u64) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.trim().to_owned(),
        Err(_) => {
            *decoded_1252 += 1;
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            text.trim().to_owned()
        }
    }
}

/// Header names, made unique case-insensitively (`Name`, `Name (2)`, ...). A set of used
/// names and the next suffix per name keep this linear in the header's length (duplicate
/// headers by the thousand are a hostile file's, not a CRM's).
fn header_names(record: &csv::ByteRecord, decoded_1252: &mut u64) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(record.len());
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut next_suffix: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, field) in record.iter().enumerate() {
        let mut name = decode_field(field, decoded_1252)
            .trim_matches('\u{FEFF}')
            .trim()
            .to_owned();
        if name.is_empty() {
            name = format!("column {}", i + 1);
        }
        if used.contains(&name.to_ascii_lowercase()) {
            let base = name.clone();
            let n = next_suffix.entry(base.to_ascii_lowercase()).or_insert(2);
            loop {
                name = format!("{base} ({n})");
                *n += 1;
                if !used.contains(&name.to_ascii_lowercase()) {
                    break;
                }
            }
        }
        used.insert(name.to_ascii_lowercase());
        names.push(name);
    }
    names
}

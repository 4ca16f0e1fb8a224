//! A partnership's memory: what each past session with a partner taught this side, and what
//! changed since (after [`crate::report`]; nothing flows back into a session).
//!
//! A [`History`] is a directory with one folder per partner and one owner-only JSON file per
//! session ([`SessionRecord`]): its date, the partner's name, this side's policy, the
//! counts, and this side's accounts in decided pairs with the partner accounts and their
//! populations, as this side learned them. Nothing secret is kept (no session key, no
//! blinded value, nothing of partner accounts that did not match).
//!
//! [`changes`] compares two records: new overlaps, overlaps gone, and population moves on
//! either side ("our prospect is now their customer"). Own accounts are followed by their
//! record id, or, for rows without one, by a fingerprint of their match keys; a row whose
//! keys changed cannot be followed, and is counted as such.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::list::PreparedList;
use crate::matching::Mapping;
use crate::policy::{Share, SharingPolicy};
use crate::psi::Mode;
use crate::report::Report;

/// Version of the session record format.
pub const RECORD_VERSION: u32 = 1;

/// One past session with a partner, as this side keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionRecord {
    /// [`RECORD_VERSION`].
    pub version: u32,
    /// When the session ended, UTC, `2026-12-01T23:40:00Z`.
    pub date: String,
    /// The same, in seconds since 1970.
    pub unix_seconds: u64,
    /// The partnership's name (`--partner-name`).
    pub partner: String,
    /// Session id, hex.
    pub session: String,
    /// `matches` or `counts_only`.
    pub mode: Mode,
    /// This side's populations, with what its policy did with each (`overlaps`, `counts`,
    /// `hidden`).
    pub policy: Vec<(String, Share)>,
    /// Own populations sent, with sizes.
    pub own_populations: Vec<(String, u64)>,
    /// The partner's populations, with sizes.
    pub partner_populations: Vec<(String, u64)>,
    /// Decided pairs per own × partner population.
    pub pair_counts: Vec<Vec<u64>>,
    /// Decided pairs in all.
    pub matched_pairs: u64,
    /// Own accounts in decided pairs.
    pub accounts: Vec<KeptAccount>,
    /// Fingerprints of the own accounts in the session (those of decided pairs that have a
    /// record id left out), to tell an overlap that is gone from a row without a record id
    /// that cannot be followed.
    pub unkeyed: Vec<String>,
}

/// An own account of a decided pair, as history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeptAccount {
    /// `id:<record id>`, or `keys:<fingerprint>` for a row without one.
    pub key: String,
    /// Its name, as the export has it (own data).
    pub name: String,
    /// Its population in this session.
    pub population: String,
    /// The partner accounts it matched.
    pub partners: Vec<KeptPartner>,
}

/// A partner account of a decided pair, as this side learned it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeptPartner {
    /// The handle it is followed by: `id:` with the record id the partner shared, else
    /// `name:` with the name and domain it shared, else `pair:` with the pair's position.
    pub key: String,
    /// Its name, when the partner shared it.
    pub name: String,
    /// Its population.
    pub population: String,
}

/// What changed between two sessions with one partner.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Changes {
    /// The date of the earlier session.
    pub since: String,
    /// Each change, own account by own account.
    pub rows: Vec<Change>,
    /// Overlaps (own account, partner account) that are new.
    pub new_overlaps: u64,
    /// Overlaps that are gone.
    pub gone: u64,
    /// Overlaps whose partner account moved to another of the partner's populations.
    pub partner_moves: u64,
    /// Overlaps whose own account moved to another of this side's populations.
    pub own_moves: u64,
    /// Own rows of the earlier session that had no record id and whose keys are no longer
    /// in the list: they cannot be followed (their website or name changed, or they are
    /// gone), and their overlaps are not reported as gone.
    pub not_followed: u64,
}

/// Kinds of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The partner's account is in another population now (their open opportunity became
    /// a customer): listed first, the moment for an introduction.
    PartnerMoved,
    /// A pair that the earlier session did not have.
    NewOverlap,
    /// The own account is in another population now.
    OwnMoved,
    /// A pair of the earlier session that this one does not have.
    OverlapGone,
}

impl ChangeKind {
    /// The name used in changes.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::NewOverlap => "new overlap",
            ChangeKind::OverlapGone => "overlap gone",
            ChangeKind::PartnerMoved => "partner population moved",
            ChangeKind::OwnMoved => "own population moved",
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// The own account's history key (`id:...` or `keys:...`).
    pub own_key: String,
    /// Its name.
    pub own_name: String,
    /// Its population before (empty for a new overlap of an account that had none).
    pub own_population_before: String,
    /// Its population now (empty when the overlap is gone).
    pub own_population_now: String,
    /// The partner account's handle.
    pub partner_key: String,
    /// The partner account's name, when the partner shared it.
    pub partner_name: String,
    /// The partner account's population before.
    pub partner_population_before: String,
    /// The partner account's population now.
    pub partner_population_now: String,
}

/// A directory of session records, one folder per partner.
#[derive(Debug, Clone)]
pub struct History {
    dir: PathBuf,
}

/// A partner's folder name: its name in lower case, letters and digits, `-` between.
fn slug(partner: &str) -> String {
    let mut s = String::new();
    for c in partner.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_owned();
    if s.is_empty() {
        "partner".into()
    } else {
        s
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(Some(path.to_owned()), e)
}

fn create_private_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(io(path))?;
    }
    Ok(())
}

impl History {
    /// Opens (and creates, owner-only) a history directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<History> {
        let dir = dir.into();
        create_private_dir(&dir)?;
        Ok(History { dir })
    }

    /// The default directory: `acctmap/history` under the user's data directory
    /// (`~/.local/share` on Linux, `~/Library/Application Support` on macOS, `%APPDATA%` on
    /// Windows); `None` where the platform has none.
    pub fn default_dir() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "acctmap").map(|d| d.data_dir().join("history"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Session files of one partner, oldest first.
    pub fn sessions(&self, partner: &str) -> Result<Vec<PathBuf>> {
        let folder = self.dir.join(slug(partner));
        if !folder.is_dir() {
            return Ok(Vec::new());
        }
        entries(&folder, |p| p.extension().is_some_and(|x| x == "json"))
    }

    /// Reads one session file.
    pub fn load(path: &Path) -> Result<SessionRecord> {
        let bytes = crate::files::read_bounded(path, 1 << 30).map_err(io(path))?;
        let record: SessionRecord = serde_json::from_slice(&bytes)
            .map_err(|e| Error::config(format!("{}: not a session record: {e}", path.display())))?;
        if record.version != RECORD_VERSION {
            return Err(Error::config(format!(
                "{}: session record version {}, this acctmap reads version {RECORD_VERSION}",
                path.display(),
                record.version
            )));
        }
        Ok(record)
    }

    /// The latest session with a partner, if any.
    pub fn last(&self, partner: &str) -> Result<Option<SessionRecord>> {
        match self.sessions(partner)?.last() {
            Some(p) => Ok(Some(History::load(p)?)),
            None => Ok(None),
        }
    }

    /// Stores a session (owner-only); returns the file written.
    pub fn record(&self, record: &SessionRecord) -> Result<PathBuf> {
        let folder = self.dir.join(slug(&record.partner));
        create_private_dir(&folder)?;
        let short: String = record.session.chars().take(8).collect();
        // Time, then the count of earlier sessions: two sessions in one second keep their order.
        let n = self.sessions(&record.partner)?.len();
        let path = folder.join(format!("{:012}-{n:06}-{short}.json", record.unix_seconds));
        let bytes = serde_json::to_vec(record).map_err(|e| Error::config(format!("session record: {e}")))?;
        crate::files::write_atomic(&path, &bytes, true).map_err(io(&path))?;
        Ok(path)
    }

    /// Every partner with its latest session, by partner name.
    pub fn partners(&self) -> Result<Vec<SessionRecord>> {
        let mut out = Vec::new();
        for folder in entries(&self.dir, |p| p.is_dir())? {
            let files = entries(&folder, |p| p.extension().is_some_and(|x| x == "json"))?;
            if let Some(last) = files.last() {
                out.push(History::load(last)?);
            }
        }
        out.sort_by_key(|r| r.partner.to_lowercase());
        Ok(out)
    }
}

/// The entries of `dir` that `keep` accepts, in name order (session files start with the
/// zero-padded time, so name order is time order).
fn entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    found.sort();
    Ok(found)
}

/// The history key of an own account: its record id, or a fingerprint of its match keys.
fn own_key(record_id: &str, keys: &mut dyn Iterator<Item = &[u8]>) -> String {
    if !record_id.trim().is_empty() {
        return format!("id:{}", record_id.trim());
    }
    format!("keys:{}", fingerprint(keys))
}

fn fingerprint(keys: &mut dyn Iterator<Item = &[u8]>) -> String {
    let mut sorted: Vec<&[u8]> = keys.collect();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    for k in sorted {
        h.update((k.len() as u32).to_be_bytes());
        h.update(k);
    }
    h.finalize()[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// The date of `unix` seconds, UTC, as `2026-12-01T23:40:00Z`.
pub fn utc_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The record of a finished session: `report` is the one built from `mapping` for `list`,
/// under `policy`.
pub fn record_of(
    partner: &str,
    list: &PreparedList,
    mapping: &Mapping,
    report: &Report,
    policy: &SharingPolicy,
    unix_seconds: u64,
) -> SessionRecord {
    let index_of_row: BTreeMap<u64, usize> = mapping.pairs.iter().map(|p| (list.keyed.row(p.own), p.own)).collect();
    let mut accounts: BTreeMap<String, KeptAccount> = BTreeMap::new();
    // Which rows have a record id is known for the matched ones (the report read them).
    let mut with_id: BTreeSet<usize> = BTreeSet::new();
    for (n, m) in report.matches.iter().enumerate() {
        let Some(&i) = index_of_row.get(&m.a_row) else {
            continue;
        };
        if !m.a_record_id.is_empty() {
            with_id.insert(i);
        }
        let key = own_key(&m.a_record_id, &mut list.keyed.keys(i));
        let partner_key = if !m.b_record_id.is_empty() {
            format!("id:{}", m.b_record_id)
        } else if !m.b_name.is_empty() || !m.b_domains.is_empty() {
            format!("name:{}|{}", m.b_name, m.b_domains)
        } else {
            format!("pair:{n}")
        };
        let entry = accounts.entry(key.clone()).or_insert_with(|| KeptAccount {
            key,
            name: m.a_name.clone(),
            population: m.a_population.clone(),
            partners: Vec::new(),
        });
        if !entry.partners.iter().any(|p| p.key == partner_key) {
            entry.partners.push(KeptPartner {
                key: partner_key,
                name: m.b_name.clone(),
                population: m.b_population.clone(),
            });
        }
    }
    // Rows without a record id are known by their keys; for the unmatched rows the
    // fingerprint is kept whatever their id, which only makes "not followed" rarer, never
    // wrong.
    let mut unkeyed: Vec<String> = (0..list.keyed.len())
        .filter(|i| !with_id.contains(i))
        .map(|i| format!("keys:{}", fingerprint(&mut list.keyed.keys(i))))
        .collect();
    unkeyed.sort_unstable();
    unkeyed.dedup();
    SessionRecord {
        version: RECORD_VERSION,
        date: utc_date(unix_seconds),
        unix_seconds,
        partner: partner.trim().to_owned(),
        session: mapping.session.clone(),
        mode: mapping.mode,
        policy: mapping
            .own_populations
            .iter()
            .chain(&mapping.disclosure.hidden_populations)
            .map(|(label, _)| (label.clone(), policy.rule(label).share))
            .collect(),
        own_populations: mapping.own_populations.clone(),
        partner_populations: mapping.partner_populations.clone(),
        pair_counts: mapping.pair_counts.clone(),
        matched_pairs: mapping.pair_total(),
        accounts: accounts.into_values().collect(),
        unkeyed,
    }
}

/// What changed from `before` to `now` (two sessions with one partner).
pub fn changes(before: &SessionRecord, now: &SessionRecord) -> Changes {
    let old: BTreeMap<&str, &KeptAccount> = before.accounts.iter().map(|a| (a.key.as_str(), a)).collect();
    let new: BTreeMap<&str, &KeptAccount> = now.accounts.iter().map(|a| (a.key.as_str(), a)).collect();
    let present: BTreeSet<&str> = now.unkeyed.iter().map(String::as_str).collect();
    let mut out = Changes {
        since: before.date.clone(),
        ..Changes::default()
    };
    let change = |kind, own: &KeptAccount, before: Option<&KeptAccount>, partner: &str, pb: &str, pn: &str| Change {
        kind,
        own_key: own.key.clone(),
        own_name: own.name.clone(),
        own_population_before: before.map(|b| b.population.clone()).unwrap_or_default(),
        own_population_now: String::new(),
        partner_key: partner.to_owned(),
        partner_name: String::new(),
        partner_population_before: pb.to_owned(),
        partner_population_now: pn.to_owned(),
    };
    for (key, a) in &new {
        let prev = old.get(key).copied();
        if let Some(p) = prev {
            if p.population != a.population {
                out.own_moves += 1;
                let mut c = change(ChangeKind::OwnMoved, a, prev, "", "", "");
                c.own_population_now = a.population.clone();
                out.rows.push(c);
            }
        }
        for kp in &a.partners {
            let (pk, pop) = (&kp.key, &kp.population);
            let before_pop = prev
                .and_then(|p| p.partners.iter().find(|q| q.key == *pk))
                .map(|q| q.population.as_str());
            let mut c = match before_pop {
                None => {
                    out.new_overlaps += 1;
                    change(ChangeKind::NewOverlap, a, prev, pk, "", pop)
                }
                Some(b) if b != pop => {
                    out.partner_moves += 1;
                    change(ChangeKind::PartnerMoved, a, prev, pk, b, pop)
                }
                Some(_) => continue,
            };
            c.own_population_now = a.population.clone();
            c.partner_name = kp.name.clone();
            out.rows.push(c);
        }
    }
    for (key, p) in &old {
        let now_account = new.get(key).copied();
        if now_account.is_none() && key.starts_with("keys:") && !present.contains(key) {
            out.not_followed += 1;
            continue;
        }
        for kp in &p.partners {
            let (pk, pop) = (&kp.key, &kp.population);
            let still = now_account.is_some_and(|a| a.partners.iter().any(|q| q.key == *pk));
            if !still {
                out.gone += 1;
                let mut c = change(ChangeKind::OverlapGone, p, Some(p), pk, pop, "");
                c.own_population_now = now_account.map(|a| a.population.clone()).unwrap_or_default();
                c.partner_name = kp.name.clone();
                out.rows.push(c);
            }
        }
    }
    out.rows
        .sort_by(|a, b| (a.kind, &a.own_key, &a.partner_key).cmp(&(b.kind, &b.own_key, &b.partner_key)));
    out
}

impl Changes {
    /// One line for the summary: `since 2026-11-24: 3 new overlaps, 1 gone, 2 moves`.
    pub fn line(&self) -> String {
        let mut s = format!(
            "since {}: {} new overlap{}, {} gone, {} partner population move{}, {} own population move{}",
            self.since,
            self.new_overlaps,
            if self.new_overlaps == 1 { "" } else { "s" },
            self.gone,
            self.partner_moves,
            if self.partner_moves == 1 { "" } else { "s" },
            self.own_moves,
            if self.own_moves == 1 { "" } else { "s" },
        );
        if self.not_followed > 0 {
            s.push_str(&format!(
                "; {} earlier row(s) without a record id could not be followed",
                self.not_followed
            ));
        }
        s
    }

    /// The counts and the line, as summary.json and `--json` give them.
    pub fn summary_json(&self) -> serde_json::Value {
        serde_json::json!({
            "since": self.since,
            "line": self.line(),
            "new_overlaps": self.new_overlaps,
            "gone": self.gone,
            "partner_moves": self.partner_moves,
            "own_moves": self.own_moves,
            "not_followed": self.not_followed,
        })
    }

    /// Writes changes.csv.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::config(format!("writing {}: {e}", path.display()));
        w.write_record([
            "change",
            "own_key",
            "own_name",
            "own_population_before",
            "own_population_now",
            "partner_account",
            "partner_name",
            "partner_population_before",
            "partner_population_now",
        ])
        .map_err(err)?;
        for c in &self.rows {
            w.write_record([
                c.kind.as_str(),
                &c.own_key,
                &crate::report::spreadsheet_safe(&c.own_name),
                &c.own_population_before,
                &c.own_population_now,
                &crate::report::spreadsheet_safe(&c.partner_key),
                &crate::report::spreadsheet_safe(&c.partner_name),
                &c.partner_population_before,
                &c.partner_population_now,
            ])
            .map_err(err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::config(format!("writing {}: {e}", path.display())))?;
        crate::files::write_atomic(path, &bytes, false).map_err(io(path))
    }
}

/// One own account across partners: which partners have it, in which of their populations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountAcrossPartners {
    /// The history key (`id:...` or `keys:...`).
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its population in the latest session that matched it.
    pub population: String,
    /// Partner name and the partner populations it is in there.
    pub partners: Vec<(String, Vec<String>)>,
}

/// The co-selling view over every partner's latest session: each own account that any
/// partner has, with the partners and their populations, most shared first.
pub fn accounts_across(latest: &[SessionRecord]) -> Vec<AccountAcrossPartners> {
    let mut by_key: BTreeMap<&str, AccountAcrossPartners> = BTreeMap::new();
    for record in latest {
        for a in &record.accounts {
            let entry = by_key.entry(a.key.as_str()).or_insert_with(|| AccountAcrossPartners {
                key: a.key.clone(),
                name: a.name.clone(),
                population: a.population.clone(),
                partners: Vec::new(),
            });
            let mut pops: Vec<String> = a.partners.iter().map(|p| p.population.clone()).collect();
            pops.sort();
            pops.dedup();
            entry.partners.push((record.partner.clone(), pops));
        }
    }
    let mut out: Vec<AccountAcrossPartners> = by_key.into_values().collect();
    out.sort_by(|a, b| b.partners.len().cmp(&a.partners.len()).then(a.key.cmp(&b.key)));
    out
}

/// Writes accounts.csv: key, name, population, partner count, and `Partner: population`
/// for each partner.
pub fn write_accounts_csv(path: &Path, accounts: &[AccountAcrossPartners]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::config(format!("writing {}: {e}", path.display()));
    w.write_record(["own_key", "own_name", "own_population", "partner_count", "partners"])
        .map_err(err)?;
    for a in accounts {
        let partners: Vec<String> = a
            .partners
            .iter()
            .map(|(p, pops)| format!("{p}: {}", pops.join(", ")))
            .collect();
        w.write_record([
            a.key.as_str(),
            &crate::report::spreadsheet_safe(&a.name),
            &a.population,
            &a.partners.len().to_string(),
            &crate::report::spreadsheet_safe(&partners.join("; ")),
        ])
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::config(format!("writing {}: {e}", path.display())))?;
    crate::files::write_atomic(path, &bytes, false).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_date(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_date(1_796_168_400), "2026-12-01T23:40:00Z");
    }

    #[test]
    fn slugs_name_folders_safely() {
        assert_eq!(slug("Globex Corp."), "globex-corp");
        assert_eq!(slug("../../etc"), "etc");
        assert_eq!(slug("  "), "partner");
    }
}

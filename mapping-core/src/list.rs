//! A prepared list: every accepted account of a CRM export with its keys, packed, and the
//! way back to its full records.
//!
//! [`PreparedList::build`] prepares a dataset already in memory and keeps every record;
//! [`PreparedList::stream`] reads a file row by row, keeps only the packed
//! [`KeyedAccounts`] (about 100 bytes an account) and reads the few records a report or a
//! shared record needs again from the file, refusing a file that changed since.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use hashbrown::HashMap;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ingest::{self, Account, ColumnMap, Dataset, IngestOptions, Reject};
use crate::keys::{attributes, derive, Attributes, KeyConfig, KeyType, MatchKey};
use crate::normalize::{normalize_account, NormalizedAccount};

/// Every accepted account of a list as the protocol needs it, packed: row number,
/// population and keys (the bytes hashed to the group), about 100 bytes per account where
/// full records take well over a kilobyte. This is what stays in memory for a whole list;
/// full records are read again for the few accounts a report needs
/// ([`PreparedList::details`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyedAccounts {
    labels: Vec<String>,
    population: Vec<u32>,
    rows: Vec<u64>,
    /// End of each account's keys in `bytes` (the start is the previous end).
    ends: Vec<u64>,
    /// Per key: its length (one byte under 255, else 255 and four bytes little-endian), then
    /// the key's bytes: type tag and UTF-8 value.
    bytes: Vec<u8>,
    /// Per account, what the pair round compares ([`Attributes`]): a flags byte (1 domain,
    /// 2 country, 4 brand, 8 several domains), the two country letters, the brand's length and bytes.
    attrs: Vec<u8>,
    /// End of each account's attributes in `attrs`.
    attr_ends: Vec<u64>,
}

impl KeyedAccounts {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an account (its data row, population label and keys); returns its index.
    ///
    /// ```
    /// use mapping_core::keys::{KeyType, MatchKey};
    /// use mapping_core::list::KeyedAccounts;
    /// let mut k = KeyedAccounts::new();
    /// let key = MatchKey { kind: KeyType::Domain, value: "acme.com".into() };
    /// assert_eq!(k.push(7, "Customers", std::slice::from_ref(&key)), 0);
    /// assert_eq!((k.row(0), k.population(0)), (7, "Customers"));
    /// assert_eq!(k.match_keys(0), vec![key]);
    /// ```
    pub fn push(&mut self, row: u64, population: &str, keys: &[MatchKey]) -> usize {
        self.push_with(row, population, keys, &Attributes::default())
    }

    /// [`KeyedAccounts::push`] with the attributes the pair round compares.
    ///
    /// ```
    /// use mapping_core::keys::{Attributes, KeyType, MatchKey};
    /// use mapping_core::list::KeyedAccounts;
    /// let mut k = KeyedAccounts::new();
    /// let a = Attributes { domain: true, several_domains: true, country: Some("GB".into()), brand: Some("acme".into()) };
    /// k.push_with(1, "Customers", &[], &a);
    /// k.push(2, "Customers", &[]);
    /// assert_eq!(k.attributes(0), a);
    /// assert_eq!(k.attributes(1), Attributes::default());
    /// ```
    pub fn push_with(&mut self, row: u64, population: &str, keys: &[MatchKey], attributes: &Attributes) -> usize {
        // A country is two letters and a DNS label at most 63 bytes; anything else is not
        // stored (and so compares as absent).
        let country = attributes.country.as_deref().filter(|c| c.len() == 2);
        let brand = attributes.brand.as_deref().filter(|b| !b.is_empty() && b.len() < 256);
        let flags = u8::from(attributes.domain)
            | u8::from(country.is_some()) << 1
            | u8::from(brand.is_some()) << 2
            | u8::from(attributes.several_domains) << 3;
        self.attrs.push(flags);
        if let Some(c) = country {
            self.attrs.extend_from_slice(c.as_bytes());
        }
        if let Some(b) = brand {
            self.attrs.push(b.len() as u8);
            self.attrs.extend_from_slice(b.as_bytes());
        }
        self.attr_ends.push(self.attrs.len() as u64);
        let pop = match self.labels.iter().rposition(|l| l == population) {
            Some(i) => i,
            None => {
                self.labels.push(population.to_owned());
                self.labels.len() - 1
            }
        };
        for k in keys {
            let len = 1 + k.value.len();
            match u8::try_from(len) {
                Ok(b) if b < 255 => self.bytes.push(b),
                _ => {
                    self.bytes.push(255);
                    self.bytes.extend_from_slice(&(len as u32).to_le_bytes());
                }
            }
            self.bytes.push(k.kind.tag());
            self.bytes.extend_from_slice(k.value.as_bytes());
        }
        self.population.push(pop as u32);
        self.rows.push(row);
        self.ends.push(self.bytes.len() as u64);
        self.rows.len() - 1
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The data row of account `i` in its file.
    pub fn row(&self, i: usize) -> u64 {
        self.rows[i]
    }

    /// The population label of account `i`.
    pub fn population(&self, i: usize) -> &str {
        &self.labels[self.population[i] as usize]
    }

    /// Index of account `i`'s population in [`KeyedAccounts::labels`].
    pub fn population_index(&self, i: usize) -> usize {
        self.population[i] as usize
    }

    /// The population labels, in order of first appearance.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Each population label with its number of accounts, in [`KeyedAccounts::labels`] order.
    pub fn population_sizes(&self) -> impl Iterator<Item = (&str, u64)> {
        let mut sizes = vec![0u64; self.labels.len()];
        for &p in &self.population {
            sizes[p as usize] += 1;
        }
        self.labels.iter().map(String::as_str).zip(sizes)
    }

    /// The keys of account `i` as the bytes hashed to the group (type tag, then value).
    pub fn keys(&self, i: usize) -> KeyBytes<'_> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        KeyBytes {
            rest: &self.bytes[start..self.ends[i] as usize],
        }
    }

    /// What the pair round compares of account `i`.
    pub fn attributes(&self, i: usize) -> Attributes {
        let start = if i == 0 { 0 } else { self.attr_ends[i - 1] as usize };
        let bytes = &self.attrs[start..self.attr_ends[i] as usize];
        let flags = bytes.first().copied().unwrap_or(0);
        let mut rest = bytes.get(1..).unwrap_or_default();
        let country = (flags & 2 != 0).then(|| {
            let (c, tail) = rest.split_at(2.min(rest.len()));
            rest = tail;
            String::from_utf8_lossy(c).into_owned()
        });
        let brand = (flags & 4 != 0).then(|| String::from_utf8_lossy(rest.get(1..).unwrap_or_default()).into_owned());
        Attributes {
            domain: flags & 1 != 0,
            several_domains: flags & 8 != 0,
            country,
            brand,
        }
    }

    /// The keys of account `i` as [`MatchKey`]s.
    pub fn match_keys(&self, i: usize) -> Vec<MatchKey> {
        self.keys(i)
            .filter_map(|b| {
                Some(MatchKey {
                    kind: KeyType::from_tag(*b.first()?)?,
                    value: String::from_utf8_lossy(&b[1..]).into_owned(),
                })
            })
            .collect()
    }

    /// Bytes held, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
            + self.ends.capacity() * 8
            + self.rows.capacity() * 8
            + self.population.capacity() * 4
            + self.attrs.capacity()
            + self.attr_ends.capacity() * 8
    }

    fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.rows.shrink_to_fit();
        self.population.shrink_to_fit();
        self.attrs.shrink_to_fit();
        self.attr_ends.shrink_to_fit();
    }
}

/// The keys of one account in a [`KeyedAccounts`], as byte strings.
#[derive(Debug, Clone)]
pub struct KeyBytes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for KeyBytes<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&first, tail) = self.rest.split_first()?;
        let (len, tail) = if first < 255 {
            (usize::from(first), tail)
        } else {
            let (len, tail) = tail.split_at_checked(4)?;
            (u32::from_le_bytes(len.try_into().ok()?) as usize, tail)
        };
        let (key, tail) = tail.split_at_checked(len)?;
        self.rest = tail;
        Some(key)
    }
}

/// One accepted account with its normalized values and keys.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PreparedAccount {
    /// The row as read.
    pub account: Account,
    /// Its normalized identifiers.
    pub normalized: NormalizedAccount,
    /// Its match keys (at least one).
    pub keys: Vec<MatchKey>,
}

/// Normalizes one account and derives its keys; an account without keys is a reject.
fn prepare_account(account: Account, config: &KeyConfig) -> (std::result::Result<PreparedAccount, Reject>, usize) {
    let normalized = normalize_account(&account);
    let (keys, dropped) = derive(&normalized, config);
    if !keys.is_empty() {
        return (
            Ok(PreparedAccount {
                account,
                normalized,
                keys,
            }),
            dropped,
        );
    }
    let mut reason = String::from("no usable match key");
    for issue in &normalized.issues {
        reason.push_str(&format!("; {} {:?}: {}", issue.field, issue.value, issue.reason));
    }
    if normalized.issues.is_empty() {
        reason.push_str("; the enabled key types need values this row does not have");
    }
    let reject = Reject::new(account.row, account.line, reason).identified(
        account.record_id.as_deref().unwrap_or_default(),
        account.name.as_deref().unwrap_or_default(),
    );
    (Err(reject), dropped)
}

/// The error for a streamed list whose file changed since it was read.
fn changed_error(origin: &Origin) -> Error {
    Error::config(format!(
        "{} changed since it was read; run again",
        origin.path.display()
    ))
}

/// Where a streamed list came from, to read its records again.
#[derive(Debug, Clone)]
struct Origin {
    path: std::path::PathBuf,
    options: IngestOptions,
    /// File size and modification time when read.
    stamp: Option<(u64, std::time::SystemTime)>,
    /// Each accepted account's record id, packed (`id_ends[i]` is where id `i` ends):
    /// `crm_import.csv` lists every account, and reading the whole file again only for its
    /// ids took half the report's time at 1M rows.
    ids: String,
    id_ends: Vec<u64>,
}

impl Origin {
    fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.id_ends[i - 1] as usize };
        self.ids.get(start..self.id_ends[i] as usize).unwrap_or_default()
    }
}

fn file_stamp(path: &std::path::Path) -> Option<(u64, std::time::SystemTime)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// A whole list after ingest, normalization and key derivation: every row read is an
/// accepted account (it has at least one key) or in `rejects` (with the reasons).
///
/// Built two ways: [`PreparedList::build`] keeps every full record in `accounts` (for a
/// dataset already in memory); [`PreparedList::stream`] reads a file row by row and keeps
/// only the packed [`KeyedAccounts`] (about 100 bytes an account), reading full records
/// again for the accounts a report needs. Either way `keyed` holds every accepted account
/// and account indices mean the same thing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PreparedList {
    /// File name or label.
    pub source: String,
    /// Header as read.
    pub headers: Vec<String>,
    /// Column layout used.
    pub columns: ColumnMap,
    /// Columns kept for reports.
    pub extra_columns: Vec<String>,
    /// Every accepted account: row, population and keys, packed.
    #[serde(skip)]
    pub keyed: KeyedAccounts,
    /// Full records of the accepted accounts, aligned with `keyed`: all of them for a list
    /// from [`PreparedList::build`], none for a streamed list.
    pub accounts: Vec<PreparedAccount>,
    /// Rows rejected at ingest or for lack of any usable key, in row order.
    pub rejects: Vec<Reject>,
    /// File-level warnings.
    pub warnings: Vec<String>,
    /// Data rows read.
    pub rows_read: u64,
    /// The field delimiter used.
    pub delimiter: char,
    /// Keys dropped because an account had more keys than slots.
    pub keys_dropped: u64,
    /// The key configuration used.
    #[serde(skip)]
    pub config: KeyConfig,
    #[serde(skip)]
    origin: Option<Origin>,
}

/// Accounts normalized per parallel batch while streaming.
const STREAM_BATCH: usize = 1 << 14;

impl PreparedList {
    /// Normalizes every account of a dataset and derives its keys, in parallel on the
    /// current rayon pool, keeping every full record. Accounts with no usable key become
    /// rejects naming each value's problem.
    pub fn build(dataset: Dataset, config: &KeyConfig) -> PreparedList {
        let results: Vec<_> = dataset
            .accounts
            .into_par_iter()
            .map(|account| prepare_account(account, config))
            .collect();
        let mut list = PreparedList::empty(
            Dataset {
                accounts: Vec::new(),
                ..dataset
            },
            config,
        );
        list.accounts.reserve(results.len());
        for (result, dropped) in results {
            list.keys_dropped += dropped as u64;
            match result {
                Ok(a) => {
                    list.keyed.push_with(
                        a.account.row,
                        a.account.population.label(),
                        &a.keys,
                        &attributes(&a.normalized),
                    );
                    list.accounts.push(a);
                }
                Err(r) => list.rejects.push(r),
            }
        }
        list.rejects.sort_by_key(|r| r.row);
        list
    }

    /// Reads a CRM export row by row, normalizing in parallel batches on the current rayon
    /// pool, and keeps only the packed keys of each account (`accounts` stays empty): the
    /// way to prepare a list of millions of rows. Full records are read again from `path`
    /// when [`PreparedList::details`] asks for them.
    pub fn stream(path: &std::path::Path, options: &IngestOptions, config: &KeyConfig) -> Result<PreparedList> {
        let stamp = file_stamp(path);
        let mut keyed = KeyedAccounts::new();
        let mut rejects = Vec::new();
        let mut dropped_total = 0u64;
        let mut batch: Vec<Account> = Vec::with_capacity(STREAM_BATCH);
        let (mut ids, mut id_ends) = (String::new(), Vec::new());
        let mut flush = |batch: &mut Vec<Account>, keyed: &mut KeyedAccounts, rejects: &mut Vec<Reject>| {
            let results: Vec<_> = batch
                .par_drain(..)
                .map(|account| {
                    let (result, dropped) = prepare_account(account, config);
                    // Only what is kept leaves the worker: the full record is dropped here.
                    let result = result.map(|a| {
                        let attrs = attributes(&a.normalized);
                        (a.account.row, a.account.population, a.keys, a.account.record_id, attrs)
                    });
                    (result, dropped)
                })
                .collect();
            for (result, dropped) in results {
                dropped_total += dropped as u64;
                match result {
                    Ok((row, population, keys, id, attrs)) => {
                        keyed.push_with(row, population.label(), &keys, &attrs);
                        ids.push_str(id.as_deref().unwrap_or_default());
                        id_ends.push(ids.len() as u64);
                    }
                    Err(r) => rejects.push(r),
                }
            }
        };
        let dataset = ingest::read_path_each(path, options, |account| {
            batch.push(account);
            if batch.len() == STREAM_BATCH {
                flush(&mut batch, &mut keyed, &mut rejects);
            }
        })?;
        flush(&mut batch, &mut keyed, &mut rejects);
        keyed.shrink_to_fit();
        let mut list = PreparedList::empty(dataset, config);
        list.keyed = keyed;
        list.rejects.extend(rejects);
        list.rejects.sort_by_key(|r| r.row);
        list.keys_dropped = dropped_total;
        ids.shrink_to_fit();
        id_ends.shrink_to_fit();
        list.origin = Some(Origin {
            path: path.to_owned(),
            options: options.clone(),
            stamp,
            ids,
            id_ends,
        });
        Ok(list)
    }

    fn empty(dataset: Dataset, config: &KeyConfig) -> PreparedList {
        PreparedList {
            source: dataset.source,
            headers: dataset.headers,
            columns: dataset.columns,
            extra_columns: dataset.extra_columns,
            keyed: KeyedAccounts::new(),
            accounts: Vec::new(),
            rejects: dataset.rejects,
            warnings: dataset.warnings,
            rows_read: dataset.rows_read,
            delimiter: dataset.delimiter,
            keys_dropped: 0,
            config: config.clone(),
            origin: None,
        }
    }

    /// Number of accepted accounts.
    pub fn len(&self) -> usize {
        self.keyed.len()
    }

    /// Whether no account was accepted.
    pub fn is_empty(&self) -> bool {
        self.keyed.is_empty()
    }

    /// Whether full records are kept in memory (else they are read again on demand).
    pub fn keeps_records(&self) -> bool {
        self.accounts.len() == self.keyed.len()
    }

    /// Full records of the accounts `wanted` (indices into `keyed`), in a map: borrowed
    /// when kept, read again from the file for a streamed list (see
    /// [`PreparedList::for_each_detail`], which holds only a batch at a time).
    pub fn details(&self, wanted: &BTreeSet<usize>) -> Result<BTreeMap<usize, Cow<'_, PreparedAccount>>> {
        let mut out = BTreeMap::new();
        if self.keeps_records() {
            self.check_indices(wanted)?;
            out.extend(wanted.iter().map(|&i| (i, Cow::Borrowed(&self.accounts[i]))));
            return Ok(out);
        }
        self.for_each_detail(wanted, |i, a| {
            out.insert(i, Cow::Owned(a.clone()));
        })?;
        Ok(out)
    }

    /// Calls `f(index, record id)` for every accepted account, in file order (the id is
    /// empty where the row has none). A streamed list keeps the ids from its one read.
    pub fn for_each_record_id(&self, mut f: impl FnMut(usize, &str)) -> Result<()> {
        if self.keeps_records() {
            for (i, a) in self.accounts.iter().enumerate() {
                f(i, a.account.record_id.as_deref().unwrap_or_default());
            }
            return Ok(());
        }
        let Some(origin) = &self.origin else {
            return Err(Error::config(
                "this list keeps no records and has no file to read them from",
            ));
        };
        for i in 0..self.keyed.len() {
            f(i, origin.id(i));
        }
        Ok(())
    }

    /// The file a streamed list was read from, refusing one that changed since.
    fn unchanged_origin(&self) -> Result<&Origin> {
        let Some(origin) = &self.origin else {
            return Err(Error::config(
                "this list keeps no records and has no file to read them from",
            ));
        };
        if file_stamp(&origin.path) != origin.stamp {
            return Err(changed_error(origin));
        }
        Ok(origin)
    }

    fn check_indices(&self, wanted: &BTreeSet<usize>) -> Result<()> {
        match wanted.iter().find(|i| **i >= self.keyed.len()) {
            Some(i) => Err(Error::config(format!("account {i} is not in this list"))),
            None => Ok(()),
        }
    }

    /// Calls `f` with the full record of each account in `wanted` (indices into `keyed`), in
    /// index order. A streamed list reads its file again, building only the wanted rows and
    /// normalizing them in parallel batches, so memory holds one batch. A file that changed
    /// since it was read (size, time, a missing row, or a row whose keys differ) is an error,
    /// never a wrong record.
    pub fn for_each_detail(&self, wanted: &BTreeSet<usize>, mut f: impl FnMut(usize, &PreparedAccount)) -> Result<()> {
        self.check_indices(wanted)?;
        if self.keeps_records() {
            wanted.iter().for_each(|&i| f(i, &self.accounts[i]));
            return Ok(());
        }
        let origin = self.unchanged_origin()?;
        let changed = || changed_error(origin);
        // Rows grow with the index, so the wanted rows come in index order.
        let by_row: HashMap<u64, usize> = wanted.iter().map(|&i| (self.keyed.row(i), i)).collect();
        let mut batch: Vec<(usize, Account)> = Vec::with_capacity(STREAM_BATCH);
        let mut seen = 0usize;
        let mut failed = false;
        let mut flush = |batch: &mut Vec<(usize, Account)>| {
            let done: Vec<Option<(usize, PreparedAccount)>> = batch
                .par_drain(..)
                .map(|(i, account)| match prepare_account(account, &self.config).0 {
                    Ok(a) if self.keyed.keys(i).eq(a.keys.iter().map(|k| k.to_bytes())) => Some((i, a)),
                    _ => None,
                })
                .collect();
            for d in done {
                match d {
                    Some((i, a)) => {
                        seen += 1;
                        f(i, &a);
                    }
                    None => failed = true,
                }
            }
        };
        ingest::read_path_rows(
            &origin.path,
            &origin.options,
            |row| by_row.contains_key(&row),
            |account| {
                if let Some(&i) = by_row.get(&account.row) {
                    batch.push((i, account));
                    if batch.len() == STREAM_BATCH {
                        flush(&mut batch);
                    }
                }
            },
        )?;
        flush(&mut batch);
        if failed || seen != by_row.len() {
            return Err(changed());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_keys_round_trip_any_length() {
        let mut store = KeyedAccounts::new();
        let long = MatchKey {
            kind: KeyType::Name,
            value: "ü".repeat(300),
        };
        let short = MatchKey {
            kind: KeyType::Domain,
            value: "acme.com".into(),
        };
        let edge = MatchKey {
            kind: KeyType::Name,
            value: "x".repeat(254),
        };
        store.push(4, "Customers", &[short.clone(), long.clone()]);
        store.push(9, "Prospects", &[]);
        store.push(11, "Customers", &[edge.clone(), short.clone()]);
        assert_eq!(store.len(), 3);
        assert_eq!(store.match_keys(0), [short.clone(), long.clone()]);
        assert!(store.match_keys(1).is_empty());
        assert_eq!(store.match_keys(2), [edge.clone(), short.clone()]);
        assert_eq!(store.keys(0).nth(1), Some(&long.to_bytes()[..]));
        assert_eq!(
            (store.row(2), store.population(2), store.population(1)),
            (11, "Customers", "Prospects")
        );
        assert_eq!(store.labels(), ["Customers", "Prospects"]);
    }
}

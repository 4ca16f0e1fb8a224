//! # mapping-core: privacy-preserving account mapping
//!
//! Two partner companies want to know which CRM accounts they share ("my customers that are
//! your open opportunities") without handing each other their lists, and without trusting a
//! third party with them. This crate is the engine: it turns a messy CRM export into typed
//! match keys and runs a private set intersection over them on ristretto255, so that each
//! side learns the overlap and nothing about the accounts that do not match.
//!
//! Data flows one way, one module per stage:
//!
//! ```text
//! CRM export --ingest--> Account --normalize--> NormalizedAccount --keys--> MatchKey
//! ```
//!
//! - [`ingest`]: CSV/TSV exports (Salesforce, HubSpot, spreadsheets) to [`Account`]s; every
//!   row accepted or rejected with a reason.
//! - [`normalize`]: domains (URL, e-mail, IDN, Public Suffix List) and names (Unicode, legal
//!   forms) to comparable values.
//! - [`keys`]: typed match keys with confidence tiers; [`PreparedList`] runs the three
//!   stages over a whole file.
//!
//! See `ARCHITECTURE.md` in the repository for the walk through the code.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod decide;
pub mod display;
mod error;
pub mod evaluate;
pub mod files;
pub mod generate;
pub mod ingest;
pub mod keys;
pub mod matching;
pub mod net;
pub mod normalize;
pub mod party;
pub mod policy;
pub mod psi;
pub mod report;

pub use error::{Error, ErrorKind, Result};
pub use ingest::{Account, ColumnOverride, Dataset, IngestOptions, Population, PopulationRules, Reject, Role};
pub use keys::{KeyConfig, KeyType, KeyedAccounts, MatchKey, PreparedAccount, PreparedList, Tier};
pub use normalize::{
    is_free_mail, normalize_country, normalize_domain, normalize_name, registrable_domain, DomainError, DomainSource,
    NormalizedAccount, NormalizedDomain,
};

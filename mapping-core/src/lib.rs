//! # mapping-core: privacy-preserving account mapping
//!
//! Two partner companies want to know which CRM accounts they share ("my customers that are
//! your open opportunities") without handing each other their lists, and without trusting a
//! third party with them. This crate is the engine: it turns a messy CRM export into typed
//! match keys and runs a private set intersection over them on ristretto255, so that each
//! side learns the overlap and nothing about the accounts that do not match; every value a
//! partner computes is proven, so a partner who writes its own messages gains nothing beyond
//! choosing its input.
//!
//! ## Start here: [`party::Party`]
//!
//! A [`party::Party`] is one side: a [`PreparedList`] (your export, read and keyed) and a
//! [`policy::SharingPolicy`] (what leaves your machine). It produces and consumes the
//! protocol's four messages as bytes, over any transport, and yields a
//! [`matching::Mapping`]: decided pairs, review candidates, counts, and what you disclosed.
//! [`report::Report`] turns a mapping into `report.html`, `matches.csv` and the rest;
//! [`net::run_session`] runs a whole session over any byte stream (a TCP socket, a pipe).
//! The repository's `examples/` show both: `two_parties.rs` (a live session over an
//! in-memory pipe) and `blocking_service.rs` (a service that maps on a worker thread).
//!
//! ## The pipeline
//!
//! Data flows one way, one module per stage:
//!
//! ```text
//! CRM export --ingest--> Account --normalize--> NormalizedAccount --keys--> MatchKey
//!   --psi--> PsiResult --decide--> Decision --matching--> Mapping --report--> files
//! ```
//!
//! - [`ingest`]: CSV/TSV exports (Salesforce, HubSpot, Pipedrive, Dynamics 365, Zoho,
//!   spreadsheets) to [`Account`]s; every row accepted or rejected with a reason.
//! - [`normalize`]: domains (URL, e-mail, IDN, Public Suffix List, free-mail) and names
//!   (Unicode, legal forms) to comparable values.
//! - [`keys`]: typed match keys; [`PreparedList`] runs the three stages over a whole file.
//! - [`psi`]: the private set intersection with its proofs, and the wire format.
//! - [`decide`]: the scored rule that turns equal keys into match, review or no match.
//! - [`matching`], [`report`]: pairs, counts, and the files a partner manager reads.
//!
//! See `ARCHITECTURE.md` in the repository for the walk through the code, and `docs/` for
//! the protocol, the matching rules and their measured quality.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod compare;
pub mod decide;
pub mod display;
mod error;
pub mod evaluate;
pub mod files;
pub mod generate;
pub mod history;
pub mod ingest;
pub mod keys;
pub mod list;
pub mod matching;
pub mod net;
pub mod normalize;
pub mod party;
pub mod policy;
pub mod psi;
pub mod report;

pub use error::{Error, ErrorKind, Result};
pub use ingest::{Account, ColumnOverride, Dataset, IngestOptions, Population, PopulationRules, Reject, Role};
pub use keys::{KeyConfig, KeyType, MatchKey, Tier};
pub use list::{KeyedAccounts, PreparedAccount, PreparedList};
pub use normalize::{
    is_free_mail, normalize_country, normalize_domain, normalize_name, registrable_domain, DomainError, DomainSource,
    NormalizedAccount, NormalizedDomain,
};

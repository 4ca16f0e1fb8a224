//! Sharing policy: what this side lets the partner learn, per own population. Each side
//! enforces its own policy before anything leaves its machine; the partner's policy limits
//! what comes back, so the effective sharing is what both allow.
//!
//! | share | the partner learns |
//! |---|---|
//! | `hidden` | nothing: the population is left out of the session, not even its size is sent |
//! | `counts` | population size and overlap counts (candidate pairs per population cell) |
//! | `overlaps` | which of its accounts match ours, and the listed fields of our matched accounts |
//!
//! Modes mix within one session: a cell of the population matrix shows pairs only where
//! both sides share their population with its overlaps; every other cell is a count. The
//! counted populations run in a second, counts-only sub-session with independent keys and
//! shuffles (see `crate::party`), so their pairs cannot be linked, not merely hidden in the
//! report. The default is safe: every
//! population `overlaps`, sharing only what identifies a matched account (`row`,
//! `record_id`, `name`, `domain`); never owner, amount or other columns unless listed.
//!
//! ```toml
//! max_peer_accounts = 500000        # set-size guard (default 1,000,000)
//! max_pair_factor = 64               # matched slot pairs per account of the smaller list (default 64)
//! [default]
//! share = "overlaps"
//! fields = ["row", "record_id", "name", "domain"]
//! [population."Customers"]
//! fields = ["row", "record_id", "name", "domain", "owner"]
//! [population."Prospects"]
//! share = "counts"
//! [population."Former Customer"]
//! share = "hidden"
//! ```

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::list::PreparedAccount;

/// How much of one population is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Share {
    /// Left out of the session.
    Hidden,
    /// Sizes and overlap counts only.
    Counts,
    /// Matching accounts and the listed fields.
    Overlaps,
}

/// Fields that can be shared for a matched account.
pub const FIELDS: &[&str] = &[
    "row",
    "record_id",
    "name",
    "domain",
    "country",
    "owner",
    "amount",
    "status",
];

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    share: Option<Share>,
    fields: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    max_peer_accounts: Option<u64>,
    max_pair_factor: Option<u64>,
    default: Option<RuleFile>,
    #[serde(default)]
    population: BTreeMap<String, RuleFile>,
}

/// One population's rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// How much is shared.
    pub share: Share,
    /// Fields shared for matched accounts (with `overlaps`); extra columns as `column:NAME`.
    pub fields: Vec<String>,
}

/// A side's sharing policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SharingPolicy {
    /// The largest partner set accepted.
    pub max_peer_accounts: u64,
    /// Matched slot pairs accepted per account of the smaller list and slot (see
    /// [`crate::psi::PsiConfig::max_pair_factor`]).
    pub max_pair_factor: u64,
    /// Rule for populations without their own.
    pub default: Rule,
    /// Rules per population label.
    pub populations: BTreeMap<String, Rule>,
}

impl Default for SharingPolicy {
    fn default() -> Self {
        Self {
            max_peer_accounts: 1_000_000,
            max_pair_factor: 64,
            default: Rule {
                share: Share::Overlaps,
                fields: ["row", "record_id", "name", "domain"].map(String::from).to_vec(),
            },
            populations: BTreeMap::new(),
        }
    }
}

impl SharingPolicy {
    /// Parses a policy from TOML text; `source` names it in errors.
    ///
    /// ```
    /// use mapping_core::policy::{SharingPolicy, Share};
    /// let p = SharingPolicy::from_toml("[population.Prospects]\nshare = \"counts\"\n", "p.toml").unwrap();
    /// assert_eq!(p.rule("Prospects").share, Share::Counts);
    /// assert_eq!(p.rule("Customers").share, Share::Overlaps);
    /// assert!(SharingPolicy::from_toml("[default]\nfields = [\"salary\"]\n", "p.toml").is_err());
    /// ```
    pub fn from_toml(text: &str, source: &str) -> Result<Self> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| Error::config(format!("{source}: invalid sharing policy: {e}")))?;
        let mut policy = SharingPolicy::default();
        if let Some(max) = file.max_peer_accounts {
            policy.max_peer_accounts = max;
        }
        if let Some(factor) = file.max_pair_factor {
            policy.max_pair_factor = factor.max(1);
        }
        let check = |fields: &[String]| -> Result<()> {
            for f in fields {
                if !FIELDS.contains(&f.as_str()) && !f.starts_with("column:") {
                    return Err(Error::config(format!(
                        "{source}: unknown field {f:?}; fields are {} or column:HEADER",
                        FIELDS.join(", ")
                    )));
                }
            }
            Ok(())
        };
        if let Some(d) = file.default {
            if let Some(s) = d.share {
                policy.default.share = s;
            }
            if let Some(f) = d.fields {
                check(&f)?;
                policy.default.fields = f;
            }
        }
        for (label, r) in file.population {
            let fields = r.fields.unwrap_or_else(|| policy.default.fields.clone());
            check(&fields)?;
            policy.populations.insert(
                label,
                Rule {
                    share: r.share.unwrap_or(policy.default.share),
                    fields,
                },
            );
        }
        Ok(policy)
    }

    /// Reads a policy file.
    pub fn from_path(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(Some(path.to_owned()), e))?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The rule for a population label.
    pub fn rule(&self, population: &str) -> &Rule {
        self.populations.get(population).unwrap_or(&self.default)
    }

    /// The values of one matched account that this policy shares, in field order.
    pub fn shared_fields(&self, account: &PreparedAccount, extra_columns: &[String]) -> Vec<(String, String)> {
        let a = &account.account;
        let rule = self.rule(a.population.label());
        if rule.share != Share::Overlaps {
            return Vec::new();
        }
        rule.fields
            .iter()
            .map(|f| {
                let value = match f.as_str() {
                    "row" => a.row.to_string(),
                    "record_id" => a.record_id.clone().unwrap_or_default(),
                    "name" => a.name.clone().unwrap_or_default(),
                    "domain" => account.normalized.domain_list(),
                    "country" => account.normalized.country.unwrap_or_default().to_owned(),
                    "owner" => a.owner.clone().unwrap_or_default(),
                    "amount" => a.amount.map(|v| v.to_string()).unwrap_or_default(),
                    "status" => a.status.clone().unwrap_or_default(),
                    other => {
                        let col = other.trim_start_matches("column:");
                        extra_columns
                            .iter()
                            .position(|c| c.eq_ignore_ascii_case(col))
                            .and_then(|i| a.extra.get(i).cloned())
                            .unwrap_or_default()
                    }
                };
                (f.clone(), value)
            })
            .collect()
    }
}

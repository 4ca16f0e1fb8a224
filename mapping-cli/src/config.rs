//! `--config FILE`: the input settings a partner-ops user keeps for a CRM export, so that a
//! monthly mapping is one short command.
//!
//! ```toml
//! delimiter = ";"
//! keys = "domain,brand_name,name_country,name"
//! slots = 4
//! [columns]
//! name = "Organisation"
//! website = ["Web", "Domain"]
//! [populations]
//! Churned = ["former customer", "lost"]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

/// One header or several.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The file's contents.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub delimiter: Option<String>,
    pub keys: Option<String>,
    pub slots: Option<usize>,
    #[serde(default)]
    pub columns: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    pub populations: BTreeMap<String, Vec<String>>,
}

impl ConfigFile {
    pub fn read(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{}: invalid configuration", path.display()))
    }

    /// `role=Header` specs, in the form `--column` takes.
    pub fn column_specs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (role, headers) in &self.columns {
            match headers {
                OneOrMany::One(h) => out.push(format!("{role}={h}")),
                OneOrMany::Many(hs) => out.extend(hs.iter().map(|h| format!("{role}={h}"))),
            }
        }
        out
    }

    /// `Label=v1,v2` specs, in the form `--population` takes.
    pub fn population_specs(&self) -> Vec<String> {
        self.populations
            .iter()
            .map(|(label, values)| format!("{label}={}", values.join(",")))
            .collect()
    }
}

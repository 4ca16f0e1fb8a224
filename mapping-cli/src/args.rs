//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mapping_core::{ColumnOverride, IngestOptions, KeyConfig, PopulationRules};

/// Map the CRM accounts you share with a partner, without sharing your lists.
#[derive(Debug, Parser)]
#[command(name = "acctmap", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what the engine makes of a CRM export: normalized domains, names, populations,
    /// match keys, and rejected rows with reasons.
    Normalize(NormalizeArgs),
    /// Write two synthetic CRM exports with a known overlap (a.csv, b.csv, truth.csv).
    Generate(GenerateArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// How to read a CRM export and which keys to derive.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Assign a column to a role, overriding detection: ROLE=HEADER, roles record_id, name,
    /// website, email, country, status, owner, amount (repeatable).
    #[arg(long = "column", value_name = "ROLE=HEADER")]
    pub columns: Vec<String>,
    /// Field delimiter (detected when absent): ',', ';', 'tab', '|'.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Custom population rule LABEL=value1,value2 (status values; repeatable).
    #[arg(long = "population", value_name = "LABEL=VALUES")]
    pub populations: Vec<String>,
    /// Key types to derive, in priority order.
    #[arg(long, default_value = "domain,brand_name,name_country,name")]
    pub keys: String,
    /// Slots per account (K): every account sends exactly this many values.
    #[arg(long, default_value_t = 4)]
    pub slots: usize,
}

impl InputArgs {
    pub fn ingest_options(&self) -> anyhow::Result<IngestOptions> {
        let mut opts = IngestOptions::new();
        if let Some(d) = &self.delimiter {
            let byte = match d.as_str() {
                "tab" | "\\t" | "\t" => b'\t',
                s if s.len() == 1 && s.is_ascii() => s.as_bytes()[0],
                s => anyhow::bail!("--delimiter {s:?}: give one ASCII character or 'tab'"),
            };
            opts = opts.delimiter(byte);
        }
        for spec in &self.columns {
            opts = opts.column(ColumnOverride::parse(spec)?);
        }
        Ok(opts.populations(PopulationRules::parse(&self.populations)?))
    }

    pub fn key_config(&self) -> anyhow::Result<KeyConfig> {
        Ok(KeyConfig::new().with_types(&self.keys)?.with_slots(self.slots)?)
    }
}

#[derive(Debug, Args)]
pub struct NormalizeArgs {
    /// The CRM export (CSV or TSV).
    pub file: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Show at most this many accepted rows (all by default).
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Data rows per file.
    #[arg(long)]
    pub rows: u64,
    /// Fraction of companies present on both sides.
    #[arg(long, default_value_t = 0.2)]
    pub overlap: f64,
    /// Seed; equal seeds give identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

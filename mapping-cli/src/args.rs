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
    /// Map two lists held on this machine: runs the real private protocol between two
    /// in-process parties and writes the report of the first list's side.
    Overlap(OverlapArgs),
    /// File exchange, step 1 (initiator): blind your keys into a message for the partner.
    Start(StartArgs),
    /// File exchange, step 2 (responder): answer the partner's step-1 message.
    Respond(RespondArgs),
    /// File exchange, steps 3 to 5 (the initiator's 3 and 5, the responder's 4): read the
    /// partner's message, write the next one (`finish` is another name for it).
    #[command(alias = "finish")]
    Continue(ContinueArgs),
    /// File exchange, last step (both sides): read the partner's last message (step 5 for
    /// the responder, who writes step 6; step 6 for the initiator), write the report, delete
    /// the session state.
    Complete(CompleteArgs),
    /// Show exactly what a protocol message discloses, before you send it.
    Inspect(InspectArgs),
    /// Live session: wait for one partner to connect (prints a pairing code to read out).
    Serve(ServeArgs),
    /// Live session: connect to a partner who runs `acctmap serve`.
    Connect(ConnectArgs),
    /// Benchmark the whole two-party mapping on generated lists, stage by stage, against the
    /// raw limit of the curve primitives on this machine.
    Bench(BenchArgs),
    /// Score a matches.csv against ground truth: precision, recall and F1, recall per
    /// difficulty class, precision per confidence tier, false pairs by cause.
    Eval(EvalArgs),
    /// Every partner in the history with its last session, and accounts.csv: for each of your
    /// accounts, which partners have it and in which of their populations.
    Partners(PartnersArgs),
    /// Print a shell completion script (`acctmap completions bash > /etc/bash_completion.d/acctmap`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output (`acctmap man > acctmap.1`).
    Man,
}

#[derive(Debug, Args)]
pub struct PartnersArgs {
    /// The history directory [default: acctmap/history under your data directory].
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// Where to write accounts.csv.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The mapping's matches.csv (from `overlap` or `complete`).
    pub matches: PathBuf,
    /// Ground truth: a CSV with a_row, b_row and optionally class.
    pub truth: PathBuf,
    /// Per-row annotations (side, row, group, tags), as the sets in eval/ carry them: give
    /// the false pairs' causes.
    #[arg(long)]
    pub rows: Option<PathBuf>,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// How to read a CRM export and which keys to derive.
#[derive(Debug, Clone, Args, serde::Serialize, serde::Deserialize)]
pub struct InputArgs {
    /// Input settings from a TOML file (columns, populations, delimiter, keys, slots; see
    /// docs/cli.md). Flags given on the command line take precedence.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// Key types of the first round, in priority order [default: domain,name]; also brand_name, name_country, name_presence, name_fuzzy.
    #[arg(long)]
    pub keys: Option<String>,
    /// Slots per account (K): every account sends exactly this many values [default: one per key type].
    #[arg(long)]
    pub slots: Option<usize>,
}

impl InputArgs {
    fn file(&self) -> anyhow::Result<crate::config::ConfigFile> {
        match &self.config {
            Some(path) => crate::config::ConfigFile::read(path),
            None => Ok(crate::config::ConfigFile::default()),
        }
    }

    pub fn ingest_options(&self) -> anyhow::Result<IngestOptions> {
        let file = self.file()?;
        let mut opts = IngestOptions::new();
        if let Some(d) = self.delimiter.as_ref().or(file.delimiter.as_ref()) {
            let byte = match d.as_str() {
                "tab" | "\\t" | "\t" => b'\t',
                s if s.len() == 1 && s.is_ascii() => s.as_bytes()[0],
                s => anyhow::bail!("delimiter {s:?}: give one ASCII character or 'tab'"),
            };
            opts = opts.delimiter(byte);
        }
        // The file's assignments first, then the command line's (which replace them per role).
        for spec in file.column_specs().iter().chain(&self.columns) {
            opts = opts.column(ColumnOverride::parse(spec)?);
        }
        // Command-line rules first: the first matching rule wins.
        let rules: Vec<String> = self
            .populations
            .iter()
            .cloned()
            .chain(file.population_specs())
            .collect();
        Ok(opts.populations(PopulationRules::parse(&rules)?))
    }

    pub fn key_config(&self) -> anyhow::Result<KeyConfig> {
        let file = self.file()?;
        key_config(self.keys.as_deref().or(file.keys.as_deref()), self.slots.or(file.slots))
    }
}

/// The key types named (the default set when none are), in `slots` slots (one per key type
/// unless told otherwise).
pub fn key_config(keys: Option<&str>, slots: Option<usize>) -> anyhow::Result<KeyConfig> {
    let config = match keys {
        Some(keys) => KeyConfig::new().with_types(keys)?,
        None => KeyConfig::new(),
    };
    let slots = slots.unwrap_or(config.types.len());
    Ok(config.with_slots(slots)?)
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
    /// Print what was written as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Session options shared by overlap and the file exchange.
#[derive(Debug, Clone, Args)]
pub struct SessionArgs {
    /// The partner's name: the columns of crm_import.csv are named after it ("Globex
    /// Overlap", ...), and it names the partnership in the history: with it, each session
    /// is kept and the report says what changed since the last one [default: Partner, and
    /// no history].
    #[arg(long)]
    pub partner_name: Option<String>,
    /// Where the partnerships' history lives [default with --partner-name: acctmap/history
    /// under your data directory, ~/.local/share on Linux].
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// Keep no history and read none, even with --partner-name.
    #[arg(long, conflicts_with = "history")]
    pub no_history: bool,
    /// After the report is written, POST the summary of changes as JSON to this webhook
    /// (a Slack incoming webhook gets a Slack message); a failed post is reported, the report
    /// stays.
    #[arg(long, value_name = "URL")]
    pub notify: Option<String>,
    /// Sharing policy (TOML); the default shares row, record id, name and domain of matched
    /// accounts, for every population.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Largest partner account count accepted (overrides the policy's max_peer_accounts).
    #[arg(long)]
    pub max_peer_accounts: Option<u64>,
    /// Matched slot pairs accepted per account of the smaller list and slot (default 64; overrides
    /// the policy's max_pair_factor): more cannot come from honest lists unless both hold many
    /// duplicate records.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pair_factor: Option<u64>,
    /// Threads for the curve work (all cores by default).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Keep the hash-to-group results of your keys in DIR, so that mapping the same list
    /// again (with any partner) skips that step. The file is owner-only and as sensitive as
    /// your list.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

impl SessionArgs {
    /// The partner's name as reports show it.
    pub fn partner(&self) -> String {
        self.partner_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("Partner")
            .to_owned()
    }

    /// The history directory to use, if any.
    pub fn history_dir(&self) -> anyhow::Result<Option<PathBuf>> {
        if self.no_history {
            return Ok(None);
        }
        match (&self.history, &self.partner_name) {
            (Some(_), None) => anyhow::bail!("--history needs --partner-name, which names the partnership"),
            (Some(dir), Some(_)) => Ok(Some(dir.clone())),
            (None, Some(_)) => Ok(Some(mapping_core::history::History::default_dir().ok_or_else(
                || anyhow::anyhow!("this system has no user data directory for the history; give --history DIR"),
            )?)),
            (None, None) => Ok(None),
        }
    }
}

#[derive(Debug, Args)]
pub struct OverlapArgs {
    /// Your list (its side's report is written).
    pub a: PathBuf,
    /// The other list.
    pub b: PathBuf,
    /// Output directory for report.html, matches.csv, matrix.csv, summary.json, rejects.csv.
    #[arg(long, default_value = "acctmap-report")]
    pub out: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Sharing policy of the second list's side (defaults to --policy).
    #[arg(long)]
    pub policy_b: Option<PathBuf>,
    /// Input settings (TOML) for the second list, when it comes from another CRM; its
    /// columns, populations and delimiter replace --config's for that list (keys and
    /// slots stay shared: both sides must use the same).
    #[arg(long, value_name = "FILE")]
    pub config_b: Option<PathBuf>,
    /// A column assignment for the second list only (repeatable; replaces --column there).
    #[arg(long = "column-b", value_name = "ROLE=HEADER")]
    pub columns_b: Vec<String>,
    /// The second list's delimiter, when it differs.
    #[arg(long)]
    pub delimiter_b: Option<String>,
    /// A population rule for the second list only (repeatable; replaces --population there).
    #[arg(long = "population-b", value_name = "LABEL=VALUES")]
    pub populations_b: Vec<String>,
    /// Also write the second list's report into OUT/b.
    #[arg(long)]
    pub both: bool,
}

impl OverlapArgs {
    /// The input settings of the second list: the first's, with each `-b` setting given
    /// replacing its counterpart.
    pub fn input_b(&self) -> InputArgs {
        let mut b = self.input.clone();
        if self.config_b.is_some() {
            b.config = self.config_b.clone();
            b.columns.clear();
            b.populations.clear();
            b.delimiter = None;
        }
        if !self.columns_b.is_empty() {
            b.columns = self.columns_b.clone();
        }
        if !self.populations_b.is_empty() {
            b.populations = self.populations_b.clone();
        }
        if self.delimiter_b.is_some() {
            b.delimiter = self.delimiter_b.clone();
        }
        b
    }
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Your CRM export.
    pub accounts: PathBuf,
    /// Where to write the message for the partner.
    #[arg(long, default_value = "acctmap-1.msg")]
    pub message: PathBuf,
    /// Session state file (owner-only; holds your session key until the session ends).
    #[arg(long, default_value = "acctmap.state")]
    pub state: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Args)]
pub struct RespondArgs {
    /// Your CRM export.
    pub accounts: PathBuf,
    /// The partner's step-1 message.
    #[arg(long)]
    pub to: PathBuf,
    /// Where to write your reply.
    #[arg(long, default_value = "acctmap-2.msg")]
    pub message: PathBuf,
    /// Session state file (owner-only).
    #[arg(long, default_value = "acctmap.state")]
    pub state: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Args)]
pub struct ContinueArgs {
    /// The partner's last message (step 2 or 4 for the initiator, step 3 for the responder).
    #[arg(long)]
    pub reply: PathBuf,
    /// Where to write the next message (default: acctmap-N.msg for step N).
    #[arg(long)]
    pub message: Option<PathBuf>,
    /// Session state file from `acctmap start` or `acctmap respond`.
    #[arg(long, default_value = "acctmap.state")]
    pub state: PathBuf,
    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The partner's last message (step 5 for the responder, step 6 for the initiator).
    #[arg(long)]
    pub reply: PathBuf,
    /// Responder only: where to write the step-6 message for the partner.
    #[arg(long, default_value = "acctmap-6.msg")]
    pub message: PathBuf,
    /// Session state file.
    #[arg(long, default_value = "acctmap.state")]
    pub state: PathBuf,
    /// Output directory for the report.
    #[arg(long, default_value = "acctmap-report")]
    pub out: PathBuf,
    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A protocol message file.
    pub message: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Rows per side.
    #[arg(long)]
    pub rows: u64,
    /// Fraction of companies on both sides.
    #[arg(long, default_value_t = 0.2)]
    pub overlap: f64,
    /// Seed of the generated lists.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Threads (all cores by default).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Folder with a.csv and b.csv to use (generated there if absent, and kept).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the generated lists.
    #[arg(long)]
    pub keep: bool,
    /// Cache the hash-to-group results of each list's keys in DIR (run twice to see a
    /// repeat run).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Elements per primitive when measuring the raw limit.
    #[arg(long, default_value_t = 20000)]
    pub samples: usize,
    /// Key types, as for `overlap` (the default set when absent).
    #[arg(long)]
    pub keys: Option<String>,
    /// Slots per account, as for `overlap` (one per key type when absent).
    #[arg(long)]
    pub slots: Option<usize>,
    /// Also run the two parties on half the threads each, in strict rounds and then as a
    /// live session over loopback TCP (which overlaps their work), and report both times.
    #[arg(long)]
    pub live: bool,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress messages.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Options of a live session.
#[derive(Debug, Clone, Args)]
pub struct LiveArgs {
    /// Your CRM export.
    #[arg(long)]
    pub accounts: PathBuf,
    /// Output directory for the report.
    #[arg(long, default_value = "acctmap-report")]
    pub out: PathBuf,
    /// Proceed without asking once the partner's declaration is within your limits (for
    /// unattended runs; the limits are still enforced).
    #[arg(long)]
    pub yes: bool,
    /// Seconds to wait for the partner at any step before giving up (pairing, from the
    /// connection to the partner's declaration, must finish within this in all). A partner
    /// that is still computing its next message says so twice a second, so this bounds
    /// silence, not the partner's work on a large list.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:7878.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// Pairing code (a new one is made and shown when absent).
    #[arg(long)]
    pub code: Option<String>,
    /// Connections to accept before giving up: one that fails to pair (a wrong code, a port
    /// probe, a silent or slow client) is logged and dropped, and serving goes on.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub attempts: u32,
    #[command(flatten)]
    pub live: LiveArgs,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The partner's address, host:port.
    pub addr: String,
    /// The pairing code the partner read out.
    #[arg(long)]
    pub code: String,
    #[command(flatten)]
    pub live: LiveArgs,
}

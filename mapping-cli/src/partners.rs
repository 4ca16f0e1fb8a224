//! `acctmap partners`: every partnership in the history, and the accounts view partner
//! managers plan co-selling from.

use std::io::Write;

use anyhow::Context;
use mapping_core::history::{self, History};

use crate::args::PartnersArgs;

pub fn run(args: PartnersArgs) -> anyhow::Result<()> {
    let dir = match args.history {
        Some(d) => d,
        None => History::default_dir()
            .ok_or_else(|| anyhow::anyhow!("this system has no user data directory; give --history DIR"))?,
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "{}: no history here yet (sessions run with --partner-name keep one)",
            dir.display()
        );
    }
    let history = History::open(&dir)?;
    let latest = history.partners()?;
    let accounts = history::accounts_across(&latest);
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let path = args.out.join("accounts.csv");
    history::write_accounts_csv(&path, &accounts)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let doc = serde_json::json!({
            "history": dir,
            "partners": latest.iter().map(|r| serde_json::json!({
                "partner": r.partner,
                "last_session": r.date,
                "sessions": history.sessions(&r.partner).map(|s| s.len()).unwrap_or(0),
                "mode": r.mode,
                "matched_pairs": r.matched_pairs,
                "own_accounts_matched": r.accounts.len(),
                "policy": r.policy,
            })).collect::<Vec<_>>(),
            "accounts_csv": path,
            "accounts_with_a_partner": accounts.len(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "acctmap partners: {} partner(s) in {}",
        latest.len(),
        dir.display()
    )?;
    writeln!(
        out,
        "  {:<24} {:<21} {:>8} {:>13} {:>15}",
        "partner", "last session", "sessions", "matched pairs", "your accounts"
    )?;
    for r in &latest {
        writeln!(
            out,
            "  {:<24} {:<21} {:>8} {:>13} {:>15}",
            mapping_core::display::printable(&r.partner),
            r.date,
            history.sessions(&r.partner)?.len(),
            r.matched_pairs,
            r.accounts.len()
        )?;
    }
    let shared = accounts.iter().filter(|a| a.partners.len() > 1).count();
    writeln!(
        out,
        "  accounts: {} of yours overlap a partner, {shared} overlap more than one ({})",
        accounts.len(),
        path.display()
    )?;
    Ok(())
}

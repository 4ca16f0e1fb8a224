//! `acctmap normalize` and `acctmap generate`.

use std::io::Write;

use anyhow::Context;
use mapping_core::generate::{generate as generate_files, GenerateOptions};
use mapping_core::{ingest, PreparedList};

use crate::args::{Format, GenerateArgs, NormalizeArgs};
use crate::output;

/// Reads, normalizes and keys one file.
pub fn prepare(file: &std::path::Path, input: &crate::args::InputArgs) -> anyhow::Result<PreparedList> {
    // Options first: a mistyped option fails before a large file is read.
    let (options, keys) = (input.ingest_options()?, input.key_config()?);
    let dataset = ingest::read_path(file, &options)?;
    Ok(PreparedList::build(dataset, &keys))
}

/// Prepares a list for a session: streamed, keeping only the packed keys (full records are
/// read again for the matched accounts).
pub fn prepare_streamed(file: &std::path::Path, input: &crate::args::InputArgs) -> anyhow::Result<PreparedList> {
    let (options, keys) = (input.ingest_options()?, input.key_config()?);
    Ok(PreparedList::stream(file, &options, &keys)?)
}

pub fn run(args: NormalizeArgs) -> anyhow::Result<()> {
    let list = prepare(&args.file, &args.input)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let shown = args.limit.unwrap_or(usize::MAX);
    match args.format {
        Format::Json => {
            let accounts: Vec<_> = list.accounts.iter().take(shown).collect();
            let doc = serde_json::json!({
                "source": list.source,
                "layout": list.columns.layout,
                "columns": column_roles(&list),
                "rows_read": list.rows_read,
                "accepted": list.accounts.len(),
                "rejected": list.rejects.len(),
                "keys_dropped_for_slots": list.keys_dropped,
                "warnings": list.warnings,
                "accounts": accounts,
                "rejects": list.rejects,
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "row",
                "status",
                "record_id",
                "name",
                "normalized_name",
                "domains",
                "country",
                "population",
                "keys",
                "notes",
            ])?;
            for a in list.accounts.iter().take(shown) {
                w.write_record(account_cells(a, true))?;
            }
            for r in &list.rejects {
                w.write_record([
                    r.row.to_string(),
                    "rejected".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    r.reason.clone(),
                ])?;
            }
            w.flush()?;
        }
        Format::Table => {
            writeln!(
                out,
                "{}: {} rows read, {} accepted, {} rejected ({} layout, delimiter {:?})",
                list.source,
                list.rows_read,
                list.accounts.len(),
                list.rejects.len(),
                format!("{:?}", list.columns.layout).to_lowercase(),
                list.delimiter
            )?;
            for (role, col) in column_roles(&list) {
                writeln!(out, "  {role:<9} <- {col}")?;
            }
            for w in &list.warnings {
                writeln!(out, "  warning: {w}")?;
            }
            if list.keys_dropped > 0 {
                writeln!(
                    out,
                    "  warning: {} keys dropped: accounts had more keys than --slots {}",
                    list.keys_dropped, list.config.slots
                )?;
            }
            writeln!(out)?;
            let rows: Vec<Vec<String>> = list
                .accounts
                .iter()
                .take(shown)
                .map(|a| {
                    let mut c = account_cells(a, false);
                    c.remove(1);
                    c.remove(1);
                    c
                })
                .collect();
            output::table(
                &mut out,
                &[
                    "row",
                    "name",
                    "normalized",
                    "domains",
                    "country",
                    "population",
                    "keys",
                    "notes",
                ],
                &rows,
                48,
            )?;
            if list.accounts.len() > shown {
                writeln!(out, "… {} more accepted rows (--limit)", list.accounts.len() - shown)?;
            }
            if !list.rejects.is_empty() {
                writeln!(out, "\nrejected rows:")?;
                let rows: Vec<Vec<String>> = list
                    .rejects
                    .iter()
                    .map(|r| vec![r.row.to_string(), r.reason.clone()])
                    .collect();
                output::table(&mut out, &["row", "reason"], &rows, 160)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn column_roles(list: &PreparedList) -> Vec<(String, String)> {
    let h = |i: usize| list.headers[i].clone();
    let c = &list.columns;
    let mut out = Vec::new();
    let mut one = |role: &str, i: Option<usize>| {
        if let Some(i) = i {
            out.push((role.to_string(), h(i)));
        }
    };
    one("record_id", c.record_id);
    one("name", c.name);
    one("country", c.country);
    one("status", c.status);
    one("owner", c.owner);
    one("amount", c.amount);
    for i in &c.websites {
        out.push(("website".into(), h(*i)));
    }
    for i in &c.emails {
        out.push(("email".into(), h(*i)));
    }
    out
}

fn account_cells(a: &mapping_core::PreparedAccount, with_status: bool) -> Vec<String> {
    let mut cells = vec![a.account.row.to_string()];
    cells.push(if with_status { "accepted".into() } else { String::new() });
    cells.push(a.account.record_id.clone().unwrap_or_default());
    cells.push(a.account.name.clone().unwrap_or_default());
    cells.push(a.normalized.name.clone().unwrap_or_default());
    cells.push(a.normalized.domain_list());
    cells.push(a.normalized.country.unwrap_or("").to_string());
    cells.push(a.account.population.to_string());
    cells.push(a.keys.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" "));
    let notes: Vec<String> = a
        .normalized
        .issues
        .iter()
        .map(|i| format!("{} {:?}: {}", i.field, i.value, i.reason))
        .chain(a.account.notes.iter().cloned())
        .collect();
    cells.push(notes.join("; "));
    cells
}

pub fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let opts = GenerateOptions::new(args.rows).overlap(args.overlap)?.seed(args.seed);
    let bar = output::progress(args.rows * 2, "generating", args.quiet);
    // The callback counts rows of the file being written; a smaller count means the next file.
    let (mut files_done, mut last) = (0u64, 0u64);
    let summary = generate_files(&args.out, &opts, |rows| {
        if rows < last {
            files_done += 1;
        }
        last = rows;
        bar.set_position(files_done * args.rows + rows);
    })
    .with_context(|| format!("generating into {}", args.out.display()))?;
    bar.finish_and_clear();
    if args.json {
        let doc = serde_json::json!({
            "out": args.out,
            "a_rows": summary.a_rows,
            "b_rows": summary.b_rows,
            "true_pairs": summary.true_pairs,
            "shared_companies": summary.shared_companies,
            "files": ["a.csv", "b.csv", "truth.csv"],
        });
        writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&doc)?)?;
    } else if !args.quiet {
        eprintln!(
            "wrote {}/a.csv ({} rows), {}/b.csv ({} rows), truth.csv ({} true pairs, {} shared companies)",
            args.out.display(),
            summary.a_rows,
            args.out.display(),
            summary.b_rows,
            summary.true_pairs,
            summary.shared_companies
        );
    }
    Ok(())
}

/// `acctmap eval`: scores a mapping against ground truth.
pub fn eval(args: crate::args::EvalArgs) -> anyhow::Result<()> {
    let e = mapping_core::evaluate::evaluate(&args.matches, &args.truth, args.rows.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&e)?)?;
        return Ok(());
    }
    let o = &e.overall;
    writeln!(
        out,
        "{} pairs reported, {} true pairs, {} correct: precision {:.3}, recall {:.3}, F1 {:.3}",
        o.found, o.true_pairs, o.correct, o.precision, o.recall, o.f1
    )?;
    let groups = |out: &mut dyn Write, title: &str, header: &[&str], groups: &[mapping_core::evaluate::Group]| {
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|g| {
                vec![
                    g.name.clone(),
                    g.total.to_string(),
                    g.correct.to_string(),
                    format!("{:.3}", g.rate),
                ]
            })
            .collect();
        writeln!(out, "\n{title}")?;
        output::table(&mut &mut *out, header, &rows, 60)
    };
    groups(
        &mut out,
        "recall by class",
        &["class", "true pairs", "found", "recall"],
        &e.by_class,
    )?;
    groups(
        &mut out,
        "precision by confidence",
        &["confidence", "pairs", "correct", "precision"],
        &e.by_confidence,
    )?;
    if !e.false_by_cause.is_empty() {
        let rows: Vec<Vec<String>> = e
            .false_by_cause
            .iter()
            .map(|(c, n)| vec![c.clone(), n.to_string()])
            .collect();
        writeln!(out, "\nfalse pairs by cause")?;
        output::table(&mut out, &["cause", "pairs"], &rows, 60)?;
    }
    Ok(())
}

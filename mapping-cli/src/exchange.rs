//! `overlap`, the file exchange (`start`, `respond`, `continue`, `complete`) and `inspect`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use mapping_core::history::{self, History};
use mapping_core::matching::Mapping;
use mapping_core::party::{Compared, Decided, Finished, Party, Responded};
use mapping_core::policy::SharingPolicy;
use mapping_core::psi::{Initiator, Message, Mode, Progress};
use mapping_core::report::Report;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::args::{
    CompleteArgs, ContinueArgs, InputArgs, InspectArgs, OverlapArgs, RespondArgs, SessionArgs, StartArgs,
};
use crate::normalize::prepare_streamed;
use crate::output;

pub(crate) fn load_policy(path: Option<&Path>, session: &SessionArgs) -> anyhow::Result<SharingPolicy> {
    let mut policy = match path {
        Some(p) => SharingPolicy::from_path(p)?,
        None => SharingPolicy::default(),
    };
    if let Some(max) = session.max_peer_accounts {
        policy.max_peer_accounts = max;
    }
    if let Some(factor) = session.max_pair_factor {
        policy.max_pair_factor = factor;
    }
    Ok(policy)
}

/// Runs `f` on a rayon pool of the requested size (all cores by default).
pub(crate) fn with_pool<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        b = b.num_threads(n);
    }
    Ok(b.build().context("starting the thread pool")?.install(f))
}

pub(crate) fn build_party(
    accounts: &Path,
    input: &InputArgs,
    policy: SharingPolicy,
    cache: Option<&Path>,
) -> anyhow::Result<Party> {
    let list = prepare_streamed(accounts, input)?;
    let party = Party::new(list, policy)?;
    Ok(match cache {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            party.with_hash_cache(dir)
        }
        None => party,
    })
}

/// Writes a file atomically and exclusively (see [`mapping_core::files`]).
fn write_atomic(path: &Path, bytes: &[u8], owner_only: bool) -> anyhow::Result<()> {
    mapping_core::files::write_atomic(path, bytes, owner_only).with_context(|| format!("writing {}", path.display()))
}

fn write_message(path: &Path, msg: &Message) -> anyhow::Result<()> {
    write_atomic(path, &msg.encode(), false)
}

/// Reads a partner's message file, refusing one larger than any message within your limits:
/// `max_accounts` partner accounts with points (0 when the step has none), `own_slots`
/// returned values, and shared records for up to `partner_max` partner accounts. Each
/// counts twice: an account shared with its overlaps may be in both sub-sessions. A
/// message of another step than `step` is named as such before its limits are applied.
fn read_message(path: &Path, step: u8, max_accounts: u64, own_slots: u64, partner_max: u64) -> anyhow::Result<Message> {
    let limit = (300u64 << 20)
        .saturating_add(max_accounts.saturating_mul(2 * 16 * 32))
        .saturating_add(own_slots.saturating_mul(2 * 32))
        .saturating_add(partner_max.saturating_mul(4096));
    // The read itself is bounded: a pipe or /dev/zero has no length to check first.
    let bytes =
        mapping_core::files::read_bounded(path, limit).with_context(|| format!("reading {}", path.display()))?;
    if let Some(&kind) = bytes.get(7).filter(|_| bytes.starts_with(mapping_core::psi::MAGIC)) {
        if kind != step && (1..=6).contains(&kind) {
            bail!(
                "{}: expected the partner's step-{step} message, got a step-{kind} message",
                path.display()
            );
        }
    }
    Message::decode(&bytes, max_accounts).with_context(|| format!("{}", path.display()))
}

// ---------------------------------------------------------------- state file

const STATE_FORMAT: &str = "acctmap-session-state";
/// 3: protocol v4 (six messages; every step's state in `psi_state`); 4: message version 5.
const STATE_VERSION: u32 = 4;

#[derive(serde::Serialize, serde::Deserialize)]
struct StateFile {
    format: String,
    version: u32,
    role: String,
    step: String,
    session: String,
    accounts: PathBuf,
    input: InputArgs,
    policy: Option<PathBuf>,
    max_peer_accounts: Option<u64>,
    fingerprint: String,
    /// Hex of the protocol state: after `start`, `respond` and the initiator's step 3 it
    /// holds a session key; after steps 4 and 5 it holds none.
    psi_state: Option<String>,
}

impl StateFile {
    /// The state after `start` (initiator) or `respond` (responder), holding the protocol
    /// state, secret key included.
    fn begun(
        role: &str,
        session: [u8; 16],
        party: &Party,
        psi_state: &[u8],
        accounts: &Path,
        input: &InputArgs,
        args: &SessionArgs,
    ) -> StateFile {
        let step = if role == "initiator" { "started" } else { "responded" };
        StateFile {
            format: STATE_FORMAT.into(),
            version: STATE_VERSION,
            role: role.into(),
            step: step.into(),
            session: hex(&session).to_string(),
            accounts: std::fs::canonicalize(accounts).unwrap_or_else(|_| accounts.to_owned()),
            input: InputArgs {
                // Later steps may run from another folder.
                config: input
                    .config
                    .as_ref()
                    .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
                ..input.clone()
            },
            policy: args
                .policy
                .as_ref()
                .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
            max_peer_accounts: args.max_peer_accounts,
            fingerprint: party.fingerprint(),
            psi_state: Some(hex(psi_state).to_string()),
        }
    }
}

/// Refuses to start a session over the state file of one in progress.
fn refuse_running_session(state: &Path) -> anyhow::Result<()> {
    if state.exists() {
        bail!(
            "{} already exists: a session is in progress. Complete it, or delete the file to abandon it",
            state.display()
        );
    }
    Ok(())
}

impl Drop for StateFile {
    fn drop(&mut self) {
        if let Some(s) = self.psi_state.as_mut() {
            zeroize::Zeroize::zeroize(s);
        }
    }
}

fn hex(bytes: &[u8]) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for b in bytes {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

fn unhex(s: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    mapping_core::psi::unhex(s).ok_or_else(|| anyhow::anyhow!("session state file: invalid contents"))
}

fn save_state(path: &Path, state: &StateFile) -> anyhow::Result<()> {
    let json = Zeroizing::new(serde_json::to_string(state)?);
    let sum = Sha256::digest(json.as_bytes());
    let mut text = Zeroizing::new(String::with_capacity(json.len() + 80));
    text.push_str(&json);
    text.push('\n');
    text.push_str(&hex(&sum));
    text.push('\n');
    write_atomic(path, text.as_bytes(), true)
}

/// `--json` for a step that writes a message: what was written and what it discloses.
fn print_step_json(step: &str, msg: &Message, path: &Path, state: Option<&Path>) -> anyhow::Result<()> {
    let doc = serde_json::json!({
        "step": step,
        "message": path,
        "state": state,
        "session": hex(&msg.session).to_string(),
        "mode": msg.mode,
        "sender_accounts": msg.accounts(),
        "sender_populations": msg.populations,
        "blinded_points": msg.points.len() / 32,
        "returned_values": msg.returned_count(),
        "proofs": msg.proofs.len() / mapping_core::psi::PROOF_BYTES,
        "shared_records_bytes": msg.records.len(),
    });
    writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&doc)?)?;
    Ok(())
}

/// The state first, then the message: a message is never left for a session whose state
/// could not be saved; if the message cannot be written, the state is removed again so the
/// step can be rerun.
fn save_state_then_message(state_path: &Path, state: &StateFile, msg_path: &Path, msg: &Message) -> anyhow::Result<()> {
    save_state(state_path, state)?;
    if let Err(e) = write_message(msg_path, msg) {
        let _ = std::fs::remove_file(state_path);
        return Err(e);
    }
    Ok(())
}

fn load_state(path: &Path) -> anyhow::Result<StateFile> {
    let text = Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the session state {} (run `acctmap start` or `acctmap respond` first)",
            path.display()
        )
    })?);
    let (json, sum) = text
        .trim_end()
        .rsplit_once('\n')
        .ok_or_else(|| anyhow::anyhow!("{}: not an acctmap session state file", path.display()))?;
    if *hex(&Sha256::digest(json.as_bytes())) != sum {
        bail!(
            "{}: the session state file is corrupted or was changed (checksum mismatch)",
            path.display()
        );
    }
    let state: StateFile =
        serde_json::from_str(json).with_context(|| format!("{}: not an acctmap session state file", path.display()))?;
    if state.format != STATE_FORMAT || state.version != STATE_VERSION {
        bail!("{}: not an acctmap session state file of this version", path.display());
    }
    Ok(state)
}

fn rebuild_party(state: &StateFile, session: &SessionArgs) -> anyhow::Result<Party> {
    let mut s = session.clone();
    s.max_peer_accounts = state.max_peer_accounts;
    let policy = load_policy(state.policy.as_deref(), &s)?;
    let party = build_party(&state.accounts, &state.input, policy, None)?;
    party
        .check_fingerprint(&state.fingerprint)
        .with_context(|| format!("{}", state.accounts.display()))?;
    Ok(party)
}

// ---------------------------------------------------------------- output

/// Prints the summary of a report written by [`write_report`] into `out_dir`.
pub(crate) fn print_summary(
    title: &str,
    report: &Report,
    out_dir: &Path,
    written: &[PathBuf],
    session: &SessionArgs,
) -> anyhow::Result<()> {
    let s = &report.summary;
    let seconds = s.seconds.unwrap_or_default();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if session.json {
        let doc = serde_json::json!({
            "summary": s,
            "changes": report.changes.as_ref().map(|c| c.summary_json()),
            "seconds": seconds,
            "out": out_dir,
            "files": written,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    let mode = if s.mode == Mode::Matches {
        "matches"
    } else {
        "counts-only"
    };
    writeln!(out, "{title} ({mode} mode)")?;
    writeln!(
        out,
        "  yours:    {} rows read, {} accepted, {} rejected; {} accounts in the session",
        s.rows_read, s.accepted, s.rejected, s.accounts_in_session
    )?;
    writeln!(out, "  partner:  {} accounts", s.partner_accounts)?;
    match (s.own_accounts_matched, s.partner_accounts_matched) {
        (Some(a), Some(b)) => {
            let tiers: Vec<String> = s.pairs_by_confidence.iter().map(|(t, n)| format!("{t} {n}")).collect();
            writeln!(
                out,
                "  matched:  {} pairs: {a} of your accounts, {b} of the partner's ({})",
                s.matched_pairs,
                tiers.join(", ")
            )?;
        }
        _ => writeln!(
            out,
            "  matched:  {} candidate pairs (counts only: no rule can run, so an upper bound)",
            s.matched_pairs
        )?,
    }
    if s.counted_pairs > 0 {
        writeln!(
            out,
            "  counts:   {} candidate pairs in cells shared as counts only (an upper bound; no pairs)",
            s.counted_pairs
        )?;
    }
    if s.review_pairs > 0 {
        writeln!(
            out,
            "  review:   {} candidate pairs the evidence does not decide (review.csv; not counted)",
            s.review_pairs
        )?;
    }
    if let Some(c) = &report.changes {
        writeln!(out, "  changes:  {} (changes.csv)", c.line())?;
    } else if session.history_dir().ok().flatten().is_some() {
        writeln!(
            out,
            "  changes:  first session with {} kept in the history",
            report.partner_name
        )?;
    }
    writeln!(out, "  report:   {}", out_dir.join("report.html").display())?;
    writeln!(out, "  time:     {seconds:.2} s")?;
    Ok(())
}

/// Builds the report of one side and writes its files; returns it with the paths written.
pub(crate) fn write_report(
    party: &Party,
    mapping: &Mapping,
    out: &Path,
    seconds: f64,
    session: &SessionArgs,
) -> anyhow::Result<(Report, Vec<PathBuf>)> {
    let mut report = Report::build(party.list(), mapping)?;
    report.summary.seconds = Some(seconds);
    report.partner_name = session.partner();
    // The partnership's history: what changed since the last session goes into this
    // report; this session is kept once its report is written.
    let history = match session.history_dir()? {
        Some(dir) => {
            let history = History::open(&dir).with_context(|| format!("history in {}", dir.display()))?;
            let unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let record = history::record_of(
                &report.partner_name,
                party.list(),
                mapping,
                &report,
                party.policy(),
                unix,
            );
            // An unreadable earlier record (damaged, or from another version) costs the
            // comparison, never the session: it is said, and this session is kept.
            match history.last(&report.partner_name) {
                Ok(Some(before)) => report.changes = Some(history::changes(&before, &record)),
                Ok(None) => {}
                Err(e) => eprintln!(
                    "acctmap: warning: the last session with {} cannot be read ({e}); this report shows no changes",
                    report.partner_name
                ),
            }
            Some((history, record))
        }
        None => None,
    };
    let mut written = report.write_dir(out, party.list())?;
    if let Some((history, record)) = history {
        written.push(history.record(&record)?);
    }
    if let Some(url) = &session.notify {
        if let Err(e) = crate::notify::post(url, &report) {
            eprintln!("acctmap: warning: --notify {url}: {e:#} (the report is written)");
        }
    }
    Ok((report, written))
}

// ---------------------------------------------------------------- commands

/// Refuses an `--out` that names a file before any work is done, so that a long session is
/// not lost at the end. Nothing is created here: a session that fails writes nothing.
pub(crate) fn check_out_dir(out: &Path) -> anyhow::Result<()> {
    if out.exists() && !out.is_dir() {
        bail!(
            "--out {}: a file of that name exists; the report is written into a folder",
            out.display()
        );
    }
    Ok(())
}

pub fn overlap(args: OverlapArgs) -> anyhow::Result<()> {
    check_out_dir(&args.out)?;
    let t0 = Instant::now();
    let policy_a = load_policy(args.session.policy.as_deref(), &args.session)?;
    let policy_b = load_policy(
        args.policy_b.as_deref().or(args.session.policy.as_deref()),
        &args.session,
    )?;
    let quiet = args.session.quiet;
    let progress = Progress::new();
    let input_b = args.input_b();
    let (a, b, mapping_a, mapping_b) = with_pool(args.session.threads, || -> anyhow::Result<_> {
        let bar = output::spinner("reading both lists", quiet);
        let (a, b) = rayon::join(
            || build_party(&args.a, &args.input, policy_a, args.session.cache.as_deref()),
            || build_party(&args.b, &input_b, policy_b, args.session.cache.as_deref()),
        );
        bar.finish_and_clear();
        let (a, b) = (a?.with_progress(progress.clone()), b?.with_progress(progress.clone()));
        let (sa, sb) = (a.slots_in_session(), b.slots_in_session());
        // Each message goes through its encoding, as it would between two machines.
        let wire = |m: Message, max: u64| Message::decode_vec(m.into_bytes(), max);
        let k = a.list().config.slots as u64;
        let (ini, m1) = output::track(&progress, sa, k, "step 1/6: blinding your keys", quiet, || a.start())?;
        let m1 = wire(m1, b.policy().max_peer_accounts)?;
        let (resp, m2) = output::track(
            &progress,
            sa + sb,
            k,
            "step 2/6: the partner blinds and proves",
            quiet,
            || b.respond(&m1),
        )?;
        drop(m1);
        let m2 = wire(m2, a.policy().max_peer_accounts)?;
        let (fin, m3) = output::track(&progress, sb, k, "step 3/6: checking proofs, matching", quiet, || {
            a.finish(ini, &m2)
        })?;
        drop(m2);
        let last = output::spinner("steps 4-6/6: comparing the candidate pairs, deciding, records", quiet);
        let (cmp, m4) = b.compare(resp, &wire(m3, u64::MAX)?)?;
        let (dec, m5) = a.decide(fin, &wire(m4, u64::MAX)?)?;
        let (mapping_b, m6) = b.complete_responder(cmp, &wire(m5, u64::MAX)?)?;
        let mapping_a = a.complete_initiator(dec, &wire(m6, u64::MAX)?)?;
        last.finish_and_clear();
        Ok((a, b, mapping_a, mapping_b))
    })??;
    let seconds = t0.elapsed().as_secs_f64();
    let (report, written) = write_report(&a, &mapping_a, &args.out, seconds, &args.session)?;
    if args.both {
        write_report(&b, &mapping_b, &args.out.join("b"), seconds, &args.session)?;
    }
    let title = format!("acctmap overlap: {} x {}", args.a.display(), args.b.display());
    print_summary(&title, &report, &args.out, &written, &args.session)
}

pub fn start(args: StartArgs) -> anyhow::Result<()> {
    refuse_running_session(&args.state)?;
    let policy = load_policy(args.session.policy.as_deref(), &args.session)?;
    let progress = Progress::new();
    let (party, ini, msg) = with_pool(args.session.threads, || -> anyhow::Result<_> {
        let party = build_party(&args.accounts, &args.input, policy, args.session.cache.as_deref())?
            .with_progress(progress.clone());
        let total = party.slots_in_session();
        let k = party.list().config.slots as u64;
        let (ini, msg) = output::track(&progress, total, k, "blinding your keys", args.session.quiet, || {
            party.start()
        })?;
        Ok((party, ini, msg))
    })??;
    let state = StateFile::begun(
        "initiator",
        ini.session(),
        &party,
        &ini.save(),
        &args.accounts,
        &args.input,
        &args.session,
    );
    save_state_then_message(&args.state, &state, &args.message, &msg)?;
    if args.session.json {
        return print_step_json("start", &msg, &args.message, Some(&args.state));
    }
    if !args.session.quiet {
        eprint!("{}", msg.summary());
        eprintln!(
            "\nwrote {} for your partner; they run `acctmap respond THEIR.csv --to {}`.\nsession state: {} (owner-only; keep it until the session completes)",
            args.message.display(),
            args.message.display(),
            args.state.display()
        );
    }
    Ok(())
}

pub fn respond(args: RespondArgs) -> anyhow::Result<()> {
    refuse_running_session(&args.state)?;
    let policy = load_policy(args.session.policy.as_deref(), &args.session)?;
    let msg1 = read_message(&args.to, 1, policy.max_peer_accounts, 0, 0)?;
    let progress = Progress::new();
    let (party, resp, msg2) = with_pool(args.session.threads, || -> anyhow::Result<_> {
        let party = build_party(&args.accounts, &args.input, policy, args.session.cache.as_deref())?
            .with_progress(progress.clone());
        let total = party.slots_in_session() + msg1.points.len() as u64 / 32;
        let k = party.list().config.slots as u64;
        let (resp, msg2) = output::track(&progress, total, k, "blinding and proving", args.session.quiet, || {
            party.respond(&msg1)
        })
        .with_context(|| format!("{}", args.to.display()))?;
        Ok((party, resp, msg2))
    })??;
    let state = StateFile::begun(
        "responder",
        resp.session(),
        &party,
        &resp.save(),
        &args.accounts,
        &args.input,
        &args.session,
    );
    save_state_then_message(&args.state, &state, &args.message, &msg2)?;
    if args.session.json {
        return print_step_json("respond", &msg2, &args.message, Some(&args.state));
    }
    if !args.session.quiet {
        eprint!("{}", msg2.summary());
        eprintln!(
            "\nwrote {} for your partner; they run `acctmap continue --reply {}`, then send you a step-3 message for `acctmap continue`.",
            args.message.display(),
            args.message.display()
        );
    }
    Ok(())
}

/// The step a state file is at, and what runs next.
fn next_step(state: &StateFile, path: &Path) -> anyhow::Result<u8> {
    Ok(match (state.role.as_str(), state.step.as_str()) {
        ("initiator", "started") => 3,
        ("responder", "responded") => 4,
        ("initiator", "finished") => 5,
        ("responder", "compared") => 6,
        ("initiator", "decided") => 7,
        (role, step) => bail!("{}: unexpected session state {role}/{step}", path.display()),
    })
}

/// An error of the library, named after the file it is about.
fn naming(path: &Path) -> impl Fn(mapping_core::Error) -> anyhow::Error + '_ {
    move |e| anyhow::Error::new(e).context(path.display().to_string())
}

/// The message a step reads (the partner's previous one).
fn read_reply(party: &Party, reply: &Path, step: u8, candidates: u64) -> anyhow::Result<Message> {
    let max = party.policy().max_peer_accounts;
    let own = party.slots_in_session();
    match step {
        // Message 2: the partner's points and our values.
        3 => read_message(reply, 2, max, own, 0),
        // Message 3: our values, the partner's counts points, and its pair-round entries
        // (at most `MAX_ENTRIES_PER_SLOT` per own slot).
        4 => {
            let cap = own.saturating_mul(mapping_core::compare::MAX_ENTRIES_PER_SLOT);
            read_message(reply, 3, max.max(cap), own.saturating_add(cap), max)
        }
        // Message 4: the pair round's reply (one entry per candidate), our counts values.
        5 => read_message(
            reply,
            4,
            candidates,
            own.saturating_add(candidates.saturating_mul(3)),
            0,
        ),
        // Message 5: the pair round's last values and the partner's records.
        6 => read_message(reply, 5, 0, candidates.saturating_mul(3), max),
        // Message 6: the partner's records.
        _ => read_message(reply, 6, 0, 0, max),
    }
}

/// `acctmap continue`: the middle steps of the file exchange (3 and 5 for the initiator, 4
/// for the responder): reads the partner's message, writes the next one.
pub fn continue_session(args: ContinueArgs) -> anyhow::Result<()> {
    let mut state = load_state(&args.state)?;
    let step = next_step(&state, &args.state)?;
    if step > 5 {
        bail!(
            "the next step of session {} is the last: run `acctmap complete --reply STEP{}.msg`",
            state.session,
            step - 1
        );
    }
    let message = args
        .message
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("acctmap-{step}.msg")));
    let t0 = Instant::now();
    let bar = output::spinner(
        match step {
            3 => "checking proofs, matching",
            4 => "checking proofs, comparing the candidate pairs",
            _ => "deciding",
        },
        args.session.quiet,
    );
    let (saved, msg, candidates) = with_pool(args.session.threads, || -> anyhow::Result<_> {
        let party = rebuild_party(&state, &args.session)?;
        let bytes = unhex(state.psi_state.as_deref().unwrap_or(""))?;
        let (in_state, in_reply) = (naming(&args.state), naming(&args.reply));
        Ok(match step {
            3 => {
                let msg2 = read_reply(&party, &args.reply, step, 0)?;
                let ini = Initiator::load(&bytes).map_err(in_state)?;
                let (fin, msg3) = party.finish(ini, &msg2).map_err(in_reply)?;
                (fin.save(), msg3, fin.candidates())
            }
            4 => {
                let msg3 = read_reply(&party, &args.reply, step, 0)?;
                let resp = Responded::load(&bytes).map_err(in_state)?;
                let (cmp, msg4) = party.compare(resp, &msg3).map_err(in_reply)?;
                (cmp.save(), msg4, cmp.candidates())
            }
            _ => {
                let fin = Finished::load(&bytes).map_err(in_state)?;
                let msg4 = read_reply(&party, &args.reply, step, fin.candidates())?;
                let (dec, msg5) = party.decide(fin, &msg4).map_err(in_reply)?;
                (dec.save(), msg5, 0)
            }
        })
    })??;
    bar.finish_and_clear();
    state.step = match step {
        3 => "finished",
        4 => "compared",
        _ => "decided",
    }
    .into();
    if let Some(s) = state.psi_state.as_mut() {
        zeroize::Zeroize::zeroize(s);
    }
    // Step 3's state holds the pair round's key; steps 4 and 5 hold none.
    state.psi_state = Some(hex(&saved).to_string());
    save_state_then_message(&args.state, &state, &message, &msg)?;
    if args.session.json {
        return print_step_json(&format!("step {step}"), &msg, &message, Some(&args.state));
    }
    if !args.session.quiet {
        eprint!("{}", msg.summary());
        let partner = if step == 5 { "complete" } else { "continue" };
        let yours = if step == 3 { "continue" } else { "complete" };
        eprintln!(
            "\nwrote {} for your partner ({:.2} s{}); they run `acctmap {partner} --reply {}` and send you a step-{} message;\nthen run `acctmap {yours} --reply STEP{}.msg`.",
            message.display(),
            t0.elapsed().as_secs_f64(),
            if candidates > 0 {
                format!(", {candidates} candidate pairs compared")
            } else {
                String::new()
            },
            message.display(),
            step + 1,
            step + 1
        );
    }
    Ok(())
}

/// `acctmap complete`: the last step of either side (6 for the responder, who also writes
/// message 6; the initiator's after message 6): writes the report, deletes the state.
pub fn complete(args: CompleteArgs) -> anyhow::Result<()> {
    let state = load_state(&args.state)?;
    check_out_dir(&args.out)?;
    let step = next_step(&state, &args.state)?;
    if step < 6 {
        bail!(
            "session {} is at step {step}, not the last: run `acctmap continue --reply STEP{}.msg` first",
            state.session,
            step - 1
        );
    }
    let t0 = Instant::now();
    let bar = output::spinner("deciding", args.session.quiet);
    let (party, mapping, msg6) = with_pool(args.session.threads, || -> anyhow::Result<_> {
        let party = rebuild_party(&state, &args.session)?;
        let bytes = unhex(state.psi_state.as_deref().unwrap_or(""))?;
        let (in_state, in_reply) = (naming(&args.state), naming(&args.reply));
        Ok(if step == 6 {
            let cmp = Compared::load(&bytes).map_err(in_state)?;
            let msg5 = read_reply(&party, &args.reply, step, cmp.candidates())?;
            let (mapping, msg6) = party.complete_responder(cmp, &msg5).map_err(in_reply)?;
            (party, mapping, Some(msg6))
        } else {
            let dec = Decided::load(&bytes).map_err(in_state)?;
            let msg6 = read_reply(&party, &args.reply, step, 0)?;
            let mapping = party.complete_initiator(dec, &msg6).map_err(in_reply)?;
            (party, mapping, None)
        })
    })??;
    bar.finish_and_clear();
    let seconds = t0.elapsed().as_secs_f64();
    let (report, written) = write_report(&party, &mapping, &args.out, seconds, &args.session)?;
    if let Some(msg6) = &msg6 {
        write_message(&args.message, msg6)?;
    }
    std::fs::remove_file(&args.state).with_context(|| format!("deleting {}", args.state.display()))?;
    let title = format!(
        "acctmap complete: {} (session {})",
        state.accounts.display(),
        state.session
    );
    print_summary(&title, &report, &args.out, &written, &args.session)?;
    if let (Some(_), false) = (&msg6, args.session.quiet) {
        eprintln!(
            "wrote {} for your partner: they run `acctmap complete --reply {}` for their report. Session state deleted.",
            args.message.display(),
            args.message.display()
        );
    }
    Ok(())
}

/// A nested part of a message (the counts sub-session's or the pair round's), for `inspect --json`.
fn part_json(c: &Message) -> serde_json::Value {
    serde_json::json!({
        "step": c.kind.step(),
        "session": hex(&c.session).to_string(),
        "mode": c.mode,
        "sender_accounts": c.accounts(),
        "sender_populations": c.populations,
        "blinded_points": c.points.len() / 32,
        "returned_values": c.returned_count(),
        "key_commitment": (c.commitment != [0u8; 32]).then(|| hex(&c.commitment).to_string()),
        "proofs": c.proofs.len() / mapping_core::psi::PROOF_BYTES,
    })
}

pub fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    // Your own file: no partner limits, any step.
    let bytes = mapping_core::files::read_bounded(&args.message, u64::MAX)
        .with_context(|| format!("reading {}", args.message.display()))?;
    let msg = Message::decode(&bytes, u64::MAX).with_context(|| format!("{}", args.message.display()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let records: serde_json::Value = if msg.records.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&msg.records).unwrap_or(serde_json::Value::Null)
        };
        let doc = serde_json::json!({
            "step": msg.kind.step(),
            "type": msg.kind,
            "session": hex(&msg.session).to_string(),
            "mode": msg.mode,
            "slots": msg.slots,
            "truncation_bytes": msg.truncation,
            "sender_accounts": msg.accounts(),
            "sender_populations": msg.populations,
            "blinded_points": msg.points.len() / 32,
            "returned_values": msg.returned_count(),
            "key_commitment": (msg.commitment != [0u8; 32]).then(|| hex(&msg.commitment).to_string()),
            "proofs": msg.proofs.len() / mapping_core::psi::PROOF_BYTES,
            "counted_populations": msg.counted,
            "counts_part": msg.counts.as_deref().map(part_json),
            "pair_part": msg.pairs.as_deref().map(part_json),
            "shared_records": records,
            "partner_learns": msg.partner_learns(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        write!(out, "{}", msg.summary())?;
        if !msg.records.is_empty() {
            writeln!(out, "  shared records (as sent):")?;
            if let Ok(v) = serde_json::from_slice::<Vec<serde_json::Value>>(&msg.records) {
                for r in v.iter().take(20) {
                    writeln!(out, "    {}", mapping_core::display::printable(&r.to_string()))?;
                }
                if v.len() > 20 {
                    writeln!(out, "    … {} more (use --json for all)", v.len() - 20)?;
                }
            }
        }
    }
    Ok(())
}

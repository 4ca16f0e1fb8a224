//! `acctmap serve` and `acctmap connect`: one live session over TCP, through
//! `mapping_core::net` (SPAKE2 pairing code, encrypted channel, declarations checked before
//! any account data flows). The report is written only when the session succeeded.

use std::io::{BufRead, IsTerminal, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use mapping_core::net::{new_code, normalize_code, run_session, Declaration, NetRole};
use mapping_core::psi::Progress;

use crate::args::{ConnectArgs, LiveArgs, ServeArgs};
use crate::exchange::{build_party, load_policy, print_summary, with_pool, write_report};
use crate::output;

fn prepare_stream(s: &TcpStream, timeout: u64) -> anyhow::Result<()> {
    let t = Some(Duration::from_secs(timeout.max(1)));
    s.set_read_timeout(t)?;
    s.set_write_timeout(t)?;
    s.set_nodelay(true)?;
    Ok(())
}

/// Shows the partner's declaration and asks, unless `--yes`.
fn decide(live: &LiveArgs, d: &Declaration) -> bool {
    if !live.session.quiet || !live.yes {
        eprintln!("The partner declares:\n{}", d.describe());
    }
    if live.yes {
        return true;
    }
    if !std::io::stdin().is_terminal() {
        eprintln!("acctmap: not proceeding: no terminal to ask on; pass --yes for unattended runs");
        return false;
    }
    eprint!("Proceed with this partner? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

fn run(live: &LiveArgs, stream: TcpStream, role: NetRole, code: &str, title: &str) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let policy = load_policy(live.session.policy.as_deref(), &live.session)?;
    let progress = Progress::new();
    let party = build_party(&live.accounts, &live.input, policy, live.session.cache.as_deref())?
        .with_progress(progress.clone());
    prepare_stream(&stream, live.timeout)?;
    // One bar over this side's curve work: its own slots, and the partner's once declared.
    let bar = output::progress(party.slots_in_session(), "pairing", live.session.quiet);
    let done = AtomicBool::new(false);
    let mapping = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                bar.set_position(progress.get());
                std::thread::sleep(Duration::from_millis(150));
            }
        });
        let result = with_pool(live.session.threads, || {
            run_session(
                stream,
                role,
                &party,
                code,
                |d| {
                    bar.set_length(party.slots_in_session() + d.accounts * u64::from(d.slots));
                    bar.suspend(|| decide(live, d))
                },
                |step| bar.set_message(step.to_owned()),
            )
        });
        done.store(true, Ordering::Relaxed);
        result
    })??;
    bar.finish_and_clear();
    let seconds = t0.elapsed().as_secs_f64();
    let (report, written) = write_report(&party, &mapping, &live.out, seconds)?;
    print_summary(title, &report, &live.out, &written, &live.session)
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let code = match &args.code {
        Some(c) => {
            normalize_code(c)?;
            c.clone()
        }
        None => new_code(),
    };
    // Check the list before waiting for anyone.
    build_party(
        &args.live.accounts,
        &args.live.input,
        load_policy(args.live.session.policy.as_deref(), &args.live.session)?,
        None,
    )?;
    let listener = TcpListener::bind(&args.listen).with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!("acctmap: waiting for your partner on {addr}");
    if args.code.is_none() {
        eprintln!("acctmap: pairing code: {code}  (read it to your partner; they run `acctmap connect HOST:{} --code {code} ...`)", addr.port());
    }
    let (stream, peer) = listener.accept().context("accepting a connection")?;
    if !args.live.session.quiet {
        eprintln!("acctmap: partner connected from {peer}");
    }
    run(
        &args.live,
        stream,
        NetRole::Responder,
        &code,
        &format!("acctmap serve: session with {peer}"),
    )
}

pub fn connect(args: ConnectArgs) -> anyhow::Result<()> {
    normalize_code(&args.code)?;
    let addrs: Vec<_> = args
        .addr
        .to_socket_addrs()
        .with_context(|| format!("resolving {}", args.addr))?
        .collect();
    let Some(addr) = addrs.first() else {
        bail!("{} resolves to no address", args.addr);
    };
    let stream = TcpStream::connect_timeout(addr, Duration::from_secs(args.live.timeout.max(1)))
        .with_context(|| format!("connecting to {}", args.addr))?;
    run(
        &args.live,
        stream,
        NetRole::Initiator,
        &args.code,
        &format!("acctmap connect: session with {}", args.addr),
    )
}

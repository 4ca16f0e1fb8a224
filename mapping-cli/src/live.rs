//! `acctmap serve` and `acctmap connect`: one live session over TCP, through
//! `mapping_core::net` (SPAKE2 pairing code, encrypted channel, declarations checked before
//! any account data flows). The report is written only when the session succeeded.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use mapping_core::net::{new_code, normalize_code, run_session_with, Declaration, NetRole};
use mapping_core::party::Party;
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

/// A TCP stream whose reads end at a deadline for a whole step, not only after a quiet
/// spell: a client trickling a byte every second cannot hold pairing open past it.
struct Deadlined {
    stream: TcpStream,
    /// Until pairing completes; `None` afterwards (then only the per-read timeout holds).
    until: Arc<Mutex<Option<Instant>>>,
    per_read: Duration,
    /// The socket's read timeout is shortened for the deadline (and must be restored).
    shortened: bool,
}

impl Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let until = *self.until.lock().unwrap_or_else(|e| e.into_inner());
        match until {
            Some(t) => {
                let left = t.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "pairing deadline"));
                }
                self.stream.set_read_timeout(Some(left.min(self.per_read)))?;
                self.shortened = true;
            }
            // Paired: the per-read timeout again, set once rather than on every read.
            None if self.shortened => {
                self.stream.set_read_timeout(Some(self.per_read))?;
                self.shortened = false;
            }
            None => {}
        }
        self.stream.read(buf)
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

/// How a session on one connection ended.
enum Outcome {
    Done,
    /// It failed before the partner proved it knows the code: not our partner (or not yet).
    NotPaired(anyhow::Error),
}

/// Runs one session on `stream`; writes the report only when it succeeded.
fn run(
    live: &LiveArgs,
    party: &Party,
    progress: &Progress,
    stream: TcpStream,
    role: NetRole,
    code: &str,
    title: &str,
) -> anyhow::Result<Outcome> {
    let t0 = Instant::now();
    prepare_stream(&stream, live.timeout)?;
    // When this side's own step fails while the partner's message arrives, the read on the
    // partner ends at once (a partner that then falls silent cannot hold the session).
    let for_stop = stream.try_clone()?;
    let stop_reading: mapping_core::net::StopReading = Arc::new(move || {
        let _ = for_stop.shutdown(std::net::Shutdown::Read);
    });
    let per_read = Duration::from_secs(live.timeout.max(1));
    let until = Arc::new(Mutex::new(Some(Instant::now() + per_read)));
    let stream = Deadlined {
        stream,
        until: until.clone(),
        per_read,
        shortened: false,
    };
    let paired = AtomicBool::new(false);
    // One bar over this side's curve work: its own slots, and the partner's once declared.
    // Counted in accounts: slots divided by the slots per account.
    let k = (party.list().config.slots as u64).max(1);
    let bar = output::progress(party.slots_in_session() / k, "pairing", live.session.quiet);
    let done = AtomicBool::new(false);
    let mapping = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                bar.set_position(progress.get() / k);
                std::thread::sleep(Duration::from_millis(150));
            }
        });
        let result = with_pool(live.session.threads, || {
            run_session_with(
                stream,
                role,
                party,
                code,
                |d| {
                    bar.set_length((party.slots_in_session() + d.accounts * u64::from(d.slots)) / k);
                    bar.suspend(|| decide(live, d))
                },
                |step| {
                    if step != "pairing" && !paired.swap(true, Ordering::Relaxed) {
                        *until.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    }
                    bar.set_message(step.to_owned())
                },
                Some(stop_reading),
            )
        });
        done.store(true, Ordering::Relaxed);
        result
    });
    bar.finish_and_clear();
    let mapping = match mapping {
        Ok(Ok(m)) => m,
        Ok(Err(e)) if !paired.load(Ordering::Relaxed) => return Ok(Outcome::NotPaired(e.into())),
        Ok(Err(e)) => return Err(e.into()),
        Err(e) => return Err(e),
    };
    let seconds = t0.elapsed().as_secs_f64();
    let (report, written) = write_report(party, &mapping, &live.out, seconds, &live.session)?;
    print_summary(title, &report, &live.out, &written, &live.session)?;
    Ok(Outcome::Done)
}

fn prepared_party(live: &LiveArgs, progress: &Progress) -> anyhow::Result<Party> {
    crate::exchange::check_out_dir(&live.out)?;
    let policy = load_policy(live.session.policy.as_deref(), &live.session)?;
    Ok(
        build_party(&live.accounts, &live.input, policy, live.session.cache.as_deref())?
            .with_progress(progress.clone()),
    )
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let code = match &args.code {
        Some(c) => {
            normalize_code(c)?;
            c.clone()
        }
        None => new_code(),
    };
    // The list is read (and checked) before waiting for anyone.
    let progress = Progress::new();
    let party = prepared_party(&args.live, &progress)?;
    let listener = TcpListener::bind(&args.listen).with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!("acctmap: waiting for your partner on {addr}");
    if args.code.is_none() {
        eprintln!("acctmap: pairing code: {code}  (read it to your partner; they run `acctmap connect HOST:{} --code {code} ...`)", addr.port());
    }
    for attempt in 1..=args.attempts {
        let (stream, peer) = listener.accept().context("accepting a connection")?;
        if !args.live.session.quiet {
            eprintln!(
                "acctmap: connection from {peer} ({attempt} of {} attempts)",
                args.attempts
            );
        }
        match run(
            &args.live,
            &party,
            &progress,
            stream,
            NetRole::Responder,
            &code,
            &format!("acctmap serve: session with {peer}"),
        )? {
            Outcome::Done => return Ok(()),
            Outcome::NotPaired(e) => eprintln!("acctmap: dropped {peer}: it did not pair: {e:#}"),
        }
    }
    bail!(
        "no partner completed pairing in {} connection attempts (see the messages above)",
        args.attempts
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
    let progress = Progress::new();
    let party = prepared_party(&args.live, &progress)?;
    let stream = TcpStream::connect_timeout(addr, Duration::from_secs(args.live.timeout.max(1)))
        .with_context(|| format!("connecting to {}", args.addr))?;
    match run(
        &args.live,
        &party,
        &progress,
        stream,
        NetRole::Initiator,
        &args.code,
        &format!("acctmap connect: session with {}", args.addr),
    )? {
        Outcome::Done => Ok(()),
        Outcome::NotPaired(e) => Err(e),
    }
}

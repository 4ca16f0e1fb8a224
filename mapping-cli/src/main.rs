//! `acctmap`: the command line over `mapping-core`. It parses arguments, resolves options,
//! calls the library and prints; everything else lives in the library.

mod args;
mod bench;
mod config;
mod exchange;
mod live;
mod normalize;
mod notify;
mod output;
mod partners;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// mimalloc instead of the system allocator: ingest and normalization allocate small strings
/// per field, and glibc's malloc and free took about a quarter of a streamed read's time
/// (perf). The library leaves the choice to its embedder.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes (documented in README.md):
/// 0 success; 1 error (bad input, protocol failure, I/O); 2 usage error (from clap).
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Normalize(a) => normalize::run(a),
        Command::Generate(a) => normalize::generate(a),
        Command::Overlap(a) => exchange::overlap(a),
        Command::Start(a) => exchange::start(a),
        Command::Respond(a) => exchange::respond(a),
        Command::Continue(a) => exchange::continue_session(a),
        Command::Complete(a) => exchange::complete(a),
        Command::Inspect(a) => exchange::inspect(a),
        Command::Bench(a) => bench::run(a),
        Command::Serve(a) => live::serve(a),
        Command::Connect(a) => live::connect(a),
        Command::Eval(a) => normalize::eval(a),
        Command::Partners(a) => partners::run(a),
        Command::Completions { shell } => completions(shell),
        Command::Man => man(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            // Each cause once: a message that already says its cause (an I/O error naming the
            // file and the OS error) is not followed by the OS error again.
            let mut shown = e.to_string();
            eprintln!("acctmap: error: {shown}");
            for cause in e.chain().skip(1) {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown.push_str(&text);
                }
            }
            ExitCode::from(1)
        }
    }
}

/// A shell's completion script. Generated into memory first: clap_complete panics when its
/// writer fails, and a closed pipe is not an error here.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    use std::io::Write;
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "acctmap", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(())
}

/// The man page, acctmap(1): the command's own help as roff, its subcommands listed.
fn man() -> anyhow::Result<()> {
    let cmd = <Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock())?;
    Ok(())
}

/// A closed pipe (`acctmap normalize big.csv | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
            || c.downcast_ref::<csv::Error>()
                .is_some_and(|c| matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe))
    })
}

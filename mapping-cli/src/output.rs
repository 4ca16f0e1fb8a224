//! Terminal output helpers: plain aligned tables and progress bars that stay quiet when
//! stderr is not a terminal.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on stderr counting accounts, hidden when stderr is not a terminal or
/// `quiet` is set.
pub fn progress(len: u64, message: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg:>40} [{bar:30}] {human_pos}/{human_len} accounts ({elapsed} elapsed, ETA {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(message.to_owned());
    bar
}

/// Runs `f` while a bar with ETA follows `progress` (slots processed, shown as accounts of
/// `slots` slots each) from its current value up to `total` more slots; hidden when quiet or
/// not on a terminal.
pub fn track<T>(
    progress: &mapping_core::psi::Progress,
    total: u64,
    slots: u64,
    message: &str,
    quiet: bool,
    f: impl FnOnce() -> T,
) -> T {
    let slots = slots.max(1);
    let bar = self::progress(total / slots, message, quiet);
    if bar.is_hidden() {
        return f();
    }
    let start = progress.get();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                bar.set_position(progress.get().saturating_sub(start).min(total) / slots);
                std::thread::sleep(std::time::Duration::from_millis(150));
            }
        });
        let out = f();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        bar.finish_and_clear();
        out
    })
}

/// A spinner with elapsed time for steps whose length is not known in advance.
pub fn spinner(message: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Writes rows as an aligned text table; cells are cut at `max` characters.
pub fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>], max: usize) -> std::io::Result<()> {
    let cut = |s: &str| -> String {
        let one_line = s.replace(['\n', '\r', '\t'], " ");
        if one_line.chars().count() > max {
            let mut t: String = one_line.chars().take(max.saturating_sub(1)).collect();
            t.push('…');
            t
        } else {
            one_line
        }
    };
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| cut(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &cells {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |out: &mut dyn Write, r: &[String]| -> std::io::Result<()> {
        let mut s = String::new();
        for (i, c) in r.iter().enumerate() {
            let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(c.chars().count());
            s.push_str(c);
            if i + 1 < r.len() {
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(out, &header.iter().map(|h| h.to_string()).collect::<Vec<_>>())?;
    line(out, &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>())?;
    for r in &cells {
        line(out, r)?;
    }
    Ok(())
}

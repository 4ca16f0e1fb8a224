//! Physical records, before the CSV parser sees them.
//!
//! A quoted field may hold newlines, so one CSV record can span lines. A stray opening quote
//! (`"Acme, Inc` with no closing quote) would then swallow the rest of the file into one
//! field: 1,000 rows read as 3, with nothing rejected. [`RecordGate`] sits between the file
//! and the parser and follows the parser's quoting rules line by line. A record whose quoted
//! field is still open after [`MAX_RECORD_LINES`] lines or [`MAX_RECORD_BYTES`] bytes is
//! cut at its first line: that line is handed on as a one-field marker row (so it becomes a
//! reject that names its line) and the lines after it are read again as records of their
//! own. A single line longer than the byte limit becomes a marker row too.
//!
//! The gate also numbers lines itself (`\n`, `\r\n` and a lone `\r` each end one) and
//! queues the first line of every record it hands on, in order; the reader takes one per
//! record the parser yields. (The parser's own count runs one short on CRLF files.)

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::rc::Rc;

/// Lines one record may span (a multi-line address holds a few).
pub const MAX_RECORD_LINES: usize = 100;
/// Bytes one record may hold.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The marker row for a record cut at an unterminated quote.
pub(super) const UNTERMINATED: &[u8] = b"\x01acctmap: unterminated quote\x01";
/// The marker row for a line longer than [`MAX_RECORD_BYTES`].
pub(super) const OVERLONG: &[u8] = b"\x01acctmap: overlong row\x01";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: closes it, or starts an escaped `""`.
    Escape,
}

/// The CSV parser's quoting rules (RFC 4180 with doubled quotes; a quote opens a quoted field
/// only at the start of a field), one byte at a time.
fn step(state: Quote, b: u8, delimiter: u8) -> Quote {
    match (state, b) {
        (Quote::Quoted, b'"') => Quote::Escape,
        (Quote::Quoted, _) => Quote::Quoted,
        (Quote::Escape, b'"') => Quote::Quoted,
        (Quote::FieldStart, b'"') => Quote::Quoted,
        (_, b'\n' | b'\r') => Quote::FieldStart,
        (_, b) if b == delimiter => Quote::FieldStart,
        _ => Quote::Unquoted,
    }
}

/// A line read from the input: its bytes (with its newline, if any), and whether it was cut
/// at the byte limit (the rest of it was read and dropped).
struct Line {
    bytes: Vec<u8>,
    overlong: bool,
    /// 1-based line number in the file.
    number: u64,
}

impl Line {
    /// Ends with a line terminator.
    fn ended(&self) -> bool {
        matches!(self.bytes.last(), Some(b'\n' | b'\r'))
    }

    /// Holds nothing but its terminator (the parser skips such lines).
    fn blank(&self) -> bool {
        matches!(&self.bytes[..], b"\n" | b"\r\n" | b"\r")
    }

    fn terminator(&self) -> &'static [u8] {
        if self.bytes.ends_with(b"\r\n") {
            b"\r\n"
        } else if self.bytes.ends_with(b"\r") {
            b"\r"
        } else {
            b"\n"
        }
    }
}

/// The first line of each record handed to the parser, in order; shared with the reader.
pub(super) type RecordStarts = Rc<RefCell<VecDeque<u64>>>;

/// A `Read` that passes the input through record by record (see the module notes).
pub(super) struct RecordGate<R> {
    input: R,
    delimiter: u8,
    out: Vec<u8>,
    out_at: usize,
    /// Lines to examine again before reading more input (after a cut record).
    pending: VecDeque<Line>,
    /// Number of the next line read from the input.
    next_number: u64,
    starts: RecordStarts,
}

impl<R: BufRead> RecordGate<R> {
    /// A gate over `input` whose first line is line `first_line` of the file.
    pub(super) fn new(input: R, delimiter: u8, first_line: u64) -> Self {
        RecordGate {
            input,
            delimiter,
            out: Vec::new(),
            out_at: 0,
            pending: VecDeque::new(),
            next_number: first_line,
            starts: RecordStarts::default(),
        }
    }

    /// The queue of record start lines (see the module notes).
    pub(super) fn starts(&self) -> RecordStarts {
        self.starts.clone()
    }

    /// The next physical line, at most `MAX_RECORD_BYTES + 1` bytes of it kept.
    fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        if let Some(line) = self.pending.pop_front() {
            return Ok(Some(line));
        }
        let mut bytes = Vec::new();
        let mut overlong = false;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let (take, done, cr) = match buf.iter().position(|b| *b == b'\n' || *b == b'\r') {
                Some(i) if buf[i] == b'\r' && i + 1 < buf.len() && buf[i + 1] == b'\n' => (i + 2, true, false),
                Some(i) if buf[i] == b'\r' => (i + 1, true, i + 1 == buf.len()),
                Some(i) => (i + 1, true, false),
                None => (buf.len(), false, false),
            };
            let room = (MAX_RECORD_BYTES + 1).saturating_sub(bytes.len());
            if take > room {
                overlong = true;
            }
            bytes.extend_from_slice(&buf[..take.min(room)]);
            self.input.consume(take);
            if cr {
                // A `\r` at the end of the buffer: a `\n` may follow in the next one.
                if let Ok(next) = self.input.fill_buf() {
                    if next.first() == Some(&b'\n') {
                        self.input.consume(1);
                        bytes.push(b'\n');
                    }
                }
            }
            if done {
                if overlong && !matches!(bytes.last(), Some(b'\n' | b'\r')) {
                    bytes.push(b'\n');
                }
                break;
            }
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        let number = self.next_number;
        self.next_number += 1;
        Ok(Some(Line {
            bytes,
            overlong,
            number,
        }))
    }

    /// Puts the next record (or a marker row) into `out`; false at the end of the input.
    fn fill(&mut self) -> std::io::Result<bool> {
        self.out.clear();
        self.out_at = 0;
        let mut lines: Vec<Line> = Vec::new();
        let mut state = Quote::FieldStart;
        let mut bytes = 0usize;
        loop {
            let Some(line) = self.next_line()? else {
                // The input ends inside a quoted field: one line is the parser's to handle;
                // more is a swallowed file.
                return Ok(match lines.len() {
                    0 => false,
                    1 => self.emit(lines),
                    _ => self.cut(lines),
                });
            };
            if line.overlong {
                if lines.is_empty() {
                    self.marker(OVERLONG, &line);
                    return Ok(true);
                }
                self.pending.push_front(line);
                return Ok(self.cut(lines));
            }
            for &b in &line.bytes {
                state = step(state, b, self.delimiter);
            }
            bytes += line.bytes.len();
            let ended = line.ended();
            lines.push(line);
            if ended && !matches!(state, Quote::Quoted) {
                return Ok(self.emit(lines));
            }
            if lines.len() > MAX_RECORD_LINES || bytes > MAX_RECORD_BYTES {
                return Ok(self.cut(lines));
            }
        }
    }

    fn emit(&mut self, lines: Vec<Line>) -> bool {
        if !(lines.len() == 1 && lines[0].blank()) {
            self.starts.borrow_mut().push_back(lines[0].number);
        }
        for l in lines {
            self.out.extend_from_slice(&l.bytes);
        }
        true
    }

    /// The first line becomes a marker row; the others are read again.
    fn cut(&mut self, mut lines: Vec<Line>) -> bool {
        let rest = lines.split_off(1);
        for l in rest.into_iter().rev() {
            self.pending.push_front(l);
        }
        self.marker(UNTERMINATED, &lines[0]);
        true
    }

    fn marker(&mut self, text: &[u8], line: &Line) {
        self.starts.borrow_mut().push_back(line.number);
        self.out.extend_from_slice(text);
        self.out.extend_from_slice(line.terminator());
    }
}

impl<R: BufRead> Read for RecordGate<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_at == self.out.len() {
            if !self.fill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_at);
        buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        self.out_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(text: &str) -> String {
        let mut out = String::new();
        RecordGate::new(text.as_bytes(), b',', 1)
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn ordinary_and_multiline_records_pass_unchanged() {
        for text in [
            "a,b\n1,2\n",
            "a,b\r\n\"x\r\ny\",2\r\n3,4",
            "a,\"he said \"\"hi\"\"\"\n5\" screen,x\n",
            "",
        ] {
            assert_eq!(pass(text), text);
        }
    }

    #[test]
    fn a_stray_quote_is_cut_at_its_line_and_the_rest_read_again() {
        let mut text = String::from("Name,Website\n\"Acme, Inc,acme.com\n");
        for i in 0..150 {
            text.push_str(&format!("Company {i},c{i}.com\n"));
        }
        let out = pass(&text);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 152, "every physical line keeps its place");
        assert_eq!(lines[1].as_bytes(), UNTERMINATED);
        assert_eq!(lines[2], "Company 0,c0.com");
        assert_eq!(lines[151], "Company 149,c149.com");
    }

    #[test]
    fn record_starts_count_every_terminator() {
        let text = "h1,h2\r\n\r\na,\"x\r\ny\"\rb,2\r\rc,3";
        let mut gate = RecordGate::new(text.as_bytes(), b',', 1);
        let starts = gate.starts();
        let mut out = String::new();
        gate.read_to_string(&mut out).unwrap();
        assert_eq!(out, text);
        assert_eq!(Vec::from(starts.borrow().clone()), [1, 3, 5, 7]);
    }

    #[test]
    fn an_overlong_line_becomes_a_marker() {
        let text = format!("a,b\n{},x\nok,1\n", "y".repeat(MAX_RECORD_BYTES + 10));
        let out = pass(&text);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines, ["a,b", std::str::from_utf8(OVERLONG).unwrap(), "ok,1"]);
    }
}

//! The library's one error type. Every variant names where the problem is (a file, a line,
//! a column, a message field) so that a user can act on it without a debugger.

use std::fmt;
use std::path::PathBuf;

/// An error from `mapping-core`. Cheap to move (one box); inspect it with [`Error::kind`].
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing a file failed.
    Io {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The input has no rows at all (not even a header).
    EmptyInput {
        /// File name or label of the input.
        source: String,
    },
    /// The input is not delimited text (binary data, a spreadsheet workbook, ...).
    NotCsv {
        /// File name or label of the input.
        source: String,
        /// What was seen instead.
        reason: String,
    },
    /// The CSV parser could not read a record.
    Csv {
        /// File name or label of the input.
        source: String,
        /// 1-based line number in the file, where known.
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// No column holds a name, website, domain or e-mail address.
    NoIdentifyingColumn {
        /// File name or label of the input.
        source: String,
        /// The header as read.
        headers: Vec<String>,
    },
    /// A column named in an explicit mapping is not in the file.
    UnknownColumn {
        /// File name or label of the input.
        source: String,
        /// The column asked for.
        column: String,
        /// The header as read.
        headers: Vec<String>,
    },
    /// An option or configuration value is invalid.
    Config {
        /// What is wrong, naming the option.
        message: String,
    },
    /// A protocol message from the peer (or a file claiming to be one) is invalid.
    Message {
        /// Which message or field.
        context: String,
        /// What is wrong with it.
        message: String,
    },
    /// The peer or the local state does not allow this protocol step.
    Protocol {
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// The kind of error, with its positions.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    pub(crate) fn io(path: Option<PathBuf>, source: std::io::Error) -> Self {
        ErrorKind::Io { path, source }.into()
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        ErrorKind::Config {
            message: message.into(),
        }
        .into()
    }

    pub(crate) fn message(context: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorKind::Message {
            context: context.into(),
            message: message.into(),
        }
        .into()
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        ErrorKind::Protocol {
            message: message.into(),
        }
        .into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Io { path: Some(p), source } => write!(f, "{}: {source}", p.display()),
            ErrorKind::Io { path: None, source } => write!(f, "I/O error: {source}"),
            ErrorKind::EmptyInput { source } => write!(f, "{source}: the file is empty (no header row)"),
            ErrorKind::NotCsv { source, reason } => write!(f, "{source}: not a CSV/TSV file: {reason}"),
            ErrorKind::Csv { source, line, message } => write!(f, "{source}: line {line}: {message}"),
            ErrorKind::NoIdentifyingColumn { source, headers } => write!(
                f,
                "{source}: no column holds a company name, website, domain or e-mail address \
                 (columns: {}); name one with --column name=HEADER or --column website=HEADER",
                headers.join(", ")
            ),
            ErrorKind::UnknownColumn {
                source,
                column,
                headers,
            } => write!(
                f,
                "{source}: there is no column {column:?} (columns: {})",
                headers.join(", ")
            ),
            ErrorKind::Config { message } => write!(f, "{message}"),
            ErrorKind::Message { context, message } => write!(f, "invalid {context}: {message}"),
            ErrorKind::Protocol { message } => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Why an input was refused. Every variant that concerns a place in the input names it:
//! 1-based line numbers and 0-based byte offsets into the input as given.

use crate::model::Format;

/// A refused list file. [`ListError::code`] gives a stable machine-readable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    #[error("the input is empty")]
    Empty,

    #[error("the input is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },

    #[error("the input is {encoding}, not UTF-8 (byte {offset}); convert it to UTF-8 first")]
    WrongEncoding { encoding: &'static str, offset: usize },

    #[error("invalid UTF-8 at line {line}, byte {offset}")]
    InvalidUtf8 { line: u64, offset: usize },

    #[error("byte 0x{byte:02x} at line {line}, byte {offset} is not valid text: this is binary data, not a list")]
    Binary { line: u64, offset: usize, byte: u8 },

    #[error("line {line}: field {field} is over the limit of {limit} bytes")]
    FieldTooLarge { line: u64, field: String, limit: usize },

    #[error("line {line}: more than {limit} fields in one row")]
    TooManyFields { line: u64, limit: usize },

    #[error("line {line}: quoted field opened at byte {offset} is never closed (truncated input?)")]
    UnterminatedQuote { line: u64, offset: usize },

    #[error("line {line}, byte {offset}: {reason}")]
    Malformed { line: u64, offset: usize, reason: String },

    #[error("line {line}: expected {expected} fields, found {found}")]
    FieldCount { line: u64, expected: usize, found: usize },

    #[error("line {line}: the header has no `{column}` column")]
    MissingColumn { line: u64, column: String },

    #[error("line {line}: unknown column `{column}` in the header")]
    UnknownColumn { line: u64, column: String },

    #[error("line {line}: {field}: {reason}")]
    InvalidField { line: u64, field: String, reason: String },

    #[error("line {line}: entity id `{id}` appears twice (first on line {first_line})")]
    DuplicateId { line: u64, id: String, first_line: u64 },

    #[error("more than {limit} records")]
    TooManyRecords { limit: usize },

    #[error("XML at line {line}, byte {offset}: {message}")]
    Xml { line: u64, offset: u64, message: String },

    #[error("XML at line {line}, byte {offset}: the DOCTYPE declares entities; entity declarations are refused")]
    XmlEntityDeclaration { line: u64, offset: u64 },

    #[error("XML at line {line}, byte {offset}: unknown entity reference `&{name};`")]
    XmlUnknownEntity { line: u64, offset: u64, name: String },

    #[error("XML at line {line}, byte {offset}: elements nested deeper than {limit}")]
    XmlTooDeep { line: u64, offset: u64, limit: usize },

    #[error("XML root element is <{found}>, expected <{expected}>")]
    UnexpectedRoot { expected: &'static str, found: String },

    #[error("the input ends at byte {offset} (line {line}) before the document is complete")]
    Truncated { line: u64, offset: u64 },

    #[error("the content is not a list format this crate knows")]
    UnknownFormat,

    #[error("expected {expected} content, but it looks like {found}")]
    WrongFormat { expected: Format, found: String },

    #[error("in the {file} file: {error}")]
    InFile {
        file: Format,
        #[source]
        error: Box<ListError>,
    },
}

impl ListError {
    /// A stable code for logs, metrics and API problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            ListError::Empty => "LIST-EMPTY",
            ListError::TooLarge { .. } => "LIST-TOO-LARGE",
            ListError::WrongEncoding { .. } => "LIST-WRONG-ENCODING",
            ListError::InvalidUtf8 { .. } => "LIST-INVALID-UTF8",
            ListError::Binary { .. } => "LIST-BINARY",
            ListError::FieldTooLarge { .. } => "LIST-FIELD-TOO-LARGE",
            ListError::TooManyFields { .. } => "LIST-TOO-MANY-FIELDS",
            ListError::UnterminatedQuote { .. } => "LIST-UNTERMINATED-QUOTE",
            ListError::Malformed { .. } => "LIST-MALFORMED",
            ListError::FieldCount { .. } => "LIST-FIELD-COUNT",
            ListError::MissingColumn { .. } => "LIST-MISSING-COLUMN",
            ListError::UnknownColumn { .. } => "LIST-UNKNOWN-COLUMN",
            ListError::InvalidField { .. } => "LIST-INVALID-FIELD",
            ListError::DuplicateId { .. } => "LIST-DUPLICATE-ID",
            ListError::TooManyRecords { .. } => "LIST-TOO-MANY-RECORDS",
            ListError::Xml { .. } => "LIST-XML",
            ListError::XmlEntityDeclaration { .. } => "LIST-XML-ENTITY-DECLARATION",
            ListError::XmlUnknownEntity { .. } => "LIST-XML-UNKNOWN-ENTITY",
            ListError::XmlTooDeep { .. } => "LIST-XML-TOO-DEEP",
            ListError::UnexpectedRoot { .. } => "LIST-UNEXPECTED-ROOT",
            ListError::Truncated { .. } => "LIST-TRUNCATED",
            ListError::UnknownFormat => "LIST-UNKNOWN-FORMAT",
            ListError::WrongFormat { .. } => "LIST-WRONG-FORMAT",
            ListError::InFile { error, .. } => error.code(),
        }
    }

    /// The error itself, without the [`ListError::InFile`] wrapper.
    pub fn root(&self) -> &ListError {
        match self {
            ListError::InFile { error, .. } => error.root(),
            other => other,
        }
    }

    pub(crate) fn in_file(self, file: Format) -> ListError {
        ListError::InFile { file, error: Box::new(self) }
    }
}

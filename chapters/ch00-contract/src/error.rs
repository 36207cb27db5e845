//! The one error type every stage returns.
//!
//! A storage engine fails in three different ways, and the caller needs to
//! tell them apart: the operating system refused (disk full, permission
//! denied), the bytes on disk are not what the format promises (a torn write,
//! a flipped bit, someone else's file), or the caller asked for something the
//! store does not allow (a key that is too long). Each variant carries enough
//! to act on: the path involved, the offset of the bad bytes, what was
//! expected there.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Shorthand used by every stage.
pub type Result<T, E = Error> = std::result::Result<T, E>;

// ANCHOR: error
/// Everything that can go wrong in a store.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The operating system reported an error while working on `path`.
    Io {
        /// The file or directory the operation touched.
        path: PathBuf,
        /// What the store was doing, e.g. "reading", "renaming into place".
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// A file does not hold what its format promises.
    Corruption {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset in the file where the problem was found.
        offset: u64,
        /// What the format requires at that offset.
        expected: String,
        /// What was actually there.
        found: String,
    },
    /// A key longer than [`MAX_KEY_LEN`](crate::MAX_KEY_LEN).
    KeyTooLarge {
        /// Length of the rejected key in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A value longer than [`MAX_VALUE_LEN`](crate::MAX_VALUE_LEN).
    ValueTooLarge {
        /// Length of the rejected value in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The store refuses writes and syncs because an earlier sync of
    /// `path` failed. After a failed `fsync` the kernel may have dropped
    /// the data it could not write and marked the pages clean, so a second
    /// `fsync` can report success for data that is gone; a store that kept
    /// going would acknowledge writes it may have lost. Reads still work.
    Poisoned {
        /// The store's directory.
        path: PathBuf,
        /// The error the failed sync returned.
        cause: String,
    },
    /// Any other request the store cannot accept (a bad option, say).
    InvalidInput(String),
}
// ANCHOR_END: error

impl Error {
    /// An I/O error on `path`, with what the store was doing at the time.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            action,
            source,
        }
    }

    /// Bytes at `offset` in `path` are not what the format requires.
    pub fn corruption(
        path: impl Into<PathBuf>,
        offset: u64,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Error::Corruption {
            path: path.into(),
            offset,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// True for errors caused by damaged or foreign files, as opposed to the
    /// operating system or the caller.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                path,
                action,
                source,
            } => write!(f, "{action} {}: {source}", path.display()),
            Error::Corruption {
                path,
                offset,
                expected,
                found,
            } => write!(
                f,
                "corrupt file {} at byte offset {offset}: expected {expected}, found {found}",
                path.display()
            ),
            Error::KeyTooLarge { len, max } => {
                write!(f, "key is {len} bytes long; the limit is {max} bytes")
            }
            Error::ValueTooLarge { len, max } => {
                write!(f, "value is {len} bytes long; the limit is {max} bytes")
            }
            Error::Poisoned { path, cause } => write!(
                f,
                "the store in {} accepts no more writes: an earlier sync failed ({cause}), so \
                 data it had written may be lost; after a restart of the machine, reopen the \
                 store to see what the disk holds",
                path.display()
            ),
            Error::InvalidInput(message) => write!(f, "invalid input: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Attaches a path and an action to an [`io::Result`], so that `?` on a raw
/// I/O call produces an error that says which file failed and why:
///
/// ```
/// use ch00_contract::IoContext;
/// # fn main() -> ch00_contract::Result<()> {
/// let path = std::path::Path::new("/definitely/not/here");
/// let err = std::fs::read(path).context("reading", path).unwrap_err();
/// assert!(err.to_string().starts_with("reading /definitely/not/here: "));
/// # Ok(())
/// # }
/// ```
// ANCHOR: io_context
pub trait IoContext<T> {
    /// Converts an I/O error into [`Error::Io`] naming `path`.
    fn context(self, action: &'static str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, action: &'static str, path: &Path) -> Result<T> {
        self.map_err(|source| Error::io(action, path, source))
    }
}
// ANCHOR_END: io_context

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_offset_and_expectation() {
        // ANCHOR: corruption_message
        let err = Error::corruption("/data/table.sst", 4096, "magic number 0x4B56", "0x0000");
        assert_eq!(
            err.to_string(),
            "corrupt file /data/table.sst at byte offset 4096: expected magic number 0x4B56, found 0x0000"
        );
        // ANCHOR_END: corruption_message
        assert!(err.is_corruption());

        let err = Error::io(
            "opening",
            "/data/wal",
            io::Error::new(io::ErrorKind::PermissionDenied, "permission denied"),
        );
        assert_eq!(err.to_string(), "opening /data/wal: permission denied");
        assert!(!err.is_corruption());
        assert!(std::error::Error::source(&err).is_some());

        let err = Error::KeyTooLarge {
            len: 70_000,
            max: 65_535,
        };
        assert_eq!(
            err.to_string(),
            "key is 70000 bytes long; the limit is 65535 bytes"
        );

        let err = Error::Poisoned {
            path: "/data".into(),
            cause: "syncing /data/a.json: Input/output error".into(),
        };
        let message = err.to_string();
        assert!(message.contains("accepts no more writes"), "{message}");
        assert!(message.contains("reopen the store"), "{message}");
        assert!(!err.is_corruption());
    }
}

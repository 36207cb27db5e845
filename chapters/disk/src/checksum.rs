//! A writer that computes a checksum of what passes through it.

use std::io::{self, Write};

// ANCHOR: checksummed
/// A writer that passes bytes on and keeps their CRC-32, so that a file's
/// checksum is computed as the file streams out, never from a copy of it
/// in memory.
pub struct Checksummed<'a, W: Write> {
    out: &'a mut W,
    crc: crc32fast::Hasher,
}

impl<'a, W: Write> Checksummed<'a, W> {
    /// Wraps `out`, with the CRC-32 of nothing so far.
    pub fn new(out: &'a mut W) -> Self {
        Checksummed {
            out,
            crc: crc32fast::Hasher::new(),
        }
    }

    /// The CRC-32 of every byte written through so far.
    pub fn checksum(&self) -> u32 {
        self.crc.clone().finalize()
    }

    /// The writer underneath, to write bytes the checksum does not cover
    /// (such as the checksum itself).
    pub fn inner(&mut self) -> &mut W {
        self.out
    }
}

impl<W: Write> Write for Checksummed<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Only what the writer underneath took is counted: a short write
        // is retried by `write_all` with the rest.
        let n = self.out.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
// ANCHOR_END: checksummed

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_is_that_of_the_bytes_passed_on() {
        let mut out = Vec::new();
        let mut sink = Checksummed::new(&mut out);
        sink.write_all(b"hello ").unwrap();
        sink.write_all(b"world").unwrap();
        let crc = sink.checksum();
        sink.inner().write_all(b"!").unwrap();
        assert_eq!(crc, crc32fast::hash(b"hello world"));
        assert_eq!(out, b"hello world!");
    }
}

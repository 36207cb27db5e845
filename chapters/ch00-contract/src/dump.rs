//! A hex dump, the way every chapter's snapshot tests pin a file format
//! byte for byte: a change to the format then shows up as a reviewed diff
//! of this text.

use std::fmt::Write;

/// `bytes` as lines of an offset, 16 bytes in hex and the same bytes as
/// ASCII (`.` for anything unprintable):
///
/// ```
/// assert_eq!(
///     ch00_contract::hex_dump(b"[\"v\",\"k\"]\n"),
///     "00000000  5b 22 76 22 2c 22 6b 22  5d 0a                    |[\"v\",\"k\"].|\n"
/// );
/// ```
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x} ", line * 16);
        for i in 0..16 {
            if i == 8 {
                out.push(' ');
            }
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, " {b:02x}");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        }));
        out.push_str("|\n");
    }
    out
}

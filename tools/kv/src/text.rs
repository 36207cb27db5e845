//! How keys and sizes are written on a terminal.
//!
//! Keys are arbitrary bytes. Printed raw they could hold control
//! characters, or bytes that are not UTF-8, and two different keys could
//! look the same; so printable ASCII is shown as it is and everything else
//! as `\xNN`, inside quotes. [`unescape`] reads the same notation back,
//! so a key copied from `inspect` output can be given to `get`.

/// `bytes` in quotes, printable ASCII as is, `\` and `"` escaped, every
/// other byte as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b' '..=b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// At most `max` bytes of `bytes`, escaped, with `…` when cut: a value or
/// a long key shown without flooding the screen.
pub fn escape_short(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        escape(bytes)
    } else {
        format!("{}… ({} bytes)", escape(&bytes[..max]), bytes.len())
    }
}

/// The bytes `text` means, reading `\xNN`, `\\` and `\"` as [`escape`]
/// writes them (no quotes around it: the shell took those). Anything else
/// after a backslash is an error, so a typo does not become a silently
/// different key.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'\\') => out.push(b'\\'),
            Some(b'"') => out.push(b'"'),
            Some(b'x') => {
                let hex = text
                    .get(i + 2..i + 4)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        format!("`\\x` must be followed by two hex digits in {text:?}")
                    })?;
                out.push(hex);
                i += 2;
            }
            _ => {
                return Err(format!(
                    "unknown escape after `\\` in {text:?} (use \\xNN, \\\\ or \\\")"
                ));
            }
        }
        i += 2;
    }
    Ok(out)
}

/// Rows as aligned columns, each line indented by `indent` spaces:
/// `align` holds one `l` (left) or `r` (right) per column, numbers read
/// best right-aligned. Trailing spaces are trimmed, so snapshots do not
/// hold invisible differences.
pub fn columns(indent: usize, align: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let align: Vec<char> = align.chars().collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let len = cell.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(len),
                None => widths.push(len),
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = " ".repeat(indent);
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let width = widths.get(i).copied().unwrap_or(0);
            let pad = width.saturating_sub(cell.chars().count());
            if align.get(i) == Some(&'r') {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `n` followed by `one` or `many`: "1 table", "3 tables".
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips() {
        let key = b"a\"b\\c\x00\xff ~";
        let shown = escape(key);
        assert_eq!(shown, r#""a\"b\\c\x00\xff ~""#);
        assert_eq!(unescape(&shown[1..shown.len() - 1]).unwrap(), key);
        assert!(unescape("\\q").is_err());
        assert!(unescape("\\x4").is_err());
        assert_eq!(escape_short(b"abcdef", 3), "\"abc\"… (6 bytes)");
    }
}

//! What a key's file holds: the JSON array `[value, key]`.
//!
//! JSON keeps the files readable in any editor, but it has no byte strings:
//! a JSON string is Unicode text. So each of the two byte strings is written
//! one of two ways:
//!
//! - bytes that are valid UTF-8 as a JSON string, `"hello"`, which
//!   serde_json escapes where JSON requires it (`"\u0000"`, `"\""`), so any
//!   UTF-8 text round-trips exactly;
//! - any other bytes as an object holding their hex digits,
//!   `{"hex":"ff00"}`, which cannot be mistaken for a string.
//!
//! The key is stored beside the value because the file name is only a hash:
//! without the key, a reader could neither tell two colliding keys apart nor
//! list the keys of the store.

use std::path::Path;

use ch00_contract::{Error, KeyValue, MAX_KEY_LEN, MAX_VALUE_LEN, Result};
use serde::{Deserialize, Serialize};

// ANCHOR: bytes
/// One byte string as JSON: text when it is UTF-8, hex digits otherwise.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum JsonBytes {
    Text(String),
    Binary(Hex),
}

/// `{"hex": "..."}`, and no other field.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hex {
    hex: String,
}

impl JsonBytes {
    fn new(bytes: &[u8]) -> JsonBytes {
        match std::str::from_utf8(bytes) {
            Ok(text) => JsonBytes::Text(text.to_owned()),
            Err(_) => JsonBytes::Binary(Hex {
                hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            }),
        }
    }
}
// ANCHOR_END: bytes

/// The bytes of a hex string, or `None` if it is not one.
fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            let pair = hex.get(i..i + 2)?;
            // `from_str_radix` would accept a sign ("+f"); digits only.
            pair.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| u8::from_str_radix(pair, 16).ok())?
        })
        .collect()
}

/// The longest file [`encode`] can write: a key and a value at their size
/// limits, every byte written as a six-character JSON escape (`\u0001`),
/// and room for the brackets, quotes and newline.
pub const MAX_FILE_LEN: u64 = 6 * (MAX_KEY_LEN + MAX_VALUE_LEN) as u64 + 16;

// ANCHOR: encode
/// The file content for `key` and `value`: `[value, key]` and a newline.
pub fn encode(key: &[u8], value: &[u8]) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec(&(JsonBytes::new(value), JsonBytes::new(key)))
        .map_err(|e| Error::InvalidInput(format!("cannot encode an entry as JSON: {e}")))?;
    out.push(b'\n');
    Ok(out)
}
// ANCHOR_END: encode

// ANCHOR: decode
/// The `(key, value)` held by `bytes`, the content of the file at `path`;
/// a corruption error naming the file and the offset of the problem if the
/// content is not what [`encode`] writes.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<KeyValue> {
    let (value, key): (JsonBytes, JsonBytes) = serde_json::from_slice(bytes).map_err(|e| {
        Error::corruption(
            path,
            if e.is_eof() {
                bytes.len() as u64
            } else {
                offset_of(bytes, e.line(), e.column())
            },
            "a JSON array [value, key] of strings or {\"hex\": ...} objects",
            e.to_string(),
        )
    })?;
    let to_bytes = |b: JsonBytes, what: &str| match b {
        JsonBytes::Text(text) => Ok(text.into_bytes()),
        JsonBytes::Binary(Hex { hex }) => unhex(&hex).ok_or_else(|| {
            Error::corruption(
                path,
                0,
                format!("the {what} as an even number of hex digits"),
                format!("{hex:?}"),
            )
        }),
    };
    let (key, value) = (to_bytes(key, "key")?, to_bytes(value, "value")?);
    // The contract's limits hold for what is read back, too: a file edited
    // by hand must not hand a caller a value no `set` could have stored.
    for (what, len, max) in [
        ("key", key.len(), MAX_KEY_LEN),
        ("value", value.len(), MAX_VALUE_LEN),
    ] {
        if len > max {
            return Err(Error::corruption(
                path,
                0,
                format!("a {what} of at most {max} bytes"),
                format!("a {what} of {len} bytes"),
            ));
        }
    }
    Ok((key, value))
}
// ANCHOR_END: decode

/// The byte offset of serde_json's 1-based `line` and `column` in `bytes`
/// (line 0 means no position; column 0 the start of the line).
fn offset_of(bytes: &[u8], line: usize, column: usize) -> u64 {
    if line == 0 {
        return 0;
    }
    let line_start = if line == 1 {
        0
    } else {
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(bytes.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)).min(bytes.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(key: &[u8], value: &[u8]) -> String {
        String::from_utf8(encode(key, value).unwrap()).unwrap()
    }

    #[test]
    fn text_stays_readable_and_bytes_become_hex() {
        assert_eq!(text(b"user:1", b"Ada"), "[\"Ada\",\"user:1\"]\n");
        assert_eq!(text(b"k", b"\xff\x00"), "[{\"hex\":\"ff00\"},\"k\"]\n");
        assert_eq!(text(b"", b""), "[\"\",\"\"]\n");
        assert_eq!(text(b"a\0\"", "é".as_bytes()), "[\"é\",\"a\\u0000\\\"\"]\n");
    }

    #[test]
    fn damaged_content_is_an_error_with_an_offset() {
        let path = Path::new("/store/3f/x.json");
        for (bytes, offset) in [
            (&b""[..], 0),
            (b"[\"v\",\"k\"", 8),
            (b"[\"v\"]", 4),
            (b"[\"v\",\"k\",\"x\"]", 9),
            (b"{\"v\":\"k\"}", 0),
            // An untagged enum reports the end of the value it rejected.
            (b"[\"v\",\n 7]", 8),
            (b"[{\"hex\":\"f\"},\"k\"]", 0),
            (b"[{\"hex\":\"+f\"},\"k\"]", 0),
            (b"[{\"hex\":\"00\",\"x\":1},\"k\"]", 0),
            (b"[\"v\",\"k\"] trailing", 10),
        ] {
            let err = decode(path, bytes).unwrap_err();
            match &err {
                Error::Corruption {
                    path: p, offset: o, ..
                } => {
                    assert_eq!(p, path);
                    assert!(*o <= bytes.len() as u64);
                    if offset > 0 {
                        assert_eq!(*o, offset, "{err}");
                    }
                }
                other => panic!("{other}"),
            }
            assert!(err.to_string().contains("/store/3f/x.json"), "{err}");
        }
    }

    #[test]
    fn hex_in_either_case_decodes() {
        let path = Path::new("x");
        let (key, value) = decode(path, b"[{\"hex\":\"FFfe\"},\"k\"]").unwrap();
        assert_eq!((key, value), (b"k".to_vec(), vec![0xff, 0xfe]));
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(
            key in proptest::collection::vec(any::<u8>(), 0..40),
            value in proptest::collection::vec(any::<u8>(), 0..40),
            text_value in ".{0,20}",
        ) {
            let path = Path::new("x");
            let decoded = decode(path, &encode(&key, &value).unwrap()).unwrap();
            prop_assert_eq!(decoded, (key.clone(), value));
            let decoded = decode(path, &encode(&key, text_value.as_bytes()).unwrap()).unwrap();
            prop_assert_eq!(decoded.1, text_value.into_bytes());
        }
    }
}

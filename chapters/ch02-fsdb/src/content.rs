//! What a key's file holds: the JSON array `[value, key, checksum]` and a
//! newline.
//!
//! ```text
//! ["Ada","user:1",{"crc32":"15a91b63"}]
//! ```
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
//!
//! The checksum is there because JSON alone does not notice damage: most
//! flipped bits inside a string leave valid JSON that holds another value,
//! and the store would have returned it with no error. Format version 1
//! had no checksum; the array has grown a third element (see `TAIL_OPEN`
//! for what it covers and why).

use std::path::Path;

use ch00_contract::{Error, KeyValue, MAX_KEY_LEN, MAX_VALUE_LEN, Result};
use serde::de::IgnoredAny;
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

// ANCHOR: checksum
/// The checksum, the array's third element, is the CRC-32 (the standard
/// one, as `crc32fast` and zlib compute it) of every byte of the file
/// before it: `[`, the value, `,`, the key, `,`. Why these choices:
///
/// - **A CRC-32.** A CRC is certain to detect an error that flips one bit,
///   or any number of bits within 32 consecutive ones, and lets other
///   damage through about once in four billion times. A general-purpose
///   hash, such as the XXH3 that names the files, makes a miss unlikely
///   but promises nothing for any particular error. Any CRC-32 tool can
///   check these files, and chapters 3 and 4 use the same CRC. It is no
///   defence against someone who changes a file on purpose, since anyone
///   can recompute it; that is also how a file can still be edited by
///   hand: edit it, then recompute the checksum.
/// - **Of the JSON text, not of the decoded bytes.** The guarantee holds
///   for the bytes the CRC is computed over. One flipped bit in the text
///   can change several decoded bytes (a `"` turned into `b` moves where a
///   string ends) or none (`f` turned into `F` among hex digits); over the
///   decoded bytes, such a flip would be caught almost always, but not
///   certainly. Over the text, a flipped bit on disk is a flipped bit in
///   the CRC's input, caught every time, and caught before the JSON is
///   parsed.
/// - **At the end, in a fixed shape.** The checksum is always in the
///   file's last 22 bytes, `{"crc32":"<8 hex digits>"}]` and a newline, so
///   a reader finds it without parsing anything, and a flipped bit in those
///   bytes either breaks their shape or changes the checksum. The only
///   newline in a file [`encode`] writes is its last byte (serde_json
///   escapes newlines inside strings), so a file cut short never ends like
///   a whole one.
/// - **As an object of hex digits**, like `{"hex": ...}`: whoever reads the
///   file sees what the number is, and eight lowercase hex digits have a
///   fixed width, which a JSON number does not.
const TAIL_OPEN: &[u8] = b"{\"crc32\":\"";
/// The checksum's digits: a `u32` in lowercase hex, always eight of them.
const CRC_DIGITS: usize = 8;
/// What follows the digits: the end of the object, of the array, and the
/// newline that ends the file.
const TAIL_CLOSE: &[u8] = b"\"}]\n";
/// The bytes at the end of every file that the checksum does not cover.
const TAIL_LEN: usize = TAIL_OPEN.len() + CRC_DIGITS + TAIL_CLOSE.len();
// ANCHOR_END: checksum

/// The longest file [`encode`] can write: a key and a value at their size
/// limits, every byte written as a six-character JSON escape (`\u0001`),
/// their quotes, the opening bracket and two commas, and the tail. (Hex is
/// shorter: two digits a byte and ten characters for `{"hex":""}`.)
pub const MAX_FILE_LEN: u64 = (6 * (MAX_KEY_LEN + MAX_VALUE_LEN) + 7 + TAIL_LEN) as u64;

// ANCHOR: encode
/// The file content for `key` and `value`: `[value, key, checksum]` and a
/// newline, the checksum computed over the bytes before it.
pub fn encode(key: &[u8], value: &[u8]) -> Result<Vec<u8>> {
    // ANCHOR: todo_encode '[', the value then the key as JSON strings (JsonBytes: text, or {"hex": ...} if not UTF-8), each with ',', then the checksum tail.
    let mut out = vec![b'['];
    for bytes in [value, key] {
        serde_json::to_writer(&mut out, &JsonBytes::new(bytes))
            .map_err(|e| Error::InvalidInput(format!("cannot encode an entry as JSON: {e}")))?;
        out.push(b',');
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(TAIL_OPEN);
    out.extend_from_slice(format!("{crc:08x}").as_bytes());
    out.extend_from_slice(TAIL_CLOSE);
    Ok(out)
    // ANCHOR_END: todo_encode
}
// ANCHOR_END: encode

// ANCHOR: check_checksum
/// Checks that `bytes`, the content of the file at `path`, end in the tail
/// [`encode`] writes, and that its checksum is the CRC-32 of every byte
/// before it.
fn check_checksum(path: &Path, bytes: &[u8]) -> Result<()> {
    let (covered, tail) = bytes.split_at(bytes.len().saturating_sub(TAIL_LEN));
    let misfit = tail.iter().enumerate().position(|(i, &b)| !fits_tail(i, b));
    // A file shorter than the tail misfits where it ends.
    if let Some(i) = misfit.or((tail.len() < TAIL_LEN).then_some(tail.len())) {
        return Err(bad_tail(path, bytes, covered.len() + i));
    }
    let digits = TAIL_OPEN.len()..TAIL_OPEN.len() + CRC_DIGITS;
    let stored = tail.get(digits).unwrap_or_default();
    let computed = format!("{:08x}", crc32fast::hash(covered));
    // ANCHOR: armour_checksum Compare the stored CRC-32 with one computed over the bytes before the tail.
    if stored != computed.as_bytes() {
        return Err(Error::corruption(
            path,
            (covered.len() + TAIL_OPEN.len()) as u64,
            format!(
                "checksum {computed}, the CRC-32 of the {} bytes before it",
                covered.len()
            ),
            format!("{}: the file is damaged", String::from_utf8_lossy(stored)),
        ));
    }
    // ANCHOR_END: armour_checksum
    Ok(())
}

/// Whether `b` can be the `i`-th byte of the tail: the fixed text around
/// the checksum, or one of its lowercase hex digits.
fn fits_tail(i: usize, b: u8) -> bool {
    match i.checked_sub(TAIL_OPEN.len()) {
        None => TAIL_OPEN.get(i) == Some(&b),
        Some(d) if d < CRC_DIGITS => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        Some(d) => TAIL_CLOSE.get(d - CRC_DIGITS) == Some(&b),
    }
}
// ANCHOR_END: check_checksum

/// The error for `bytes`, whose tail does not fit from `offset` on: an
/// entry of format version 1, which had no checksum, or a file that is
/// damaged or cut short.
fn bad_tail(path: &Path, bytes: &[u8], offset: usize) -> Error {
    if serde_json::from_slice::<(JsonBytes, JsonBytes)>(bytes).is_ok() {
        // Where the checksum would have been: before the closing bracket.
        let bracket = bytes.iter().rposition(|&b| b == b']').unwrap_or(0);
        return Error::corruption(
            path,
            bracket as u64,
            "[value, key, {\"crc32\": ...}], an entry of format version 2",
            "[value, key] with no checksum, an entry of format version 1",
        );
    }
    // A file that does not end in a newline was most likely cut short:
    // the problem is at its end, not where the shifted tail first misfits.
    let offset = match bytes.last() {
        Some(b'\n') => offset,
        _ => bytes.len(),
    };
    let last = bytes.get(bytes.len().saturating_sub(TAIL_LEN)..);
    let shown: String = String::from_utf8_lossy(last.unwrap_or_default())
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    Error::corruption(
        path,
        offset as u64,
        "the file to end in `{\"crc32\":\"<8 hex digits>\"}]` and a newline",
        if bytes.is_empty() {
            "an empty file".to_owned()
        } else {
            format!("`{shown}` at its end: the file is damaged or cut short")
        },
    )
}

/// What [`decode`] expects of a file whose checksum is right.
const EXPECTED: &str = "a JSON array [value, key, {\"crc32\": ...}], value and key \
                        each a string or a {\"hex\": ...} object";

// ANCHOR: decode
/// The `(key, value)` held by `bytes`, the content of the file at `path`;
/// a corruption error naming the file and the offset of the problem if the
/// content is not what [`encode`] writes. The checksum is checked first:
/// every byte the parser then reads is as it was written.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<KeyValue> {
    // ANCHOR: todo_decode Check the checksum first (check_checksum), parse the array of three, check both lengths; errors name the file and the offset (offset_of).
    check_checksum(path, bytes)?;
    // The third element was checked byte for byte; the parser only makes
    // sure that it ends an array of exactly three.
    let (value, key, _): (JsonBytes, JsonBytes, IgnoredAny) = serde_json::from_slice(bytes)
        .map_err(|e| {
            let offset = if e.is_eof() {
                bytes.len() as u64
            } else {
                offset_of(bytes, e.line(), e.column())
            };
            Error::corruption(path, offset, EXPECTED, e.to_string())
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
    // ANCHOR: armour_limits Refuse a key or value read back that is longer than the contract allows.
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
    // ANCHOR_END: armour_limits
    Ok((key, value))
    // ANCHOR_END: todo_decode
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

    /// `covered` and a tail with its correct checksum: how a test makes a
    /// file whose checksum is right but whose JSON is not.
    fn seal(covered: &[u8]) -> Vec<u8> {
        let mut out = covered.to_vec();
        out.extend_from_slice(
            format!("{{\"crc32\":\"{:08x}\"}}]\n", crc32fast::hash(covered)).as_bytes(),
        );
        out
    }

    /// The offset of the corruption error `decode` gives for `bytes`, after
    /// checking that it names the file.
    fn error_offset(bytes: &[u8]) -> u64 {
        let path = Path::new("/store/3f/x.json");
        let err = decode(path, bytes).unwrap_err();
        assert!(err.to_string().contains("/store/3f/x.json"), "{err}");
        match err {
            Error::Corruption {
                path: p, offset, ..
            } => {
                assert_eq!(p, path);
                assert!(offset <= bytes.len() as u64);
                offset
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn text_stays_readable_and_bytes_become_hex() {
        // The checksums are those of Python's `zlib.crc32` over the bytes
        // before `{"crc32"`: the standard CRC-32, checkable with any tool.
        assert_eq!(
            text(b"user:1", b"Ada"),
            "[\"Ada\",\"user:1\",{\"crc32\":\"15a91b63\"}]\n"
        );
        assert_eq!(
            text(b"k", b"\xff\x00"),
            "[{\"hex\":\"ff00\"},\"k\",{\"crc32\":\"6734e8a5\"}]\n"
        );
        assert_eq!(text(b"", b""), "[\"\",\"\",{\"crc32\":\"099c12a1\"}]\n");
        assert_eq!(
            text(b"a\0\"", "é".as_bytes()),
            "[\"é\",\"a\\u0000\\\"\",{\"crc32\":\"c109a73b\"}]\n"
        );
    }

    #[test]
    fn the_longest_file_is_max_file_len() {
        let longest = encode(&[1; MAX_KEY_LEN], &[1; MAX_VALUE_LEN]).unwrap();
        assert_eq!(longest.len() as u64, MAX_FILE_LEN);
        // Hex is never longer, except for one byte: 12 characters, not 8.
        let hex = encode(&[0xff; MAX_KEY_LEN], &[0xff; MAX_VALUE_LEN]).unwrap();
        assert!((hex.len() as u64) < MAX_FILE_LEN);
    }

    #[test]
    fn a_damaged_tail_is_an_error_at_its_first_wrong_byte() {
        let good = encode(b"k", b"v").unwrap();
        let tail_start = good.len() - TAIL_LEN;
        let mut capital = good.clone();
        capital[tail_start + TAIL_OPEN.len()] = b'A';
        assert_eq!(
            error_offset(&capital),
            (tail_start + TAIL_OPEN.len()) as u64
        );
        let mut bracket = good.clone();
        bracket[good.len() - 2] = b'}';
        assert_eq!(error_offset(&bracket), good.len() as u64 - 2);
        // Without its final newline, a file was most likely cut short: the
        // error is at its end.
        assert_eq!(error_offset(b""), 0);
        for len in 1..good.len() {
            assert_eq!(error_offset(&good[..len]), len as u64);
        }
        let mut no_newline = good.clone();
        *no_newline.last_mut().unwrap() = b' ';
        assert_eq!(error_offset(&no_newline), good.len() as u64);
    }

    #[test]
    fn a_wrong_checksum_is_an_error_at_the_checksum() {
        let mut bytes = encode(b"k", b"value").unwrap();
        bytes[3] ^= 1; // "value" becomes "walue"
        assert_eq!(
            error_offset(&bytes),
            (bytes.len() - TAIL_LEN + TAIL_OPEN.len()) as u64
        );
        let err = decode(Path::new("x"), &bytes).unwrap_err().to_string();
        assert!(err.contains("the file is damaged"), "{err}");
    }

    #[test]
    fn an_entry_of_version_1_is_recognized() {
        let old = b"[\"value\",\"k\"]\n";
        assert_eq!(error_offset(old), 12);
        let err = decode(Path::new("x"), old).unwrap_err().to_string();
        assert!(err.contains("no checksum"), "{err}");
        assert!(err.contains("version 1"), "{err}");
    }

    #[test]
    fn bad_json_behind_a_right_checksum_is_an_error_with_an_offset() {
        for (covered, offset) in [
            // The sealed file: `["v",{"crc32":"..."}]`, two elements.
            (&b"[\"v\","[..], 25),
            (b"[\"v\",\"k\",\"x\",", 13),
            (b"{\"v\":\"k\",", 0),
            // An untagged enum reports the end of the value it rejected.
            (b"[\"v\",\n 7,", 8),
            (b"[\"v\",\"k\",1] [", 12),
            (b"[{\"hex\":\"00\",\"x\":1},\"k\",", 19),
        ] {
            assert_eq!(error_offset(&seal(covered)), offset, "{covered:?}");
        }
        for covered in [&b"[{\"hex\":\"f\"},\"k\","[..], b"[{\"hex\":\"+f\"},\"k\","] {
            assert_eq!(error_offset(&seal(covered)), 0, "{covered:?}");
        }
    }

    #[test]
    fn a_hand_edit_with_its_checksum_recomputed_is_read() {
        let path = Path::new("x");
        let (key, value) = decode(path, &seal(b"[{\"hex\":\"FFfe\"}, \"k\" ,")).unwrap();
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

        #[test]
        fn any_flipped_bit_or_cut_is_an_error(
            key in proptest::collection::vec(any::<u8>(), 0..20),
            text_value in ".{0,20}",
            bit in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let path = Path::new("x");
            let bytes = encode(&key, text_value.as_bytes()).unwrap();
            let mut flipped = bytes.clone();
            let bit = bit.index(bytes.len() * 8);
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(decode(path, &flipped).is_err());
            prop_assert!(decode(path, &bytes[..cut.index(bytes.len())]).is_err());
        }
    }
}

//! Ids and serials built as text without the formatting machinery: they
//! are made for every published message, so this is on the hot path.

/// Appends `n` in decimal, zero-padded to at least `width` digits.
pub(crate) fn push_decimal(out: &mut String, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    const ZEROS: &str = "00000000000000000000";
    let pad = width.saturating_sub(digits.len() - at);
    for _ in 0..pad / ZEROS.len() {
        out.push_str(ZEROS);
    }
    out.push_str(&ZEROS[..pad % ZEROS.len()]);
    push_ascii(out, &digits[at..]);
}

/// Appends ASCII bytes.
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
}

/// Appends `n` in lowercase hexadecimal, without leading zeros.
pub(crate) fn push_hex(out: &mut String, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    push_ascii(out, &digits[at..]);
}

/// The id of the `index`-th message of a client's frame: the frame's id
/// (`connectionId:msgSerial`, TR4n) and the index (TM2a).
pub(crate) fn message_id(connection_id: &str, msg_serial: u64, index: usize) -> String {
    let mut id = String::with_capacity(connection_id.len() + 12);
    id.push_str(connection_id);
    id.push(':');
    push_decimal(&mut id, msg_serial, 1);
    id.push(':');
    push_decimal(&mut id, index as u64, 1);
    id
}

/// A message's serial: its event's serial and its index, 3 digits at
/// least (`epoch@seq:index`).
pub(crate) fn indexed_serial(event_serial: &str, index: usize) -> String {
    let mut s = String::with_capacity(event_serial.len() + 4);
    s.push_str(event_serial);
    s.push(':');
    push_decimal(&mut s, index as u64, 3);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_as_format() {
        for n in [0u64, 1, 9, 10, 255, 4096, 123_456_789, u64::MAX] {
            for width in [0, 1, 3, 10, 25] {
                let mut s = String::new();
                push_decimal(&mut s, n, width);
                assert_eq!(s, format!("{n:0width$}"));
            }
            let mut s = String::new();
            push_hex(&mut s, n);
            assert_eq!(s, format!("{n:x}"));
        }
        assert_eq!(message_id("conn", 12, 3), "conn:12:3");
        assert_eq!(indexed_serial("ab@0000000001", 7), "ab@0000000001:007");
        assert_eq!(indexed_serial("ab@0000000001", 1234), "ab@0000000001:1234");
    }
}

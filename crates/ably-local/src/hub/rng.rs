//! The hub's deterministic random source: ids, connection keys, channel
//! epochs. Seeded from outside, so the same inputs and seed give the same
//! outputs.

/// SplitMix64: small, fast, and good enough for identifiers (not for
/// secrets; the shell seeds the hub from the OS so ids differ per run).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

/// Characters of generated ids: letters, digits, `-` and `_`. No `:`, which
/// separates the parts of presence message ids, and nothing a URL escapes.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An id of `len` characters from [`ALPHABET`], starting with a letter.
    pub(crate) fn id(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            let mut bits = self.next_u64();
            for _ in 0..10 {
                if out.len() == len {
                    break;
                }
                let range = if out.is_empty() { 52 } else { 64 };
                out.push(ALPHABET[(bits % range) as usize] as char);
                bits >>= 6;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_plain() {
        let a = Rng::new(7).id(12);
        assert_eq!(a, Rng::new(7).id(12));
        assert_ne!(a, Rng::new(8).id(12));
        assert_eq!(a.len(), 12);
        assert!(a.chars().next().is_some_and(|c| c.is_ascii_alphabetic()));
        assert!(!a.contains(':'));
    }
}

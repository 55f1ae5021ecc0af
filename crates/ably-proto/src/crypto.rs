//! AES-CBC payload encryption (RSL5, RSE1, RSE2).
//!
//! An encrypted payload is `IV || ciphertext`, with PKCS#7 padding and a
//! fresh 16-byte IV per message. Randomness (IVs, keys) comes from a
//! caller-supplied RNG, so this crate stays deterministic and free of I/O.

use std::fmt;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use rand_core::RngCore;

use crate::ErrorInfo;
use crate::error::codes;

/// The AES block size and the IV length.
pub const BLOCK_LEN: usize = 16;

/// The cipher of an encrypted channel (TZ2): AES-CBC with a 128- or 256-bit key.
#[derive(Clone, PartialEq, Eq)]
pub struct CipherParams {
    key: Vec<u8>,
}

impl CipherParams {
    /// Cipher params for a binary key of 16 or 32 bytes (RSE1d, RSE1e).
    pub fn from_key(key: &[u8]) -> Result<CipherParams, ErrorInfo> {
        match key.len() {
            16 | 32 => Ok(CipherParams { key: key.to_vec() }),
            n => Err(ErrorInfo::new(
                codes::BAD_REQUEST,
                400,
                format!("cipher key must be 128 or 256 bits, got {} bits", n * 8),
            )),
        }
    }

    /// Cipher params for a base64 or base64url key (RSE1c).
    pub fn from_base64_key(key: &str) -> Result<CipherParams, ErrorInfo> {
        let trimmed = key.trim();
        let bytes = STANDARD
            .decode(trimmed)
            .or_else(|_| URL_SAFE.decode(trimmed))
            .or_else(|_| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(trimmed.trim_end_matches('='))
            })
            .map_err(|e| {
                ErrorInfo::new(
                    codes::BAD_REQUEST,
                    400,
                    format!("cipher key is not base64: {e}"),
                )
            })?;
        CipherParams::from_key(&bytes)
    }

    /// A random key of 128 or 256 bits (RSE2).
    pub fn generate_key(
        rng: &mut dyn RngCore,
        key_length_bits: usize,
    ) -> Result<Vec<u8>, ErrorInfo> {
        if key_length_bits != 128 && key_length_bits != 256 {
            return Err(ErrorInfo::new(
                codes::BAD_REQUEST,
                400,
                format!("key length must be 128 or 256 bits, got {key_length_bits}"),
            ));
        }
        let mut key = vec![0; key_length_bits / 8];
        rng.fill_bytes(&mut key);
        Ok(key)
    }

    /// The key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The key length in bits: 128 or 256 (TZ2b).
    pub fn key_length(&self) -> usize {
        self.key.len() * 8
    }

    /// The algorithm name, `aes-128-cbc` or `aes-256-cbc`.
    pub fn algorithm(&self) -> &'static str {
        if self.key.len() == 16 {
            "aes-128-cbc"
        } else {
            "aes-256-cbc"
        }
    }

    /// The step this cipher adds to a message's `encoding`.
    pub fn encoding_step(&self) -> &'static str {
        if self.key.len() == 16 {
            "cipher+aes-128-cbc"
        } else {
            "cipher+aes-256-cbc"
        }
    }

    /// Encrypts with a random IV from `rng`; returns `IV || ciphertext`.
    pub fn encrypt(&self, plaintext: &[u8], rng: &mut dyn RngCore) -> Vec<u8> {
        let mut iv = [0u8; BLOCK_LEN];
        rng.fill_bytes(&mut iv);
        self.encrypt_with_iv(plaintext, &iv)
    }

    /// Encrypts with the given IV; returns `IV || ciphertext`.
    pub fn encrypt_with_iv(&self, plaintext: &[u8], iv: &[u8; BLOCK_LEN]) -> Vec<u8> {
        let padded_len = (plaintext.len() / BLOCK_LEN + 1) * BLOCK_LEN;
        let mut out = vec![0u8; BLOCK_LEN + padded_len];
        out[..BLOCK_LEN].copy_from_slice(iv);
        out[BLOCK_LEN..BLOCK_LEN + plaintext.len()].copy_from_slice(plaintext);
        let buf = &mut out[BLOCK_LEN..];
        // The buffer holds a whole number of blocks with room for padding,
        // so padding cannot fail.
        let written = match self.key.len() {
            16 => cbc::Encryptor::<aes::Aes128>::new(self.key[..].into(), iv.into())
                .encrypt_padded_mut::<Pkcs7>(buf, plaintext.len())
                .map(|ct| ct.len()),
            _ => cbc::Encryptor::<aes::Aes256>::new(self.key[..].into(), iv.into())
                .encrypt_padded_mut::<Pkcs7>(buf, plaintext.len())
                .map(|ct| ct.len()),
        };
        debug_assert_eq!(written.ok(), Some(padded_len));
        out
    }

    /// Decrypts `IV || ciphertext`.
    pub fn decrypt(&self, payload: &[u8]) -> Result<Vec<u8>, ErrorInfo> {
        let fail = |why: &str| {
            ErrorInfo::new(
                codes::INVALID_DATA_OR_ENCODING,
                400,
                format!("could not decrypt {} payload: {why}", self.algorithm()),
            )
        };
        if payload.len() < 2 * BLOCK_LEN || payload.len() % BLOCK_LEN != 0 {
            return Err(fail("length is not IV plus whole blocks"));
        }
        let (iv, ciphertext) = payload.split_at(BLOCK_LEN);
        let mut buf = ciphertext.to_vec();
        let len = match self.key.len() {
            16 => cbc::Decryptor::<aes::Aes128>::new(self.key[..].into(), iv.into())
                .decrypt_padded_mut::<Pkcs7>(&mut buf)
                .map(|pt| pt.len()),
            _ => cbc::Decryptor::<aes::Aes256>::new(self.key[..].into(), iv.into())
                .decrypt_padded_mut::<Pkcs7>(&mut buf)
                .map(|pt| pt.len()),
        }
        .map_err(|_| fail("bad padding (wrong key?)"))?;
        buf.truncate(len);
        Ok(buf)
    }
}

impl fmt::Debug for CipherParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        write!(f, "CipherParams({})", self.algorithm())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let p = CipherParams::from_key(&[7; 32]).expect("key");
        let iv = [1; 16];
        for len in [0, 1, 15, 16, 17, 100] {
            let pt = vec![0xab; len];
            let ct = p.encrypt_with_iv(&pt, &iv);
            assert_eq!(ct.len(), 16 + (len / 16 + 1) * 16);
            assert_eq!(p.decrypt(&ct).expect("decrypt"), pt);
        }
        let other = CipherParams::from_key(&[8; 32]).expect("key");
        let ct = p.encrypt_with_iv(b"hello", &iv);
        // A wrong key almost always leaves bad padding; either way it must not panic.
        let _ = other.decrypt(&ct);
        assert_eq!(p.decrypt(&ct[..20]).unwrap_err().code, 40013);
    }

    #[test]
    fn keys_are_checked_and_base64url_accepted() {
        assert!(CipherParams::from_key(&[0; 24]).is_err());
        let url = URL_SAFE.encode([0xfb; 16]);
        assert!(url.contains('-') || url.contains('_'));
        let p = CipherParams::from_base64_key(&url).expect("base64url key");
        assert_eq!(p.key(), &[0xfb; 16]);
        assert_eq!(p.encoding_step(), "cipher+aes-128-cbc");
        assert_eq!(format!("{p:?}"), "CipherParams(aes-128-cbc)");
    }
}

//! AES-256-GCM helpers shared by the local keyring and the data-key layer.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use zeroize::Zeroize;

use crate::error::{CryptoError, random_error};
use crate::keys::{KEY_LEN, KeyMaterial};

/// Nonce length: 96 bits, fresh from the OS random number generator for every encryption.
pub(crate) const NONCE_LEN: usize = 12;
/// Tag length: 128 bits.
pub(crate) const TAG_LEN: usize = 16;
/// Length of a wrapped key: nonce, encrypted key, tag.
pub(crate) const WRAPPED_KEY_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

pub(crate) fn cipher(key: &KeyMaterial) -> Aes256Gcm {
    Aes256Gcm::new(key.expose().into())
}

pub(crate) fn random_nonce() -> Result<[u8; NONCE_LEN], CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(random_error)?;
    Ok(nonce)
}

/// Appends nonce ‖ ciphertext ‖ tag of `plaintext` to `out`.
pub(crate) fn seal_into(
    cipher: &Aes256Gcm,
    plaintext: &[u8],
    aad: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    let nonce = random_nonce()?;
    out.reserve(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plaintext);
    let sealed = match out.get_mut(start..) {
        Some(body) => cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, body),
        None => {
            return Err(CryptoError::Malformed { what: "plaintext", reason: "buffer error" });
        }
    };
    match sealed {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(())
        }
        Err(_) => {
            // Only a plaintext longer than GCM allows (64 GiB) gets here; scrub the copy.
            out.zeroize();
            Err(CryptoError::Malformed { what: "plaintext", reason: "too long for AES-GCM" })
        }
    }
}

/// The parts of nonce ‖ ciphertext ‖ tag.
type Parts<'a> = (&'a [u8; NONCE_LEN], &'a [u8], &'a [u8; TAG_LEN]);

/// Splits nonce ‖ ciphertext ‖ tag.
pub(crate) fn split(sealed: &[u8]) -> Result<Parts<'_>, CryptoError> {
    let short = CryptoError::Malformed { what: "ciphertext", reason: "too short" };
    let (nonce, rest) = sealed.split_first_chunk::<NONCE_LEN>().ok_or(short)?;
    let (body, tag) =
        rest.split_last_chunk::<TAG_LEN>().ok_or(CryptoError::Malformed { what: "ciphertext", reason: "too short" })?;
    Ok((nonce, body, tag))
}

/// Decrypts nonce ‖ ciphertext ‖ tag in place into `buffer`, which must be as long as the
/// ciphertext body. On failure `buffer` holds no plaintext.
pub(crate) fn open_into(cipher: &Aes256Gcm, sealed: &[u8], aad: &[u8], buffer: &mut [u8]) -> Result<(), CryptoError> {
    let (nonce, body, tag) = split(sealed)?;
    if body.len() != buffer.len() {
        return Err(CryptoError::Malformed { what: "ciphertext", reason: "unexpected length" });
    }
    buffer.copy_from_slice(body);
    cipher.decrypt_in_place_detached(Nonce::from_slice(nonce), aad, buffer, Tag::from_slice(tag)).map_err(|_| {
        buffer.zeroize();
        CryptoError::Decrypt
    })
}

/// Wraps a 32-byte key under `kek`: nonce ‖ encrypted key ‖ tag (60 bytes).
pub(crate) fn wrap_key(kek: &KeyMaterial, key: &KeyMaterial, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(WRAPPED_KEY_LEN);
    seal_into(&cipher(kek), key.expose(), aad, &mut out)?;
    Ok(out)
}

/// Unwraps what [`wrap_key`] made.
pub(crate) fn unwrap_key(kek: &KeyMaterial, wrapped: &[u8], aad: &[u8]) -> Result<KeyMaterial, CryptoError> {
    let mut key = KeyMaterial::zeroed();
    open_into(&cipher(kek), wrapped, aad, key.expose_mut())?;
    Ok(key)
}

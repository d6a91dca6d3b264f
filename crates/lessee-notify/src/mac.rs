//! HMAC-SHA256 through the infallible constructor, for keys of any length.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub(crate) type HmacSha256 = Hmac<Sha256>;

const BLOCK_LEN: usize = 64;

/// A keyed HMAC-SHA256 state. RFC 2104 §2: a key longer than the block is hashed first, a
/// shorter one is zero-padded to the block; doing both here gives the same MAC as
/// `new_from_slice` without a `Result` that cannot be an error.
pub(crate) fn keyed(key: &[u8]) -> HmacSha256 {
    let mut block = Zeroizing::new([0u8; BLOCK_LEN]);
    if key.len() > BLOCK_LEN {
        let digest: Zeroizing<[u8; 32]> = Zeroizing::new(Sha256::digest(key).into());
        for (slot, byte) in block.iter_mut().zip(digest.iter()) {
            *slot = *byte;
        }
    } else {
        for (slot, byte) in block.iter_mut().zip(key) {
            *slot = *byte;
        }
    }
    <HmacSha256 as KeyInit>::new((&*block).into())
}

/// `HMAC-SHA256(key, message)`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[&[u8]]) -> [u8; 32] {
    let mut mac = keyed(key);
    for part in message {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

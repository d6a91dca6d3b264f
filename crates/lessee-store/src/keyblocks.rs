//! Access-event keys packed per segment (migration 0025).
//!
//! Each access event has five keys: the blind indexes of its address's four prefixes (levels
//! 0..=3, finest first) and its account (level [`ACCOUNT_LEVEL`]). A segment (one ingested
//! batch, or a compactor's merge of several) keeps them not as one row per key but as
//! *blocks*: for each level, its entries `(key, at, seq)` sorted, then cut into `2^bits`
//! buckets by the key's top `bits` bits, one row `(seg, lvl, bucket, data)` per non-empty
//! bucket. `bits` is chosen per segment so that a bucket holds about [`TARGET_ENTRIES`].
//!
//! A lookup of one key in one segment is then one primary-key read of one row, and a batch of
//! 10,000 events writes a few hundred rows instead of 50,000; the compactor merges blocks in
//! memory instead of re-sorting and deleting rows one by one in the database. Keys are
//! uniformly spread 64-bit values (keyed hashes for addresses, [`account_key`] for accounts),
//! so buckets are even unless one key is hot, and a hot key's entries are sorted by time
//! within its bucket, so a page is found by binary search.
//!
//! The encoding is one version byte ([`FORMAT`]) followed by 24-byte entries: key, at, seq,
//! each a little-endian i64. Pure code, no I/O.

use lessee_domain::AccountId;

/// Level of the account key (levels 0..=3 are the address prefixes).
pub const ACCOUNT_LEVEL: i16 = 4;
/// About this many entries per bucket.
pub const TARGET_ENTRIES: u64 = 256;
/// Bucket bits never exceed this (2^20 buckets: segments of up to ~268M events stay at the
/// target; larger ones just have fuller buckets).
pub const MAX_BITS: u32 = 20;
/// The version byte leading every block.
pub const FORMAT: u8 = 1;
const ENTRY: usize = 24;

/// One key of one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    pub key: i64,
    pub at: i64,
    pub seq: i64,
}

/// A block that could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("access key block is malformed: {0}")]
pub struct BadBlock(&'static str);

/// The stable 64-bit key of an account (never change it: it is stored). The UUID's two halves
/// mixed by the SplitMix64 finalizer, so that accounts created in the same millisecond (whose
/// UUIDv7 time bits agree) still spread over all buckets.
pub fn account_key(id: &AccountId) -> i64 {
    let v = id.0.as_u128();
    let hi = (v >> 64) as u64;
    let lo = v as u64;
    mix(hi ^ mix(lo)) as i64
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The bucket bits for a segment whose levels hold `entries` entries each.
pub fn bits_for(entries: u64) -> u32 {
    let mut bits = 0;
    while bits < MAX_BITS && (entries >> bits) > TARGET_ENTRIES {
        bits += 1;
    }
    bits
}

/// The bucket of `key` in a segment cut into `2^bits` buckets.
pub fn bucket(key: i64, bits: u32) -> i64 {
    if bits == 0 { 0 } else { ((key as u64) >> (64 - bits.min(63))) as i64 }
}

/// Cuts entries, sorted by (key, at, seq), into encoded buckets, in bucket order of appearance.
pub fn encode_buckets(sorted: &[Entry], bits: u32) -> Vec<(i64, Vec<u8>)> {
    sorted
        .chunk_by(|a, b| bucket(a.key, bits) == bucket(b.key, bits))
        .filter_map(|run| run.first().map(|e| (bucket(e.key, bits), encode(run))))
        .collect()
}

/// Encodes entries (already sorted) as one block.
pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + entries.len() * ENTRY);
    out.push(FORMAT);
    for e in entries {
        out.extend_from_slice(&e.key.to_le_bytes());
        out.extend_from_slice(&e.at.to_le_bytes());
        out.extend_from_slice(&e.seq.to_le_bytes());
    }
    out
}

/// A read-only view of an encoded block.
#[derive(Clone, Copy, Debug)]
pub struct Block<'a>(&'a [u8]);

impl<'a> Block<'a> {
    /// Checks the version byte and the length.
    pub fn new(data: &'a [u8]) -> Result<Self, BadBlock> {
        match data.split_first() {
            Some((&FORMAT, rest)) if rest.len() % ENTRY == 0 => Ok(Self(rest)),
            Some((&FORMAT, _)) => Err(BadBlock("length is not a whole number of entries")),
            Some(_) => Err(BadBlock("unknown format version")),
            None => Err(BadBlock("empty")),
        }
    }

    pub fn len(&self) -> usize {
        self.0.len() / ENTRY
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entry at `i` (None past the end).
    pub fn get(&self, i: usize) -> Option<Entry> {
        let b = self.0.get(i.checked_mul(ENTRY)?..i.checked_add(1)?.checked_mul(ENTRY)?)?;
        let word = |k: usize| b.get(k..k + 8).and_then(|s| <[u8; 8]>::try_from(s).ok()).map(i64::from_le_bytes);
        Some(Entry { key: word(0)?, at: word(8)?, seq: word(16)? })
    }

    pub fn iter(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.len()).map_while(|i| self.get(i))
    }

    /// The first index whose entry is not below `probe` (the block is sorted).
    pub fn lower_bound(&self, probe: Entry) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid).is_some_and(|e| e < probe) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Entries with this key, at in `[from, to)` and (at, seq) after `after`, in order, at most
    /// `limit` of them.
    pub fn matching(&self, key: i64, from: i64, to: i64, after: Option<(i64, i64)>, limit: usize) -> Vec<Entry> {
        let start = match after {
            Some((at, seq)) if at >= from => Entry { key, at, seq: seq.saturating_add(1) },
            _ => Entry { key, at: from, seq: i64::MIN },
        };
        let first = self.lower_bound(start);
        (first..self.len()).map_while(|i| self.get(i)).take_while(|e| e.key == key && e.at < to).take(limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(key: i64, at: i64, seq: i64) -> Entry {
        Entry { key, at, seq }
    }

    #[test]
    fn bits_grow_with_the_segment() {
        assert_eq!(bits_for(0), 0);
        assert_eq!(bits_for(256), 0);
        assert_eq!(bits_for(257), 1);
        assert_eq!(bits_for(10_000), 6);
        assert_eq!(bits_for(1_000_000), 12);
        assert_eq!(bits_for(u64::MAX), MAX_BITS);
    }

    #[test]
    fn buckets_take_the_top_bits_of_the_unsigned_key() {
        assert_eq!(bucket(123, 0), 0);
        assert_eq!(bucket(0, 6), 0);
        assert_eq!(bucket(-1, 6), 63);
        assert_eq!(bucket(i64::MIN, 1), 1);
        assert_eq!(bucket(i64::MAX, 1), 0);
    }

    #[test]
    fn blocks_round_trip_and_refuse_damage() {
        let v = vec![e(-5, 1, 2), e(-5, 3, 1), e(7, 0, 9)];
        let data = encode(&v);
        let b = Block::new(&data).unwrap();
        assert_eq!(b.iter().collect::<Vec<_>>(), v);
        assert_eq!(b.get(3), None);
        assert!(Block::new(&data[..data.len() - 1]).is_err());
        assert!(Block::new(&[]).is_err());
        let mut other = data.clone();
        other[0] = 2;
        assert!(Block::new(&other).is_err());
    }

    #[test]
    fn encoded_buckets_cover_every_entry_once_in_its_bucket() {
        let mut v: Vec<Entry> = (0..5000i64).map(|i| e(mix(i as u64) as i64, i % 17, i)).collect();
        v.sort();
        let bits = bits_for(v.len() as u64);
        let out = encode_buckets(&v, bits);
        assert!(out.len() > 1 && out.len() <= 1 << bits);
        let mut back = Vec::new();
        for (b, data) in &out {
            for x in Block::new(data).unwrap().iter() {
                assert_eq!(bucket(x.key, bits), *b);
                back.push(x);
            }
        }
        assert_eq!(back, v);
    }

    #[test]
    fn matching_finds_a_keys_page_by_time_and_cursor() {
        let v = vec![e(1, 5, 1), e(2, 1, 2), e(2, 4, 3), e(2, 4, 7), e(2, 9, 4), e(3, 4, 5)];
        let data = encode(&v);
        let b = Block::new(&data).unwrap();
        assert_eq!(b.matching(2, 0, 100, None, 10), vec![e(2, 1, 2), e(2, 4, 3), e(2, 4, 7), e(2, 9, 4)]);
        assert_eq!(b.matching(2, 2, 9, None, 10), vec![e(2, 4, 3), e(2, 4, 7)]);
        assert_eq!(b.matching(2, 0, 100, Some((4, 3)), 10), vec![e(2, 4, 7), e(2, 9, 4)]);
        assert_eq!(b.matching(2, 0, 100, None, 2), vec![e(2, 1, 2), e(2, 4, 3)]);
        assert_eq!(b.matching(9, 0, 100, None, 2), vec![]);
        assert_eq!(b.matching(0, 0, 100, None, 2), vec![]);
    }

    #[test]
    fn account_keys_are_stable_and_spread() {
        let id = AccountId(uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001));
        // A stored value (computed independently, in Python): this must never change.
        assert_eq!(account_key(&id), -9_212_832_291_403_573_548);
        let same_ms: Vec<i64> =
            (0..64u128).map(|i| account_key(&AccountId(uuid::Uuid::from_u128((0x0190 << 112) | i)))).collect();
        let buckets: std::collections::HashSet<i64> = same_ms.iter().map(|k| bucket(*k, 4)).collect();
        assert!(buckets.len() > 8, "{buckets:?}");
    }
}

//! A fast, deterministic hasher for maps keyed by ids (the Fx hash of rustc):
//! a million machine ids hash several times faster than with SipHash.
//! Not for keys an attacker chooses to collide; inventories come from operators.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    /// The multiply leaves the low bits depending only on the inputs' low bits, and hash
    /// tables index by the low bits: without this final mix, ids that differ only in later
    /// bytes of a word collide in long chains.
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = HashMap<K, V, FxBuild>;
pub type FxHashSet<K> = HashSet<K, FxBuild>;

/// A 32-bit hash of a string: enough to narrow a join or a duplicate search down to the few
/// entries whose strings are then compared.
pub fn hash32(s: &str) -> u32 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    h.write_usize(s.len());
    (h.finish() >> 32) as u32
}

/// Sorts `(key, value)` pairs by key, keeping the order of equal keys (stable): LSD radix,
/// 11 bits a pass, for the million-entry joins of fleets.
pub fn radix_sort(v: &mut Vec<(u32, u32)>) {
    const BITS: u32 = 11;
    const MASK: u32 = (1 << BITS) - 1;
    if v.len() < 1 << 12 {
        v.sort_by_key(|x| x.0);
        return;
    }
    let mut tmp = vec![(0u32, 0u32); v.len()];
    let mut count = vec![0usize; (1 << BITS) + 1];
    let mut shift = 0;
    while shift < 32 {
        count.fill(0);
        for x in v.iter() {
            count[((x.0 >> shift) & MASK) as usize + 1] += 1;
        }
        if !count.contains(&v.len()) {
            for d in 0..1 << BITS {
                count[d + 1] += count[d];
            }
            for x in v.iter() {
                let d = ((x.0 >> shift) & MASK) as usize;
                tmp[count[d]] = *x;
                count[d] += 1;
            }
            std::mem::swap(v, &mut tmp);
        }
        shift += BITS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_and_hashes_are_stable() {
        let mut m: FxHashMap<&str, u32> = FxHashMap::default();
        for (i, k) in ["a", "web-0001", "web-0002", "a-much-longer-machine-name.example"].iter().enumerate() {
            m.insert(k, i as u32);
        }
        assert_eq!(m["web-0002"], 2);
        let mut h = FxHasher::default();
        h.write(b"web-0001");
        assert_eq!(h.finish(), {
            let mut g = FxHasher::default();
            g.write(b"web-0001");
            g.finish()
        });
        let mut other = FxHasher::default();
        other.write(b"web-0002");
        assert_ne!(h.finish(), other.finish());
    }

    #[test]
    fn low_bits_spread_for_ids_that_differ_late_in_a_word() {
        // Ids like these differ only in the high bytes of their last word; the low 12 bits,
        // which pick the bucket in a table of 4,096, must still spread.
        let mut buckets = std::collections::HashSet::new();
        for i in 0..4_096 {
            let mut h = FxHasher::default();
            h.write(format!("customer-{i:05}-shop-web01").as_bytes());
            buckets.insert(h.finish() & 0xfff);
        }
        assert!(buckets.len() > 2_000, "only {} of 4096 buckets used", buckets.len());
    }

    #[test]
    fn radix_sort_is_a_stable_sort_by_key() {
        let mut state = 7u64;
        let mut v: Vec<(u32, u32)> = (0..20_000)
            .map(|i| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                // Few distinct keys in the high bits, so equal keys are common.
                ((((state >> 40) as u32 % 97) << 24) | ((state >> 20) as u32 % 3), i)
            })
            .collect();
        let mut expected = v.clone();
        expected.sort_by_key(|x| x.0);
        radix_sort(&mut v);
        assert_eq!(v, expected);
    }
}

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

/// Where each entry of a list is, by its id: a table of positions only, the ids being the
/// list's own strings (a million machine ids are not copied, and the table is built once
/// per inventory, not once per question). Entries are found by [`hash32`] of their ids.
#[derive(Clone, Default)]
pub struct IdIndex(hashbrown::HashTable<u32>);

/// A table's hash from [`hash32`]: the table picks buckets by the low bits and filters by
/// the top seven, both from the mixed 32 bits.
fn wide(h: u32) -> u64 {
    (u64::from(h) << 32) | u64::from(h)
}

impl IdIndex {
    /// The index of `ids` (a list's ids, in its order); where an id repeats, the first.
    pub fn new<'a>(ids: impl Iterator<Item = &'a str>) -> IdIndex {
        let all: Vec<&str> = ids.collect();
        let hashes: Vec<(u32, u32)> = all.iter().enumerate().map(|(i, id)| (hash32(id), i as u32)).collect();
        IdIndex::of_hashes(&hashes, |i| all[i as usize])
    }

    /// The index of a list whose entries' [`hash32`]es are given, each with its position
    /// (in any order); `id` gives an entry's id. Where an id repeats, the first position.
    pub fn of_hashes<'a>(hashes: &[(u32, u32)], id: impl Fn(u32) -> &'a str) -> IdIndex {
        let mut table = hashbrown::HashTable::with_capacity(hashes.len());
        for &(h, i) in hashes {
            match table.entry(wide(h), |&j| id(j) == id(i), |&j| wide(hash32(id(j)))) {
                hashbrown::hash_table::Entry::Occupied(mut e) => {
                    if i < *e.get() {
                        *e.get_mut() = i;
                    }
                }
                hashbrown::hash_table::Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
        IdIndex(table)
    }

    /// The position of `wanted`, where `id` gives the id of the entry at a position.
    pub fn get<'a>(&self, wanted: &str, id: impl Fn(u32) -> &'a str) -> Option<u32> {
        self.0.find(wide(hash32(wanted)), |&j| id(j) == wanted).copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Only the number of entries: a million positions say nothing to a reader.
impl std::fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdIndex({} ids)", self.0.len())
    }
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
    fn an_id_index_finds_every_id_and_nothing_else() {
        let ids: Vec<String> = (0..5_000).map(|i| format!("web-{i:05}.example.net")).collect();
        let index = IdIndex::new(ids.iter().map(String::as_str));
        assert_eq!(index.len(), ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id, |j| &ids[j as usize]), Some(i as u32), "{id}");
        }
        for missing in ["", "web-05000.example.net", "web-00001.example.ne", "WEB-00001.example.net"] {
            assert_eq!(index.get(missing, |j| &ids[j as usize]), None, "{missing}");
        }
        // A repeated id is found at its first position, whatever order the hashes come in.
        let repeated = ["a", "b", "a", "c", "b"];
        let mut hashes: Vec<(u32, u32)> = repeated.iter().enumerate().map(|(i, id)| (hash32(id), i as u32)).collect();
        hashes.reverse();
        let index = IdIndex::of_hashes(&hashes, |j| repeated[j as usize]);
        assert_eq!(index.len(), 3);
        let found: Vec<Option<u32>> =
            ["a", "b", "c", "d"].iter().map(|id| index.get(id, |j| repeated[j as usize])).collect();
        assert_eq!(found, [Some(0), Some(1), Some(3), None]);
        assert!(IdIndex::new(std::iter::empty()).is_empty());
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

//! A fast, non-cryptographic hasher for the detectors' many small maps and sets of names.
//!
//! The standard `HashMap` hashes with SipHash-1-3, which resists collision attacks at a cost that
//! dominated static analysis (a tenth of it went to hashing identifiers of a few bytes). The keys here
//! are a single rollout's identifiers, held for one analysis, so a flooding attack can only slow down
//! its own analysis; this is the multiply-rotate word hash rustc uses for the same reason ("FxHash",
//! re-implemented from its published description).

use std::hash::{BuildHasherDefault, Hasher};

/// A `HashSet` with [`FastHasher`].
pub(crate) type FastSet<T> = std::collections::HashSet<T, BuildHasherDefault<FastHasher>>;
/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Mixes each word in with a rotate, an xor and a multiply by an odd constant.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
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
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct short names land on distinct hashes, and sets built with the hasher behave as sets.
    #[test]
    fn short_names_spread_and_sets_work() {
        let names = [
            "a",
            "b",
            "ab",
            "ba",
            "exit",
            "_exit",
            "sys.exit",
            "os._exit",
            "",
            "aaaaaaaab",
        ];
        let hashes: FastSet<u64> = names
            .iter()
            .map(|n| {
                let mut h = FastHasher::default();
                h.write(n.as_bytes());
                h.finish()
            })
            .collect();
        assert_eq!(hashes.len(), names.len());
        let mut s: FastSet<&str> = FastSet::default();
        assert!(s.insert("exit") && !s.insert("exit") && s.contains("exit") && !s.contains("exi"));
    }
}

//! A scope's property table ([`PropMap`]): the entries in insertion order, looked up by a scan
//! while there are few, through a hash index once there are many.
//!
//! A proxied request sets about a dozen properties (the request's `HTTP_METHOD`, `messageType`
//! and `ContentType`, the response's `HTTP_SC`, …) and reads a few. A hash map paid for each of
//! them a hash of the name, a probe, and on the first insert the table's allocation: 3.5 % of a
//! DirectProxy request's CPU (`perf/flamegraph`, Session 20). Comparing a name with eight others
//! costs less: each entry keeps a tag of its name (length, first and last bytes), and a name is
//! compared only where the tag matches. A flow that sets many properties (a
//! request with many query parameters, each `query.param.*`) gets an index past
//! [`SCAN_MAX`] entries, so no table is searched linearly beyond that size.

use std::hash::BuildHasher;

use super::context::{PropKey, PropValue};

/// Entries looked up by a scan; past this, by the index.
pub const SCAN_MAX: usize = 16;

/// A property table: names to values, in the order they were first set.
#[derive(Clone, Default)]
pub struct PropMap {
    entries: Vec<Entry>,
    /// Positions in `entries` by the hash of the name, kept while there are more than
    /// [`SCAN_MAX`] entries.
    index: Option<Box<Index>>,
}

/// A name's length and first and last bytes: a scan compares this first, and the bytes only when
/// it matches.
fn tag(key: &str) -> u32 {
    let b = key.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => (b.len() as u32 & 0xffff) | u32::from(f) << 16 | u32::from(l) << 24,
        _ => 0,
    }
}

#[derive(Clone)]
struct Entry {
    tag: u32,
    key: PropKey,
    value: PropValue,
}

#[derive(Clone)]
struct Index {
    /// Seeded per process: some names come from requests (`query.param.*`).
    hasher: foldhash::fast::RandomState,
    table: hashbrown::HashTable<u32>,
}

impl Index {
    fn build(entries: &[Entry]) -> Box<Index> {
        let mut index = Box::new(Index {
            hasher: foldhash::fast::RandomState::default(),
            table: hashbrown::HashTable::with_capacity(entries.len() * 2),
        });
        for (i, e) in entries.iter().enumerate() {
            index.add(entries, &e.key, i);
        }
        index
    }

    fn add(&mut self, entries: &[Entry], key: &str, at: usize) {
        let h = self.hasher.hash_one(key);
        let hasher = &self.hasher;
        self.table.insert_unique(h, at as u32, |&i| {
            hasher.hash_one(entries[i as usize].key.as_ref())
        });
    }

    fn find(&self, entries: &[Entry], key: &str) -> Option<usize> {
        let h = self.hasher.hash_one(key);
        self.table
            .find(h, |&i| entries[i as usize].key.as_ref() == key)
            .map(|&i| i as usize)
    }
}

impl PropMap {
    /// An empty table with room for `n` entries.
    pub fn with_capacity(n: usize) -> PropMap {
        PropMap {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.position_tagged(key, tag(key))
    }

    /// [`Self::position`] of `key`, whose [`tag`] is `t`.
    fn position_tagged(&self, key: &str, t: u32) -> Option<usize> {
        match &self.index {
            Some(index) => index.find(&self.entries, key),
            None => self
                .entries
                .iter()
                .position(|e| e.tag == t && e.key.as_ref() == key),
        }
    }

    pub fn get(&self, key: &str) -> Option<&PropValue> {
        self.position(key).map(|i| &self.entries[i].value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut PropValue> {
        self.position(key).map(|i| &mut self.entries[i].value)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`; the value it had, if any (the entry keeps its place).
    pub fn insert(&mut self, key: PropKey, value: PropValue) -> Option<PropValue> {
        let t = tag(&key);
        if let Some(i) = self.position_tagged(&key, t) {
            return Some(std::mem::replace(&mut self.entries[i].value, value));
        }
        let at = self.entries.len();
        self.entries.push(Entry { tag: t, key, value });
        match &mut self.index {
            Some(index) => index.add(&self.entries, &self.entries[at].key, at),
            None if self.entries.len() > SCAN_MAX => self.index = Some(Index::build(&self.entries)),
            None => {}
        }
        None
    }

    /// Takes `key` out; its value, if it was set.
    pub fn remove(&mut self, key: &str) -> Option<PropValue> {
        let i = self.position(key)?;
        let value = self.entries.remove(i).value;
        if self.index.is_some() {
            // Removals are rare (a `property action="remove"`): the positions after `i` moved,
            // so the index is made again (or dropped, back at scanning size).
            self.index = (self.entries.len() > SCAN_MAX).then(|| Index::build(&self.entries));
        }
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    /// The entries, in the order they were first set.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    pub fn keys(&self) -> impl Iterator<Item = &PropKey> {
        self.entries.iter().map(|e| &e.key)
    }
}

impl std::fmt::Debug for PropMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a PropMap {
    type Item = (&'a PropKey, &'a PropValue);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        Iter(self.entries.iter())
    }
}

/// The entries of a [`PropMap`], in the order they were first set.
pub struct Iter<'a>(std::slice::Iter<'a, Entry>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a PropKey, &'a PropValue);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|e| (&e.key, &e.value))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl Extend<(PropKey, PropValue)> for PropMap {
    fn extend<I: IntoIterator<Item = (PropKey, PropValue)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(PropKey, PropValue)> for PropMap {
    fn from_iter<I: IntoIterator<Item = (PropKey, PropValue)>>(iter: I) -> PropMap {
        let mut map = PropMap::default();
        map.extend(iter);
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> PropKey {
        format!("p{i}").into()
    }

    /// The same operations on a `PropMap` and a `HashMap` give the same answers, across the size
    /// where the index is built and dropped.
    #[test]
    fn a_prop_map_answers_as_a_hash_map_at_every_size() {
        let mut m = PropMap::default();
        let mut h = std::collections::HashMap::<String, String>::new();
        // A fixed pseudo-random walk of inserts, overwrites and removals over 48 names.
        let mut x: u32 = 12345;
        for step in 0..4000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let i = (x >> 16) as usize % 48;
            let k = key(i);
            // Grow in the first half, shrink in the second.
            let removing = (x >> 8) % 10 < if step < 2000 { 2 } else { 7 };
            if removing {
                assert_eq!(
                    m.remove(&k).map(|v| v.to_string()),
                    h.remove(k.as_ref()),
                    "remove {k} at step {step}"
                );
            } else {
                let v = format!("v{step}");
                assert_eq!(
                    m.insert(k.clone(), v.as_str().into())
                        .map(|v| v.to_string()),
                    h.insert(k.to_string(), v),
                    "insert {k} at step {step}"
                );
            }
            assert_eq!(m.len(), h.len());
            for j in 0..48 {
                let k = key(j);
                assert_eq!(
                    m.get(&k).map(|v| v.as_str()),
                    h.get(k.as_ref()).map(String::as_str)
                );
            }
        }
    }

    #[test]
    fn entries_keep_the_order_they_were_first_set_in() {
        let mut m = PropMap::default();
        for i in 0..40 {
            m.insert(key(i), "a".into());
        }
        m.insert(key(3), "b".into());
        m.remove(&key(0));
        let keys: Vec<String> = m.keys().map(|k| k.to_string()).collect();
        let want: Vec<String> = (1..40).map(|i| key(i).to_string()).collect();
        assert_eq!(keys, want);
        assert_eq!(m.get(&key(3)).map(|v| v.as_str()), Some("b"));
    }
}

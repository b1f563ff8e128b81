//! A bounded ring buffer of recent values, so a long-running dashboard keeps
//! a fixed amount of history (the chart window) and never grows.

use std::collections::VecDeque;

/// The most recent `capacity` values, oldest first; pushing past capacity
/// drops the oldest.
#[derive(Clone, Debug)]
pub struct History<T> {
    items: VecDeque<T>,
    capacity: usize,
}

impl<T> History<T> {
    /// An empty history keeping at most `capacity` values (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { items: VecDeque::with_capacity(capacity), capacity }
    }

    /// Appends a value, dropping the oldest when full.
    pub fn push(&mut self, value: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(value);
    }

    /// The values, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// The values, oldest first, to change in place.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> + ExactSizeIterator {
        self.items.iter_mut()
    }

    /// The newest value.
    pub fn latest(&self) -> Option<&T> {
        self.items.back()
    }

    /// How many values are held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The most values this history keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::History;

    #[test]
    fn keeps_only_the_newest_values() {
        let mut h = History::new(3);
        for v in 1..=5 {
            h.push(v);
        }
        assert_eq!(h.iter().copied().collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(h.latest(), Some(&5));
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn zero_capacity_still_holds_one() {
        let mut h = History::new(0);
        h.push('a');
        h.push('b');
        assert_eq!(h.iter().copied().collect::<String>(), "b");
        assert_eq!(h.capacity(), 1);
    }
}

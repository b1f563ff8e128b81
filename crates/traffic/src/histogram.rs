//! A log-linear latency histogram, in the spirit of HDR histograms.
//!
//! Values (microseconds) below 128 are counted exactly; above, every power of
//! two is split into 128 equal buckets, so a reported percentile is within
//! 1/128 (< 0.8 %) of the true value. Recording is an index computation and
//! an increment, which keeps the generator from becoming the bottleneck, and
//! the whole table is under 32 KiB, so one per real server is affordable.

/// Exactly counted values below this; also the buckets per power of two.
const SUB_BUCKETS: u64 = 128;
/// log2 of [`SUB_BUCKETS`].
const SUB_BITS: u32 = 7;
/// Larger values (about 19 hours in microseconds) are clamped to this.
const MAX_VALUE: u64 = (1 << 36) - 1;
/// Number of buckets needed to reach [`MAX_VALUE`].
const BUCKETS: usize = bucket_of(MAX_VALUE) + 1;

/// Counts of values, for percentiles with bounded relative error.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram").field("total", &self.total).field("max", &self.max).finish()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self { counts: vec![0; BUCKETS].into_boxed_slice(), total: 0, max: 0 }
    }

    /// Counts one value; values above about 19 hours are clamped.
    pub fn record(&mut self, value: u64) {
        let value = value.min(MAX_VALUE);
        self.counts[bucket_of(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
    }

    /// Adds every value counted in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded (exact), 0 when empty.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The smallest recorded value `v` such that a fraction `quantile` of all
    /// values are `<= v`, to within one bucket; 0 when empty.
    ///
    /// `quantile` is clamped to `0.0..=1.0`, so results are monotonic in it
    /// and never exceed [`Histogram::max`].
    pub fn value_at_quantile(&self, quantile: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let quantile = if quantile.is_nan() { 1.0 } else { quantile.clamp(0.0, 1.0) };
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a rank between 1 and total, well inside f64's exact integers"
        )]
        let rank = ((quantile * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return highest_in(index).min(self.max);
            }
        }
        self.max
    }
}

/// The bucket that counts `value` (which must be <= [`MAX_VALUE`]).
const fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    let exponent = 63 - value.leading_zeros(); // >= SUB_BITS
    let shift = exponent - SUB_BITS;
    ((shift as u64 + 1) * SUB_BUCKETS + ((value >> shift) - SUB_BUCKETS)) as usize
}

/// The largest value that falls into bucket `index`.
fn highest_in(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return index;
    }
    let shift = index / SUB_BUCKETS - 1;
    let mantissa = index % SUB_BUCKETS + SUB_BUCKETS;
    ((mantissa + 1) << shift) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::new();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.value_at_quantile(0.5), 50);
        assert_eq!(h.value_at_quantile(0.99), 99);
        assert_eq!(h.value_at_quantile(1.0), 100);
        assert_eq!(h.max(), 100);
    }

    #[test]
    fn large_values_within_one_percent() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 10);
        }
        for (q, exact) in [(0.5, 500_000.0), (0.9, 900_000.0), (0.99, 990_000.0)] {
            #[expect(clippy::cast_precision_loss, reason = "test values are small")]
            let got = h.value_at_quantile(q) as f64;
            assert!((got - exact).abs() / exact < 0.01, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.value_at_quantile(1.0), 1_000_000);
    }

    #[test]
    fn buckets_are_contiguous() {
        for index in 0..BUCKETS - 1 {
            let high = highest_in(index);
            assert_eq!(bucket_of(high), index);
            assert_eq!(bucket_of(high + 1), index + 1);
        }
    }

    #[test]
    fn clamps_and_merges() {
        let mut a = Histogram::new();
        a.record(u64::MAX);
        let mut b = Histogram::new();
        b.record(3);
        b.merge(&a);
        assert_eq!(b.count(), 2);
        assert_eq!(b.max(), MAX_VALUE);
        assert_eq!(Histogram::new().value_at_quantile(0.5), 0);
        assert_eq!(b.value_at_quantile(f64::NAN), MAX_VALUE);
    }
}

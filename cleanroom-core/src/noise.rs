//! The discrete Laplace (two-sided geometric) mechanism, sampled exactly with
//! integer arithmetic from a specified random stream.
//!
//! `P(Z = z) = (1 - q) / (1 + q) · q^|z|` with `q = exp(-ε/Δ)`: ε-differential
//! privacy for any integer vector of L1 sensitivity `Δ` when every coordinate
//! gets an independent draw (Ghosh, Roughgarden, Sundararajan 2009).
//!
//! The sampler is Algorithms 1 and 2 of Canonne, Kamath and Steinke, "The
//! Discrete Gaussian for Differential Privacy" (NeurIPS 2020): only integer
//! comparisons on uniform integers, so no floating-point rounding can leak
//! through the low bits of a noisy count. It is written out here rather than
//! taken from a DP library because the protocol specifies how every random
//! byte is consumed (PROTOCOL.md, "Noisy counts"): a second implementation
//! reproduces the disclosed numbers of a test vector from its seed alone.
//!
//! Randomness: the concatenation of `SHA-256(NOISE_DST ‖ seed ‖ u64be(i))` for
//! `i = 0, 1, 2, …`. The server draws the 32-byte seed from the operating
//! system's CSPRNG once per session; only test vectors fix it.

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::protocol::NOISE_DST;

/// ε is carried in millionths so that budgets add up exactly.
pub const EPSILON_SCALE: u64 = 1_000_000;

/// The 32-byte secret a session's noise is derived from. Never logged,
/// displayed or sent to a party.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct NoiseSeed([u8; 32]);

impl NoiseSeed {
    /// Wraps stored or test-vector bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        NoiseSeed(bytes)
    }

    /// A fresh seed from the operating system's CSPRNG.
    pub fn random() -> Self {
        use rand::Rng as _;
        let mut bytes = [0u8; 32];
        // UnwrapErr panics if the OS RNG fails: better than predictable noise.
        rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut bytes);
        NoiseSeed(bytes)
    }

    /// The bytes, for storage next to the session.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for NoiseSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoiseSeed(<redacted>)")
    }
}

/// The deterministic byte stream of a seed.
pub struct NoiseStream {
    seed: NoiseSeed,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl Drop for NoiseStream {
    fn drop(&mut self) {
        self.block.zeroize();
    }
}

impl NoiseStream {
    /// The stream of `seed`, from its first byte.
    pub fn new(seed: &NoiseSeed) -> Self {
        NoiseStream {
            seed: seed.clone(),
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn next_byte(&mut self) -> u8 {
        if self.used == 32 {
            let mut h = Sha256::new();
            h.update(NOISE_DST.as_bytes());
            h.update(self.seed.as_bytes());
            h.update(self.counter.to_be_bytes());
            self.block.copy_from_slice(&h.finalize());
            self.counter += 1;
            self.used = 0;
        }
        let b = self.block[self.used];
        self.used += 1;
        b
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = 0u64;
        for _ in 0..8 {
            x = (x << 8) | u64::from(self.next_byte());
        }
        x
    }

    /// Uniform in `0..n` (`n >= 1`): the next big-endian u64, rejected when it
    /// falls in the last, incomplete copy of `0..n`.
    pub fn uniform_below(&mut self, n: u64) -> u64 {
        // invariant: every caller passes a denominator of at least 1 (ε and Δ
        // are positive server settings, never peer input).
        assert!(n >= 1, "uniform_below(0)");
        // 2^64 mod n, computed without 128-bit arithmetic.
        let rem = (u64::MAX % n + 1) % n;
        loop {
            let x = self.next_u64();
            if rem == 0 || x < u64::MAX - rem + 1 {
                return x % n;
            }
        }
    }

    /// Bernoulli(`num/den`), `num <= den`, `den >= 1`.
    pub fn bernoulli(&mut self, num: u64, den: u64) -> bool {
        self.uniform_below(den) < num
    }

    /// Bernoulli(`exp(-num/den)`) (CKS Algorithm 1).
    pub fn bernoulli_exp(&mut self, num: u64, den: u64) -> bool {
        if num <= den {
            let mut k = 1u64;
            while self.bernoulli(num, den.saturating_mul(k)) {
                k += 1;
            }
            k % 2 == 1
        } else {
            for _ in 0..num / den {
                if !self.bernoulli_exp(1, 1) {
                    return false;
                }
            }
            self.bernoulli_exp(num % den, den)
        }
    }

    /// One draw with `P(z) ∝ exp(-|z|·s/t)` (CKS Algorithm 2); `s, t >= 1`.
    pub fn discrete_laplace(&mut self, s: u64, t: u64) -> i64 {
        loop {
            let u = self.uniform_below(t);
            if !self.bernoulli_exp(u, t) {
                continue;
            }
            let mut v = 0u64;
            while self.bernoulli_exp(1, 1) {
                v += 1;
            }
            let x = u128::from(u) + u128::from(t) * u128::from(v);
            let y = i64::try_from(x / u128::from(s)).unwrap_or(i64::MAX);
            let negative = self.bernoulli(1, 2);
            if negative && y == 0 {
                continue;
            }
            return if negative { -y } else { y };
        }
    }
}

/// The mechanism of one session: ε (in millionths) over an L1 sensitivity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mechanism {
    /// ε × [`EPSILON_SCALE`].
    pub epsilon_micro: u64,
    /// The L1 sensitivity of the whole release.
    pub sensitivity: u64,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Mechanism {
    /// `(s, t)` in lowest terms with `s/t = ε/Δ`.
    pub fn ratio(&self) -> (u64, u64) {
        let s = self.epsilon_micro.max(1);
        let t = self.sensitivity.max(1).saturating_mul(EPSILON_SCALE);
        let g = gcd(s, t);
        (s / g, t / g)
    }

    /// `q = exp(-ε/Δ)`, for intervals (never for sampling).
    pub fn q(&self) -> f64 {
        let (s, t) = self.ratio();
        (-(s as f64) / (t as f64)).exp()
    }

    /// One noise draw.
    pub fn sample(&self, stream: &mut NoiseStream) -> i64 {
        let (s, t) = self.ratio();
        stream.discrete_laplace(s, t)
    }

    /// The exact probability of one draw being `z`.
    pub fn pmf(&self, z: i64) -> f64 {
        let q = self.q();
        (1.0 - q) / (1.0 + q) * q.powi(z.unsigned_abs().min(i32::MAX as u64) as i32)
    }

    /// The smallest `w` with `P(|Z| > w) <= 1 - level`: one draw lies in `±w`
    /// with probability at least `level`.
    pub fn half_width(&self, level: f64) -> u64 {
        let q = self.q();
        // P(|Z| > w) = 2 q^(w+1) / (1 + q).
        let mut w = 0u64;
        while 2.0 * q.powf((w + 1) as f64) / (1.0 + q) > 1.0 - level && w < 1 << 40 {
            w += 1;
        }
        w
    }

    /// The smallest `w` with `P(|Z1 - Z2| > w) <= 1 - level` for two
    /// independent draws (a figure derived as a difference of two noisy ones).
    pub fn difference_half_width(&self, level: f64) -> u64 {
        let q = self.q();
        // P(Z1 - Z2 = d) = c² Σ_z q^(|z| + |z - d|), c = (1-q)/(1+q); in closed form
        // c² q^|d| (|d| + (1 + q²)/(1 - q²)).
        let c = (1.0 - q) / (1.0 + q);
        let p = |d: u64| c * c * q.powf(d as f64) * (d as f64 + (1.0 + q * q) / (1.0 - q * q));
        let mut inside = p(0);
        let mut w = 0u64;
        while 1.0 - inside > 1.0 - level && w < 1 << 40 {
            w += 1;
            inside += 2.0 * p(w);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_deterministic_and_seeded() {
        let a = NoiseSeed::from_bytes([7; 32]);
        let b = NoiseSeed::from_bytes([8; 32]);
        let draw = |s: &NoiseSeed| {
            let mut st = NoiseStream::new(s);
            (0..50).map(|_| st.uniform_below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(draw(&a), draw(&a));
        assert_ne!(draw(&a), draw(&b));
    }

    #[test]
    fn first_block_is_the_specified_hash() {
        let seed = NoiseSeed::from_bytes([1; 32]);
        let mut st = NoiseStream::new(&seed);
        let mut h = Sha256::new();
        h.update(NOISE_DST.as_bytes());
        h.update([1u8; 32]);
        h.update(0u64.to_be_bytes());
        let block = h.finalize();
        let first = u64::from_be_bytes(block[..8].try_into().unwrap());
        assert_eq!(st.uniform_below(u64::MAX), first % u64::MAX);
    }

    #[test]
    fn half_widths_cover_their_level() {
        let m = Mechanism {
            epsilon_micro: EPSILON_SCALE,
            sensitivity: 11,
        };
        let w = m.half_width(0.95);
        let inside: f64 = (-(w as i64)..=w as i64).map(|z| m.pmf(z)).sum();
        assert!(inside >= 0.95, "{inside}");
        let narrower: f64 = (-(w as i64) + 1..w as i64).map(|z| m.pmf(z)).sum();
        assert!(narrower < 0.95, "{narrower}");
        assert!(m.difference_half_width(0.95) > w);
    }

    #[test]
    fn debug_redacts_the_seed() {
        let s = format!("{:?}", NoiseSeed::from_bytes([0xab; 32]));
        assert!(!s.contains("ab"), "{s}");
    }
}

//! GF(2^8) "matrix times shards" kernels with run-time CPU dispatch.
//!
//! `out[p][i] = XOR_j coef[p][j] * in[j][i]` for every byte position `i`.
//!
//! Kernels (best first, picked once at run time with
//! `is_x86_feature_detected!`, never by compile-time `target-cpu`):
//! * `avx512-gfni`: 64-byte `VGF2P8AFFINEQB` – multiplication by a constant is
//!   a GF(2)-linear map, i.e. an 8x8 bit matrix, so one affine instruction
//!   multiplies 64 bytes in *our* field (0x11D), whatever GFNI's own polynomial.
//! * `avx2-gfni`: the same with 32-byte VEX `VGF2P8AFFINEQB`.
//! * `avx2`: split-nibble table multiply with `VPSHUFB` (klauspost galMulAVX2 /
//!   ISA-L style).
//! * `ssse3`: the same with 16-byte `PSHUFB`.
//! * `scalar`: 256-byte row of the full multiplication table (any CPU/arch).
//!
//! Every kernel processes a group of up to `Level::group()` outputs per pass
//! over the inputs, keeping all the output accumulators in registers, so each
//! input byte is loaded once per group. When there are more outputs than one
//! group, the work is done in cache-sized column blocks so the inputs are
//! re-read from L1/L2 rather than memory.
//!
//! The environment variable `CODIO_NATIVE_SIMD` (scalar | ssse3 | avx2 |
//! avx2-gfni | avx512-gfni) caps the level picked at load time (for tests and
//! diagnostics); it can never select a level the CPU does not support.

#![allow(unused_unsafe)]
#![allow(clippy::missing_safety_doc)]

use crate::gf;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Scalar,
    Ssse3,
    Avx2,
    Avx2Gfni,
    Avx512Gfni,
}

pub const ALL_LEVELS: [Level; 5] =
    [Level::Scalar, Level::Ssse3, Level::Avx2, Level::Avx2Gfni, Level::Avx512Gfni];

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Ssse3 => "ssse3",
            Level::Avx2 => "avx2",
            Level::Avx2Gfni => "avx2-gfni",
            Level::Avx512Gfni => "avx512-gfni",
        }
    }

    pub fn from_name(s: &str) -> Option<Level> {
        ALL_LEVELS.iter().copied().find(|l| l.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Number of outputs processed per pass over the inputs.
    pub fn group(self) -> usize {
        match self {
            Level::Scalar => 1,
            Level::Ssse3 => 4,
            Level::Avx2 => 4,
            Level::Avx2Gfni => 4,
            Level::Avx512Gfni => 8,
        }
    }

    pub fn supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Level::Scalar => true,
                Level::Ssse3 => std::is_x86_feature_detected!("ssse3"),
                Level::Avx2 => std::is_x86_feature_detected!("avx2"),
                Level::Avx2Gfni => {
                    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("gfni")
                }
                Level::Avx512Gfni => {
                    std::is_x86_feature_detected!("avx512f")
                        && std::is_x86_feature_detected!("avx512bw")
                        && std::is_x86_feature_detected!("gfni")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Level::Scalar
        }
    }

    pub fn best() -> Level {
        *ALL_LEVELS.iter().rev().find(|l| l.supported()).unwrap_or(&Level::Scalar)
    }
}

#[allow(unused_macros)]
macro_rules! dispatch_p {
    ($p:expr, $f:ident, $t:expr, $k:expr, $i:expr, $o:expr, $s:expr, $e:expr) => {
        match $p {
            1 => x86::$f::<1>($t, $k, $i, $o, $s, $e),
            2 => x86::$f::<2>($t, $k, $i, $o, $s, $e),
            3 => x86::$f::<3>($t, $k, $i, $o, $s, $e),
            4 => x86::$f::<4>($t, $k, $i, $o, $s, $e),
            _ => unreachable!(),
        }
    };
}
#[allow(unused_macros)]
macro_rules! dispatch_p8 {
    ($p:expr, $f:ident, $t:expr, $k:expr, $i:expr, $o:expr, $s:expr, $e:expr) => {
        match $p {
            1 => x86::$f::<1>($t, $k, $i, $o, $s, $e),
            2 => x86::$f::<2>($t, $k, $i, $o, $s, $e),
            3 => x86::$f::<3>($t, $k, $i, $o, $s, $e),
            4 => x86::$f::<4>($t, $k, $i, $o, $s, $e),
            5 => x86::$f::<5>($t, $k, $i, $o, $s, $e),
            6 => x86::$f::<6>($t, $k, $i, $o, $s, $e),
            7 => x86::$f::<7>($t, $k, $i, $o, $s, $e),
            8 => x86::$f::<8>($t, $k, $i, $o, $s, $e),
            _ => unreachable!(),
        }
    };
}

static ACTIVE: OnceLock<Level> = OnceLock::new();

/// The level used by the addon: the best supported one, capped by the
/// `CODIO_NATIVE_SIMD` environment variable if set.
pub fn active() -> Level {
    *ACTIVE.get_or_init(|| {
        let best = Level::best();
        match std::env::var("CODIO_NATIVE_SIMD").ok().and_then(|s| Level::from_name(&s)) {
            Some(cap) => {
                ALL_LEVELS.iter().rev().copied().find(|l| *l <= cap && l.supported()).unwrap_or(Level::Scalar)
            }
            None => best,
        }
    })
}

/// Split-nibble tables for `c`: bytes 0..16 = c*x, bytes 16..32 = c*(x<<4).
pub fn nibble_table(c: u8) -> [u8; 32] {
    let mut t = [0u8; 32];
    for x in 0..16u8 {
        t[x as usize] = gf::mul(c, x);
        t[16 + x as usize] = gf::mul(c, x << 4);
    }
    t
}

/// 8x8 bit matrix (GF2P8AFFINEQB layout) of "multiply by c" in GF(2^8)/0x11D.
/// Output bit i = parity(x & byte[7-i]).
pub fn gfni_matrix(c: u8) -> u64 {
    let mut q = 0u64;
    for i in 0..8 {
        let mut row = 0u8;
        for j in 0..8 {
            if (gf::mul(c, 1 << j) >> i) & 1 == 1 {
                row |= 1 << j;
            }
        }
        q |= (row as u64) << (8 * (7 - i));
    }
    q
}

/// Pre-computed per-coefficient tables for one coefficient matrix and level.
pub struct Tables {
    pub level: Level,
    pub rows: usize,
    pub k: usize,
    /// rows x k, row-major
    pub coefs: Vec<u8>,
    /// group-major: for group g (full groups before it), index `g*G*k + j*P + p`.
    nib: Vec<[u8; 32]>,
    gfm: Vec<u64>,
}

impl Tables {
    pub fn new(level: Level, coefs: &[u8], rows: usize, k: usize) -> Tables {
        assert_eq!(coefs.len(), rows * k);
        let g = level.group();
        let mut nib = Vec::new();
        let mut gfm = Vec::new();
        match level {
            Level::Ssse3 | Level::Avx2 => nib.reserve(rows * k),
            Level::Avx2Gfni | Level::Avx512Gfni => gfm.reserve(rows * k),
            Level::Scalar => {}
        }
        if level != Level::Scalar {
            let mut r0 = 0;
            while r0 < rows {
                let p_n = g.min(rows - r0);
                for j in 0..k {
                    for p in 0..p_n {
                        let c = coefs[(r0 + p) * k + j];
                        match level {
                            Level::Ssse3 | Level::Avx2 => nib.push(nibble_table(c)),
                            _ => gfm.push(gfni_matrix(c)),
                        }
                    }
                }
                r0 += p_n;
            }
        }
        Tables { level, rows, k, coefs: coefs.to_vec(), nib, gfm }
    }

    /// Compute `outputs[p] = sum_j coef[p][j] * inputs[j]` over `len` bytes.
    ///
    /// # Safety
    /// `inputs` has `k` pointers readable for `len` bytes, `outputs` has
    /// `rows` pointers writable for `len` bytes; outputs must not overlap
    /// inputs or each other. Output memory may be uninitialised.
    pub unsafe fn apply(&self, inputs: &[*const u8], outputs: &[*mut u8], len: usize) {
        assert_eq!(inputs.len(), self.k);
        assert_eq!(outputs.len(), self.rows);
        assert!(self.level.supported(), "kernel level not supported on this CPU");
        if len == 0 || self.rows == 0 {
            return;
        }
        let g = self.level.group();
        let groups = self.rows.div_ceil(g);
        if groups == 1 {
            self.run_group(0, inputs, outputs, 0, len);
        } else {
            // Column blocks sized so the k input slices of one block stay in L1/L2
            // while every output group is produced from them.
            let block = ((96 * 1024 / self.k).max(1024)) & !127;
            let mut s = 0;
            while s < len {
                let e = (s + block).min(len);
                for grp in 0..groups {
                    self.run_group(grp, inputs, outputs, s, e);
                }
                s = e;
            }
        }
    }

    unsafe fn run_group(
        &self,
        grp: usize,
        inputs: &[*const u8],
        outputs: &[*mut u8],
        start: usize,
        end: usize,
    ) {
        let g = self.level.group();
        let r0 = grp * g;
        let p_n = g.min(self.rows - r0);
        let outs = &outputs[r0..r0 + p_n];
        let off = r0 * self.k; // entries of full groups before this one
        let k = self.k;
        let done = match self.level {
            Level::Scalar => start,
            #[cfg(target_arch = "x86_64")]
            Level::Ssse3 => {
                let t = self.nib[off..].as_ptr();
                dispatch_p!(p_n, ssse3, t, k, inputs, outs, start, end)
            }
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => {
                let t = self.nib[off..].as_ptr();
                dispatch_p!(p_n, avx2, t, k, inputs, outs, start, end)
            }
            #[cfg(target_arch = "x86_64")]
            Level::Avx2Gfni => {
                let t = self.gfm[off..].as_ptr();
                dispatch_p!(p_n, avx2_gfni, t, k, inputs, outs, start, end)
            }
            #[cfg(target_arch = "x86_64")]
            Level::Avx512Gfni => {
                let t = self.gfm[off..].as_ptr();
                dispatch_p8!(p_n, avx512_gfni, t, k, inputs, outs, start, end)
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => start,
        };
        if done < end {
            scalar_rows(&self.coefs[r0 * k..(r0 + p_n) * k], k, inputs, outs, done, end);
        }
    }
}



/// Portable kernel over byte range `[start, end)`.
unsafe fn scalar_rows(
    coefs: &[u8],
    k: usize,
    inputs: &[*const u8],
    outs: &[*mut u8],
    start: usize,
    end: usize,
) {
    let mul = &gf::field().mul;
    for (p, &out) in outs.iter().enumerate() {
        for j in 0..k {
            let tbl = &mul[coefs[p * k + j] as usize];
            let inp = inputs[j];
            if j == 0 {
                for i in start..end {
                    *out.add(i) = tbl[*inp.add(i) as usize];
                }
            } else {
                for i in start..end {
                    *out.add(i) ^= tbl[*inp.add(i) as usize];
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Returns the first byte position not processed (multiple of the vector
    /// step past `start`); the caller finishes the tail with the scalar kernel.
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub unsafe fn avx512_gfni<const P: usize>(
        mats: *const u64,
        k: usize,
        inputs: &[*const u8],
        outs: &[*mut u8],
        start: usize,
        end: usize,
    ) -> usize {
        let mut i = start;
        if P <= 4 {
            i = avx512_gfni_u::<P, 4>(mats, k, inputs, outs, i, end);
        }
        i = avx512_gfni_u::<P, 2>(mats, k, inputs, outs, i, end);
        avx512_gfni_u::<P, 1>(mats, k, inputs, outs, i, end)
    }

    /// `U` 64-byte columns x `P` outputs of accumulators in registers.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    unsafe fn avx512_gfni_u<const P: usize, const U: usize>(
        mats: *const u64,
        k: usize,
        inputs: &[*const u8],
        outs: &[*mut u8],
        start: usize,
        end: usize,
    ) -> usize {
        let mut i = start;
        while i + 64 * U <= end {
            let mut acc = [[_mm512_setzero_si512(); P]; U];
            // Two inputs per step: acc ^= a ^ b is one VPTERNLOGQ.
            let mut j = 0;
            while j + 2 <= k {
                let s0 = *inputs.get_unchecked(j);
                let s1 = *inputs.get_unchecked(j + 1);
                let mut x = [_mm512_setzero_si512(); U];
                let mut y = [_mm512_setzero_si512(); U];
                for u in 0..U {
                    x[u] = _mm512_loadu_si512(s0.add(i + 64 * u) as *const _);
                    y[u] = _mm512_loadu_si512(s1.add(i + 64 * u) as *const _);
                }
                let mrow = mats.add(j * P);
                for p in 0..P {
                    let m = _mm512_set1_epi64(*mrow.add(p) as i64);
                    let n = _mm512_set1_epi64(*mrow.add(P + p) as i64);
                    for u in 0..U {
                        acc[u][p] = _mm512_ternarylogic_epi64::<0x96>(
                            acc[u][p],
                            _mm512_gf2p8affine_epi64_epi8::<0>(x[u], m),
                            _mm512_gf2p8affine_epi64_epi8::<0>(y[u], n),
                        );
                    }
                }
                j += 2;
            }
            if j < k {
                let s0 = *inputs.get_unchecked(j);
                let mrow = mats.add(j * P);
                for u in 0..U {
                    let x = _mm512_loadu_si512(s0.add(i + 64 * u) as *const _);
                    for p in 0..P {
                        let m = _mm512_set1_epi64(*mrow.add(p) as i64);
                        acc[u][p] = _mm512_xor_si512(acc[u][p], _mm512_gf2p8affine_epi64_epi8::<0>(x, m));
                    }
                }
            }
            for p in 0..P {
                let d = *outs.get_unchecked(p);
                for u in 0..U {
                    _mm512_storeu_si512(d.add(i + 64 * u) as *mut _, acc[u][p]);
                }
            }
            i += 64 * U;
        }
        i
    }

    #[target_feature(enable = "avx2,gfni")]
    pub unsafe fn avx2_gfni<const P: usize>(
        mats: *const u64,
        k: usize,
        inputs: &[*const u8],
        outs: &[*mut u8],
        start: usize,
        end: usize,
    ) -> usize {
        let mut i = start;
        while i + 64 <= end {
            let mut a0 = [_mm256_setzero_si256(); P];
            let mut a1 = [_mm256_setzero_si256(); P];
            for j in 0..k {
                let src = *inputs.get_unchecked(j);
                let x0 = _mm256_loadu_si256(src.add(i) as *const __m256i);
                let x1 = _mm256_loadu_si256(src.add(i + 32) as *const __m256i);
                let mrow = mats.add(j * P);
                for p in 0..P {
                    let m = _mm256_set1_epi64x(*mrow.add(p) as i64);
                    a0[p] = _mm256_xor_si256(a0[p], _mm256_gf2p8affine_epi64_epi8::<0>(x0, m));
                    a1[p] = _mm256_xor_si256(a1[p], _mm256_gf2p8affine_epi64_epi8::<0>(x1, m));
                }
            }
            for p in 0..P {
                let d = *outs.get_unchecked(p);
                _mm256_storeu_si256(d.add(i) as *mut __m256i, a0[p]);
                _mm256_storeu_si256(d.add(i + 32) as *mut __m256i, a1[p]);
            }
            i += 64;
        }
        while i + 32 <= end {
            let mut a0 = [_mm256_setzero_si256(); P];
            for j in 0..k {
                let src = *inputs.get_unchecked(j);
                let x0 = _mm256_loadu_si256(src.add(i) as *const __m256i);
                let mrow = mats.add(j * P);
                for p in 0..P {
                    let m = _mm256_set1_epi64x(*mrow.add(p) as i64);
                    a0[p] = _mm256_xor_si256(a0[p], _mm256_gf2p8affine_epi64_epi8::<0>(x0, m));
                }
            }
            for p in 0..P {
                _mm256_storeu_si256((*outs.get_unchecked(p)).add(i) as *mut __m256i, a0[p]);
            }
            i += 32;
        }
        i
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2<const P: usize>(
        tbls: *const [u8; 32],
        k: usize,
        inputs: &[*const u8],
        outs: &[*mut u8],
        start: usize,
        end: usize,
    ) -> usize {
        let mask = _mm256_set1_epi8(0x0f);
        let mut i = start;
        while i + 64 <= end {
            let mut a0 = [_mm256_setzero_si256(); P];
            let mut a1 = [_mm256_setzero_si256(); P];
            for j in 0..k {
                let src = *inputs.get_unchecked(j);
                let x0 = _mm256_loadu_si256(src.add(i) as *const __m256i);
                let x1 = _mm256_loadu_si256(src.add(i + 32) as *const __m256i);
                let l0 = _mm256_and_si256(x0, mask);
                let h0 = _mm256_and_si256(_mm256_srli_epi64::<4>(x0), mask);
                let l1 = _mm256_and_si256(x1, mask);
                let h1 = _mm256_and_si256(_mm256_srli_epi64::<4>(x1), mask);
                let trow = tbls.add(j * P);
                for p in 0..P {
                    let t = trow.add(p) as *const u8;
                    let tl = _mm256_broadcastsi128_si256(_mm_loadu_si128(t as *const __m128i));
                    let th = _mm256_broadcastsi128_si256(_mm_loadu_si128(t.add(16) as *const __m128i));
                    a0[p] = _mm256_xor_si256(
                        a0[p],
                        _mm256_xor_si256(_mm256_shuffle_epi8(tl, l0), _mm256_shuffle_epi8(th, h0)),
                    );
                    a1[p] = _mm256_xor_si256(
                        a1[p],
                        _mm256_xor_si256(_mm256_shuffle_epi8(tl, l1), _mm256_shuffle_epi8(th, h1)),
                    );
                }
            }
            for p in 0..P {
                let d = *outs.get_unchecked(p);
                _mm256_storeu_si256(d.add(i) as *mut __m256i, a0[p]);
                _mm256_storeu_si256(d.add(i + 32) as *mut __m256i, a1[p]);
            }
            i += 64;
        }
        while i + 32 <= end {
            let mut a0 = [_mm256_setzero_si256(); P];
            for j in 0..k {
                let src = *inputs.get_unchecked(j);
                let x0 = _mm256_loadu_si256(src.add(i) as *const __m256i);
                let l0 = _mm256_and_si256(x0, mask);
                let h0 = _mm256_and_si256(_mm256_srli_epi64::<4>(x0), mask);
                let trow = tbls.add(j * P);
                for p in 0..P {
                    let t = trow.add(p) as *const u8;
                    let tl = _mm256_broadcastsi128_si256(_mm_loadu_si128(t as *const __m128i));
                    let th = _mm256_broadcastsi128_si256(_mm_loadu_si128(t.add(16) as *const __m128i));
                    a0[p] = _mm256_xor_si256(
                        a0[p],
                        _mm256_xor_si256(_mm256_shuffle_epi8(tl, l0), _mm256_shuffle_epi8(th, h0)),
                    );
                }
            }
            for p in 0..P {
                _mm256_storeu_si256((*outs.get_unchecked(p)).add(i) as *mut __m256i, a0[p]);
            }
            i += 32;
        }
        i
    }

    #[target_feature(enable = "ssse3")]
    pub unsafe fn ssse3<const P: usize>(
        tbls: *const [u8; 32],
        k: usize,
        inputs: &[*const u8],
        outs: &[*mut u8],
        start: usize,
        end: usize,
    ) -> usize {
        let mask = _mm_set1_epi8(0x0f);
        let mut i = start;
        while i + 16 <= end {
            let mut a0 = [_mm_setzero_si128(); P];
            for j in 0..k {
                let src = *inputs.get_unchecked(j);
                let x0 = _mm_loadu_si128(src.add(i) as *const __m128i);
                let l0 = _mm_and_si128(x0, mask);
                let h0 = _mm_and_si128(_mm_srli_epi64::<4>(x0), mask);
                let trow = tbls.add(j * P);
                for p in 0..P {
                    let t = trow.add(p) as *const u8;
                    let tl = _mm_loadu_si128(t as *const __m128i);
                    let th = _mm_loadu_si128(t.add(16) as *const __m128i);
                    a0[p] = _mm_xor_si128(
                        a0[p],
                        _mm_xor_si128(_mm_shuffle_epi8(tl, l0), _mm_shuffle_epi8(th, h0)),
                    );
                }
            }
            for p in 0..P {
                _mm_storeu_si128((*outs.get_unchecked(p)).add(i) as *mut __m128i, a0[p]);
            }
            i += 16;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngCore, SeedableRng};

    fn reference(coefs: &[u8], rows: usize, k: usize, inputs: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let len = inputs[0].len();
        (0..rows)
            .map(|p| {
                (0..len)
                    .map(|i| (0..k).fold(0u8, |acc, j| acc ^ gf::mul(coefs[p * k + j], inputs[j][i])))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn gfni_matrix_matches_field_mul() {
        // Evaluate the affine matrix in software exactly as GF2P8AFFINEQB does.
        for c in 0..=255u8 {
            let q = gfni_matrix(c);
            for x in 0..=255u8 {
                let mut y = 0u8;
                for i in 0..8 {
                    let row = (q >> (8 * (7 - i))) as u8;
                    y |= (((row & x).count_ones() & 1) as u8) << i;
                }
                assert_eq!(y, gf::mul(c, x), "c={c} x={x}");
            }
        }
    }

    #[test]
    fn every_supported_level_matches_reference() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let levels: Vec<Level> = ALL_LEVELS.iter().copied().filter(|l| l.supported()).collect();
        eprintln!("testing kernel levels: {:?}", levels);
        for &(k, rows) in &[(1, 1), (3, 2), (10, 4), (5, 9), (17, 3), (20, 17), (7, 8)] {
            for &len in &[1usize, 15, 16, 31, 33, 64, 100, 127, 128, 129, 1000, 4096 + 77, 70_001] {
                let coefs: Vec<u8> = (0..rows * k).map(|_| rng.gen()).collect();
                let inputs: Vec<Vec<u8>> = (0..k)
                    .map(|_| {
                        let mut v = vec![0u8; len];
                        rng.fill_bytes(&mut v);
                        v
                    })
                    .collect();
                let want = reference(&coefs, rows, k, &inputs);
                for &level in &levels {
                    let t = Tables::new(level, &coefs, rows, k);
                    let mut outs: Vec<Vec<u8>> = (0..rows).map(|_| vec![0xAAu8; len]).collect();
                    let ip: Vec<*const u8> = inputs.iter().map(|v| v.as_ptr()).collect();
                    let op: Vec<*mut u8> = outs.iter_mut().map(|v| v.as_mut_ptr()).collect();
                    unsafe { t.apply(&ip, &op, len) };
                    assert_eq!(outs, want, "level={:?} k={k} rows={rows} len={len}", level);
                }
            }
        }
    }
}

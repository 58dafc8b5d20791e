//! GF(2^8) arithmetic and matrices for the Backblaze / klauspost Reed-Solomon
//! construction: field polynomial x^8+x^4+x^3+x^2+1 (0x11D), generator 2.

use std::sync::OnceLock;

pub const POLY: u16 = 0x11D;

pub struct Field {
    pub exp: [u8; 512],
    pub log: [u8; 256],
    /// Full multiplication table: `mul[a][b] = a*b`. 64 KiB, used by the
    /// scalar kernel and for table construction.
    pub mul: Box<[[u8; 256]; 256]>,
}

static FIELD: OnceLock<Field> = OnceLock::new();

pub fn field() -> &'static Field {
    FIELD.get_or_init(|| {
        let mut exp = [0u8; 512];
        let mut log = [0u8; 256];
        let mut x: u16 = 1;
        for i in 0..255 {
            exp[i] = x as u8;
            log[x as usize] = i as u8;
            x <<= 1;
            if x & 0x100 != 0 {
                x ^= POLY;
            }
        }
        for i in 255..512 {
            exp[i] = exp[i - 255];
        }
        let mut mul: Box<[[u8; 256]; 256]> = vec![[0u8; 256]; 256]
            .into_boxed_slice()
            .try_into()
            .expect("256 rows");
        for a in 1..256usize {
            for b in 1..256usize {
                mul[a][b] = exp[log[a] as usize + log[b] as usize];
            }
        }
        Field { exp, log, mul }
    })
}

#[inline]
pub fn mul(a: u8, b: u8) -> u8 {
    field().mul[a as usize][b as usize]
}

/// a^n in the field, with 0^0 = 1 (as in Backblaze's `galExp`).
pub fn exp(a: u8, n: usize) -> u8 {
    if n == 0 {
        return 1;
    }
    if a == 0 {
        return 0;
    }
    let f = field();
    f.exp[(f.log[a as usize] as usize * n) % 255]
}

pub fn inv(a: u8) -> u8 {
    debug_assert!(a != 0);
    let f = field();
    f.exp[(255 - f.log[a as usize] as usize) % 255]
}

/// Row-major dense matrix over GF(2^8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<u8>,
}

impl Matrix {
    pub fn zero(rows: usize, cols: usize) -> Self {
        Matrix { rows, cols, data: vec![0; rows * cols] }
    }

    pub fn identity(n: usize) -> Self {
        let mut m = Self::zero(n, n);
        for i in 0..n {
            m.data[i * n + i] = 1;
        }
        m
    }

    #[inline]
    pub fn get(&self, r: usize, c: usize) -> u8 {
        self.data[r * self.cols + c]
    }

    #[inline]
    pub fn set(&mut self, r: usize, c: usize, v: u8) {
        self.data[r * self.cols + c] = v;
    }

    pub fn row(&self, r: usize) -> &[u8] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Vandermonde matrix: `v[r][c] = r^c` (Backblaze `vandermonde`).
    pub fn vandermonde(rows: usize, cols: usize) -> Self {
        let mut m = Self::zero(rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                m.set(r, c, exp(r as u8, c));
            }
        }
        m
    }

    pub fn multiply(&self, rhs: &Matrix) -> Matrix {
        assert_eq!(self.cols, rhs.rows);
        let mut out = Self::zero(self.rows, rhs.cols);
        for r in 0..self.rows {
            for c in 0..rhs.cols {
                let mut acc = 0u8;
                for i in 0..self.cols {
                    acc ^= mul(self.get(r, i), rhs.get(i, c));
                }
                out.set(r, c, acc);
            }
        }
        out
    }

    pub fn select_rows(&self, rows: &[usize]) -> Matrix {
        let mut out = Self::zero(rows.len(), self.cols);
        for (i, &r) in rows.iter().enumerate() {
            out.data[i * self.cols..(i + 1) * self.cols].copy_from_slice(self.row(r));
        }
        out
    }

    /// Gauss-Jordan inversion. `None` if singular.
    pub fn invert(&self) -> Option<Matrix> {
        assert_eq!(self.rows, self.cols);
        let n = self.rows;
        let mut a = self.clone();
        let mut b = Self::identity(n);
        for col in 0..n {
            // find pivot
            let pivot = (col..n).find(|&r| a.get(r, col) != 0)?;
            if pivot != col {
                for c in 0..n {
                    a.data.swap(pivot * n + c, col * n + c);
                    b.data.swap(pivot * n + c, col * n + c);
                }
            }
            let scale = inv(a.get(col, col));
            if scale != 1 {
                for c in 0..n {
                    a.set(col, c, mul(a.get(col, c), scale));
                    b.set(col, c, mul(b.get(col, c), scale));
                }
            }
            for r in 0..n {
                if r == col {
                    continue;
                }
                let f = a.get(r, col);
                if f == 0 {
                    continue;
                }
                for c in 0..n {
                    let av = a.get(r, c) ^ mul(f, a.get(col, c));
                    a.set(r, c, av);
                    let bv = b.get(r, c) ^ mul(f, b.get(col, c));
                    b.set(r, c, bv);
                }
            }
        }
        Some(b)
    }
}

/// The systematic encoding matrix of Backblaze JavaReedSolomon /
/// klauspost/reedsolomon / reed-solomon-erasure: a `(k+m) x k` Vandermonde
/// matrix multiplied by the inverse of its top `k x k` square, so the top is
/// the identity and the bottom `m` rows generate the parity shards.
pub fn encoding_matrix(k: usize, m: usize) -> Matrix {
    let total = k + m;
    assert!(k >= 1 && total <= 256);
    let v = Matrix::vandermonde(total, k);
    let top = v.select_rows(&(0..k).collect::<Vec<_>>());
    let top_inv = top.invert().expect("Vandermonde top square is invertible");
    v.multiply(&top_inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_basics() {
        let f = field();
        assert_eq!(f.exp[0], 1);
        assert_eq!(f.exp[8], 0x1D); // 2^8 mod 0x11D
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1);
            assert_eq!(mul(a, 1), a);
            assert_eq!(mul(a, 0), 0);
        }
        // commutativity / distributivity spot checks
        for a in 0..=255u8 {
            for b in [0u8, 1, 2, 3, 0x53, 0xCA, 0xFF] {
                assert_eq!(mul(a, b), mul(b, a));
                assert_eq!(mul(a, b ^ 0x11), mul(a, b) ^ mul(a, 0x11));
            }
        }
    }

    #[test]
    fn encoding_matrix_is_systematic() {
        for (k, m) in [(1, 1), (4, 2), (10, 4), (17, 3), (200, 56)] {
            let em = encoding_matrix(k, m);
            for r in 0..k {
                for c in 0..k {
                    assert_eq!(em.get(r, c), (r == c) as u8);
                }
            }
        }
    }

    #[test]
    fn invert_roundtrip() {
        let em = encoding_matrix(10, 4);
        let rows = [0, 2, 3, 5, 7, 9, 10, 11, 12, 13];
        let sub = em.select_rows(&rows);
        let inv = sub.invert().unwrap();
        assert_eq!(sub.multiply(&inv), Matrix::identity(10));
    }
}

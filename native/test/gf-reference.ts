/**
 * A deliberately simple, independent TypeScript implementation of the
 * Backblaze JavaReedSolomon / klauspost/reedsolomon construction, used only as
 * a test oracle: GF(2^8) with polynomial 0x11D and generator 2, a (k+m) x k
 * Vandermonde matrix v[r][c] = r^c, made systematic by multiplying with the
 * inverse of its top k x k square.
 */
const EXP = new Uint8Array(512)
const LOG = new Uint8Array(256)
{
  let x = 1
  for (let i = 0; i < 255; i++) {
    EXP[i] = x
    LOG[x] = i
    x <<= 1
    if (x & 0x100) x ^= 0x11d
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]
}

export const gfMul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]])
const gfExp = (a: number, n: number): number => (n === 0 ? 1 : a === 0 ? 0 : EXP[(LOG[a] * n) % 255])
const gfInv = (a: number): number => EXP[(255 - LOG[a]) % 255]

type Matrix = number[][]

const multiply = (a: Matrix, b: Matrix): Matrix =>
  a.map(row => b[0].map((_, c) => row.reduce((acc, v, i) => acc ^ gfMul(v, b[i][c]), 0)))

function invert(m: Matrix): Matrix {
  const n = m.length
  const a = m.map(r => [...r])
  const b = m.map((_, i) => m.map((__, j) => (i === j ? 1 : 0)))
  for (let col = 0; col < n; col++) {
    let p = col
    while (a[p][col] === 0) p++
    ;[a[p], a[col]] = [a[col], a[p]]
    ;[b[p], b[col]] = [b[col], b[p]]
    const s = gfInv(a[col][col])
    a[col] = a[col].map(v => gfMul(v, s))
    b[col] = b[col].map(v => gfMul(v, s))
    for (let r = 0; r < n; r++) {
      if (r === col || a[r][col] === 0) continue
      const f = a[r][col]
      a[r] = a[r].map((v, c) => v ^ gfMul(f, a[col][c]))
      b[r] = b[r].map((v, c) => v ^ gfMul(f, b[col][c]))
    }
  }
  return b
}

export function encodingMatrix(k: number, m: number): Matrix {
  const v: Matrix = []
  for (let r = 0; r < k + m; r++) {
    const row: number[] = []
    for (let c = 0; c < k; c++) row.push(gfExp(r, c))
    v.push(row)
  }
  return multiply(v, invert(v.slice(0, k)))
}

export function referenceParity(data: Buffer[], m: number): Buffer[] {
  const k = data.length
  const em = encodingMatrix(k, m)
  const len = data[0].length
  const out: Buffer[] = []
  for (let p = 0; p < m; p++) {
    const row = em[k + p]
    const o = Buffer.alloc(len)
    for (let j = 0; j < k; j++) {
      const c = row[j]
      const d = data[j]
      for (let i = 0; i < len; i++) o[i] ^= gfMul(c, d[i])
    }
    out.push(o)
  }
  return out
}

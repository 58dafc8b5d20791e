//! Reed-Solomon erasure coding over GF(2^8), Backblaze/klauspost compatible.
//! Pure Rust core (no napi types) so it can be unit-tested with `cargo test`.

use crate::gf;
use crate::kernel::{self, Level, Tables};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

pub const MAX_SHARDS: usize = 256;

/// Error kinds; `code()` is the stable string exposed to JavaScript as `err.code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodioError {
    InvalidArgument(String),
    ShardSizeMismatch(String),
    EmptyShard(String),
    TooFewShards(String),
    TooManyShards(String),
    Internal(String),
}

impl CodioError {
    pub fn code(&self) -> &'static str {
        match self {
            CodioError::InvalidArgument(_) => "ERR_INVALID_ARGUMENT",
            CodioError::ShardSizeMismatch(_) => "ERR_SHARD_SIZE_MISMATCH",
            CodioError::EmptyShard(_) => "ERR_EMPTY_SHARD",
            CodioError::TooFewShards(_) => "ERR_TOO_FEW_SHARDS",
            CodioError::TooManyShards(_) => "ERR_TOO_MANY_SHARDS",
            CodioError::Internal(_) => "ERR_INTERNAL",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CodioError::InvalidArgument(m)
            | CodioError::ShardSizeMismatch(m)
            | CodioError::EmptyShard(m)
            | CodioError::TooFewShards(m)
            | CodioError::TooManyShards(m)
            | CodioError::Internal(m) => m,
        }
    }
}

impl fmt::Display for CodioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for CodioError {}

pub type CResult<T> = Result<T, CodioError>;

/// Checks the shape of an encode call; returns the shard length.
pub fn validate_encode(k: usize, m: usize, lens: &[usize]) -> CResult<usize> {
    debug_assert_eq!(k, lens.len());
    if k == 0 {
        return Err(CodioError::InvalidArgument("data must contain at least one shard".into()));
    }
    if m == 0 {
        return Err(CodioError::InvalidArgument("parityCount must be at least 1".into()));
    }
    if k + m > MAX_SHARDS {
        return Err(CodioError::TooManyShards(format!(
            "{k} data + {m} parity shards exceeds the GF(2^8) maximum of {MAX_SHARDS}"
        )));
    }
    check_lengths(lens.iter().map(|&l| Some(l)))
}

fn check_lengths(lens: impl Iterator<Item = Option<usize>>) -> CResult<usize> {
    let mut size: Option<usize> = None;
    for (i, l) in lens.enumerate() {
        let Some(l) = l else { continue };
        if l == 0 {
            return Err(CodioError::EmptyShard(format!("shard {i} is empty")));
        }
        match size {
            None => size = Some(l),
            Some(s) if s != l => {
                return Err(CodioError::ShardSizeMismatch(format!(
                    "shard {i} has {l} bytes, expected {s} like the shards before it"
                )))
            }
            _ => {}
        }
    }
    size.ok_or_else(|| CodioError::TooFewShards("no shard is present".into()))
}

/// Checks the shape of a reconstruct call (`lens[i] = None` for a missing
/// shard); returns the shard length.
pub fn validate_reconstruct(k: usize, lens: &[Option<usize>]) -> CResult<usize> {
    let n = lens.len();
    if k == 0 {
        return Err(CodioError::InvalidArgument("dataCount must be at least 1".into()));
    }
    if n > MAX_SHARDS {
        return Err(CodioError::TooManyShards(format!(
            "{n} shards exceeds the GF(2^8) maximum of {MAX_SHARDS}"
        )));
    }
    if k >= n {
        return Err(CodioError::InvalidArgument(format!(
            "dataCount ({k}) must be less than shards.length ({n}): at least one parity shard is required"
        )));
    }
    let present = lens.iter().filter(|l| l.is_some()).count();
    if present == 0 {
        return Err(CodioError::TooFewShards(format!(
            "all {n} shards are missing; need at least {k}"
        )));
    }
    let size = check_lengths(lens.iter().copied())?;
    if present < k {
        return Err(CodioError::TooFewShards(format!(
            "{} of {n} shards are missing but only {} parity shards exist: need at least {k} shards, got {present}",
            n - present,
            n - k
        )));
    }
    Ok(size)
}

// ---------------------------------------------------------------------------
// Plans (matrices + kernel tables), cached.

const CACHE_LIMIT: usize = 4096;

type EncKey = (Level, usize, usize);
type DecKey = (Level, usize, usize, [u64; 4]);

fn enc_cache() -> &'static Mutex<HashMap<EncKey, Arc<Tables>>> {
    static C: OnceLock<Mutex<HashMap<EncKey, Arc<Tables>>>> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

fn dec_cache() -> &'static Mutex<HashMap<DecKey, Arc<Tables>>> {
    static C: OnceLock<Mutex<HashMap<DecKey, Arc<Tables>>>> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the map inconsistent in a
    // way that matters (entries are immutable Arcs), so ignore poisoning.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Parity-generation tables for (k, m): the bottom m rows of the encoding matrix.
pub fn encode_plan(level: Level, k: usize, m: usize) -> Arc<Tables> {
    let key = (level, k, m);
    if let Some(t) = lock(enc_cache()).get(&key) {
        return t.clone();
    }
    let em = gf::encoding_matrix(k, m);
    let coefs = em.data[k * k..].to_vec();
    let t = Arc::new(Tables::new(level, &coefs, m, k));
    let mut c = lock(enc_cache());
    if c.len() >= CACHE_LIMIT {
        c.clear();
    }
    c.insert(key, t.clone());
    t
}

/// Decode tables: inputs are the shards at `chosen` (k indices, ascending),
/// outputs are the data shards in `missing` (ascending).
pub fn decode_plan(
    level: Level,
    k: usize,
    m: usize,
    chosen: &[usize],
    missing: &[usize],
) -> CResult<Arc<Tables>> {
    let mut mask = [0u64; 4];
    for &c in chosen {
        mask[c / 64] |= 1 << (c % 64);
    }
    let key = (level, k, m, mask);
    if let Some(t) = lock(dec_cache()).get(&key) {
        return Ok(t.clone());
    }
    let em = gf::encoding_matrix(k, m);
    let sub = em.select_rows(chosen);
    let inv = sub
        .invert()
        .ok_or_else(|| CodioError::Internal("decode matrix is singular".into()))?;
    let coefs = inv.select_rows(missing).data;
    let t = Arc::new(Tables::new(level, &coefs, missing.len(), k));
    let mut c = lock(dec_cache());
    if c.len() >= CACHE_LIMIT {
        c.clear();
    }
    c.insert(key, t.clone());
    Ok(t)
}

// ---------------------------------------------------------------------------
// Raw-pointer entry points used by the napi layer (no copies).

/// # Safety
/// `data` are `k` pointers readable for `len`; `parity` are `m` pointers
/// writable for `len`, not overlapping anything else.
pub unsafe fn encode_into(level: Level, data: &[*const u8], parity: &[*mut u8], len: usize) {
    let plan = encode_plan(level, data.len(), parity.len());
    plan.apply(data, parity, len);
}

/// Reconstructs the missing data shards.
/// `shards[i]` is `Some(ptr)` for a present shard (n = shards.len() total, first
/// `k` are data). `out` holds one writable pointer per missing data shard, in
/// ascending index order. Inputs must have been validated.
///
/// # Safety
/// Pointers valid for `len` bytes; outputs don't overlap inputs.
pub unsafe fn reconstruct_into(
    level: Level,
    k: usize,
    shards: &[Option<*const u8>],
    out: &[*mut u8],
    len: usize,
) -> CResult<()> {
    let n = shards.len();
    let m = n - k;
    let missing: Vec<usize> = (0..k).filter(|&i| shards[i].is_none()).collect();
    if missing.len() != out.len() {
        return Err(CodioError::Internal("output count mismatch".into()));
    }
    if missing.is_empty() {
        return Ok(());
    }
    // The first k present shards, in index order: all present data shards
    // (whose decode rows are trivial) then as many parity shards as needed.
    let chosen: Vec<usize> = (0..n).filter(|&i| shards[i].is_some()).take(k).collect();
    if chosen.len() < k {
        return Err(CodioError::TooFewShards("not enough shards".into()));
    }
    let plan = decode_plan(level, k, m, &chosen, &missing)?;
    let inputs: Vec<*const u8> = chosen.iter().map(|&i| shards[i].unwrap()).collect();
    plan.apply(&inputs, out, len);
    Ok(())
}

// ---------------------------------------------------------------------------
// Safe, allocating wrappers (tests, Rust callers).

pub fn encode_with(level: Level, data: &[&[u8]], m: usize) -> CResult<Vec<Vec<u8>>> {
    let lens: Vec<usize> = data.iter().map(|d| d.len()).collect();
    let len = validate_encode(data.len(), m, &lens)?;
    let mut parity: Vec<Vec<u8>> = (0..m).map(|_| vec![0u8; len]).collect();
    let ip: Vec<*const u8> = data.iter().map(|d| d.as_ptr()).collect();
    let op: Vec<*mut u8> = parity.iter_mut().map(|p| p.as_mut_ptr()).collect();
    unsafe { encode_into(level, &ip, &op, len) };
    Ok(parity)
}

pub fn encode(data: &[&[u8]], m: usize) -> CResult<Vec<Vec<u8>>> {
    encode_with(kernel::active(), data, m)
}

pub fn reconstruct_with(level: Level, shards: &[Option<&[u8]>], k: usize) -> CResult<Vec<Vec<u8>>> {
    let lens: Vec<Option<usize>> = shards.iter().map(|s| s.map(|s| s.len())).collect();
    let len = validate_reconstruct(k, &lens)?;
    let missing: Vec<usize> = (0..k).filter(|&i| shards[i].is_none()).collect();
    let mut rebuilt: Vec<Vec<u8>> = missing.iter().map(|_| vec![0u8; len]).collect();
    let sp: Vec<Option<*const u8>> = shards.iter().map(|s| s.map(|s| s.as_ptr())).collect();
    let op: Vec<*mut u8> = rebuilt.iter_mut().map(|v| v.as_mut_ptr()).collect();
    unsafe { reconstruct_into(level, k, &sp, &op, len)? };
    let mut rebuilt = rebuilt.into_iter();
    Ok((0..k)
        .map(|i| match shards[i] {
            Some(s) => s.to_vec(),
            None => rebuilt.next().unwrap(),
        })
        .collect())
}

pub fn reconstruct(shards: &[Option<&[u8]>], k: usize) -> CResult<Vec<Vec<u8>>> {
    reconstruct_with(kernel::active(), shards, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::ALL_LEVELS;
    use rand::seq::SliceRandom;
    use rand::{Rng, RngCore, SeedableRng};
    use reed_solomon_erasure::galois_8::ReedSolomon;

    fn levels() -> Vec<Level> {
        ALL_LEVELS.iter().copied().filter(|l| l.supported()).collect()
    }

    fn random_shards(rng: &mut impl RngCore, k: usize, len: usize) -> Vec<Vec<u8>> {
        (0..k)
            .map(|_| {
                let mut v = vec![0u8; len];
                rng.fill_bytes(&mut v);
                v
            })
            .collect()
    }

    /// Identical parity bytes to the pure-Rust reed-solomon-erasure crate
    /// (Backblaze construction), for every kernel level this CPU has.
    #[test]
    fn parity_matches_reed_solomon_erasure() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let cases = [
            (1, 1, 1),
            (1, 3, 100),
            (2, 1, 64),
            (4, 2, 1000),
            (6, 3, 4096),
            (10, 4, 65536),
            (10, 4, 12345),
            (12, 8, 3000),
            (17, 3, 777),
            (20, 10, 2048),
            (32, 16, 512),
            (64, 32, 300),
            (100, 100, 129),
            (200, 56, 64),
            (255, 1, 33),
        ];
        for &(k, m, len) in &cases {
            let data = random_shards(&mut rng, k, len);
            let refs: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
            let r = ReedSolomon::new(k, m).unwrap();
            let mut shards: Vec<Vec<u8>> = data.clone();
            shards.extend((0..m).map(|_| vec![0u8; len]));
            r.encode(&mut shards).unwrap();
            for level in levels() {
                let parity = encode_with(level, &refs, m).unwrap();
                assert_eq!(&parity[..], &shards[k..], "level={level:?} k={k} m={m} len={len}");
            }
        }
    }

    /// Random erasures of up to m shards anywhere → exact recovery; and the
    /// reference crate reconstructs our parity identically.
    #[test]
    fn random_erasures_recover() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1234);
        for iter in 0..300 {
            let k = rng.gen_range(1..=24);
            let m = rng.gen_range(1..=12);
            let len = rng.gen_range(1..=3000);
            let data = random_shards(&mut rng, k, len);
            let refs: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
            let level = levels()[iter % levels().len()];
            let parity = encode_with(level, &refs, m).unwrap();
            let all: Vec<Vec<u8>> = data.iter().chain(parity.iter()).cloned().collect();
            let lose = rng.gen_range(0..=m);
            let mut idx: Vec<usize> = (0..k + m).collect();
            idx.shuffle(&mut rng);
            let lost = &idx[..lose];
            let shards: Vec<Option<&[u8]>> = (0..k + m)
                .map(|i| if lost.contains(&i) { None } else { Some(all[i].as_slice()) })
                .collect();
            let got = reconstruct_with(level, &shards, k).unwrap();
            assert_eq!(got, data, "k={k} m={m} len={len} lost={lost:?} level={level:?}");

            // cross-check with reference reconstruct
            let r = ReedSolomon::new(k, m).unwrap();
            let mut opt: Vec<Option<Vec<u8>>> =
                shards.iter().map(|s| s.map(|s| s.to_vec())).collect();
            r.reconstruct_data(&mut opt).unwrap();
            for i in 0..k {
                assert_eq!(opt[i].as_deref().unwrap(), data[i].as_slice());
            }

            // one more loss than parity → typed error
            if k + m - lose > k {
                let extra = m + 1;
                let shards2: Vec<Option<&[u8]>> = (0..k + m)
                    .map(|i| if idx[..extra].contains(&i) { None } else { Some(all[i].as_slice()) })
                    .collect();
                let e = reconstruct_with(level, &shards2, k).unwrap_err();
                assert_eq!(e.code(), "ERR_TOO_FEW_SHARDS");
            }
        }
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let a = vec![1u8; 10];
        let b = vec![2u8; 11];
        let z: Vec<u8> = vec![];
        assert_eq!(encode(&[&a, &b], 2).unwrap_err().code(), "ERR_SHARD_SIZE_MISMATCH");
        assert_eq!(encode(&[&a, &z], 2).unwrap_err().code(), "ERR_EMPTY_SHARD");
        assert_eq!(encode(&[], 2).unwrap_err().code(), "ERR_INVALID_ARGUMENT");
        assert_eq!(encode(&[&a], 0).unwrap_err().code(), "ERR_INVALID_ARGUMENT");
        let many: Vec<&[u8]> = (0..250).map(|_| a.as_slice()).collect();
        assert_eq!(encode(&many, 7).unwrap_err().code(), "ERR_TOO_MANY_SHARDS");
        assert!(encode(&many, 6).is_ok());

        assert_eq!(reconstruct(&[Some(&a), None, Some(&b)], 2).unwrap_err().code(), "ERR_SHARD_SIZE_MISMATCH");
        assert_eq!(reconstruct(&[Some(&a), None, Some(&z)], 2).unwrap_err().code(), "ERR_EMPTY_SHARD");
        assert_eq!(reconstruct(&[None, None, Some(&a)], 2).unwrap_err().code(), "ERR_TOO_FEW_SHARDS");
        assert_eq!(reconstruct(&[None, None, None], 2).unwrap_err().code(), "ERR_TOO_FEW_SHARDS");
        assert_eq!(reconstruct(&[Some(&a), Some(&a)], 0).unwrap_err().code(), "ERR_INVALID_ARGUMENT");
        assert_eq!(reconstruct(&[Some(&a), Some(&a)], 2).unwrap_err().code(), "ERR_INVALID_ARGUMENT");
        assert_eq!(reconstruct(&[Some(&a), Some(&a)], 3).unwrap_err().code(), "ERR_INVALID_ARGUMENT");
        let many: Vec<Option<&[u8]>> = (0..257).map(|_| Some(a.as_slice())).collect();
        assert_eq!(reconstruct(&many, 200).unwrap_err().code(), "ERR_TOO_MANY_SHARDS");
    }
}

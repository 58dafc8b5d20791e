//! `@codio/native`: napi-rs bindings.
//!
//! Argument parsing is done with raw N-API calls so that (a) the synchronous
//! functions read the caller's Buffers in place (no `napi_ref` per shard, no
//! copy), (b) every bad input becomes a JavaScript `Error` with a stable
//! `code` (see `rs::CodioError::code`) instead of napi-rs' generic statuses,
//! and (c) nothing a caller passes can crash the process: all Rust work runs
//! under `catch_unwind`, a panic becomes `ERR_INTERNAL`.
//!
//! The async functions validate on the JS thread, hold `napi_ref`s to the input
//! Buffers and to freshly allocated output Buffers, and run the computation in
//! an `AsyncTask` on the libuv thread pool; `sha256Batch` additionally fans the
//! chunks out over the rayon pool (one thread per core).

#![allow(clippy::needless_range_loop, clippy::missing_safety_doc)]

pub mod gf;
pub mod kernel;
pub mod rs;

use napi::bindgen_prelude::*;
use napi::{sys, Env, JsValue, Task};
use napi_derive::napi;
use rs::CodioError;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

type CResult<T> = std::result::Result<T, CodioError>;

/// A raw `napi_value` returned as-is.
pub struct RawValue(sys::napi_value);

impl TypeName for RawValue {
    fn type_name() -> &'static str {
        "unknown"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

// ---------------------------------------------------------------------------
// Errors

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Fault injection for tests: when the process starts with
/// `CODIO_NATIVE_FAULT_INJECTION=panic`, every guarded call panics inside Rust,
/// to prove that panics surface as `ERR_INTERNAL` errors, not crashes.
fn fault_injection() -> bool {
    static F: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *F.get_or_init(|| std::env::var("CODIO_NATIVE_FAULT_INJECTION").map(|v| v == "panic").unwrap_or(false))
}

/// Runs `f`, turning a Rust panic into `ERR_INTERNAL`.
fn guarded<T>(f: impl FnOnce() -> CResult<T>) -> CResult<T> {
    match catch_unwind(AssertUnwindSafe(|| {
        if fault_injection() {
            panic!("fault injection (CODIO_NATIVE_FAULT_INJECTION=panic)");
        }
        f()
    })) {
        Ok(r) => r,
        Err(p) => Err(CodioError::Internal(format!("internal error (Rust panic): {}", panic_message(p)))),
    }
}

unsafe fn create_string(env: sys::napi_env, s: &str) -> Option<sys::napi_value> {
    let mut v = ptr::null_mut();
    let st = unsafe { sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut v) };
    (st == sys::Status::napi_ok).then_some(v)
}

/// Builds a JS `Error` with `code` set and wraps it so napi-rs throws /
/// rejects with exactly that object.
fn to_js_error(env: sys::napi_env, e: &CodioError) -> napi::Error {
    unsafe {
        let made = (|| {
            let code = create_string(env, e.code())?;
            let msg = create_string(env, e.message())?;
            let mut err = ptr::null_mut();
            let st = if matches!(e, CodioError::InvalidArgument(_)) {
                sys::napi_create_type_error(env, code, msg, &mut err)
            } else {
                sys::napi_create_error(env, code, msg, &mut err)
            };
            (st == sys::Status::napi_ok).then_some(err)
        })();
        match made {
            Some(err) => napi::Error::from(Unknown::from_raw_unchecked(env, err)),
            None => napi::Error::new(Status::GenericFailure, format!("{}: {}", e.code(), e.message())),
        }
    }
}

fn check(st: sys::napi_status, what: &str) -> CResult<()> {
    if st == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(CodioError::Internal(format!("N-API call failed ({what}), status {st}")))
    }
}

// ---------------------------------------------------------------------------
// Argument helpers (raw N-API)

unsafe fn value_type(env: sys::napi_env, v: sys::napi_value) -> CResult<sys::napi_valuetype> {
    let mut t = 0;
    check(unsafe { sys::napi_typeof(env, v, &mut t) }, "typeof")?;
    Ok(t)
}

/// Length of a JS array argument.
unsafe fn array_len(env: sys::napi_env, v: sys::napi_value, name: &str) -> CResult<usize> {
    let mut is = false;
    check(unsafe { sys::napi_is_array(env, v, &mut is) }, "is_array")?;
    if !is {
        return Err(CodioError::InvalidArgument(format!("{name} must be an array of Buffers")));
    }
    let mut n = 0u32;
    check(unsafe { sys::napi_get_array_length(env, v, &mut n) }, "array_length")?;
    Ok(n as usize)
}

unsafe fn element(env: sys::napi_env, arr: sys::napi_value, i: usize) -> CResult<sys::napi_value> {
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_get_element(env, arr, i as u32, &mut v) }, "get_element")?;
    Ok(v)
}

/// `Some((ptr, len))` for a Buffer / Uint8Array, `None` for null/undefined.
unsafe fn bytes_of(env: sys::napi_env, v: sys::napi_value, what: &dyn Fn() -> String) -> CResult<Option<(*mut u8, usize)>> {
    let mut is = false;
    check(unsafe { sys::napi_is_typedarray(env, v, &mut is) }, "is_typedarray")?;
    if is {
        let mut ty = 0;
        let mut len = 0usize;
        let mut data: *mut c_void = ptr::null_mut();
        check(
            unsafe { sys::napi_get_typedarray_info(env, v, &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut()) },
            "typedarray_info",
        )?;
        if ty == sys::TypedarrayType::uint8_array {
            let p = if data.is_null() { ptr::NonNull::<u8>::dangling().as_ptr() } else { data.cast() };
            return Ok(Some((p, if data.is_null() { 0 } else { len })));
        }
    } else {
        let t = value_type(env, v)?;
        if t == sys::ValueType::napi_null || t == sys::ValueType::napi_undefined {
            return Ok(None);
        }
    }
    Err(CodioError::InvalidArgument(format!("{} must be a Buffer or Uint8Array", what())))
}

unsafe fn required_bytes(env: sys::napi_env, v: sys::napi_value, what: &dyn Fn() -> String) -> CResult<(*mut u8, usize)> {
    unsafe { bytes_of(env, v, what) }?
        .ok_or_else(|| CodioError::InvalidArgument(format!("{} must be a Buffer or Uint8Array", what())))
}

/// A non-negative integer count.
unsafe fn count_arg(env: sys::napi_env, v: sys::napi_value, name: &str) -> CResult<usize> {
    if value_type(env, v)? != sys::ValueType::napi_number {
        return Err(CodioError::InvalidArgument(format!("{name} must be a non-negative integer")));
    }
    let mut d = 0f64;
    check(unsafe { sys::napi_get_value_double(env, v, &mut d) }, "get_value_double")?;
    if !(d.is_finite() && d >= 0.0 && d.fract() == 0.0 && d <= u32::MAX as f64) {
        return Err(CodioError::InvalidArgument(format!("{name} must be a non-negative integer, got {d}")));
    }
    Ok(d as usize)
}

/// A new (uninitialised) Node Buffer of `len` bytes.
unsafe fn new_buffer(env: sys::napi_env, len: usize) -> CResult<(sys::napi_value, *mut u8)> {
    let mut data: *mut c_void = ptr::null_mut();
    let mut v = ptr::null_mut();
    check(unsafe { sys::napi_create_buffer(env, len, &mut data, &mut v) }, "create_buffer")?;
    Ok((v, data.cast()))
}

unsafe fn new_buffer_copy(env: sys::napi_env, bytes: &[u8]) -> CResult<sys::napi_value> {
    let mut v = ptr::null_mut();
    check(
        unsafe { sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), ptr::null_mut(), &mut v) },
        "create_buffer_copy",
    )?;
    Ok(v)
}

unsafe fn new_array(env: sys::napi_env, items: &[sys::napi_value]) -> CResult<sys::napi_value> {
    let mut arr = ptr::null_mut();
    check(unsafe { sys::napi_create_array_with_length(env, items.len(), &mut arr) }, "create_array")?;
    for (i, &v) in items.iter().enumerate() {
        check(unsafe { sys::napi_set_element(env, arr, i as u32, v) }, "set_element")?;
    }
    Ok(arr)
}

/// A strong `napi_ref` that may travel to a libuv worker and back. It is only
/// created and released on the JS thread (in the exported function and in
/// `resolve`); if a task is dropped without resolving (environment teardown),
/// the reference is leaked rather than released on the wrong thread.
struct JsRef(sys::napi_ref);
// SAFETY: the pointer is only dereferenced through N-API on the JS thread.
unsafe impl Send for JsRef {}

impl JsRef {
    unsafe fn new(env: sys::napi_env, v: sys::napi_value) -> CResult<JsRef> {
        let mut r = ptr::null_mut();
        check(unsafe { sys::napi_create_reference(env, v, 1, &mut r) }, "create_reference")?;
        Ok(JsRef(r))
    }

    /// The referenced value; releases the reference.
    unsafe fn take(self, env: sys::napi_env) -> CResult<sys::napi_value> {
        let mut v = ptr::null_mut();
        check(unsafe { sys::napi_get_reference_value(env, self.0, &mut v) }, "get_reference_value")?;
        check(unsafe { sys::napi_delete_reference(env, self.0) }, "delete_reference")?;
        Ok(v)
    }
}

/// Raw data pointers into Buffers kept alive by a `JsRef` to an array holding them.
struct Ptrs<T>(Vec<T>);
// SAFETY: the Buffers' backing stores are kept alive by the task's keep-alive
// array; output Buffers are not visible to JS before the task resolves.
unsafe impl<T> Send for Ptrs<T> {}
unsafe impl<T> Sync for Ptrs<T> {}

impl<T: Copy> Ptrs<T> {
    fn get(&self, i: usize) -> T {
        self.0[i]
    }
}

/// Keeps the given values alive in a private array (so a caller that mutates
/// its own array while the task runs cannot free a Buffer we are reading).
unsafe fn keep_alive(env: sys::napi_env, vals: &[sys::napi_value]) -> CResult<JsRef> {
    unsafe { JsRef::new(env, new_array(env, vals)?) }
}

fn finish<T>(env: sys::napi_env, r: CResult<T>) -> napi::Result<T> {
    r.map_err(|e| to_js_error(env, &e))
}

// ---------------------------------------------------------------------------
// Reed-Solomon: parsing shared by sync and async

struct EncodeArgs {
    data: Vec<(sys::napi_value, *const u8)>,
    m: usize,
    len: usize,
}

unsafe fn parse_encode(env: sys::napi_env, data: sys::napi_value, parity: sys::napi_value) -> CResult<EncodeArgs> {
    let n = unsafe { array_len(env, data, "data")? };
    let m = unsafe { count_arg(env, parity, "parityCount")? };
    if n > rs::MAX_SHARDS {
        return Err(CodioError::TooManyShards(format!(
            "{n} data shards exceeds the GF(2^8) maximum of {}",
            rs::MAX_SHARDS
        )));
    }
    let mut shards = Vec::with_capacity(n);
    let mut lens = Vec::with_capacity(n);
    for i in 0..n {
        let v = unsafe { element(env, data, i)? };
        let (p, l) = unsafe { required_bytes(env, v, &|| format!("data[{i}]"))? };
        shards.push((v, p as *const u8));
        lens.push(l);
    }
    let len = rs::validate_encode(n, m, &lens)?;
    Ok(EncodeArgs { data: shards, m, len })
}

struct ReconArgs {
    shards: Vec<(sys::napi_value, Option<*const u8>)>,
    k: usize,
    len: usize,
}

unsafe fn parse_reconstruct(env: sys::napi_env, shards: sys::napi_value, data_count: sys::napi_value) -> CResult<ReconArgs> {
    let n = unsafe { array_len(env, shards, "shards")? };
    let k = unsafe { count_arg(env, data_count, "dataCount")? };
    if n > rs::MAX_SHARDS {
        return Err(CodioError::TooManyShards(format!(
            "{n} shards exceeds the GF(2^8) maximum of {}",
            rs::MAX_SHARDS
        )));
    }
    let mut out = Vec::with_capacity(n);
    let mut lens = Vec::with_capacity(n);
    for i in 0..n {
        let v = unsafe { element(env, shards, i)? };
        let b = unsafe { bytes_of(env, v, &|| format!("shards[{i}]"))? };
        out.push((v, b.map(|(p, _)| p as *const u8)));
        lens.push(b.map(|(_, l)| l));
    }
    let len = rs::validate_reconstruct(k, &lens)?;
    Ok(ReconArgs { shards: out, k, len })
}

// ---------------------------------------------------------------------------
// Reed-Solomon: sync

/// Computes `parityCount` parity shards for `data` (all the same, non-zero
/// length). Runs on the calling thread.
#[napi(
    js_name = "rsEncodeSync",
    ts_args_type = "data: Buffer[], parityCount: number",
    ts_return_type = "Buffer[]"
)]
pub fn rs_encode_sync(env: Env, data: Unknown, parity_count: Unknown) -> napi::Result<RawValue> {
    let e = env.raw();
    finish(
        e,
        guarded(|| unsafe {
            let a = parse_encode(e, data.raw(), parity_count.raw())?;
            let mut vals = Vec::with_capacity(a.m);
            let mut outs = Vec::with_capacity(a.m);
            for _ in 0..a.m {
                let (v, p) = new_buffer(e, a.len)?;
                vals.push(v);
                outs.push(p);
            }
            let ins: Vec<*const u8> = a.data.iter().map(|d| d.1).collect();
            rs::encode_into(kernel::active(), &ins, &outs, a.len);
            Ok(RawValue(new_array(e, &vals)?))
        }),
    )
}

/// Like `rsEncodeSync` but writes the parity into caller-provided Buffers
/// (`parity.length` = parity count, each as long as the data shards), so a
/// caller that recycles its parity Buffers allocates nothing per call.
/// Buffers must not overlap each other or the data.
#[napi(
    js_name = "rsEncodeIntoSync",
    ts_args_type = "data: Buffer[], parity: Buffer[]",
    ts_return_type = "void"
)]
pub fn rs_encode_into_sync(env: Env, data: Unknown, parity: Unknown) -> napi::Result<()> {
    let e = env.raw();
    finish(
        e,
        guarded(|| unsafe {
            let m = array_len(e, parity.raw(), "parity")?;
            let k = array_len(e, data.raw(), "data")?;
            if k > rs::MAX_SHARDS {
                return Err(CodioError::TooManyShards(format!("{k} data shards exceeds {}", rs::MAX_SHARDS)));
            }
            let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(k + m);
            let mut ins = Vec::with_capacity(k);
            let mut lens = Vec::with_capacity(k);
            for i in 0..k {
                let v = element(e, data.raw(), i)?;
                let (p, l) = required_bytes(e, v, &|| format!("data[{i}]"))?;
                ins.push(p as *const u8);
                lens.push(l);
                ranges.push((p as usize, l));
            }
            let len = rs::validate_encode(k, m, &lens)?;
            let mut outs = Vec::with_capacity(m);
            for i in 0..m {
                let v = element(e, parity.raw(), i)?;
                let (p, l) = required_bytes(e, v, &|| format!("parity[{i}]"))?;
                if l != len {
                    return Err(CodioError::ShardSizeMismatch(format!(
                        "parity[{i}] has {l} bytes, expected {len} like the data shards"
                    )));
                }
                for (j, &(s, sl)) in ranges.iter().enumerate() {
                    if (p as usize) < s + sl && s < p as usize + l && j >= k {
                        return Err(CodioError::InvalidArgument(format!("parity[{i}] overlaps parity[{}]", j - k)));
                    } else if (p as usize) < s + sl && s < p as usize + l {
                        return Err(CodioError::InvalidArgument(format!("parity[{i}] overlaps data[{j}]")));
                    }
                }
                ranges.push((p as usize, l));
                outs.push(p);
            }
            rs::encode_into(kernel::active(), &ins, &outs, len);
            Ok(())
        }),
    )
}

/// Rebuilds the data shards. `shards` = data shards then parity shards,
/// `null`/`undefined` for missing ones. Returns all `dataCount` data shards in
/// order (present ones are returned as the very same Buffer objects).
#[napi(
    js_name = "rsReconstructSync",
    ts_args_type = "shards: Array<Buffer | null | undefined>, dataCount: number",
    ts_return_type = "Buffer[]"
)]
pub fn rs_reconstruct_sync(env: Env, shards: Unknown, data_count: Unknown) -> napi::Result<RawValue> {
    let e = env.raw();
    finish(
        e,
        guarded(|| unsafe {
            let a = parse_reconstruct(e, shards.raw(), data_count.raw())?;
            let mut vals = Vec::with_capacity(a.k);
            let mut outs = Vec::new();
            for i in 0..a.k {
                let (v, p) = a.shards[i];
                if p.is_some() {
                    vals.push(v);
                } else {
                    let (nv, np) = new_buffer(e, a.len)?;
                    vals.push(nv);
                    outs.push(np);
                }
            }
            let ptrs: Vec<Option<*const u8>> = a.shards.iter().map(|s| s.1).collect();
            rs::reconstruct_into(kernel::active(), a.k, &ptrs, &outs, a.len)?;
            Ok(RawValue(new_array(e, &vals)?))
        }),
    )
}

// ---------------------------------------------------------------------------
// Reed-Solomon: async (AsyncTask on the libuv pool)

/// State shared by the async RS tasks: inputs/outputs as raw pointers, the JS
/// objects pinned by two references (private keep-alive array of inputs, and
/// the result array, filled on the JS thread before the task is queued).
struct RsJob {
    keep: JsRef,
    result: JsRef,
    k: usize,
    len: usize,
    /// encode: k data pointers (all Some); reconstruct: n shard pointers
    inputs: Ptrs<Option<*const u8>>,
    outputs: Ptrs<*mut u8>,
    reconstruct: bool,
}

pub struct RsTask {
    job: Option<CResult<RsJob>>,
}

impl Task for RsTask {
    type Output = CResult<()>;
    type JsValue = RawValue;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(match &self.job {
            None => Err(CodioError::Internal("task already resolved".into())),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(j)) => guarded(|| unsafe {
                if j.reconstruct {
                    rs::reconstruct_into(kernel::active(), j.k, &j.inputs.0, &j.outputs.0, j.len)
                } else {
                    let ins: Vec<*const u8> = j.inputs.0.iter().map(|p| p.unwrap_or(ptr::null())).collect();
                    rs::encode_into(kernel::active(), &ins, &j.outputs.0, j.len);
                    Ok(())
                }
            }),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<RawValue> {
        let e = env.raw();
        let job = self.job.take();
        let r = (|| {
            let job = job.ok_or_else(|| CodioError::Internal("task resolved twice".into()))??;
            let result = unsafe { job.result.take(e) };
            let keep = unsafe { job.keep.take(e) };
            output?;
            keep?;
            result.map(RawValue)
        })();
        finish(e, r)
    }
}

/// Async `rsEncodeSync`: the coding runs on the libuv thread pool. Do not
/// modify the input Buffers until the promise settles.
#[napi(
    js_name = "rsEncode",
    ts_args_type = "data: Buffer[], parityCount: number",
    ts_return_type = "Promise<Buffer[]>"
)]
pub fn rs_encode(env: Env, data: Unknown, parity_count: Unknown) -> AsyncTask<RsTask> {
    let e = env.raw();
    let job = guarded(|| unsafe {
        let a = parse_encode(e, data.raw(), parity_count.raw())?;
        let mut vals = Vec::with_capacity(a.m);
        let mut outs = Vec::with_capacity(a.m);
        for _ in 0..a.m {
            let (v, p) = new_buffer(e, a.len)?;
            vals.push(v);
            outs.push(p);
        }
        let result = JsRef::new(e, new_array(e, &vals)?)?;
        let keep_vals: Vec<sys::napi_value> = a.data.iter().map(|d| d.0).collect();
        let keep = keep_alive(e, &keep_vals)?;
        Ok(RsJob {
            keep,
            result,
            k: a.data.len(),
            len: a.len,
            inputs: Ptrs(a.data.iter().map(|d| Some(d.1)).collect()),
            outputs: Ptrs(outs),
            reconstruct: false,
        })
    });
    AsyncTask::new(RsTask { job: Some(job) })
}

/// Async `rsReconstructSync` on the libuv thread pool. Do not modify the
/// input Buffers until the promise settles.
#[napi(
    js_name = "rsReconstruct",
    ts_args_type = "shards: Array<Buffer | null | undefined>, dataCount: number",
    ts_return_type = "Promise<Buffer[]>"
)]
pub fn rs_reconstruct(env: Env, shards: Unknown, data_count: Unknown) -> AsyncTask<RsTask> {
    let e = env.raw();
    let job = guarded(|| unsafe {
        let a = parse_reconstruct(e, shards.raw(), data_count.raw())?;
        let mut vals = Vec::with_capacity(a.k);
        let mut outs = Vec::new();
        for i in 0..a.k {
            let (v, p) = a.shards[i];
            if p.is_some() {
                vals.push(v);
            } else {
                let (nv, np) = new_buffer(e, a.len)?;
                vals.push(nv);
                outs.push(np);
            }
        }
        let result = JsRef::new(e, new_array(e, &vals)?)?;
        let keep_vals: Vec<sys::napi_value> = a.shards.iter().filter(|s| s.1.is_some()).map(|s| s.0).collect();
        let keep = keep_alive(e, &keep_vals)?;
        Ok(RsJob {
            keep,
            result,
            k: a.k,
            len: a.len,
            inputs: Ptrs(a.shards.iter().map(|s| s.1).collect()),
            outputs: Ptrs(outs),
            reconstruct: true,
        })
    });
    AsyncTask::new(RsTask { job: Some(job) })
}

// ---------------------------------------------------------------------------
// Hashes

fn sha256_digest(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// SHA-256 of `data` (32-byte Buffer). Uses SHA-NI when the CPU has it.
#[napi(ts_args_type = "data: Buffer", ts_return_type = "Buffer")]
pub fn sha256(env: Env, data: Unknown) -> napi::Result<RawValue> {
    let e = env.raw();
    finish(
        e,
        guarded(|| unsafe {
            let (p, l) = required_bytes(e, data.raw(), &|| "data".to_string())?;
            let d = sha256_digest(std::slice::from_raw_parts(p, l));
            Ok(RawValue(new_buffer_copy(e, &d)?))
        }),
    )
}

/// BLAKE3 (32-byte output) of `data`. SIMD is picked at run time.
#[napi(ts_args_type = "data: Buffer", ts_return_type = "Buffer")]
pub fn blake3(env: Env, data: Unknown) -> napi::Result<RawValue> {
    let e = env.raw();
    finish(
        e,
        guarded(|| unsafe {
            let (p, l) = required_bytes(e, data.raw(), &|| "data".to_string())?;
            let d = ::blake3::hash(std::slice::from_raw_parts(p, l));
            Ok(RawValue(new_buffer_copy(e, d.as_bytes())?))
        }),
    )
}

/// Keep-alive reference to the chunks + (pointer, length) of each chunk.
type BatchJob = (JsRef, Ptrs<(*const u8, usize)>);

pub struct Sha256BatchTask {
    job: Option<CResult<BatchJob>>,
}

impl Task for Sha256BatchTask {
    type Output = CResult<Vec<[u8; 32]>>;
    type JsValue = RawValue;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        use rayon::prelude::*;
        Ok(match &self.job {
            None => Err(CodioError::Internal("task already resolved".into())),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok((_, items))) => guarded(|| {
                let total: usize = items.0.iter().map(|p| p.1).sum();
                let hash = |p: &(*const u8, usize)| sha256_digest(unsafe { std::slice::from_raw_parts(p.0, p.1) });
                // Small batches are not worth waking the pool.
                if items.0.len() < 2 || total < 64 * 1024 {
                    Ok(items.0.iter().map(hash).collect())
                } else {
                    Ok((0..items.0.len()).into_par_iter().with_min_len(1).map(|i| hash(&items.get(i))).collect())
                }
            }),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<RawValue> {
        let e = env.raw();
        let job = self.job.take();
        let r = (|| unsafe {
            let (keep, _) = job.ok_or_else(|| CodioError::Internal("task resolved twice".into()))??;
            keep.take(e)?;
            let digests = output?;
            let mut vals = Vec::with_capacity(digests.len());
            for d in &digests {
                vals.push(new_buffer_copy(e, d)?);
            }
            new_array(e, &vals).map(RawValue)
        })();
        finish(e, r)
    }
}

/// SHA-256 of every chunk, computed off the JS thread and spread over all
/// cores (rayon). Resolves to one 32-byte Buffer per chunk, in order.
#[napi(js_name = "sha256Batch", ts_args_type = "chunks: Buffer[]", ts_return_type = "Promise<Buffer[]>")]
pub fn sha256_batch(env: Env, chunks: Unknown) -> AsyncTask<Sha256BatchTask> {
    let e = env.raw();
    let job = guarded(|| unsafe {
        let n = array_len(e, chunks.raw(), "chunks")?;
        let mut vals = Vec::with_capacity(n);
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            let v = element(e, chunks.raw(), i)?;
            let (p, l) = required_bytes(e, v, &|| format!("chunks[{i}]"))?;
            vals.push(v);
            items.push((p as *const u8, l));
        }
        Ok((keep_alive(e, &vals)?, Ptrs(items)))
    });
    AsyncTask::new(Sha256BatchTask { job: Some(job) })
}

/// Diagnostics: which GF(2^8) kernel this process uses
/// ("avx512-gfni" | "avx2-gfni" | "avx2" | "ssse3" | "scalar").
#[napi(js_name = "simdLevel")]
pub fn simd_level() -> String {
    kernel::active().name().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rayon_pool_uses_every_core() {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        assert_eq!(rayon::current_num_threads(), cores);
    }

    #[test]
    fn guarded_turns_a_panic_into_err_internal() {
        let r: super::CResult<()> = super::guarded(|| panic!("boom"));
        let e = r.unwrap_err();
        assert_eq!(e.code(), "ERR_INTERNAL");
        assert!(e.message().contains("boom"));
    }

    #[test]
    fn blake3_and_sha256_vectors() {
        assert_eq!(
            ::blake3::hash(b"").to_hex().as_str(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        let d = super::sha256_digest(b"abc");
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}



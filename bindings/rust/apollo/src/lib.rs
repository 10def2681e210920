//! Safe Rust bindings of libapollo, a CPU runtime for the Apollo
//! video-language models.
//!
//! ```no_run
//! use std::ops::ControlFlow;
//! let model = apollo::Model::open("Apollo-1.5B-t32")?;
//! let mut chat = model.session()?;
//! let answer = chat.ask_streaming("Hello!", &apollo::AskOptions::new(), |text| {
//!     print!("{}", text);
//!     ControlFlow::Continue(())
//! })?;
//! # Ok::<(), apollo::Error>(())
//! ```
//!
//! Thread contract (the C library's): a [`Model`] is `Send + Sync` and is
//! shared by reference or cloned (a cheap reference count); a [`Session`] is
//! `Send` but not `Sync` (one thread at a time); a [`Canceller`] stops a
//! session's running call from any thread.  Sessions keep their model alive,
//! so drop order never matters.
#![warn(missing_docs)]

use apollo_sys as sys;
use std::any::Any;
use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::os::raw::{c_char, c_void};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::ptr;
use std::sync::Arc;

pub use sys::APOLLO_VERSION_NUMBER as BINDING_VERSION_NUMBER;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Kinds of failure, one per `APOLLO_E_*` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A parameter is out of range or missing.
    InvalidArg,
    /// Freed/foreign handle, wrong state, bad struct_size, version mismatch.
    Misuse,
    /// An allocation failed.
    NoMem,
    /// A file could not be opened, read, mapped or written.
    Io,
    /// A required file or directory does not exist.
    NotFound,
    /// A JSON file is not well-formed.
    Json,
    /// A config key is missing or invalid.
    Config,
    /// A weight file is malformed.
    Format,
    /// A tensor has an unsupported dtype.
    Dtype,
    /// A tensor's shape disagrees with the configs.
    Shape,
    /// A required tensor is absent.
    MissingTensor,
    /// A feature or backend this build does not provide.
    Unsupported,
    /// The compute backend failed.
    Backend,
    /// The call was cancelled or aborted.
    Cancelled,
    /// The prompt would exceed the context length.
    ContextFull,
    /// Not a decodable video or image.
    Video,
    /// The input holds no video.
    NoVideo,
    /// A code this binding does not know.
    Other,
}

impl ErrorKind {
    fn from_code(code: i32) -> ErrorKind {
        match code {
            sys::APOLLO_E_INVALID_ARG => ErrorKind::InvalidArg,
            sys::APOLLO_E_MISUSE => ErrorKind::Misuse,
            sys::APOLLO_E_NOMEM => ErrorKind::NoMem,
            sys::APOLLO_E_IO => ErrorKind::Io,
            sys::APOLLO_E_NOT_FOUND => ErrorKind::NotFound,
            sys::APOLLO_E_JSON => ErrorKind::Json,
            sys::APOLLO_E_CONFIG => ErrorKind::Config,
            sys::APOLLO_E_FORMAT => ErrorKind::Format,
            sys::APOLLO_E_DTYPE => ErrorKind::Dtype,
            sys::APOLLO_E_SHAPE => ErrorKind::Shape,
            sys::APOLLO_E_MISSING_TENSOR => ErrorKind::MissingTensor,
            sys::APOLLO_E_UNSUPPORTED => ErrorKind::Unsupported,
            sys::APOLLO_E_BACKEND => ErrorKind::Backend,
            sys::APOLLO_E_CANCELLED => ErrorKind::Cancelled,
            sys::APOLLO_E_CONTEXT_FULL => ErrorKind::ContextFull,
            sys::APOLLO_E_VIDEO => ErrorKind::Video,
            sys::APOLLO_E_NO_VIDEO => ErrorKind::NoVideo,
            _ => ErrorKind::Other,
        }
    }
}

/// A libapollo failure: the negative status code and the library's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: i32,
    msg: String,
}

impl Error {
    /// An error with an explicit code and message.
    pub fn new(code: i32, msg: impl Into<String>) -> Error {
        Error {
            code,
            msg: msg.into(),
        }
    }
    /// The `APOLLO_E_*` code (negative).
    pub fn code(&self) -> i32 {
        self.code
    }
    /// The code as an [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::from_code(self.code)
    }
    /// The library's detailed message (`apollo_last_errmsg` or
    /// `apollo_session_errmsg`), or the code's text when there was none.
    pub fn message(&self) -> &str {
        &self.msg
    }
    fn last(code: i32) -> Error {
        // SAFETY: never NULL, valid until this thread's next libapollo call.
        let msg = unsafe { cstr(sys::apollo_last_errmsg()) };
        Error::with_msg(code, msg)
    }
    fn with_msg(code: i32, msg: String) -> Error {
        let msg = if msg.is_empty() { strerror(code) } else { msg };
        Error { code, msg }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = strerror(self.code);
        if reason == self.msg {
            write!(f, "{}", self.msg)
        } else {
            write!(f, "{}: {}", reason, self.msg)
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::new(
            sys::APOLLO_E_INVALID_ARG,
            format!("{} contains a NUL character", what),
        )
    })
}

fn check(rc: i32) -> Result<i32> {
    if rc < 0 {
        Err(Error::last(rc))
    } else {
        Ok(rc)
    }
}

/// Static English text of a status code.
pub fn strerror(code: i32) -> String {
    // SAFETY: static storage, never NULL.
    unsafe { cstr(sys::apollo_strerror(code)) }
}

/// The loaded library's version as `MAJOR*10000 + MINOR*100 + PATCH`.
pub fn version_number() -> i32 {
    // SAFETY: no preconditions.
    unsafe { sys::apollo_version_number() }
}

/// The loaded library's version string.
pub fn version() -> String {
    // SAFETY: static storage.
    unsafe { cstr(sys::apollo_version_string()) }
}

/// Checks that the loaded library has the ABI these bindings were written
/// for (same major and minor version).  [`Model::open`] calls it.
pub fn check_version() -> Result<()> {
    let v = version_number();
    if v / 100 != sys::APOLLO_VERSION_NUMBER / 100 {
        return Err(Error::new(
            sys::APOLLO_E_MISUSE,
            format!(
                "libapollo {} is not ABI-compatible with these bindings (written for {}.{}.x)",
                version(),
                sys::APOLLO_VERSION_MAJOR,
                sys::APOLLO_VERSION_MINOR
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

/// Compute backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The build's recommended backend (CPU today).
    Auto,
    /// OpenBLAS + libapollo kernels.
    Cpu,
    /// oneDNN (when built in).
    OneDnn,
}

impl Backend {
    fn raw(self) -> i32 {
        match self {
            Backend::Auto => sys::APOLLO_BACKEND_AUTO,
            Backend::Cpu => sys::APOLLO_BACKEND_CPU,
            Backend::OneDnn => sys::APOLLO_BACKEND_ONEDNN,
        }
    }
}

/// Compute precision (`apollo_ctx_params.precision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// float32 on the exact weights (the default; matches the reference).
    F32,
    /// bf16 activations inside matrix products where the CPU has a fast path.
    Bf16,
    /// int8 LLM weights (one scale per row) quantized at open; f32 activations.
    Int8,
}

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Errors.
    Error = 0,
    /// Warnings (the default threshold).
    Warn = 1,
    /// Information.
    Info = 2,
    /// Debug detail.
    Debug = 3,
}

type LogFn = Box<dyn Fn(LogLevel, &str) + Send + Sync + 'static>;

/// Options of [`Model::open_with`].
pub struct ModelOptions {
    n_threads: i32,
    backend: Backend,
    precision: Precision,
    log_level: LogLevel,
    log: Option<LogFn>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            n_threads: 0,
            backend: Backend::Auto,
            precision: Precision::F32,
            log_level: LogLevel::Warn,
            log: None,
        }
    }
}

impl ModelOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Worker threads; 0 = the number of online CPUs.
    pub fn n_threads(mut self, n: i32) -> Self {
        self.n_threads = n;
        self
    }
    /// The compute backend.
    pub fn backend(mut self, b: Backend) -> Self {
        self.backend = b;
        self
    }
    /// The compute precision.
    pub fn precision(mut self, p: Precision) -> Self {
        self.precision = p;
        self
    }
    /// Receives the model's log lines up to `level`, on the thread doing the work.
    pub fn log<F>(mut self, level: LogLevel, f: F) -> Self
    where
        F: Fn(LogLevel, &str) + Send + Sync + 'static,
    {
        self.log_level = level;
        self.log = Some(Box::new(f));
        self
    }
}

struct CtxInner {
    ptr: *mut sys::apollo_ctx,
    // Referenced by the C ctx as log_user_data: lives as long as the ctx is
    // reachable from Rust (sessions hold this struct through an Arc).
    _log: Option<Box<LogFn>>,
}

// SAFETY: an apollo_ctx is immutable after open and thread-safe (C contract);
// the log closure is Send + Sync.
unsafe impl Send for CtxInner {}
unsafe impl Sync for CtxInner {}

impl Drop for CtxInner {
    fn drop(&mut self) {
        // SAFETY: the pointer came from apollo_ctx_open and is freed once.
        unsafe { sys::apollo_ctx_free(self.ptr) }
    }
}

unsafe extern "C" fn log_trampoline(level: i32, msg: *const c_char, ud: *mut c_void) {
    let f = &*(ud as *const LogFn);
    let text = cstr(msg);
    let level = match level {
        0 => LogLevel::Error,
        1 => LogLevel::Warn,
        2 => LogLevel::Info,
        _ => LogLevel::Debug,
    };
    // A panic must not unwind into C.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| f(level, &text)));
}

/// A loaded Apollo checkpoint.  `Send + Sync`; `clone()` is a cheap
/// reference-counted copy of the same model.
#[derive(Clone)]
pub struct Model {
    inner: Arc<CtxInner>,
}

/// One vision encoder of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct VisionTower {
    /// `APOLLO_TOWER_SIGLIP` or `APOLLO_TOWER_INTERNVIDEO2`.
    pub kind: i32,
    /// Folder name.
    pub name: String,
    /// Hidden size.
    pub hidden_size: i32,
    /// Layers/blocks evaluated.
    pub n_layers_run: i32,
    /// Parameters stored in its files.
    pub n_params: i64,
}

/// A summary of a loaded model (`apollo_model_info`).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct ModelInfo {
    pub llm_hidden_size: i32,
    pub llm_intermediate_size: i32,
    pub llm_n_layers: i32,
    pub llm_n_heads: i32,
    pub llm_n_kv_heads: i32,
    pub llm_head_dim: i32,
    pub llm_vocab_size: i32,
    pub llm_tied_embeddings: bool,
    pub context_length: i32,
    pub llm_rope_theta: f64,
    pub llm_rms_norm_eps: f64,
    pub vision_towers: Vec<VisionTower>,
    pub vision_select_layer: i32,
    pub frames_per_clip: i32,
    pub tokens_per_clip: i32,
    pub clip_duration_s: f64,
    pub model_max_length: i32,
    pub n_params_llm: i64,
    pub n_params_connector: i64,
}

impl Model {
    /// Loads a checkpoint directory with the default options.
    pub fn open<P: AsRef<Path>>(dir: P) -> Result<Model> {
        Model::open_with(dir, ModelOptions::default())
    }

    /// Loads a checkpoint directory.
    pub fn open_with<P: AsRef<Path>>(dir: P, opts: ModelOptions) -> Result<Model> {
        check_version()?;
        let path = dir.as_ref().to_str().ok_or_else(|| {
            Error::new(
                sys::APOLLO_E_INVALID_ARG,
                "the model path is not valid UTF-8",
            )
        })?;
        let path = cstring(path, "the model path")?;
        // SAFETY: plain-data struct filled by its _init function.
        let mut p: sys::apollo_ctx_params = unsafe { std::mem::zeroed() };
        unsafe { sys::apollo_ctx_params_init(&mut p) };
        p.n_threads = opts.n_threads;
        p.backend = opts.backend.raw();
        p.precision = match opts.precision {
            Precision::F32 => sys::APOLLO_PRECISION_F32,
            Precision::Bf16 => sys::APOLLO_PRECISION_BF16,
            Precision::Int8 => sys::APOLLO_PRECISION_INT8,
        };
        p.log_level = opts.log_level as i32;
        let log = opts.log.map(Box::new);
        if let Some(ref f) = log {
            p.log_fn = Some(log_trampoline);
            p.log_user_data = &**f as *const LogFn as *mut c_void;
        }
        let mut ctx = ptr::null_mut();
        // SAFETY: valid pointers; the log closure outlives the ctx (see CtxInner).
        check(unsafe { sys::apollo_ctx_open(path.as_ptr(), &p, &mut ctx) })?;
        Ok(Model {
            inner: Arc::new(CtxInner {
                ptr: ctx,
                _log: log,
            }),
        })
    }

    fn ptr(&self) -> *mut sys::apollo_ctx {
        self.inner.ptr
    }

    /// The raw handle, for use with `apollo-sys` (valid while `self` lives).
    pub fn as_raw(&self) -> *mut sys::apollo_ctx {
        self.ptr()
    }

    /// The backend chosen at open (`APOLLO_BACKEND_CPU` or `_ONEDNN`).
    pub fn backend(&self) -> Result<i32> {
        check(unsafe { sys::apollo_ctx_get_backend(self.ptr()) })
    }

    /// Number of token ids the tokenizer defines.
    pub fn n_tokens(&self) -> i32 {
        unsafe { sys::apollo_ctx_n_tokens(self.ptr()) }
    }

    /// The model summary.
    pub fn info(&self) -> Result<ModelInfo> {
        let mut i: sys::apollo_model_info = unsafe { std::mem::zeroed() };
        unsafe { sys::apollo_model_info_init(&mut i) };
        check(unsafe { sys::apollo_ctx_get_model_info(self.ptr(), &mut i) })?;
        let n = (i.n_vision_towers.max(0) as usize).min(sys::APOLLO_MAX_VISION_TOWERS);
        let towers = (0..n)
            .map(|k| VisionTower {
                kind: i.tower_kind[k],
                name: unsafe { cstr(i.tower_name[k].as_ptr()) },
                hidden_size: i.tower_hidden_size[k],
                n_layers_run: i.tower_n_layers_run[k],
                n_params: i.n_params_vision[k],
            })
            .collect();
        Ok(ModelInfo {
            llm_hidden_size: i.llm_hidden_size,
            llm_intermediate_size: i.llm_intermediate_size,
            llm_n_layers: i.llm_n_layers,
            llm_n_heads: i.llm_n_heads,
            llm_n_kv_heads: i.llm_n_kv_heads,
            llm_head_dim: i.llm_head_dim,
            llm_vocab_size: i.llm_vocab_size,
            llm_tied_embeddings: i.llm_tied_embeddings != 0,
            context_length: i.context_length,
            llm_rope_theta: i.llm_rope_theta,
            llm_rms_norm_eps: i.llm_rms_norm_eps,
            vision_towers: towers,
            vision_select_layer: i.vision_select_layer,
            frames_per_clip: i.frames_per_clip,
            tokens_per_clip: i.tokens_per_clip,
            clip_duration_s: i.clip_duration_s,
            model_max_length: i.model_max_length,
            n_params_llm: i.n_params_llm,
            n_params_connector: i.n_params_connector,
        })
    }

    /// Token ids of `text`, exactly as the checkpoint's HF tokenizer.
    pub fn tokenize(&self, text: &str) -> Result<Vec<i32>> {
        let cap = text.len() + 1; // every token covers at least one byte
        let mut ids = vec![0i32; cap];
        let mut n = 0usize;
        check(unsafe {
            sys::apollo_tokenize(
                self.ptr(),
                text.as_ptr() as *const c_char,
                text.len(),
                ids.as_mut_ptr(),
                cap,
                &mut n,
            )
        })?;
        ids.truncate(n.min(cap));
        Ok(ids)
    }

    /// Text of `ids` (special tokens written out).
    pub fn detokenize(&self, ids: &[i32]) -> Result<String> {
        let mut len = 0usize;
        let p = self.ptr();
        check(unsafe {
            sys::apollo_detokenize(p, ids.as_ptr(), ids.len(), ptr::null_mut(), 0, &mut len)
        })?;
        let mut buf = vec![0u8; len + 1];
        check(unsafe {
            sys::apollo_detokenize(
                p,
                ids.as_ptr(),
                ids.len(),
                buf.as_mut_ptr() as *mut c_char,
                buf.len(),
                &mut len,
            )
        })?;
        buf.truncate(len);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Raw bytes of one token (possibly part of a UTF-8 character).
    pub fn token_to_piece(&self, id: i32) -> Result<Vec<u8>> {
        let mut len = 0usize;
        let p = self.ptr();
        check(unsafe { sys::apollo_token_to_piece(p, id, ptr::null_mut(), 0, &mut len) })?;
        let mut buf = vec![0u8; len + 1];
        check(unsafe {
            sys::apollo_token_to_piece(p, id, buf.as_mut_ptr() as *mut c_char, buf.len(), &mut len)
        })?;
        buf.truncate(len);
        Ok(buf)
    }

    /// A new conversation with the default system prompt.
    pub fn session(&self) -> Result<Session> {
        self.new_session(None)
    }

    /// A new conversation with its own system prompt.
    pub fn session_with_system_prompt(&self, system_prompt: &str) -> Result<Session> {
        self.new_session(Some(system_prompt))
    }

    fn new_session(&self, system_prompt: Option<&str>) -> Result<Session> {
        let sp = match system_prompt {
            Some(s) => Some(cstring(s, "the system prompt")?),
            None => None,
        };
        let mut p: sys::apollo_session_params = unsafe { std::mem::zeroed() };
        unsafe { sys::apollo_session_params_init(&mut p) };
        if let Some(ref s) = sp {
            p.system_prompt = s.as_ptr();
        }
        let mut out = ptr::null_mut();
        check(unsafe { sys::apollo_session_new(self.ptr(), &p, &mut out) })?;
        Ok(Session::from_raw(out, self.inner.clone()))
    }
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("ptr", &self.inner.ptr)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Generation options
// ---------------------------------------------------------------------------

/// Options of [`Session::ask`]; `None` takes the model's default
/// (`llm/generation_config.json`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AskOptions {
    /// Maximum number of generated tokens (library default 256).
    pub max_new_tokens: Option<i32>,
    /// `Some(false)`: greedy; `Some(true)`: sample.
    pub do_sample: Option<bool>,
    /// Sampling temperature (> 0).
    pub temperature: Option<f32>,
    /// Nucleus sampling mass in (0, 1].
    pub top_p: Option<f32>,
    /// Top-k (0 = off).
    pub top_k: Option<i32>,
    /// Repetition penalty (1 = off).
    pub repetition_penalty: Option<f32>,
    /// Sampling seed.
    pub seed: u64,
    /// Extra strings that end the answer (not included in it).
    pub stop: Vec<String>,
}

impl AskOptions {
    /// The model's defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Greedy decoding (`do_sample = false`).
    pub fn greedy(mut self) -> Self {
        self.do_sample = Some(false);
        self
    }
    /// Sets `max_new_tokens`.
    pub fn max_new_tokens(mut self, n: i32) -> Self {
        self.max_new_tokens = Some(n);
        self
    }
    /// Sets `repetition_penalty`.
    pub fn repetition_penalty(mut self, p: f32) -> Self {
        self.repetition_penalty = Some(p);
        self
    }
    /// Sets `temperature` (and sampling on).
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self.do_sample = Some(true);
        self
    }
    /// Sets `top_p`.
    pub fn top_p(mut self, p: f32) -> Self {
        self.top_p = Some(p);
        self
    }
    /// Sets `top_k`.
    pub fn top_k(mut self, k: i32) -> Self {
        self.top_k = Some(k);
        self
    }
    /// Sets the sampling seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Adds a stop string.
    pub fn stop(mut self, s: impl Into<String>) -> Self {
        self.stop.push(s.into());
        self
    }
}

/// How the last answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FinishReason {
    /// Nothing generated yet.
    None,
    /// The model produced an end-of-turn token.
    Eos,
    /// A stop string was produced.
    StopString,
    /// `max_new_tokens` reached.
    Length,
    /// The context length was reached.
    Context,
    /// The text callback asked to stop.
    Callback,
    /// A value this binding does not know.
    Other(i32),
}

impl FinishReason {
    fn from_raw(v: i32) -> FinishReason {
        match v {
            sys::APOLLO_FINISH_NONE => FinishReason::None,
            sys::APOLLO_FINISH_EOS => FinishReason::Eos,
            sys::APOLLO_FINISH_STOP_STRING => FinishReason::StopString,
            sys::APOLLO_FINISH_LENGTH => FinishReason::Length,
            sys::APOLLO_FINISH_CONTEXT => FinishReason::Context,
            sys::APOLLO_FINISH_CALLBACK => FinishReason::Callback,
            v => FinishReason::Other(v),
        }
    }
}

type TextCb<'a> = &'a mut dyn FnMut(&str) -> ControlFlow<()>;
type AbortCb<'a> = &'a mut dyn FnMut() -> bool;

/// State of one call shared with the C callbacks through user_data.
struct CallState<'a> {
    on_text: Option<TextCb<'a>>,
    abort: Option<AbortCb<'a>>,
    panic: Option<Box<dyn Any + Send + 'static>>,
}

unsafe extern "C" fn text_trampoline(text: *const c_char, len: usize, ud: *mut c_void) -> i32 {
    let st = &mut *(ud as *mut CallState);
    if st.panic.is_some() {
        return 1;
    }
    let bytes = std::slice::from_raw_parts(text as *const u8, len);
    let f = match st.on_text.as_mut() {
        Some(f) => f,
        None => return 0,
    };
    let r = panic::catch_unwind(AssertUnwindSafe(|| match std::str::from_utf8(bytes) {
        Ok(s) => f(s),
        Err(_) => f(&String::from_utf8_lossy(bytes)),
    }));
    match r {
        Ok(ControlFlow::Continue(())) => 0,
        Ok(ControlFlow::Break(())) => 1,
        Err(p) => {
            st.panic = Some(p);
            1
        }
    }
}

unsafe extern "C" fn abort_trampoline(ud: *mut c_void) -> i32 {
    let st = &mut *(ud as *mut CallState);
    if st.panic.is_some() {
        return 1;
    }
    let f = match st.abort.as_mut() {
        Some(f) => f,
        None => return 0,
    };
    match panic::catch_unwind(AssertUnwindSafe(|| f())) {
        Ok(stop) => stop as i32,
        Err(p) => {
            st.panic = Some(p);
            1
        }
    }
}

// ---------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------

struct SessionInner {
    ptr: *mut sys::apollo_session,
    _model: Arc<CtxInner>,
}

// SAFETY: shared access from other threads is limited to
// apollo_session_cancel (Canceller), which the C contract allows; everything
// else goes through Session, which is not Sync.
unsafe impl Send for SessionInner {}
unsafe impl Sync for SessionInner {}

impl Drop for SessionInner {
    fn drop(&mut self) {
        // SAFETY: from apollo_session_new/fork, freed once.
        unsafe { sys::apollo_session_free(self.ptr) }
    }
}

/// A conversation: its history lives in a KV cache so that a new question
/// never recomputes earlier turns.  `Send`, not `Sync`.
pub struct Session {
    inner: Arc<SessionInner>,
    _not_sync: PhantomData<Cell<()>>,
}

/// Stops a session's running call from any thread (`Send + Sync + Clone`).
/// It keeps the underlying session alive until dropped.
#[derive(Clone)]
pub struct Canceller {
    inner: Arc<SessionInner>,
}

impl Canceller {
    /// Asks the running call (or, if none is running, the next call) to stop
    /// with [`ErrorKind::Cancelled`].
    pub fn cancel(&self) {
        // SAFETY: the one session function callable from another thread.
        unsafe { sys::apollo_session_cancel(self.inner.ptr) };
    }
}

impl Session {
    fn from_raw(ptr: *mut sys::apollo_session, model: Arc<CtxInner>) -> Session {
        Session {
            inner: Arc::new(SessionInner { ptr, _model: model }),
            _not_sync: PhantomData,
        }
    }

    fn ptr(&self) -> *mut sys::apollo_session {
        self.inner.ptr
    }

    /// The raw handle, for use with `apollo-sys` (valid while `self` lives).
    pub fn as_raw(&self) -> *mut sys::apollo_session {
        self.ptr()
    }

    fn check(&self, rc: i32) -> Result<i32> {
        if rc < 0 {
            // SAFETY: never NULL; valid until the next call on the session.
            let msg = unsafe { cstr(sys::apollo_session_errmsg(self.ptr())) };
            if msg.is_empty() {
                return Err(Error::last(rc));
            }
            return Err(Error::with_msg(rc, msg));
        }
        Ok(rc)
    }

    /// Asks `question`; returns the whole answer (white space stripped).
    pub fn ask(&mut self, question: &str, opts: &AskOptions) -> Result<String> {
        self.ask_raw(question, opts, None, None)
    }

    /// Asks `question`, calling `on_text` with each chunk of the answer as it
    /// is generated (whole UTF-8 characters, not stripped);
    /// `ControlFlow::Break(())` stops the answer there (finish reason
    /// [`FinishReason::Callback`]).  A panic in the closure stops generation
    /// and is resumed once the C call has returned.
    pub fn ask_streaming<F>(
        &mut self,
        question: &str,
        opts: &AskOptions,
        mut on_text: F,
    ) -> Result<String>
    where
        F: FnMut(&str) -> ControlFlow<()>,
    {
        self.ask_raw(question, opts, Some(&mut on_text), None)
    }

    /// Like [`ask_streaming`](Self::ask_streaming), with `abort` polled while
    /// working: `true` cancels the call ([`ErrorKind::Cancelled`]; the
    /// conversation is left as it was).
    pub fn ask_with_abort<F, A>(
        &mut self,
        question: &str,
        opts: &AskOptions,
        mut on_text: F,
        mut abort: A,
    ) -> Result<String>
    where
        F: FnMut(&str) -> ControlFlow<()>,
        A: FnMut() -> bool,
    {
        self.ask_raw(question, opts, Some(&mut on_text), Some(&mut abort))
    }

    fn ask_raw<'a>(
        &mut self,
        question: &str,
        opts: &AskOptions,
        on_text: Option<TextCb<'a>>,
        abort: Option<AbortCb<'a>>,
    ) -> Result<String> {
        let q = cstring(question, "the question")?;
        let stops = opts
            .stop
            .iter()
            .map(|s| cstring(s, "a stop string"))
            .collect::<Result<Vec<_>>>()?;
        let stop_ptrs: Vec<*const c_char> = stops.iter().map(|s| s.as_ptr()).collect();

        let mut p: sys::apollo_generate_params = unsafe { std::mem::zeroed() };
        unsafe { sys::apollo_generate_params_init(&mut p) };
        if let Some(n) = opts.max_new_tokens {
            p.max_new_tokens = n;
        }
        if let Some(s) = opts.do_sample {
            p.do_sample = s as i32;
        }
        if let Some(t) = opts.temperature {
            p.temperature = t;
        }
        if let Some(t) = opts.top_p {
            p.top_p = t;
        }
        if let Some(k) = opts.top_k {
            p.top_k = k;
        }
        if let Some(r) = opts.repetition_penalty {
            p.repetition_penalty = r;
        }
        p.seed = opts.seed;
        if !stop_ptrs.is_empty() {
            p.stop_strings = stop_ptrs.as_ptr();
            p.n_stop_strings = stop_ptrs.len() as i32;
        }
        let has_text = on_text.is_some();
        let has_abort = abort.is_some();
        let mut state = CallState {
            on_text,
            abort,
            panic: None,
        };
        let ud = &mut state as *mut CallState as *mut c_void;
        if has_text {
            p.on_text = Some(text_trampoline);
            p.on_text_user_data = ud;
        }
        if has_abort {
            p.abort_fn = Some(abort_trampoline);
            p.abort_user_data = ud;
        }
        let mut answer: *mut c_char = ptr::null_mut();
        // SAFETY: every pointer in p outlives the call; Session is not Sync and
        // this takes &mut self, so no other call runs on the session.
        let rc = unsafe { sys::apollo_session_ask(self.ptr(), q.as_ptr(), &p, &mut answer) };
        let text = unsafe { cstr(answer) };
        unsafe { sys::apollo_free(answer as *mut c_void) };
        if let Some(payload) = state.panic.take() {
            panic::resume_unwind(payload);
        }
        self.check(rc)?;
        Ok(text)
    }

    /// Appends a finished exchange without generating (prefilled now).
    pub fn add_exchange(&mut self, question: &str, answer: &str) -> Result<()> {
        let q = cstring(question, "the question")?;
        let a = cstring(answer, "the answer")?;
        let rc = unsafe { sys::apollo_session_add_exchange(self.ptr(), q.as_ptr(), a.as_ptr()) };
        self.check(rc).map(|_| ())
    }

    /// Forgets the conversation (the system prompt is kept).
    pub fn reset(&mut self) -> Result<()> {
        let rc = unsafe { sys::apollo_session_reset(self.ptr()) };
        self.check(rc).map(|_| ())
    }

    /// A copy of the conversation (history and KV cache).
    pub fn fork(&self) -> Result<Session> {
        let mut out = ptr::null_mut();
        let rc = unsafe { sys::apollo_session_fork(self.ptr(), &mut out) };
        self.check(rc)?;
        Ok(Session::from_raw(out, self.inner._model.clone()))
    }

    /// Stops the running call (or else the next one) with
    /// [`ErrorKind::Cancelled`].  From another thread, use [`Session::canceller`].
    pub fn cancel(&self) {
        unsafe { sys::apollo_session_cancel(self.ptr()) };
    }

    /// A handle that cancels this session's calls from any thread.
    pub fn canceller(&self) -> Canceller {
        Canceller {
            inner: self.inner.clone(),
        }
    }

    /// How the last answer ended.
    pub fn finish_reason(&self) -> FinishReason {
        let v = unsafe { sys::apollo_session_get_finish_reason(self.ptr()) };
        FinishReason::from_raw(v)
    }

    /// The conversation's token ids (visual tokens appear as -200).
    pub fn tokens(&self) -> Result<Vec<i32>> {
        let mut n = 0usize;
        self.check(unsafe {
            sys::apollo_session_get_tokens(self.ptr(), ptr::null_mut(), 0, &mut n)
        })?;
        let mut ids = vec![0i32; n];
        let cap = ids.len();
        self.check(unsafe {
            sys::apollo_session_get_tokens(self.ptr(), ids.as_mut_ptr(), cap, &mut n)
        })?;
        ids.truncate(n.min(cap));
        Ok(ids)
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("ptr", &self.inner.ptr)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Videos
// ---------------------------------------------------------------------------

/// Options for opening a [`Video`]; `None` takes the library's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoOptions {
    /// Frames per second inside a clip (default: the model's, 2).
    pub fps: Option<f64>,
    /// At most this many clips.
    pub max_clips: Option<i32>,
    /// Decoder threads (default: the model's).
    pub n_threads: Option<i32>,
    /// Start of the window to sample, in seconds.
    pub start_s: Option<f64>,
    /// End of the window to sample, in seconds.
    pub end_s: Option<f64>,
    /// The loader's clip budget ratio (default 0.65).
    pub clip_sampling_ratio: Option<f64>,
}

impl VideoOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `max_clips`.
    pub fn max_clips(mut self, n: i32) -> Self {
        self.max_clips = Some(n);
        self
    }
    /// Samples only `[start_s, end_s)`.
    pub fn window(mut self, start_s: f64, end_s: f64) -> Self {
        self.start_s = Some(start_s);
        self.end_s = Some(end_s);
        self
    }
    fn raw(&self) -> sys::apollo_video_params {
        let mut p: sys::apollo_video_params = unsafe { std::mem::zeroed() };
        unsafe { sys::apollo_video_params_init(&mut p) };
        if let Some(v) = self.fps {
            p.fps = v;
        }
        if let Some(v) = self.max_clips {
            p.max_clips = v;
        }
        if let Some(v) = self.n_threads {
            p.n_threads = v;
        }
        if let Some(v) = self.start_s {
            p.start_s = v;
        }
        if let Some(v) = self.end_s {
            p.end_s = v;
        }
        if let Some(v) = self.clip_sampling_ratio {
            p.clip_sampling_ratio = v;
        }
        p
    }
}

/// Where a video came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VideoSource {
    /// A file.
    File,
    /// A file held in memory.
    Memory,
    /// Decoded frames.
    Frames,
    /// A value this binding does not know.
    Other(i32),
}

/// What is known about an opened video (`apollo_video_info`).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct VideoInfo {
    pub source: VideoSource,
    pub is_image: bool,
    pub total_frames: i64,
    pub fps: f64,
    pub duration_s: f64,
    pub width: i32,
    pub height: i32,
    pub rotation: i32,
    pub n_clips: i32,
    pub frames_per_clip: i32,
    pub tokens_per_clip: i32,
    pub clip_duration_s: f64,
    pub budget_ratio: f64,
    pub sampling_repaired: bool,
    pub codec: String,
    pub pix_fmt: String,
    pub container: String,
}

/// Decoded RGB24 frames for [`Video::from_frames`].
#[derive(Debug, Clone, Copy)]
pub struct Frames<'a> {
    /// `n_frames` frames of `height` rows of `row_stride` bytes.
    pub rgb: &'a [u8],
    /// Number of frames (one frame makes an image).
    pub n_frames: i32,
    /// Frame width in pixels.
    pub width: i32,
    /// Frame height in pixels.
    pub height: i32,
    /// Bytes from one row to the next; 0 = `3 * width`.
    pub row_stride: usize,
    /// Frame rate, when `timestamps_s` is `None`.
    pub fps: f64,
    /// Presentation time of each frame, in seconds.
    pub timestamps_s: Option<&'a [f64]>,
}

/// A video (or image) prepared for one model, its clips chosen as the
/// reference loader does.  `Send`, not `Sync`; keeps its model alive.
pub struct Video {
    ptr: *mut sys::apollo_video,
    _model: Arc<CtxInner>,
}

// SAFETY: a video may move between threads (C contract); it is not Sync
// because the raw pointer field makes it !Sync.
unsafe impl Send for Video {}

impl Drop for Video {
    fn drop(&mut self) {
        unsafe { sys::apollo_video_free(self.ptr) }
    }
}

impl Video {
    /// Opens a video or image file.
    pub fn open<P: AsRef<Path>>(model: &Model, path: P, opts: &VideoOptions) -> Result<Video> {
        let path = path.as_ref().to_str().ok_or_else(|| {
            Error::new(
                sys::APOLLO_E_INVALID_ARG,
                "the video path is not valid UTF-8",
            )
        })?;
        let path = cstring(path, "the video path")?;
        let p = opts.raw();
        let mut out = ptr::null_mut();
        check(unsafe { sys::apollo_video_open_file(model.ptr(), path.as_ptr(), &p, &mut out) })?;
        Ok(Video {
            ptr: out,
            _model: model.inner.clone(),
        })
    }

    /// Opens a complete video or image file held in memory (copied).
    pub fn from_memory(model: &Model, data: &[u8], opts: &VideoOptions) -> Result<Video> {
        let p = opts.raw();
        let mut out = ptr::null_mut();
        let d = if data.is_empty() {
            [0u8; 1].as_ptr()
        } else {
            data.as_ptr()
        };
        check(unsafe {
            sys::apollo_video_open_memory(model.ptr(), d as *const c_void, data.len(), &p, &mut out)
        })?;
        Ok(Video {
            ptr: out,
            _model: model.inner.clone(),
        })
    }

    /// A video made of decoded frames (the frames the clips use are copied).
    pub fn from_frames(model: &Model, frames: &Frames<'_>, opts: &VideoOptions) -> Result<Video> {
        let stride = if frames.row_stride == 0 {
            3 * frames.width.max(0) as usize
        } else {
            frames.row_stride
        };
        let need = stride * frames.height.max(0) as usize * frames.n_frames.max(0) as usize;
        if frames.rgb.len() < need {
            return Err(Error::new(
                sys::APOLLO_E_INVALID_ARG,
                format!("rgb holds {} bytes, {} needed", frames.rgb.len(), need),
            ));
        }
        if let Some(ts) = frames.timestamps_s {
            if ts.len() < frames.n_frames.max(0) as usize {
                return Err(Error::new(sys::APOLLO_E_INVALID_ARG, "too few timestamps"));
            }
        }
        let p = opts.raw();
        let mut out = ptr::null_mut();
        let ts = frames.timestamps_s.map_or(ptr::null(), |t| t.as_ptr());
        check(unsafe {
            sys::apollo_video_open_frames(
                model.ptr(),
                frames.rgb.as_ptr(),
                frames.n_frames,
                frames.width,
                frames.height,
                frames.row_stride,
                frames.fps,
                ts,
                &p,
                &mut out,
            )
        })?;
        Ok(Video {
            ptr: out,
            _model: model.inner.clone(),
        })
    }

    /// The raw handle, for use with `apollo-sys` (valid while `self` lives).
    pub fn as_raw(&self) -> *mut sys::apollo_video {
        self.ptr
    }

    /// What is known about the video.
    pub fn info(&self) -> Result<VideoInfo> {
        let mut i: sys::apollo_video_info = unsafe { std::mem::zeroed() };
        unsafe { sys::apollo_video_info_init(&mut i) };
        check(unsafe { sys::apollo_video_get_info(self.ptr, &mut i) })?;
        Ok(VideoInfo {
            source: match i.source {
                sys::APOLLO_VIDEO_SOURCE_FILE => VideoSource::File,
                sys::APOLLO_VIDEO_SOURCE_MEMORY => VideoSource::Memory,
                sys::APOLLO_VIDEO_SOURCE_FRAMES => VideoSource::Frames,
                v => VideoSource::Other(v),
            },
            is_image: i.is_image != 0,
            total_frames: i.total_frames,
            fps: i.fps,
            duration_s: i.duration_s,
            width: i.width,
            height: i.height,
            rotation: i.rotation,
            n_clips: i.n_clips,
            frames_per_clip: i.frames_per_clip,
            tokens_per_clip: i.tokens_per_clip,
            clip_duration_s: i.clip_duration_s,
            budget_ratio: i.budget_ratio,
            sampling_repaired: i.sampling_repaired != 0,
            codec: unsafe { cstr(i.codec.as_ptr()) },
            pix_fmt: unsafe { cstr(i.pix_fmt.as_ptr()) },
            container: unsafe { cstr(i.container.as_ptr()) },
        })
    }

    /// The number of clips the model will see.
    pub fn n_clips(&self) -> Result<i32> {
        check(unsafe { sys::apollo_video_n_clips(self.ptr) })
    }

    /// Seconds from the start of the video of clip `i`'s first and last frame.
    pub fn clip_time(&self, i: i32) -> Result<(f64, f64)> {
        let (mut t0, mut t1) = (0f64, 0f64);
        check(unsafe { sys::apollo_video_get_clip_time(self.ptr, i, &mut t0, &mut t1) })?;
        Ok((t0, t1))
    }

    /// Frame numbers of clip `i`.
    pub fn clip_frames(&self, i: i32) -> Result<Vec<i64>> {
        let n =
            check(unsafe { sys::apollo_video_get_clip_frames(self.ptr, i, ptr::null_mut(), 0) })?;
        let mut v = vec![0i64; n as usize];
        let n =
            check(unsafe { sys::apollo_video_get_clip_frames(self.ptr, i, v.as_mut_ptr(), n) })?;
        v.truncate(n as usize);
        Ok(v)
    }

    /// The text block that introduces this video in the prompt, with the
    /// visual placeholders when `placeholders`.
    pub fn prompt_text(&self, placeholders: bool) -> Result<String> {
        let flags = if placeholders {
            sys::APOLLO_VIDEO_TEXT_PLACEHOLDERS
        } else {
            0
        };
        let n = unsafe { sys::apollo_video_get_prompt_text(self.ptr, flags, ptr::null_mut(), 0) };
        if n < 0 {
            return Err(Error::last(n as i32));
        }
        let mut buf = vec![0u8; n as usize + 1];
        let m = unsafe {
            sys::apollo_video_get_prompt_text(
                self.ptr,
                flags,
                buf.as_mut_ptr() as *mut c_char,
                buf.len(),
            )
        };
        if m < 0 {
            return Err(Error::last(m as i32));
        }
        buf.truncate(n as usize);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}

/// Callbacks of encoding ([`Video::encode_with`], [`Session::add_video_with`]).
struct EncodeState<'a> {
    progress: Option<&'a mut dyn FnMut(i32, i32)>,
    abort: Option<&'a mut dyn FnMut() -> bool>,
    panic: Option<Box<dyn Any + Send + 'static>>,
}

unsafe extern "C" fn progress_trampoline(i: i32, n: i32, ud: *mut c_void) {
    let st = &mut *(ud as *mut EncodeState);
    if st.panic.is_some() {
        return;
    }
    if let Some(f) = st.progress.as_mut() {
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| f(i, n))) {
            st.panic = Some(p);
        }
    }
}

unsafe extern "C" fn encode_abort_trampoline(ud: *mut c_void) -> i32 {
    let st = &mut *(ud as *mut EncodeState);
    if st.panic.is_some() {
        return 1;
    }
    match st.abort.as_mut() {
        None => 0,
        Some(f) => match panic::catch_unwind(AssertUnwindSafe(|| f())) {
            Ok(stop) => stop as i32,
            Err(p) => {
                st.panic = Some(p);
                1
            }
        },
    }
}

/// Runs `f` with an `apollo_encode_params` wired to the closures; resumes a
/// closure's panic after the C call.
fn with_encode_params<'a>(
    progress: Option<&'a mut dyn FnMut(i32, i32)>,
    abort: Option<&'a mut dyn FnMut() -> bool>,
    f: impl FnOnce(&sys::apollo_encode_params) -> i32,
) -> i32 {
    let mut st = EncodeState {
        progress,
        abort,
        panic: None,
    };
    let mut p: sys::apollo_encode_params = unsafe { std::mem::zeroed() };
    unsafe { sys::apollo_encode_params_init(&mut p) };
    let ud = &mut st as *mut EncodeState as *mut c_void;
    p.progress_fn = Some(progress_trampoline);
    p.progress_user_data = ud;
    p.abort_fn = Some(encode_abort_trampoline);
    p.abort_user_data = ud;
    let rc = f(&p);
    if let Some(payload) = st.panic.take() {
        panic::resume_unwind(payload);
    }
    rc
}

impl Video {
    /// Loads a video saved by [`Video::save`] (already encoded); `opts` must
    /// be the options it was opened with ([`ErrorKind::Config`] otherwise).
    pub fn load<P: AsRef<Path>>(model: &Model, path: P, opts: &VideoOptions) -> Result<Video> {
        let path = path
            .as_ref()
            .to_str()
            .ok_or_else(|| Error::new(sys::APOLLO_E_INVALID_ARG, "the path is not valid UTF-8"))?;
        let path = cstring(path, "the path")?;
        let p = opts.raw();
        let mut out = ptr::null_mut();
        check(unsafe { sys::apollo_video_load(model.ptr(), path.as_ptr(), &p, &mut out) })?;
        Ok(Video {
            ptr: out,
            _model: model.inner.clone(),
        })
    }

    /// Runs the vision encoders once (no-op when already encoded).
    pub fn encode(&mut self) -> Result<()> {
        self.encode_with(|_, _| {}, || false)
    }

    /// [`encode`](Self::encode) with `progress(i_clip, n_clips)` after each
    /// clip and `abort()` polled (true cancels with [`ErrorKind::Cancelled`]).
    pub fn encode_with<P, A>(&mut self, mut progress: P, mut abort: A) -> Result<()>
    where
        P: FnMut(i32, i32),
        A: FnMut() -> bool,
    {
        let ptr = self.ptr;
        let rc = with_encode_params(Some(&mut progress), Some(&mut abort), |p| unsafe {
            sys::apollo_video_encode(ptr, p)
        });
        check(rc).map(|_| ())
    }

    /// Whether the visual tokens are available.
    pub fn is_encoded(&self) -> Result<bool> {
        check(unsafe { sys::apollo_video_is_encoded(self.ptr) }).map(|v| v != 0)
    }

    /// The visual tokens: (floats, dim), clip-major rows of `dim` floats.
    pub fn embeddings(&self) -> Result<(Vec<f32>, i32)> {
        let (mut n, mut dim) = (0usize, 0i32);
        check(unsafe {
            sys::apollo_video_get_embeddings(self.ptr, ptr::null_mut(), 0, &mut n, &mut dim)
        })?;
        let mut v = vec![0f32; n];
        let cap = v.len();
        check(unsafe {
            sys::apollo_video_get_embeddings(self.ptr, v.as_mut_ptr(), cap, &mut n, &mut dim)
        })?;
        v.truncate(n.min(cap));
        Ok((v, dim))
    }

    /// Saves the encoded video's tokens to `path` (atomically).
    pub fn save<P: AsRef<Path>>(&self, path: P) -> Result<()> {
        let path = path
            .as_ref()
            .to_str()
            .ok_or_else(|| Error::new(sys::APOLLO_E_INVALID_ARG, "the path is not valid UTF-8"))?;
        let path = cstring(path, "the path")?;
        check(unsafe { sys::apollo_video_save(self.ptr, path.as_ptr()) }).map(|_| ())
    }
}

impl Session {
    /// Shows a video to the model: opens a user message with the video's
    /// block; the next ask (or add_exchange) completes it with its question.
    /// Encodes the video first if needed.  Fork the session afterwards to
    /// ask several questions for the price of one video.
    pub fn add_video(&mut self, video: &mut Video) -> Result<()> {
        self.add_video_with(video, |_, _| {}, || false)
    }

    /// [`add_video`](Self::add_video) with encoding callbacks.
    pub fn add_video_with<P, A>(
        &mut self,
        video: &mut Video,
        mut progress: P,
        mut abort: A,
    ) -> Result<()>
    where
        P: FnMut(i32, i32),
        A: FnMut() -> bool,
    {
        let (s, v) = (self.ptr(), video.ptr);
        let rc = with_encode_params(Some(&mut progress), Some(&mut abort), |p| unsafe {
            sys::apollo_session_add_video(s, v, p)
        });
        self.check(rc).map(|_| ())
    }
}

impl fmt::Debug for Video {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Video").field("ptr", &self.ptr).finish()
    }
}

impl Model {
    /// Opens a video or image file for this model (see [`Video::open`]).
    pub fn video<P: AsRef<Path>>(&self, path: P, opts: &VideoOptions) -> Result<Video> {
        Video::open(self, path, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn assert_send<T: Send>() {}
    fn assert_sync<T: Sync>() {}
    #[test]
    fn thread_contract() {
        assert_send::<Model>();
        assert_sync::<Model>();
        assert_send::<Session>();
        assert_send::<Canceller>();
        assert_send::<Video>();
        assert_sync::<Canceller>();
    }
}

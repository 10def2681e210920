//! Raw declarations of libapollo's C ABI (`apollo.h`), written by hand.
//!
//! Everything here is `unsafe` and mirrors the header one to one; the
//! `apollo` crate is the safe layer.  Items added by later versions of the
//! header are appended in their own section, marked with their `@since`.
#![allow(non_camel_case_types)]

pub use std::os::raw::{c_char, c_int, c_void};

// ---------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------

pub const APOLLO_VERSION_MAJOR: i32 = 0;
pub const APOLLO_VERSION_MINOR: i32 = 1;
pub const APOLLO_VERSION_PATCH: i32 = 0;
pub const APOLLO_VERSION_NUMBER: i32 =
    APOLLO_VERSION_MAJOR * 10000 + APOLLO_VERSION_MINOR * 100 + APOLLO_VERSION_PATCH;

// ---------------------------------------------------------------------------
// Status codes
// ---------------------------------------------------------------------------

pub const APOLLO_OK: c_int = 0;
pub const APOLLO_E_INVALID_ARG: c_int = -1;
pub const APOLLO_E_MISUSE: c_int = -2;
pub const APOLLO_E_NOMEM: c_int = -3;
pub const APOLLO_E_IO: c_int = -4;
pub const APOLLO_E_NOT_FOUND: c_int = -5;
pub const APOLLO_E_JSON: c_int = -6;
pub const APOLLO_E_CONFIG: c_int = -7;
pub const APOLLO_E_FORMAT: c_int = -8;
pub const APOLLO_E_DTYPE: c_int = -9;
pub const APOLLO_E_SHAPE: c_int = -10;
pub const APOLLO_E_MISSING_TENSOR: c_int = -11;
pub const APOLLO_E_UNSUPPORTED: c_int = -12;
pub const APOLLO_E_BACKEND: c_int = -13;
pub const APOLLO_E_CANCELLED: c_int = -14;
pub const APOLLO_E_CONTEXT_FULL: c_int = -15;
pub const APOLLO_E_VIDEO: c_int = -16;
pub const APOLLO_E_NO_VIDEO: c_int = -17;

// ---------------------------------------------------------------------------
// Model context
// ---------------------------------------------------------------------------

/// Opaque `apollo_ctx`.
#[repr(C)]
pub struct apollo_ctx {
    _private: [u8; 0],
}

pub const APOLLO_BACKEND_AUTO: i32 = 0;
pub const APOLLO_BACKEND_CPU: i32 = 1;
pub const APOLLO_BACKEND_ONEDNN: i32 = 2;

pub const APOLLO_LOG_ERROR: i32 = 0;
pub const APOLLO_LOG_WARN: i32 = 1;
pub const APOLLO_LOG_INFO: i32 = 2;
pub const APOLLO_LOG_DEBUG: i32 = 3;

pub const APOLLO_PRECISION_F32: i32 = 0;
pub const APOLLO_PRECISION_BF16: i32 = 1;
pub const APOLLO_PRECISION_INT8: i32 = 2;

pub type apollo_log_fn =
    Option<unsafe extern "C" fn(level: i32, msg: *const c_char, user_data: *mut c_void)>;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct apollo_ctx_params {
    pub struct_size: u32,
    pub n_threads: i32,
    pub backend: i32,
    pub log_level: i32,
    pub log_fn: apollo_log_fn,
    pub log_user_data: *mut c_void,
    pub precision: i32,
}

pub const APOLLO_MAX_VISION_TOWERS: usize = 4;
pub const APOLLO_TOWER_NAME_CAP: usize = 64;
pub const APOLLO_TOWER_SIGLIP: i32 = 1;
pub const APOLLO_TOWER_INTERNVIDEO2: i32 = 2;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct apollo_model_info {
    pub struct_size: u32,
    pub llm_hidden_size: i32,
    pub llm_intermediate_size: i32,
    pub llm_n_layers: i32,
    pub llm_n_heads: i32,
    pub llm_n_kv_heads: i32,
    pub llm_head_dim: i32,
    pub llm_vocab_size: i32,
    pub llm_tied_embeddings: i32,
    pub context_length: i32,
    pub llm_rope_theta: f64,
    pub llm_rms_norm_eps: f64,
    pub n_vision_towers: i32,
    pub tower_kind: [i32; APOLLO_MAX_VISION_TOWERS],
    pub tower_name: [[c_char; APOLLO_TOWER_NAME_CAP]; APOLLO_MAX_VISION_TOWERS],
    pub tower_hidden_size: [i32; APOLLO_MAX_VISION_TOWERS],
    pub tower_n_layers_run: [i32; APOLLO_MAX_VISION_TOWERS],
    pub vision_select_layer: i32,
    pub frames_per_clip: i32,
    pub tokens_per_clip: i32,
    pub clip_duration_s: f64,
    pub model_max_length: i32,
    pub n_params_llm: i64,
    pub n_params_vision: [i64; APOLLO_MAX_VISION_TOWERS],
    pub n_params_connector: i64,
}

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------

/// Opaque `apollo_session`.
#[repr(C)]
pub struct apollo_session {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct apollo_session_params {
    pub struct_size: u32,
    pub system_prompt: *const c_char,
}

pub type apollo_text_fn =
    Option<unsafe extern "C" fn(text: *const c_char, len: usize, user_data: *mut c_void) -> i32>;
pub type apollo_abort_fn = Option<unsafe extern "C" fn(user_data: *mut c_void) -> i32>;

pub const APOLLO_FINISH_NONE: c_int = 0;
pub const APOLLO_FINISH_EOS: c_int = 1;
pub const APOLLO_FINISH_STOP_STRING: c_int = 2;
pub const APOLLO_FINISH_LENGTH: c_int = 3;
pub const APOLLO_FINISH_CONTEXT: c_int = 4;
pub const APOLLO_FINISH_CALLBACK: c_int = 5;

pub const APOLLO_MAX_STOP_STRINGS: usize = 16;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct apollo_generate_params {
    pub struct_size: u32,
    pub max_new_tokens: i32,
    pub do_sample: i32,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: i32,
    pub repetition_penalty: f32,
    pub seed: u64,
    pub stop_strings: *const *const c_char,
    pub n_stop_strings: i32,
    pub on_text: apollo_text_fn,
    pub on_text_user_data: *mut c_void,
    pub abort_fn: apollo_abort_fn,
    pub abort_user_data: *mut c_void,
}

extern "C" {
    // Versions
    pub fn apollo_version_number() -> i32;
    pub fn apollo_version_string() -> *const c_char;

    // Errors
    pub fn apollo_strerror(code: c_int) -> *const c_char;
    pub fn apollo_last_errmsg() -> *const c_char;

    // Model context
    pub fn apollo_ctx_params_init(params: *mut apollo_ctx_params);
    pub fn apollo_ctx_open(
        model_dir: *const c_char,
        params: *const apollo_ctx_params,
        out: *mut *mut apollo_ctx,
    ) -> c_int;
    pub fn apollo_ctx_free(ctx: *mut apollo_ctx);
    pub fn apollo_ctx_get_backend(ctx: *const apollo_ctx) -> c_int;

    // Model information
    pub fn apollo_model_info_init(info: *mut apollo_model_info);
    pub fn apollo_ctx_get_model_info(ctx: *const apollo_ctx, info: *mut apollo_model_info)
        -> c_int;

    // Tokens
    pub fn apollo_tokenize(
        ctx: *const apollo_ctx,
        text: *const c_char,
        len: usize,
        ids: *mut i32,
        cap: usize,
        n_ids: *mut usize,
    ) -> c_int;
    pub fn apollo_detokenize(
        ctx: *const apollo_ctx,
        ids: *const i32,
        n_ids: usize,
        buf: *mut c_char,
        cap: usize,
        len: *mut usize,
    ) -> c_int;
    pub fn apollo_token_to_piece(
        ctx: *const apollo_ctx,
        id: i32,
        buf: *mut c_char,
        cap: usize,
        len: *mut usize,
    ) -> c_int;
    pub fn apollo_ctx_n_tokens(ctx: *const apollo_ctx) -> i32;

    // Memory
    pub fn apollo_free(ptr: *mut c_void);

    // Sessions
    pub fn apollo_session_params_init(params: *mut apollo_session_params);
    pub fn apollo_session_new(
        ctx: *mut apollo_ctx,
        params: *const apollo_session_params,
        out: *mut *mut apollo_session,
    ) -> c_int;
    pub fn apollo_session_free(session: *mut apollo_session);
    pub fn apollo_session_fork(src: *const apollo_session, out: *mut *mut apollo_session) -> c_int;
    pub fn apollo_session_reset(session: *mut apollo_session) -> c_int;
    pub fn apollo_session_errmsg(session: *const apollo_session) -> *const c_char;
    pub fn apollo_generate_params_init(params: *mut apollo_generate_params);
    pub fn apollo_session_ask(
        session: *mut apollo_session,
        question: *const c_char,
        params: *const apollo_generate_params,
        answer: *mut *mut c_char,
    ) -> c_int;
    pub fn apollo_session_add_exchange(
        session: *mut apollo_session,
        question: *const c_char,
        answer: *const c_char,
    ) -> c_int;
    pub fn apollo_session_cancel(session: *mut apollo_session) -> c_int;
    pub fn apollo_session_get_finish_reason(session: *const apollo_session) -> c_int;
    pub fn apollo_session_get_tokens(
        session: *const apollo_session,
        ids: *mut i32,
        cap: usize,
        n_total: *mut usize,
    ) -> c_int;
}

// ---------------------------------------------------------------------------
// Videos
// ---------------------------------------------------------------------------

/// Opaque `apollo_video`.
#[repr(C)]
pub struct apollo_video {
    _private: [u8; 0],
}

pub const APOLLO_VIDEO_SOURCE_FILE: i32 = 1;
pub const APOLLO_VIDEO_SOURCE_MEMORY: i32 = 2;
pub const APOLLO_VIDEO_SOURCE_FRAMES: i32 = 3;
pub const APOLLO_VIDEO_TEXT_PLACEHOLDERS: i32 = 1;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct apollo_video_params {
    pub struct_size: u32,
    pub fps: f64,
    pub max_clips: i32,
    pub n_threads: i32,
    pub start_s: f64,
    pub end_s: f64,
    pub clip_sampling_ratio: f64,
    pub borrow: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct apollo_video_info {
    pub struct_size: u32,
    pub source: i32,
    pub is_image: i32,
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
    pub sampling_repaired: i32,
    pub codec: [c_char; 32],
    pub pix_fmt: [c_char; 32],
    pub container: [c_char; 64],
}

extern "C" {
    pub fn apollo_video_params_init(params: *mut apollo_video_params);
    pub fn apollo_video_open_file(
        ctx: *mut apollo_ctx,
        path: *const c_char,
        params: *const apollo_video_params,
        out: *mut *mut apollo_video,
    ) -> c_int;
    pub fn apollo_video_open_memory(
        ctx: *mut apollo_ctx,
        data: *const c_void,
        size: usize,
        params: *const apollo_video_params,
        out: *mut *mut apollo_video,
    ) -> c_int;
    pub fn apollo_video_open_frames(
        ctx: *mut apollo_ctx,
        rgb: *const u8,
        n_frames: i32,
        width: i32,
        height: i32,
        row_stride: usize,
        fps: f64,
        timestamps_s: *const f64,
        params: *const apollo_video_params,
        out: *mut *mut apollo_video,
    ) -> c_int;
    pub fn apollo_video_free(video: *mut apollo_video);
    pub fn apollo_video_info_init(info: *mut apollo_video_info);
    pub fn apollo_video_get_info(video: *const apollo_video, info: *mut apollo_video_info)
        -> c_int;
    pub fn apollo_video_n_clips(video: *const apollo_video) -> i32;
    pub fn apollo_video_get_clip_time(
        video: *const apollo_video,
        i_clip: i32,
        t0_s: *mut f64,
        t1_s: *mut f64,
    ) -> c_int;
    pub fn apollo_video_get_clip_frames(
        video: *const apollo_video,
        i_clip: i32,
        indices: *mut i64,
        cap: i32,
    ) -> i32;
    pub fn apollo_video_get_frame(
        video: *mut apollo_video,
        frame_index: i64,
        rgb: *mut u8,
        cap: usize,
        width: *mut i32,
        height: *mut i32,
    ) -> i64;
    pub fn apollo_video_get_prompt_text(
        video: *const apollo_video,
        flags: i32,
        buf: *mut c_char,
        cap: usize,
    ) -> i64;
}

// ---------------------------------------------------------------------------
// Encoding videos, saved embeddings, videos in conversations
// ---------------------------------------------------------------------------

pub type apollo_progress_fn =
    Option<unsafe extern "C" fn(i_clip: i32, n_clips: i32, user_data: *mut c_void)>;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct apollo_encode_params {
    pub struct_size: u32,
    pub progress_fn: apollo_progress_fn,
    pub progress_user_data: *mut c_void,
    pub abort_fn: apollo_abort_fn,
    pub abort_user_data: *mut c_void,
}

extern "C" {
    pub fn apollo_encode_params_init(params: *mut apollo_encode_params);
    pub fn apollo_video_encode(
        video: *mut apollo_video,
        params: *const apollo_encode_params,
    ) -> c_int;
    pub fn apollo_video_is_encoded(video: *const apollo_video) -> c_int;
    pub fn apollo_video_get_embeddings(
        video: *const apollo_video,
        buf: *mut f32,
        cap: usize,
        n_floats: *mut usize,
        dim: *mut i32,
    ) -> c_int;
    pub fn apollo_video_save(video: *const apollo_video, path: *const c_char) -> c_int;
    pub fn apollo_video_load(
        ctx: *mut apollo_ctx,
        path: *const c_char,
        params: *const apollo_video_params,
        out: *mut *mut apollo_video,
    ) -> c_int;
    pub fn apollo_session_add_video(
        session: *mut apollo_session,
        video: *mut apollo_video,
        params: *const apollo_encode_params,
    ) -> c_int;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// Runs a C `_init` on an oversized zeroed buffer and returns the
    /// struct_size it wrote: the size of the struct in the loaded library.
    fn c_size(init: unsafe extern "C" fn(*mut u8)) -> usize {
        let mut buf = [0u64; 256];
        unsafe { init(buf.as_mut_ptr() as *mut u8) };
        (buf[0] & 0xffff_ffff) as usize
    }

    macro_rules! same_size {
        ($ty:ty, $init:ident) => {{
            unsafe extern "C" fn init(p: *mut u8) {
                $init(p as *mut $ty)
            }
            assert_eq!(
                size_of::<$ty>(),
                c_size(init),
                "{} differs from C",
                stringify!($ty)
            );
        }};
    }

    /// Every params/info struct mirrored here has the size the library's
    /// `_init` function sets (catches a field added to apollo.h).
    #[test]
    fn layouts_match_the_library() {
        same_size!(apollo_ctx_params, apollo_ctx_params_init);
        same_size!(apollo_model_info, apollo_model_info_init);
        same_size!(apollo_session_params, apollo_session_params_init);
        same_size!(apollo_generate_params, apollo_generate_params_init);
        same_size!(apollo_video_params, apollo_video_params_init);
        same_size!(apollo_video_info, apollo_video_info_init);
        same_size!(apollo_encode_params, apollo_encode_params_init);
    }

    #[test]
    fn version_matches_the_library() {
        assert_eq!(
            unsafe { apollo_version_number() } / 100,
            APOLLO_VERSION_NUMBER / 100
        );
    }
}

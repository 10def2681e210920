// Package apollo is the Go binding of libapollo, a CPU runtime for the
// Apollo video-language models.
//
//	model, err := apollo.Open("Apollo-1.5B-t32", nil)
//	if err != nil { ... }
//	defer model.Close()
//	chat, err := model.NewSession(nil)
//	defer chat.Close()
//	answer, err := chat.Ask("Hello!", &apollo.AskOptions{
//		OnText: func(chunk string) bool { fmt.Print(chunk); return true },
//	})
//
// Thread contract (the C library's): a *Model may be used by any number of
// goroutines at once; a *Session runs one call at a time (calls from several
// goroutines are serialised); Session.Cancel may be called from any
// goroutine.  Sessions keep their model alive, so Close order never matters.
// Close releases the C memory at once; a finalizer does it for handles that
// are dropped without Close.
package apollo

/*
#include <apollo.h>
#include <stdlib.h>
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"unsafe"
)

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

// Status codes (APOLLO_E_*).
const (
	CodeInvalidArg    = -1
	CodeMisuse        = -2
	CodeNoMem         = -3
	CodeIO            = -4
	CodeNotFound      = -5
	CodeJSON          = -6
	CodeConfig        = -7
	CodeFormat        = -8
	CodeDtype         = -9
	CodeShape         = -10
	CodeMissingTensor = -11
	CodeUnsupported   = -12
	CodeBackend       = -13
	CodeCancelled     = -14
	CodeContextFull   = -15
	CodeVideo         = -16
	CodeNoVideo       = -17
)

// Error is a libapollo failure: the negative APOLLO_E_* code and the
// library's detailed message.  errors.Is(err, apollo.ErrNotFound) compares
// codes.
type Error struct {
	Code    int
	Message string
}

// Sentinels for errors.Is.
var (
	ErrInvalidArg    = &Error{Code: CodeInvalidArg}
	ErrMisuse        = &Error{Code: CodeMisuse}
	ErrNoMem         = &Error{Code: CodeNoMem}
	ErrIO            = &Error{Code: CodeIO}
	ErrNotFound      = &Error{Code: CodeNotFound}
	ErrJSON          = &Error{Code: CodeJSON}
	ErrConfig        = &Error{Code: CodeConfig}
	ErrFormat        = &Error{Code: CodeFormat}
	ErrDtype         = &Error{Code: CodeDtype}
	ErrShape         = &Error{Code: CodeShape}
	ErrMissingTensor = &Error{Code: CodeMissingTensor}
	ErrUnsupported   = &Error{Code: CodeUnsupported}
	ErrBackend       = &Error{Code: CodeBackend}
	ErrCancelled     = &Error{Code: CodeCancelled}
	ErrContextFull   = &Error{Code: CodeContextFull}
	ErrVideo         = &Error{Code: CodeVideo}
	ErrNoVideo       = &Error{Code: CodeNoVideo}
)

func (e *Error) Error() string {
	reason := StrError(e.Code)
	if e.Message == "" || e.Message == reason {
		return "apollo: " + reason
	}
	return "apollo: " + reason + ": " + e.Message
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func newError(code int, msg string) error {
	if msg == "" {
		msg = StrError(code)
	}
	return &Error{Code: code, Message: msg}
}

// StrError is the static English text of a status code.
func StrError(code int) string {
	return C.GoString(C.apollo_strerror(C.int(code)))
}

// VersionNumber of the loaded library (MAJOR*10000 + MINOR*100 + PATCH).
func VersionNumber() int { return int(C.apollo_version_number()) }

// Version string of the loaded library.
func Version() string { return C.GoString(C.apollo_version_string()) }

// CheckVersion fails when the loaded library's major.minor differs from the
// header these bindings were written for.  Open calls it.
func CheckVersion() error {
	if VersionNumber()/100 != BindingVersionNumber/100 {
		return newError(CodeMisuse, fmt.Sprintf(
			"libapollo %s is not ABI-compatible with these bindings (written for %d.%d.x)",
			Version(), BindingVersionMajor, BindingVersionMinor))
	}
	return nil
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

// Backend selects the compute backend.
type Backend int

// Backends.
const (
	BackendAuto   Backend = C.APOLLO_BACKEND_AUTO
	BackendCPU    Backend = C.APOLLO_BACKEND_CPU
	BackendOneDNN Backend = C.APOLLO_BACKEND_ONEDNN
)

// LogLevel of a log line.
type LogLevel int

// Log levels.
const (
	LogError LogLevel = C.APOLLO_LOG_ERROR
	LogWarn  LogLevel = C.APOLLO_LOG_WARN
	LogInfo  LogLevel = C.APOLLO_LOG_INFO
	LogDebug LogLevel = C.APOLLO_LOG_DEBUG
)

// Precision of the computation.
type Precision int

// Precisions.
const (
	PrecisionF32  Precision = C.APOLLO_PRECISION_F32  // float32 on the exact weights (default)
	PrecisionBF16 Precision = C.APOLLO_PRECISION_BF16 // bf16 activations in matrix products
	PrecisionInt8 Precision = C.APOLLO_PRECISION_INT8 // int8 LLM weights quantized at open
)

// ModelOptions for Open; nil or the zero value means the defaults.
type ModelOptions struct {
	Threads   int       // worker threads; 0 = number of online CPUs
	Backend   Backend   // default BackendAuto
	Precision Precision // default PrecisionF32
	LogLevel  LogLevel
	// Log receives the model's log lines up to LogLevel, on the thread doing
	// the work; it must be safe for concurrent use.
	Log func(level LogLevel, msg string)
}

// core is what a Model and its sessions share: it keeps the log callback's
// handle valid while any of them may still run C code.
type core struct {
	logHandle cgo.Handle
}

func newCore() *core {
	c := &core{}
	runtime.SetFinalizer(c, func(c *core) {
		if c.logHandle != 0 {
			c.logHandle.Delete()
		}
	})
	return c
}

// Model is a loaded Apollo checkpoint (apollo_ctx); safe for concurrent use.
type Model struct {
	mu   sync.RWMutex
	ptr  *C.apollo_ctx
	core *core
}

// Open loads a checkpoint directory as published on the hub.
func Open(dir string, opts *ModelOptions) (*Model, error) {
	if err := CheckVersion(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &ModelOptions{}
	}
	var p C.apollo_ctx_params
	C.apollo_ctx_params_init(&p)
	p.n_threads = C.int32_t(opts.Threads)
	p.backend = C.int32_t(opts.Backend)
	p.precision = C.int32_t(opts.Precision)
	cr := newCore()
	if opts.Log != nil {
		p.log_level = C.int32_t(opts.LogLevel)
		cr.logHandle = cgo.NewHandle(opts.Log)
		setLogCallback(&p, cr.logHandle)
	}
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	var ctx *C.apollo_ctx
	if _, err := call(func() C.int { return C.apollo_ctx_open(cdir, &p, &ctx) }); err != nil {
		return nil, err
	}
	m := &Model{ptr: ctx, core: cr}
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

// Close releases the model; open sessions keep the weights alive.  Safe to
// call more than once.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr != nil {
		C.apollo_ctx_free(m.ptr)
		m.ptr = nil
		runtime.SetFinalizer(m, nil)
	}
	return nil
}

// with runs f with the handle held against a concurrent Close.
func (m *Model) with(f func(ctx *C.apollo_ctx) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.ptr == nil {
		return newError(CodeMisuse, "the model is closed")
	}
	return f(m.ptr)
}

// Backend actually in use.
func (m *Model) Backend() (Backend, error) {
	var b int
	err := m.with(func(ctx *C.apollo_ctx) (err error) {
		b, err = call(func() C.int { return C.apollo_ctx_get_backend(ctx) })
		return
	})
	return Backend(b), err
}

// NTokens is the number of token ids the tokenizer defines.
func (m *Model) NTokens() (int, error) {
	var n int
	err := m.with(func(ctx *C.apollo_ctx) (err error) {
		n, err = call(func() C.int { return C.int(C.apollo_ctx_n_tokens(ctx)) })
		return
	})
	return n, err
}

// VisionTower describes one vision encoder.
type VisionTower struct {
	Kind       int // TowerSigLIP or TowerInternVideo2
	Name       string
	HiddenSize int
	LayersRun  int
	Params     int64
}

// Tower kinds.
const (
	TowerSigLIP       = C.APOLLO_TOWER_SIGLIP
	TowerInternVideo2 = C.APOLLO_TOWER_INTERNVIDEO2
)

// ModelInfo summarises a loaded model.
type ModelInfo struct {
	LLMHiddenSize       int
	LLMIntermediateSize int
	LLMLayers           int
	LLMHeads            int
	LLMKVHeads          int
	LLMHeadDim          int
	LLMVocabSize        int
	LLMTiedEmbeddings   bool
	ContextLength       int
	LLMRopeTheta        float64
	LLMRMSNormEps       float64
	VisionTowers        []VisionTower
	VisionSelectLayer   int
	FramesPerClip       int
	TokensPerClip       int
	ClipDurationS       float64
	ModelMaxLength      int
	ParamsLLM           int64
	ParamsConnector     int64
}

// Info returns the model summary.
func (m *Model) Info() (ModelInfo, error) {
	var i C.apollo_model_info
	C.apollo_model_info_init(&i)
	err := m.with(func(ctx *C.apollo_ctx) error {
		_, err := call(func() C.int { return C.apollo_ctx_get_model_info(ctx, &i) })
		return err
	})
	if err != nil {
		return ModelInfo{}, err
	}
	info := ModelInfo{
		LLMHiddenSize: int(i.llm_hidden_size), LLMIntermediateSize: int(i.llm_intermediate_size),
		LLMLayers: int(i.llm_n_layers), LLMHeads: int(i.llm_n_heads),
		LLMKVHeads: int(i.llm_n_kv_heads), LLMHeadDim: int(i.llm_head_dim),
		LLMVocabSize: int(i.llm_vocab_size), LLMTiedEmbeddings: i.llm_tied_embeddings != 0,
		ContextLength: int(i.context_length), LLMRopeTheta: float64(i.llm_rope_theta),
		LLMRMSNormEps: float64(i.llm_rms_norm_eps), VisionSelectLayer: int(i.vision_select_layer),
		FramesPerClip: int(i.frames_per_clip), TokensPerClip: int(i.tokens_per_clip),
		ClipDurationS: float64(i.clip_duration_s), ModelMaxLength: int(i.model_max_length),
		ParamsLLM: int64(i.n_params_llm), ParamsConnector: int64(i.n_params_connector),
	}
	for k := 0; k < int(i.n_vision_towers) && k < C.APOLLO_MAX_VISION_TOWERS; k++ {
		info.VisionTowers = append(info.VisionTowers, VisionTower{
			Kind:       int(i.tower_kind[k]),
			Name:       C.GoString(&i.tower_name[k][0]),
			HiddenSize: int(i.tower_hidden_size[k]),
			LayersRun:  int(i.tower_n_layers_run[k]),
			Params:     int64(i.n_params_vision[k]),
		})
	}
	return info, nil
}

// Tokenize converts text to token ids exactly like the checkpoint's HF tokenizer.
func (m *Model) Tokenize(text string) ([]int32, error) {
	b := []byte(text)
	ids := make([]int32, len(b)+1) // every token covers at least one byte
	var n C.size_t
	err := m.with(func(ctx *C.apollo_ctx) error {
		var tp *C.char
		if len(b) > 0 {
			tp = (*C.char)(unsafe.Pointer(&b[0]))
		}
		_, err := call(func() C.int {
			return C.apollo_tokenize(ctx, tp, C.size_t(len(b)),
				(*C.int32_t)(unsafe.Pointer(&ids[0])), C.size_t(len(ids)), &n)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids[:n], nil
}

// Detokenize converts ids back to text (special tokens written out).
func (m *Model) Detokenize(ids []int32) (string, error) {
	var out string
	err := m.with(func(ctx *C.apollo_ctx) error {
		var ip *C.int32_t
		if len(ids) > 0 {
			ip = (*C.int32_t)(unsafe.Pointer(&ids[0]))
		}
		var n C.size_t
		if _, err := call(func() C.int {
			return C.apollo_detokenize(ctx, ip, C.size_t(len(ids)), nil, 0, &n)
		}); err != nil {
			return err
		}
		buf := make([]byte, int(n)+1)
		if _, err := call(func() C.int {
			return C.apollo_detokenize(ctx, ip, C.size_t(len(ids)),
				(*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n)
		}); err != nil {
			return err
		}
		out = string(buf[:n])
		return nil
	})
	return out, err
}

// TokenToPiece returns the raw bytes of one token.
func (m *Model) TokenToPiece(id int32) ([]byte, error) {
	var out []byte
	err := m.with(func(ctx *C.apollo_ctx) error {
		var n C.size_t
		if _, err := call(func() C.int {
			return C.apollo_token_to_piece(ctx, C.int32_t(id), nil, 0, &n)
		}); err != nil {
			return err
		}
		buf := make([]byte, int(n)+1)
		if _, err := call(func() C.int {
			return C.apollo_token_to_piece(ctx, C.int32_t(id), (*C.char)(unsafe.Pointer(&buf[0])),
				C.size_t(len(buf)), &n)
		}); err != nil {
			return err
		}
		out = buf[:n]
		return nil
	})
	return out, err
}

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------

// SessionOptions for NewSession; nil means the defaults.
type SessionOptions struct {
	// SystemPrompt replaces the reference's default system prompt when
	// HasSystemPrompt is set (an empty prompt is allowed).
	SystemPrompt    string
	HasSystemPrompt bool
}

// Session is one conversation (apollo_session).
type Session struct {
	mu   sync.Mutex   // one call at a time
	hmu  sync.RWMutex // guards ptr for Cancel against Close
	ptr  *C.apollo_session
	core *core
}

func newSession(ptr *C.apollo_session, cr *core) *Session {
	s := &Session{ptr: ptr, core: cr}
	runtime.SetFinalizer(s, (*Session).Close)
	return s
}

// NewSession starts an empty conversation.
func (m *Model) NewSession(opts *SessionOptions) (*Session, error) {
	var p C.apollo_session_params
	C.apollo_session_params_init(&p)
	if opts != nil && opts.HasSystemPrompt {
		sp := C.CString(opts.SystemPrompt)
		defer C.free(unsafe.Pointer(sp))
		p.system_prompt = sp
	}
	var out *C.apollo_session
	err := m.with(func(ctx *C.apollo_ctx) error {
		_, err := call(func() C.int { return C.apollo_session_new(ctx, &p, &out) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return newSession(out, m.core), nil
}

// Close ends the conversation, waiting for a running call.  Safe to call
// more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hmu.Lock()
	ptr := s.ptr
	s.ptr = nil
	s.hmu.Unlock()
	if ptr != nil {
		C.apollo_session_free(ptr)
		runtime.SetFinalizer(s, nil)
	}
	return nil
}

// do runs f with the call lock held, on a locked OS thread, and turns a
// negative status into an error with the session's message.
func (s *Session) do(f func(p *C.apollo_session) C.int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return int(CodeMisuse), newError(CodeMisuse, "the session is closed")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f(s.ptr)
	if rc < 0 {
		msg := C.GoString(C.apollo_session_errmsg(s.ptr))
		if msg == "" {
			msg = C.GoString(C.apollo_last_errmsg())
		}
		return int(rc), newError(int(rc), msg)
	}
	return int(rc), nil
}

// Sampling chooses greedy decoding or sampling.
type Sampling int

// Sampling modes.
const (
	SamplingDefault Sampling = iota // from the model's generation_config
	Greedy
	Sample
)

// TopKOff disables top-k filtering (AskOptions.TopK).
const TopKOff = -1

// AskOptions for Ask.  The zero value of every field means "the model's
// default" (llm/generation_config.json), so nil or &AskOptions{} are the
// defaults.
type AskOptions struct {
	MaxNewTokens      int      // 0: the library default (256)
	Sampling          Sampling // default: from the model
	Temperature       float32  // 0: from the model
	TopP              float32  // 0: from the model
	TopK              int      // 0: from the model; TopKOff: off
	RepetitionPenalty float32  // 0: from the model; 1: off
	Seed              uint64
	Stop              []string // extra stop strings (not included in the answer)
	// OnText receives each chunk of the answer as it is generated (whole
	// UTF-8 characters, not stripped); returning false stops the answer
	// there (finish reason FinishCallback).
	OnText func(chunk string) bool
	// Abort is polled while working; true cancels the call with
	// ErrCancelled (the conversation is left as it was).
	Abort func() bool
}

// Ask adds a user message and generates the answer; it returns the whole
// answer with white space trimmed.  opts may be nil.
func (s *Session) Ask(question string, opts *AskOptions) (string, error) {
	return s.AskContext(context.Background(), question, opts)
}

// AskContext is Ask that stops with ErrCancelled when ctx is done.
func (s *Session) AskContext(ctx context.Context, question string, opts *AskOptions) (string, error) {
	if opts == nil {
		opts = &AskOptions{}
	}
	if strings.IndexByte(question, 0) >= 0 {
		return "", newError(CodeInvalidArg, "the question contains a NUL byte")
	}
	p := (*C.apollo_generate_params)(C.calloc(1, C.size_t(unsafe.Sizeof(C.apollo_generate_params{}))))
	defer C.free(unsafe.Pointer(p))
	C.apollo_generate_params_init(p)
	if opts.MaxNewTokens != 0 {
		p.max_new_tokens = C.int32_t(opts.MaxNewTokens)
	}
	switch opts.Sampling {
	case Greedy:
		p.do_sample = 0
	case Sample:
		p.do_sample = 1
	}
	if opts.Temperature != 0 {
		p.temperature = C.float(opts.Temperature)
	}
	if opts.TopP != 0 {
		p.top_p = C.float(opts.TopP)
	}
	if opts.TopK == TopKOff {
		p.top_k = 0
	} else if opts.TopK != 0 {
		p.top_k = C.int32_t(opts.TopK)
	}
	if opts.RepetitionPenalty != 0 {
		p.repetition_penalty = C.float(opts.RepetitionPenalty)
	}
	p.seed = C.uint64_t(opts.Seed)
	stops, freeStops := cStrings(opts.Stop)
	defer freeStops()
	p.stop_strings = stops
	p.n_stop_strings = C.int32_t(len(opts.Stop))

	st := &callState{onText: opts.OnText, abort: opts.Abort}
	if ctx.Done() != nil {
		user := opts.Abort
		st.abort = func() bool { return ctx.Err() != nil || (user != nil && user()) }
	}
	h := cgo.NewHandle(st)
	defer h.Delete()
	if st.onText != nil {
		setTextCallback(p, h)
	}
	if st.abort != nil {
		setAbortCallback(p, h)
	}
	cq := C.CString(question)
	defer C.free(unsafe.Pointer(cq))
	var ans *C.char
	_, err := s.do(func(ptr *C.apollo_session) C.int {
		return C.apollo_session_ask(ptr, cq, p, &ans)
	})
	text := ""
	if ans != nil {
		text = C.GoString(ans)
		C.apollo_free(unsafe.Pointer(ans))
	}
	if st.panicky {
		panic(st.panicV)
	}
	if err != nil {
		return "", err
	}
	return text, nil
}

// AddExchange appends a finished exchange without generating (prefilled now).
func (s *Session) AddExchange(question, answer string) error {
	cq, ca := C.CString(question), C.CString(answer)
	defer C.free(unsafe.Pointer(cq))
	defer C.free(unsafe.Pointer(ca))
	_, err := s.do(func(p *C.apollo_session) C.int { return C.apollo_session_add_exchange(p, cq, ca) })
	return err
}

// Reset forgets the conversation (the system prompt is kept).
func (s *Session) Reset() error {
	_, err := s.do(func(p *C.apollo_session) C.int { return C.apollo_session_reset(p) })
	return err
}

// Fork copies the conversation (history and KV cache).
func (s *Session) Fork() (*Session, error) {
	var out *C.apollo_session
	if _, err := s.do(func(p *C.apollo_session) C.int { return C.apollo_session_fork(p, &out) }); err != nil {
		return nil, err
	}
	return newSession(out, s.core), nil
}

// Cancel asks the running call (or, if none is running, the next call) to
// stop with ErrCancelled.  Safe from any goroutine.
func (s *Session) Cancel() {
	s.hmu.RLock()
	defer s.hmu.RUnlock()
	if s.ptr != nil {
		C.apollo_session_cancel(s.ptr)
	}
}

// FinishReason says how an answer ended.
type FinishReason int

// Finish reasons.
const (
	FinishNone       FinishReason = C.APOLLO_FINISH_NONE
	FinishEOS        FinishReason = C.APOLLO_FINISH_EOS
	FinishStopString FinishReason = C.APOLLO_FINISH_STOP_STRING
	FinishLength     FinishReason = C.APOLLO_FINISH_LENGTH
	FinishContext    FinishReason = C.APOLLO_FINISH_CONTEXT
	FinishCallback   FinishReason = C.APOLLO_FINISH_CALLBACK
)

func (r FinishReason) String() string {
	switch r {
	case FinishNone:
		return "none"
	case FinishEOS:
		return "eos"
	case FinishStopString:
		return "stop_string"
	case FinishLength:
		return "length"
	case FinishContext:
		return "context"
	case FinishCallback:
		return "callback"
	}
	return fmt.Sprintf("FinishReason(%d)", int(r))
}

// FinishReason of the last answer.
func (s *Session) FinishReason() (FinishReason, error) {
	r, err := s.do(func(p *C.apollo_session) C.int { return C.apollo_session_get_finish_reason(p) })
	return FinishReason(r), err
}

// Tokens returns the conversation's token ids (visual tokens appear as -200).
func (s *Session) Tokens() ([]int32, error) {
	var ids []int32
	_, err := s.do(func(p *C.apollo_session) C.int {
		var n C.size_t
		if rc := C.apollo_session_get_tokens(p, nil, 0, &n); rc < 0 {
			return rc
		}
		ids = make([]int32, int(n)+1)
		rc := C.apollo_session_get_tokens(p, (*C.int32_t)(unsafe.Pointer(&ids[0])), n, &n)
		ids = ids[:n]
		return rc
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

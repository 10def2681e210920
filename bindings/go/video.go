package apollo

/*
#include <apollo.h>
#include <stdlib.h>
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// VideoOptions for opening a Video; zero fields take the library's defaults.
type VideoOptions struct {
	FPS               float64 // frames per second inside a clip (default: the model's, 2)
	MaxClips          int     // at most this many clips
	Threads           int     // decoder threads (default: the model's)
	StartS, EndS      float64 // sample only [StartS, EndS); EndS <= 0: to the end
	ClipSamplingRatio float64 // the loader's budget ratio (default 0.65)
}

func (o *VideoOptions) raw(p *C.apollo_video_params) {
	C.apollo_video_params_init(p)
	if o == nil {
		return
	}
	p.fps = C.double(o.FPS)
	p.max_clips = C.int32_t(o.MaxClips)
	p.n_threads = C.int32_t(o.Threads)
	p.start_s = C.double(o.StartS)
	p.end_s = C.double(o.EndS)
	p.clip_sampling_ratio = C.double(o.ClipSamplingRatio)
	// borrow stays 0: C never keeps Go memory.
}

// Video is a video (or image) prepared for one model (apollo_video): its
// clips chosen as the reference loader does.  One goroutine at a time (calls
// are serialised); it keeps its model alive.
type Video struct {
	mu   sync.Mutex
	ptr  *C.apollo_video
	core *core
}

func newVideo(ptr *C.apollo_video, cr *core) *Video {
	v := &Video{ptr: ptr, core: cr}
	runtime.SetFinalizer(v, (*Video).Close)
	return v
}

// videoFromPath runs one of the path-taking constructors (open, load).
func (m *Model) videoFromPath(path string, opts *VideoOptions,
	open func(*C.apollo_ctx, *C.char, *C.apollo_video_params, **C.apollo_video) C.int) (*Video, error) {
	var p C.apollo_video_params
	opts.raw(&p)
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var out *C.apollo_video
	err := m.with(func(ctx *C.apollo_ctx) error {
		_, err := call(func() C.int { return open(ctx, cpath, &p, &out) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return newVideo(out, m.core), nil
}

// OpenVideo opens a video or image file.
func (m *Model) OpenVideo(path string, opts *VideoOptions) (*Video, error) {
	return m.videoFromPath(path, opts,
		func(ctx *C.apollo_ctx, cpath *C.char, p *C.apollo_video_params, out **C.apollo_video) C.int {
			return C.apollo_video_open_file(ctx, cpath, p, out)
		})
}

// OpenVideoMemory opens a complete video or image file held in memory (copied).
func (m *Model) OpenVideoMemory(data []byte, opts *VideoOptions) (*Video, error) {
	var p C.apollo_video_params
	opts.raw(&p)
	var dp unsafe.Pointer
	if len(data) > 0 {
		dp = unsafe.Pointer(&data[0])
	} else {
		dp = unsafe.Pointer(&p) // any non-NULL pointer; size 0 is refused by the library
	}
	var out *C.apollo_video
	err := m.with(func(ctx *C.apollo_ctx) error {
		_, err := call(func() C.int {
			return C.apollo_video_open_memory(ctx, dp, C.size_t(len(data)), &p, &out)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return newVideo(out, m.core), nil
}

// Frames are decoded RGB24 frames for OpenVideoFrames.
type Frames struct {
	RGB           []byte // NFrames frames of Height rows of RowStride bytes
	NFrames       int    // one frame makes an image
	Width, Height int
	RowStride     int       // 0: 3 * Width
	FPS           float64   // frame rate, when Timestamps is nil
	Timestamps    []float64 // presentation time of each frame, seconds
}

// OpenVideoFrames makes a video of decoded frames (the frames the clips use
// are copied).
func (m *Model) OpenVideoFrames(f *Frames, opts *VideoOptions) (*Video, error) {
	stride := f.RowStride
	if stride == 0 {
		stride = 3 * f.Width
	}
	if f.NFrames > 0 && f.Height > 0 && len(f.RGB) < stride*f.Height*f.NFrames {
		return nil, newError(CodeInvalidArg, "RGB holds fewer bytes than the frames need")
	}
	if f.Timestamps != nil && len(f.Timestamps) < f.NFrames {
		return nil, newError(CodeInvalidArg, "too few timestamps")
	}
	var p C.apollo_video_params
	opts.raw(&p)
	var rgb *C.uint8_t
	if len(f.RGB) > 0 {
		rgb = (*C.uint8_t)(unsafe.Pointer(&f.RGB[0]))
	}
	var ts *C.double
	if len(f.Timestamps) > 0 {
		ts = (*C.double)(unsafe.Pointer(&f.Timestamps[0]))
	}
	var out *C.apollo_video
	err := m.with(func(ctx *C.apollo_ctx) error {
		_, err := call(func() C.int {
			return C.apollo_video_open_frames(ctx, rgb, C.int32_t(f.NFrames), C.int32_t(f.Width),
				C.int32_t(f.Height), C.size_t(f.RowStride), C.double(f.FPS), ts, &p, &out)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return newVideo(out, m.core), nil
}

// Close releases the video.  Safe to call more than once.
func (v *Video) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ptr != nil {
		C.apollo_video_free(v.ptr)
		v.ptr = nil
		runtime.SetFinalizer(v, nil)
	}
	return nil
}

func (v *Video) do(f func(p *C.apollo_video) C.int) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ptr == nil {
		return CodeMisuse, newError(CodeMisuse, "the video is closed")
	}
	return call(func() C.int { return f(v.ptr) })
}

// VideoSource says where a video came from.
type VideoSource int

// Video sources.
const (
	SourceFile   VideoSource = C.APOLLO_VIDEO_SOURCE_FILE
	SourceMemory VideoSource = C.APOLLO_VIDEO_SOURCE_MEMORY
	SourceFrames VideoSource = C.APOLLO_VIDEO_SOURCE_FRAMES
)

// VideoInfo is what is known about an opened video.
type VideoInfo struct {
	Source           VideoSource
	IsImage          bool
	TotalFrames      int64
	FPS              float64
	DurationS        float64
	Width, Height    int
	Rotation         int
	NClips           int
	FramesPerClip    int
	TokensPerClip    int
	ClipDurationS    float64
	BudgetRatio      float64
	SamplingRepaired bool
	Codec            string
	PixFmt           string
	Container        string
}

// Info returns what is known about the video.
func (v *Video) Info() (VideoInfo, error) {
	var i C.apollo_video_info
	C.apollo_video_info_init(&i)
	if _, err := v.do(func(p *C.apollo_video) C.int { return C.apollo_video_get_info(p, &i) }); err != nil {
		return VideoInfo{}, err
	}
	return VideoInfo{
		Source: VideoSource(i.source), IsImage: i.is_image != 0, TotalFrames: int64(i.total_frames),
		FPS: float64(i.fps), DurationS: float64(i.duration_s), Width: int(i.width),
		Height: int(i.height), Rotation: int(i.rotation), NClips: int(i.n_clips),
		FramesPerClip: int(i.frames_per_clip), TokensPerClip: int(i.tokens_per_clip),
		ClipDurationS: float64(i.clip_duration_s), BudgetRatio: float64(i.budget_ratio),
		SamplingRepaired: i.sampling_repaired != 0, Codec: C.GoString(&i.codec[0]),
		PixFmt: C.GoString(&i.pix_fmt[0]), Container: C.GoString(&i.container[0]),
	}, nil
}

// NClips is the number of clips the model will see.
func (v *Video) NClips() (int, error) {
	return v.do(func(p *C.apollo_video) C.int { return C.int(C.apollo_video_n_clips(p)) })
}

// ClipTime returns the seconds of clip i's first and last frame.
func (v *Video) ClipTime(i int) (t0, t1 float64, err error) {
	var a, b C.double
	_, err = v.do(func(p *C.apollo_video) C.int { return C.apollo_video_get_clip_time(p, C.int32_t(i), &a, &b) })
	return float64(a), float64(b), err
}

// ClipFrames returns the frame numbers of clip i.
func (v *Video) ClipFrames(i int) ([]int64, error) {
	var out []int64
	_, err := v.do(func(p *C.apollo_video) C.int {
		n := C.apollo_video_get_clip_frames(p, C.int32_t(i), nil, 0)
		if n < 0 {
			return C.int(n)
		}
		out = make([]int64, int(n)+1)
		n = C.apollo_video_get_clip_frames(p, C.int32_t(i), (*C.int64_t)(unsafe.Pointer(&out[0])), n)
		if n >= 0 {
			out = out[:n]
		}
		return C.int(n)
	})
	return out, err
}

// PromptText is the text block that introduces the video in the prompt,
// with the visual placeholders when placeholders is set.
func (v *Video) PromptText(placeholders bool) (string, error) {
	flags := C.int32_t(0)
	if placeholders {
		flags = C.APOLLO_VIDEO_TEXT_PLACEHOLDERS
	}
	var out string
	_, err := v.do(func(p *C.apollo_video) C.int {
		n := C.apollo_video_get_prompt_text(p, flags, nil, 0)
		if n < 0 {
			return C.int(n)
		}
		buf := make([]byte, int(n)+1)
		m := C.apollo_video_get_prompt_text(p, flags, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
		if m < 0 {
			return C.int(m)
		}
		out = string(buf[:n])
		return 0
	})
	return out, err
}

// EncodeOptions are the callbacks of encoding (Encode, Session.AddVideo).
type EncodeOptions struct {
	Progress func(iClip, nClips int) // after each encoded clip
	Abort    func() bool             // true cancels with ErrCancelled
}

// withEncode runs f with an apollo_encode_params wired to opts; a panic of a
// callback is re-raised after the C call.
func withEncode(opts *EncodeOptions, f func(p *C.apollo_encode_params) (int, error)) (int, error) {
	p := (*C.apollo_encode_params)(C.calloc(1, C.size_t(unsafe.Sizeof(C.apollo_encode_params{}))))
	defer C.free(unsafe.Pointer(p))
	C.apollo_encode_params_init(p)
	st := &callState{}
	if opts != nil {
		st.progress, st.abort = opts.Progress, opts.Abort
	}
	h := cgo.NewHandle(st)
	defer h.Delete()
	setEncodeCallbacks(p, h)
	rc, err := f(p)
	if st.panicky {
		panic(st.panicV)
	}
	return rc, err
}

// Encode runs the vision encoders once (no-op when already encoded).
func (v *Video) Encode(opts *EncodeOptions) error {
	_, err := withEncode(opts, func(p *C.apollo_encode_params) (int, error) {
		return v.do(func(ptr *C.apollo_video) C.int { return C.apollo_video_encode(ptr, p) })
	})
	return err
}

// IsEncoded reports whether the visual tokens are available.
func (v *Video) IsEncoded() (bool, error) {
	r, err := v.do(func(p *C.apollo_video) C.int { return C.apollo_video_is_encoded(p) })
	return r == 1, err
}

// Embeddings returns the visual tokens: clip-major rows of dim floats.
func (v *Video) Embeddings() (data []float32, dim int, err error) {
	_, err = v.do(func(p *C.apollo_video) C.int {
		var n C.size_t
		var d C.int32_t
		if rc := C.apollo_video_get_embeddings(p, nil, 0, &n, &d); rc < 0 {
			return rc
		}
		data = make([]float32, int(n)+1)
		rc := C.apollo_video_get_embeddings(p, (*C.float)(unsafe.Pointer(&data[0])), n, &n, &d)
		data, dim = data[:n], int(d)
		return rc
	})
	return data, dim, err
}

// Save writes the encoded video's tokens to path (atomically).
func (v *Video) Save(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	_, err := v.do(func(p *C.apollo_video) C.int { return C.apollo_video_save(p, cpath) })
	return err
}

// LoadVideo loads a video saved by Video.Save (already encoded); opts must
// be the options it was opened with (ErrConfig otherwise).
func (m *Model) LoadVideo(path string, opts *VideoOptions) (*Video, error) {
	return m.videoFromPath(path, opts,
		func(ctx *C.apollo_ctx, cpath *C.char, p *C.apollo_video_params, out **C.apollo_video) C.int {
			return C.apollo_video_load(ctx, cpath, p, out)
		})
}

// AddVideo shows a video to the model: it opens a user message with the
// video's block; the next Ask (or AddExchange) completes it with its
// question.  Encodes the video first if needed.  Fork the session afterwards
// to ask several questions for the price of one video.
func (s *Session) AddVideo(v *Video, opts *EncodeOptions) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ptr == nil {
		return newError(CodeMisuse, "the video is closed")
	}
	_, err := withEncode(opts, func(p *C.apollo_encode_params) (int, error) {
		return s.do(func(sp *C.apollo_session) C.int { return C.apollo_session_add_video(sp, v.ptr, p) })
	})
	return err
}

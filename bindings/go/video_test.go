package apollo

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func cfrPath() string { return filepath.Join(fixtures(), "videos", "cfr_161x97_2997.mp4") }

func checkCFR(t *testing.T, v *Video) {
	t.Helper()
	clips := [][]int64{{0, 14, 28, 42}, {39, 53, 67, 81}, {78, 92, 106, 120}}
	times := [][2]float64{{0.0, 1.4}, {1.3, 2.7}, {2.6, 4.0}}
	if n, err := v.NClips(); n != 3 || err != nil {
		t.Fatal(n, err)
	}
	info, err := v.Info()
	if err != nil || info.TotalFrames != 135 || info.FPS != 30000.0/1001.0 || info.Width != 161 ||
		info.Height != 97 || info.Codec != "h264" || info.IsImage {
		t.Fatalf("%+v %v", info, err)
	}
	for i, c := range clips {
		f, err := v.ClipFrames(i)
		if err != nil || len(f) != 4 || f[0] != c[0] || f[3] != c[3] {
			t.Fatal(i, f, err)
		}
		t0, t1, err := v.ClipTime(i)
		if err != nil || math.Abs(t0-times[i][0]) > 0.051 || math.Abs(t1-times[i][1]) > 0.051 {
			t.Fatal(i, t0, t1, err)
		}
	}
	if _, err := v.ClipFrames(3); !errors.Is(err, ErrInvalidArg) {
		t.Fatal(err)
	}
}

func TestVideoFile(t *testing.T) {
	m := openModel(t)
	defer m.Close()
	v, err := m.OpenVideo(cfrPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	checkCFR(t, v)
	raw, _ := os.ReadFile(filepath.Join(fixtures(), "reference", "tiny-tied", "video-cfr", "scenario.json"))
	var sc struct {
		PromptText string `json:"prompt_text"`
	}
	_ = json.Unmarshal(raw, &sc)
	block, err := v.PromptText(true)
	if err != nil || !strings.Contains(sc.PromptText, block) {
		t.Fatal(block, err)
	}
	plain, _ := v.PromptText(false)
	if plain != "You are provided the following series of three, 2 second clips from a "+
		"0:00:04.504500 [H:MM:SS] video.\n0.0-1.4 seconds: ,\n1.3-2.7 seconds: ,\n2.6-4.0 seconds: " {
		t.Fatal(plain)
	}
}

func TestVideoMemoryAndLifetime(t *testing.T) {
	m := openModel(t)
	data, _ := os.ReadFile(cfrPath())
	v, err := m.OpenVideoMemory(data, nil)
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	checkCFR(t, v)
	if info, _ := v.Info(); info.Source != SourceMemory {
		t.Fatal(info.Source)
	}
}

func TestVideoFramesAndImage(t *testing.T) {
	m := openModel(t)
	defer m.Close()
	w, h, n := 32, 24, 20
	rgb := make([]byte, w*h*3*n)
	for i := range rgb {
		rgb[i] = byte(i / (w * h * 3) * 10)
	}
	v, err := m.OpenVideoFrames(&Frames{RGB: rgb, NFrames: n, Width: w, Height: h, FPS: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := v.Info(); info.Source != SourceFrames || info.TotalFrames != int64(n) {
		t.Fatalf("%+v", info)
	}
	v.Close()
	img, err := m.OpenVideoFrames(&Frames{RGB: rgb, NFrames: 1, Width: w, Height: h, FPS: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := img.Info(); !info.IsImage {
		t.Fatalf("%+v", info)
	}
	img.Close()
	img.Close()
	if _, err := img.NClips(); !errors.Is(err, ErrMisuse) {
		t.Fatal(err)
	}
}

func TestVideoErrors(t *testing.T) {
	m := openModel(t)
	defer m.Close()
	missing := filepath.Join(t.TempDir(), "missing.mp4")
	_, err := m.OpenVideo(missing, nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNotFound || !strings.Contains(e.Message, missing) {
		t.Fatal(err)
	}
	if _, err := m.OpenVideo(filepath.Join(fixtures(), "video-bad", "text.txt"), nil); !errors.Is(err, ErrVideo) {
		t.Fatal(err)
	}
	if _, err := m.OpenVideoMemory(nil, nil); !errors.Is(err, ErrNoVideo) {
		t.Fatal(err)
	}
	v, err := m.OpenVideo(cfrPath(), &VideoOptions{MaxClips: 2})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := v.NClips(); n != 2 {
		t.Fatal(n)
	}
	v.Close()
}

func TestGoldenVideoSaveLoad(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixtures(), "reference", "tiny-tied", "video-cfr", "scenario.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref scenario
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	user1, p := between(ref.PromptText, "<|im_start|>user\n", "<|im_end|>", 0)
	q1 := user1[strings.LastIndex(user1, "<|video_token|>")+len("<|video_token|>")+2:]
	a1, p := between(ref.PromptText, "<|im_start|>assistant\n", "<|im_end|>", p)
	q2, _ := between(ref.PromptText, "<|im_start|>user\n", "<|im_end|>", p)
	want := concat(ref.PromptIDs, ref.GreedyIDs)

	m := openModel(t)
	defer m.Close()
	converse := func(v *Video, fork bool) int {
		s, err := m.NewSession(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		progress := 0
		if err := s.AddVideo(v, &EncodeOptions{Progress: func(i, n int) { progress++ }}); err != nil {
			t.Fatal(err)
		}
		if fork {
			f, err := s.Fork()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s = f
		}
		if err := s.AddExchange(q1, a1); err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		if _, err := s.Ask(q2, &AskOptions{Sampling: Greedy, RepetitionPenalty: 1, MaxNewTokens: 32,
			OnText: func(c string) bool { text.WriteString(c); return true }}); err != nil {
			t.Fatal(err)
		}
		if toks, _ := s.Tokens(); !equalIDs(toks, want) {
			t.Fatalf("tokens\n got %v\nwant %v", toks, want)
		}
		if text.String() != ref.GreedyText {
			t.Fatalf("streamed %q", text.String())
		}
		return progress
	}
	v, err := m.OpenVideo(cfrPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if n := converse(v, false); n != 3 {
		t.Fatal("progress calls", n)
	}
	emb, dim, err := v.Embeddings()
	if err != nil || dim <= 0 || len(emb)%dim != 0 {
		t.Fatal(len(emb), dim, err)
	}
	saved := filepath.Join(t.TempDir(), "cfr.apemb")
	if err := v.Save(saved); err != nil {
		t.Fatal(err)
	}
	loaded, err := m.LoadVideo(saved, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	if n := converse(loaded, true); n != 0 {
		t.Fatal("re-encoded a loaded video")
	}
	if _, err := m.LoadVideo(saved, &VideoOptions{MaxClips: 2}); !errors.Is(err, ErrConfig) {
		t.Fatal(err)
	}
}

func TestAddVideoAbort(t *testing.T) {
	m := openModel(t)
	defer m.Close()
	v, _ := m.OpenVideo(cfrPath(), nil)
	defer v.Close()
	s, _ := m.NewSession(nil)
	defer s.Close()
	if err := s.AddVideo(v, &EncodeOptions{Abort: func() bool { return true }}); !errors.Is(err, ErrCancelled) {
		t.Fatal(err)
	}
	if enc, _ := v.IsEncoded(); enc {
		t.Fatal("encoded after abort")
	}
}

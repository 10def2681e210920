package apollo

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	if err := CheckVersion(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(Version(), "0.1.") {
		t.Fatal(Version())
	}
}

func TestOpenMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no-such-model")
	_, err := Open(dir, nil)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNotFound || !strings.Contains(e.Message, dir) {
		t.Fatalf("error %#v lacks the library's message", err)
	}
}

func TestInfoAndTokens(t *testing.T) {
	m := openModel(t)
	defer m.Close()
	info, err := m.Info()
	if err != nil || info.LLMLayers <= 0 || !info.LLMTiedEmbeddings || len(info.VisionTowers) == 0 {
		t.Fatalf("%+v %v", info, err)
	}
	if n, _ := m.NTokens(); n != 151665 {
		t.Fatal(n)
	}
	ids, err := m.Tokenize("Hello world")
	if err != nil || !equalIDs(ids, []int32{9707, 1879}) {
		t.Fatal(ids, err)
	}
	if s, err := m.Detokenize(ids); err != nil || s != "Hello world" {
		t.Fatal(s, err)
	}
	if p, err := m.TokenToPiece(1879); err != nil || string(p) != " world" {
		t.Fatal(p, err)
	}
	if ids, err := m.Tokenize(""); err != nil || len(ids) != 0 {
		t.Fatal(ids, err)
	}
	if _, err := m.Detokenize([]int32{1 << 30}); !errors.Is(err, ErrInvalidArg) {
		t.Fatal(err)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	m := openModel(t)
	s, _ := m.NewSession(nil)
	m.Close()
	m.Close()
	if _, err := m.Tokenize("x"); !errors.Is(err, ErrMisuse) {
		t.Fatal(err)
	}
	if _, err := s.Ask("Hi", &AskOptions{MaxNewTokens: 2}); err != nil {
		t.Fatal(err) // the session kept the model alive
	}
	s.Close()
	s.Close()
	if _, err := s.Ask("Hi", nil); !errors.Is(err, ErrMisuse) {
		t.Fatal(err)
	}
}

func TestFinalizers(t *testing.T) {
	for i := 0; i < 3; i++ {
		m := openModel(t)
		s, _ := m.NewSession(nil)
		_, _ = s.Ask("Hi", &AskOptions{MaxNewTokens: 1})
	}
	runtime.GC()
	runtime.GC()
}

func TestStreamingStop(t *testing.T) {
	sc := loadScenario(t)
	m := openModel(t)
	defer m.Close()
	s, _ := m.NewSession(nil)
	defer s.Close()
	n := 0
	_, err := s.Ask(sc.Q2, &AskOptions{Sampling: Greedy, MaxNewTokens: 32,
		OnText: func(string) bool { n++; return n < 3 }})
	if err != nil || n != 3 {
		t.Fatal(n, err)
	}
	if r, _ := s.FinishReason(); r != FinishCallback {
		t.Fatal(r)
	}
}

func TestPanicInCallback(t *testing.T) {
	m := openModel(t)
	defer m.Close()
	s, _ := m.NewSession(nil)
	defer s.Close()
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v", r)
			}
		}()
		_, _ = s.Ask("Hi", &AskOptions{MaxNewTokens: 4, OnText: func(string) bool { panic("boom") }})
	}()
	if _, err := s.Ask("Hi", &AskOptions{MaxNewTokens: 2}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionErrors(t *testing.T) {
	m := openModel(t)
	defer m.Close()
	s, _ := m.NewSession(nil)
	defer s.Close()
	_, err := s.Ask(strings.Repeat("x", 200000), nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeContextFull || !strings.Contains(e.Message, "context length") {
		t.Fatal(err)
	}
	if _, err := s.Ask("x", &AskOptions{TopP: 1.5}); !errors.Is(err, ErrInvalidArg) {
		t.Fatal(err)
	}
	if _, err := s.Ask("nul\x00", nil); !errors.Is(err, ErrInvalidArg) {
		t.Fatal(err)
	}
	if _, err := s.Ask("Stop", &AskOptions{Abort: func() bool { return true }}); !errors.Is(err, ErrCancelled) {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.AskContext(ctx, "Stop", nil); !errors.Is(err, ErrCancelled) {
		t.Fatal(err)
	}
	if toks, _ := s.Tokens(); len(toks) != 0 {
		t.Fatal(toks)
	}
}

func TestStopStrings(t *testing.T) {
	sc := loadScenario(t)
	m := openModel(t)
	defer m.Close()
	s, _ := m.NewSession(nil)
	defer s.Close()
	if err := s.AddExchange(sc.Q1, sc.A1); err != nil {
		t.Fatal(err)
	}
	const stop = "キャ"
	var out strings.Builder
	_, err := s.Ask(sc.Q2, &AskOptions{Sampling: Greedy, RepetitionPenalty: 1, MaxNewTokens: 32,
		Stop: []string{stop}, OnText: func(c string) bool { out.WriteString(c); return true }})
	if err != nil {
		t.Fatal(err)
	}
	if cut := strings.Index(sc.GreedyText, stop); cut >= 0 {
		if r, _ := s.FinishReason(); r != FinishStopString || out.String() != sc.GreedyText[:cut] {
			t.Fatalf("%v %q", r, out.String())
		}
	}
}

func TestCancelFromAnotherGoroutine(t *testing.T) {
	sc := loadScenario(t)
	m := openModel(t)
	defer m.Close()
	s, _ := m.NewSession(nil)
	defer s.Close()
	if err := s.AddExchange(sc.Q1, sc.A1); err != nil {
		t.Fatal(err)
	}
	n0, _ := s.Tokens()
	seen, cancelled := make(chan struct{}), make(chan struct{})
	go func() {
		<-seen
		s.Cancel()
		close(cancelled)
	}()
	first := true
	_, err := s.Ask(sc.Q2, &AskOptions{Sampling: Greedy, RepetitionPenalty: 1, MaxNewTokens: 100000,
		OnText: func(string) bool {
			if first {
				first = false
				close(seen)
				select { // the cancel lands while this call is running
				case <-cancelled:
				case <-time.After(30 * time.Second):
				}
			}
			return true
		}})
	if !errors.Is(err, ErrCancelled) {
		t.Fatal(err)
	}
	if n1, _ := s.Tokens(); len(n1) != len(n0) {
		t.Fatal(len(n1), len(n0))
	}
	if _, err := s.Ask("Another question.", &AskOptions{MaxNewTokens: 4, Seed: 7}); err != nil {
		t.Fatal(err)
	}
}

func TestResetForkSeed(t *testing.T) {
	m := openModel(t)
	defer m.Close()
	s, err := m.NewSession(&SessionOptions{SystemPrompt: "You are terse.", HasSystemPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opts := &AskOptions{MaxNewTokens: 8, Seed: 1234}
	a, err := s.Ask("Hello!", opts)
	if err != nil {
		t.Fatal(err)
	}
	toks, _ := s.Tokens()
	f, err := s.Fork()
	if err != nil {
		t.Fatal(err)
	}
	ft, _ := f.Tokens()
	if !equalIDs(ft, toks) {
		t.Fatal("fork differs")
	}
	_, _ = f.Ask("More?", &AskOptions{MaxNewTokens: 2})
	f.Close()
	if t2, _ := s.Tokens(); !equalIDs(t2, toks) {
		t.Fatal("fork changed its source")
	}
	_ = s.Reset()
	if t3, _ := s.Tokens(); len(t3) != 0 {
		t.Fatal(t3)
	}
	if b, _ := s.Ask("Hello!", opts); b != a {
		t.Fatalf("%q != %q", b, a)
	}
}

func TestModelSharedByGoroutines(t *testing.T) {
	sc := loadScenario(t)
	m := openModel(t)
	defer m.Close()
	want := concat(sc.PromptIDs, sc.GreedyIDs[:8])
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession(nil)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			_ = s.AddExchange(sc.Q1, sc.A1)
			_, err = s.Ask(sc.Q2, &AskOptions{Sampling: Greedy, RepetitionPenalty: 1, MaxNewTokens: 8})
			toks, _ := s.Tokens()
			if err == nil && !equalIDs(toks, want) {
				err = errors.New("tokens differ")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestLogCallback(t *testing.T) {
	var n int64
	m, err := Open(modelDir(), &ModelOptions{Threads: 1, LogLevel: LogDebug,
		Log: func(LogLevel, string) { atomic.AddInt64(&n, 1) }})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewSession(nil)
	m.Close()
	if _, err := s.Ask("Hi", &AskOptions{MaxNewTokens: 2}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if atomic.LoadInt64(&n) == 0 {
		t.Fatal("no log lines")
	}
}

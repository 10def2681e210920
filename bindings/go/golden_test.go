package apollo

import (
	"strings"
	"testing"
)

// The golden scenario shared by the C, Python, Rust and Go suites.
func golden(t *testing.T, penalty float32, expectIDs []int32, expectText string) {
	sc := loadScenario(t)
	m := openModel(t)
	s, err := m.NewSession(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m.Close() // the session keeps the model alive
	if err := s.AddExchange(sc.Q1, sc.A1); err != nil {
		t.Fatal(err)
	}
	var streamed strings.Builder
	answer, err := s.Ask(sc.Q2, &AskOptions{
		Sampling: Greedy, MaxNewTokens: 32, RepetitionPenalty: penalty,
		OnText: func(chunk string) bool { streamed.WriteString(chunk); return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := s.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	if want := concat(sc.PromptIDs, expectIDs); !equalIDs(toks, want) {
		t.Fatalf("tokens\n got %v\nwant %v", toks, want)
	}
	if r, _ := s.FinishReason(); r != FinishLength {
		t.Errorf("finish reason %v", r)
	}
	if streamed.String() != expectText {
		t.Errorf("streamed %q, want %q", streamed.String(), expectText)
	}
	if answer != strings.TrimSpace(streamed.String()) {
		t.Errorf("answer %q vs streamed %q", answer, streamed.String())
	}
}

func TestGoldenGreedy(t *testing.T) {
	sc := loadScenario(t)
	golden(t, 1.0, sc.GreedyIDs, sc.GreedyText)
}

func TestGoldenGreedyModelRepetitionPenalty(t *testing.T) {
	sc := loadScenario(t)
	golden(t, 0 /* the model's generation_config */, sc.GreedyRPIDs, sc.GreedyRPText)
}

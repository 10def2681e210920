package apollo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixtures() string {
	if d := os.Getenv("APOLLO_FIXTURES"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "tests", "fixtures")
}

func modelDir() string { return filepath.Join(fixtures(), "models", "tiny-tied") }

type scenario struct {
	PromptText   string  `json:"prompt_text"`
	PromptIDs    []int32 `json:"prompt_ids"`
	GreedyIDs    []int32 `json:"greedy_ids"`
	GreedyText   string  `json:"greedy_text"`
	GreedyRPIDs  []int32 `json:"greedy_rp_ids"`
	GreedyRPText string  `json:"greedy_rp_text"`
	Q1, A1, Q2   string  `json:"-"`
}

func between(s, start, end string, pos int) (string, int) {
	a := strings.Index(s[pos:], start)
	if a < 0 {
		panic("turn start not found")
	}
	a += pos + len(start)
	b := strings.Index(s[a:], end)
	if b < 0 {
		panic("turn end not found")
	}
	return s[a : a+b], a + b + len(end)
}

// loadScenario reads the transformers reference and takes q1, a1, q2 back
// out of its ChatML prompt.
func loadScenario(t *testing.T) *scenario {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtures(), "reference", "tiny-tied", "text", "scenario.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sc scenario
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	var p int
	sc.Q1, p = between(sc.PromptText, "<|im_start|>user\n", "<|im_end|>", 0)
	sc.A1, p = between(sc.PromptText, "<|im_start|>assistant\n", "<|im_end|>", p)
	sc.Q2, _ = between(sc.PromptText, "<|im_start|>user\n", "<|im_end|>", p)
	return &sc
}

func openModel(t *testing.T) *Model {
	t.Helper()
	m, err := Open(modelDir(), &ModelOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func concat(a, b []int32) []int32 {
	out := append([]int32{}, a...)
	return append(out, b...)
}

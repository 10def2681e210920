// Command ask asks a model a question and streams the answer.
//
//	go run . MODEL_DIR [QUESTION] [VIDEO]
package main

import (
	"fmt"
	"os"

	apollo "libapollo/bindings/go"
)

func run(args []string) error {
	model, err := apollo.Open(args[0], nil)
	if err != nil {
		return err
	}
	defer model.Close()
	question := "What is the capital of France?"
	if len(args) > 1 {
		question = args[1]
	}
	chat, err := model.NewSession(nil)
	if err != nil {
		return err
	}
	defer chat.Close()
	if len(args) > 2 {
		video, err := model.OpenVideo(args[2], nil)
		if err != nil {
			return err
		}
		defer video.Close()
		n, _ := video.NClips()
		fmt.Fprintf(os.Stderr, "%s: %d clips\n", args[2], n)
		for i := 0; i < n; i++ {
			t0, t1, _ := video.ClipTime(i)
			fmt.Fprintf(os.Stderr, "  clip %d: %.1f-%.1f s\n", i, t0, t1)
		}
		if err := chat.AddVideo(video, nil); err != nil { // encodes it
			return err
		}
	}
	_, err = chat.Ask(question, &apollo.AskOptions{
		MaxNewTokens: 32,
		OnText:       func(chunk string) bool { fmt.Print(chunk); return true },
	})
	fmt.Println()
	if err != nil {
		return err
	}
	reason, _ := chat.FinishReason()
	fmt.Fprintf(os.Stderr, "[finish: %v]\n", reason)
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s MODEL_DIR [QUESTION] [VIDEO]\n", os.Args[0])
		os.Exit(2)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

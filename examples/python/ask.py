#!/usr/bin/env python3
"""Ask a model a question (optionally about a video) and stream the answer.

    python3 ask.py MODEL_DIR [QUESTION] [VIDEO] [--max-new-tokens N]

Needs the `apollo` package (pip install bindings/python, or
PYTHONPATH=bindings/python/src) and libapollo (APOLLO_LIBRARY=/path/to/lib).
"""
import argparse
import sys

import apollo


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("question", nargs="?", default="What is the capital of France?")
    ap.add_argument("video", nargs="?", help="a video or image file to ask about")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    args = ap.parse_args()
    try:
        with apollo.Model(args.model) as model, model.session() as chat:
            if args.video:
                with model.video(args.video) as video:
                    print(f"{args.video}: {video.n_clips} clips", file=sys.stderr)
                    for i in range(video.n_clips):
                        t0, t1 = video.clip_time(i)
                        print(f"  clip {i}: {t0:.1f}-{t1:.1f} s", file=sys.stderr)
                    chat.add_video(video, progress=lambda i, n: print(
                        f"  encoded clip {i + 1}/{n}", file=sys.stderr))
            for chunk in chat.ask(args.question, stream=True,
                                  max_new_tokens=args.max_new_tokens):
                print(chunk, end="", flush=True)
            print(f"\n[finish: {chat.finish_reason}]", file=sys.stderr)
    except apollo.ApolloError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

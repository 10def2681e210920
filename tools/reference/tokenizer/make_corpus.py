#!/usr/bin/env python3
"""Build the tokenizer reference corpus tests/fixtures/tokenizer/corpus.jsonl.

Every line is one JSON object:
    {"cat": CATEGORY, "text": TEXT, "ids": [...], "decoded": DECODED}
where ids = Hugging Face `tokenizers` Tokenizer.from_file(tokenizer.json)
.encode(text, add_special_tokens=False).ids and decoded = .decode(ids,
skip_special_tokens=False).  Texts are valid UTF-8 (Python str without
surrogates); they are generated here from hand-written samples and seeded
random combinations (no downloads), so the output is deterministic for a
given Python and package version (requirements.txt).

Every line is also encoded with transformers' slow, pure-Python
Qwen2Tokenizer (what the Apollo reference loads, use_fast=False) and every
disagreement is printed and written to --report.

Usage:
    python make_corpus.py --tokenizer-dir tests/fixtures/tokenizer/qwen2.5 \
        --out tests/fixtures/tokenizer/corpus.jsonl \
        --report tools/reference/tokenizer/slow_vs_fast.txt
"""

import argparse
import json
import random
import sys
import unicodedata

from corpus_samples import (
    ENGLISH_WORDS, PROSE, CODE, MULTILINGUAL, WORDS_BY_LANG, EDGE_CASES,
    NFC_NEWER_MARKS, REGEX_NEWER_CHARS,
)

SEED = 20241213

ADDED = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
    "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>",
    "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>",
]
NOT_ADDED = [
    "<think>", "</think>", "<tool_response>", "</tool_response>",  # Qwen3 only
    "<|im_st", "<|im_start", "im_start|>", "<|im_end", "<|IM_START|>",
    "< |im_start|>", "<||>", "<|>", "<|", "|>", "<|endoftext", "endoftext|>",
    "<|image_token|>", "<|video_token|>", "<image>", "<tool_call", "tool_call>",
    "<|im_start|\u200b>", "<\uff5cim_start\uff5c>",
]

WS_CHARS = [" ", " ", " ", "\t", "\n", "\n", "\r", "\r\n", "\x0b", "\x0c",
            "\x85", "\xa0", "\u1680", "\u2000", "\u2003", "\u2009", "\u200a",
            "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
            # not White_Space, but space-like or isspace() in Python:
            "\x1c", "\x1d", "\x1e", "\x1f", "\u200b", "\u180e", "\ufeff", "\u2060"]

DIGIT_SETS = [
    "0123456789",
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",  # Arabic-Indic
    "\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9",  # Persian
    "\u0966\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e\u096f",  # Devanagari
    "\u0e50\u0e51\u0e52\u0e53\u0e54\u0e55\u0e56\u0e57\u0e58\u0e59",  # Thai
    "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19",  # fullwidth
    "\u00b2\u00b3\u00b9\u00bc\u00bd\u00be\u2070\u2074\u2075\u2080\u2081\u2460\u2461\u2473",
    "\u2160\u2161\u2162\u2163\u216b\u3007\u3021\u3029",  # Nl
    "\U0001d7ce\U0001d7cf\U0001d7d0\U0001d7ec\U0001d7f6\U0001f100\U0001f101",
]

EMOJI_BASE = ["\U0001f600", "\U0001f602", "\U0001f923", "\u2764\ufe0f", "\U0001f44d",
              "\U0001f525", "\U0001f389", "\U0001f680", "\U0001f914", "\u2728",
              "\U0001f44b", "\U0001f64f", "\U0001f4a9", "\u263a\ufe0f", "\U0001f9e0",
              "\U0001f408", "\U0001f431", "\u2615", "\U0001f355", "\U0001f30d"]
EMOJI_PEOPLE = ["\U0001f468", "\U0001f469", "\U0001f467", "\U0001f466", "\U0001f9d1",
                "\U0001f476", "\U0001f475", "\U0001f474"]
SKIN = ["", "\U0001f3fb", "\U0001f3fc", "\U0001f3fd", "\U0001f3fe", "\U0001f3ff"]
ZWJ = "\u200d"
ZWJ_TAILS = ["\U0001f4bb", "\U0001f52c", "\U0001f680", "\U0001f373", "\U0001f3a8",
             "\u2695\ufe0f", "\u2696\ufe0f", "\u2708\ufe0f", "\U0001f692", "\U0001f9af"]
FLAGS = ["US", "GB", "FR", "DE", "JP", "CN", "KR", "IN", "BR", "EG", "TH", "RU", "UA",
         "ZA", "MX", "CA", "SE", "NO", "XK", "EU", "UN", "ZZ"]
KEYCAPS = ["#", "*", "0", "1", "2", "9"]


def flag(cc):
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in cc)


def tag_flag(sub):  # e.g. gbeng, gbsct
    return "\U0001f3f4" + "".join(chr(0xE0000 + ord(c)) for c in sub) + "\U000e007f"


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.assigned = [cp for cp in range(0x20, 0x323B0)
                         if not (0xD800 <= cp < 0xE000)
                         and unicodedata.category(chr(cp)) != "Cn"]

    # -- small helpers ---------------------------------------------------
    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def ws(self, lo=1, hi=6):
        return "".join(self.pick(WS_CHARS) for _ in range(self.r.randint(lo, hi)))

    def word(self):
        w = self.pick(ENGLISH_WORDS)
        k = self.r.random()
        if k < 0.1:
            w = w.upper()
        elif k < 0.25:
            w = w.capitalize()
        return w

    def sentence(self, n=None):
        n = n or self.r.randint(3, 18)
        out = []
        for i in range(n):
            w = self.word()
            if i == 0:
                w = w.capitalize()
            k = self.r.random()
            if k < 0.06:
                w += self.pick(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL",
                                "'Re", "n't", "N'T", "’s", "’ll"])
            elif k < 0.12:
                w += self.pick([",", ";", ":", " -", " --", "...", "!?"])
            elif k < 0.14:
                w = self.pick(["(", "\"", "'", "[", "«", "“"]) + w + self.pick([")", "\"", "'", "]", "»", "”"])
            elif k < 0.16:
                w = str(self.r.randint(0, 10 ** self.r.randint(1, 7)))
            out.append(w)
        return " ".join(out) + self.pick([".", ".", ".", "!", "?", "", ":", "…"])

    # -- categories ------------------------------------------------------
    def prose(self):
        k = self.r.random()
        if k < 0.3:
            return self.sentence()
        if k < 0.6:
            return " ".join(self.sentence() for _ in range(self.r.randint(2, 6)))
        if k < 0.8:
            return "\n\n".join(" ".join(self.sentence() for _ in range(self.r.randint(1, 4)))
                               for _ in range(self.r.randint(2, 4)))
        base = self.pick(PROSE)
        a = self.r.randrange(len(base))
        b = min(len(base), a + self.r.randint(1, 400))
        return base[a:b]

    def code(self):
        base = self.pick(CODE)
        k = self.r.random()
        if k < 0.4:
            return base
        if k < 0.7:
            a = self.r.randrange(len(base))
            return base[a:a + self.r.randint(1, 300)]
        if k < 0.85:  # re-indent with tabs or 2/8 spaces
            ind = self.pick(["\t", "  ", "        ", "   "])
            return "\n".join(ind * (len(l) - len(l.lstrip(" ")) // 4) + l.lstrip(" ")
                             for l in base.split("\n"))
        return base.replace("\n", self.pick(["\r\n", "\r", "\n\n", " \n", "\t\n"]))

    def multilingual(self):
        lang = self.pick(sorted(WORDS_BY_LANG))
        words = WORDS_BY_LANG[lang]
        k = self.r.random()
        samples = MULTILINGUAL.get(lang) or [" ".join(words)]
        if k < 0.35:
            return self.pick(samples)
        if k < 0.7:
            sep = "" if lang in ("zh", "ja", "th") and self.r.random() < 0.7 else " "
            s = sep.join(self.pick(words) for _ in range(self.r.randint(1, 20)))
            if self.r.random() < 0.5:
                s += self.pick(["。", "、", "！", "？", ".", "!", "؟", "।", "…", "\n", " ", ","])
            return s
        if k < 0.85:  # mixed with English and digits
            parts = []
            for _ in range(self.r.randint(2, 8)):
                c = self.r.random()
                if c < 0.4:
                    parts.append(self.pick(words))
                elif c < 0.7:
                    parts.append(self.word())
                elif c < 0.85:
                    parts.append(str(self.r.randint(0, 99999)))
                else:
                    parts.append(self.pick(EMOJI_BASE))
            return self.pick([" ", "", "\n", ", "]).join(parts)
        # two languages
        lang2 = self.pick(sorted(MULTILINGUAL))
        return self.pick(samples) + self.pick([" ", "\n", ""]) + self.pick(MULTILINGUAL[lang2])

    def emoji_one(self):
        k = self.r.random()
        if k < 0.2:
            return self.pick(EMOJI_BASE)
        if k < 0.35:
            return self.pick(EMOJI_PEOPLE) + self.pick(SKIN)
        if k < 0.55:
            return self.pick(EMOJI_PEOPLE) + self.pick(SKIN) + ZWJ + self.pick(ZWJ_TAILS)
        if k < 0.7:  # families
            n = self.r.randint(2, 4)
            return ZWJ.join(self.pick(EMOJI_PEOPLE) for _ in range(n))
        if k < 0.82:
            return flag(self.pick(FLAGS))
        if k < 0.88:
            return self.pick(KEYCAPS) + "\ufe0f\u20e3"
        if k < 0.93:
            return tag_flag(self.pick(["gbeng", "gbsct", "gbwls"]))
        if k < 0.97:
            return self.pick(["\u2764\ufe0f\u200d\U0001f525", "\U0001f3f3\ufe0f\u200d\U0001f308",
                              "\U0001f441\ufe0f\u200d\U0001f5e8\ufe0f", "\U0001f9d1\u200d\U0001f91d\u200d\U0001f9d1",
                              "\U0001f62e\u200d\U0001f4a8", "\U0001f43b\u200d\u2744\ufe0f"])
        return self.pick(["\u200d", "\ufe0f", "\U0001f3fd", "\U0001f1fa", "\u20e3"])  # stray parts

    def emoji(self):
        parts = []
        for _ in range(self.r.randint(1, 10)):
            c = self.r.random()
            if c < 0.6:
                parts.append(self.emoji_one())
            elif c < 0.8:
                parts.append(self.word())
            else:
                parts.append(self.pick(["", " ", "  ", "\n", "!", ".", "..."]))
        return self.pick(["", " "]).join(parts)

    def number(self):
        k = self.r.random()
        if k < 0.35:
            n = self.r.randint(1, 80)
            s = "".join(self.pick("0123456789") for _ in range(n))
        elif k < 0.5:
            s = "{:,}".format(self.r.randint(0, 10 ** self.r.randint(1, 15)))
        elif k < 0.6:
            s = "%.*f" % (self.r.randint(0, 12), self.r.uniform(-1e6, 1e6))
        elif k < 0.68:
            s = "%e" % self.r.uniform(-1e30, 1e30)
        elif k < 0.8:
            ds = self.pick(DIGIT_SETS)
            s = "".join(self.pick(ds) for _ in range(self.r.randint(1, 20)))
        elif k < 0.9:
            s = self.pick(["v", "V", "x", "#", "$", "€", "¥", "-", "+", "0x", "1e", "№"]) + \
                str(self.r.randint(0, 10 ** self.r.randint(1, 12)))
        else:
            s = "%d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
                self.r.randint(1900, 2100), self.r.randint(1, 12), self.r.randint(1, 28),
                self.r.randint(0, 23), self.r.randint(0, 59), self.r.randint(0, 59),
                self.r.randint(0, 999))
        if self.r.random() < 0.4:
            s = self.word() + self.pick([" ", "", ": ", "=", "\n"]) + s
        if self.r.random() < 0.3:
            s += self.pick([" ", "%", " km", "th", "px", "\n", "."])
        return s

    def whitespace(self):
        k = self.r.random()
        if k < 0.2:
            return self.ws(1, 30)
        parts = []
        for _ in range(self.r.randint(1, 8)):
            c = self.r.random()
            if c < 0.45:
                parts.append(self.ws(1, 8))
            elif c < 0.75:
                parts.append(self.word())
            elif c < 0.85:
                parts.append(self.pick([".", "!", "#", "//", "{", "}", "(", ")", "-", "'", "\"", "*"]))
            elif c < 0.93:
                parts.append(str(self.r.randint(0, 999)))
            else:
                parts.append(self.pick(["你好", "مرحبا", "Привет", "😀", "é"]))
        s = "".join(parts)
        if k < 0.5:
            s += self.ws(1, 5)
        return s

    def normalization(self):
        k = self.r.random()
        text = self.pick(["café résumé naïve façade jalapeño Ångström Zoë coöperate",
                          "Ελληνικά ά έ ή ί ό ύ ώ ΐ ΰ", "Tiếng Việt có dấu: Nguyễn Thị Ánh, được, những",
                          "Français: à â ç é è ê ë î ï ô ù û ü ÿ œ æ", "Čeština: ěščřžýáíéůú Ďď Ťť Ňň",
                          "Polski: ąćęłńóśźż", "Română: ăâîșț ş ţ", "Deutsch: Äpfel Übermaß Öl",
                          "한국어 문장입니다 가나다라마바사", "がぎぐげご ぱぴぷぺぽ ガギグゲゴ パピプペポ ヴ",
                          "Ǆ ǅ ǆ Ǳ ǲ ǳ ǅungla", "İstanbul ıi İI", "x̃ ñ ẽ ỹ q̇ ṁ"])
        if k < 0.35:
            return unicodedata.normalize("NFD", text)
        if k < 0.45:
            return unicodedata.normalize(self.pick(["NFC", "NFKC", "NFKD"]), text)
        if k < 0.65:  # random base + random marks in random order
            marks = [0x300, 0x301, 0x302, 0x303, 0x308, 0x30a, 0x327, 0x328, 0x323, 0x331,
                     0x334, 0x338, 0x345, 0x35c, 0x361, 0x5b4, 0x64b, 0x93c, 0x94d, 0x3099, 0x309a,
                     0x20d7, 0x1dc0, 0xfe20]
            out = []
            for _ in range(self.r.randint(1, 8)):
                out.append(self.pick("aeiouAEIOUnNcCsSzZyY ωαΑиИ가あかカ1.-" + "\u0627\u0915"))
                for _ in range(self.r.randint(0, 4)):
                    out.append(chr(self.pick(marks)))
            return "".join(out)
        if k < 0.75:  # Hangul jamo sequences (NFC composes them)
            s = []
            for _ in range(self.r.randint(1, 10)):
                s.append(chr(0x1100 + self.r.randrange(19)))
                s.append(chr(0x1161 + self.r.randrange(21)))
                if self.r.random() < 0.5:
                    s.append(chr(0x11A8 + self.r.randrange(27)))
                if self.r.random() < 0.2:
                    s.append(self.pick([" ", "\u3000", "."]))
            return "".join(s)
        if k < 0.85:  # singletons and compatibility characters
            return "".join(self.pick(["\u212b", "\u2126", "\u212a", "\u0340", "\u0341", "\u0343",
                                      "\u0374", "\u037e", "\u0387", "\u1f71", "\u2000", "\u2001",
                                      "\uf900", "\uf91d", "\ufa10", "\U0002f800", "\U0002fa1d",
                                      "\ufb01", "\ufb02", "\u2460", "\uff21", "\u00bd", "\u2075",
                                      "\u3300", "\u00b5", "\u1e9b\u0323", "\u0958", "\u09dc",
                                      "\u0f43", "\ufb1d", "\u2adc", " ", "a", "\u00c5"])
                           for _ in range(self.r.randint(1, 12)))
        # NFD of a random multilingual sample
        return unicodedata.normalize("NFD", self.multilingual())

    def contraction(self):
        c = "".join(self.pick([ch.lower(), ch.upper()]) for ch in self.pick(
            ["s", "t", "re", "ve", "m", "ll", "d", "n't", "em", "cause", "tis", "sss", "lll"]))
        ap = self.pick(["'", "'", "'", "’", "‘", "`", "''", "ʼ"])
        if self.r.random() < 0.1:
            c = self.pick(["ſ", "ſt", "K", "ß", "ǈ", "Ｓ"])  # case-folding corner cases
        w = self.pick(["", self.word(), "I", "you", "WE", "it", "don", "1", " ", "\n", "'", "x"])
        tail = self.pick(["", "", " ", "s", "a", "x", "'", "\n", ".", "ing", "0", "é"])
        s = w + ap + c + tail
        if self.r.random() < 0.4:
            s = self.sentence(4) + " " + s + " " + self.sentence(3)
        return s

    def special(self):
        parts = []
        for _ in range(self.r.randint(1, 8)):
            c = self.r.random()
            if c < 0.35:
                parts.append(self.pick(ADDED))
            elif c < 0.5:
                parts.append(self.pick(NOT_ADDED))
            elif c < 0.75:
                parts.append(self.pick([self.word(), self.sentence(3), "user", "assistant", "system",
                                        "\n", " ", "  ", "你好", "é", "\u0301", "x"]))
            else:
                parts.append(self.ws(1, 3))
        s = "".join(parts)
        if self.r.random() < 0.1:
            s = unicodedata.normalize("NFD", s + " café")
        return s

    def chat(self):
        turns = []
        for i in range(self.r.randint(1, 4)):
            role = self.pick(["user", "assistant"]) if i else "system"
            turns.append("<|im_start|>" + role + "\n" + self.prose() + "<|im_end|>\n")
        s = "".join(turns)
        if self.r.random() < 0.7:
            s += "<|im_start|>assistant\n"
        return s

    def long_word(self):
        k = self.r.random()
        n = self.r.randint(100, 2500)
        if k < 0.2:
            return self.pick("abcxyzAQ") * n
        if k < 0.45:
            return "".join(self.pick("abcdefghijklmnopqrstuvwxyz") for _ in range(n))
        if k < 0.55:
            return "".join(self.pick("0123456789") for _ in range(n // 4))
        if k < 0.65:
            return self.pick(["-", "=", "*", "_", ".", "#", "~", " ", "\n", "!"]) * n
        if k < 0.75:
            return "".join(self.pick(WORDS_BY_LANG["zh"]) for _ in range(n // 6))
        if k < 0.85:
            w = self.pick(["Pneumonoultramicroscopicsilicovolcanoconiosis", "Supercalifragilisticexpialidocious",
                           "Donaudampfschifffahrtsgesellschaftskapitän", "hello", "ab"])
            return w * (n // len(w) + 1)
        return "".join(self.pick("абвгдежзийклмнопрстуфхцчшщъыьэюя") for _ in range(n // 2))

    def unicode_soup(self):
        out = []
        for _ in range(self.r.randint(1, 30)):
            c = self.r.random()
            if c < 0.55:
                out.append(chr(self.pick(self.assigned)))
            elif c < 0.65:
                out.append(chr(self.r.randrange(0, 0x20)))
            elif c < 0.7:
                out.append(chr(self.r.randrange(0x7f, 0xa0)))
            elif c < 0.75:
                out.append(chr(self.pick([0xE000, 0xF8FF, 0xFFFD, 0xFFFE, 0xFFFF, 0xFDD0, 0x10FFFF,
                                          0xF0000, 0xE0001, 0xE0100, 0x1FFFE])))
            elif c < 0.9:
                out.append(self.word())
            else:
                out.append(self.ws(1, 2))
        return "".join(out)

    def random_any(self):
        """Anything valid: code points drawn from the whole range, assigned or
        not, mixed with the characters the regex and the added tokens care about."""
        alpha = list(" \t\n\r'sStTlLdDmMrReEvV0123456789.,!?-_()[]<>|@#\u017f") + [
            "<|im_start|>", "<|endoftext|>", "<tool_call>", "'ll", "'RE", "\u0301", "\u00a0",
            "\u3000", "\u2028", "\x85", "\x1c", "\u200b"]
        out = []
        for _ in range(self.r.randint(0, 40)):
            c = self.r.random()
            if c < 0.5:
                out.append(self.pick(alpha))
            elif c < 0.8:
                out.append(chr(self.pick(self.assigned)))
            elif c < 0.9:
                cp = self.r.randrange(0, 0x110000)
                out.append("" if 0xD800 <= cp < 0xE000 else chr(cp))
            else:
                out.append(self.pick(["hello", " world", "你好", "😀", "👍🏽", "🇺🇸", "ﬁ", "Å",
                                      "A\u030a", "\u1100\u1161", chr(self.pick(REGEX_NEWER_CHARS)),
                                      chr(self.pick(NFC_NEWER_MARKS))]))
        return "".join(out)

    def bytes_mix(self):
        k = self.r.random()
        if k < 0.4:  # mojibake: UTF-8 bytes read as Latin-1 / cp1252
            src = self.pick(["café", "naïve — “quoted” ‘single’", "你好世界", "Привет", "😀👍", "Größe", "€100"])
            enc = self.pick(["latin-1", "cp1252"])
            return src.encode("utf-8").decode(enc, errors="replace")
        if k < 0.6:
            return "".join(chr(self.r.randrange(0x80, 0x100)) for _ in range(self.r.randint(1, 20)))
        if k < 0.8:
            return "".join(self.pick(["\ufffd", "Ã", "Â", "©", "\xad", "\u00a0", "ï»¿", "\ufeff", "�", "â€™"])
                           for _ in range(self.r.randint(1, 15)))
        # characters whose UTF-8 spans many byte-level symbols
        return "".join(chr(self.r.choice([self.r.randrange(0x80, 0x800), self.r.randrange(0x800, 0x10000),
                                          self.r.randrange(0x10000, 0x20000)]))
                       for _ in range(self.r.randint(1, 12))
                       ).encode("utf-8", "ignore").decode("utf-8", "ignore").replace("\ud800", "")


def unicode_version_edges():
    """Fixed probes around the code points whose Unicode data differs between
    HF tokenizers and utf8proc (see unicode_diff.py)."""
    out = []
    for cp in NFC_NEWER_MARKS:
        c = chr(cp)
        out.append("e%s\u0301 a\u0301%s x%s\u0316\u0301 \u0345%s \u1100%s\u1161" % (c, c, c, c, c))
        out.append("caf\u0065%s\u0301 word%s's" % (c, c))
    for cp in REGEX_NEWER_CHARS:
        c = chr(cp)
        out.append("hello%s'RE %s's a%sb %s%s1 !%s! %s\n" % (c, c, c, c, c, c, c))
    return out


def valid(s):
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def build_texts():
    g = Gen(SEED)
    items = []
    items.append(("empty", ""))
    for cp in range(0, 128):
        items.append(("ascii_char", chr(cp)))
    for t in PROSE:
        items.append(("prose_sample", t))
    for t in CODE:
        items.append(("code_sample", t))
    for lang in sorted(MULTILINGUAL):
        for t in MULTILINGUAL[lang]:
            items.append(("lang_" + lang, t))
    for t in EDGE_CASES:
        items.append(("edge", t))
    for t in ADDED + NOT_ADDED:
        items.append(("special_alone", t))
    for t in unicode_version_edges():
        items.append(("unicode_version", t))
    plan = [
        ("prose", g.prose, 700), ("code", g.code, 450), ("multilingual", g.multilingual, 800),
        ("emoji", g.emoji, 300), ("number", g.number, 450), ("whitespace", g.whitespace, 500),
        ("normalization", g.normalization, 400), ("contraction", g.contraction, 250),
        ("special", g.special, 350), ("chat", g.chat, 100), ("long_word", g.long_word, 30),
        ("unicode_soup", g.unicode_soup, 500), ("bytes_mix", g.bytes_mix, 200),
        ("random_any", g.random_any, 500),
    ]
    for cat, fn, n in plan:
        for _ in range(n):
            items.append((cat, fn()))
    out = []
    for cat, t in items:
        if valid(t):
            out.append((cat, t))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--no-slow", action="store_true", help="skip the slow-tokenizer cross-check")
    args = ap.parse_args()

    import tokenizers
    from tokenizers import Tokenizer
    fast = Tokenizer.from_file(args.tokenizer_dir + "/tokenizer.json")
    slow = None
    if not args.no_slow:
        import transformers
        from transformers import AutoTokenizer
        slow = AutoTokenizer.from_pretrained(args.tokenizer_dir, use_fast=False)
        if type(slow).__name__ != "Qwen2Tokenizer":
            sys.exit("expected the slow Qwen2Tokenizer, got %s" % type(slow).__name__)

    texts = build_texts()
    n_rt = 0
    disagree = []
    cats = {}
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for i, (cat, t) in enumerate(texts):
            ids = fast.encode(t, add_special_tokens=False).ids
            dec = fast.decode(ids, skip_special_tokens=False)
            if dec == unicodedata.normalize("NFC", t):
                n_rt += 1
            cats[cat] = cats.get(cat, 0) + 1
            if slow is not None:
                sids = slow.encode(t, add_special_tokens=False)
                sdec = slow.decode(sids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
                if sids != ids or sdec != dec:
                    disagree.append((i, cat, t, ids, sids, dec, sdec))
            f.write(json.dumps({"cat": cat, "text": t, "ids": ids, "decoded": dec},
                               ensure_ascii=False, separators=(",", ":")) + "\n")

    lines = []
    lines.append("tokenizers %s%s" % (tokenizers.__version__,
                 "" if slow is None else ", transformers %s (slow Qwen2Tokenizer)" % transformers.__version__))
    lines.append("%d texts, %d decode to NFC(text)" % (len(texts), n_rt))
    lines.append("categories: " + ", ".join("%s %d" % (k, cats[k]) for k in sorted(cats)))
    if slow is None:
        lines.append("slow tokenizer not run")
    else:
        lines.append("fast vs slow disagreements: %d" % len(disagree))
        for i, cat, t, ids, sids, dec, sdec in disagree:
            lines.append("line %d (%s): text %s" % (i + 1, cat, json.dumps(t)))
            if ids != sids:
                lines.append("  fast ids %s" % ids)
                lines.append("  slow ids %s" % sids)
            if dec != sdec:
                lines.append("  fast decode %s" % json.dumps(dec))
                lines.append("  slow decode %s" % json.dumps(sdec))
    rep = "\n".join(lines) + "\n"
    with open(args.report, "w", encoding="utf-8") as f:
        f.write(rep)
    sys.stdout.write(rep if len(rep) < 20000 else rep[:20000] + "...\n")


if __name__ == "__main__":
    main()

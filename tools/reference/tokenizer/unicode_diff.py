#!/usr/bin/env python3
"""Find the code points where HF tokenizers and utf8proc disagree, and print
the two C tables that lib/text/tok_encode.c uses to follow HF.

1. NFC.
HF `tokenizers` normalises with the `unicode-normalization-alignments`
crate, whose Unicode tables are older than utf8proc's: combining marks
assigned since then have canonical combining class 0 for HF (they act as
plain starters, block reordering and composition) but a non-zero class for
utf8proc.  The C tokenizer splits the text at exactly these code points
before calling utf8proc, which reproduces HF's result.

Every code point c (no surrogates) is probed inside strings that expose its
combining class and composition behaviour; a probe disagrees when
tokenizers.normalizers.NFC and utf8proc_NFC (through ctypes) give different
results.

2. Character classes of the pre-tokenizer regex.  HF runs the Split regex
with Oniguruma, whose Unicode tables (16.0 in tokenizers 0.22) are newer
than utf8proc 2.8's (15.0): letters and digits assigned in Unicode 16 are
\\p{L} / \\p{N} for HF but unassigned (Cn) for utf8proc.  Each code point's
class is read off HF's pre-tokenizer ("a"+c is one piece for a letter,
c+c two pieces for a digit, "!"+c two pieces for \\s) and compared with
utf8proc's general category (and the White_Space list); the C code consults
the table only for code points utf8proc calls Cn.

Usage: python unicode_diff.py TOKENIZER_DIR [path/to/libutf8proc.so.2]
"""
import ctypes
import ctypes.util
import sys

from tokenizers import Tokenizer
from tokenizers.normalizers import NFC

WHITE_SPACE = set(list(range(9, 14)) + [0x20, 0x85, 0xA0, 0x1680] + list(range(0x2000, 0x200B)) +
                  [0x2028, 0x2029, 0x202F, 0x205F, 0x3000])


def ranges_of(items):
    """[(cp, tag)] sorted by cp -> [[lo, hi, tag]] of consecutive runs."""
    out = []
    for cp, tag in items:
        if out and out[-1][1] == cp - 1 and out[-1][2] == tag:
            out[-1][1] = cp
        else:
            out.append([cp, cp, tag])
    return out


def main():
    tok_dir = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) > 2 else (ctypes.util.find_library("utf8proc") or "libutf8proc.so.2")
    lib = ctypes.CDLL(path)
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    lib.utf8proc_NFC.restype = ctypes.c_void_p
    lib.utf8proc_NFC.argtypes = [ctypes.c_char_p]
    lib.utf8proc_version.restype = ctypes.c_char_p
    lib.utf8proc_unicode_version.restype = ctypes.c_char_p
    lib.utf8proc_category.restype = ctypes.c_int
    lib.utf8proc_category.argtypes = [ctypes.c_int32]
    libc.free.argtypes = [ctypes.c_void_p]

    def u_nfc(s):
        p = lib.utf8proc_NFC(s.encode("utf-8"))
        out = ctypes.string_at(p).decode("utf-8")
        libc.free(p)
        return out

    hf = NFC()
    probes = ["a{c}\u0301", "\u0345{c}", "{c}\u0334", "e{c}\u0301", "{c}", "\u1100{c}\u1161",
              "{c}\u0300", "\u0334{c}\u0345"]
    bad = []
    for cp in range(1, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        for p in probes:
            s = p.replace("{c}", c)
            if hf.normalize_str(s) != u_nfc(s):
                bad.append(cp)
                break
    print("/* utf8proc %s (Unicode %s) vs tokenizers' NFC: %d code points */" % (
        lib.utf8proc_version().decode(), lib.utf8proc_unicode_version().decode(), len(bad)))
    for a, b, _ in ranges_of([(cp, 0) for cp in bad]):
        print("    {0x%05X, 0x%05X}," % (a, b))

    pt = Tokenizer.from_file(tok_dir + "/tokenizer.json").pre_tokenizer

    def pieces(s):
        return len(pt.pre_tokenize_str(s))

    def hf_class(c):
        if pieces("a" + c) == 1:
            return "L"
        if pieces(c + c) == 2:
            return "N"
        if pieces("!" + c) == 2:
            return "S"
        return "-"

    def u_class(cp):
        if cp in WHITE_SPACE:
            return "S"
        cat = lib.utf8proc_category(cp)
        if 1 <= cat <= 5:      # Lu Ll Lt Lm Lo
            return "L"
        if 9 <= cat <= 11:     # Nd Nl No
            return "N"
        return "-"

    diff = []
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        h, u = hf_class(chr(cp)), u_class(cp)
        if h != u:
            if lib.utf8proc_category(cp) != 0 or h not in "LN":
                sys.exit("U+%04X: utf8proc class %s, HF %s, and utf8proc does not call it Cn: "
                         "the C fallback table cannot express this" % (cp, u, h))
            diff.append((cp, h))
    print("/* unassigned (Cn) for utf8proc %s, \\p{L} or \\p{N} for HF: %d code points */" % (
        lib.utf8proc_version().decode(), len(diff)))
    for a, b, tag in ranges_of(diff):
        print("    {0x%05X, 0x%05X, C_%s}," % (a, b, tag))


if __name__ == "__main__":
    main()

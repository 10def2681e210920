#!/usr/bin/env python3
"""Find the code points where HF tokenizers' NFC normaliser and utf8proc's
NFC disagree, and print them as the C table used by lib/text/tok_encode.c.

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

Usage: python nfc_diff.py [path/to/libutf8proc.so.2]
"""
import ctypes
import ctypes.util
import sys

from tokenizers.normalizers import NFC


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else (ctypes.util.find_library("utf8proc") or "libutf8proc.so.2")
    lib = ctypes.CDLL(path)
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    lib.utf8proc_NFC.restype = ctypes.c_void_p
    lib.utf8proc_NFC.argtypes = [ctypes.c_char_p]
    lib.utf8proc_version.restype = ctypes.c_char_p
    lib.utf8proc_unicode_version.restype = ctypes.c_char_p
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
    ranges = []
    for cp in bad:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    print("/* utf8proc %s (Unicode %s) vs tokenizers' NFC: %d code points */" % (
        lib.utf8proc_version().decode(), lib.utf8proc_unicode_version().decode(), len(bad)))
    for a, b in ranges:
        print("    {0x%05X, 0x%05X}," % (a, b))


if __name__ == "__main__":
    main()

#!/bin/sh
# The performance suite in one command: builds Release, writes the synthetic
# checkpoints if missing, measures this machine's limits and libapollo's
# kernels (CPU and oneDNN backends) and decoder, runs the PyTorch baseline,
# prints a table.
#
#   bench/run.sh                       # defaults below
#   THREADS=2 PREFILL=4096 DECODE=16 SIZES="1.5b 3b" bench/run.sh
#
# Knobs (environment): THREADS (2), PREFILL (512 tokens; the README's 4k row
# uses PREFILL=4096), DECODE (8 steps, first one not timed), SIZES ("1.5b 3b"),
# SYNTH_ROOT (/tmp: checkpoints go to $SYNTH_ROOT/apollo-<size>-synth, ~6 and
# ~9 GB, never committed), BUILD (build/bench-release), VENV (/work/venv-ref;
# set VENV= to skip PyTorch), PRECISION (f32 | bf16: activations in bf16
# where the CPU has vdpbf16ps | int8: the LLM's weights quantized to int8,
# measured beside the bf16-weight run in the same invocation), VISION (1:
# the vision side of the first size — SigLIP, InternVideo2, connector on one
# clip, ~1 min here — and its PyTorch run; 0 skips it), VISION_TORCH_DTYPE
# (bf16 as released: ~11 min here without native bf16 | f32), SCALING (1:
# also the decoder and the vision side with 1 thread, for the 1 -> THREADS
# table).  Raw "key value" output goes to $BUILD/bench-out/.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
THREADS=${THREADS:-2}
PREFILL=${PREFILL:-512}
DECODE=${DECODE:-8}
SIZES=${SIZES:-"1.5b 3b"}
SYNTH_ROOT=${SYNTH_ROOT:-/tmp}
BUILD=${BUILD:-$ROOT/build/bench-release}
VENV=${VENV-/work/venv-ref}
PRECISION=${PRECISION:-f32}
VISION=${VISION:-1}
VISION_TORCH_DTYPE=${VISION_TORCH_DTYPE:-bf16}
SCALING=${SCALING:-0}
OUT=$BUILD/bench-out
mkdir -p "$OUT"

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAPOLLO_BUILD_BENCH=ON \
      -DAPOLLO_BUILD_TESTS=OFF -DAPOLLO_BUILD_EXAMPLES=OFF >"$OUT/cmake.log"
cmake --build "$BUILD" --target bench_kernels bench_llm bench_vision >>"$OUT/cmake.log"
cmake --build "$BUILD" --target bench_onednn >>"$OUT/cmake.log"

cat /proc/loadavg >"$OUT/loadavg_before"
"$BUILD/bench/bench_kernels" --threads "$THREADS" >"$OUT/kernels.txt"
"$BUILD/bench/bench_onednn" --threads "$THREADS" >"$OUT/onednn.txt"
for s in $SIZES; do
    d=$SYNTH_ROOT/apollo-$s-synth
    [ -f "$d/config.json" ] || python3 "$ROOT/tools/synth/apollo_synth.py" "$s" "$d" >/dev/null
    rm -f "$OUT/llm-$s-int8.txt" "$OUT/logits-$s-"*.f32
    if [ "$PRECISION" = int8 ]; then
        # the bf16-weight run is the baseline: speed, and logits on the same ids
        "$BUILD/bench/bench_llm" "$d" --threads "$THREADS" --precision f32 \
            --prefill "$PREFILL" --decode "$DECODE" --logits-out "$OUT/logits-$s-bf16.f32" \
            >"$OUT/llm-$s.txt"
        "$BUILD/bench/bench_llm" "$d" --threads "$THREADS" --precision int8 \
            --prefill "$PREFILL" --decode "$DECODE" --logits-out "$OUT/logits-$s-int8.f32" \
            >"$OUT/llm-$s-int8.txt"
    else
        "$BUILD/bench/bench_llm" "$d" --threads "$THREADS" --precision "$PRECISION" \
            --prefill "$PREFILL" --decode "$DECODE" >"$OUT/llm-$s.txt"
    fi
    rm -f "$OUT/torch-$s.txt" # never report an earlier run's PyTorch numbers
    if [ -n "$VENV" ] && [ -x "$VENV/bin/python" ]; then
        "$VENV/bin/python" "$ROOT/bench/torch_baseline.py" "$d" --threads "$THREADS" \
            --prefill "$PREFILL" --decode "$DECODE" 2>/dev/null >"$OUT/torch-$s.txt" || true
    fi
done
rm -f "$OUT/vision.txt" "$OUT/vision-1t.txt" "$OUT/torch-vision.txt" "$OUT/llm-1t.txt"
first=$(echo $SIZES | cut -d' ' -f1)
if [ "$VISION" = 1 ]; then
    d=$SYNTH_ROOT/apollo-$first-synth
    "$BUILD/bench/bench_vision" "$d" --threads "$THREADS" >"$OUT/vision.txt"
    if [ -n "$VENV" ] && [ -x "$VENV/bin/python" ]; then
        "$VENV/bin/python" "$ROOT/bench/torch_vision_baseline.py" "$d" --threads "$THREADS" \
            --dtype "$VISION_TORCH_DTYPE" 2>/dev/null >"$OUT/torch-vision.txt" || true
    fi
fi
if [ "$SCALING" = 1 ]; then
    d=$SYNTH_ROOT/apollo-$first-synth
    "$BUILD/bench/bench_llm" "$d" --threads 1 --prefill "$PREFILL" --decode "$DECODE" >"$OUT/llm-1t.txt"
    [ "$VISION" = 1 ] && "$BUILD/bench/bench_vision" "$d" --threads 1 >"$OUT/vision-1t.txt"
fi
cat /proc/loadavg >"$OUT/loadavg_after"

python3 - "$OUT" "$SIZES" "$THREADS" "$PREFILL" "$VISION_TORCH_DTYPE" <<'PY'
import array, os, sys
out, sizes, threads, prefill, vdt = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4], sys.argv[5]
def kv(name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return {}
    d = {}
    for line in open(p):
        parts = line.split()
        if len(parts) == 2:
            try:
                d[parts[0]] = float(parts[1])
            except ValueError:
                d[parts[0]] = parts[1]
    return d
k = kv("kernels.txt")
bw, pf, pb = k.get("bw_read_gbs", 0), k.get("peak_f32_gflops", 0), k.get("peak_bf16_gflops", 0)
rows = [("CPU kernels / threads", "%s / %s" % (k.get("isa"), threads), ""),
        ("load average before / after", open(os.path.join(out, "loadavg_before")).read().split()[0]
         + " / " + open(os.path.join(out, "loadavg_after")).read().split()[0], ""),
        ("peak f32 FMA (hand loop)", "%.1f GFLOP/s" % pf, ""),
        ("peak bf16 vdpbf16ps (hand loop)", "%.1f GFLOP/s" % pb if pb else "n/a (no AVX512_BF16)", ""),
        ("memory read bandwidth (1 / all threads)", "%.2f / %.2f GB/s" % (k.get("bw_read_1t_gbs", 0), bw), "")]
g = k.get("gemv_bf16_11008x2048_gbs", 0)
rows.append(("GEMV bf16 11008x2048, M=1", "%.2f GB/s" % g, "%.0f%% of bandwidth" % (100 * g / bw) if bw else ""))
gq = k.get("gemv_q8_33024x2048_gbs", 0)
if gq and g:
    # weights per second: bf16 2 B/weight, int8 1 B/weight + 4 B/row of 2048
    rows.append(("GEMV int8 3x11008x2048, M=1", "%.2f GB/s" % gq,
                 "%.0f%% of bandwidth, %.2fx the weights/s of bf16"
                 % (100 * gq / bw, gq / (1 + 4 / 2048) / (g / 2)) if bw else ""))
for key in sorted(x for x in k if x.startswith("gemm_")):
    v = k[key]
    peak = pb if "bf16" in key else pf
    rows.append(("GEMM " + key[5:].replace("_gflops", ""), "%.1f GFLOP/s" % v,
                 "%.0f%% of %s peak" % (100 * v / peak, "bf16" if "bf16" in key else "f32") if peak else ""))
# oneDNN backend (bench_onednn: same shapes, CPU backend timed interleaved in the same run)
o = kv("onednn.txt")
cg = o.get("cpu_gemv_11008x2048_us", 0)
notes = {"f32": " *" if o.get("onednn_f32_on_cpu") else "",
         "int8own": " (oneDNN layout, all M)"}
precs = ["f32"] + (["bf16"] if o.get("onednn_bf16_native") else []) + ["int8", "int8own"]
for p in precs if cg else ():
    lab = "oneDNN %s%s" % (p.replace("own", ""), notes.get(p, ""))
    us = o.get("onednn_%s_gemv_11008x2048_us" % p, 0)
    if us:
        rows.append(("%s GEMV 11008x2048 M=1" % lab,
                     "%.2f ms (%.1f GB/s of its weight)" % (us * 1e-3, o.get("onednn_%s_gemv_11008x2048_gbs" % p, 0)),
                     "%.2fx the CPU backend's speed (%.2f ms, bf16)" % (cg / us, cg * 1e-3)))
    for shp in ("256x11008x2048", "256x2048x11008"):
        v, c = o.get("onednn_%s_gemm_%s_gflops" % (p, shp), 0), o.get("cpu_gemm_%s_gflops" % shp, 0)
        if v and c:
            rows.append(("%s GEMM M=256 %s" % (lab, shp[4:]), "%.1f GFLOP/s" % v,
                         "%.2fx the CPU backend's f32 (%.1f GFLOP/s)" % (v / c, c)))
    if p != "int8own" and o.get("onednn_%s_pack_11008x2048_ms" % p) is not None:
        rows.append(("%s packing 11008x2048 (first call)" % lab,
                     "%.0f ms" % o["onednn_%s_pack_11008x2048_ms" % p], ""))
if cg and not o.get("onednn_bf16_native"):
    rows.append(("oneDNN bf16", "n/a (no native bf16 here)", "PREC_BF16 computes as f32"))
if o.get("onednn_f32_on_cpu"):
    rows.append(("* oneDNN f32 (forced for the bench)", "plain gemm here", "the backend gives f32 to the CPU kernels"))
for s in sizes:
    l, t = kv("llm-%s.txt" % s), kv("torch-%s.txt" % s)
    wb = l.get("weight_bytes_per_token", 0)
    bound = bw / (wb * 1e-9) if wb else 0
    dec = l.get("decode_tokens_per_s", 0)
    rows.append(("%s decode (bf16 weights)" % s, "%.3f tok/s" % dec,
                 "%.0f%% of bandwidth bound %.2f tok/s" % (100 * dec / bound, bound) if bound else ""))
    if t.get("decode_tokens_per_s"):
        rows.append(("%s decode, PyTorch bf16" % s, "%.3f tok/s" % t["decode_tokens_per_s"],
                     "libapollo %.2fx" % (dec / t["decode_tokens_per_s"])))
    pre = l.get("prefill_tokens_per_s", 0)
    rows.append(("%s prefill %s tokens" % (s, prefill), "%.2f tok/s" % pre, ""))
    if t.get("prefill_tokens_per_s"):
        rows.append(("%s prefill, PyTorch bf16" % s, "%.2f tok/s" % t["prefill_tokens_per_s"],
                     "libapollo %.2fx" % (pre / t["prefill_tokens_per_s"])))
    rows.append(("%s peak RSS (KV cache)" % s, "%.0f MB (%.0f MB)" % (l.get("peak_rss_mb", 0), l.get("kv_cache_mb", 0)),
                 "PyTorch %.0f MB" % t["peak_rss_mb"] if t.get("peak_rss_mb") else ""))
    q = kv("llm-%s-int8.txt" % s)
    if q:
        qb = q.get("weight_bytes_per_token", 0)
        qbound = bw / (qb * 1e-9) if qb else 0
        qdec = q.get("decode_tokens_per_s", 0)
        rows.append(("%s decode (int8 weights)" % s, "%.3f tok/s" % qdec,
                     "%.0f%% of bandwidth bound %.2f tok/s (%.2f GB/token, read at %.1f GB/s; bf16 "
                     "%.1f GB/s); %.2fx bf16"
                     % (100 * qdec / qbound, qbound, qb * 1e-9, q.get("decode_weight_gbs", 0),
                        l.get("decode_weight_gbs", 0), qdec / dec if dec else 0) if qbound else ""))
        rows.append(("%s prefill %s tokens (int8 weights)" % (s, prefill), "%.2f tok/s" % q.get("prefill_tokens_per_s", 0),
                     "%.2fx bf16" % (q.get("prefill_tokens_per_s", 0) / pre) if pre else ""))
        rows.append(("%s int8 quantization at open" % s, "%.1f s" % q.get("quantize_s", 0), ""))
        fa, fb = (os.path.join(out, "logits-%s-%s.f32" % (s, p)) for p in ("bf16", "int8"))
        if os.path.exists(fa) and os.path.exists(fb):
            a, b = array.array("f"), array.array("f")
            a.frombytes(open(fa, "rb").read())
            b.frombytes(open(fb, "rb").read())
            V = int(l.get("vocab_size", 0)) or 151936
            npos = min(len(a), len(b)) // V
            worst, same = 0.0, 0
            for i in range(npos):
                ra, rb = a[i * V:(i + 1) * V], b[i * V:(i + 1) * V]
                d = max(abs(x - y) for x, y in zip(ra, rb))
                worst = max(worst, d / max(abs(x) for x in ra))
                same += max(range(V), key=ra.__getitem__) == max(range(V), key=rb.__getitem__)
            rows.append(("%s int8 vs bf16-weight logits" % s,
                         "max |dlogit| / max |logit| %.2e" % worst,
                         "argmax equal at %d of %d positions (synthetic weights)" % (same, npos)))
        rows.append(("%s peak RSS, int8 (KV cache)" % s, "%.0f MB (%.0f MB)" % (q.get("peak_rss_mb", 0), q.get("kv_cache_mb", 0)),
                     "bf16 weights %.0f MB" % l.get("peak_rss_mb", 0)))
# vision side (bench_vision; PyTorch: torch_vision_baseline.py)
v, tv, v1 = kv("vision.txt"), kv("torch-vision.txt"), kv("vision-1t.txt")
pf = k.get("peak_f32_gflops", 0)
for key, name, fl in (("siglip_ms_per_clip", "SigLIP, 4 frames", "siglip_gflops"),
                      ("iv2_ms_per_clip", "InternVideo2, 1 clip", "iv2_gflops"),
                      ("connector_ms_per_clip", "connector (fusion, projection, resampler)", "connector_gflops"),
                      ("clip_ms", "whole clip", None)):
    if key not in v:
        continue
    extra = "%.0f GFLOP/s = %.0f%% of f32 peak" % (v[fl], 100 * v[fl] / pf) if fl and pf else ""
    if key in tv:
        extra += ("; " if extra else "") + "PyTorch %s %.0f ms: libapollo %.2fx" % (vdt, tv[key], tv[key] / v[key])
    if key in v1:
        extra += ("; " if extra else "") + "1 thread %.0f ms (%.2fx scaling)" % (v1[key], v1[key] / v[key])
    rows.append(("%s ms per clip" % name, "%.0f ms" % v[key], extra))
if "siglip_ms_per_frame" in v:
    rows.append(("SigLIP ms per frame", "%.0f ms" % v["siglip_ms_per_frame"], ""))
l1 = kv("llm-1t.txt")
if l1:
    l2 = kv("llm-%s.txt" % sizes[0])
    for key, name in (("decode_tokens_per_s", "decode"), ("prefill_tokens_per_s", "prefill %s tokens" % prefill)):
        if key in l1 and key in l2:
            rows.append(("%s %s, 1 -> %s threads" % (sizes[0], name, threads), "%.2f -> %.2f tok/s" % (l1[key], l2[key]),
                         "%.2fx" % (l2[key] / l1[key])))
w = max(len(r[0]) for r in rows)
w2 = max(len(r[1]) for r in rows)
print("| %-*s | %-*s | %s |" % (w, "measurement", w2, "value", "ratio"))
print("|%s|%s|---|" % ("-" * (w + 2), "-" * (w2 + 2)))
for r in rows:
    print("| %-*s | %-*s | %s |" % (w, r[0], w2, r[1], r[2]))
PY

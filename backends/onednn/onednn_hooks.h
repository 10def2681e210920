/* Hooks of the oneDNN backend (backends/onednn): its one switch that
 * apollo_ctx_open sets (apollo__onednn_set_q8_int8), and test and benchmark
 * hooks.  Only declared when the library is built with oneDNN
 * (APOLLO_HAVE_ONEDNN); the functions take any apollo__backend and do
 * nothing (or report zeros) for a backend of another kind. */
#ifndef APOLLO_ONEDNN_HOOKS_H
#define APOLLO_ONEDNN_HOOKS_H

#include "backend.h"

#include <stddef.h>
#include <stdint.h>

typedef struct apollo__onednn_stats {
    int64_t n_packs;          /* weights reordered into oneDNN's layout (ever) */
    int64_t n_in_place;       /* weights used in place (layout already right) */
    int64_t n_entries;        /* cache entries now (packed, in place or fallback) */
    int64_t packed_bytes;     /* memory held now by packed weights and int8 scales */
    int64_t budget_bytes;     /* the cap on packed_bytes */
    int64_t n_cpu_calls;      /* matmuls the CPU kernels computed instead (dtypes other
                                 than F32/BF16/F16, over budget, the f32 rule below) */
    int64_t n_q8_calls;       /* int8 matmuls with M < 16 run by the CPU kernels' Q8 GEMV on
                                 the packed int8 rows (where oneDNN's int8 is its plain gemm) */
    int64_t n_q8_onednn_calls; /* matmuls of Q8 weights run by oneDNN's int8 matmul
                                  (apollo__onednn_set_q8_int8 on, M >= 16) */
    int32_t int8_levels;      /* int8 weights use [-L, L]: 127, or 63 where the
                                 u8*s8 kernels saturate (no VNNI); 0 = not probed yet */
    int32_t q8_act_levels;    /* Q8 weights on oneDNN: activations in [-A, A], A = 127, or 64
                                 where the u8*s8 kernels saturate; -1: not possible (the
                                 CPU kernels compute); 0 = not probed yet */
    int32_t q8_int8;          /* apollo__onednn_set_q8_int8 is on */
    int32_t bf16_native;      /* oneDNN runs bf16 matmul natively on this CPU */
    int32_t f32_on_cpu;       /* f32 products go to the CPU kernels: oneDNN's f32 matmul
                                 here is its plain GEMM, which they beat (see
                                 onednn_backend.c); APOLLO__ONEDNN_FORCE_F32 overrides */
} apollo__onednn_stats;

void apollo__onednn_get_stats(apollo__backend *be, apollo__onednn_stats *out);

/* Cap on the bytes of packed weights (default: half the physical memory).
 * Weights that do not fit are computed by the CPU kernels in place.
 * Applies to weights packed from now on. */
void apollo__onednn_set_pack_budget(apollo__backend *be, int64_t bytes);

/* Q8 weights (APOLLO__DT_Q8: APOLLO_PRECISION_INT8's LLM weights) with
 * M >= APOLLO__GEMM_MIN_M (prefill) on oneDNN's int8 matmul, from the Q8 rows
 * and scales as they are, activations quantized per row to 8 bits (on), or
 * on the CPU kernels with float32 activations (off, the default).  M < 16
 * (decode) runs on the CPU kernels' Q8 GEMV either way; weights of other
 * dtypes are not affected.  apollo_ctx_open turns it on for the oneDNN
 * backend + APOLLO_PRECISION_INT8.  Error bound: onednn_backend.c. */
void apollo__onednn_set_q8_int8(apollo__backend *be, int on);

/* Debug switches (tests), applied to weights packed from now on. */
#define APOLLO__ONEDNN_FORCE_BUCKETS 1u /* M buckets instead of a runtime-M primitive */
#define APOLLO__ONEDNN_FORCE_REORDER 2u /* pack with oneDNN's reorder even for plain layouts */
#define APOLLO__ONEDNN_TRY_BF16 4u      /* attempt bf16 primitives even where the ISA check
                                          says oneDNN would not run them natively */
#define APOLLO__ONEDNN_FORCE_F32 8u     /* f32 through oneDNN even where f32_on_cpu */
#define APOLLO__ONEDNN_NO_Q8_VIEW 16u   /* int8 in oneDNN's own layout and at every M */
void apollo__onednn_set_debug(apollo__backend *be, uint32_t flags);

/* Frees every cached weight (packed copies, primitives).  Not to be called
 * while a matmul runs on this backend. */
void apollo__onednn_clear_cache(apollo__backend *be);

/* How the backend computes weight w ([N, K]) at precision prec
 * (APOLLO__PREC_*), once a matmul has used it: mode, oneDNN implementation,
 * N x K, packed layout (of the [K, N] operand), M handling, bytes held --
 * e.g. "s8 gemm:jit 11008x2048 plain-ab runtime-M 21.5 MB" -- or
 * "cpu-kernels (over the pack budget)".  read_bytes (may be NULL) gets the
 * weight bytes one call reads: the packed copy (+ int8 scales), or the
 * weight itself when used in place or by the CPU kernels.  Returns 0, or -1
 * if w is not cached. */
int apollo__onednn_describe(apollo__backend *be, const apollo__tensor *w, int32_t prec,
                            char *buf, size_t cap, int64_t *read_bytes);

#endif

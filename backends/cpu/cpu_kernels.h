/* CPU matmul kernels on 16-bit (or f32) weights used in place, and on the
 * int8 rows of APOLLO__DT_Q8 (APOLLO_PRECISION_INT8), chosen at run time by
 * instruction set.  Internal to backends/cpu.
 *
 *   GEMV  (M small, decode): streams each weight row once for all M rows of
 *         x, widening bf16/f16 to f32 in registers; exact f32 arithmetic.
 *   GEMM  (M >= APOLLO__GEMM_MIN_M, prefill/encoders): packs a block of
 *         weight rows at a time into panels (never the whole weight), and
 *         runs a register-blocked micro-kernel:
 *           - PREC_F32:  panels widened to f32, f32 FMA  (exact weights,
 *                        f32 activations: same math as the reference);
 *           - PREC_BF16: activations rounded to bf16, vdpbf16ps (AVX-512
 *                        BF16 only; elsewhere falls back to PREC_F32).
 *
 * All functions compute y[m, n] = sum_k x[m, k] * W[n, k] (+ bias[n]) for
 * n in [n0, n1) and all m; the backend splits N over its pool. */
#ifndef APOLLO_CPU_KERNELS_H
#define APOLLO_CPU_KERNELS_H

#include "common/tensor.h"

#include <stdint.h>

/* Instruction-set levels, ordered: a level implies the ones below. */
enum {
    APOLLO__ISA_SCALAR = 0,
    APOLLO__ISA_AVX2 = 1,       /* AVX2 + FMA + F16C */
    APOLLO__ISA_AVX512 = 2,     /* AVX-512 F/BW/VL (+ F16C) */
    APOLLO__ISA_AVX512BF16 = 3  /* ... + AVX512_BF16 (vdpbf16ps) */
};

/* Below this many rows the GEMV path (one pass over the weight) is used. */
#define APOLLO__GEMM_MIN_M 16

/* Highest level this CPU and OS support. */
int32_t apollo__cpu_isa_detect(void);
const char *apollo__cpu_isa_name(int32_t isa);

/* GEMV over weight rows [n0, n1) for M rows of x (any M >= 1; best for
 * M < APOLLO__GEMM_MIN_M). */
void apollo__gemv_rows(int32_t isa, const float *x, int64_t M, int64_t K,
                       const apollo__tensor *w, const float *bias, float *y, int64_t N,
                       int64_t n0, int64_t n1);

/* ---- packed GEMM ------------------------------------------------------------ */

/* Activations packed once per call, shared by all tasks. */
typedef struct apollo__gemm_apack {
    int32_t isa;       /* kernel family the packing is for */
    int32_t bf16;      /* 1: bf16 pairs for vdpbf16ps; 0: f32 */
    int64_t M, K, mr;  /* mr: rows per micro-panel */
    void *data;        /* [ceil(M/mr)][Kp][mr] f32, or [ceil(M/mr)][Kp/2][mr][2] bf16 */
    int64_t kp;        /* K padded (to even for bf16) */
} apollo__gemm_apack;

/* Whether a packed GEMM kernel exists for isa (AVX2 and up). */
int apollo__gemm_available(int32_t isa);
/* Packs x[M, K]; bf16 != 0 requests the bf16 kernel (honoured only when
 * isa >= APOLLO__ISA_AVX512BF16).  Returns APOLLO_OK or APOLLO_E_NOMEM. */
int apollo__gemm_pack_a(int32_t isa, int bf16, const float *x, int64_t M, int64_t K,
                        apollo__gemm_apack *out);
void apollo__gemm_apack_free(apollo__gemm_apack *a);
/* Output columns [n0, n1); n1 - n0 <= APOLLO__GEMM_NB. */
#define APOLLO__GEMM_NB 64
void apollo__gemm_cols(const apollo__gemm_apack *a, const apollo__tensor *w, const float *bias,
                       float *y, int64_t N, int64_t n0, int64_t n1);

/* ---- backend hooks for tests and benchmarks ------------------------------------ */

typedef struct apollo__backend apollo__backend;
/* Test-only apollo__backend.precision value: the bf16 packing and rounding of
 * PREC_BF16 with a scalar kernel, so any CPU can check the bf16 path. */
#define APOLLO__PREC_BF16_EMULATE 2
/* The CPU backend's matmul with a given kernel family (isa <= detected;
 * APOLLO__ISA_SCALAR = GEMV scalar loop / GEMM needs AVX2).  Takes every
 * weight dtype the CPU kernels know (F32, BF16, F16, Q8) and only uses
 * be->pool, be->n_threads and be->precision, so other backends route the
 * weights they do not handle (Q8) here. */
int apollo__cpu_matmul_isa(apollo__backend *be, int32_t isa, const float *x, int64_t M,
                           int64_t K, const apollo__tensor *w, const float *bias, float *y);
/* The level the CPU backend detected, or -1 for another backend. */
int32_t apollo__cpu_backend_isa(const apollo__backend *be);

#endif

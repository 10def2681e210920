/* SIMD kernels of the Pillow bicubic resize (video_resize_avx2.c), used by
 * video_resize.c when the CPU has them; bit-identical to the scalar code. */
#ifndef APOLLO_VIDEO_RESIZE_SIMD_H
#define APOLLO_VIDEO_RESIZE_SIMD_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define APOLLO__RESIZE_HAVE_AVX2 1
#else
#define APOLLO__RESIZE_HAVE_AVX2 0
#endif

#if APOLLO__RESIZE_HAVE_AVX2
/* Horizontal pass, output pixels [x0, x1) of one RGB row.  bounds: the
 * scalar coefficients' (first input pixel, count) per output pixel; kexp:
 * n_groups groups of four taps per output pixel, each tap's coefficient
 * repeated for the 4 lanes of an RGB0 pixel (16 int32 per group, taps past
 * the filter zero).  Reads 16 bytes per group: x1 must not exceed
 * apollo__pil_hrow_avx2_end(). */
void apollo__pil_hrow_avx2(const uint8_t *in, const int32_t *bounds, const int32_t *kexp,
                           int32_t n_groups, int32_t x0, int32_t x1, uint8_t *out);
int32_t apollo__pil_hrow_avx2_end(int32_t in_w, const int32_t *bounds, int32_t dw);

/* Vertical pass of one output row: out[x] = clip(sum_y k[y] * base[y*stride + x])
 * for x in [0, w3) in blocks of 32; returns how many were done. */
int32_t apollo__pil_vrow_avx2(const uint8_t *base, size_t stride, const int32_t *k, int32_t n,
                              int32_t w3, uint8_t *out);
#endif

#endif

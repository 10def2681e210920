/* Run-time instruction-set detection for the CPU kernels. */
#include "cpu_kernels.h"

int32_t apollo__cpu_isa_detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return APOLLO__ISA_SCALAR;
    /* F16C has no __builtin_cpu_supports name in older compilers; every CPU
     * with AVX2 + FMA has it. */
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl"))
        return APOLLO__ISA_AVX2;
    if (!__builtin_cpu_supports("avx512bf16"))
        return APOLLO__ISA_AVX512;
    return APOLLO__ISA_AVX512BF16;
#else
    return APOLLO__ISA_SCALAR;
#endif
}

const char *apollo__cpu_isa_name(int32_t isa)
{
    switch (isa) {
    case APOLLO__ISA_AVX2: return "avx2";
    case APOLLO__ISA_AVX512: return "avx512";
    case APOLLO__ISA_AVX512BF16: return "avx512-bf16";
    default: return "scalar";
    }
}

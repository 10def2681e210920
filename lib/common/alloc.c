#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Failure injection state.  Process-wide on purpose: the torture tests
 * drive one scenario at a time from one thread. */
static _Atomic uint64_t alloc_count;
static _Atomic uint64_t alloc_fail_at;

static int should_fail(void)
{
    uint64_t n = atomic_fetch_add(&alloc_count, 1) + 1;
    uint64_t k = atomic_load(&alloc_fail_at);
    return k != 0 && n == k;
}

void apollo__alloc_fail_at(uint64_t k)
{
    atomic_store(&alloc_count, 0);
    atomic_store(&alloc_fail_at, k);
}

uint64_t apollo__alloc_count(void)
{
    return atomic_load(&alloc_count);
}

void apollo__alloc_reset_count(void)
{
    atomic_store(&alloc_count, 0);
}

void *apollo__malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *apollo__calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    if (count == 0 || size == 0)
        count = size = 1;
    return calloc(count, size);
}

void *apollo__realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void apollo__free(void *p)
{
    free(p);
}

char *apollo__strndup(const char *s, size_t n)
{
    char *d = apollo__malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *apollo__strdup(const char *s)
{
    return apollo__strndup(s, strlen(s));
}

int apollo__mul_size(size_t count, size_t size, size_t *out)
{
    if (size != 0 && count > SIZE_MAX / size)
        return -1;
    *out = count * size;
    return 0;
}

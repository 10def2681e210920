/* Every allocation of the library goes through these wrappers so that a user
 * allocator can be plugged in and tests can fail the k-th allocation
 * (allocation-failure "torture" tests). */
#ifndef APOLLO_ALLOC_H
#define APOLLO_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *apollo__malloc(size_t n);
void *apollo__calloc(size_t count, size_t size);
void *apollo__realloc(void *p, size_t n);
void apollo__free(void *p);
char *apollo__strdup(const char *s);
char *apollo__strndup(const char *s, size_t n);

/* Overflow-checked count*size; returns 0 and sets *out on success. */
int apollo__mul_size(size_t count, size_t size, size_t *out);

/* ---- test hooks (internal; used by tests/unit only) ---------------------
 * apollo__alloc_fail_at(k): the k-th allocation from now (1-based) fails,
 * and only that one; 0 disables.  apollo__alloc_count() returns how many
 * allocations were attempted since the last apollo__alloc_reset_count(). */
void apollo__alloc_fail_at(uint64_t k);
uint64_t apollo__alloc_count(void);
void apollo__alloc_reset_count(void);

#endif

/* Reading reference tensors (safetensors written by tools/reference) in
 * unit tests, through the library's own safetensors reader. */
#ifndef APOLLO_TEST_FIXTURE_H
#define APOLLO_TEST_FIXTURE_H

#include "model/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline apollo__st_file *fixture_open(const char *rel)
{
    char path[2048];
    apollo__st_file *f = NULL;
    snprintf(path, sizeof path, "%s/%s", APOLLO_TEST_FIXTURES, rel);
    if (apollo__st_open(path, rel, &f) != 0) {
        fprintf(stderr, "cannot open fixture %s\n", path);
        return NULL;
    }
    return f;
}

/* malloc'd float copy of tensor `name` (F32 stored); *n gets the element count. */
static inline float *fixture_f32(const apollo__st_file *f, const char *name, size_t *n)
{
    const apollo__st_entry *e = apollo__st_find(f, name);
    float *out;
    if (!e || e->dtype != APOLLO__DT_F32) {
        fprintf(stderr, "fixture tensor %s missing or not F32\n", name);
        return NULL;
    }
    out = malloc((size_t)e->n_elements * sizeof(float) + 1);
    memcpy(out, e->data, (size_t)e->n_elements * sizeof(float));
    if (n)
        *n = (size_t)e->n_elements;
    return out;
}

/* malloc'd int64 copy of an I64 tensor. */
static inline int64_t *fixture_i64(const apollo__st_file *f, const char *name, size_t *n)
{
    const apollo__st_entry *e = apollo__st_find(f, name);
    int64_t *out;
    if (!e || e->dtype != APOLLO__DT_I64) {
        fprintf(stderr, "fixture tensor %s missing or not I64\n", name);
        return NULL;
    }
    out = malloc((size_t)e->n_elements * sizeof(int64_t) + 1);
    memcpy(out, e->data, (size_t)e->n_elements * sizeof(int64_t));
    if (n)
        *n = (size_t)e->n_elements;
    return out;
}

static inline const apollo__st_entry *fixture_entry(const apollo__st_file *f, const char *name)
{
    return apollo__st_find(f, name);
}

#endif

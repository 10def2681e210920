/* The weights of one checkpoint part (llm/, a vision tower, mm_connector/):
 * either one model.safetensors or shards listed by model.safetensors.index.json.
 * Lookup by tensor name across all files; an optional name prefix (e.g.
 * "vision_model.") is prepended to every lookup. */
#ifndef APOLLO_WEIGHT_SET_H
#define APOLLO_WEIGHT_SET_H

#include "safetensors.h"

typedef struct apollo__weight_set {
    char *display_dir;           /* e.g. "llm" */
    apollo__st_file **files;
    size_t n_files;
    char prefix[64];
    float **owned;               /* float32 copies made by _bindf_f32 */
    size_t n_owned;
} apollo__weight_set;

/* dir: filesystem path of the part's folder; display_dir: how messages name it. */
int apollo__weights_open(const char *dir, const char *display_dir, apollo__weight_set **out);
void apollo__weights_close(apollo__weight_set *ws);

/* Entry named prefix+name, or NULL. */
const apollo__st_entry *apollo__weights_find(const apollo__weight_set *ws, const char *name);

/* Elements of every tensor in every file (used or not). */
int64_t apollo__weights_n_params(const apollo__weight_set *ws);

/* Looks up prefix+name and checks dtype (F32/BF16/F16) and shape (n_dims
 * values in `shape`).  Errors: APOLLO_E_MISSING_TENSOR, APOLLO_E_DTYPE,
 * APOLLO_E_SHAPE, each naming the tensor, its file and the config values. */
int apollo__weights_bind(const apollo__weight_set *ws, const char *name, int32_t n_dims,
                         const int64_t *shape, apollo__tensor *out);

/* printf-style name, shape given as a list terminated by -1. */
int apollo__weights_bindf(const apollo__weight_set *ws, apollo__tensor *out,
                          const int64_t *shape_m1_terminated, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Like apollo__weights_bindf, and also sets out->f32 to a float32 copy
 * (owned by the weight set) -- for small parameters read element-wise. */
int apollo__weights_bindf_f32(apollo__weight_set *ws, apollo__tensor *out,
                              const int64_t *shape_m1_terminated, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

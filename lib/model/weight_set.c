#include "weight_set.h"

#include "common/alloc.h"
#include "common/json_util.h"
#include "common/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int path_join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int add_file(apollo__weight_set *ws, const char *dir, const char *fname)
{
    char path[4096], display[512];
    apollo__st_file *f;
    apollo__st_file **grown;
    int rc;

    if (strchr(fname, '/') || strcmp(fname, "..") == 0)
        return apollo__fail(APOLLO_E_CONFIG, "%s/model.safetensors.index.json: shard name '%s' "
                            "must be a plain file name", ws->display_dir, fname);
    if (path_join(path, sizeof path, dir, fname))
        return apollo__fail(APOLLO_E_INVALID_ARG, "%s/%s: path too long", ws->display_dir, fname);
    snprintf(display, sizeof display, "%s/%s", ws->display_dir, fname);
    rc = apollo__st_open(path, display, &f);
    if (rc)
        return rc;
    grown = apollo__realloc(ws->files, (ws->n_files + 1) * sizeof *grown);
    if (!grown) {
        apollo__st_close(f);
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", display);
    }
    ws->files = grown;
    ws->files[ws->n_files++] = f;
    return APOLLO_OK;
}

static const apollo__st_entry *find_raw(const apollo__weight_set *ws, const char *full,
                                        size_t *file_index)
{
    for (size_t i = 0; i < ws->n_files; i++) {
        const apollo__st_entry *e = apollo__st_find(ws->files[i], full);
        if (e) {
            if (file_index)
                *file_index = i;
            return e;
        }
    }
    return NULL;
}

/* Sharded layout: every shard named in weight_map must exist, and each
 * tensor must really be in the shard the index names. */
static int open_sharded(apollo__weight_set *ws, const char *dir, const char *index_path)
{
    char where[512];
    json_t *root, *map;
    const char *key;
    json_t *val;
    int rc;

    snprintf(where, sizeof where, "%s/model.safetensors.index.json", ws->display_dir);
    root = apollo__json_load_file(index_path, where, &rc);
    if (!root)
        return rc;
    rc = apollo__json_get_object(root, "weight_map", where, &map);
    if (rc)
        goto done;
    if (json_object_size(map) == 0) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: 'weight_map' is empty", where);
        goto done;
    }
    /* Open each distinct shard once, in order of first appearance. */
    json_object_foreach(map, key, val) {
        const char *shard;
        int seen = 0;
        if (!json_is_string(val)) {
            rc = apollo__fail(APOLLO_E_CONFIG, "%s: weight_map['%s'] must be a string, got %s",
                              where, key, apollo__json_type_name(val));
            goto done;
        }
        shard = json_string_value(val);
        for (size_t i = 0; i < ws->n_files && !seen; i++) {
            const char *d = ws->files[i]->display;
            const char *base = strrchr(d, '/');
            seen = strcmp(base ? base + 1 : d, shard) == 0;
        }
        if (seen)
            continue;
        rc = add_file(ws, dir, shard);
        if (rc == APOLLO_E_NOT_FOUND) {
            rc = apollo__fail(APOLLO_E_NOT_FOUND,
                              "%s/%s: shard listed in model.safetensors.index.json not found",
                              ws->display_dir, shard);
            goto done;
        }
        if (rc)
            goto done;
    }
    json_object_foreach(map, key, val) {
        size_t fi;
        const char *shard = json_string_value(val);
        const apollo__st_entry *e = find_raw(ws, key, &fi);
        const char *d, *base;
        if (!e) {
            rc = apollo__fail(APOLLO_E_MISSING_TENSOR,
                              "%s: tensor '%s' is listed in the index (shard %s) but is in no "
                              "shard",
                              where, key, shard);
            goto done;
        }
        d = ws->files[fi]->display;
        base = strrchr(d, '/');
        if (strcmp(base ? base + 1 : d, shard) != 0) {
            rc = apollo__fail(APOLLO_E_FORMAT, "%s: tensor '%s' is listed in %s but stored in %s",
                              where, key, shard, base ? base + 1 : d);
            goto done;
        }
    }
    rc = APOLLO_OK;
done:
    json_decref(root);
    return rc;
}

int apollo__weights_open(const char *dir, const char *display_dir, apollo__weight_set **out)
{
    char path[4096];
    apollo__weight_set *ws;
    int rc;

    *out = NULL;
    ws = apollo__calloc(1, sizeof *ws);
    if (!ws)
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", display_dir);
    ws->display_dir = apollo__strdup(display_dir);
    if (!ws->display_dir) {
        apollo__free(ws);
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", display_dir);
    }
    if (path_join(path, sizeof path, dir, "model.safetensors.index.json")) {
        rc = apollo__fail(APOLLO_E_INVALID_ARG, "%s: path too long", display_dir);
        goto fail;
    }
    if (file_exists(path)) {
        rc = open_sharded(ws, dir, path);
    } else {
        path_join(path, sizeof path, dir, "model.safetensors");
        if (!file_exists(path)) {
            rc = apollo__fail(APOLLO_E_NOT_FOUND,
                              "%s: no model.safetensors and no model.safetensors.index.json",
                              display_dir);
            goto fail;
        }
        rc = add_file(ws, dir, "model.safetensors");
    }
    if (rc)
        goto fail;
    /* A tensor name stored twice (in two shards) is ambiguous. */
    for (size_t i = 0; i < ws->n_files; i++)
        for (size_t j = i + 1; j < ws->n_files; j++)
            for (size_t k = 0; k < ws->files[i]->n_entries; k++)
                if (apollo__st_find(ws->files[j], ws->files[i]->entries[k].name)) {
                    rc = apollo__fail(APOLLO_E_FORMAT, "%s: tensor '%s' is stored in both %s and %s",
                                      display_dir, ws->files[i]->entries[k].name,
                                      ws->files[i]->display, ws->files[j]->display);
                    goto fail;
                }
    *out = ws;
    return APOLLO_OK;
fail:
    apollo__weights_close(ws);
    return rc;
}

void apollo__weights_close(apollo__weight_set *ws)
{
    if (!ws)
        return;
    for (size_t i = 0; i < ws->n_files; i++)
        apollo__st_close(ws->files[i]);
    apollo__free(ws->files);
    for (size_t i = 0; i < ws->n_owned; i++)
        apollo__free(ws->owned[i]);
    apollo__free(ws->owned);
    apollo__free(ws->display_dir);
    apollo__free(ws);
}

const apollo__st_entry *apollo__weights_find(const apollo__weight_set *ws, const char *name)
{
    char full[512];
    if (snprintf(full, sizeof full, "%s%s", ws->prefix, name) >= (int)sizeof full)
        return NULL;
    return find_raw(ws, full, NULL);
}

int64_t apollo__weights_n_params(const apollo__weight_set *ws)
{
    int64_t n = 0;
    for (size_t i = 0; i < ws->n_files; i++)
        for (size_t k = 0; k < ws->files[i]->n_entries; k++)
            n += ws->files[i]->entries[k].n_elements;
    return n;
}

static void shape_str(char *buf, size_t cap, int32_t n_dims, const int64_t *shape)
{
    size_t off = 0;
    off += (size_t)snprintf(buf + off, cap - off, "[");
    for (int32_t i = 0; i < n_dims && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (off < cap)
        snprintf(buf + off, cap - off, "]");
}

int apollo__weights_bind(const apollo__weight_set *ws, const char *name, int32_t n_dims,
                         const int64_t *shape, apollo__tensor *out)
{
    char full[512];
    size_t fi = 0;
    const apollo__st_entry *e;
    int ok = 1;

    snprintf(full, sizeof full, "%s%s", ws->prefix, name);
    e = find_raw(ws, full, &fi);
    if (!e)
        return apollo__fail(APOLLO_E_MISSING_TENSOR, "%s: required tensor '%s' is missing",
                            ws->display_dir, full);
    if (!apollo__dtype_is_float_weight(e->dtype))
        return apollo__fail(APOLLO_E_DTYPE,
                            "%s: tensor '%s' has dtype %s; only BF16, F16 and F32 are supported",
                            ws->files[fi]->display, full, e->dtype_name);
    if (e->n_dims != n_dims)
        ok = 0;
    for (int32_t i = 0; ok && i < n_dims; i++)
        ok = e->shape[i] == shape[i];
    if (!ok) {
        char have[128], want[128];
        shape_str(have, sizeof have, e->n_dims, e->shape);
        shape_str(want, sizeof want, n_dims, shape);
        return apollo__fail(APOLLO_E_SHAPE, "%s: tensor '%s' has shape %s but the config implies %s",
                            ws->files[fi]->display, full, have, want);
    }
    memset(out, 0, sizeof *out);
    out->dtype = e->dtype;
    out->n_dims = n_dims;
    memcpy(out->shape, shape, (size_t)n_dims * sizeof *shape);
    out->data = e->data;
    return APOLLO_OK;
}

int apollo__weights_bindf(const apollo__weight_set *ws, apollo__tensor *out,
                          const int64_t *shape, const char *fmt, ...)
{
    char name[256];
    int32_t n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    while (shape[n] >= 0 && n < APOLLO__MAX_DIMS)
        n++;
    return apollo__weights_bind(ws, name, n, shape, out);
}

int apollo__weights_bindf_f32(apollo__weight_set *ws, apollo__tensor *out, const int64_t *shape,
                              const char *fmt, ...)
{
    char name[256];
    int32_t n = 0;
    int rc;
    size_t numel, bytes;
    float *copy, **grown;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    while (shape[n] >= 0 && n < APOLLO__MAX_DIMS)
        n++;
    rc = apollo__weights_bind(ws, name, n, shape, out);
    if (rc)
        return rc;
    numel = (size_t)apollo__tensor_numel(out);
    if (apollo__mul_size(numel, sizeof(float), &bytes))
        return apollo__fail(APOLLO_E_NOMEM, "%s: tensor '%s' too large", ws->display_dir, name);
    grown = apollo__realloc(ws->owned, (ws->n_owned + 1) * sizeof *grown);
    if (!grown)
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", ws->display_dir);
    ws->owned = grown;
    copy = apollo__malloc(bytes);
    if (!copy)
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory for '%s'", ws->display_dir, name);
    apollo__to_f32(out->dtype, out->data, copy, numel);
    ws->owned[ws->n_owned++] = copy;
    out->f32 = copy;
    return APOLLO_OK;
}

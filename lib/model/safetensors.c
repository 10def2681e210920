#include "safetensors.h"

#include "common/alloc.h"
#include "common/json_util.h"
#include "common/status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A header larger than this is not a real checkpoint (real ones are < 1 MB). */
#define ST_MAX_HEADER ((uint64_t)256 << 20)

static int parse_u64(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int parse_entry(apollo__st_file *f, const char *name, json_t *obj, apollo__st_entry *e)
{
    json_t *dtype = json_object_get(obj, "dtype");
    json_t *shape = json_object_get(obj, "shape");
    json_t *offs = json_object_get(obj, "data_offsets");
    size_t i;
    uint64_t nbytes, elsize;

    if (!json_is_object(obj))
        return apollo__fail(APOLLO_E_FORMAT, "%s: header entry '%s' is not an object", f->display,
                            name);
    if (!json_is_string(dtype) || !json_is_array(shape) || !json_is_array(offs) ||
        json_array_size(offs) != 2)
        return apollo__fail(APOLLO_E_FORMAT,
                            "%s: header entry '%s' needs dtype (string), shape (array) and "
                            "data_offsets ([begin, end])",
                            f->display, name);
    e->name = apollo__strdup(name);
    if (!e->name)
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", f->display);
    snprintf(e->dtype_name, sizeof e->dtype_name, "%s", json_string_value(dtype));
    e->dtype = apollo__dtype_from_name(json_string_value(dtype));
    if (json_array_size(shape) > APOLLO__MAX_DIMS)
        return apollo__fail(APOLLO_E_FORMAT, "%s: tensor '%s' has %zu dimensions (at most %d)",
                            f->display, name, json_array_size(shape), APOLLO__MAX_DIMS);
    e->n_dims = (int32_t)json_array_size(shape);
    e->n_elements = 1;
    for (i = 0; i < json_array_size(shape); i++) {
        uint64_t d;
        if (parse_u64(json_array_get(shape, i), &d) || d > ((uint64_t)1 << 40))
            return apollo__fail(APOLLO_E_FORMAT, "%s: tensor '%s' has an invalid shape",
                                f->display, name);
        e->shape[i] = (int64_t)d;
        if (d && (uint64_t)e->n_elements > ((uint64_t)1 << 50) / d)
            return apollo__fail(APOLLO_E_FORMAT, "%s: tensor '%s' is impossibly large",
                                f->display, name);
        e->n_elements *= (int64_t)d;
    }
    if (parse_u64(json_array_get(offs, 0), &e->begin) ||
        parse_u64(json_array_get(offs, 1), &e->end))
        return apollo__fail(APOLLO_E_FORMAT,
                            "%s: tensor '%s' has data_offsets that are not non-negative integers",
                            f->display, name);
    if (e->begin > e->end)
        return apollo__fail(APOLLO_E_FORMAT,
                            "%s: tensor '%s' has data_offsets out of order [%llu, %llu]",
                            f->display, name, (unsigned long long)e->begin,
                            (unsigned long long)e->end);
    elsize = apollo__dtype_size(e->dtype);
    if (elsize) {
        nbytes = (uint64_t)e->n_elements * elsize;
        if (e->end - e->begin != nbytes)
            return apollo__fail(APOLLO_E_FORMAT,
                                "%s: tensor '%s' (%s, %lld elements) needs %llu bytes but its "
                                "data_offsets span %llu",
                                f->display, name, e->dtype_name, (long long)e->n_elements,
                                (unsigned long long)nbytes,
                                (unsigned long long)(e->end - e->begin));
    }
    return APOLLO_OK;
}

static int cmp_begin(const void *a, const void *b)
{
    const apollo__st_entry *x = *(const apollo__st_entry *const *)a;
    const apollo__st_entry *y = *(const apollo__st_entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_name(const void *a, const void *b)
{
    const apollo__st_entry *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Offsets must lie inside the data section and must not overlap.  When the
 * tensors tile [0, end) exactly but the file stops early, say "truncated". */
static int check_layout(apollo__st_file *f)
{
    apollo__st_entry **order;
    uint64_t max_end = 0, covered = 0;
    int contiguous = 1;
    size_t i;
    int rc = APOLLO_OK;

    if (f->n_entries == 0)
        return APOLLO_OK;
    order = apollo__malloc(f->n_entries * sizeof *order);
    if (!order)
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", f->display);
    for (i = 0; i < f->n_entries; i++)
        order[i] = &f->entries[i];
    qsort(order, f->n_entries, sizeof *order, cmp_begin);
    for (i = 0; i < f->n_entries; i++) {
        const apollo__st_entry *e = order[i];
        if (e->begin == e->end)
            continue;
        if (e->begin < covered) {
            rc = apollo__fail(APOLLO_E_FORMAT,
                              "%s: tensors '%s' and '%s' have overlapping data_offsets",
                              f->display, order[i - 1]->name, e->name);
            goto done;
        }
        if (e->begin != covered)
            contiguous = 0;
        covered = e->end;
        if (e->end > max_end)
            max_end = e->end;
    }
    if (max_end > f->data_size) {
        const apollo__st_entry *last = order[f->n_entries - 1];
        if (contiguous)
            rc = apollo__fail(APOLLO_E_FORMAT,
                              "%s: file is truncated: the header describes %llu data bytes but "
                              "only %llu are present",
                              f->display, (unsigned long long)max_end,
                              (unsigned long long)f->data_size);
        else
            rc = apollo__fail(APOLLO_E_FORMAT,
                              "%s: data_offsets out of range: tensor '%s' ends at byte %llu of a "
                              "%llu-byte data section",
                              f->display, last->name, (unsigned long long)last->end,
                              (unsigned long long)f->data_size);
    }
done:
    apollo__free(order);
    return rc;
}

static int parse_header(apollo__st_file *f, const char *hdr, size_t len)
{
    int rc;
    json_t *root = apollo__json_load_buffer(hdr, len, "header", &rc);
    const char *key;
    json_t *val;
    size_t n = 0;

    if (!root)
        return rc == APOLLO_E_JSON
                   ? apollo__fail_context(APOLLO_E_FORMAT, "%s: header is not valid JSON",
                                          f->display)
                   : rc == APOLLO_E_NOMEM ? apollo__fail_context(rc, "%s", f->display)
                   : rc;
    if (!json_is_object(root)) {
        json_decref(root);
        return apollo__fail(APOLLO_E_FORMAT, "%s: header is not a JSON object", f->display);
    }
    f->entries = apollo__calloc(json_object_size(root) + 1, sizeof *f->entries);
    if (!f->entries) {
        json_decref(root);
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", f->display);
    }
    rc = APOLLO_OK;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0)
            continue;
        rc = parse_entry(f, key, val, &f->entries[n]);
        n++; /* count even on failure so the name is freed */
        if (rc)
            break;
    }
    f->n_entries = n;
    json_decref(root);
    if (rc)
        return rc;
    rc = check_layout(f);
    if (rc)
        return rc;
    for (size_t i = 0; i < f->n_entries; i++)
        f->entries[i].data = f->data + f->entries[i].begin;
    qsort(f->entries, f->n_entries, sizeof *f->entries, cmp_name);
    return APOLLO_OK;
}

int apollo__st_open(const char *path, const char *display, apollo__st_file **out)
{
    apollo__st_file *f;
    struct stat st;
    int fd, rc;
    uint64_t hlen = 0;

    *out = NULL;
    f = apollo__calloc(1, sizeof *f);
    if (!f)
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", display);
    f->display = apollo__strdup(display);
    if (!f->display) {
        apollo__free(f);
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", display);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        rc = apollo__fail(e == ENOENT ? APOLLO_E_NOT_FOUND : APOLLO_E_IO, "%s: %s", display,
                          e == ENOENT ? "file not found" : strerror(e));
        goto fail;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        rc = apollo__fail(APOLLO_E_IO, "%s: not a regular file", display);
        goto fail;
    }
    if (st.st_size < 8) {
        close(fd);
        rc = apollo__fail(APOLLO_E_FORMAT,
                          "%s: file is truncated: %lld bytes, shorter than the 8-byte header "
                          "length",
                          display, (long long)st.st_size);
        goto fail;
    }
    f->map_size = (size_t)st.st_size;
    f->map = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        rc = apollo__fail(APOLLO_E_IO, "%s: cannot map: %s", display, strerror(errno));
        goto fail;
    }
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | ((const unsigned char *)f->map)[i];
    if (hlen > f->map_size - 8) {
        rc = apollo__fail(APOLLO_E_FORMAT,
                          "%s: header length %llu is larger than the file (%zu bytes)", display,
                          (unsigned long long)hlen, f->map_size);
        goto fail;
    }
    if (hlen < 2 || hlen > ST_MAX_HEADER) {
        rc = apollo__fail(APOLLO_E_FORMAT, "%s: implausible header length %llu", display,
                          (unsigned long long)hlen);
        goto fail;
    }
    f->data = (const unsigned char *)f->map + 8 + hlen;
    f->data_size = f->map_size - 8 - (size_t)hlen;
    rc = parse_header(f, (const char *)f->map + 8, (size_t)hlen);
    if (rc)
        goto fail;
    *out = f;
    return APOLLO_OK;
fail:
    apollo__st_close(f);
    return rc;
}

void apollo__st_close(apollo__st_file *f)
{
    if (!f)
        return;
    if (f->map)
        munmap(f->map, f->map_size);
    for (size_t i = 0; i < f->n_entries; i++)
        apollo__free(f->entries[i].name);
    apollo__free(f->entries);
    apollo__free(f->display);
    apollo__free(f);
}

const apollo__st_entry *apollo__st_find(const apollo__st_file *f, const char *name)
{
    apollo__st_entry key;
    key.name = (char *)name;
    return bsearch(&key, f->entries, f->n_entries, sizeof key, cmp_name);
}

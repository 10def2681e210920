#include "json_util.h"

#include "alloc.h"
#include "status.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson's allocator is process-global; install ours once so that JSON
 * memory is counted and can be failed by the allocation tests. */
static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

/* jansson's parser does not always report a failed allocation (its lexer
 * drops a failed buffer append and may then mis-parse, succeed with a
 * damaged string, or -- jansson 2.14 -- write out of bounds), so every parse
 * watches for one itself.  For the same reason jansson's allocations are
 * kept out of the allocation-failure injection of the tests (they call
 * malloc directly): a failure inside jansson cannot be handled safely. */
static _Thread_local int json_alloc_failed;

static void *json_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        json_alloc_failed = 1;
    return p;
}

static void install_allocator(void)
{
    json_set_alloc_funcs(json_alloc, free);
}

static json_t *parse_error(const json_error_t *err, const char *name, int *rc)
{
    /* jansson reports allocation failure as a generic error; its text says so. */
    if (strstr(err->text, "out of memory") || strstr(err->text, "nable to allocate")) {
        *rc = apollo__fail(APOLLO_E_NOMEM, "%s: out of memory while parsing JSON", name);
        return NULL;
    }
    *rc = apollo__fail(APOLLO_E_JSON, "%s: malformed JSON at line %d, column %d: %s", name,
                       err->line, err->column, err->text);
    return NULL;
}

void apollo__json_watch_reset(void)
{
    pthread_once(&alloc_once, install_allocator);
    json_alloc_failed = 0;
}

int apollo__json_watch_failed(void)
{
    return json_alloc_failed;
}

json_t *apollo__json_load_buffer(const char *buf, size_t len, const char *name, int *rc)
{
    json_error_t err;
    json_t *root;
    pthread_once(&alloc_once, install_allocator);
    json_alloc_failed = 0;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (json_alloc_failed) {
        json_decref(root);
        *rc = apollo__fail(APOLLO_E_NOMEM, "%s: out of memory while parsing JSON", name);
        return NULL;
    }
    if (!root)
        return parse_error(&err, name, rc);
    *rc = APOLLO_OK;
    return root;
}

json_t *apollo__json_load_file(const char *path, const char *name, int *rc)
{
    FILE *f;
    long size;
    char *buf;
    json_t *root;

    f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        *rc = apollo__fail(e == ENOENT ? APOLLO_E_NOT_FOUND : APOLLO_E_IO, "%s: %s", name,
                           e == ENOENT ? "file not found" : strerror(e));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        *rc = apollo__fail(APOLLO_E_IO, "%s: cannot read (not a regular file?)", name);
        return NULL;
    }
    buf = apollo__malloc((size_t)size + 1);
    if (!buf) {
        fclose(f);
        *rc = apollo__fail(APOLLO_E_NOMEM, "%s: out of memory reading %ld bytes", name, size);
        return NULL;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        apollo__free(buf);
        *rc = apollo__fail(APOLLO_E_IO, "%s: read error", name);
        return NULL;
    }
    fclose(f);
    root = apollo__json_load_buffer(buf, (size_t)size, name, rc);
    apollo__free(buf);
    return root;
}

const char *apollo__json_type_name(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

static int lookup(const json_t *obj, const char *key, const char *where, int optional,
                  json_t **v)
{
    *v = json_object_get(obj, key);
    if (!*v || json_is_null(*v)) {
        *v = NULL;
        if (optional)
            return APOLLO_OK;
        return apollo__fail(APOLLO_E_CONFIG, "%s: missing key '%s'", where, key);
    }
    return APOLLO_OK;
}

static int wrong_type(const char *where, const char *key, const char *want, const json_t *v)
{
    return apollo__fail(APOLLO_E_CONFIG, "%s: '%s' must be %s, got %s", where, key, want,
                        apollo__json_type_name(v));
}

static int get_int(const json_t *obj, const char *key, const char *where, int optional,
                   int64_t *out)
{
    json_t *v;
    int rc = lookup(obj, key, where, optional, &v);
    if (rc || !v)
        return rc;
    if (!json_is_integer(v))
        return wrong_type(where, key, "an integer", v);
    *out = (int64_t)json_integer_value(v);
    return APOLLO_OK;
}

static int get_number(const json_t *obj, const char *key, const char *where, int optional,
                      double *out)
{
    json_t *v;
    int rc = lookup(obj, key, where, optional, &v);
    if (rc || !v)
        return rc;
    if (!json_is_number(v))
        return wrong_type(where, key, "a number", v);
    *out = json_number_value(v);
    return APOLLO_OK;
}

static int get_bool(const json_t *obj, const char *key, const char *where, int optional,
                    int *out)
{
    json_t *v;
    int rc = lookup(obj, key, where, optional, &v);
    if (rc || !v)
        return rc;
    if (!json_is_boolean(v))
        return wrong_type(where, key, "a boolean", v);
    *out = json_is_true(v);
    return APOLLO_OK;
}

static int get_string(const json_t *obj, const char *key, const char *where, int optional,
                      const char **out)
{
    json_t *v;
    int rc = lookup(obj, key, where, optional, &v);
    if (rc || !v)
        return rc;
    if (!json_is_string(v))
        return wrong_type(where, key, "a string", v);
    *out = json_string_value(v);
    return APOLLO_OK;
}

int apollo__json_get_int(const json_t *o, const char *k, const char *w, int64_t *out)
{
    return get_int(o, k, w, 0, out);
}
int apollo__json_opt_int(const json_t *o, const char *k, const char *w, int64_t *out)
{
    return get_int(o, k, w, 1, out);
}
int apollo__json_get_number(const json_t *o, const char *k, const char *w, double *out)
{
    return get_number(o, k, w, 0, out);
}
int apollo__json_opt_number(const json_t *o, const char *k, const char *w, double *out)
{
    return get_number(o, k, w, 1, out);
}
int apollo__json_get_bool(const json_t *o, const char *k, const char *w, int *out)
{
    return get_bool(o, k, w, 0, out);
}
int apollo__json_opt_bool(const json_t *o, const char *k, const char *w, int *out)
{
    return get_bool(o, k, w, 1, out);
}
int apollo__json_get_string(const json_t *o, const char *k, const char *w, const char **out)
{
    return get_string(o, k, w, 0, out);
}
int apollo__json_opt_string(const json_t *o, const char *k, const char *w, const char **out)
{
    return get_string(o, k, w, 1, out);
}

int apollo__json_get_object(const json_t *o, const char *k, const char *w, json_t **out)
{
    json_t *v;
    int rc = lookup(o, k, w, 0, &v);
    if (rc)
        return rc;
    if (!json_is_object(v))
        return wrong_type(w, k, "an object", v);
    *out = v;
    return APOLLO_OK;
}

int apollo__json_get_array(const json_t *o, const char *k, const char *w, json_t **out)
{
    json_t *v;
    int rc = lookup(o, k, w, 0, &v);
    if (rc)
        return rc;
    if (!json_is_array(v))
        return wrong_type(w, k, "an array", v);
    *out = v;
    return APOLLO_OK;
}

/* JSON files through jansson, with the library's allocator and with errors
 * that name the file and the key ("llm/config.json: 'hidden_size' must be an
 * integer, got string"). */
#ifndef APOLLO_JSON_UTIL_H
#define APOLLO_JSON_UTIL_H

#include <jansson.h>
#include <stdint.h>

/* Parses a whole file.  On failure returns NULL after apollo__fail():
 * APOLLO_E_NOT_FOUND, APOLLO_E_IO, APOLLO_E_JSON (with line/column) or
 * APOLLO_E_NOMEM; *rc receives the code. */
json_t *apollo__json_load_file(const char *path, const char *display_name, int *rc);

/* Parses a buffer (not NUL-terminated). */
json_t *apollo__json_load_buffer(const char *buf, size_t len, const char *display_name, int *rc);

/* Typed getters.  `where` names the file (or "file: object") for messages.
 * Missing key or wrong type -> APOLLO_E_CONFIG. */
int apollo__json_get_int(const json_t *obj, const char *key, const char *where, int64_t *out);
int apollo__json_get_number(const json_t *obj, const char *key, const char *where, double *out);
int apollo__json_get_bool(const json_t *obj, const char *key, const char *where, int *out);
int apollo__json_get_string(const json_t *obj, const char *key, const char *where, const char **out);
int apollo__json_get_object(const json_t *obj, const char *key, const char *where, json_t **out);
int apollo__json_get_array(const json_t *obj, const char *key, const char *where, json_t **out);

/* Same, but an absent key (or JSON null) leaves *out unchanged and succeeds. */
int apollo__json_opt_int(const json_t *obj, const char *key, const char *where, int64_t *out);
int apollo__json_opt_number(const json_t *obj, const char *key, const char *where, double *out);
int apollo__json_opt_bool(const json_t *obj, const char *key, const char *where, int *out);
int apollo__json_opt_string(const json_t *obj, const char *key, const char *where, const char **out);

/* Building JSON with jansson (json_object_set_new, json_pack, json_dumps)
 * does not always report a failed allocation: reset the watch, build, then
 * ask whether any allocation failed on this thread meanwhile. */
void apollo__json_watch_reset(void);
int apollo__json_watch_failed(void);

/* Human name of a JSON value's type ("string", "integer", ...). */
const char *apollo__json_type_name(const json_t *v);

#endif

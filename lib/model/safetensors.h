/* One memory-mapped .safetensors file: an 8-byte little-endian header length,
 * a JSON header {name: {dtype, shape, data_offsets:[begin,end]}, ...,
 * "__metadata__": {...}}, then the data section.  Opening validates the whole
 * header (bounds, overlaps, sizes) but touches no tensor data. */
#ifndef APOLLO_SAFETENSORS_H
#define APOLLO_SAFETENSORS_H

#include "common/dtype.h"
#include "common/tensor.h"

#include <stddef.h>
#include <stdint.h>

typedef struct apollo__st_entry {
    char *name;
    char dtype_name[16];      /* as written in the header */
    apollo__dtype dtype;      /* APOLLO__DT_UNKNOWN for names we do not know */
    int32_t n_dims;
    int64_t shape[APOLLO__MAX_DIMS];
    int64_t n_elements;
    uint64_t begin, end;      /* byte offsets in the data section */
    const void *data;         /* into the mapping */
} apollo__st_entry;

typedef struct apollo__st_file {
    char *display;            /* e.g. "llm/model-00001-of-00002.safetensors" */
    void *map;
    size_t map_size;
    const unsigned char *data;
    size_t data_size;
    apollo__st_entry *entries;
    size_t n_entries;
} apollo__st_file;

/* Maps and validates `path`; `display` names the file in error messages. */
int apollo__st_open(const char *path, const char *display, apollo__st_file **out);
void apollo__st_close(apollo__st_file *f);
const apollo__st_entry *apollo__st_find(const apollo__st_file *f, const char *name);

#endif

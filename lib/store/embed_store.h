/* The saved-embeddings file: visual embeddings of an encoded video plus
 * what is needed to use them again without the video (clip timestamps,
 * prompt text, video metadata as JSON) and a fingerprint of the model and
 * preprocessing settings that produced them.
 *
 * Layout (little-endian):
 *   "APOLLOEM"            8-byte magic
 *   u32 version           APOLLO__EMBED_FORMAT_VERSION
 *   u32 meta_len          bytes of the JSON metadata that follows
 *   meta                  UTF-8 JSON object (not NUL-terminated)
 *   u8[32] fingerprint
 *   u64 n_floats          float32 values in the payload
 *   u64 zlen              compressed payload bytes
 *   payload               zlib (deflate) of the float32 values
 *   u32 crc32             of every byte above
 *
 * Writing is atomic: a temporary file in the target's directory is
 * written, flushed, fsync'ed and renamed over the target (then the
 * directory is fsync'ed), so a crash or a full disk never leaves a partial
 * file under the final name.  Reading checks magic, version, sizes and the
 * CRC before anything is trusted. */
#ifndef APOLLO_EMBED_STORE_H
#define APOLLO_EMBED_STORE_H

#include <stddef.h>
#include <stdint.h>

#define APOLLO__EMBED_FORMAT_VERSION 1u
#define APOLLO__FINGERPRINT_BYTES 32

typedef struct apollo__embed_record {
    char *meta_json;                 /* NUL-terminated */
    uint8_t fingerprint[APOLLO__FINGERPRINT_BYTES];
    float *data;
    uint64_t n_floats;
} apollo__embed_record;

int apollo__embed_store_write(const char *path, const apollo__embed_record *rec);
/* Fills rec (meta_json and data from apollo__malloc; release with
 * apollo__embed_record_free).  APOLLO_E_NOT_FOUND, APOLLO_E_IO,
 * APOLLO_E_FORMAT (bad magic, unknown version, truncated, CRC mismatch,
 * inconsistent sizes), APOLLO_E_NOMEM. */
int apollo__embed_store_read(const char *path, apollo__embed_record *rec);
void apollo__embed_record_free(apollo__embed_record *rec);

/* Test hook: the writer fails (as if the disk were full) after writing
 * this many bytes; 0 disables. */
void apollo__embed_store_fail_after(uint64_t n_bytes);

#endif

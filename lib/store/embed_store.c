#include "embed_store.h"

#include "apollo.h"
#include "common/alloc.h"
#include "common/status.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char MAGIC[8] = {'A', 'P', 'O', 'L', 'L', 'O', 'E', 'M'};
/* Sanity limits for reading: refuse absurd sizes before allocating. */
#define MAX_META ((uint32_t)64 << 20)
#define MAX_FLOATS ((uint64_t)1 << 34)

static _Atomic uint64_t fail_after;

void apollo__embed_store_fail_after(uint64_t n_bytes)
{
    atomic_store(&fail_after, n_bytes);
}

/* ---- writing ------------------------------------------------------------------- */

typedef struct writer {
    int fd;
    uLong crc;
    uint64_t written;
    int err; /* errno of the first failure */
} writer;

static void w_bytes(writer *w, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t limit = atomic_load(&fail_after);
    if (w->err)
        return;
    w->crc = crc32(w->crc, b, (uInt)n);
    while (n > 0) {
        size_t chunk = n;
        ssize_t k;
        if (limit && w->written + chunk > limit) {
            if (w->written >= limit) {
                w->err = ENOSPC;
                return;
            }
            chunk = (size_t)(limit - w->written);
        }
        k = write(w->fd, b, chunk);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            w->err = errno;
            return;
        }
        b += k;
        n -= (size_t)k;
        w->written += (uint64_t)k;
    }
}

static void w_u32(writer *w, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(w, b, 4);
}

static void w_u64(writer *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(w, b, 8);
}

static int fsync_dir_of(const char *path)
{
    char *copy = apollo__strdup(path);
    int fd, rc = 0;
    if (!copy)
        return -1;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    apollo__free(copy);
    return rc;
}

int apollo__embed_store_write(const char *path, const apollo__embed_record *rec)
{
    size_t meta_len = strlen(rec->meta_json), raw_bytes, tmp_len;
    uLongf zcap, zlen;
    unsigned char *z = NULL;
    char *tmp = NULL;
    writer w = {-1, 0, 0, 0};
    int rc;

    if (apollo__mul_size((size_t)rec->n_floats, sizeof(float), &raw_bytes))
        return apollo__fail(APOLLO_E_INVALID_ARG, "%s: embeddings too large", path);
    zcap = compressBound((uLong)raw_bytes);
    z = apollo__malloc(zcap ? zcap : 1);
    if (!z)
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory compressing %zu bytes", path,
                            raw_bytes);
    zlen = zcap;
    if (compress2(z, &zlen, (const Bytef *)rec->data, (uLong)raw_bytes, Z_DEFAULT_COMPRESSION) !=
        Z_OK) {
        apollo__free(z);
        return apollo__fail(APOLLO_E_NOMEM, "%s: compression failed", path);
    }
    tmp_len = strlen(path) + 16;
    tmp = apollo__malloc(tmp_len);
    if (!tmp) {
        apollo__free(z);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory");
    }
    snprintf(tmp, tmp_len, "%s.tmpXXXXXX", path);
    w.fd = mkstemp(tmp);
    if (w.fd < 0) {
        int e = errno;
        apollo__free(z);
        apollo__free(tmp);
        return apollo__fail(e == ENOENT ? APOLLO_E_NOT_FOUND : APOLLO_E_IO,
                            "%s: cannot create a temporary file next to it: %s", path,
                            strerror(e));
    }
    w.crc = crc32(0L, Z_NULL, 0);
    w_bytes(&w, MAGIC, sizeof MAGIC);
    w_u32(&w, APOLLO__EMBED_FORMAT_VERSION);
    w_u32(&w, (uint32_t)meta_len);
    w_bytes(&w, rec->meta_json, meta_len);
    w_bytes(&w, rec->fingerprint, APOLLO__FINGERPRINT_BYTES);
    w_u64(&w, rec->n_floats);
    w_u64(&w, (uint64_t)zlen);
    w_bytes(&w, z, zlen);
    {
        uLong crc = w.crc;
        w_u32(&w, (uint32_t)crc);
    }
    apollo__free(z);
    if (!w.err && fsync(w.fd) != 0)
        w.err = errno;
    if (close(w.fd) != 0 && !w.err)
        w.err = errno;
    if (!w.err && rename(tmp, path) != 0)
        w.err = errno;
    if (w.err) {
        unlink(tmp);
        rc = apollo__fail(APOLLO_E_IO, "%s: write failed (%s); any previous file is unchanged",
                          path, strerror(w.err));
        apollo__free(tmp);
        return rc;
    }
    apollo__free(tmp);
    fsync_dir_of(path);
    return APOLLO_OK;
}

/* ---- reading ------------------------------------------------------------------- */

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd_u64(const unsigned char *p)
{
    return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32;
}

void apollo__embed_record_free(apollo__embed_record *rec)
{
    apollo__free(rec->meta_json);
    apollo__free(rec->data);
    memset(rec, 0, sizeof *rec);
}

int apollo__embed_store_read(const char *path, apollo__embed_record *rec)
{
    unsigned char *buf = NULL;
    struct stat st;
    size_t size, off = 0, need;
    uint32_t version, meta_len, crc_stored;
    uint64_t zlen, raw_bytes;
    uLongf out_len;
    FILE *f;
    int rc = APOLLO_OK;

    memset(rec, 0, sizeof *rec);
    f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return apollo__fail(e == ENOENT ? APOLLO_E_NOT_FOUND : APOLLO_E_IO, "%s: %s", path,
                            e == ENOENT ? "file not found" : strerror(e));
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return apollo__fail(APOLLO_E_IO, "%s: not a regular file", path);
    }
    size = (size_t)st.st_size;
    if (size < sizeof MAGIC + 8 + APOLLO__FINGERPRINT_BYTES + 16 + 4) {
        fclose(f);
        return apollo__fail(APOLLO_E_FORMAT, "%s: truncated: %zu bytes is too short for a "
                            "saved-embeddings file", path, size);
    }
    /* Check the magic before reading the whole file, so that a large file
     * of another kind is refused without reading it into memory. */
    {
        unsigned char head[sizeof MAGIC];
        if (fread(head, 1, sizeof head, f) != sizeof head || fseek(f, 0, SEEK_SET) != 0) {
            fclose(f);
            return apollo__fail(APOLLO_E_IO, "%s: read error", path);
        }
        if (memcmp(head, MAGIC, sizeof MAGIC) != 0) {
            fclose(f);
            return apollo__fail(APOLLO_E_FORMAT, "%s: not a libapollo saved-embeddings file",
                                path);
        }
    }
    buf = apollo__malloc(size);
    if (!buf) {
        fclose(f);
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    if (fread(buf, 1, size, f) != size) {
        fclose(f);
        apollo__free(buf);
        return apollo__fail(APOLLO_E_IO, "%s: read error", path);
    }
    fclose(f);
    if (memcmp(buf, MAGIC, sizeof MAGIC) != 0) {
        rc = apollo__fail(APOLLO_E_FORMAT, "%s: not a libapollo saved-embeddings file", path);
        goto done;
    }
    off = sizeof MAGIC;
    version = rd_u32(buf + off);
    meta_len = rd_u32(buf + off + 4);
    off += 8;
    if (version != APOLLO__EMBED_FORMAT_VERSION) {
        rc = apollo__fail(APOLLO_E_FORMAT,
                          "%s: format version %u is not supported (this library reads %u)", path,
                          version, APOLLO__EMBED_FORMAT_VERSION);
        goto done;
    }
    need = off + (size_t)meta_len + APOLLO__FINGERPRINT_BYTES + 16;
    if (meta_len > MAX_META || need + 4 > size) {
        rc = apollo__fail(APOLLO_E_FORMAT, "%s: truncated or corrupt (metadata length %u)", path,
                          meta_len);
        goto done;
    }
    zlen = rd_u64(buf + need - 8);
    rec->n_floats = rd_u64(buf + need - 16);
    /* deflate expands at most ~1032:1, so a payload of zlen bytes cannot
     * hold more than that: refuse before allocating for a lying count */
    if (rec->n_floats > MAX_FLOATS || zlen != size - need - 4 ||
        rec->n_floats * sizeof(float) > zlen * 1032u + 64u) {
        rc = apollo__fail(APOLLO_E_FORMAT,
                          "%s: truncated or corrupt (payload of %llu bytes, file holds %zu)",
                          path, (unsigned long long)zlen, size >= need + 4 ? size - need - 4 : 0);
        goto done;
    }
    crc_stored = rd_u32(buf + size - 4);
    if ((uint32_t)crc32_z(crc32(0L, Z_NULL, 0), buf, size - 4) != crc_stored) {
        rc = apollo__fail(APOLLO_E_FORMAT, "%s: checksum mismatch: the file is corrupt", path);
        goto done;
    }
    rec->meta_json = apollo__strndup((const char *)buf + off, meta_len);
    memcpy(rec->fingerprint, buf + off + meta_len, APOLLO__FINGERPRINT_BYTES);
    raw_bytes = rec->n_floats * sizeof(float);
    rec->data = apollo__malloc(raw_bytes ? (size_t)raw_bytes : 1);
    if (!rec->meta_json || !rec->data) {
        rc = apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    out_len = (uLongf)raw_bytes;
    if (uncompress((Bytef *)rec->data, &out_len, buf + need, (uLong)zlen) != Z_OK ||
        out_len != raw_bytes) {
        rc = apollo__fail(APOLLO_E_FORMAT, "%s: payload does not decompress to %llu floats",
                          path, (unsigned long long)rec->n_floats);
        goto done;
    }
done:
    apollo__free(buf);
    if (rc)
        apollo__embed_record_free(rec);
    return rc;
}

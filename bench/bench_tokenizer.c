/* Encode throughput of the Qwen2.5 tokenizer on English text, one thread.
 *
 *   bench_tokenizer [TOKENIZER_DIR [TEXT_FILE]]
 *
 * Without TEXT_FILE the text is English prose synthesised from a fixed seed
 * (about 8 MB: sentences of common words with punctuation, capitals, numbers
 * and contractions); with one, that file is encoded (it must be UTF-8). */
#include "common/alloc.h"
#include "common/status.h"
#include "text/tokenizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef APOLLO_BENCH_FIXTURES
#define APOLLO_BENCH_FIXTURES "tests/fixtures"
#endif

static const char *const WORDS[] = {
    "the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on",
    "are", "with", "as", "his", "they", "be", "at", "one", "have", "this", "from", "or",
    "had", "by", "word", "but", "what", "some", "we", "can", "out", "other", "were", "all",
    "there", "when", "up", "use", "your", "how", "said", "an", "each", "she", "which", "do",
    "their", "time", "if", "will", "way", "about", "many", "then", "them", "write", "would",
    "like", "so", "these", "her", "long", "make", "thing", "see", "him", "two", "has", "look",
    "more", "day", "could", "go", "come", "did", "number", "sound", "no", "most", "people",
    "my", "over", "know", "water", "than", "call", "first", "who", "may", "down", "side",
    "been", "now", "find", "government", "information", "development", "international",
    "understanding", "responsibility", "environmental", "characteristics", "approximately",
    "video", "frame", "camera", "kitchen", "person", "walking", "holding", "table", "window",
    "morning", "afternoon", "evening", "question", "answer", "describe", "happens", "between",
    "because", "although", "however", "therefore", "nevertheless", "meanwhile", "suddenly",
    "carefully", "quickly", "slowly", "quietly", "beautiful", "important", "different",
    "following", "something", "everything", "nothing", "anything", "mountain", "river",
    "London", "Paris", "Monday", "January", "English", "American", "Apollo", "model",
};
static const char *const SUFFIX[] = {"'s", "'t", "'ll", "'re", "'ve", "n't", "'d"};

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static char *synth(size_t target, size_t *len)
{
    char *s = malloc(target + 256);
    size_t n = 0;
    size_t nw = sizeof WORDS / sizeof WORDS[0];
    while (n < target) {
        size_t words = 5 + rnd(20);
        for (size_t i = 0; i < words; i++) {
            const char *w = WORDS[rnd((uint32_t)nw)];
            size_t wl = strlen(w);
            if (i)
                s[n++] = ' ';
            memcpy(s + n, w, wl);
            if (i == 0 && s[n] >= 'a' && s[n] <= 'z')
                s[n] = (char)(s[n] - 32);
            n += wl;
            switch (rnd(40)) {
            case 0: case 1: case 2: s[n++] = ','; break;
            case 3: {
                const char *x = SUFFIX[rnd(7)];
                memcpy(s + n, x, strlen(x));
                n += strlen(x);
                break;
            }
            case 4: n += (size_t)sprintf(s + n, " %u", rnd(100000)); break;
            case 5: n += (size_t)sprintf(s + n, " (%s)", WORDS[rnd((uint32_t)nw)]); break;
            default: break;
            }
        }
        s[n++] = rnd(8) ? '.' : (rnd(2) ? '?' : '!');
        s[n++] = rnd(6) ? ' ' : '\n';
        if (!rnd(30))
            s[n++] = '\n';
    }
    *len = n;
    return s;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : APOLLO_BENCH_FIXTURES "/tokenizer/qwen2.5";
    apollo__tokenizer *tok = NULL;
    size_t len = 0, n_ids = 0;
    char *text;
    int32_t *ids = NULL;
    double t0, t1, best = 1e30;
    int rc;

    t0 = now();
    rc = apollo__tokenizer_load(dir, &tok);
    t1 = now();
    if (rc != APOLLO_OK) {
        fprintf(stderr, "load %s: %s\n", dir, apollo__errmsg());
        return 1;
    }
    printf("load: %.1f ms\n", (t1 - t0) * 1e3);

    if (argc > 2) {
        FILE *f = fopen(argv[2], "rb");
        long n;
        if (!f) {
            perror(argv[2]);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = malloc((size_t)n + 1);
        len = fread(text, 1, (size_t)n, f);
        fclose(f);
    } else {
        text = synth((size_t)8 << 20, &len);
    }

    for (int rep = 0; rep < 5; rep++) {
        t0 = now();
        rc = apollo__tokenizer_encode(tok, text, len, &ids, &n_ids);
        t1 = now();
        if (rc != APOLLO_OK) {
            fprintf(stderr, "encode: %s\n", apollo__errmsg());
            return 1;
        }
        if (t1 - t0 < best)
            best = t1 - t0;
        if (rep < 4)
            apollo__free(ids);
    }
    printf("encode: %.2f MB in %.3f s (best of 5) = %.1f MB/s, %.2f M tokens/s, %.2f bytes/token\n",
           (double)len / 1e6, best, (double)len / 1e6 / best, (double)n_ids / 1e6 / best,
           (double)len / (double)n_ids);

    {
        /* streaming detokenizer over the same ids */
        apollo__detok d;
        size_t out = 0;
        const char *c;
        size_t cn;
        apollo__detok_init(&d, tok);
        t0 = now();
        for (size_t i = 0; i < n_ids; i++) {
            if (apollo__detok_push(&d, ids[i], &c, &cn) != APOLLO_OK)
                return 1;
            out += cn;
        }
        apollo__detok_flush(&d, &c, &cn);
        out += cn;
        t1 = now();
        apollo__detok_free(&d);
        printf("detok: %.1f MB/s (%s)\n", (double)out / 1e6 / (t1 - t0),
               out == len ? "round trip ok" : "LENGTH DIFFERS");
    }
    apollo__free(ids);
    free(text);
    apollo__tokenizer_free(tok);
    return 0;
}

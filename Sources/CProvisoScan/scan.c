// The gate's record scanner, fast path. Why C: finding the bytes a JSON string scan must stop
// at takes a compare-and-movemask over 32 bytes at a time; Swift 6.3's SIMD types have no
// movemask and their generic compares were not lowered to vector code (measured 8× slower,
// docs/benchmarks.md). Everything here is validation and offsets: the decisions stay in Swift.

#include "CProvisoScan.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/// Nesting deeper than this steps aside to the reference scanner (which allows 64).
enum { MAX_DEPTH = 32 };

/// Bit k set when byte k of the aligned 64-byte block needs a string scan's attention:
/// '"', '\\', a control character (< 0x20) or a byte of a multi-byte UTF-8 sequence (>= 0x80).
typedef uint64_t (*block_mask_fn)(const uint8_t *block);

ALWAYS_INLINE uint64_t mask_portable(const uint8_t *b) {
    uint64_t m = 0;
    for (int k = 0; k < 64; k++) {
        uint8_t c = b[k];
        m |= (uint64_t)(c == 0x22 || c == 0x5C || c < 0x20 || c >= 0x80) << k;
    }
    return m;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) ALWAYS_INLINE uint64_t mask_avx2(const uint8_t *b) {
    const __m256i quote = _mm256_set1_epi8(0x22), slash = _mm256_set1_epi8(0x5C), space = _mm256_set1_epi8(0x20);
    __m256i lo = _mm256_load_si256((const __m256i *)b);
    __m256i hi = _mm256_load_si256((const __m256i *)(b + 32));
    // As signed bytes, both controls (0..0x1F) and bytes >= 0x80 (negative) are below 0x20.
    __m256i slo = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(lo, quote), _mm256_cmpeq_epi8(lo, slash)),
                                  _mm256_cmpgt_epi8(space, lo));
    __m256i shi = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(hi, quote), _mm256_cmpeq_epi8(hi, slash)),
                                  _mm256_cmpgt_epi8(space, hi));
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(slo) | (uint64_t)(uint32_t)_mm256_movemask_epi8(shi) << 32;
}
#endif

ALWAYS_INLINE uint64_t newlines_portable(const uint8_t *b) {
    uint64_t m = 0;
    for (int k = 0; k < 64; k++) m |= (uint64_t)(b[k] == 0x0A) << k;
    return m;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) ALWAYS_INLINE uint64_t newlines_avx2(const uint8_t *b) {
    const __m256i nl = _mm256_set1_epi8(0x0A);
    __m256i lo = _mm256_cmpeq_epi8(_mm256_load_si256((const __m256i *)b), nl);
    __m256i hi = _mm256_cmpeq_epi8(_mm256_load_si256((const __m256i *)(b + 32)), nl);
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(lo) | (uint64_t)(uint32_t)_mm256_movemask_epi8(hi) << 32;
}
#endif

ALWAYS_INLINE size_t find_newlines(const uint8_t *base, size_t count, size_t from, size_t *ends, size_t max,
                                   block_mask_fn mask) {
    size_t found = 0, i = from;
    while (found < max && i < count) {
        const uint8_t *a = base + i;
        const uint8_t *block = (const uint8_t *)((uintptr_t)a & ~(uintptr_t)63);
        uint64_t m = mask(block) >> (a - block);
        while (m != 0) {
            size_t at = i + (size_t)__builtin_ctzll(m);
            if (at >= count) return found;
            ends[found++] = at;
            if (found == max) return found;
            m &= m - 1;
        }
        i += 64 - (size_t)(a - block);
    }
    return found;
}

typedef struct {
    const uint8_t *p;
    size_t n;
    size_t i;
    /// The aligned block whose mask is cached, and the mask.
    const uint8_t *block;
    uint64_t special;
} cursor;

ALWAYS_INLINE void space(cursor *c) {
    while (c->i < c->n) {
        uint8_t b = c->p[c->i];
        if (b != 0x20 && b != 0x09 && b != 0x0D && b != 0x0A) return;
        c->i++;
    }
}

ALWAYS_INLINE int literal(cursor *c, const char *word, size_t k) {
    if (c->i + k > c->n || memcmp(c->p + c->i, word, k) != 0) return 0;
    c->i += k;
    return 1;
}

ALWAYS_INLINE int hex(uint8_t c) {
    return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/// One multi-byte UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates, <= U+10FFFF);
/// returns its length, 0 when invalid. The same table as the reference's `Cursor.utf8`.
ALWAYS_INLINE size_t utf8(const uint8_t *p, size_t i, size_t n) {
    uint8_t b0 = p[i], lo = 0x80, hi = 0xBF;
    size_t need;
    if (b0 >= 0xC2 && b0 <= 0xDF) need = 1;
    else if (b0 == 0xE0) { need = 2; lo = 0xA0; }
    else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) need = 2;
    else if (b0 == 0xED) { need = 2; hi = 0x9F; }
    else if (b0 == 0xF0) { need = 3; lo = 0x90; }
    else if (b0 >= 0xF1 && b0 <= 0xF3) need = 3;
    else if (b0 == 0xF4) { need = 3; hi = 0x8F; }
    else return 0;
    if (i + need >= n) return 0;
    if (p[i + 1] < lo || p[i + 1] > hi) return 0;
    for (size_t k = 2; k <= need; k++)
        if ((p[i + k] & 0xC0) != 0x80) return 0;
    return need + 1;
}

/// A string at `c->i` (its opening quote): validated — no raw control characters, valid
/// escapes, valid UTF-8 — with its content span and whether it has escapes. Jumps from one
/// special byte to the next with the block masks.
ALWAYS_INLINE int string(cursor *c, block_mask_fn mask, size_t *start, size_t *end, int *escaped) {
    const uint8_t *p = c->p;
    const size_t n = c->n;
    size_t i = c->i + 1;
    *start = i;
    *escaped = 0;
    for (;;) {
        if (i >= n) return 0;
        const uint8_t *a = p + i;
        // Aligned: the block lies in the page of a byte of the line, so reading it cannot fault.
        const uint8_t *block = (const uint8_t *)((uintptr_t)a & ~(uintptr_t)63);
        if (block != c->block) {
            c->block = block;
            c->special = mask(block);
        }
        uint64_t m = c->special >> (a - block);
        if (m == 0) {
            i += 64 - (size_t)(a - block);
            continue;
        }
        i += (size_t)__builtin_ctzll(m);
        if (i >= n) return 0;  // the stop is past the line (its newline, or the next line)
        uint8_t b = p[i];
        if (b == 0x22) {
            *end = i;
            c->i = i + 1;
            return 1;
        } else if (b == 0x5C) {
            *escaped = 1;
            if (i + 1 >= n) return 0;
            switch (p[i + 1]) {
            case 0x22: case 0x5C: case 0x2F: case 0x62: case 0x66: case 0x6E: case 0x72: case 0x74:
                i += 2;
                break;
            case 0x75:
                if (i + 6 > n || !hex(p[i + 2]) || !hex(p[i + 3]) || !hex(p[i + 4]) || !hex(p[i + 5])) return 0;
                i += 6;
                break;
            default:
                return 0;
            }
        } else if (b < 0x20) {
            return 0;
        } else {
            size_t k = utf8(p, i, n);
            if (k == 0) return 0;
            i += k;
        }
    }
}

/// An object member's name and the colon after it, with the spaces around both: the name's
/// content span and whether it has escapes.
ALWAYS_INLINE int name(cursor *c, block_mask_fn mask, size_t *start, size_t *end, int *escaped) {
    if (c->i >= c->n || c->p[c->i] != 0x22 || !string(c, mask, start, end, escaped)) return 0;
    space(c);
    if (c->i >= c->n || c->p[c->i] != 0x3A) return 0;
    c->i++;
    space(c);
    return 1;
}

/// A number per RFC 8259; *integer tells whether it had neither fraction nor exponent.
ALWAYS_INLINE int number(cursor *c, int *integer) {
    const uint8_t *p = c->p;
    const size_t n = c->n;
    size_t i = c->i;
    if (p[i] == 0x2D) i++;
    if (i >= n || p[i] < 0x30 || p[i] > 0x39) return 0;
    if (p[i] == 0x30) i++;
    else while (i < n && p[i] >= 0x30 && p[i] <= 0x39) i++;
    *integer = 1;
    if (i < n && p[i] == 0x2E) {
        *integer = 0;
        i++;
        if (i >= n || p[i] < 0x30 || p[i] > 0x39) return 0;
        while (i < n && p[i] >= 0x30 && p[i] <= 0x39) i++;
    }
    if (i < n && (p[i] == 0x65 || p[i] == 0x45)) {
        *integer = 0;
        i++;
        if (i < n && (p[i] == 0x2B || p[i] == 0x2D)) i++;
        if (i >= n || p[i] < 0x30 || p[i] > 0x39) return 0;
        while (i < n && p[i] >= 0x30 && p[i] <= 0x39) i++;
    }
    c->i = i;
    return 1;
}

/// Any JSON value, validated and skipped. Containers are walked with an explicit stack of
/// closing brackets instead of recursion.
ALWAYS_INLINE int value(cursor *c, block_mask_fn mask) {
    uint8_t closers[MAX_DEPTH];
    int depth = 0;
    size_t s, e;
    int esc, integer;
    for (;;) {
        // A value at c->i.
        if (c->i >= c->n) return 0;
        uint8_t b = c->p[c->i];
        if (b == 0x22) {
            if (!string(c, mask, &s, &e, &esc)) return 0;
        } else if (b == 0x7B || b == 0x5B) {
            if (depth == MAX_DEPTH) return 0;
            uint8_t close = b == 0x7B ? 0x7D : 0x5D;
            c->i++;
            space(c);
            if (c->i < c->n && c->p[c->i] == close) {
                c->i++;
            } else {
                closers[depth++] = close;
                if (close == 0x7D && !name(c, mask, &s, &e, &esc)) return 0;
                continue;  // the container's first value
            }
        } else if (b == 0x74) {
            if (!literal(c, "true", 4)) return 0;
        } else if (b == 0x66) {
            if (!literal(c, "false", 5)) return 0;
        } else if (b == 0x6E) {
            if (!literal(c, "null", 4)) return 0;
        } else if (b == 0x2D || (b >= 0x30 && b <= 0x39)) {
            if (!number(c, &integer)) return 0;
        } else {
            return 0;
        }
        // After a value: close containers, or go on to the next member or element.
        for (;;) {
            if (depth == 0) return 1;
            space(c);
            if (c->i >= c->n) return 0;
            uint8_t close = closers[depth - 1];
            b = c->p[c->i];
            if (b == close) {
                c->i++;
                depth--;
                continue;
            }
            if (b != 0x2C) return 0;
            c->i++;
            space(c);
            if (close == 0x7D && !name(c, mask, &s, &e, &esc)) return 0;
            break;  // the next value
        }
    }
}

ALWAYS_INLINE int is(const uint8_t *p, size_t s, size_t e, const char *word, size_t k) {
    return e - s == k && memcmp(p + s, word, k) == 0;
}

/// The record: an object whose decision fields are read, every other value validated.
ALWAYS_INLINE int scan(const uint8_t *line, size_t count, pv_record_fields *out, block_mask_fn mask) {
    cursor c = {line, count, 0, NULL, 0};
    out->member_start = out->member_end = -1;
    out->category_start = out->category_end = -1;
    out->visibility_start = out->visibility_end = -1;
    out->created_start = out->created_end = -1;
    out->sensitive = 0;
    int seen = 0, member = 0, category = 0;
    size_t s, e;
    int esc;
    space(&c);
    if (c.i >= c.n || line[c.i] != 0x7B) return 0;
    c.i++;
    space(&c);
    if (c.i < c.n && line[c.i] == 0x7D) return 0;  // {}: no member_id, the reference says why
    for (;;) {
        space(&c);
        if (!name(&c, mask, &s, &e, &esc) || esc || c.i >= c.n) return 0;
        int field = 0;
        switch (e - s) {
        case 9: field = is(line, s, e, "member_id", 9) ? 1 : is(line, s, e, "sensitive", 9) ? 8 : 0; break;
        case 8: field = is(line, s, e, "category", 8) ? 2 : 0; break;
        case 10: field = is(line, s, e, "visibility", 10) ? 4 : is(line, s, e, "created_at", 10) ? 16 : 0; break;
        }
        if (field) {
            if (seen & field) return 0;
            seen |= field;
        }
        uint8_t b = line[c.i];
        switch (field) {
        case 1:
            if (b == 0x22) {
                if (!string(&c, mask, &s, &e, &esc) || esc) return 0;
                out->member_start = (int64_t)s;
                out->member_end = (int64_t)e;
                member = 1;
            } else if (b == 0x2D || (b >= 0x30 && b <= 0x39)) {
                size_t start = c.i;
                int integer;
                if (!number(&c, &integer) || !integer) return 0;
                out->member_start = (int64_t)start;
                out->member_end = (int64_t)c.i;
                member = 1;
            } else if (!literal(&c, "null", 4)) {
                return 0;
            }
            break;
        case 2:
        case 4:
        case 16:
            if (b == 0x22) {
                if (!string(&c, mask, &s, &e, &esc) || esc) return 0;
                if (field == 2) { out->category_start = (int64_t)s; out->category_end = (int64_t)e; category = 1; }
                else if (field == 4) { out->visibility_start = (int64_t)s; out->visibility_end = (int64_t)e; }
                else { out->created_start = (int64_t)s; out->created_end = (int64_t)e; }
            } else if (!literal(&c, "null", 4)) {
                return 0;
            }
            break;
        case 8:
            if (literal(&c, "true", 4)) out->sensitive = 1;
            else if (literal(&c, "false", 5) || literal(&c, "null", 4)) out->sensitive = 0;
            else return 0;
            break;
        default:
            if (!value(&c, mask)) return 0;
        }
        space(&c);
        if (c.i >= c.n) return 0;
        if (line[c.i] == 0x2C) { c.i++; continue; }
        if (line[c.i] != 0x7D) return 0;
        c.i++;
        break;
    }
    space(&c);
    return c.i == c.n && member && category;
}

size_t pv_find_newlines_portable(const uint8_t *base, size_t count, size_t from, size_t *ends, size_t max) {
    return find_newlines(base, count, from, ends, max, newlines_portable);
}

int pv_scan_record_portable(const uint8_t *line, size_t count, pv_record_fields *out) {
    return scan(line, count, out, mask_portable);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static int scan_avx2(const uint8_t *line, size_t count, pv_record_fields *out) {
    return scan(line, count, out, mask_avx2);
}

/// -1 until the CPU has been asked; lanes may ask at once, and all get the same answer.
static int vectorised = -1;

int pv_scan_vectorised(void) {
    int v = __atomic_load_n(&vectorised, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&vectorised, v, __ATOMIC_RELAXED);
    }
    return v;
}

__attribute__((target("avx2"))) static size_t find_newlines_avx2(const uint8_t *base, size_t count, size_t from,
                                                                  size_t *ends, size_t max) {
    return find_newlines(base, count, from, ends, max, newlines_avx2);
}
#else
int pv_scan_vectorised(void) { return 0; }
#endif

int pv_scan_record(const uint8_t *line, size_t count, pv_record_fields *out) {
#if defined(__x86_64__)
    if (pv_scan_vectorised()) return scan_avx2(line, count, out);
#endif
    return pv_scan_record_portable(line, count, out);
}

size_t pv_find_newlines(const uint8_t *base, size_t count, size_t from, size_t *ends, size_t max) {
#if defined(__x86_64__)
    if (pv_scan_vectorised()) return find_newlines_avx2(base, count, from, ends, max);
#endif
    return pv_find_newlines_portable(base, count, from, ends, max);
}

#ifndef C_PROVISO_SCAN_H
#define C_PROVISO_SCAN_H

#include <stddef.h>
#include <stdint.h>

/// Where the gate's decision fields sit in one JSONL line, as byte offsets into the line.
/// A span whose start is -1 was absent or null.
typedef struct {
    int64_t member_start, member_end;
    int64_t category_start, category_end;
    int64_t visibility_start, visibility_end;
    int64_t created_start, created_end;
    /// 1 for `"sensitive": true`; 0 for false, null or absent.
    int32_t sensitive;
} pv_record_fields;

/// The fast path of the gate's record scanner (ProvisoGate's `RecordScanner` is the
/// reference and the authority). Returns 1 only when the whole line is valid JSON
/// (RFC 8259, UTF-8) holding an object whose decision fields are written without escapes,
/// each at most once, `member_id` a string or an integer and `category` a string; the spans
/// are then filled. Returns 0 for everything else — invalid lines, escapes in a key or a
/// decision field, deep nesting, missing fields — which the reference scanner then decides,
/// with its message. So this path can only agree with the reference or step aside.
///
/// Reads whole aligned 64-byte blocks around the line: never past the page that holds the
/// line's last byte, so never a fault, but outside the line's bounds (as glibc's string
/// functions do); the bytes beyond the line do not change the answer.
int pv_scan_record(const uint8_t *line, size_t count, pv_record_fields *out);

/// The same, with the block masks computed byte by byte instead of with vector
/// instructions: for the tests, which check both against the reference.
int pv_scan_record_portable(const uint8_t *line, size_t count, pv_record_fields *out);

/// Finds the newlines in `base[from..<count]`, up to `max` of them, and writes their offsets
/// to `ends` in order; returns how many. One vector compare per 64 bytes instead of a
/// `memchr` call per line. Reads aligned blocks as `pv_scan_record` does.
size_t pv_find_newlines(const uint8_t *base, size_t count, size_t from, size_t *ends, size_t max);

/// The same, byte by byte: for the tests.
size_t pv_find_newlines_portable(const uint8_t *base, size_t count, size_t from, size_t *ends, size_t max);

/// Asks the CPU to start reading `p` into its caches: the gate issues it for a line's member
/// entry as soon as the line is scanned, and reads the entry a batch of lines later.
static inline void pv_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// Whether `pv_scan_record` uses vector instructions on this CPU (AVX2).
int pv_scan_vectorised(void);

#endif

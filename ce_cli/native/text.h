/* Text tables: numbers parsed a chunk of lines at a time, with the GIL released (kernel.c wraps
 * these for ce_cli/io/text_stream.py). Plain C, compiled once: parsing is not vectorised. */
#ifndef CE_TEXT_H
#define CE_TEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The common case only: cells separated by one delimiter (or runs of blanks), no quotes,
 * '#' comments, blank lines skipped, LF or CRLF line ends. Anything else (a quote, a cell
 * that is not a plain number, rows of another width) returns -1, and the caller hands the
 * chunk to numpy's parser, which reads it or names the problem. Numbers are converted by
 * Clinger's fast path where it is exact (most cells), else by strtod: correctly rounded either way,
 * as numpy's own conversion. */

static int ce_blank(char c) { return c == ' ' || c == '\t'; }

/* Whether the line [p, stop) (its comment cut, its CR of a CRLF gone) is no row: empty, or blanks only,
 * whatever the delimiter (ce-loss's rule everywhere; numpy's parser is given such lines filtered out).
 * Blanks between delimiters make a row (of empty cells). */
static int ce_skipped(const char *p, const char *stop, int delimiter) {
    (void)delimiter;
    while (p < stop && ce_blank(*p)) p++;
    return p == stop;
}

/* The end of the line [p, stop) without its comment and the CR of a CRLF. */
static const char *ce_line_end(const char *p, const char *stop) {
    if (stop > p && stop[-1] == '\r') stop--;
    const char *hash = memchr(p, '#', (size_t)(stop - p));
    return hash ? hash : stop;
}

/* Data lines in [p, end) (those numpy's parser does not skip), and its line ends in *newlines; -1 if a CR
 * ends a line alone. */
static Py_ssize_t ce_count_lines(const char *p, const char *end, int delimiter, Py_ssize_t *newlines) {
    Py_ssize_t rows = 0, lines = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *stop = eol ? eol : end;
        const char *cr = memchr(p, '\r', (size_t)(stop - p));
        if (cr && !(eol && cr == stop - 1)) return -1; /* a CR not ending a CRLF */
        rows += !ce_skipped(p, ce_line_end(p, stop), delimiter);
        lines += eol != NULL;
        p = eol ? eol + 1 : end;
    }
    *newlines = lines;
    return rows;
}

/* 10^0 .. 10^22: every one exactly a double. */
static const double ce_powers_of_ten[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: a number [sign] digits [. digits] [e [sign] digits] at p (before q) whose
 * significant digits make an integer w <= 2^53 and whose decimal exponent k has |k| <= 22 is w * 10^k
 * or w / 10^-k, one operation on two exact doubles, so correctly rounded: the bits strtod (and numpy's
 * parser) give. Returns the end of the number with *out set, or NULL for anything else (strtod reads
 * it instead). */
static const char *ce_fast_number(const char *p, const char *q, double *out) {
    int negative = 0;
    if (p < q && (*p == '-' || *p == '+')) negative = *p++ == '-';
    const char *start = p;
    while (p < q && *p == '0') p++; /* leading zeros are not significant */
    uint64_t w = 0;
    const char *first = p;
    while (p < q && (unsigned)(*p - '0') < 10u) w = w * 10 + (uint64_t)(*p++ - '0');
    int digits = (int)(p - first), exponent = 0;
    int seen = p > start;
    if (p < q && *p == '.') {
        const char *point = ++p;
        if (!w) {
            while (p < q && *p == '0') p++;
        }
        const char *fraction = p;
        while (p < q && (unsigned)(*p - '0') < 10u) w = w * 10 + (uint64_t)(*p++ - '0');
        digits += (int)(p - fraction);
        exponent = -(int)(p - point);
        seen |= p > point;
    }
    if (!seen || digits > 19) return NULL;
    if (p < q && (*p == 'e' || *p == 'E')) {
        p++;
        int minus = 0, e = 0;
        if (p < q && (*p == '-' || *p == '+')) minus = *p++ == '-';
        const char *e_first = p;
        while (p < q && (unsigned)(*p - '0') < 10u) {
            if (e < 10000) e = e * 10 + (*p - '0');
            p++;
        }
        if (p == e_first) return NULL;
        exponent += minus ? -e : e;
    }
    if (w > ((uint64_t)1 << 53)) return NULL;
    double value = (double)w;
    if (w == 0) {
        value = 0.0;
    } else if (exponent < -22 || exponent > 22) {
        return NULL;
    } else if (exponent < 0) {
        value /= ce_powers_of_ten[-exponent];
    } else {
        value *= ce_powers_of_ten[exponent];
    }
    *out = negative ? -value : value;
    return p;
}

/* One number cell [p, q) into *out; 0 on success. */
static int ce_number(const char *p, const char *q, double *out) {
    if (ce_fast_number(p, q, out) == q) return 0;
    char cell[80];
    size_t n = (size_t)(q - p);
    if (n == 0 || n >= sizeof cell) return -1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int ok = (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' ||
                 c == 'i' || c == 'n' || c == 'f' || c == 't' || c == 'y' || c == 'a' || c == 'I' || c == 'N' ||
                 c == 'F' || c == 'T' || c == 'Y' || c == 'A';
        if (!ok) return -1;
        cell[i] = c;
    }
    cell[n] = 0;
    char *stop;
    *out = strtod(cell, &stop);
    return stop == cell + n ? 0 : -1;
}

/* Rows of [p, end) into out (capacity rows of `kept` columns): the number of rows, or -1. */
static Py_ssize_t ce_parse_lines(const char *p, const char *end, int delimiter, const char *keep, Py_ssize_t width,
                                 Py_ssize_t kept, double *out, Py_ssize_t capacity) {
    Py_ssize_t rows = 0;
    /* Only the last column kept: each line is read from its end. Its width is not checked here: the
     * other columns' own pass (which reads every cell) refuses a row of another width. */
    int last_only = delimiter >= 0 && kept == 1 && width > 1 && keep[width - 1];
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *stop = ce_line_end(p, eol ? eol : end);
        if (ce_skipped(p, stop, delimiter)) {
            p = eol ? eol + 1 : end;
            continue;
        }
        const char *q = p;
        if (rows >= capacity || memchr(q, '"', (size_t)(stop - q))) return -1;
        if (last_only) { /* the last column alone (a label column): from the line's end, no cell before it read */
            const char *cell = stop;
            while (cell > p && cell[-1] != (char)delimiter) cell--;
            if (cell == p) return -1; /* no delimiter: not this table's row */
            while (cell < stop && ce_blank(*cell)) cell++;
            const char *cell_end = stop;
            while (cell_end > cell && ce_blank(cell_end[-1])) cell_end--;
            if (ce_number(cell, cell_end, out + rows) < 0) return -1;
            rows++;
            p = eol ? eol + 1 : end;
            continue;
        }
        Py_ssize_t column = 0, filled = 0;
        double *row = out + rows * kept;
        while (1) {
            while (q < stop && ce_blank(*q)) q++;
            if (delimiter >= 0 && column < width && keep[column]) { /* the common cell: a number, then the delimiter */
                const char *after = ce_fast_number(q, stop, row + filled);
                if (after && (after == stop || *after == delimiter)) {
                    filled++, column++;
                    if (after == stop) break;
                    q = after + 1;
                    continue;
                }
            }
            const char *cell = q;
            if (delimiter < 0) {
                while (q < stop && !ce_blank(*q)) q++;
            } else {
                while (q < stop && *q != delimiter) q++;
            }
            const char *cell_end = q;
            while (cell_end > cell && ce_blank(cell_end[-1])) cell_end--;
            if (column >= width) return -1;
            if (keep[column]) {
                if (ce_number(cell, cell_end, row + filled) < 0) return -1;
                filled++;
            }
            column++;
            if (delimiter < 0) {
                while (q < stop && ce_blank(*q)) q++;
                if (q == stop) break;
            } else {
                if (q == stop) break;
                q++; /* the delimiter */
            }
        }
        if (column != width || filled != kept) return -1;
        rows++;
        p = eol ? eol + 1 : end;
    }
    return rows;
}

#endif

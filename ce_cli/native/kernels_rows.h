/* Softmax rows: one row at a time (with diff's partner rows), class-major tiles, two-class pairs.
 * Part of kernels.h: included inside each CPU variant's copy, with CE_V(name) and its macros. */

/* ce-loss diff's baseline rows with the new model's rows beside them (the partner): one_row's results,
 * and per row cross_ratio = Σ_c e_c (zb_c - zx_c) / Σ_c e_c with zb = b - max b, zx = x - mx (mx the
 * partner's maxima, from its own pass) and e = exp(zb) 2^512, in the pass that sums e for the log-sum-exp:
 * KL(p_b || p_x) = cross_ratio + (lse_x - lse_b) (as kl_known, without a second pass over both files).
 * Rows of adjacent classes in one dtype, with vector code (AVX-512, AVX2) only. */
#if defined(CE_EXP512) || defined(CE_EXP256)
#if defined(CE_EXP512)
#define CE_SUM_CROSS_F32 ce_sum_exp512_f32_cross
#define CE_SUM_CROSS_F64 ce_sum_exp512_f64_cross
#define CE_KL_CROSS_F32 ce_kl_cross512_f32
#define CE_KL_CROSS_F64 ce_kl_cross512_f64
#else
#define CE_SUM_CROSS_F32 ce_sum_exp256_f32_cross
#define CE_SUM_CROSS_F64 ce_sum_exp256_f64_cross
#define CE_KL_CROSS_F32 ce_kl_cross256_f32
#define CE_KL_CROSS_F64 ce_kl_cross256_f64
#endif
#define CE_ROW_CROSS(T, SUFFIX, SUM_CROSS, KL_CROSS)                                                        \
    static void CE_V(one_row_cross_##SUFFIX)(const T *v, const T *w, Py_ssize_t n, int64_t target, double mx,  \
                                             double *maximum, double *target_z, double *lse_z, int64_t *argmax, \
                                             int64_t *rank, double *cross_ratio) {                           \
        int has_nan;                                                                                       \
        double m = CE_V(row_max_##SUFFIX)(v, n, &has_nan);                                                 \
        m = has_nan ? CE_NAN : m;                                                                          \
        double key = (double)v[target], lse = CE_NAN, ratio = CE_NAN;                                      \
        if (m - m == 0.0) {                                                                                \
            Py_ssize_t zeros;                                                                              \
            double cross = 0.0, s = SUM_CROSS(v, w, n, m, mx, &zeros, &cross);                             \
            lse = CE_V(row_lse)(s, zeros); /* one_row's own function: the same lse, to the bit */          \
            ratio = cross / (s + (double)zeros * 0x1p512);                                                 \
            if (!(ratio - ratio == 0.0) && mx - mx == 0.0) { /* -inf in b or x: the rules of kl_known */    \
                double total;                                                                              \
                KL_CROSS(v, w, n, m, mx, &cross, &total);                                                  \
                ratio = cross / total;                                                                     \
            }                                                                                              \
        }                                                                                                  \
        *maximum = m;                                                                                      \
        *target_z = key - m;                                                                               \
        *lse_z = lse;                                                                                      \
        *cross_ratio = ratio;                                                                              \
        if (argmax) *argmax = (int64_t)CE_V(row_find_##SUFFIX)(v, n, (T)m, has_nan);                       \
        if (rank) *rank = 1 + CE_V(row_above_##SUFFIX)(v, n, (T)key);                                      \
    }
CE_ROW_CROSS(float, f32, CE_SUM_CROSS_F32, CE_KL_CROSS_F32)
CE_ROW_CROSS(double, f64, CE_SUM_CROSS_F64, CE_KL_CROSS_F64)
#undef CE_ROW_CROSS
#undef CE_SUM_CROSS_F32
#undef CE_SUM_CROSS_F64
#undef CE_KL_CROSS_F32
#undef CE_KL_CROSS_F64
#endif

/* Whether softmax_rows_cross takes these rows and this partner. */
static int CE_V(cross_fits)(const CeRows *rows, const CeRows *partner) {
#if defined(CE_EXP512) || defined(CE_EXP256)
    Py_ssize_t item = rows->format == CE_F32 ? (Py_ssize_t)sizeof(float) : (Py_ssize_t)sizeof(double);
    return partner != NULL && rows->classes > SMALL_C && partner->classes == rows->classes &&
           partner->count == rows->count && partner->format == rows->format &&
           (rows->format == CE_F32 || rows->format == CE_F64) && rows->class_stride == item &&
           partner->class_stride == item;
#else
    (void)rows;
    (void)partner;
    return 0;
#endif
}

/* softmax_rows for rows that cross_fits, with each row's cross_ratio (above). */
static void CE_V(softmax_rows_cross)(const CeRows *rows, const CeRows *partner, const double *partner_max,
                                     const int64_t *targets, double *maximum, double *target_z, double *lse_z,
                                     int64_t *argmax, int64_t *rank, double *cross_ratio) {
#if defined(CE_EXP512) || defined(CE_EXP256)
    Py_ssize_t classes = rows->classes;
    Py_ssize_t row_bytes = classes * (rows->format == CE_F64 ? 8 : 4);
    for (Py_ssize_t i = 0; i < rows->count; i++) {
        const char *row = rows->data + i * rows->row_stride, *other = partner->data + i * partner->row_stride;
        if (row_bytes <= PREFETCH_BYTES && i + 1 < rows->count) { /* the next rows, as softmax_rows */
            for (Py_ssize_t b = 0; b < row_bytes; b += 64) {
                __builtin_prefetch(row + rows->row_stride + b, 0, 3);
                __builtin_prefetch(other + partner->row_stride + b, 0, 3);
            }
        }
        int64_t *a = argmax ? argmax + i : NULL, *r = rank ? rank + i : NULL;
        if (rows->format == CE_F32) {
            CE_V(one_row_cross_f32)((const float *)(const void *)row, (const float *)(const void *)other, classes,
                                    targets[i], partner_max[i], maximum + i, target_z + i, lse_z + i, a, r,
                                    cross_ratio + i);
        } else {
            CE_V(one_row_cross_f64)((const double *)(const void *)row, (const double *)(const void *)other, classes,
                                    targets[i], partner_max[i], maximum + i, target_z + i, lse_z + i, a, r,
                                    cross_ratio + i);
        }
    }
#else
    (void)rows, (void)partner, (void)partner_max, (void)targets, (void)maximum, (void)target_z, (void)lse_z;
    (void)argmax, (void)rank, (void)cross_ratio;
#endif
}

/* count rows from first into scratch, class-major as float64 (class c of row i at scratch[c TILE + i]), with
 * each row's maximum into m and bad[i] > 0 where the row holds a NaN. AVX2 reads float32 rows of 4 or more
 * adjacent classes four rows and four classes at a time (exp_avx2.h); otherwise a strided load per class
 * and a pass for the maxima. */
static void CE_V(tile_read)(const CeRows *rows, Py_ssize_t first, Py_ssize_t count, double *scratch,
                            double *restrict m, double *restrict bad) {
    Py_ssize_t classes = rows->classes;
#if defined(CE_EXP256)
    if (rows->format == CE_F32 && rows->class_stride == sizeof(float) && classes >= 4) {
        ce_tile_load256_f32(rows->data + first * rows->row_stride, rows->row_stride, classes, count, scratch, m, bad);
        return;
    }
#endif
    for (Py_ssize_t c = 0; c < classes; c++) {
        const char *p = rows->data + first * rows->row_stride + c * rows->class_stride;
        ce_load(p, rows->row_stride, rows->format, count, scratch + c * TILE);
    }
    for (Py_ssize_t i = 0; i < count; i++) m[i] = -CE_INF, bad[i] = 0.0;
    /* Separate loops, each a plain select or sum that the compiler vectorises without masked stores. */
    for (Py_ssize_t c = 0; c < classes; c++) {
        const double *restrict col = scratch + c * TILE;
        for (Py_ssize_t i = 0; i < count; i++) {
            double x = col[i], top = m[i];
            m[i] = x > top ? x : top;
            bad[i] += x != x ? 1.0 : 0.0;
        }
    }
}

/* TILE rows (count of them) from first, stored class-major in scratch. Every loop runs across the
 * rows; one maximum's term is left out of the sum by counting the terms at the maximum (z == 0,
 * each exactly 1) and adding back all but one of them, so that no loop holds a per-row store. */
static void CE_V(tile)(const CeRows *rows, Py_ssize_t first, Py_ssize_t count, const int64_t *targets,
                       double *scratch, double *maximum, double *target_z, double *lse_z, int64_t *argmax,
                       int64_t *rank) {
    Py_ssize_t classes = rows->classes;
    double *restrict m = scratch + classes * TILE, *restrict at = m + TILE, *restrict bad = at + TILE;
    double *restrict sum = bad + TILE, *restrict key = sum + TILE;
    double *restrict zeros = key + TILE, *restrict z = zeros + TILE, *restrict e = z + TILE;
    (void)e; /* the portable sums' only */
    const int64_t *target = targets + first;
    CE_V(tile_read)(rows, first, count, scratch, m, bad);
    if (argmax || classes == 2) {
        for (Py_ssize_t i = 0; i < count; i++) at[i] = 0.0;
        for (Py_ssize_t c = classes - 1; c >= 0; c--) { /* the first class at the maximum: the last seen backwards */
            const double *restrict col = scratch + c * TILE;
            double position = (double)c;
            for (Py_ssize_t i = 0; i < count; i++) {
                double x = col[i], was = at[i];
                at[i] = x == m[i] ? position : was;
            }
        }
    }
    for (Py_ssize_t i = 0; i < count; i++) key[i] = scratch[target[i] * TILE + i]; /* each row's target, in [0, C) */
    for (Py_ssize_t i = 0; i < count; i++) m[i] = bad[i] > 0.0 ? CE_NAN : m[i];
    if (classes == 2) { /* the one term that is not the maximum's: one exp per row (a tie gives exp(0) = 1) */
        const double *first_class = scratch, *second_class = scratch + TILE;
        for (Py_ssize_t i = 0; i < count; i++) {
            double other = at[i] == 0.0 ? second_class[i] : first_class[i];
            z[i] = other - m[i];
            zeros[i] = 1.0;
        }
        CE_V(exp_array)(z, sum, count);
    } else {
#if defined(CE_EXP512)
        ce_tile_sums512(scratch, TILE, classes, count, m, sum, zeros);
#elif defined(CE_EXP256)
        ce_tile_sums256(scratch, TILE, classes, count, m, sum, zeros);
#else
        for (Py_ssize_t i = 0; i < count; i++) sum[i] = 0.0, zeros[i] = 0.0;
        for (Py_ssize_t c = 0; c < classes; c++) {
            const double *restrict col = scratch + c * TILE;
            for (Py_ssize_t i = 0; i < count; i++) z[i] = col[i] - m[i];
            CE_V(exp_array)(z, e, count);
            for (Py_ssize_t i = 0; i < count; i++) {
                sum[i] += z[i] == 0.0 ? 0.0 : e[i];
                zeros[i] += z[i] == 0.0 ? 1.0 : 0.0;
            }
        }
#endif
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        double l = ce_log1p_nonneg(sum[i] * 0x1p-512 + (zeros[i] - 1.0));
        lse_z[first + i] = m[i] - m[i] == 0.0 ? l : CE_NAN;
        maximum[first + i] = m[i];
        target_z[first + i] = key[i] - m[i];
    }
    if (argmax) {
        for (Py_ssize_t i = 0; i < count; i++) {
            Py_ssize_t a = bad[i] > 0.0 ? CE_V(first_nan)(scratch + i, classes, TILE) : (Py_ssize_t)at[i];
            argmax[first + i] = (int64_t)a;
        }
    }
    if (rank) {
        for (Py_ssize_t i = 0; i < count; i++) sum[i] = 1.0;
        for (Py_ssize_t c = 0; c < classes; c++) {
            const double *restrict col = scratch + c * TILE;
            for (Py_ssize_t i = 0; i < count; i++) sum[i] += col[i] > key[i] ? 1.0 : 0.0;
        }
        for (Py_ssize_t i = 0; i < count; i++) rank[first + i] = (int64_t)sum[i];
    }
}

/* count rows of two float32 classes side by side: each row's maximum m (NaN for a row holding NaN), the
 * other class's z = lo - m (NaN where m is not finite, so that exp and log1p give such a row a NaN log-sum-exp,
 * as the general path does), and the target's z (targets 0 or 1). */
static inline void CE_V(pairs_tile)(const float *restrict p, const int64_t *restrict t, Py_ssize_t count,
                                    double *restrict z, double *restrict m_out, double *restrict tz) {
    for (Py_ssize_t i = 0; i < count; i++) {
        double a = (double)p[2 * i], b = (double)p[2 * i + 1];
        int nan = (a != a) | (b != b);
        double hi = b > a ? b : a, lo = b > a ? a : b;
        double m = nan ? CE_NAN : hi;
        z[i] = (lo - m) + (m - m);
        m_out[i] = m;
        tz[i] = (t[i] ? b : a) - m;
    }
}

/* Rows of two float32 classes side by side (a two-class softmax head): one exp and one log1p per row,
 * lse_z = log1p(exp(lo - hi)), in loops across the rows that the compiler vectorises. */
static void CE_V(pairs_f32)(const float *x, Py_ssize_t n, const int64_t *targets, double *maximum,
                            double *target_z, double *lse_z, int64_t *argmax) {
    double z[TILE], e[TILE];
    for (Py_ssize_t first = 0; first < n; first += TILE) {
        Py_ssize_t count = n - first < TILE ? n - first : TILE;
        const float *restrict p = x + 2 * first;
        const int64_t *restrict t = targets + first;
        double *restrict m_out = maximum + first;
        CE_V(pairs_tile)(p, t, count, z, m_out, target_z + first);
        CE_V(exp_array)(z, e, count);
        double *restrict l_out = lse_z + first;
        for (Py_ssize_t i = 0; i < count; i++) l_out[i] = CE_LOG1P_UNIT(e[i] * 0x1p-512);
        if (argmax) {
            for (Py_ssize_t i = 0; i < count; i++) {
                float a = p[2 * i], b = p[2 * i + 1];
                argmax[first + i] = a != a ? 0 : b != b ? 1 : b > a ? 1 : 0;
            }
        }
    }
}

static int CE_V(softmax_rows)(const CeRows *rows, const int64_t *targets, double *maximum, double *target_z,
                              double *lse_z, int64_t *argmax, int64_t *rank) {
    Py_ssize_t classes = rows->classes;
    if (classes == 2 && !rank && rows->format == CE_F32 && rows->class_stride == sizeof(float) &&
        rows->row_stride == 2 * sizeof(float)) {
        CE_V(pairs_f32)((const float *)(const void *)rows->data, rows->count, targets, maximum, target_z, lse_z,
                        argmax);
        return 0;
    }
    if (classes <= SMALL_C) {
        double *scratch = malloc(sizeof(double) * (size_t)(classes + 8) * TILE);
        if (!scratch) return -1;
        for (Py_ssize_t first = 0; first < rows->count; first += TILE) {
            Py_ssize_t count = rows->count - first < TILE ? rows->count - first : TILE;
            CE_V(tile)(rows, first, count, targets, scratch, maximum, target_z, lse_z, argmax, rank);
        }
        free(scratch);
        return 0;
    }
    int as_f32 = rows->format == CE_F32 && rows->class_stride == sizeof(float);
    int as_f64 = rows->format == CE_F64 && rows->class_stride == sizeof(double);
    double *scratch = as_f32 || as_f64 ? NULL : malloc(sizeof(double) * (size_t)classes);
    if (!as_f32 && !as_f64 && !scratch) return -1;
    Py_ssize_t row_bytes = classes * (rows->format == CE_F64 ? 8 : rows->format == CE_F32 ? 4 : 2);
    int prefetch = (as_f32 || as_f64) && row_bytes <= PREFETCH_BYTES;
    for (Py_ssize_t i = 0; i < rows->count; i++) {
        const char *row = rows->data + i * rows->row_stride;
        int64_t *a = argmax ? argmax + i : NULL, *r = rank ? rank + i : NULL;
        if (prefetch && i + 1 < rows->count) { /* the next row, often a page of its own, which the hardware */
            const char *next = row + rows->row_stride; /* prefetchers do not cross into */
            for (Py_ssize_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(next + b, 0, 3);
        }
        if (as_f32) {
            CE_V(one_row_f32)((const float *)(const void *)row, classes, targets[i], maximum + i, target_z + i,
                              lse_z + i, a, r);
        } else {
            const double *v = (const double *)(const void *)row;
            if (!as_f64) { /* float16, or classes not adjacent: a float64 copy of the row */
                ce_load(row, rows->class_stride, rows->format, classes, scratch);
                v = scratch;
            }
            CE_V(one_row_f64)(v, classes, targets[i], maximum + i, target_z + i, lse_z + i, a, r);
        }
    }
    free(scratch);
    return 0;
}

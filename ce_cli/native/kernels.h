/* The kernels, compiled once per CPU variant: kernel.c includes this file with CE_V(name)
 * defined to give each copy its own names, under a target pragma for that variant.
 *
 * Softmax rows (see ce_cli/log_sum_exp.py for the mathematics, which this follows):
 *   m = max_j x_j (NaN if the row holds a NaN), a = the first j holding it, z_j = x_j - m,
 *   lse_z = log1p(s), s = sum over j != a of exp(z_j),
 * the sum of every term but one maximum's (which is exactly 1), so that a confident row
 * keeps the relative accuracy of its tiny loss: the terms with z_j == 0 are counted rather
 * than summed, and all but one of them added back as 1. Each exp is computed times 2^512
 * (exp_table.h) and the sum scaled back once, so no term is subnormal. A row holding NaN
 * or +inf, or only -inf, gives NaN, as PyTorch's log-softmax does.
 *
 * Rows of few classes are worked in tiles of TILE rows stored class-major, so that every
 * loop runs across rows (vectorised however few the classes); rows of many classes one
 * at a time, with the loops along the row, read in their own dtype (float32 rows are never
 * copied to float64). Loops are written elementwise over arrays of
 * partial results (LANES of them), which the compiler vectorises without reassociating.
 */

#define LANES 64
/* log1p on [0, 1] with one division where AVX-512 makes that faster (vmath.h) */
#undef CE_LOG1P_UNIT
#if defined(CE_EXP512)
#define CE_LOG1P_UNIT ce_log1p_unit
#else
#define CE_LOG1P_UNIT ce_log1p_unit_two_divisions
#endif
#define PREFETCH_BYTES (1 << 16) /* rows up to this size have the next one fetched while they are worked */

/* sum(lanes), halving: a fixed order, vectorised. */
static double CE_V(total)(double *lanes) {
    for (int width = LANES / 2; width >= 1; width /= 2) {
        for (int k = 0; k < width; k++) lanes[k] += lanes[k + width];
    }
    return lanes[0];
}

/* The first j with v[j] != v[j] (a NaN); n when none. */
static Py_ssize_t CE_V(first_nan)(const double *v, Py_ssize_t n, Py_ssize_t stride) {
    for (Py_ssize_t j = 0; j < n; j++) {
        if (v[j * stride] != v[j * stride]) return j;
    }
    return n;
}

/* exp(in) 2^512 into out (exp_table.h): the variant's vector code, or the scalar function. */
static void CE_V(exp_array)(const double *in, double *out, Py_ssize_t n) {
#if defined(CE_EXP512)
    ce_map_exp512(n, in, out);
#elif defined(CE_EXP256)
    ce_map_exp256(n, in, out);
#else
    for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_exp_scaled(in[i]);
#endif
}

/* A row's log Σ exp(x - m) from the sum over x != m of exp(x - m) 2^512 and the count of x == m: every
 * maximum's term but one is 1. Not inlined, so that every caller has the same code, and the same
 * result to the bit (the compiler may contract an inlined copy's products and sums differently). */
__attribute__((noinline)) static double CE_V(row_lse)(double s, Py_ssize_t zeros) {
    return ce_log1p_nonneg(s * 0x1p-512 + (double)(zeros - 1));
}

/* Per element type T (float32 rows are read as they are, never copied to float64): the maximum of a
 * row and whether it holds a NaN; the first j with v[j] == key or v[j] a NaN; how many v[j] > key;
 * and the sum over v[j] != m of exp(v[j] - m) 2^512 with the count of v[j] == m (m finite). */
#define CE_ROW_FUNCTIONS(T, SUFFIX, SUM_EXP, MAX)                                                           \
    static double CE_V(row_max_##SUFFIX)(const T *v, Py_ssize_t n, int *has_nan) {                        \
        MAX                                                                                                \
    }                                                                                                      \
    static Py_ssize_t CE_V(row_find_##SUFFIX)(const T *v, Py_ssize_t n, T key, int nan) {                  \
        for (Py_ssize_t j = 0; j < n; j += LANES) {                                                        \
            int width = n - j < LANES ? (int)(n - j) : LANES, hit = 0;                                     \
            for (int k = 0; k < width; k++) hit |= nan ? v[j + k] != v[j + k] : v[j + k] == key;           \
            if (hit) {                                                                                     \
                for (int k = 0; k < width; k++) {                                                          \
                    if (nan ? v[j + k] != v[j + k] : v[j + k] == key) return j + k;                        \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
        return n;                                                                                          \
    }                                                                                                      \
    static int64_t CE_V(row_above_##SUFFIX)(const T *v, Py_ssize_t n, T key) {                             \
        int64_t count[LANES];                                                                              \
        for (int k = 0; k < LANES; k++) count[k] = 0;                                                      \
        for (Py_ssize_t j = 0; j < n; j += LANES) {                                                        \
            int width = n - j < LANES ? (int)(n - j) : LANES;                                              \
            for (int k = 0; k < width; k++) count[k] += v[j + k] > key;                                    \
        }                                                                                                  \
        int64_t total = 0;                                                                                 \
        for (int k = 0; k < LANES; k++) total += count[k];                                                 \
        return total;                                                                                      \
    }                                                                                                      \
    static double CE_V(row_sum_exp_##SUFFIX)(const T *v, Py_ssize_t n, double m, Py_ssize_t *zeros) {      \
        SUM_EXP                                                                                            \
    }                                                                                                      \
    /* One row of n classes, contiguous. */                                                                \
    static void CE_V(one_row_##SUFFIX)(const T *v, Py_ssize_t n, int64_t target, double *maximum,          \
                                       double *target_z, double *lse_z, int64_t *argmax, int64_t *rank) {  \
        int has_nan;                                                                                       \
        double m = CE_V(row_max_##SUFFIX)(v, n, &has_nan);                                                 \
        m = has_nan ? CE_NAN : m;                                                                          \
        double key = (double)v[target], lse = CE_NAN; /* NaN for a row holding NaN or +inf, or only -inf */ \
        if (m - m == 0.0) {                                                                                \
            Py_ssize_t zeros;                                                                              \
            double s = CE_V(row_sum_exp_##SUFFIX)(v, n, m, &zeros);                                        \
            lse = CE_V(row_lse)(s, zeros);                                                                 \
        }                                                                                                  \
        *maximum = m;                                                                                      \
        *target_z = key - m;                                                                               \
        *lse_z = lse;                                                                                      \
        if (argmax) *argmax = (int64_t)CE_V(row_find_##SUFFIX)(v, n, (T)m, has_nan);                       \
        if (rank) *rank = 1 + CE_V(row_above_##SUFFIX)(v, n, (T)key);                                      \
    }

#if defined(CE_EXP512)
CE_ROW_FUNCTIONS(double, f64, return ce_sum_exp512_f64(v, n, m, zeros);, return ce_row_max512_f64(v, n, has_nan);)
CE_ROW_FUNCTIONS(float, f32, return ce_sum_exp512_f32(v, n, m, zeros);, return ce_row_max512_f32(v, n, has_nan);)
#elif defined(CE_EXP256)
CE_ROW_FUNCTIONS(double, f64, return ce_sum_exp256_f64(v, n, m, zeros);, return ce_row_max256_f64(v, n, has_nan);)
CE_ROW_FUNCTIONS(float, f32, return ce_sum_exp256_f32(v, n, m, zeros);, return ce_row_max256_f32(v, n, has_nan);)
#else
#define CE_PORTABLE_MAX(T)                                                                                 \
    T top[LANES], bad[LANES];                                                                              \
    for (int k = 0; k < LANES; k++) top[k] = (T)-CE_INF, bad[k] = 0;                                       \
    for (Py_ssize_t j = 0; j < n; j += LANES) {                                                            \
        int width = n - j < LANES ? (int)(n - j) : LANES;                                                  \
        const T *w = v + j;                                                                                \
        for (int k = 0; k < width; k++) {                                                                  \
            T x = w[k];                                                                                    \
            top[k] = x > top[k] ? x : top[k];                                                              \
            bad[k] = x != x ? (T)1 : bad[k];                                                               \
        }                                                                                                  \
    }                                                                                                      \
    T m = top[0], any_bad = bad[0];                                                                        \
    for (int k = 1; k < LANES; k++) m = top[k] > m ? top[k] : m, any_bad += bad[k];                        \
    *has_nan = any_bad > 0;                                                                                \
    return (double)m;
#define CE_PORTABLE_SUM                                                                                    \
    double sum[LANES], count[LANES];                                                                       \
    for (int k = 0; k < LANES; k++) sum[k] = 0.0, count[k] = 0.0;                                          \
    for (Py_ssize_t j = 0; j < n; j += LANES) {                                                            \
        int width = n - j < LANES ? (int)(n - j) : LANES;                                                  \
        for (int k = 0; k < width; k++) {                                                                  \
            double z = (double)v[j + k] - m;                                                               \
            double e = ce_exp_scaled(z);                                                                   \
            sum[k] += z == 0.0 ? 0.0 : e;                                                                  \
            count[k] += z == 0.0 ? 1.0 : 0.0;                                                              \
        }                                                                                                  \
    }                                                                                                      \
    *zeros = (Py_ssize_t)CE_V(total)(count);                                                               \
    return CE_V(total)(sum);
CE_ROW_FUNCTIONS(double, f64, CE_PORTABLE_SUM, CE_PORTABLE_MAX(double))
CE_ROW_FUNCTIONS(float, f32, CE_PORTABLE_SUM, CE_PORTABLE_MAX(float))
#undef CE_PORTABLE_SUM
#undef CE_PORTABLE_MAX
#endif
#undef CE_ROW_FUNCTIONS

/* ce-loss diff's baseline rows with the new model's rows beside them (the partner): one_row's results,
 * and per row cross_ratio = Σ_c e_c (zb_c - zx_c) / Σ_c e_c with zb = b - max b, zx = x - mx (mx the
 * partner's maxima, from its own pass) and e = exp(zb) 2^512, in the pass that sums e for the log-sum-exp:
 * KL(p_b || p_x) = cross_ratio + (lse_x - lse_b) (as kl_known, without a second pass over both files).
 * Rows of adjacent classes in one dtype, with vector code (AVX-512, AVX2) only. */
#if defined(CE_EXP512) || defined(CE_EXP256)
#if defined(CE_EXP512)
#define CE_SUM_CROSS_F32 ce_sum_exp_cross512_f32
#define CE_SUM_CROSS_F64 ce_sum_exp_cross512_f64
#define CE_KL_CROSS_F32 ce_kl_cross512_f32
#define CE_KL_CROSS_F64 ce_kl_cross512_f64
#else
#define CE_SUM_CROSS_F32 ce_sum_exp_cross256_f32
#define CE_SUM_CROSS_F64 ce_sum_exp_cross256_f64
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
            double cross, s = SUM_CROSS(v, w, n, m, mx, &zeros, &cross);                                   \
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
    for (Py_ssize_t c = 0; c < classes; c++) {
        const char *p = rows->data + first * rows->row_stride + c * rows->class_stride;
        ce_load(p, rows->row_stride, rows->format, count, scratch + c * TILE);
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        m[i] = -CE_INF, at[i] = 0.0, bad[i] = 0.0, sum[i] = 0.0, zeros[i] = 0.0, key[i] = 0.0;
    }
    /* Separate loops, each a plain select or sum that the compiler vectorises without masked stores. */
    for (Py_ssize_t c = 0; c < classes; c++) {
        const double *restrict col = scratch + c * TILE;
        for (Py_ssize_t i = 0; i < count; i++) {
            double x = col[i], top = m[i];
            m[i] = x > top ? x : top;
            bad[i] += x != x ? 1.0 : 0.0;
        }
    }
    if (argmax || classes == 2) {
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

/* Rows of two float32 classes side by side (a two-class softmax head): one exp and one log1p per row,
 * lse_z = log1p(exp(lo - hi)), in loops across the rows that the compiler vectorises. */
static void CE_V(pairs_f32)(const float *x, Py_ssize_t n, const int64_t *targets, double *maximum,
                            double *target_z, double *lse_z, int64_t *argmax) {
    double z[TILE], e[TILE];
    for (Py_ssize_t first = 0; first < n; first += TILE) {
        Py_ssize_t count = n - first < TILE ? n - first : TILE;
        const float *restrict p = x + 2 * first;
        const int64_t *restrict t = targets + first;
        double *restrict m_out = maximum + first, *restrict tz_out = target_z + first;
        for (Py_ssize_t i = 0; i < count; i++) {
            double a = (double)p[2 * i], b = (double)p[2 * i + 1];
            int nan = (a != a) | (b != b);
            double hi = b > a ? b : a, lo = b > a ? a : b;
            double m = nan ? CE_NAN : hi;
            z[i] = lo - m;
            m_out[i] = m;
            tz_out[i] = (t[i] ? b : a) - m;
        }
        CE_V(exp_array)(z, e, count);
        double *restrict l_out = lse_z + first;
        for (Py_ssize_t i = 0; i < count; i++) {
            double m = m_out[i];
            double l = CE_LOG1P_UNIT(e[i] * 0x1p-512);
            l_out[i] = m - m == 0.0 ? l : CE_NAN;
        }
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

#define PIECE 1024 /* rows per piece in index_losses */

/* Index targets, as ce_cli/families/softmax/weighting.py computes them (no label smoothing): per row
 *   log_prob = z[t] - lse_z, loss = -w[t] * log_prob (0 where t is the ignore index),
 * with t taken as class 0 where ignored (as the numpy path does), and the mean's denominator
 * sum w[t] over the rows that count. A piece of rows at a time, so that its per-row results are
 * still in cache when the losses are made; what the row checks need is gathered on the way. */
/* index_losses for rows of two float32 classes side by side (a two-class head), without ranks: the
 * same results as the general path in three loops a piece, not eight (a row's max, its target's z
 * and the exponent; exp; the log1p, the loss and the counts). lse_z = log1p(exp(lo - hi)). */
static void CE_V(index_pairs_f32)(const float *x, Py_ssize_t n, const int64_t *given, int64_t ignore_index,
                                  const double *weights, double *loss, double *log_p, unsigned char *at_top,
                                  double *maximum, double *lse, int64_t *argmax, CeIndexStats *stats) {
    double z[PIECE], e[PIECE], tz[PIECE];
    double low[LANES], high[LANES], nan[LANES];
    for (int k = 0; k < LANES; k++) low[k] = CE_INF, high[k] = -CE_INF, nan[k] = 0.0;
    double denominator = 0.0;
    int64_t non_finite = 0;
    stats->outside = -1;
    for (Py_ssize_t first = 0; first < n; first += PIECE) {
        Py_ssize_t count = n - first < PIECE ? n - first : PIECE;
        const float *restrict p = x + 2 * first;
        const int64_t *restrict g = given + first;
        double *restrict m_out = maximum + first;
        int64_t outside = 0;
        for (Py_ssize_t i = 0; i < count; i++) {
            int64_t t = g[i] == ignore_index ? 0 : g[i];
            outside |= (t < 0) | (t > 1);
            double a = (double)p[2 * i], b = (double)p[2 * i + 1];
            int nan = (a != a) | (b != b);
            double hi = b > a ? b : a, lo = b > a ? a : b;
            double m = nan ? CE_NAN : hi;
            z[i] = lo - m;
            m_out[i] = m;
            tz[i] = (t ? b : a) - m;
        }
        if (outside) { /* refused before any loss is made */
            for (Py_ssize_t i = 0; i < count; i++) {
                int64_t t = g[i] == ignore_index ? 0 : g[i];
                if (t < 0 || t > 1) {
                    stats->outside = first + i;
                    return;
                }
            }
        }
        for (Py_ssize_t j = 0; j < count; j += LANES) { /* the row checks' extremes of the maxima */
            int width = count - j < LANES ? (int)(count - j) : LANES;
            for (int k = 0; k < width; k++) {
                double v = m_out[j + k];
                low[k] = v < low[k] ? v : low[k];
                high[k] = v > high[k] ? v : high[k];
                nan[k] = v != v ? 1.0 : nan[k];
            }
        }
        CE_V(exp_array)(z, e, count);
        double *restrict out = loss + first, *restrict lp = log_p + first;
        int64_t counted_rows = 0, bad = 0;
        double weighted = 0.0;
#define CE_PAIR_LOSS(WEIGHT)                                                                                \
    for (Py_ssize_t i = 0; i < count; i++) {                                                               \
        double m = m_out[i];                                                                               \
        double l = CE_LOG1P_UNIT(e[i] * 0x1p-512);                                                         \
        l = m - m == 0.0 ? l : CE_NAN;                                                                     \
        double log_prob = tz[i] - l;                                                                       \
        int counted = g[i] != ignore_index;                                                                \
        double wt = WEIGHT;                                                                                \
        double value = (counted ? -wt * log_prob : 0.0) + 0.0;                                             \
        lp[i] = log_prob;                                                                                  \
        out[i] = value;                                                                                    \
        counted_rows += counted;                                                                           \
        weighted += counted ? wt : 0.0;                                                                    \
        bad += !(value - value == 0.0);                                                                    \
        e[i] = l;                                                                                          \
    }
        if (weights) {
            CE_PAIR_LOSS(weights[counted ? g[i] : 0])
        } else {
            CE_PAIR_LOSS(1.0)
        }
#undef CE_PAIR_LOSS
        if (lse) memcpy(lse + first, e, sizeof(double) * (size_t)count);
        for (Py_ssize_t i = 0; i < count; i++) at_top[first + i] = tz[i] == 0.0;
        if (argmax) {
            for (Py_ssize_t i = 0; i < count; i++) {
                float a = p[2 * i], b = p[2 * i + 1];
                argmax[first + i] = a != a ? 0 : b != b ? 1 : b > a ? 1 : 0;
            }
        }
        denominator += weights ? weighted : (double)counted_rows;
        non_finite += bad;
    }
    double lowest = low[0], highest = high[0], any_nan = nan[0];
    for (int k = 1; k < LANES; k++) {
        lowest = low[k] < lowest ? low[k] : lowest;
        highest = high[k] > highest ? high[k] : highest;
        any_nan += nan[k];
    }
    stats->denominator = denominator;
    stats->lowest = any_nan > 0.0 ? CE_NAN : lowest;
    stats->highest = any_nan > 0.0 ? CE_NAN : highest;
    stats->non_finite = non_finite;
}

static int CE_V(index_losses)(const CeRows *rows, const int64_t *given, int64_t ignore_index, const double *weights,
                              double *loss, double *log_p, unsigned char *at_top, double *maximum, double *lse,
                              int64_t *argmax, int64_t *rank, const CePartner *partner, CeIndexStats *stats) {
    int crossed = partner && CE_V(cross_fits)(rows, partner->rows);
    stats->crossed = crossed;
    if (rows->classes == 2 && !rank && rows->format == CE_F32 && rows->class_stride == sizeof(float) &&
        rows->row_stride == 2 * sizeof(float)) {
        CE_V(index_pairs_f32)((const float *)(const void *)rows->data, rows->count, given, ignore_index, weights,
                              loss, log_p, at_top, maximum, lse, argmax, stats);
        return 0;
    }
    int64_t c[PIECE]; /* the class each row is read at */
    double low[LANES], high[LANES], nan[LANES];
    for (int k = 0; k < LANES; k++) low[k] = CE_INF, high[k] = -CE_INF, nan[k] = 0.0;
    double denominator = 0.0;
    int64_t non_finite = 0;
    Py_ssize_t n = rows->count;
    stats->outside = -1;
    for (Py_ssize_t first = 0; first < n; first += PIECE) {
        Py_ssize_t count = n - first < PIECE ? n - first : PIECE;
        const int64_t *restrict g = given + first;
        int64_t outside = 0;
        for (Py_ssize_t i = 0; i < count; i++) {
            int64_t t = g[i] == ignore_index ? 0 : g[i];
            outside |= (t < 0) | (t >= rows->classes);
            c[i] = t;
        }
        if (outside) { /* refused before any row is read at its target */
            for (Py_ssize_t i = 0; i < count; i++) {
                if (c[i] < 0 || c[i] >= rows->classes) {
                    stats->outside = first + i;
                    return 0;
                }
            }
        }
        CeRows piece = *rows;
        piece.data = rows->data + first * rows->row_stride;
        piece.count = count;
        double *restrict lp = log_p + first, *restrict out = loss + first, *restrict m = maximum + first;
        unsigned char *restrict top = at_top + first;
        if (crossed) {
            CeRows other = *partner->rows;
            other.data = partner->rows->data + first * other.row_stride;
            other.count = count;
            CE_V(softmax_rows_cross)(&piece, &other, partner->maximum + first, c, m, lp, out,
                                     argmax ? argmax + first : NULL, rank ? rank + first : NULL,
                                     partner->cross_ratio + first);
        } else if (CE_V(softmax_rows)(&piece, c, m, lp, out, argmax ? argmax + first : NULL,
                                      rank ? rank + first : NULL) < 0) {
            return -1;
        }
        int64_t counted_rows = 0, bad = 0; /* integer sums: the loops vectorise */
        if (lse) { /* each row's log Σ exp(x - m), kept where asked (ce-loss diff's KL reads it) */
            for (Py_ssize_t i = 0; i < count; i++) lse[first + i] = out[i];
        }
        for (Py_ssize_t i = 0; i < count; i++) top[i] = lp[i] == 0.0; /* z at the target is 0: the maximum */
        for (Py_ssize_t j = 0; j < count; j += LANES) {
            int width = count - j < LANES ? (int)(count - j) : LANES;
            for (int k = 0; k < width; k++) {
                double x = m[j + k];
                low[k] = x < low[k] ? x : low[k];
                high[k] = x > high[k] ? x : high[k];
                nan[k] = x != x ? 1.0 : nan[k];
            }
        }
        /* log p[t] = z[t] - lse_z, the loss and the counts in one loop */
        if (weights) {
            for (Py_ssize_t i = 0; i < count; i++) {
                int counted = g[i] != ignore_index;
                double wt = weights[c[i]], log_prob = lp[i] - out[i];
                double value = (counted ? -wt * log_prob : 0.0) + 0.0;
                lp[i] = log_prob;
                out[i] = value;
                denominator += counted ? wt : 0.0;
                bad += !(value - value == 0.0);
            }
        } else {
            for (Py_ssize_t i = 0; i < count; i++) {
                int counted = g[i] != ignore_index;
                double log_prob = lp[i] - out[i];
                double value = (counted ? -log_prob : 0.0) + 0.0;
                lp[i] = log_prob;
                out[i] = value;
                counted_rows += counted;
                bad += !(value - value == 0.0);
            }
            denominator += (double)counted_rows;
        }
        non_finite += bad;
    }
    double lowest = low[0], highest = high[0], any_nan = nan[0];
    for (int k = 1; k < LANES; k++) {
        lowest = low[k] < lowest ? low[k] : lowest;
        highest = high[k] > highest ? high[k] : highest;
        any_nan += nan[k];
    }
    stats->denominator = denominator;
    stats->lowest = any_nan > 0.0 ? CE_NAN : lowest;
    stats->highest = any_nan > 0.0 ? CE_NAN : highest;
    stats->non_finite = non_finite;
    return 0;
}

static void CE_V(load_run)(const CeRows *rows, Py_ssize_t i, double *out) {
    const char *p = rows->data + i * rows->row_stride;
    ce_load(p, rows->class_stride, rows->format, rows->classes, out);
}

/* The value summed for class j of a row: z_j (fused), z_j - lse_z (two steps), log q_j (naive). */
static inline double CE_V(term)(double x, double m, double lse, int mode, double low, double high) {
    if (mode == CE_TERM_LOG) {
        double q = x < low ? low : x;
        q = q > high ? high : q;
        return ce_log(q);
    }
    double z = x - m;
    return mode == CE_TERM_TWO_STEP ? z - lse : z;
}

/* One row's sums for one mode; inlined with mode a constant, so that each loop holds one term only. */
static inline __attribute__((always_inline)) void CE_V(sums_row)(const double *v, const double *coef, Py_ssize_t n,
                                                                 double m, double l, const int mode, double low,
                                                                 double high, double *term_sum, double *coef_sum) {
    double acc[LANES], cacc[LANES];
    for (int k = 0; k < LANES; k++) acc[k] = 0.0, cacc[k] = 0.0;
    for (Py_ssize_t j = 0; j < n; j += LANES) {
        int width = n - j < LANES ? (int)(n - j) : LANES;
        for (int k = 0; k < width; k++) {
            double c = coef[j + k];
            acc[k] += c * CE_V(term)(v[j + k], m, l, mode, low, high);
            cacc[k] += c;
        }
    }
    *term_sum = CE_V(total)(acc);
    *coef_sum = CE_V(total)(cacc);
}

/* Per row: sum_j v_j term_j and sum_j v_j, for coefficients v that are all ones (weight NULL),
 * a (C,) weight or a (B, C) matrix. */
static int CE_V(row_sums)(const CeRows *rows, const double *maximum, const double *lse, const CeRows *coefficients,
                          const double *weight, int mode, double low, double high, double *term_sum,
                          double *coefficient_sum) {
    Py_ssize_t n = rows->classes;
    double *scratch = malloc(sizeof(double) * (size_t)(2 * n + 1));
    if (!scratch) return -1;
    double *v = scratch, *w = scratch + n;
    if (!coefficients) {
        for (Py_ssize_t j = 0; j < n; j++) w[j] = weight ? weight[j] : 1.0;
    }
    for (Py_ssize_t i = 0; i < rows->count; i++) {
        CE_V(load_run)(rows, i, v);
        if (coefficients) CE_V(load_run)(coefficients, i, w);
        double m = maximum[i], l = lse ? lse[i] : 0.0;
        if (mode == CE_TERM_LOG) {
            CE_V(sums_row)(v, w, n, m, l, CE_TERM_LOG, low, high, term_sum + i, coefficient_sum + i);
        } else if (mode == CE_TERM_TWO_STEP) {
            CE_V(sums_row)(v, w, n, m, l, CE_TERM_TWO_STEP, low, high, term_sum + i, coefficient_sum + i);
        } else {
            CE_V(sums_row)(v, w, n, m, l, CE_TERM_SHIFTED, low, high, term_sum + i, coefficient_sum + i);
        }
    }
    free(scratch);
    return 0;
}

/* The binary family, element by element (ce_cli/binary.py), weighted, with the prediction
 * (x above the threshold) checked against the target (t >= 0.5):
 *   logits:        loss = pw t softplus(-x) + (1 - t) softplus(x),
 *                  softplus(z) = max(z, 0) + log1p(exp(-|z|)); infinite logits are counted, and the
 *                  caller takes their losses from PyTorch's arrangement;
 *   probabilities: loss = (t - 1) max(log(1 - p), -100) - t max(log p, -100), PyTorch's clamp,
 *                  p clipped into [low, high] first; the first p outside [0, 1] is reported. */
/* Unweighted logits read where they lie (contiguous float32 or float64 logits and targets), in two
 * passes over a tile instead of six: -|x| and the infinite ones, exp; then the loss and the counts;
 * then the hits. The same arithmetic as the general loop in CE_V(binary). */
#define CE_BINARY_TILE(TX, TT, SUFFIX)                                                                      \
    static void CE_V(binary_tile_##SUFFIX)(const TX *restrict x, const TT *restrict t, Py_ssize_t count,   \
                                           double *restrict out, unsigned char *restrict correct,          \
                                           double *restrict decay, double *restrict wide,                  \
                                           double *restrict wide_t, int check_targets, int64_t *counts) {  \
        int64_t special = 0, outside = 0, non_finite = 0, bad_targets = 0;                                 \
        for (Py_ssize_t i = 0; i < count; i++) {                                                           \
            double v = (double)x[i];                                                                       \
            double a = v < 0.0 ? -v : v;                                                                   \
            special += a == CE_INF;                                                                        \
            decay[i] = -a;                                                                                 \
            wide[i] = v;                                                                                   \
            wide_t[i] = (double)t[i];                                                                      \
        }                                                                                                  \
        CE_V(exp_array)(decay, decay, count);                                                              \
        /* float64 alone here: a float32 read would make the loop twice as wide, and spill */               \
        for (Py_ssize_t i = 0; i < count; i++) {                                                           \
            double v = wide[i], target = wide_t[i];                                                        \
            double log_term = CE_LOG1P_UNIT(decay[i] * 0x1p-512);                                          \
            double sp_minus = (v < 0.0 ? -v : 0.0) + log_term;                                             \
            double sp_plus = (v > 0.0 ? v : 0.0) + log_term;                                               \
            out[i] = target * sp_minus + (1.0 - target) * sp_plus + 0.0;                                   \
        }                                                                                                  \
        for (Py_ssize_t i = 0; i < count; i++) {                                                           \
            double v = wide[i], target = wide_t[i], loss = out[i];                                         \
            outside += !(v >= 0.0 && v <= 1.0);                                                            \
            non_finite += !(v - v == 0.0) & !(loss - loss == 0.0);                                         \
        }                                                                                                  \
        if (check_targets) {                                                                               \
            for (Py_ssize_t i = 0; i < count; i++) bad_targets += !((wide_t[i] >= 0.0) & (wide_t[i] <= 1.0)); \
        }                                                                                                  \
        /* apart: a byte store in the loops above would make them 64 elements wide, and spill */           \
        for (Py_ssize_t i = 0; i < count; i++) correct[i] = (x[i] > 0) == (t[i] >= (TT)0.5);               \
        counts[0] += special;                                                                              \
        counts[1] += outside;                                                                              \
        counts[2] += non_finite;                                                                           \
        counts[3] += bad_targets;                                                                          \
    }
CE_BINARY_TILE(float, float, ff)
CE_BINARY_TILE(float, double, fd)
CE_BINARY_TILE(double, float, df)
CE_BINARY_TILE(double, double, dd)

/* The fused tiles where they apply (unweighted logits, contiguous float32/float64 x and t): 1 if done. */
static int CE_V(binary_fused)(const CeBinary *job, CeBinaryStats *stats) {
    const CeRows *x = job->x, *t = job->t;
    int xf = x->format == CE_F32 && x->row_stride == sizeof(float);
    int xd = x->format == CE_F64 && x->row_stride == sizeof(double);
    int tf = t->format == CE_F32 && t->row_stride == sizeof(float);
    int td = t->format == CE_F64 && t->row_stride == sizeof(double);
    if (job->probabilities || job->weight || job->pos_weight || !(xf || xd) || !(tf || td)) return 0;
    double decay[TILE], wide[TILE], wide_t[TILE];
    int64_t counts[4] = {0, 0, 0, 0};
    for (Py_ssize_t first = 0; first < x->count; first += TILE) {
        Py_ssize_t count = x->count - first < TILE ? x->count - first : TILE;
        double *out = job->out + first;
        unsigned char *correct = job->correct + first;
        if (xf && tf) {
            CE_V(binary_tile_ff)((const float *)(const void *)x->data + first, (const float *)(const void *)t->data + first,
                                 count, out, correct, decay, wide, wide_t,
                                 job->check_targets, counts);
        } else if (xf) {
            CE_V(binary_tile_fd)((const float *)(const void *)x->data + first,
                                 (const double *)(const void *)t->data + first, count, out, correct, decay, wide, wide_t,
                                 job->check_targets, counts);
        } else if (tf) {
            CE_V(binary_tile_df)((const double *)(const void *)x->data + first,
                                 (const float *)(const void *)t->data + first, count, out, correct, decay, wide, wide_t,
                                 job->check_targets, counts);
        } else {
            CE_V(binary_tile_dd)((const double *)(const void *)x->data + first,
                                 (const double *)(const void *)t->data + first, count, out, correct, decay, wide, wide_t,
                                 job->check_targets, counts);
        }
    }
    stats->special = counts[0];
    stats->not_in_unit = counts[1];
    stats->non_finite = counts[2];
    stats->bad_targets = counts[3];
    return 1;
}

static void CE_V(binary)(const CeBinary *job, CeBinaryStats *stats) {
    if (CE_V(binary_fused)(job, stats)) return;
    const CeRows *x = job->x;
    Py_ssize_t n = x->count;
    double chunk[TILE], t[TILE], pw[TILE], w[TILE], decay[TILE];
    stats->special = job->probabilities ? -1 : 0;
    stats->not_in_unit = 0;
    stats->non_finite = 0;
    stats->bad_targets = 0;
    double threshold = job->probabilities ? 0.5 : 0.0;
    for (Py_ssize_t first = 0; first < n; first += TILE) {
        Py_ssize_t count = n - first < TILE ? n - first : TILE;
        ce_load(job->t->data + first * job->t->row_stride, job->t->row_stride, job->t->format, count, t);
        double *out = job->out + first;
        unsigned char *correct = job->correct + first;
        ce_load(x->data + first * x->row_stride, x->row_stride, x->format, count, chunk);
        if (job->pos_weight) {
            ce_load(job->pos_weight->data + first * job->pos_weight->row_stride, job->pos_weight->row_stride, CE_F64,
                    count, pw);
        }
        if (job->weight) {
            ce_load(job->weight->data + first * job->weight->row_stride, job->weight->row_stride, CE_F64, count, w);
        }
        const int weighted = job->weight != NULL, positive_weighted = job->pos_weight != NULL;
        int64_t special = 0, outside = 0, non_finite = 0, bad_targets = 0; /* integers: float sums would not vectorise */
        if (job->probabilities) {
            for (Py_ssize_t i = 0; i < count; i++) {
                double v = chunk[i], target = t[i];
                double q = v < job->low ? job->low : v;
                q = q > job->high ? job->high : q;
                double log_p = ce_log(q), log_not_p = ce_log1p(-q);
                log_p = log_p > -100.0 ? log_p : -100.0;
                log_not_p = log_not_p > -100.0 ? log_not_p : -100.0;
                out[i] = ((target - 1.0) * log_not_p - target * log_p + 0.0) * (weighted ? w[i] : 1.0);
            }
        } else {
            for (Py_ssize_t i = 0; i < count; i++) {
                double a = chunk[i] < 0.0 ? -chunk[i] : chunk[i];
                special += a == CE_INF;
                decay[i] = -a;
            }
            CE_V(exp_array)(decay, decay, count);
            /* one loop per case, so that each is plain vector code (the weights' presence is loop-invariant) */
            if (!weighted && !positive_weighted) {
                for (Py_ssize_t i = 0; i < count; i++) {
                    double v = chunk[i], target = t[i];
                    double log_term = CE_LOG1P_UNIT(decay[i] * 0x1p-512);
                    double sp_minus = (v < 0.0 ? -v : 0.0) + log_term; /* softplus(-x) */
                    double sp_plus = (v > 0.0 ? v : 0.0) + log_term;   /* softplus(x) */
                    out[i] = target * sp_minus + (1.0 - target) * sp_plus + 0.0;
                }
            } else {
                for (Py_ssize_t i = 0; i < count; i++) {
                    double v = chunk[i], target = t[i];
                    double log_term = CE_LOG1P_UNIT(decay[i] * 0x1p-512);
                    double sp_minus = (v < 0.0 ? -v : 0.0) + log_term;
                    double sp_plus = (v > 0.0 ? v : 0.0) + log_term;
                    double p = positive_weighted ? pw[i] : 1.0, weight = weighted ? w[i] : 1.0;
                    out[i] = (p * target * sp_minus + (1.0 - target) * sp_plus + 0.0) * weight;
                }
            }
        }
        for (Py_ssize_t i = 0; i < count; i++) {
            double v = chunk[i];
            outside += !(v >= 0.0 && v <= 1.0);
            non_finite += !(v - v == 0.0) & !(out[i] - out[i] == 0.0);
            correct[i] = (v > threshold) == (t[i] >= 0.5);
        }
        if (job->check_targets) { /* apart: in the loop above, with its byte store, it would cost more */
            for (Py_ssize_t i = 0; i < count; i++) bad_targets += !((t[i] >= 0.0) & (t[i] <= 1.0));
        }
        stats->bad_targets += bad_targets;
        stats->not_in_unit += outside;
        stats->non_finite += non_finite;
        if (!job->probabilities) {
            stats->special += special;
        } else if (outside && stats->special < 0) {
            for (Py_ssize_t i = 0; i < count; i++) {
                if (!(chunk[i] >= 0.0 && chunk[i] <= 1.0)) {
                    stats->special = first + i;
                    break;
                }
            }
        }
    }
}

static void CE_V(map)(int which, Py_ssize_t n, const double *in, double *out) {
    if (which == 0 || which == 4) { /* 4: exp(x) 2^512 as the kernels sum it, before the scaling back */
        CE_V(exp_array)(in, out, n);
        if (which == 0) {
            for (Py_ssize_t i = 0; i < n; i++) out[i] *= 0x1p-512;
        }
    } else if (which == 1) {
        for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_log1p(in[i]);
    } else if (which == 2) {
        for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_log(in[i]);
    } else if (which == 5) {
        for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_log1p_nonneg(in[i]);
    } else {
        for (Py_ssize_t i = 0; i < n; i++) out[i] = CE_LOG1P_UNIT(in[i]);
    }
}

/* Per row i of two row sets of one shape: KL(softmax(b_i / T) || softmax(x_i / T)), as ce_cli/paired/kl.py
 * computes it with numpy (max-shifted sums, a class with p_b = 0 adding nothing, NaN for a row whose
 * maximum is not finite or that holds a NaN, rounding below 0 reported as 0). Five passes over a row held
 * in L1: load both, both maxima, the shifted values, their exps, and one pass of every sum. */
static int CE_V(kl_rows)(const CeRows *base, const CeRows *new_rows, double temperature, double *out) {
    Py_ssize_t c = base->classes;
    double *scratch = malloc(sizeof(double) * (size_t)(4 * c + 1));
    if (!scratch) return -1;
    double *b = scratch, *x = scratch + c, *eb = scratch + 2 * c, *ex = scratch + 3 * c;
    for (Py_ssize_t i = 0; i < base->count; i++) {
        ce_load(base->data + i * base->row_stride, base->class_stride, base->format, c, b);
        ce_load(new_rows->data + i * new_rows->row_stride, new_rows->class_stride, new_rows->format, c, x);
        if (temperature != 1.0) { /* softmax(z / T): divided, as PyTorch's z / T */
            for (Py_ssize_t j = 0; j < c; j++) {
                b[j] /= temperature;
                x[j] /= temperature;
            }
        }
        double top_b[LANES], top_x[LANES], bad[LANES];
        for (int k = 0; k < LANES; k++) top_b[k] = -CE_INF, top_x[k] = -CE_INF, bad[k] = 0.0;
        for (Py_ssize_t j = 0; j < c; j += LANES) {
            int width = c - j < LANES ? (int)(c - j) : LANES;
            for (int k = 0; k < width; k++) {
                double u = b[j + k], v = x[j + k];
                top_b[k] = u > top_b[k] ? u : top_b[k];
                top_x[k] = v > top_x[k] ? v : top_x[k];
                bad[k] += (u != u) | (v != v) ? 1.0 : 0.0;
            }
        }
        double mb = top_b[0], mx = top_x[0], nan = bad[0];
        for (int k = 1; k < LANES; k++) {
            mb = top_b[k] > mb ? top_b[k] : mb;
            mx = top_x[k] > mx ? top_x[k] : mx;
            nan += bad[k];
        }
        if (nan > 0.0 || !(mb - mb == 0.0) || !(mx - mx == 0.0)) {
            out[i] = CE_NAN;
            continue;
        }
        for (Py_ssize_t j = 0; j < c; j++) { /* z_b and z_x, kept in b and x */
            b[j] -= mb;
            x[j] -= mx;
        }
        CE_V(exp_array)(b, eb, c); /* exp(z_b) 2^512 */
        CE_V(exp_array)(x, ex, c);
        /* each class's z_b - z_x: 0 at a class that is the maximum of both, so that a confident row's KL,
         * far below its terms, is not lost to cancellation; p_b = 0 adds nothing, and mass where p_x = 0 is
         * infinite. S = (entries at the maximum) 2^512 + the rest below it: S_x - S_b is then the difference
         * of the counts and of the rests, exact where the rests are tiny. */
        double cross[LANES], n_b[LANES], n_x[LANES], rest_b[LANES], rest_x[LANES];
        for (int k = 0; k < LANES; k++) cross[k] = n_b[k] = n_x[k] = rest_b[k] = rest_x[k] = 0.0;
        for (Py_ssize_t j = 0; j < c; j += LANES) {
            int width = c - j < LANES ? (int)(c - j) : LANES;
            for (int k = 0; k < width; k++) {
                double zb = b[j + k], zx = x[j + k], e = eb[j + k];
                cross[k] += zb == -CE_INF ? 0.0 : zx == -CE_INF ? CE_INF : e * (zb - zx);
                n_b[k] += zb == 0.0 ? 1.0 : 0.0;
                rest_b[k] += zb == 0.0 ? 0.0 : e;
                n_x[k] += zx == 0.0 ? 1.0 : 0.0;
                rest_x[k] += zx == 0.0 ? 0.0 : ex[j + k];
            }
        }
        double total_cross = CE_V(total)(cross), count_b = CE_V(total)(n_b), count_x = CE_V(total)(n_x);
        double sum_b = CE_V(total)(rest_b), sum_x = CE_V(total)(rest_x);
        double s_b = count_b * 0x1p512 + sum_b;
        double difference = (count_x - count_b) * 0x1p512 + (sum_x - sum_b);
        double kl = total_cross / s_b + ce_log1p(difference / s_b); /* the 2^512 cancels in both ratios */
        out[i] = kl < 0.0 ? 0.0 : kl;
    }
    free(scratch);
    return 0;
}

/* Per row i: KL(softmax(b_i) || softmax(x_i)) from each row's maximum and lse = log Σ_j exp(z_j) (as
 * index_losses gives them), with one exp per class: with z = b - mb, w = x - mx and e = exp(z) 2^512,
 * KL = Σ_c e_c (z_c - w_c) / Σ_c e_c + (lse_x - lse_b), where a class with p_b = 0 adds nothing and mass
 * where p_x = 0 makes it infinite; NaN where a maximum or an lse is not finite (a row holding NaN, +inf,
 * or only -inf), as kl_rows. Rounding below 0 is reported as 0. */
static int CE_V(kl_known)(const CeRows *base, const CeRows *new_rows, const double *mb, const double *lb,
                          const double *mx, const double *lx, double *out) {
    Py_ssize_t c = base->classes;
#if defined(CE_EXP512) || defined(CE_EXP256)
    /* rows of adjacent classes in one dtype: one vector pass over both, nothing copied */
    int same = base->format == new_rows->format && (base->format == CE_F32 || base->format == CE_F64);
    Py_ssize_t item = base->format == CE_F32 ? (Py_ssize_t)sizeof(float) : (Py_ssize_t)sizeof(double);
    if (same && base->class_stride == item && new_rows->class_stride == item) {
        for (Py_ssize_t i = 0; i < base->count; i++) {
            double m_b = mb[i], m_x = mx[i], cross, total;
            if (!(m_b - m_b == 0.0) || !(m_x - m_x == 0.0) || !(lb[i] - lb[i] == 0.0) || !(lx[i] - lx[i] == 0.0)) {
                out[i] = CE_NAN;
                continue;
            }
            const char *rb = base->data + i * base->row_stride, *rx = new_rows->data + i * new_rows->row_stride;
#if defined(CE_EXP512)
#define CE_KL_CROSS_F32 ce_kl_cross512_f32
#define CE_KL_CROSS_F64 ce_kl_cross512_f64
#else
#define CE_KL_CROSS_F32 ce_kl_cross256_f32
#define CE_KL_CROSS_F64 ce_kl_cross256_f64
#endif
            if (base->format == CE_F32) {
                CE_KL_CROSS_F32((const float *)(const void *)rb, (const float *)(const void *)rx, c, m_b, m_x, &cross,
                                &total);
            } else {
                CE_KL_CROSS_F64((const double *)(const void *)rb, (const double *)(const void *)rx, c, m_b, m_x,
                                &cross, &total);
            }
#undef CE_KL_CROSS_F32
#undef CE_KL_CROSS_F64
            double kl = cross / total + (lx[i] - lb[i]);
            out[i] = kl < 0.0 ? 0.0 : kl;
        }
        return 0;
    }
#endif
    double *scratch = malloc(sizeof(double) * (size_t)(3 * c + 1));
    if (!scratch) return -1;
    double *b = scratch, *x = scratch + c, *e = scratch + 2 * c;
    for (Py_ssize_t i = 0; i < base->count; i++) {
        double m_b = mb[i], m_x = mx[i];
        if (!(m_b - m_b == 0.0) || !(m_x - m_x == 0.0) || !(lb[i] - lb[i] == 0.0) || !(lx[i] - lx[i] == 0.0)) {
            out[i] = CE_NAN;
            continue;
        }
        ce_load(base->data + i * base->row_stride, base->class_stride, base->format, c, b);
        ce_load(new_rows->data + i * new_rows->row_stride, new_rows->class_stride, new_rows->format, c, x);
        for (Py_ssize_t j = 0; j < c; j++) {
            b[j] -= m_b;
            x[j] -= m_x;
        }
        CE_V(exp_array)(b, e, c); /* exp(z_b) 2^512 */
        double cross[LANES], total[LANES];
        for (int k = 0; k < LANES; k++) cross[k] = total[k] = 0.0;
        for (Py_ssize_t j = 0; j < c; j += LANES) {
            int width = c - j < LANES ? (int)(c - j) : LANES;
            for (int k = 0; k < width; k++) {
                double zb = b[j + k], zx = x[j + k], ek = e[j + k];
                cross[k] += zb == -CE_INF ? 0.0 : zx == -CE_INF ? CE_INF : ek * (zb - zx);
                total[k] += ek;
            }
        }
        double kl = CE_V(total)(cross) / CE_V(total)(total) + (lx[i] - lb[i]); /* the 2^512 cancels */
        out[i] = kl < 0.0 ? 0.0 : kl;
    }
    free(scratch);
    return 0;
}

/* The Poisson bootstrap's sums, as ce_cli/paired/bootstrap.py computes them with numpy: resamples 2j and
 * 2j + 1 share the draw u = mix32((lo[i] + j 0x9E3779B9) ^ hi[i]), the low 16 bits resample 2j's and the
 * high 16 bits resample 2j + 1's; a weight c is the number of ce_poisson_thresholds its 16 bits reach, and
 * num[b] += c a[i], den[b] += c w[i] for resamples first .. first + count - 1. Whole pairs take one hash
 * for two weights, four samples are added per pass over the pairs (their weighted sum first, then into
 * the sums), and the loops over the pairs are plain vector code. */
static inline uint32_t CE_V(poisson_draw)(uint32_t key, uint32_t other, uint32_t step) {
    uint32_t x = (key + step) ^ other;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    return x ^ (x >> 16);
}

static inline int32_t CE_V(poisson_count)(uint32_t v) {
    int32_t c = 0;
    for (int k = 0; k < 8; k++) c += v >= ce_poisson_thresholds[k];
    return c;
}

/* One sample's weight for the single resample b (global index), the pair's half it falls in. */
static inline double CE_V(poisson_one)(uint32_t lo, uint32_t hi, int64_t b) {
    uint32_t u = CE_V(poisson_draw)(lo, hi, (uint32_t)((uint64_t)(b >> 1) * 0x9E3779B9u));
    return (double)CE_V(poisson_count)((b & 1) ? u >> 16 : u & 0xFFFFu);
}

static void CE_V(poisson_sums)(const uint32_t *lo, const uint32_t *hi, const double *a, const double *w, Py_ssize_t n,
                               int64_t first, Py_ssize_t count, double *restrict num, double *restrict den) {
    if (count <= 0) return;
    int64_t stop = first + count, begin = first + (first & 1); /* whole pairs: [begin, end) */
    int64_t end = stop - ((stop - begin) & 1);
    if (end < begin) end = begin;
    Py_ssize_t pairs = (Py_ssize_t)((end - begin) / 2);
    /* the pairs' sums, even and odd resamples apart (contiguous, so that the loops vectorise), interleaved
     * into num and den at the end */
    double *scratch = pairs ? calloc((size_t)(4 * pairs), sizeof(double)) : NULL;
    if (pairs && !scratch) pairs = 0; /* no memory: every resample below, one draw each */
    double *restrict ne = scratch, *restrict no = scratch + pairs, *restrict de = scratch + 2 * pairs,
                     *restrict dd = scratch + 3 * pairs;
    const uint32_t start = (uint32_t)((uint64_t)(begin >> 1) * 0x9E3779B9u);
    for (Py_ssize_t i = 0; i < n; i++) { /* the resamples outside whole pairs: a draw each */
        if (first & 1) {
            double c = CE_V(poisson_one)(lo[i], hi[i], first);
            num[0] += c * a[i];
            den[0] += c * w[i];
        }
        if (end < stop && end >= begin) {
            double c = CE_V(poisson_one)(lo[i], hi[i], end);
            num[end - first] += c * a[i];
            den[end - first] += c * w[i];
        }
    }
    Py_ssize_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t k0 = lo[i] + start, k1 = lo[i + 1] + start, k2 = lo[i + 2] + start, k3 = lo[i + 3] + start;
        const uint32_t h0 = hi[i], h1 = hi[i + 1], h2 = hi[i + 2], h3 = hi[i + 3];
        const double a0 = a[i], a1 = a[i + 1], a2 = a[i + 2], a3 = a[i + 3];
        const double w0 = w[i], w1 = w[i + 1], w2 = w[i + 2], w3 = w[i + 3];
        for (Py_ssize_t j = 0; j < pairs; j++) {
            const uint32_t step = (uint32_t)j * 0x9E3779B9u;
            uint32_t u0 = CE_V(poisson_draw)(k0, h0, step), u1 = CE_V(poisson_draw)(k1, h1, step);
            uint32_t u2 = CE_V(poisson_draw)(k2, h2, step), u3 = CE_V(poisson_draw)(k3, h3, step);
            double l0 = (double)CE_V(poisson_count)(u0 & 0xFFFFu), l1 = (double)CE_V(poisson_count)(u1 & 0xFFFFu);
            double l2 = (double)CE_V(poisson_count)(u2 & 0xFFFFu), l3 = (double)CE_V(poisson_count)(u3 & 0xFFFFu);
            double g0 = (double)CE_V(poisson_count)(u0 >> 16), g1 = (double)CE_V(poisson_count)(u1 >> 16);
            double g2 = (double)CE_V(poisson_count)(u2 >> 16), g3 = (double)CE_V(poisson_count)(u3 >> 16);
            ne[j] += (l0 * a0 + l1 * a1) + (l2 * a2 + l3 * a3);
            de[j] += (l0 * w0 + l1 * w1) + (l2 * w2 + l3 * w3);
            no[j] += (g0 * a0 + g1 * a1) + (g2 * a2 + g3 * a3);
            dd[j] += (g0 * w0 + g1 * w1) + (g2 * w2 + g3 * w3);
        }
    }
    for (; i < n; i++) {
        const uint32_t key = lo[i] + start, other = hi[i];
        const double ai = a[i], wi = w[i];
        for (Py_ssize_t j = 0; j < pairs; j++) {
            uint32_t u = CE_V(poisson_draw)(key, other, (uint32_t)j * 0x9E3779B9u);
            double l = (double)CE_V(poisson_count)(u & 0xFFFFu), g = (double)CE_V(poisson_count)(u >> 16);
            ne[j] += l * ai;
            de[j] += l * wi;
            no[j] += g * ai;
            dd[j] += g * wi;
        }
    }
    double *pn = num + (begin - first), *pd = den + (begin - first);
    for (Py_ssize_t j = 0; j < pairs; j++) {
        pn[2 * j] += ne[j];
        pn[2 * j + 1] += no[j];
        pd[2 * j] += de[j];
        pd[2 * j + 1] += dd[j];
    }
    if (scratch) free(scratch);
    if ((Py_ssize_t)((end - begin) / 2) != pairs) { /* out of memory above: the pairs one draw at a time */
        for (int64_t b = begin; b < end; b++) {
            for (Py_ssize_t k = 0; k < n; k++) {
                double c = CE_V(poisson_one)(lo[k], hi[k], b);
                num[b - first] += c * a[k];
                den[b - first] += c * w[k];
            }
        }
    }
}

static const CeKernels CE_V(kernels) = {
    CE_V(index_losses), CE_V(softmax_rows), CE_V(row_sums), CE_V(binary), CE_V(map), CE_V(poisson_sums), CE_V(kl_rows), CE_V(kl_known),
};

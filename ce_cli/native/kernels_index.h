/* Index targets' losses a piece of rows at a time (index_losses), and the per-row sums of row_sums.
 * Part of kernels.h: included inside each CPU variant's copy, with CE_V(name) and its macros. */

#define PIECE 1024 /* rows per piece in index_losses */

/* The row checks' extremes: the smallest and largest row maximum and whether one is NaN, kept in LANES
 * partial results (so that the loop vectorises) from first(), through add() a piece at a time, to done(). */
#ifndef CE_EXTREMES_DEFINED /* one type for every variant's copy */
#define CE_EXTREMES_DEFINED
typedef struct {
    double low[LANES], high[LANES], nan[LANES];
} CeExtremes;
#endif

static inline void CE_V(extremes_first)(CeExtremes *e) {
    for (int k = 0; k < LANES; k++) e->low[k] = CE_INF, e->high[k] = -CE_INF, e->nan[k] = 0.0;
}

static inline void CE_V(extremes_add)(CeExtremes *e, const double *m, Py_ssize_t count) {
    for (Py_ssize_t j = 0; j < count; j += LANES) {
        int width = count - j < LANES ? (int)(count - j) : LANES;
        for (int k = 0; k < width; k++) {
            double x = m[j + k];
            e->low[k] = x < e->low[k] ? x : e->low[k];
            e->high[k] = x > e->high[k] ? x : e->high[k];
            e->nan[k] = x != x ? 1.0 : e->nan[k];
        }
    }
}

static inline void CE_V(extremes_done)(const CeExtremes *e, CeIndexStats *stats) {
    double lowest = e->low[0], highest = e->high[0], any_nan = e->nan[0];
    for (int k = 1; k < LANES; k++) {
        lowest = e->low[k] < lowest ? e->low[k] : lowest;
        highest = e->high[k] > highest ? e->high[k] : highest;
        any_nan += e->nan[k];
    }
    stats->lowest = any_nan > 0.0 ? CE_NAN : lowest;
    stats->highest = any_nan > 0.0 ? CE_NAN : highest;
}

/* The first loops of index_pairs_f32 over rows [from, count) of a piece (the portable code; the AVX2 copy
 * runs pairs256.h's instead on its rows in fours): each row's class (0 where ignored), its maximum, z and
 * target z, whether the target is a maximum, and the extremes. Returns the first row whose class is outside
 * {0, 1} (before any of these rows is read), else -1. */
static inline Py_ssize_t CE_V(pairs_first_loops)(const float *p, const int64_t *g, int64_t ignore_index,
                                                 Py_ssize_t from, Py_ssize_t count, int64_t *c, double *z,
                                                 double *m_out, double *tz, unsigned char *at_top,
                                                 CeExtremes *extremes) {
    uint64_t outside = 0;
    for (Py_ssize_t i = from; i < count; i++) {
        c[i] = g[i] == ignore_index ? 0 : g[i];
        outside |= (uint64_t)c[i] > 1u ? 1u : 0u;
    }
    if (outside) {
        for (Py_ssize_t i = from; i < count; i++) {
            if ((uint64_t)c[i] > 1u) return i; /* the test above, row by row */
        }
    }
    CE_V(pairs_tile)(p + 2 * from, c + from, count - from, z + from, m_out + from, tz + from);
    CE_V(extremes_add)(extremes, m_out + from, count - from);
    for (Py_ssize_t i = from; i < count; i++) at_top[i] = tz[i] == 0.0;
    return -1;
}

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
    double z[PIECE], e[PIECE], tz[PIECE], m_own[PIECE], lp_own[PIECE];
    int64_t c[PIECE]; /* each row's class, 0 where ignored */
    CeExtremes extremes;
    CE_V(extremes_first)(&extremes);
#if defined(CE_EXP256)
    __m256d low = _mm256_set1_pd(CE_INF), high = _mm256_set1_pd(-CE_INF), nan_seen = _mm256_setzero_pd();
#endif
    double denominator = 0.0;
    int64_t non_finite = 0;
    stats->outside = -1;
    for (Py_ssize_t first = 0; first < n; first += PIECE) {
        Py_ssize_t count = n - first < PIECE ? n - first : PIECE;
        const float *restrict p = x + 2 * first;
        const int64_t *restrict g = given + first;
        double *restrict m_out = maximum ? maximum + first : m_own;
        Py_ssize_t from = 0;
#if defined(CE_EXP256)
        from = count & ~(Py_ssize_t)3;
        if (ce_pairs256_tile(p, g, ignore_index, from, z, maximum ? m_out : NULL, tz, at_top + first, &low, &high,
                             &nan_seen)) {
            from = 0; /* a class outside {0, 1}: the loops below name the first */
        }
#endif
        Py_ssize_t outside = CE_V(pairs_first_loops)(p, g, ignore_index, from, count, c, z, m_out, tz,
                                                     at_top + first, &extremes);
        if (outside >= 0) {
            stats->outside = first + outside;
            return;
        }
        CE_V(exp_array)(z, e, count);
        double *restrict out = loss + first, *restrict lp = log_p ? log_p + first : lp_own;
        int64_t counted_rows = 0, bad = 0;
        double weighted = 0.0;
#define CE_PAIR_LOSS(WEIGHT, ADD_WEIGHT)                                                                   \
    for (Py_ssize_t i = 0; i < count; i++) {                                                               \
        double l = CE_LOG1P_UNIT(e[i] * 0x1p-512); /* NaN where the row's maximum is not (pairs_tile) */   \
        double log_prob = tz[i] - l;                                                                       \
        int counted = g[i] != ignore_index;                                                                \
        double wt = WEIGHT;                                                                                \
        double value = (counted ? -wt * log_prob : 0.0) + 0.0;                                             \
        lp[i] = log_prob;                                                                                  \
        out[i] = value;                                                                                    \
        counted_rows += counted;                                                                           \
        ADD_WEIGHT; /* none unweighted: the count is the denominator (a float sum is serial) */            \
        bad += !(value - value == 0.0);                                                                    \
        e[i] = l;                                                                                          \
    }
        if (weights) {
            CE_PAIR_LOSS(weights[counted ? g[i] : 0], weighted += counted ? wt : 0.0)
        } else {
#if defined(CE_EXP256)
            ce_pairs256_losses(e, tz, g, ignore_index, count, lp, out, &counted_rows, &bad);
#else
            CE_PAIR_LOSS(1.0, (void)0)
#endif
        }
#undef CE_PAIR_LOSS
        if (lse) memcpy(lse + first, e, sizeof(double) * (size_t)count);
        if (argmax) {
            for (Py_ssize_t i = 0; i < count; i++) {
                float a = p[2 * i], b = p[2 * i + 1];
                argmax[first + i] = a != a ? 0 : b != b ? 1 : b > a ? 1 : 0;
            }
        }
        denominator += weights ? weighted : (double)counted_rows;
        non_finite += bad;
    }
#if defined(CE_EXP256)
    double lanes[3][4];
    _mm256_storeu_pd(lanes[0], low), _mm256_storeu_pd(lanes[1], high), _mm256_storeu_pd(lanes[2], nan_seen);
    for (int k = 0; k < 4; k++) {
        extremes.low[k] = lanes[0][k] < extremes.low[k] ? lanes[0][k] : extremes.low[k];
        extremes.high[k] = lanes[1][k] > extremes.high[k] ? lanes[1][k] : extremes.high[k];
        extremes.nan[k] = lanes[2][k] != 0.0 ? 1.0 : extremes.nan[k]; /* all ones (a NaN) where flagged */
    }
#endif
    CE_V(extremes_done)(&extremes, stats);
    stats->denominator = denominator;
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
    double m_own[PIECE], lp_own[PIECE]; /* the maxima and log p where the caller keeps neither */
    const int64_t classes = rows->classes;
    CeExtremes extremes;
    CE_V(extremes_first)(&extremes);
    double denominator = 0.0;
    int64_t non_finite = 0;
    Py_ssize_t n = rows->count;
    stats->outside = -1;
    for (Py_ssize_t first = 0; first < n; first += PIECE) {
        Py_ssize_t count = n - first < PIECE ? n - first : PIECE;
        const int64_t *restrict g = given + first;
        uint64_t outside = 0;
        for (Py_ssize_t i = 0; i < count; i++) { /* one unsigned test for t < 0 or t >= C: the loop vectorises */
            int64_t t = g[i] == ignore_index ? 0 : g[i];
            outside |= (uint64_t)t >= (uint64_t)classes ? 1u : 0u;
            c[i] = t;
        }
        if (outside) { /* refused before any row is read at its target */
            for (Py_ssize_t i = 0; i < count; i++) {
                if ((uint64_t)c[i] >= (uint64_t)classes) { /* the test above, row by row */
                    stats->outside = first + i;
                    return 0;
                }
            }
        }
        CeRows piece = *rows;
        piece.data = rows->data + first * rows->row_stride;
        piece.count = count;
        double *restrict lp = log_p ? log_p + first : lp_own, *restrict out = loss + first;
        double *restrict m = maximum ? maximum + first : m_own;
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
        CE_V(extremes_add)(&extremes, m, count);
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
    CE_V(extremes_done)(&extremes, stats);
    stats->denominator = denominator;
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

/* The kernels, compiled once per CPU variant: kernel.c includes this file with CE_V(name)
 * defined to give each copy its own names, under a target pragma for that variant.
 *
 * Softmax rows (see ce_cli/log_sum_exp.py for the mathematics, which this follows):
 *   m = max_j x_j (NaN if the row holds a NaN), a = the first j holding it, z_j = x_j - m,
 *   lse_z = log1p(s), s = sum over j != a of exp(z_j),
 * the sum of every term but one maximum's (which is exactly 1), so that a confident row
 * keeps the relative accuracy of its tiny loss. The maximum's own entry is set to -inf in
 * the working copy for the sum, so the loop over the classes holds no test. A row holding
 * NaN or +inf, or only -inf, gives NaN, as PyTorch's log-softmax does.
 *
 * Rows of few classes are worked in tiles of TILE rows stored class-major, so that every
 * loop runs across rows (vectorised however few the classes); rows of many classes one
 * at a time, with the loops along the row. Loops are written elementwise over arrays of
 * partial results (LANES of them), which the compiler vectorises without reassociating.
 */

#define LANES 64

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

/* The first j with v[j] == key, found a chunk at a time (the test of a chunk is vectorised); n when none. */
static Py_ssize_t CE_V(find)(const double *v, Py_ssize_t n, double key) {
    for (Py_ssize_t j = 0; j < n; j += LANES) {
        int width = n - j < LANES ? (int)(n - j) : LANES;
        int hit = 0;
        for (int k = 0; k < width; k++) hit |= v[j + k] == key;
        if (hit) {
            for (int k = 0; k < width; k++) {
                if (v[j + k] == key) return j + k;
            }
        }
    }
    return n;
}

/* One row of n classes, v a working copy (changed and restored). */
static void CE_V(one_row)(double *v, Py_ssize_t n, int64_t target, double *maximum, double *target_z,
                          double *lse_z, int64_t *argmax, int64_t *rank) {
    double top[LANES], bad[LANES];
    for (int k = 0; k < LANES; k++) top[k] = -CE_INF, bad[k] = 0.0;
    for (Py_ssize_t j = 0; j < n; j += LANES) {
        int width = n - j < LANES ? (int)(n - j) : LANES;
        const double *w = v + j;
        for (int k = 0; k < width; k++) {
            double x = w[k];
            top[k] = x > top[k] ? x : top[k];
            bad[k] = x != x ? 1.0 : bad[k];
        }
    }
    double m = top[0], any_bad = bad[0];
    for (int k = 1; k < LANES; k++) m = top[k] > m ? top[k] : m, any_bad += bad[k];
    Py_ssize_t a = any_bad > 0.0 ? CE_V(first_nan)(v, n, 1) : CE_V(find)(v, n, m);
    m = any_bad > 0.0 ? CE_NAN : m;
    double key = v[target], kept = v[a];
    v[a] = -CE_INF;
#ifdef CE_EXP512
    double s = ce_sum_exp512(v, n, m);
#else
    double sum[LANES];
    for (int k = 0; k < LANES; k++) sum[k] = 0.0;
    for (Py_ssize_t j = 0; j < n; j += LANES) {
        int width = n - j < LANES ? (int)(n - j) : LANES;
        const double *w = v + j;
        for (int k = 0; k < width; k++) sum[k] += ce_exp(w[k] - m);
    }
    double s = CE_V(total)(sum);
#endif
    v[a] = kept;
    *maximum = m;
    *target_z = key - m;
    *lse_z = m == CE_INF ? CE_NAN : ce_log1p(s);
    if (argmax) *argmax = (int64_t)a;
    if (rank) {
        double count[LANES];
        for (int k = 0; k < LANES; k++) count[k] = 0.0;
        for (Py_ssize_t j = 0; j < n; j += LANES) {
            int width = n - j < LANES ? (int)(n - j) : LANES;
            const double *w = v + j;
            for (int k = 0; k < width; k++) count[k] += w[k] > key ? 1.0 : 0.0;
        }
        *rank = 1 + (int64_t)CE_V(total)(count);
    }
}

/* TILE rows (count of them) from first, stored class-major in scratch. Every loop runs across the
 * rows; one maximum's term is left out of the sum by counting the terms at the maximum (z == 0,
 * each exactly 1) and adding back all but one of them, so that no loop holds a per-row store. */
static void CE_V(tile)(const CeRows *rows, Py_ssize_t first, Py_ssize_t count, const int64_t *targets,
                       double *scratch, double *maximum, double *target_z, double *lse_z, int64_t *argmax,
                       int64_t *rank) {
    Py_ssize_t classes = rows->classes;
    double *m = scratch + classes * TILE, *at = m + TILE, *bad = at + TILE, *sum = bad + TILE, *key = sum + TILE;
    double *zeros = key + TILE;
    const int64_t *target = targets + first;
    for (Py_ssize_t c = 0; c < classes; c++) {
        const char *p = rows->data + first * rows->row_stride + c * rows->class_stride;
        ce_load(p, rows->row_stride, rows->format, count, scratch + c * TILE);
    }
    for (Py_ssize_t i = 0; i < count; i++) m[i] = -CE_INF, at[i] = 0.0, bad[i] = 0.0, sum[i] = 0.0, zeros[i] = 0.0;
    for (Py_ssize_t c = 0; c < classes; c++) {
        const double *col = scratch + c * TILE;
        double position = (double)c;
        for (Py_ssize_t i = 0; i < count; i++) {
            double x = col[i];
            int above = x > m[i];
            m[i] = above ? x : m[i];
            at[i] = above ? position : at[i];
            bad[i] = x != x ? 1.0 : bad[i];
            key[i] = target[i] == c ? x : key[i];
        }
    }
    for (Py_ssize_t i = 0; i < count; i++) m[i] = bad[i] > 0.0 ? CE_NAN : m[i];
    if (classes == 2) { /* the one term that is not the maximum's: one exp per row (a tie gives exp(0) = 1) */
        const double *first_class = scratch, *second_class = scratch + TILE;
        for (Py_ssize_t i = 0; i < count; i++) {
            double other = at[i] == 0.0 ? second_class[i] : first_class[i];
            sum[i] = ce_exp(other - m[i]);
            zeros[i] = 1.0;
        }
    } else {
        for (Py_ssize_t c = 0; c < classes; c++) {
            const double *col = scratch + c * TILE;
            for (Py_ssize_t i = 0; i < count; i++) {
                double z = col[i] - m[i];
                double e = ce_exp(z);
                sum[i] += z == 0.0 ? 0.0 : e;
                zeros[i] += z == 0.0 ? 1.0 : 0.0;
            }
        }
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        double l = ce_log1p(sum[i] + (zeros[i] - 1.0));
        lse_z[first + i] = m[i] == CE_INF ? CE_NAN : l;
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
            const double *col = scratch + c * TILE;
            for (Py_ssize_t i = 0; i < count; i++) sum[i] += col[i] > key[i] ? 1.0 : 0.0;
        }
        for (Py_ssize_t i = 0; i < count; i++) rank[first + i] = (int64_t)sum[i];
    }
}

static int CE_V(softmax_rows)(const CeRows *rows, const int64_t *targets, double *maximum, double *target_z,
                              double *lse_z, int64_t *argmax, int64_t *rank) {
    Py_ssize_t classes = rows->classes;
    if (classes <= SMALL_C) {
        double *scratch = malloc(sizeof(double) * (size_t)(classes + 6) * TILE);
        if (!scratch) return -1;
        for (Py_ssize_t first = 0; first < rows->count; first += TILE) {
            Py_ssize_t count = rows->count - first < TILE ? rows->count - first : TILE;
            CE_V(tile)(rows, first, count, targets, scratch, maximum, target_z, lse_z, argmax, rank);
        }
        free(scratch);
        return 0;
    }
    double *scratch = malloc(sizeof(double) * (size_t)classes);
    if (!scratch) return -1;
    for (Py_ssize_t i = 0; i < rows->count; i++) {
        ce_load(rows->data + i * rows->row_stride, rows->class_stride, rows->format, classes, scratch);
        CE_V(one_row)(scratch, classes, targets[i], maximum + i, target_z + i, lse_z + i, argmax ? argmax + i : NULL,
                      rank ? rank + i : NULL);
    }
    free(scratch);
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
static void CE_V(binary)(const CeBinary *job, CeBinaryStats *stats) {
    const CeRows *x = job->x;
    Py_ssize_t n = x->count;
    double chunk[TILE], t[TILE], pw[TILE], w[TILE], decay[TILE];
    stats->special = job->probabilities ? -1 : 0;
    stats->not_in_unit = 0;
    stats->non_finite = 0;
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
        } else {
            for (Py_ssize_t i = 0; i < count; i++) pw[i] = 1.0;
        }
        if (job->weight) {
            ce_load(job->weight->data + first * job->weight->row_stride, job->weight->row_stride, CE_F64, count, w);
        } else {
            for (Py_ssize_t i = 0; i < count; i++) w[i] = 1.0;
        }
        int64_t special = 0, outside = 0, non_finite = 0; /* integers: float sums would not vectorise */
        if (job->probabilities) {
            for (Py_ssize_t i = 0; i < count; i++) {
                double v = chunk[i], target = t[i];
                double q = v < job->low ? job->low : v;
                q = q > job->high ? job->high : q;
                double log_p = ce_log(q), log_not_p = ce_log1p(-q);
                log_p = log_p > -100.0 ? log_p : -100.0;
                log_not_p = log_not_p > -100.0 ? log_not_p : -100.0;
                out[i] = ((target - 1.0) * log_not_p - target * log_p + 0.0) * w[i];
            }
        } else {
            for (Py_ssize_t i = 0; i < count; i++) {
                double a = chunk[i] < 0.0 ? -chunk[i] : chunk[i];
                special += a == CE_INF;
                decay[i] = -a;
            }
#ifdef CE_EXP512
            ce_map_exp512(count, decay, decay);
#else
            for (Py_ssize_t i = 0; i < count; i++) decay[i] = ce_exp(decay[i]);
#endif
            for (Py_ssize_t i = 0; i < count; i++) {
                double v = chunk[i], target = t[i];
                double log_term = ce_log1p_unit(decay[i]);
                double sp_minus = (v < 0.0 ? -v : 0.0) + log_term; /* softplus(-x) */
                double sp_plus = (v > 0.0 ? v : 0.0) + log_term;   /* softplus(x) */
                out[i] = (pw[i] * target * sp_minus + (1.0 - target) * sp_plus + 0.0) * w[i];
            }
        }
        for (Py_ssize_t i = 0; i < count; i++) {
            double v = chunk[i];
            outside += !(v >= 0.0 && v <= 1.0);
            non_finite += !(v - v == 0.0) & !(out[i] - out[i] == 0.0);
            correct[i] = (v > threshold) == (t[i] >= 0.5);
        }
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
    if (which == 0) {
#ifdef CE_EXP512
        ce_map_exp512(n, in, out);
#else
        for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_exp(in[i]);
#endif
    } else if (which == 1) {
        for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_log1p(in[i]);
    } else if (which == 2) {
        for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_log(in[i]);
    } else {
        for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_log1p_unit(in[i]);
    }
}

static const CeKernels CE_V(kernels) = {
    CE_V(softmax_rows), CE_V(row_sums), CE_V(binary), CE_V(map),
};

/* The binary family element by element, and the elementwise map the tests read.
 * Part of kernels.h: included inside each CPU variant's copy, with CE_V(name) and its macros. */

/* The AVX-512 and AVX2 copies evaluate unweighted logits in one pass of their own (binary512.h, binary256.h). */
#if defined(CE_EXP512)
#define CE_ONE_PASS(SUFFIX) ce_binary512_##SUFFIX
#elif defined(CE_EXP256)
#define CE_ONE_PASS(SUFFIX) ce_binary256_##SUFFIX
#endif

/* Unweighted logits (CE_V(binary)'s loss with no weights), a tile of them read where they lie (contiguous
 * float32 or float64 logits and targets): -|x| and the infinite ones, exp; then the loss; then the counts
 * and the hits. counts: the infinite logits, the x outside [0, 1], the elements whose x and loss are both
 * non-finite, and (check_targets) the targets outside [0, 1]. */
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
        CE_V(log1p_unit_array)(decay, decay, count, 0x1p-512);                                             \
        /* float64 alone here: a float32 read would make the loop twice as wide, and spill */               \
        for (Py_ssize_t i = 0; i < count; i++) {                                                           \
            double v = wide[i], target = wide_t[i];                                                        \
            /* t softplus(-v) + (1 - t) softplus(v), their log1p shared (binary512.h) */                   \
            out[i] = decay[i] + __builtin_fma(-target, v, v > 0.0 ? v : 0.0);                             \
        }                                                                                                  \
        for (Py_ssize_t i = 0; i < count; i++) {                                                           \
            double v = wide[i], loss = out[i];                                                             \
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
#ifndef CE_ONE_PASS
CE_BINARY_TILE(float, float, ff)
CE_BINARY_TILE(float, double, fd)
CE_BINARY_TILE(double, float, df)
CE_BINARY_TILE(double, double, dd)
#endif

/* The fused tiles where they apply (unweighted logits, contiguous float32/float64 x and t): 1 if done. */
static int CE_V(binary_fused)(const CeBinary *job, CeBinaryStats *stats) {
    const CeRows *x = job->x, *t = job->t;
    int xf = x->format == CE_F32 && x->row_stride == sizeof(float);
    int xd = x->format == CE_F64 && x->row_stride == sizeof(double);
    int tf = t->format == CE_F32 && t->row_stride == sizeof(float);
    int td = t->format == CE_F64 && t->row_stride == sizeof(double);
    if (job->probabilities || job->weight || job->pos_weight || !(xf || xd) || !(tf || td)) return 0;
    int64_t counts[4] = {0, 0, 0, 0};
#ifdef CE_ONE_PASS
    const void *xs = x->data, *ts = t->data;
    if (xf && tf) {
        CE_ONE_PASS(ff)(xs, ts, x->count, job->out, job->correct, job->check_targets, counts);
    } else if (xf) {
        CE_ONE_PASS(fd)(xs, ts, x->count, job->out, job->correct, job->check_targets, counts);
    } else if (tf) {
        CE_ONE_PASS(df)(xs, ts, x->count, job->out, job->correct, job->check_targets, counts);
    } else {
        CE_ONE_PASS(dd)(xs, ts, x->count, job->out, job->correct, job->check_targets, counts);
    }
#else
    double decay[TILE], wide[TILE], wide_t[TILE];
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
#endif
    stats->special = counts[0];
    stats->not_in_unit = counts[1];
    stats->non_finite = counts[2];
    stats->bad_targets = counts[3];
    return 1;
}

/* The binary family, element by element (ce_cli/binary.py), weighted, with the prediction
 * (x above the threshold) checked against the target (t >= 0.5):
 *   logits:        loss = pw t softplus(-x) + (1 - t) softplus(x),
 *                  softplus(z) = max(z, 0) + log1p(exp(-|z|)); infinite logits are counted, and the
 *                  caller takes their losses from PyTorch's arrangement;
 *   probabilities: loss = (t - 1) max(log(1 - p), -100) - t max(log p, -100), PyTorch's clamp,
 *                  p clipped into [low, high] first; the first p outside [0, 1] is reported.
 * Unweighted logits go through CE_V(binary_tile_*): in place where binary_fused applies, else from
 * float64 copies of each tile. */
static void CE_V(binary)(const CeBinary *job, CeBinaryStats *stats) {
    if (CE_V(binary_fused)(job, stats)) return;
    const CeRows *x = job->x;
    Py_ssize_t n = x->count;
    double chunk[TILE], t[TILE], pw[TILE], w[TILE], decay[TILE];
#ifndef CE_ONE_PASS
    double wide[TILE], wide_t[TILE];
#endif
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
        if (!job->probabilities && !weighted && !positive_weighted) { /* strided or float16: the tile on copies */
            int64_t counts[4] = {0, 0, 0, 0};
#ifdef CE_ONE_PASS
            CE_ONE_PASS(dd)(chunk, t, count, out, correct, job->check_targets, counts);
#else
            CE_V(binary_tile_dd)(chunk, t, count, out, correct, decay, wide, wide_t, job->check_targets, counts);
#endif
            stats->special += counts[0];
            stats->not_in_unit += counts[1];
            stats->non_finite += counts[2];
            stats->bad_targets += counts[3];
            continue;
        }
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
            CE_V(log1p_unit_array)(decay, decay, count, 0x1p-512);
            for (Py_ssize_t i = 0; i < count; i++) {
                double v = chunk[i], target = t[i];
                double log_term = decay[i];
                double sp_minus = (v < 0.0 ? -v : 0.0) + log_term; /* softplus(-x) */
                double sp_plus = (v > 0.0 ? v : 0.0) + log_term;   /* softplus(x) */
                double p = positive_weighted ? pw[i] : 1.0, weight = weighted ? w[i] : 1.0;
                out[i] = (p * target * sp_minus + (1.0 - target) * sp_plus + 0.0) * weight;
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
    } else if (which == 6) { /* log1p on [0, 1] as the binary loss computes it */
        CE_V(log1p_unit_array)(in, out, n, 1.0);
    } else { /* 3: as the two-class rows compute it */
        for (Py_ssize_t i = 0; i < n; i++) out[i] = CE_LOG1P_UNIT(in[i]);
    }
}

#undef CE_ONE_PASS

/* ce-loss diff: the per-row KL (two exps per class, or one from known row statistics) and the Poisson bootstrap's sums.
 * Part of kernels.h: included inside each CPU variant's copy, with CE_V(name) and its macros. */

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
 * the sums), and the loops over the pairs are plain vector code; with AVX-512, sixteen pairs a vector,
 * both halves of each draw counted at once by 16-bit compares (poisson_quad16). */
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

#if defined(CE_EXP512)
/* poisson_draw on 16 lanes. */
static inline __m512i CE_V(poisson_draw16)(__m512i key, __m512i other, __m512i step) {
    __m512i x = _mm512_xor_si512(_mm512_add_epi32(key, step), other);
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32(0x7FEB352D));
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 15));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32((int)0x846CA68Bu));
    return _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
}

/* poisson_count of both 16-bit halves of each 32-bit draw at once (AVX-512BW's 16-bit compares): each
 * lane's low half's count in its bits 0-15, the high half's in bits 16-31. */
static inline __m512i CE_V(poisson_counts16)(__m512i u) {
    const __m512i one = _mm512_set1_epi16(1);
    __m512i c = _mm512_setzero_si512();
    for (int k = 0; k < 8; k++) {
        __mmask32 reached = _mm512_cmpge_epu16_mask(u, _mm512_set1_epi16((short)ce_poisson_thresholds[k]));
        c = _mm512_mask_add_epi16(c, reached, c, one);
    }
    return c;
}

/* One sample's weights for sixteen pairs, as float64: the even resamples' (low halves) in *even, the odd
 * ones' in *odd, lanes 0-7 and 8-15 apart. */
static inline void CE_V(poisson_weights16)(__m512i key, __m512i other, __m512i step, __m512d even[2], __m512d odd[2]) {
    __m512i c = CE_V(poisson_counts16)(CE_V(poisson_draw16)(key, other, step));
    __m512i l = _mm512_and_si512(c, _mm512_set1_epi32(0xFFFF)), g = _mm512_srli_epi32(c, 16);
    even[0] = _mm512_cvtepi32_pd(_mm512_castsi512_si256(l));
    even[1] = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(l, 1));
    odd[0] = _mm512_cvtepi32_pd(_mm512_castsi512_si256(g));
    odd[1] = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(g, 1));
}

/* The pairs [0, pairs - pairs % 16) of four samples (keys k, others h, values a and w) into the sums, as the
 * scalar loop adds them: sum[j] += (c0 v0 + c1 v1) + (c2 v2 + c3 v3). Returns the first pair not done. */
static inline Py_ssize_t CE_V(poisson_quad16)(const uint32_t k[4], const uint32_t h[4], const double a[4],
                                              const double w[4], Py_ssize_t pairs, double *ne, double *no,
                                              double *de, double *dd) {
    const __m512i golden = _mm512_set1_epi32((int)0x9E3779B9u);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    Py_ssize_t j = 0;
    for (; j + 16 <= pairs; j += 16) {
        __m512i step = _mm512_mullo_epi32(_mm512_add_epi32(_mm512_set1_epi32((int)j), iota), golden);
        __m512d even[4][2], odd[4][2];
        for (int s = 0; s < 4; s++) {
            CE_V(poisson_weights16)(_mm512_set1_epi32((int)k[s]), _mm512_set1_epi32((int)h[s]), step, even[s], odd[s]);
        }
        for (int half = 0; half < 2; half++) {
            Py_ssize_t at = j + 8 * half;
#define CE_QUAD(C, V)                                                                                        \
    _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(C[0][half], _mm512_set1_pd(V[0])),                             \
                                _mm512_mul_pd(C[1][half], _mm512_set1_pd(V[1]))),                            \
                  _mm512_add_pd(_mm512_mul_pd(C[2][half], _mm512_set1_pd(V[2])),                             \
                                _mm512_mul_pd(C[3][half], _mm512_set1_pd(V[3]))))
            _mm512_storeu_pd(ne + at, _mm512_add_pd(_mm512_loadu_pd(ne + at), CE_QUAD(even, a)));
            _mm512_storeu_pd(de + at, _mm512_add_pd(_mm512_loadu_pd(de + at), CE_QUAD(even, w)));
            _mm512_storeu_pd(no + at, _mm512_add_pd(_mm512_loadu_pd(no + at), CE_QUAD(odd, a)));
            _mm512_storeu_pd(dd + at, _mm512_add_pd(_mm512_loadu_pd(dd + at), CE_QUAD(odd, w)));
#undef CE_QUAD
        }
    }
    return j;
}
#endif

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
        Py_ssize_t j0 = 0;
#if defined(CE_EXP512)
        {
            const uint32_t keys[4] = {k0, k1, k2, k3}, others[4] = {h0, h1, h2, h3};
            const double as[4] = {a0, a1, a2, a3}, ws[4] = {w0, w1, w2, w3};
            j0 = CE_V(poisson_quad16)(keys, others, as, ws, pairs, ne, no, de, dd);
        }
#endif
        for (Py_ssize_t j = j0; j < pairs; j++) {
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

/* Rows of two float32 classes side by side with AVX2 instructions, for the AVX2 copy of the kernels only
 * (kernel.c includes this file after binary256.h inside that copy's target region).
 *
 * index_pairs_f32's first loops (kernels_index.h) in one pass, four rows at a time: the targets' check, each
 * row's maximum, z and target z, whether the target is a maximum, and the extremes of the maxima. Compiled
 * from the loops as written, these were five passes with the comparisons made in float32 and widened.
 * And its unweighted loss loop, with log1p256.h's log1p in place of fdlibm's two divisions. */
#ifndef CE_PAIRS256_H
#define CE_PAIRS256_H

/* For count rows (a multiple of 4) of p, two float32 classes each, with given targets g:
 *   c = 0 where g is ignore_index, else g; m = max(a, b) (NaN where either is);
 *   z = min(a, b) - m (NaN where m is not finite); tz = (c ? b : a) - m; at_top = tz == 0;
 * with max and min as kernels_rows.h's pairs_tile selects them (b > a ? b : a and b > a ? a : b: MAXPD(b, a)
 * and MINPD(a, b), the same values for signed zeros). The smallest and largest m (NaN skipped) are kept in
 * *low and *high and the rows holding NaN flagged in *nan_seen, four lanes each. Returns nonzero if some c
 * is outside {0, 1} (the caller then finds which). m_out may be NULL (the maxima not kept). Not inlined:
 * inside index_pairs_f32 the compiler kept the extremes on the stack, a chain of stores and loads. */
static __attribute__((noinline)) int ce_pairs256_tile(const float *p, const int64_t *g, int64_t ignore_index,
                                                      Py_ssize_t count, double *z, double *m_out, double *tz,
                                                      unsigned char *at_top, __m256d *low, __m256d *high,
                                                      __m256d *nan_seen) {
    const __m256i deinterleave = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256i ignore = _mm256_set1_epi64x(ignore_index), not_binary = _mm256_set1_epi64x(~(int64_t)1);
    const __m256i zero_i = _mm256_setzero_si256();
    const __m256d nan = _mm256_set1_pd(CE_NAN), zero = _mm256_setzero_pd();
    __m256i outside = zero_i;
    __m256d lo_m = *low, hi_m = *high, seen = *nan_seen;
    for (Py_ssize_t i = 0; i < count; i += 4) {
        __m256 v = _mm256_permutevar8x32_ps(_mm256_loadu_ps(p + 2 * i), deinterleave); /* a0..a3 b0..b3 */
        __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        __m256i given = _mm256_loadu_si256((const __m256i *)(const void *)(g + i));
        __m256i c = _mm256_andnot_si256(_mm256_cmpeq_epi64(given, ignore), given);
        outside = _mm256_or_si256(outside, _mm256_and_si256(c, not_binary));
        __m256d unordered = _mm256_cmp_pd(a, b, _CMP_UNORD_Q);
        __m256d m = _mm256_blendv_pd(_mm256_max_pd(b, a), nan, unordered);
        __m256d at_a = _mm256_castsi256_pd(_mm256_cmpeq_epi64(c, zero_i));
        __m256d t = _mm256_sub_pd(_mm256_blendv_pd(b, a, at_a), m);
        _mm256_storeu_pd(z + i, _mm256_add_pd(_mm256_sub_pd(_mm256_min_pd(a, b), m), _mm256_sub_pd(m, m)));
        if (m_out) _mm256_storeu_pd(m_out + i, m);
        _mm256_storeu_pd(tz + i, t);
        uint32_t top = ce_hit_bytes[_mm256_movemask_pd(_mm256_cmp_pd(t, zero, _CMP_EQ_OQ))];
        memcpy(at_top + i, &top, sizeof top);
        lo_m = _mm256_min_pd(m, lo_m); /* m < low ? m : low: a NaN m leaves it */
        hi_m = _mm256_max_pd(m, hi_m);
        seen = _mm256_or_pd(seen, unordered);
    }
    *low = lo_m, *high = hi_m, *nan_seen = seen;
    return !_mm256_testz_si256(outside, outside);
}

/* index_pairs_f32's loss loop, unweighted, four rows at a time with log1p256.h's table log1p (the compiled
 * loop's fdlibm log1p has two divisions): for count rows with e = exp(lo - hi) 2^512 and tz as above,
 *   l = log1p(e 2^-512), lp = tz - l, out = (g == ignore_index ? 0 : -lp) + 0,
 * l written back over e; *ignored gets the rows at the ignore index and *bad the non-finite losses. */
static inline __attribute__((always_inline)) void ce_pairs256_loss4(double *e, const double *tz, __m256i given,
                                                                    __m256i ignore, __m256i lanes, double *lp,
                                                                    double *out, __m256i *ignored, __m256i *bad) {
    const __m256d zero = _mm256_setzero_pd();
    __m256d l = ce_log1p256_unit(_mm256_mul_pd(_mm256_loadu_pd(e), _mm256_set1_pd(0x1p-512)));
    __m256d log_prob = _mm256_sub_pd(_mm256_loadu_pd(tz), l);
    __m256i skip = _mm256_cmpeq_epi64(given, ignore);
    __m256d value = _mm256_add_pd(_mm256_andnot_pd(_mm256_castsi256_pd(skip), _mm256_xor_pd(log_prob, _mm256_set1_pd(-0.0))), zero);
    _mm256_storeu_pd(lp, log_prob);
    _mm256_storeu_pd(out, value);
    _mm256_storeu_pd(e, l);
    __m256d non_finite = _mm256_cmp_pd(_mm256_sub_pd(value, value), zero, _CMP_NEQ_UQ);
    *ignored = _mm256_sub_epi64(*ignored, _mm256_and_si256(skip, lanes));
    *bad = _mm256_sub_epi64(*bad, _mm256_and_si256(_mm256_castpd_si256(non_finite), lanes));
}

static inline void ce_pairs256_losses(double *e, const double *tz, const int64_t *g, int64_t ignore_index,
                                      Py_ssize_t count, double *lp, double *out, int64_t *counted_rows,
                                      int64_t *bad) {
    const __m256i ignore = _mm256_set1_epi64x(ignore_index), all = _mm256_set1_epi64x(-1);
    __m256i ignored = _mm256_setzero_si256(), non_finite = _mm256_setzero_si256();
    Py_ssize_t i = 0;
    for (; i + 4 <= count; i += 4) {
        __m256i given = _mm256_loadu_si256((const __m256i *)(const void *)(g + i));
        ce_pairs256_loss4(e + i, tz + i, given, ignore, all, lp + i, out + i, &ignored, &non_finite);
    }
    if (i < count) { /* the last one to three rows, from copies padded with ignored rows */
        size_t left = (size_t)(count - i);
        double es[4] = {0.0, 0.0, 0.0, 0.0}, ts[4] = {0.0, 0.0, 0.0, 0.0}, lps[4], outs[4];
        int64_t gs[4] = {ignore_index, ignore_index, ignore_index, ignore_index};
        memcpy(es, e + i, left * sizeof(double));
        memcpy(ts, tz + i, left * sizeof(double));
        memcpy(gs, g + i, left * sizeof(int64_t));
        __m256i lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)left), _mm256_set_epi64x(3, 2, 1, 0));
        __m256i given = _mm256_loadu_si256((const __m256i *)(const void *)gs);
        ce_pairs256_loss4(es, ts, given, ignore, lanes, lps, outs, &ignored, &non_finite);
        memcpy(e + i, es, left * sizeof(double));
        memcpy(lp + i, lps, left * sizeof(double));
        memcpy(out + i, outs, left * sizeof(double));
    }
    *counted_rows = count - ce_sum4_epi64(ignored);
    *bad = ce_sum4_epi64(non_finite);
}

#endif

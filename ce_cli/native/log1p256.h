/* log1p on [0, 1] with AVX2 instructions, for the AVX2 copy of the kernels only (kernel.c includes this file
 * after exp_avx2.h inside that copy's target region): log1p512.h's method with a larger table (N = 127,
 * log1p_table.h) read by ordinary loads, which leaves |r| <= 1/254 and a polynomial of degree 5.
 * Within 0.8 ulp of mpmath (tests/test_kernel_fast_paths.py). */
#ifndef CE_LOG1P256_H
#define CE_LOG1P256_H

/* Q(r) = (log1p(r) - r) / r^2 on |r| <= 1/254, lowest degree first (a near-minimax fit with mpmath:
 * 2^-62.9 relative on log1p) */
static const double ce_log1p128_poly[6] = {
    -0x1.0000000000000p-1, 0x1.5555555555556p-2,  -0x1.ffffffff6a373p-3,
    0x1.99999998ca7d7p-3,  -0x1.5556dcf8cfa46p-3, 0x1.2493df498e1bep-3,
};

/* log1p(e) for e in [0, 1] (a NaN e gives NaN), as binary512.h's with N = 127: i = round(127 e), four
 * entries of log1p_table.h fetched by one load each (no gathers: see exp_avx2.h) and transposed. */
static inline __attribute__((always_inline)) __m256d ce_log1p256_unit(__m256d e) {
    __m256i bits = _mm256_castpd_si256(_mm256_fmadd_pd(e, _mm256_set1_pd(127.0), _mm256_set1_pd(CE_EXP_SHIFT)));
    uint64_t at[4];
    ce_offsets256(bits, 127, 5, at); /* rows of four doubles: 32 bytes */
    const char *base = (const char *)ce_log1p_table128;
#define CE_LOG1P_ROW(K) _mm256_load_pd((const double *)(const void *)(base + at[K]))
    __m256d w0 = CE_LOG1P_ROW(0), w1 = CE_LOG1P_ROW(1), w2 = CE_LOG1P_ROW(2), w3 = CE_LOG1P_ROW(3);
#undef CE_LOG1P_ROW
    __m256d even = _mm256_unpacklo_pd(w0, w1), odd = _mm256_unpackhi_pd(w0, w1); /* c0 c1 lo0 lo1, hi0 hi1 0 0 */
    __m256d even2 = _mm256_unpacklo_pd(w2, w3), odd2 = _mm256_unpackhi_pd(w2, w3);
    __m256d c = _mm256_permute2f128_pd(even, even2, 0x20), lo = _mm256_permute2f128_pd(even, even2, 0x31);
    __m256d hi = _mm256_permute2f128_pd(odd, odd2, 0x20);
    __m256d r = _mm256_fmadd_pd(c, e, _mm256_sub_pd(c, _mm256_set1_pd(1.0)));
    __m256d q = _mm256_set1_pd(ce_log1p128_poly[5]);
    for (int k = 4; k >= 0; k--) q = _mm256_fmadd_pd(q, r, _mm256_set1_pd(ce_log1p128_poly[k]));
    __m256d sum = _mm256_add_pd(hi, r); /* hi + r and its rounding error (|hi| >= |r| or hi = 0) */
    __m256d error = _mm256_add_pd(_mm256_sub_pd(hi, sum), r);
    return _mm256_add_pd(sum, _mm256_add_pd(error, _mm256_fmadd_pd(_mm256_mul_pd(r, r), q, lo)));
}

/* log1p(in scale) into out. */
static void ce_map_log1p256(Py_ssize_t n, const double *in, double *out, double scale) {
    const __m256d by = _mm256_set1_pd(scale);
    Py_ssize_t i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(out + i, ce_log1p256_unit(_mm256_mul_pd(_mm256_loadu_pd(in + i), by)));
    if (i < n) {
        double pad[4] = {0.0, 0.0, 0.0, 0.0}, got[4];
        memcpy(pad, in + i, (size_t)(n - i) * sizeof(double));
        _mm256_storeu_pd(got, ce_log1p256_unit(_mm256_mul_pd(_mm256_loadu_pd(pad), by)));
        memcpy(out + i, got, (size_t)(n - i) * sizeof(double));
    }
}

#endif

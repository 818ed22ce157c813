/* exp with AVX-512 instructions, for the AVX-512 copy of the kernels only (kernel.c includes
 * this file inside that copy's target region, and defines CE_EXP512 there).
 *
 * The same algorithm and constants as ce_exp in vmath.h (clamp, Cody-Waite reduction, the
 * degree-12 polynomial ce_exp_poly), with two instructions the compiler does not choose by itself from portable C:
 * vrndscalepd rounds x / ln2 to the nearest integer, and vscalefpd multiplies by 2^n with one
 * rounding, subnormal results included. Fewer operations per value than ce_exp (within 1 ulp,
 * tested against mpmath through map()). */
#ifndef CE_EXP512_H
#define CE_EXP512_H

static inline __m512d ce_exp512(__m512d x) {
    __m512d y = _mm512_max_pd(_mm512_set1_pd(-746.0), x); /* a NaN x is returned as it is: NaN stays NaN */
    __m512d kd = _mm512_roundscale_pd(_mm512_mul_pd(y, _mm512_set1_pd(CE_INV_LN2)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512d r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(CE_LN2_HI), y);
    r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(CE_LN2_LO), r);
    __m512d p = _mm512_set1_pd(ce_exp_poly[0]);
    for (int i = 1; i <= CE_EXP_DEGREE; i++) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(ce_exp_poly[i]));
    return _mm512_scalef_pd(p, kd);
}

/* The n values of v (x <= 0 after the shift) through exp, masked at the end: no scalar tail. */
static inline __mmask8 ce_tail_mask(Py_ssize_t left) {
    return left >= 8 ? (__mmask8)0xff : (__mmask8)((1u << left) - 1u);
}

/* sum_j exp(v[j] - m), in four vector accumulators (a fixed order for a given n). */
static inline double ce_sum_exp512(const double *v, Py_ssize_t n, double m) {
    __m512d shift = _mm512_set1_pd(m);
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    Py_ssize_t j = 0;
    for (; j + 32 <= n; j += 32) {
        a0 = _mm512_add_pd(a0, ce_exp512(_mm512_sub_pd(_mm512_loadu_pd(v + j), shift)));
        a1 = _mm512_add_pd(a1, ce_exp512(_mm512_sub_pd(_mm512_loadu_pd(v + j + 8), shift)));
        a2 = _mm512_add_pd(a2, ce_exp512(_mm512_sub_pd(_mm512_loadu_pd(v + j + 16), shift)));
        a3 = _mm512_add_pd(a3, ce_exp512(_mm512_sub_pd(_mm512_loadu_pd(v + j + 24), shift)));
    }
    for (; j < n; j += 8) {
        __mmask8 mask = ce_tail_mask(n - j);
        __m512d x = _mm512_mask_loadu_pd(_mm512_set1_pd(-CE_INF), mask, v + j); /* exp(-inf) = 0 */
        a0 = _mm512_add_pd(a0, ce_exp512(_mm512_sub_pd(x, shift)));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
}

static inline void ce_map_exp512(Py_ssize_t n, const double *in, double *out) {
    for (Py_ssize_t j = 0; j < n; j += 8) {
        __mmask8 mask = ce_tail_mask(n - j);
        __m512d x = _mm512_mask_loadu_pd(_mm512_setzero_pd(), mask, in + j);
        _mm512_mask_storeu_pd(out + j, mask, ce_exp512(x));
    }
}

#endif

/* The binary family's unweighted loss with AVX-512 instructions, for the AVX-512 copy of the kernels only
 * (kernel.c includes this file after exp512.h and log1p512.h inside that copy's target region).
 *
 * The loss, element by element, in one pass (read, exp, log1p, loss, the checks and the prediction):
 *   loss = log1p(exp(-|x|)) + (max(x, 0) - t x),
 * which is t softplus(-x) + (1 - t) softplus(x) (forms.py) rearranged: the two softplus share their log1p
 * and max(-x, 0) = max(x, 0) - x. Both terms are at least 0 for t in [0, 1], and max(x, 0) - t x is one
 * fma, so the sum is within 2 roundings. Infinite logits are counted, and the caller takes their losses
 * from PyTorch's arrangement (their loss here is NaN or inf, whichever formula). */
#ifndef CE_BINARY512_H
#define CE_BINARY512_H

static inline __m512d ce_binary512_f32(const float *v, __mmask8 mask) {
    return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(mask, v));
}

static inline __m512d ce_binary512_f64(const double *v, __mmask8 mask) { return _mm512_maskz_loadu_pd(mask, v); }

#define CE_FP_NON_FINITE 0x99 /* vfpclasspd: quiet NaN, +inf, -inf, signalling NaN */

/* CE_V(binary_tile_*)'s contract (kernels_binary.h) over n elements in one pass: losses into out, the
 * prediction's hits into correct, and counts += the infinite logits, the logits outside [0, 1], the
 * elements whose logit and loss are both non-finite, and (check_targets) the targets outside [0, 1]. */
#define CE_BINARY512(TX, LX, TT, LT, SUFFIX)                                                                \
    static void ce_binary512_##SUFFIX(const TX *x, const TT *t, Py_ssize_t n, double *out,                 \
                                      unsigned char *correct, int check_targets, int64_t *counts) {        \
        const CeExp16 exp_table = ce_exp16_table();                                                        \
        const CeLog1p16 log_table = ce_log1p16_table();                                                    \
        const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0), half = _mm512_set1_pd(0.5);   \
        const __m512i add = _mm512_set1_epi64(1);                                                          \
        __m512i special = _mm512_setzero_si512(), outside = special, non_finite = special, bad = special;   \
        const __mmask8 check = check_targets ? (__mmask8)0xff : (__mmask8)0;                               \
        for (Py_ssize_t i = 0; i < n; i += 8) {                                                            \
            __mmask8 m = ce_tail_mask(n - i);                                                              \
            __m512d v = ce_binary512_##LX(x + i, m), target = ce_binary512_##LT(t + i, m);                 \
            __m512d a = _mm512_abs_pd(v);                                                                  \
            __m512d e = _mm512_mul_pd(ce_exp512(_mm512_sub_pd(zero, a), &exp_table), _mm512_set1_pd(0x1p-512)); \
            __m512d loss = _mm512_add_pd(ce_log1p512_unit(e, &log_table),                                  \
                                         _mm512_fnmadd_pd(target, v, _mm512_max_pd(v, zero)));            \
            _mm512_mask_storeu_pd(out + i, m, loss);                                                       \
            __mmask8 infinite = _mm512_mask_cmp_pd_mask(m, a, _mm512_set1_pd(CE_INF), _CMP_EQ_OQ);         \
            __mmask8 in_unit = _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(v, zero, _CMP_GE_OQ), v, one, _CMP_LE_OQ); \
            __mmask8 unfinished = _mm512_mask_fpclass_pd_mask(_mm512_mask_fpclass_pd_mask(m, v, CE_FP_NON_FINITE), \
                                                              loss, CE_FP_NON_FINITE);                     \
            __mmask8 t_in = _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(target, zero, _CMP_GE_OQ), target, one, \
                                                    _CMP_LE_OQ);                                           \
            special = _mm512_mask_add_epi64(special, infinite, special, add);                              \
            outside = _mm512_mask_add_epi64(outside, (__mmask8)(m & ~in_unit), outside, add);              \
            non_finite = _mm512_mask_add_epi64(non_finite, unfinished, non_finite, add);                   \
            bad = _mm512_mask_add_epi64(bad, (__mmask8)(m & check & ~t_in), bad, add);                     \
            __mmask8 right = (__mmask8) ~(_mm512_cmp_pd_mask(v, zero, _CMP_GT_OQ) ^                         \
                                          _mm512_cmp_pd_mask(target, half, _CMP_GE_OQ));                   \
            _mm_mask_storeu_epi8(correct + i, m, _mm_maskz_set1_epi8(right, 1));                           \
        }                                                                                                  \
        counts[0] += _mm512_reduce_add_epi64(special);                                                     \
        counts[1] += _mm512_reduce_add_epi64(outside);                                                     \
        counts[2] += _mm512_reduce_add_epi64(non_finite);                                                  \
        counts[3] += _mm512_reduce_add_epi64(bad);                                                         \
    }
CE_BINARY512(float, f32, float, f32, ff)
CE_BINARY512(float, f32, double, f64, fd)
CE_BINARY512(double, f64, float, f32, df)
CE_BINARY512(double, f64, double, f64, dd)

#endif

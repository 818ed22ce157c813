/* The binary family's unweighted loss with AVX-512 instructions, for the AVX-512 copy of the kernels only
 * (kernel.c includes this file after exp512.h inside that copy's target region).
 *
 * log1p(e) for e in [0, 1] without a division: i = round(15 e), c_i = 1 / (1 + i/15) rounded (c_0 = 1),
 * r = c_i (1 + e) - 1 in one rounding (fma(c_i, e, c_i - 1); c_i - 1 is exact for c_i in [1/2, 1]), so
 * |r| <= 1/30, and log1p(e) = -log(c_i) + log1p(r), with -log(c_i) in two parts from the table and
 * log1p(r) = r + r^2 Q(r), Q of degree 8 (a near-minimax fit with mpmath: 2^-60 relative). The sixteen
 * entries of each table sit in two registers (vpermt2pd). c_0 = 1 keeps r = e exactly for small e, where
 * the loss of a confident logit needs every bit. Within 1 ulp of mpmath (tests/test_native.py).
 *
 * The loss, element by element, in one pass (read, exp, log1p, loss, the checks and the prediction):
 *   loss = log1p(exp(-|x|)) + (max(x, 0) - t x),
 * which is t softplus(-x) + (1 - t) softplus(x) (forms.py) rearranged: the two softplus share their log1p
 * and max(-x, 0) = max(x, 0) - x. Both terms are at least 0 for t in [0, 1], and max(x, 0) - t x is one
 * fma, so the sum is within 2 roundings. Infinite logits are counted, and the caller takes their losses
 * from PyTorch's arrangement (their loss here is NaN or inf, whichever formula). */
#ifndef CE_BINARY512_H
#define CE_BINARY512_H

static const double ce_log1p16_c[16] = {
    0x1.0000000000000p+0,  0x1.e000000000000p-1,  0x1.c3c3c3c3c3c3cp-1,  0x1.aaaaaaaaaaaabp-1,
    0x1.9435e50d79436p-1,  0x1.8000000000000p-1,  0x1.6db6db6db6db7p-1,  0x1.5d1745d1745d1p-1,
    0x1.4de9bd37a6f4ep-1,  0x1.4000000000000p-1,  0x1.3333333333333p-1,  0x1.2762762762762p-1,
    0x1.1c71c71c71c72p-1,  0x1.1249249249249p-1,  0x1.08d3dcb08d3ddp-1,  0x1.0000000000000p-1,
};
/* -log(c_i) = hi + lo */
static const double ce_log1p16_hi[16] = {
    0.0,                   0x1.08598b59e3a07p-4,  0x1.005588ad375aep-3,  0x1.7565011e49675p-3,
    0x1.e41fccb76b0d7p-3,  0x1.269621134db92p-2,  0x1.588c2d913348fp-2,  0x1.882f1ef83ed45p-2,
    0x1.b5b3e24235e88p-2,  0x1.e148a1a2726cep-2,  0x1.058aefa811452p-1,  0x1.199fac68b4ab8p-1,
    0x1.2cf25fad8f1c3p-1,  0x1.3f91275240811p-1,  0x1.5188a4a02d7fep-1,  0x1.62e42fefa39efp-1,
};
static const double ce_log1p16_lo[16] = {
    0.0,                    -0x1.dd7009902bf32p-58, -0x1.23dbdc498b285p-59, -0x1.81495b2eb862bp-57,
    -0x1.ef0a9ec21b972p-57, 0x1.e0efadd9db02bp-56,  0x1.fafb06b03f0a5p-57,  0x1.d2273fd0174a6p-56,
    -0x1.4e3e22530be1bp-60, -0x1.ac81cc8a4dfb8p-56, -0x1.c19f73d945334p-60, -0x1.0e0e34e56089ep-58,
    0x1.0a35884260cffp-56,  0x1.4d147676db21dp-55,  0x1.5cc1daef69b6ap-55,  0x1.abc9e3b39803fp-56,
};
/* Q(r) = (log1p(r) - r) / r^2 on |r| <= 1/30, lowest degree first */
static const double ce_log1p16_poly[9] = {
    -0x1.0000000000000p-1, 0x1.55555555554fcp-2, -0x1.ffffffffffe39p-3, 0x1.9999999ba31a7p-3, -0x1.55555558723c9p-3,
    0x1.24922f78328e9p-3,  -0x1.ffffc2f9a4beap-4, 0x1.c80c0e8e8b101p-4, -0x1.9a8daecc5a416p-4,
};

typedef struct {
    __m512d c_low, c_high, hi_low, hi_high, lo_low, lo_high;
} CeLog1p16;

static inline CeLog1p16 ce_log1p16_table(void) {
    CeLog1p16 table = {_mm512_loadu_pd(ce_log1p16_c),  _mm512_loadu_pd(ce_log1p16_c + 8),
                       _mm512_loadu_pd(ce_log1p16_hi), _mm512_loadu_pd(ce_log1p16_hi + 8),
                       _mm512_loadu_pd(ce_log1p16_lo), _mm512_loadu_pd(ce_log1p16_lo + 8)};
    return table;
}

/* log1p(e) for e in [0, 1] (a NaN e gives NaN). */
static inline __m512d ce_log1p512_unit(__m512d e, const CeLog1p16 *table) {
    __m512i i = _mm512_castpd_si512(_mm512_fmadd_pd(e, _mm512_set1_pd(15.0), _mm512_set1_pd(CE_EXP_SHIFT)));
    __m512d c = _mm512_permutex2var_pd(table->c_low, i, table->c_high);
    __m512d hi = _mm512_permutex2var_pd(table->hi_low, i, table->hi_high);
    __m512d lo = _mm512_permutex2var_pd(table->lo_low, i, table->lo_high);
    __m512d r = _mm512_fmadd_pd(c, e, _mm512_sub_pd(c, _mm512_set1_pd(1.0)));
    __m512d q = _mm512_set1_pd(ce_log1p16_poly[8]);
    for (int k = 7; k >= 0; k--) q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(ce_log1p16_poly[k]));
    __m512d sum = _mm512_add_pd(hi, r); /* hi + r and its rounding error (|hi| >= |r| or hi = 0) */
    __m512d error = _mm512_add_pd(_mm512_sub_pd(hi, sum), r);
    return _mm512_add_pd(sum, _mm512_add_pd(error, _mm512_fmadd_pd(_mm512_mul_pd(r, r), q, lo)));
}

static void ce_map_log1p512(Py_ssize_t n, const double *in, double *out) {
    const CeLog1p16 table = ce_log1p16_table();
    for (Py_ssize_t i = 0; i < n; i += 8) {
        __mmask8 mask = ce_tail_mask(n - i);
        _mm512_mask_storeu_pd(out + i, mask, ce_log1p512_unit(_mm512_maskz_loadu_pd(mask, in + i), &table));
    }
}

static inline __m512d ce_binary512_f32(const float *v, __mmask8 mask) {
    return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(mask, v));
}

static inline __m512d ce_binary512_f64(const double *v, __mmask8 mask) { return _mm512_maskz_loadu_pd(mask, v); }

#define CE_FP_NON_FINITE 0x99 /* vfpclasspd: quiet NaN, +inf, -inf, signalling NaN */

/* CE_V(binary_tile_*)'s contract (kernels_binary.h) over n elements in one pass: losses into out, the
 * prediction's hits into correct, and counts += the infinite logits, the logits outside [0, 1], the
 * elements whose logit and loss are both non-finite, and (check_targets) the targets outside [0, 1]. */
#define CE_BINARY512(TX, LX, TT, LT, SUFFIX)                                                                      \
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

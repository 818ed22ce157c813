/* log1p on [0, 1] with AVX-512 instructions, for the AVX-512 copy of the kernels only (kernel.c includes this
 * file after exp512.h inside that copy's target region): the binary loss's log1p(exp(-|x|)).
 *
 * log1p(e) for e in [0, 1] without a division: i = round(15 e), c_i = 1 / (1 + i/15) rounded (c_0 = 1),
 * r = c_i (1 + e) - 1 in one rounding (fma(c_i, e, c_i - 1); c_i - 1 is exact for c_i in [1/2, 1]), so
 * |r| <= 1/30, and log1p(e) = -log(c_i) + log1p(r), with -log(c_i) in two parts from the table and
 * log1p(r) = r + r^2 Q(r), Q of degree 8 (a near-minimax fit with mpmath: 2^-60 relative). The sixteen
 * entries of each table sit in two registers (vpermt2pd). c_0 = 1 keeps r = e exactly for small e, where
 * the loss of a confident logit needs every bit. Within 0.8 ulp of mpmath (tests/test_kernel_fast_paths.py). */
#ifndef CE_LOG1P512_H
#define CE_LOG1P512_H

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

/* log1p(in scale) into out. */
static void ce_map_log1p512(Py_ssize_t n, const double *in, double *out, double scale) {
    const CeLog1p16 table = ce_log1p16_table();
    const __m512d by = _mm512_set1_pd(scale);
    for (Py_ssize_t i = 0; i < n; i += 8) {
        __mmask8 mask = ce_tail_mask(n - i);
        __m512d e = _mm512_mul_pd(_mm512_maskz_loadu_pd(mask, in + i), by);
        _mm512_mask_storeu_pd(out + i, mask, ce_log1p512_unit(e, &table));
    }
}

#endif

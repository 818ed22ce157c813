/* exp with AVX-512 instructions, for the AVX-512 copy of the kernels only (kernel.c includes this
 * file inside that copy's target region, and defines CE_EXP512 there).
 *
 * Table-driven as ce_exp_scaled (vmath.h, exp_table.h), with N = 16: the whole table sits in four
 * registers and vpermt2q looks up eight entries at once, so no load or gather per value. The smaller
 * table leaves |r| <= ln2/32, for which exp(r) - 1 - r needs a degree-7 polynomial (C2..C7,
 * near-minimax, 2^-64.4 absolute). Within 0.6 ulp of exp(x) 2^512 (tests/test_native.py). */
#ifndef CE_EXP512_H
#define CE_EXP512_H

static const double ce_exp16_poly[6] = {
    0x1.0000000000001p-1,  0x1.5555555555556p-3,  0x1.55555554e9468p-5,
    0x1.11111110e10a8p-7,  0x1.6c17ed4cc4834p-10, 0x1.a01b0c2edab7cp-13,
};

/* The table's words j = 0..15 of one kind (0: tails, 1: scales) in two registers. */
static inline void ce_exp16_words(int kind, __m512i *low, __m512i *high) {
    const uint64_t *t = ce_exp_table16 + kind;
    *low = _mm512_set_epi64((long long)t[14], (long long)t[12], (long long)t[10], (long long)t[8],
                            (long long)t[6], (long long)t[4], (long long)t[2], (long long)t[0]);
    *high = _mm512_set_epi64((long long)t[30], (long long)t[28], (long long)t[26], (long long)t[24],
                             (long long)t[22], (long long)t[20], (long long)t[18], (long long)t[16]);
}

typedef struct {
    __m512i tail_low, tail_high, scale_low, scale_high;
} CeExp16;

static inline CeExp16 ce_exp16_table(void) {
    CeExp16 table;
    ce_exp16_words(0, &table.tail_low, &table.tail_high);
    ce_exp16_words(1, &table.scale_low, &table.scale_high);
    return table;
}

/* exp(x) 2^512 for x <= 0, -inf or NaN (a NaN x is returned as NaN). */
static inline __m512d ce_exp512(__m512d x, const CeExp16 *table) {
    __m512d y = _mm512_max_pd(_mm512_set1_pd(CE_EXP_LOWEST), x); /* max returns x where x is NaN */
    __m512d shifted = _mm512_fmadd_pd(y, _mm512_set1_pd(16.0 * CE_INV_LN2), _mm512_set1_pd(CE_EXP_SHIFT));
    __m512d kd = _mm512_sub_pd(shifted, _mm512_set1_pd(CE_EXP_SHIFT));
    __m512d r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(CE_LN2_HI / 16.0), y);
    r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(CE_LN2_LO / 16.0), r);
    __m512i bits = _mm512_castpd_si512(shifted);
    __m512d tail = _mm512_castsi512_pd(_mm512_permutex2var_epi64(table->tail_low, bits, table->tail_high));
    __m512i scale_bits = _mm512_permutex2var_epi64(table->scale_low, bits, table->scale_high);
    __m512d scale = _mm512_castsi512_pd(_mm512_add_epi64(scale_bits, _mm512_slli_epi64(bits, 48)));
    __m512d q = _mm512_set1_pd(ce_exp16_poly[5]);
    for (int i = 4; i >= 0; i--) q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(ce_exp16_poly[i]));
    __m512d tmp = _mm512_add_pd(tail, _mm512_fmadd_pd(_mm512_mul_pd(r, r), q, r));
    return _mm512_fmadd_pd(scale, tmp, scale);
}

static inline __mmask8 ce_tail_mask(Py_ssize_t left) {
    return left >= 8 ? (__mmask8)0xff : (__mmask8)((1u << left) - 1u);
}

static inline __m512d ce_load8_f64(const double *v, __mmask8 mask) {
    return _mm512_mask_loadu_pd(_mm512_set1_pd(-CE_INF), mask, v);
}

static inline __m512d ce_load8_f32(const float *v, __mmask8 mask) {
    return _mm512_cvtps_pd(_mm256_mask_loadu_ps(_mm256_set1_ps(-__builtin_inff()), mask, v));
}

/* The largest of n values and whether any is a NaN, 16 (float32) or 8 (float64) lanes at a time, the row
 * fetched CE_AHEAD bytes ahead (prefetches past its end are harmless: they never fault). */
#define CE_AHEAD 4096
static inline double ce_row_max512_f32(const float *v, Py_ssize_t n, int *has_nan) {
    __m512 top = _mm512_set1_ps(-__builtin_inff());
    __mmask16 nan = 0;
    Py_ssize_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __builtin_prefetch(v + j + CE_AHEAD / 4, 0, 3); /* a long row: fetched ahead across its pages */
        __m512 x = _mm512_loadu_ps(v + j);
        nan |= _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
        top = _mm512_max_ps(top, x);
    }
    if (j < n) {
        __mmask16 mask = (__mmask16)((1u << (n - j)) - 1u);
        __m512 x = _mm512_mask_loadu_ps(_mm512_set1_ps(-__builtin_inff()), mask, v + j);
        nan |= _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
        top = _mm512_max_ps(top, x);
    }
    *has_nan = nan != 0;
    return (double)_mm512_reduce_max_ps(top);
}

static inline double ce_row_max512_f64(const double *v, Py_ssize_t n, int *has_nan) {
    __m512d top = _mm512_set1_pd(-CE_INF);
    __mmask8 nan = 0;
    for (Py_ssize_t j = 0; j < n; j += 8) {
        __builtin_prefetch(v + j + CE_AHEAD / 8, 0, 3);
        __m512d x = ce_load8_f64(v + j, ce_tail_mask(n - j));
        nan |= _mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q);
        top = _mm512_max_pd(top, x);
    }
    *has_nan = nan != 0;
    return _mm512_reduce_max_pd(top);
}

/* Over a row b of n values: the sum over b[j] != mb of exp(b[j] - mb) 2^512, and the count of b[j] == mb in
 * *zeros; mb finite and the largest of b. Four vector accumulators: a fixed order for a given n.
 * NAME_cross also takes a partner row x (ce-loss diff's new model beside its baseline; NULL: none) and, in
 * the same pass, sums e (zb - zx) over every class into *cross, e = exp(zb) 2^512 (2^512 at the maximum),
 * zb - zx = (b - x) + (mx - mb): the same sum as without x, to the bit. It does not apply CE_KL_CROSS512's
 * rules for -inf: a row where they matter (b or x -inf) sums to NaN or +inf, and the caller takes that
 * row's cross sum from CE_KL_CROSS512. NAME is NAME_cross without a partner (inlined, x a constant NULL). */
#define CE_CROSS_ADD512(ACC, E, VB, VX) ACC = _mm512_fmadd_pd(E, _mm512_add_pd(_mm512_sub_pd(VB, VX), gap), ACC)
#define CE_SUM_EXP512(NAME, T, LOAD)                                                                        \
    static inline __attribute__((always_inline)) double NAME##_cross(const T *b, const T *x, Py_ssize_t n,  \
                                                                     double mb, double mx, Py_ssize_t *zeros, \
                                                                     double *cross) {                       \
        const CeExp16 table = ce_exp16_table();                                                            \
        const __m512d shift = _mm512_set1_pd(mb), gap = _mm512_set1_pd(mx - mb), zero = _mm512_setzero_pd(); \
        __m512d a0 = zero, a1 = zero, a2 = zero, a3 = zero, c0 = zero, c1 = zero;                          \
        Py_ssize_t count = 0, j = 0;                                                                       \
        for (; j + 32 <= n; j += 32) {                                                                     \
            __m512d b0 = LOAD(b + j, 0xff), b1 = LOAD(b + j + 8, 0xff);                                    \
            __m512d b2 = LOAD(b + j + 16, 0xff), b3 = LOAD(b + j + 24, 0xff);                              \
            __m512d z0 = _mm512_sub_pd(b0, shift), z1 = _mm512_sub_pd(b1, shift);                          \
            __m512d z2 = _mm512_sub_pd(b2, shift), z3 = _mm512_sub_pd(b3, shift);                          \
            __mmask8 e0 = _mm512_cmp_pd_mask(z0, zero, _CMP_EQ_OQ), e1 = _mm512_cmp_pd_mask(z1, zero, _CMP_EQ_OQ); \
            __mmask8 e2 = _mm512_cmp_pd_mask(z2, zero, _CMP_EQ_OQ), e3 = _mm512_cmp_pd_mask(z3, zero, _CMP_EQ_OQ); \
            __m512d x0 = ce_exp512(z0, &table), x1 = ce_exp512(z1, &table);                                \
            __m512d x2 = ce_exp512(z2, &table), x3 = ce_exp512(z3, &table);                                \
            a0 = _mm512_mask_add_pd(a0, (__mmask8)~e0, a0, x0);                                            \
            a1 = _mm512_mask_add_pd(a1, (__mmask8)~e1, a1, x1);                                            \
            a2 = _mm512_mask_add_pd(a2, (__mmask8)~e2, a2, x2);                                            \
            a3 = _mm512_mask_add_pd(a3, (__mmask8)~e3, a3, x3);                                            \
            count += __builtin_popcount((unsigned)e0 | ((unsigned)e1 << 8) | ((unsigned)e2 << 16) |       \
                                        ((unsigned)e3 << 24));                                            \
            if (x) {                                                                                       \
                CE_CROSS_ADD512(c0, x0, b0, LOAD(x + j, 0xff));                                            \
                CE_CROSS_ADD512(c1, x1, b1, LOAD(x + j + 8, 0xff));                                        \
                CE_CROSS_ADD512(c0, x2, b2, LOAD(x + j + 16, 0xff));                                       \
                CE_CROSS_ADD512(c1, x3, b3, LOAD(x + j + 24, 0xff));                                       \
            }                                                                                              \
        }                                                                                                  \
        for (; j < n; j += 8) {                                                                            \
            __mmask8 mask = ce_tail_mask(n - j);                                                           \
            __m512d vb = LOAD(b + j, mask); /* -inf beyond the row */                                      \
            __m512d z = _mm512_sub_pd(vb, shift);                                                          \
            __mmask8 e = _mm512_mask_cmp_pd_mask(mask, z, zero, _CMP_EQ_OQ);                               \
            __m512d ez = ce_exp512(z, &table);                                                             \
            a0 = _mm512_mask_add_pd(a0, (__mmask8)(mask & ~e), a0, ez);                                    \
            count += __builtin_popcount((unsigned)e);                                                      \
            if (x) {                                                                                       \
                __m512d c = c0;                                                                            \
                CE_CROSS_ADD512(c, ez, vb, LOAD(x + j, mask));                                             \
                c0 = _mm512_mask_mov_pd(c0, mask, c);                                                      \
            }                                                                                              \
        }                                                                                                  \
        *zeros = count;                                                                                    \
        if (x) *cross = _mm512_reduce_add_pd(_mm512_add_pd(c0, c1));                                       \
        return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));          \
    }                                                                                                      \
    static inline double NAME(const T *v, Py_ssize_t n, double m, Py_ssize_t *zeros) {                     \
        return NAME##_cross(v, NULL, n, m, 0.0, zeros, NULL);                                              \
    }
CE_SUM_EXP512(ce_sum_exp512_f64, double, ce_load8_f64)
CE_SUM_EXP512(ce_sum_exp512_f32, float, ce_load8_f32)
#undef CE_CROSS_ADD512

/* For class-major tiles (columns `stride` apart): per row i of count, the sum over the classes c of
 * exp(z) 2^512 for z = cols[c][i] - m[i] != 0, and the count of z == 0, kept in registers across the classes. */
static inline void ce_tile_sums512(const double *cols, Py_ssize_t stride, Py_ssize_t classes, Py_ssize_t count,
                                   const double *m, double *sum, double *zeros) {
    const CeExp16 table = ce_exp16_table();
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
    for (Py_ssize_t i = 0; i < count; i += 8) {
        __mmask8 mask = ce_tail_mask(count - i);
        __m512d shift = _mm512_maskz_loadu_pd(mask, m + i), s = zero, k = zero;
        for (Py_ssize_t c = 0; c < classes; c++) {
            __m512d z = _mm512_sub_pd(_mm512_maskz_loadu_pd(mask, cols + c * stride + i), shift);
            __mmask8 at_top = _mm512_cmp_pd_mask(z, zero, _CMP_EQ_OQ);
            s = _mm512_mask_add_pd(s, (__mmask8)~at_top, s, ce_exp512(z, &table));
            k = _mm512_mask_add_pd(k, at_top, k, one);
        }
        _mm512_mask_storeu_pd(sum + i, mask, s);
        _mm512_mask_storeu_pd(zeros + i, mask, k);
    }
}

/* out[j] = exp(in[j]) 2^512 for the n values of in (x <= 0), masked at the end: no scalar tail. */
static inline void ce_map_exp512(Py_ssize_t n, const double *in, double *out) {
    const CeExp16 table = ce_exp16_table();
    for (Py_ssize_t j = 0; j < n; j += 8) {
        __mmask8 mask = ce_tail_mask(n - j);
        __m512d x = _mm512_mask_loadu_pd(_mm512_setzero_pd(), mask, in + j);
        _mm512_mask_storeu_pd(out + j, mask, ce_exp512(x, &table));
    }
}

/* For ce-loss diff's KL (kernels_paired.h, kl_known): over two rows of n classes, with zb = b - mb, zx = x - mx and
 * e = exp(zb) 2^512, the sums of e (zb - zx) and of e; a class with b = -inf adds nothing to the first, and
 * one with x = -inf where b is not makes it +inf. Two pairs of vector accumulators: a fixed order for a
 * given n. */
#define CE_KL_CROSS512(NAME, T, LOAD)                                                                       \
    static inline void NAME(const T *b, const T *x, Py_ssize_t n, double mb, double mx, double *cross,     \
                            double *total) {                                                               \
        const CeExp16 table = ce_exp16_table();                                                            \
        const __m512d sb = _mm512_set1_pd(mb), sx = _mm512_set1_pd(mx), ninf = _mm512_set1_pd(-CE_INF);    \
        const __m512d pinf = _mm512_set1_pd(CE_INF), zero = _mm512_setzero_pd();                            \
        __m512d c[2] = {zero, zero}, t[2] = {zero, zero};                                                  \
        Py_ssize_t j = 0;                                                                                  \
        for (int lane = 0; j < n; j += 8, lane ^= 1) {                                                     \
            __mmask8 mask = ce_tail_mask(n - j);                                                           \
            __m512d vb = LOAD(b + j, mask), vx = LOAD(x + j, mask);                                        \
            __m512d zb = _mm512_sub_pd(vb, sb), zx = _mm512_sub_pd(vx, sx);                                \
            __m512d e = ce_exp512(zb, &table);                                                             \
            __m512d term = _mm512_mul_pd(e, _mm512_sub_pd(zb, zx));                                        \
            __mmask8 no_mass = _mm512_cmp_pd_mask(vb, ninf, _CMP_EQ_OQ);                                   \
            __mmask8 lost = _mm512_mask_cmp_pd_mask((__mmask8)~no_mass, vx, ninf, _CMP_EQ_OQ);             \
            term = _mm512_mask_mov_pd(_mm512_mask_mov_pd(term, lost, pinf), no_mass, zero);                \
            c[lane] = _mm512_mask_add_pd(c[lane], mask, c[lane], term);                                    \
            t[lane] = _mm512_mask_add_pd(t[lane], mask, t[lane], e);                                       \
        }                                                                                                  \
        *cross = _mm512_reduce_add_pd(_mm512_add_pd(c[0], c[1]));                                          \
        *total = _mm512_reduce_add_pd(_mm512_add_pd(t[0], t[1]));                                          \
    }
CE_KL_CROSS512(ce_kl_cross512_f64, double, ce_load8_f64)
CE_KL_CROSS512(ce_kl_cross512_f32, float, ce_load8_f32)

#endif

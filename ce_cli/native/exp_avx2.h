/* exp with AVX2 instructions, for the AVX2 copy of the kernels only (kernel.c includes this file
 * inside that copy's target region, and defines CE_EXP256 there).
 *
 * ce_exp_scaled (vmath.h) four lanes at a time: the same N = 256 table and polynomial, with the
 * four table pairs fetched by 128-bit loads rather than gathers, which are slower than four loads
 * on several AVX2 CPUs (Zen 1 and 2; Intel parts with the gather data-sampling mitigation).
 * Within 0.6 ulp (tests/test_native.py). */
#ifndef CE_EXP256_H
#define CE_EXP256_H

/* The byte offsets (bits & mask) << shift of four table entries, written to at[4] and read back as
 * integers by the loads that use them. A store and four loads, which run beside the vector arithmetic,
 * in place of the seven extract instructions (on the vector ports) that the compiler makes of
 * _mm256_extract_epi64: 0.90-0.92 of the time of the exp sums at 10 and 1000 classes, 0.98 at two. */
static inline __attribute__((always_inline)) void ce_offsets256(__m256i bits, long long mask, int shift,
                                                                uint64_t at[4]) {
    __m256i offsets = _mm256_slli_epi64(_mm256_and_si256(bits, _mm256_set1_epi64x(mask)), shift);
    _mm256_storeu_si256((__m256i *)(void *)at, offsets);
    __asm__("" : "+m"(*(uint64_t(*)[4])at)); /* kept in memory: else read back by extracts */
}

/* exp(x) 2^512 for x <= 0, -inf or NaN. */
static inline __attribute__((always_inline)) __m256d ce_exp256(__m256d x) {
    __m256d y = _mm256_max_pd(_mm256_set1_pd(CE_EXP_LOWEST), x); /* max returns x where x is NaN */
    __m256d shifted = _mm256_fmadd_pd(y, _mm256_set1_pd(256.0 * CE_INV_LN2), _mm256_set1_pd(CE_EXP_SHIFT));
    __m256d kd = _mm256_sub_pd(shifted, _mm256_set1_pd(CE_EXP_SHIFT));
    __m256d r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(CE_LN2_HI / 256.0), y);
    r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(CE_LN2_LO / 256.0), r);
    __m256i bits = _mm256_castpd_si256(shifted);
    const double *table = (const double *)(const void *)ce_exp_table256;
    uint64_t at[4];
    ce_offsets256(bits, 255, 4, at); /* pairs of doubles: 16 bytes an entry */
    const char *base = (const char *)table;
    __m256d even = _mm256_set_m128d(_mm_loadu_pd((const double *)(const void *)(base + at[2])),
                                    _mm_loadu_pd((const double *)(const void *)(base + at[0])));
    __m256d odd = _mm256_set_m128d(_mm_loadu_pd((const double *)(const void *)(base + at[3])),
                                   _mm_loadu_pd((const double *)(const void *)(base + at[1])));
    __m256d tail = _mm256_unpacklo_pd(even, odd);
    __m256i scale_bits = _mm256_castpd_si256(_mm256_unpackhi_pd(even, odd));
    __m256d scale = _mm256_castsi256_pd(_mm256_add_epi64(scale_bits, _mm256_slli_epi64(bits, 44)));
    __m256d q = _mm256_fmadd_pd(r, _mm256_set1_pd(CE_EXP_C4), _mm256_set1_pd(CE_EXP_C3));
    q = _mm256_fmadd_pd(q, r, _mm256_set1_pd(CE_EXP_C2));
    __m256d tmp = _mm256_add_pd(tail, _mm256_fmadd_pd(_mm256_mul_pd(r, r), q, r));
    return _mm256_fmadd_pd(scale, tmp, scale);
}

static inline __m256d ce_load4_f64(const double *v) { return _mm256_loadu_pd(v); }
static inline __m256d ce_load4_f32(const float *v) { return _mm256_cvtps_pd(_mm_loadu_ps(v)); }

/* The largest of n values and whether any is a NaN, 8 (float32) or 4 (float64) lanes at a time, the row
 * fetched CE_AHEAD256 bytes ahead (prefetches past its end never fault). */
#define CE_AHEAD256 4096
static inline double ce_row_max256_f32(const float *v, Py_ssize_t n, int *has_nan) {
    __m256 top = _mm256_set1_ps(-__builtin_inff()), nan = _mm256_setzero_ps();
    Py_ssize_t j = 0;
    for (; j + 8 <= n; j += 8) {
        if (!(j & 15)) __builtin_prefetch(v + j + CE_AHEAD256 / 4, 0, 3); /* once per 64 bytes */
        __m256 x = _mm256_loadu_ps(v + j);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
        top = _mm256_max_ps(top, x);
    }
    __m128 half = _mm_max_ps(_mm256_castps256_ps128(top), _mm256_extractf128_ps(top, 1));
    half = _mm_max_ps(half, _mm_movehl_ps(half, half));
    half = _mm_max_ss(half, _mm_shuffle_ps(half, half, 1));
    float m = _mm_cvtss_f32(half);
    int bad = _mm256_movemask_ps(nan) != 0;
    for (; j < n; j++) {
        bad |= v[j] != v[j];
        m = v[j] > m ? v[j] : m;
    }
    *has_nan = bad;
    return (double)m;
}

static inline double ce_row_max256_f64(const double *v, Py_ssize_t n, int *has_nan) {
    __m256d top = _mm256_set1_pd(-CE_INF), nan = _mm256_setzero_pd();
    Py_ssize_t j = 0;
    for (; j + 4 <= n; j += 4) {
        if (!(j & 7)) __builtin_prefetch(v + j + CE_AHEAD256 / 8, 0, 3);
        __m256d x = _mm256_loadu_pd(v + j);
        nan = _mm256_or_pd(nan, _mm256_cmp_pd(x, x, _CMP_UNORD_Q));
        top = _mm256_max_pd(top, x);
    }
    __m128d half = _mm_max_pd(_mm256_castpd256_pd128(top), _mm256_extractf128_pd(top, 1));
    double m = _mm_cvtsd_f64(_mm_max_sd(half, _mm_unpackhi_pd(half, half)));
    int bad = _mm256_movemask_pd(nan) != 0;
    for (; j < n; j++) {
        bad |= v[j] != v[j];
        m = v[j] > m ? v[j] : m;
    }
    *has_nan = bad;
    return m;
}

/* As CE_SUM_EXP512 (exp512.h), NAME_cross with its partner row included: four vector accumulators, the last
 * (n mod 4) values by the scalar function. */
/* The sum of four int64 lanes. */
static inline int64_t ce_sum4_epi64(__m256i v) {
    int64_t lanes[4];
    memcpy(lanes, &v, sizeof lanes);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

#define CE_CROSS_ADD256(ACC, E, VB, VX) ACC = _mm256_fmadd_pd(E, _mm256_add_pd(_mm256_sub_pd(VB, VX), gap), ACC)
#define CE_SUM_EXP256(NAME, T, LOAD)                                                                        \
    static inline __attribute__((always_inline)) double NAME##_cross(const T *b, const T *x, Py_ssize_t n,  \
                                                                     double mb, double mx, Py_ssize_t *zeros, \
                                                                     double *cross) {                       \
        const __m256d shift = _mm256_set1_pd(mb), gap = _mm256_set1_pd(mx - mb), zero = _mm256_setzero_pd(); \
        __m256d a0 = zero, a1 = zero, a2 = zero, a3 = zero, c0 = zero, c1 = zero;                          \
        Py_ssize_t count = 0, j = 0; /* the values at the maximum: 16 a pass less those kept, counted in  */ \
        __m256i kept = _mm256_setzero_si256(); /* integer lanes (no movemask and popcount per pass)         */ \
        for (; j + 16 <= n; j += 16) {                                                                     \
            __m256d b0 = LOAD(b + j), b1 = LOAD(b + j + 4), b2 = LOAD(b + j + 8), b3 = LOAD(b + j + 12);   \
            __m256d z0 = _mm256_sub_pd(b0, shift), z1 = _mm256_sub_pd(b1, shift);                          \
            __m256d z2 = _mm256_sub_pd(b2, shift), z3 = _mm256_sub_pd(b3, shift);                          \
            __m256d k0 = _mm256_cmp_pd(z0, zero, _CMP_NEQ_UQ), k1 = _mm256_cmp_pd(z1, zero, _CMP_NEQ_UQ);  \
            __m256d k2 = _mm256_cmp_pd(z2, zero, _CMP_NEQ_UQ), k3 = _mm256_cmp_pd(z3, zero, _CMP_NEQ_UQ);  \
            __m256d x0 = ce_exp256(z0), x1 = ce_exp256(z1), x2 = ce_exp256(z2), x3 = ce_exp256(z3);        \
            a0 = _mm256_add_pd(a0, _mm256_and_pd(k0, x0));                                                 \
            a1 = _mm256_add_pd(a1, _mm256_and_pd(k1, x1));                                                 \
            a2 = _mm256_add_pd(a2, _mm256_and_pd(k2, x2));                                                 \
            a3 = _mm256_add_pd(a3, _mm256_and_pd(k3, x3));                                                 \
            __m256i pair0 = _mm256_add_epi64(_mm256_castpd_si256(k0), _mm256_castpd_si256(k1));            \
            __m256i pair1 = _mm256_add_epi64(_mm256_castpd_si256(k2), _mm256_castpd_si256(k3));            \
            kept = _mm256_sub_epi64(kept, _mm256_add_epi64(pair0, pair1)); /* each kept lane's mask is -1 */ \
            count += 16;                                                                                   \
            if (x) {                                                                                       \
                CE_CROSS_ADD256(c0, x0, b0, LOAD(x + j));                                                  \
                CE_CROSS_ADD256(c1, x1, b1, LOAD(x + j + 4));                                              \
                CE_CROSS_ADD256(c0, x2, b2, LOAD(x + j + 8));                                              \
                CE_CROSS_ADD256(c1, x3, b3, LOAD(x + j + 12));                                             \
            }                                                                                              \
        }                                                                                                  \
        count -= (Py_ssize_t)ce_sum4_epi64(kept);                                                          \
        for (; j + 4 <= n; j += 4) {                                                                       \
            __m256d vb = LOAD(b + j), z = _mm256_sub_pd(vb, shift), k = _mm256_cmp_pd(z, zero, _CMP_NEQ_UQ); \
            __m256d ez = ce_exp256(z);                                                                     \
            a0 = _mm256_add_pd(a0, _mm256_and_pd(k, ez));                                                  \
            count += 4 - __builtin_popcount((unsigned)_mm256_movemask_pd(k));                              \
            if (x) CE_CROSS_ADD256(c0, ez, vb, LOAD(x + j));                                               \
        }                                                                                                  \
        __m256d a = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));                           \
        __m128d h = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));                    \
        double s = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));                                    \
        double lanes_c[4];                                                                                 \
        _mm256_storeu_pd(lanes_c, _mm256_add_pd(c0, c1));                                                  \
        double sc = (lanes_c[0] + lanes_c[1]) + (lanes_c[2] + lanes_c[3]);                                 \
        for (; j < n; j++) {                                                                               \
            double z = (double)b[j] - mb, e = ce_exp_scaled(z);                                            \
            s += z == 0.0 ? 0.0 : e;                                                                       \
            count += z == 0.0;                                                                             \
            if (x) sc += e * (((double)b[j] - (double)x[j]) + (mx - mb));                                  \
        }                                                                                                  \
        *zeros = count;                                                                                    \
        if (x) *cross = sc;                                                                                \
        return s;                                                                                          \
    }                                                                                                      \
    static inline double NAME(const T *v, Py_ssize_t n, double m, Py_ssize_t *zeros) {                     \
        return NAME##_cross(v, NULL, n, m, 0.0, zeros, NULL);                                              \
    }
CE_SUM_EXP256(ce_sum_exp256_f64, double, ce_load4_f64)
CE_SUM_EXP256(ce_sum_exp256_f32, float, ce_load4_f32)
#undef CE_CROSS_ADD256

/* How far ahead the tile reads fetch short rows: at (1e6, 10) on two threads, 0.90 of the time without
 * (1024: 0.91, 4096: 0.91, 8192: 0.92); the hardware's own prefetch leaves the rows' stream behind. */
#define CE_TILE_AHEAD 2048

/* count rows of classes >= 4 contiguous float32 values (row_stride bytes apart) into scratch, class-major
 * as float64 (class c of row i at scratch[c TILE + i]), with each row's maximum into m (as float64) and
 * bad[i] = 1 where the row holds a NaN, else 0: four rows at a time, four classes of each loaded at once
 * and transposed in registers (two classes left over are read as a pair, half the shuffles: 0.97 of the
 * time at ten classes; one or three left, the last four overlap the ones before), the maximum taken in
 * float32 (the conversion to float64 is exact and keeps the order), rows of up to 64 bytes fetched
 * CE_TILE_AHEAD bytes ahead. In place of a strided load per class and a pass for the maxima: 0.86-0.88 of
 * the time at (1e6, 10). */
static inline void ce_tile_load256_f32(const char *data, Py_ssize_t row_stride, Py_ssize_t classes,
                                       Py_ssize_t count, double *scratch, double *m, double *bad) {
    Py_ssize_t i = 0;
    for (; i + 4 <= count; i += 4) {
        const float *r0 = (const float *)(const void *)(data + i * row_stride);
        const float *r1 = (const float *)(const void *)(data + (i + 1) * row_stride);
        const float *r2 = (const float *)(const void *)(data + (i + 2) * row_stride);
        const float *r3 = (const float *)(const void *)(data + (i + 3) * row_stride);
        if (row_stride * 4 <= 256) { /* short rows: the lines CE_TILE_AHEAD bytes on (prefetches never fault) */
            const char *ahead = data + i * row_stride + CE_TILE_AHEAD;
            for (Py_ssize_t b = 0; b < row_stride * 4 + 63; b += 64) __builtin_prefetch(ahead + b, 0, 3);
        }
        __m128 top = _mm_set1_ps(-__builtin_inff()), nan = _mm_setzero_ps();
        Py_ssize_t whole = (classes & 3) == 2 ? classes - 2 : classes; /* two left: read as a pair below */
        for (Py_ssize_t c = 0; c < whole; c += 4) {
            Py_ssize_t at = c + 4 <= whole ? c : whole - 4;
            __m128 a = _mm_loadu_ps(r0 + at), b = _mm_loadu_ps(r1 + at), d = _mm_loadu_ps(r2 + at), e = _mm_loadu_ps(r3 + at);
            _MM_TRANSPOSE4_PS(a, b, d, e); /* a: class at of the four rows, b: at + 1, ... */
            __m128 cols[4] = {a, b, d, e};
            for (int k = 0; k < 4; k++) {
                nan = _mm_or_ps(nan, _mm_cmp_ps(cols[k], cols[k], _CMP_UNORD_Q));
                top = _mm_max_ps(cols[k], top); /* x > top ? x : top, as the portable loop: the same zero */
                _mm256_storeu_pd(scratch + (at + k) * TILE + i, _mm256_cvtps_pd(cols[k]));
            }
        }
        if (whole < classes) { /* the last two classes of the four rows: half the shuffles of four */
#define CE_PAIR_OF(ROW) _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)((ROW) + whole)))
            __m128 ab = _mm_unpacklo_ps(CE_PAIR_OF(r0), CE_PAIR_OF(r1)); /* r0[w] r1[w] r0[w+1] r1[w+1] */
            __m128 de = _mm_unpacklo_ps(CE_PAIR_OF(r2), CE_PAIR_OF(r3));
#undef CE_PAIR_OF
            __m128 cols[2] = {_mm_movelh_ps(ab, de), _mm_movehl_ps(de, ab)};
            for (int k = 0; k < 2; k++) {
                nan = _mm_or_ps(nan, _mm_cmp_ps(cols[k], cols[k], _CMP_UNORD_Q));
                top = _mm_max_ps(cols[k], top);
                _mm256_storeu_pd(scratch + (whole + k) * TILE + i, _mm256_cvtps_pd(cols[k]));
            }
        }
        _mm256_storeu_pd(m + i, _mm256_cvtps_pd(top));
        _mm256_storeu_pd(bad + i, _mm256_and_pd(_mm256_cvtps_pd(nan), _mm256_set1_pd(1.0)));
    }
    for (; i < count; i++) { /* the last rows of the tile, one at a time */
        const float *row = (const float *)(const void *)(data + i * row_stride);
        float top = -__builtin_inff();
        int any_nan = 0;
        for (Py_ssize_t c = 0; c < classes; c++) {
            float v = row[c];
            any_nan |= v != v;
            top = v > top ? v : top;
            scratch[c * TILE + i] = (double)v;
        }
        m[i] = (double)top;
        bad[i] = any_nan ? 1.0 : 0.0;
    }
}

/* As ce_tile_sums512 (exp512.h), four rows at a time; the last (count mod 4) rows by the scalar function. */
static inline void ce_tile_sums256(const double *cols, Py_ssize_t stride, Py_ssize_t classes, Py_ssize_t count,
                                   const double *m, double *sum, double *zeros) {
    const __m256d zero = _mm256_setzero_pd();
/* one class's terms for four rows at i: exp(z) 2^512 into S where z != 0, the count of z == 0 into the
 * integers K (less the all-ones mask, -1: one instruction where a float count takes two) */
#define CE_TILE_TERMS(S, K, SHIFT, AT)                                                                      \
    do {                                                                                                   \
        __m256d z_ = _mm256_sub_pd(_mm256_loadu_pd(cols + c * stride + (AT)), SHIFT);                       \
        __m256d top_ = _mm256_cmp_pd(z_, zero, _CMP_EQ_OQ);                                                \
        S = _mm256_add_pd(S, _mm256_andnot_pd(top_, ce_exp256(z_)));                                      \
        K = _mm256_sub_epi64(K, _mm256_castpd_si256(top_));                                                \
    } while (0)
/* the counts as doubles, through the bits of 2^52 + K (no int64-to-double conversion in AVX2) */
#define CE_COUNTS(K)                                                                                       \
    _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(K, _mm256_castpd_si256(two52))), two52)
    const __m256d two52 = _mm256_set1_pd(0x1p52);
    Py_ssize_t i = 0;
    for (; i + 8 <= count; i += 8) { /* eight rows: two independent chains of sums (0.97 of the time) */
        __m256d shift = _mm256_loadu_pd(m + i), shift2 = _mm256_loadu_pd(m + i + 4);
        __m256d s = zero, s2 = zero;
        __m256i k = _mm256_setzero_si256(), k2 = _mm256_setzero_si256();
        for (Py_ssize_t c = 0; c < classes; c++) {
            CE_TILE_TERMS(s, k, shift, i);
            CE_TILE_TERMS(s2, k2, shift2, i + 4);
        }
        _mm256_storeu_pd(sum + i, s);
        _mm256_storeu_pd(zeros + i, CE_COUNTS(k));
        _mm256_storeu_pd(sum + i + 4, s2);
        _mm256_storeu_pd(zeros + i + 4, CE_COUNTS(k2));
    }
    for (; i + 4 <= count; i += 4) {
        __m256d shift = _mm256_loadu_pd(m + i), s = zero;
        __m256i k = _mm256_setzero_si256();
        for (Py_ssize_t c = 0; c < classes; c++) CE_TILE_TERMS(s, k, shift, i);
        _mm256_storeu_pd(sum + i, s);
        _mm256_storeu_pd(zeros + i, CE_COUNTS(k));
    }
#undef CE_TILE_TERMS
#undef CE_COUNTS
    for (; i < count; i++) {
        double s = 0.0, k = 0.0;
        for (Py_ssize_t c = 0; c < classes; c++) {
            double z = cols[c * stride + i] - m[i];
            s += z == 0.0 ? 0.0 : ce_exp_scaled(z);
            k += z == 0.0 ? 1.0 : 0.0;
        }
        sum[i] = s, zeros[i] = k;
    }
}

static inline void ce_map_exp256(Py_ssize_t n, const double *in, double *out) {
    Py_ssize_t j = 0;
    for (; j + 4 <= n; j += 4) _mm256_storeu_pd(out + j, ce_exp256(_mm256_loadu_pd(in + j)));
    for (; j < n; j++) out[j] = ce_exp_scaled(in[j]);
}

/* As CE_KL_CROSS512 (exp512.h): the sums of e (zb - zx) and of e over two rows, four lanes at a time in
 * two pairs of accumulators, the last (n mod 4) classes by the scalar function. */
#define CE_KL_CROSS256(NAME, T, LOAD)                                                                       \
    static inline void NAME(const T *b, const T *x, Py_ssize_t n, double mb, double mx, double *cross,     \
                            double *total) {                                                               \
        const __m256d sb = _mm256_set1_pd(mb), sx = _mm256_set1_pd(mx), ninf = _mm256_set1_pd(-CE_INF);    \
        const __m256d pinf = _mm256_set1_pd(CE_INF), zero = _mm256_setzero_pd();                            \
        __m256d c[2] = {zero, zero}, t[2] = {zero, zero};                                                  \
        Py_ssize_t j = 0;                                                                                  \
        for (int lane = 0; j + 4 <= n; j += 4, lane ^= 1) {                                                \
            __m256d vb = LOAD(b + j), vx = LOAD(x + j);                                                    \
            __m256d zb = _mm256_sub_pd(vb, sb), zx = _mm256_sub_pd(vx, sx);                                \
            __m256d e = ce_exp256(zb);                                                                     \
            __m256d term = _mm256_mul_pd(e, _mm256_sub_pd(zb, zx));                                        \
            __m256d no_mass = _mm256_cmp_pd(vb, ninf, _CMP_EQ_OQ), lost = _mm256_cmp_pd(vx, ninf, _CMP_EQ_OQ); \
            term = _mm256_blendv_pd(_mm256_blendv_pd(term, pinf, lost), zero, no_mass);                    \
            c[lane] = _mm256_add_pd(c[lane], term);                                                        \
            t[lane] = _mm256_add_pd(t[lane], e);                                                           \
        }                                                                                                  \
        double lanes_c[4], lanes_t[4];                                                                     \
        _mm256_storeu_pd(lanes_c, _mm256_add_pd(c[0], c[1]));                                              \
        _mm256_storeu_pd(lanes_t, _mm256_add_pd(t[0], t[1]));                                              \
        double sc = (lanes_c[0] + lanes_c[1]) + (lanes_c[2] + lanes_c[3]);                                 \
        double st = (lanes_t[0] + lanes_t[1]) + (lanes_t[2] + lanes_t[3]);                                 \
        for (; j < n; j++) {                                                                               \
            double zb = (double)b[j] - mb, zx = (double)x[j] - mx, e = ce_exp_scaled(zb);                  \
            sc += (double)b[j] == -CE_INF ? 0.0 : (double)x[j] == -CE_INF ? CE_INF : e * (zb - zx);         \
            st += e;                                                                                       \
        }                                                                                                  \
        *cross = sc;                                                                                       \
        *total = st;                                                                                       \
    }
CE_KL_CROSS256(ce_kl_cross256_f64, double, ce_load4_f64)
CE_KL_CROSS256(ce_kl_cross256_f32, float, ce_load4_f32)

#endif

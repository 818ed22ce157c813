/* The binary family's unweighted loss with AVX2 instructions, for the AVX2 copy of the kernels only (kernel.c
 * includes this file after exp_avx2.h and log1p256.h inside that copy's target region).
 *
 * The loss of binary512.h, four elements at a time, in two passes over each tile: exp(-|x|), then the rest
 * (log1p256.h's log1p, the loss, the checks and the prediction). */
#ifndef CE_BINARY256_H
#define CE_BINARY256_H

/* Four elements' 0/1 bytes from a movemask's four bits. */
static const uint32_t ce_hit_bytes[16] = {
    0x00000000u, 0x00000001u, 0x00000100u, 0x00000101u, 0x00010000u, 0x00010001u, 0x00010100u, 0x00010101u,
    0x01000000u, 0x01000001u, 0x01000100u, 0x01000101u, 0x01010000u, 0x01010001u, 0x01010100u, 0x01010101u,
};

static inline __m256d ce_binary256_f32(const float *v) { return _mm256_cvtps_pd(_mm_loadu_ps(v)); }
static inline __m256d ce_binary256_f64(const double *v) { return _mm256_loadu_pd(v); }

/* Four elements' exp(-|x|) (the first pass; a pass of its own keeps the dependency chains short enough for
 * the out-of-order window: fused with the log1p, the loop was bound by latency, 1.16 times the time). */
static inline __attribute__((always_inline)) __m256d ce_binary256_decay(__m256d v) {
    __m256d a = _mm256_andnot_pd(_mm256_set1_pd(-0.0), v);
    return _mm256_mul_pd(ce_exp256(_mm256_sub_pd(_mm256_setzero_pd(), a)), _mm256_set1_pd(0x1p-512));
}

/* The second pass over four elements, e their exp(-|x|): the losses into out, the hits' bytes into hits, and
 * the counts (lanes: all ones where the element exists) added to the vector counters: the infinite logits,
 * the logits in [0, 1], the non-finite logits with non-finite losses, the targets in [0, 1]. */
static inline __attribute__((always_inline)) void ce_binary256_step(__m256d v, __m256d target, __m256d e,
                                                                    __m256i lanes, double *out, uint32_t *hits,
                                                                    __m256i *special, __m256i *in_unit,
                                                                    __m256i *non_finite, __m256i *t_in) {
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0), inf = _mm256_set1_pd(CE_INF);
    const __m256d sign = _mm256_set1_pd(-0.0);
    __m256d a = _mm256_andnot_pd(sign, v);
    __m256d loss = _mm256_add_pd(ce_log1p256_unit(e), _mm256_fnmadd_pd(target, v, _mm256_max_pd(v, zero)));
    _mm256_storeu_pd(out, loss);
    __m256d mask = _mm256_castsi256_pd(lanes);
    __m256d both = _mm256_and_pd(_mm256_cmp_pd(a, inf, _CMP_NLT_UQ), /* inf or NaN */
                                 _mm256_cmp_pd(_mm256_andnot_pd(sign, loss), inf, _CMP_NLT_UQ));
    __m256d unit = _mm256_and_pd(_mm256_cmp_pd(v, zero, _CMP_GE_OQ), _mm256_cmp_pd(v, one, _CMP_LE_OQ));
    __m256d t_unit = _mm256_and_pd(_mm256_cmp_pd(target, zero, _CMP_GE_OQ), _mm256_cmp_pd(target, one, _CMP_LE_OQ));
    *special = _mm256_sub_epi64(*special, _mm256_castpd_si256(_mm256_and_pd(mask, _mm256_cmp_pd(a, inf, _CMP_EQ_OQ))));
    *in_unit = _mm256_sub_epi64(*in_unit, _mm256_castpd_si256(_mm256_and_pd(mask, unit)));
    *non_finite = _mm256_sub_epi64(*non_finite, _mm256_castpd_si256(_mm256_and_pd(mask, both)));
    *t_in = _mm256_sub_epi64(*t_in, _mm256_castpd_si256(_mm256_and_pd(mask, t_unit)));
    __m256d right = _mm256_xor_pd(_mm256_cmp_pd(v, zero, _CMP_GT_OQ), _mm256_cmp_pd(target, _mm256_set1_pd(0.5), _CMP_GE_OQ));
    *hits = ce_hit_bytes[~_mm256_movemask_pd(right) & 15];
}

/* CE_V(binary_tile_*)'s contract (kernels_binary.h) over n elements, a tile at a time in two passes. */
#define CE_BINARY256(TX, LX, TT, LT, SUFFIX)                                                                \
    static void ce_binary256_##SUFFIX(const TX *x, const TT *t, Py_ssize_t n, double *out,                 \
                                      unsigned char *correct, int check_targets, int64_t *counts) {        \
        const __m256i all = _mm256_set1_epi64x(-1);                                                        \
        __m256i special = _mm256_setzero_si256(), in_unit = special, non_finite = special, t_in = special;  \
        double decay[TILE];                                                                                \
        for (Py_ssize_t first = 0; first < n; first += TILE) {                                             \
            Py_ssize_t count = n - first < TILE ? n - first : TILE, whole = count & ~(Py_ssize_t)3;         \
            const TX *xt = x + first;                                                                      \
            const TT *tt = t + first;                                                                      \
            for (Py_ssize_t i = 0; i < whole; i += 4) {                                                    \
                if (!(i & 15)) { /* both inputs CE_TILE_AHEAD bytes ahead: 0.96-0.98 of the time */        \
                    __builtin_prefetch((const char *)(xt + i) + CE_TILE_AHEAD, 0, 3);                      \
                    __builtin_prefetch((const char *)(tt + i) + CE_TILE_AHEAD, 0, 3);                      \
                }                                                                                          \
                _mm256_storeu_pd(decay + i, ce_binary256_decay(ce_binary256_##LX(xt + i)));                 \
            }                                                                                              \
            for (Py_ssize_t i = 0; i < whole; i += 4) {                                                    \
                uint32_t hits;                                                                             \
                ce_binary256_step(ce_binary256_##LX(xt + i), ce_binary256_##LT(tt + i), _mm256_loadu_pd(decay + i), all, \
                                  out + first + i, &hits, &special, &in_unit, &non_finite, &t_in);         \
                memcpy(correct + first + i, &hits, 4);                                                     \
            }                                                                                              \
            if (whole < count) { /* the last one to three, from copies padded with zeros */                \
                TX xs[4] = {0, 0, 0, 0};                                                                   \
                TT ts[4] = {0, 0, 0, 0};                                                                   \
                double losses[4];                                                                          \
                uint32_t hits;                                                                             \
                size_t left = (size_t)(count - whole);                                                     \
                memcpy(xs, xt + whole, left * sizeof(TX));                                                 \
                memcpy(ts, tt + whole, left * sizeof(TT));                                                 \
                __m256d v = ce_binary256_##LX(xs);                                                         \
                __m256i lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)left), _mm256_set_epi64x(3, 2, 1, 0)); \
                ce_binary256_step(v, ce_binary256_##LT(ts), ce_binary256_decay(v), lanes, losses, &hits,   \
                                  &special, &in_unit, &non_finite, &t_in);                                 \
                memcpy(out + first + whole, losses, left * sizeof(double));                                \
                memcpy(correct + first + whole, &hits, left);                                              \
            }                                                                                              \
        }                                                                                                  \
        counts[0] += ce_sum4_epi64(special);                                                               \
        counts[1] += n - ce_sum4_epi64(in_unit);                                                           \
        counts[2] += ce_sum4_epi64(non_finite);                                                            \
        counts[3] += check_targets ? n - ce_sum4_epi64(t_in) : 0;                                          \
    }
CE_BINARY256(float, f32, float, f32, ff)
CE_BINARY256(float, f32, double, f64, fd)
CE_BINARY256(double, f64, float, f32, df)
CE_BINARY256(double, f64, double, f64, dd)

#endif

/* The kernels, compiled once per CPU variant: kernel.c includes this file with CE_V(name)
 * defined to give each copy its own names, under a target pragma for that variant.
 *
 * Softmax rows (see ce_cli/log_sum_exp.py for the mathematics, which this follows):
 *   m = max_j x_j (NaN if the row holds a NaN), a = the first j holding it, z_j = x_j - m,
 *   lse_z = log1p(s), s = sum over j != a of exp(z_j),
 * the sum of every term but one maximum's (which is exactly 1), so that a confident row
 * keeps the relative accuracy of its tiny loss: the terms with z_j == 0 are counted rather
 * than summed, and all but one of them added back as 1. Each exp is computed times 2^512
 * (exp_table.h) and the sum scaled back once, so no term is subnormal. A row holding NaN
 * or +inf, or only -inf, gives NaN, as PyTorch's log-softmax does.
 *
 * Rows of few classes are worked in tiles of TILE rows stored class-major, so that every
 * loop runs across rows (vectorised however few the classes); rows of many classes one
 * at a time, with the loops along the row, read in their own dtype (float32 rows are never
 * copied to float64). Loops are written elementwise over arrays of
 * partial results (LANES of them), which the compiler vectorises without reassociating.
 *
 * This file holds what every kernel shares (the row functions per dtype); the kernels are in
 * kernels_rows.h, kernels_index.h, kernels_binary.h and kernels_paired.h, included below in that
 * order (each uses what the ones before define), and the table of them closes this file.
 */

#define LANES 64
/* log1p on [0, 1] inside the two-class rows' loops: one division where AVX-512 makes that faster (vmath.h).
 * (log1p_unit_array's table, a pass of its own, made those loops 1.04-1.1 times slower; the AVX2 copy's
 * unweighted index loop has the table inside its own vector loop instead, 0.92 of the time: pairs256.h.) */
#undef CE_LOG1P_UNIT
#if defined(CE_EXP512)
#define CE_LOG1P_UNIT ce_log1p_unit
#else
#define CE_LOG1P_UNIT ce_log1p_unit_two_divisions
#endif
#define PREFETCH_BYTES (1 << 16) /* rows up to this size have the next one fetched while they are worked */

/* sum(lanes), halving: a fixed order, vectorised. */
static double CE_V(total)(double *lanes) {
    for (int width = LANES / 2; width >= 1; width /= 2) {
        for (int k = 0; k < width; k++) lanes[k] += lanes[k + width];
    }
    return lanes[0];
}

/* The first j with v[j] != v[j] (a NaN); n when none. */
static Py_ssize_t CE_V(first_nan)(const double *v, Py_ssize_t n, Py_ssize_t stride) {
    for (Py_ssize_t j = 0; j < n; j++) {
        if (v[j * stride] != v[j * stride]) return j;
    }
    return n;
}

/* exp(in) 2^512 into out (exp_table.h): the variant's vector code, or the scalar function. */
static void CE_V(exp_array)(const double *in, double *out, Py_ssize_t n) {
#if defined(CE_EXP512)
    ce_map_exp512(n, in, out);
#elif defined(CE_EXP256)
    ce_map_exp256(n, in, out);
#else
    for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_exp_scaled(in[i]);
#endif
}

/* log1p(in scale) into out, in scale in [0, 1] (the binary loss's log1p(exp(-|x|)), scale 2^-512 for
 * exp_array's values): the variant's vector code (log1p512.h, log1p256.h), or fdlibm's. */
static void CE_V(log1p_unit_array)(const double *in, double *out, Py_ssize_t n, double scale) {
#if defined(CE_EXP512)
    ce_map_log1p512(n, in, out, scale);
#elif defined(CE_EXP256)
    ce_map_log1p256(n, in, out, scale);
#else
    for (Py_ssize_t i = 0; i < n; i++) out[i] = ce_log1p_unit_two_divisions(in[i] * scale);
#endif
}

/* A row's log Σ exp(x - m) from the sum over x != m of exp(x - m) 2^512 and the count of x == m: every
 * maximum's term but one is 1. Not inlined, so that every caller has the same code, and the same
 * result to the bit (the compiler may contract an inlined copy's products and sums differently). */
__attribute__((noinline)) static double CE_V(row_lse)(double s, Py_ssize_t zeros) {
    return ce_log1p_nonneg(s * 0x1p-512 + (double)(zeros - 1));
}

/* Per element type T (float32 rows are read as they are, never copied to float64): the maximum of a
 * row and whether it holds a NaN; the first j with v[j] == key or v[j] a NaN; how many v[j] > key;
 * and the sum over v[j] != m of exp(v[j] - m) 2^512 with the count of v[j] == m (m finite). */
#define CE_ROW_FUNCTIONS(T, SUFFIX, SUM_EXP, MAX)                                                           \
    static double CE_V(row_max_##SUFFIX)(const T *v, Py_ssize_t n, int *has_nan) {                        \
        MAX                                                                                                \
    }                                                                                                      \
    static Py_ssize_t CE_V(row_find_##SUFFIX)(const T *v, Py_ssize_t n, T key, int nan) {                  \
        for (Py_ssize_t j = 0; j < n; j += LANES) {                                                        \
            int width = n - j < LANES ? (int)(n - j) : LANES, hit = 0;                                     \
            for (int k = 0; k < width; k++) hit |= nan ? v[j + k] != v[j + k] : v[j + k] == key;           \
            if (hit) {                                                                                     \
                for (int k = 0; k < width; k++) {                                                          \
                    if (nan ? v[j + k] != v[j + k] : v[j + k] == key) return j + k;                        \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
        return n;                                                                                          \
    }                                                                                                      \
    static int64_t CE_V(row_above_##SUFFIX)(const T *v, Py_ssize_t n, T key) {                             \
        int64_t count[LANES];                                                                              \
        for (int k = 0; k < LANES; k++) count[k] = 0;                                                      \
        for (Py_ssize_t j = 0; j < n; j += LANES) {                                                        \
            int width = n - j < LANES ? (int)(n - j) : LANES;                                              \
            for (int k = 0; k < width; k++) count[k] += v[j + k] > key;                                    \
        }                                                                                                  \
        int64_t total = 0;                                                                                 \
        for (int k = 0; k < LANES; k++) total += count[k];                                                 \
        return total;                                                                                      \
    }                                                                                                      \
    static double CE_V(row_sum_exp_##SUFFIX)(const T *v, Py_ssize_t n, double m, Py_ssize_t *zeros) {      \
        SUM_EXP                                                                                            \
    }                                                                                                      \
    /* One row of n classes, contiguous. */                                                                \
    static void CE_V(one_row_##SUFFIX)(const T *v, Py_ssize_t n, int64_t target, double *maximum,          \
                                       double *target_z, double *lse_z, int64_t *argmax, int64_t *rank) {  \
        int has_nan;                                                                                       \
        double m = CE_V(row_max_##SUFFIX)(v, n, &has_nan);                                                 \
        m = has_nan ? CE_NAN : m;                                                                          \
        double key = (double)v[target], lse = CE_NAN; /* NaN for a row holding NaN or +inf, or only -inf */ \
        if (m - m == 0.0) {                                                                                \
            Py_ssize_t zeros;                                                                              \
            double s = CE_V(row_sum_exp_##SUFFIX)(v, n, m, &zeros);                                        \
            lse = CE_V(row_lse)(s, zeros);                                                                 \
        }                                                                                                  \
        *maximum = m;                                                                                      \
        *target_z = key - m;                                                                               \
        *lse_z = lse;                                                                                      \
        if (argmax) *argmax = (int64_t)CE_V(row_find_##SUFFIX)(v, n, (T)m, has_nan);                       \
        if (rank) *rank = 1 + CE_V(row_above_##SUFFIX)(v, n, (T)key);                                      \
    }

#if defined(CE_EXP512)
CE_ROW_FUNCTIONS(double, f64, return ce_sum_exp512_f64(v, n, m, zeros);, return ce_row_max512_f64(v, n, has_nan);)
CE_ROW_FUNCTIONS(float, f32, return ce_sum_exp512_f32(v, n, m, zeros);, return ce_row_max512_f32(v, n, has_nan);)
#elif defined(CE_EXP256)
CE_ROW_FUNCTIONS(double, f64, return ce_sum_exp256_f64(v, n, m, zeros);, return ce_row_max256_f64(v, n, has_nan);)
CE_ROW_FUNCTIONS(float, f32, return ce_sum_exp256_f32(v, n, m, zeros);, return ce_row_max256_f32(v, n, has_nan);)
#else
#define CE_PORTABLE_MAX(T)                                                                                 \
    T top[LANES], bad[LANES];                                                                              \
    for (int k = 0; k < LANES; k++) top[k] = (T)-CE_INF, bad[k] = 0;                                       \
    for (Py_ssize_t j = 0; j < n; j += LANES) {                                                            \
        int width = n - j < LANES ? (int)(n - j) : LANES;                                                  \
        const T *w = v + j;                                                                                \
        for (int k = 0; k < width; k++) {                                                                  \
            T x = w[k];                                                                                    \
            top[k] = x > top[k] ? x : top[k];                                                              \
            bad[k] = x != x ? (T)1 : bad[k];                                                               \
        }                                                                                                  \
    }                                                                                                      \
    T m = top[0], any_bad = bad[0];                                                                        \
    for (int k = 1; k < LANES; k++) m = top[k] > m ? top[k] : m, any_bad += bad[k];                        \
    *has_nan = any_bad > 0;                                                                                \
    return (double)m;
#define CE_PORTABLE_SUM                                                                                    \
    double sum[LANES], count[LANES];                                                                       \
    for (int k = 0; k < LANES; k++) sum[k] = 0.0, count[k] = 0.0;                                          \
    for (Py_ssize_t j = 0; j < n; j += LANES) {                                                            \
        int width = n - j < LANES ? (int)(n - j) : LANES;                                                  \
        for (int k = 0; k < width; k++) {                                                                  \
            double z = (double)v[j + k] - m;                                                               \
            double e = ce_exp_scaled(z);                                                                   \
            sum[k] += z == 0.0 ? 0.0 : e;                                                                  \
            count[k] += z == 0.0 ? 1.0 : 0.0;                                                              \
        }                                                                                                  \
    }                                                                                                      \
    *zeros = (Py_ssize_t)CE_V(total)(count);                                                               \
    return CE_V(total)(sum);
CE_ROW_FUNCTIONS(double, f64, CE_PORTABLE_SUM, CE_PORTABLE_MAX(double))
CE_ROW_FUNCTIONS(float, f32, CE_PORTABLE_SUM, CE_PORTABLE_MAX(float))
#undef CE_PORTABLE_SUM
#undef CE_PORTABLE_MAX
#endif
#undef CE_ROW_FUNCTIONS

#include "kernels_rows.h"
#include "kernels_index.h"
#include "kernels_binary.h"
#include "kernels_paired.h"

static const CeKernels CE_V(kernels) = {
    CE_V(index_losses), CE_V(softmax_rows), CE_V(row_sums), CE_V(binary), CE_V(map), CE_V(poisson_sums), CE_V(kl_rows), CE_V(kl_known),
};

/* Branch-free float64 exp, log and log1p that the compiler can vectorise.
 *
 * Selects instead of branches, so that a loop calling them becomes vector code
 * (with -fno-trapping-math); no libm calls, no global state. Built without
 * -ffast-math: NaN propagates, subnormal results are kept (never flushed).
 *
 * exp (of x <= 0): table-driven (exp_table.h), its result scaled by 2^512 so that no
 *      intermediate is subnormal. Tested within 0.6 ulp of mpmath.
 * log, log1p: the reduction and the polynomial of fdlibm's e_log.c and
 *      s_log1p.c (Sun Microsystems, freely distributable), written branch-free:
 *      u = 2^k m with m in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f),
 *      log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)); log1p adds the rounding
 *      error of 1 + x back as c / u. Within 1 ulp.
 */
#ifndef CE_VMATH_H
#define CE_VMATH_H

#include <stdint.h>
#include <string.h>

static inline uint64_t ce_bits(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double ce_double(uint64_t u) {
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

#define CE_INF (__builtin_inf())
#define CE_NAN (__builtin_nan(""))

/* ln 2 in two parts (the high one of 32 significant bits, so that n * CE_LN2_HI is exact) and 1 / ln 2 */
#define CE_LN2_HI 6.93147180369123816490e-01
#define CE_LN2_LO 1.90821492927058770002e-10
#define CE_INV_LN2 1.4426950408889634

#include "exp_table.h"

/* exp(r) - 1 - r = r^2 (C2 + C3 r + C4 r^2) on |r| <= ln2/512, near-minimax (a Chebyshev fit with mpmath,
 * 2^-56.5 absolute), for the N = 256 table (exp_table.h). */
#define CE_EXP_C2 0x1.0000000000000p-1
#define CE_EXP_C3 0x1.555556deeba2fp-3
#define CE_EXP_C4 0x1.5555565bb988fp-5
#define CE_EXP_LOWEST -1000.0 /* exp(-1000) 2^512 is still normal; exp(-1000) itself rounds to 0 */
#define CE_EXP_SHIFT 0x1.8p52 /* adding it rounds to an integer held in the low bits */

/* exp(x) 2^512 for x <= 0 (and -inf, NaN): the only arguments the kernels have (x - max(x), -|x|).
 * Table-driven (exp_table.h): k = round(x 256 / ln2) in the low bits of x 256/ln2 + 1.5 2^52, the
 * reduction x - k ln2/256 in two parts (Cody-Waite), 2^(k/256) from the table and the exponent bits,
 * and exp(r) = 1 + r + r^2 (C2 + C3 r + C4 r^2). Within 0.6 ulp of exp(x) 2^512 (tests/test_native.py). */
static inline double ce_exp_scaled(double x) {
    double y = x < CE_EXP_LOWEST ? CE_EXP_LOWEST : x; /* NaN stays NaN */
    double shifted = y * (256.0 * CE_INV_LN2) + CE_EXP_SHIFT;
    double kd = shifted - CE_EXP_SHIFT;
    double r = (y - kd * (CE_LN2_HI / 256.0)) - kd * (CE_LN2_LO / 256.0);
    uint64_t bits = ce_bits(shifted);
    unsigned j = (unsigned)(bits & 255u);
    double tail = ce_double(ce_exp_table256[2 * j]);
    double scale = ce_double(ce_exp_table256[2 * j + 1] + (bits << 44));
    double tmp = tail + (r + r * r * (CE_EXP_C2 + r * (CE_EXP_C3 + r * CE_EXP_C4)));
    return scale + scale * tmp;
}

/* u = 2^k * m with m in [sqrt(2)/2, sqrt(2)), returned as f = m - 1: fdlibm's high-word arithmetic on
 * the whole 64 bits, and k read as a double through the bits of 2^52 + k + 1023 (no int-to-double
 * conversion, which AVX2 lacks for 64-bit integers). u positive and normal. */
static inline double ce_log_reduce(double u, double *k) {
    uint64_t iu = ce_bits(u) + ((uint64_t)(0x3ff00000u - 0x3fe6a09eu) << 32);
    *k = ce_double(0x4330000000000000u | (iu >> 52)) - (0x1p52 + 1023.0);
    return ce_double((iu & 0x000fffffffffffffu) + ((uint64_t)0x3fe6a09eu << 32)) - 1.0;
}

/* log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)) with s = f / (2 + f), plus k ln 2 and c_over_u (the
 * rounding error of 1 + x over u, for log1p): fdlibm's polynomial and sum, given s. */
static inline double ce_log_sum(double f, double s, double k, double c_over_u) {
    const double lg1 = 6.666666666666735130e-01, lg2 = 3.999999999940941908e-01;
    const double lg3 = 2.857142874366239149e-01, lg4 = 2.222219843214978396e-01;
    const double lg5 = 1.818357216161805012e-01, lg6 = 1.531383769920937332e-01;
    const double lg7 = 1.479819860511658591e-01;
    double hfsq = 0.5 * f * f;
    double z = s * s;
    double w = z * z;
    double t1 = w * (lg2 + w * (lg4 + w * lg6));
    double t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)));
    return s * (hfsq + (t2 + t1)) + (k * CE_LN2_LO + c_over_u) - hfsq + f + k * CE_LN2_HI;
}

/* log(u) + c / u for u = 2^k * (1 + f) reduced as in fdlibm; u positive and normal. */
static inline double ce_log_reduced(double u, double c, double k_extra) {
    double k, f = ce_log_reduce(u, &k);
    return ce_log_sum(f, f / (2.0 + f), k + k_extra, c);
}

static inline double ce_log1p(double x) {
    double u = 1.0 + x;
    /* the rounding error of 1 + x: exact either way (Sterbenz) */
    double c = u >= 2.0 ? 1.0 - (u - x) : x - (u - 1.0);
    double uu = u > 0.0 && u < CE_INF ? u : 1.0; /* keep the reduction on a normal number */
    double out = ce_log_reduced(uu, c / uu, 0.0);
    out = x == -1.0 ? -CE_INF : out;
    out = x < -1.0 ? CE_NAN : out;
    out = x == CE_INF ? CE_INF : out;
    return x == x ? out : x;
}

/* log1p(x) for 0 <= x <= 2^1000 (or NaN), as the kernels have it (log1p(exp(-|x|)), a row's sum of
 * exp less one): ce_log1p's arithmetic with one division where it has two. fdlibm's s = f / (2 + f)
 * and the correction c / u share 1 / ((2 + f) u), which cannot overflow for u = 1 + x <= 2^1000
 * (two or three more roundings in s, whose term is at most 5 % of the result, and in c / u, which is
 * below half an ulp of it). Tested within 1 ulp of mpmath (tests/test_kernel_fast_paths.py). */
static inline double ce_log1p_core(double u, double c) {
    double k, f = ce_log_reduce(u, &k);
    double two_f = 2.0 + f;
    double q = 1.0 / (two_f * u);
    return ce_log_sum(f, (f * u) * q, k, (c * two_f) * q);
}

static inline double ce_log1p_nonneg(double x) {
    double u = 1.0 + x;
    double c = u >= 2.0 ? 1.0 - (u - x) : x - (u - 1.0); /* the rounding error of 1 + x, exact (Sterbenz) */
    double out = ce_log1p_core(u, c);
    out = x == CE_INF ? CE_INF : out;
    return x == x ? out : x;
}

/* log1p on [0, 1] with fdlibm's two divisions: faster than ce_log1p_unit in the two-class loops of the AVX2
 * and portable copies and the portable binary loss (measured against each other in one process), slower with
 * AVX-512. (The AVX2 and AVX-512 binary losses read a table instead: log1p256.h, log1p512.h.) */
static inline double ce_log1p_unit_two_divisions(double x) {
    double u = 1.0 + x;
    double out = ce_log_reduced(u, (x - (u - 1.0)) / u, 0.0);
    return x == x ? out : x;
}

/* log1p(x) for x in [0, 1] (or NaN): the AVX-512 two-class rows' log1p(exp(-|d|)); 1 + x in [1, 2], whose
 * rounding error x - ((1 + x) - 1) is exact, and no other special value to select. */
static inline double ce_log1p_unit(double x) {
    double u = 1.0 + x;
    double out = ce_log1p_core(u, x - (u - 1.0));
    return x == x ? out : x;
}

static inline double ce_log(double x) {
    int tiny = x < 0x1p-1022;
    double u = tiny ? x * 0x1p54 : x; /* subnormal: scale into the normal range */
    double uu = u > 0.0 && u < CE_INF ? u : 1.0;
    double out = ce_log_reduced(uu, 0.0, tiny ? -54.0 : 0.0);
    out = x == 0.0 ? -CE_INF : out;
    out = x < 0.0 ? CE_NAN : out;
    out = x == CE_INF ? CE_INF : out;
    return x == x ? out : x;
}

#endif

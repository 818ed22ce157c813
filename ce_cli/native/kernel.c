/* ce_cli._kernel: the compiled kernels of ce-loss, with runtime CPU dispatch.
 *
 * Every kernel (kernels.h) is compiled several times in this one file: a baseline copy
 * for any CPU of the architecture and, on x86-64, copies for AVX2+FMA and AVX-512 under
 * target pragmas. The caller (ce_cli/native.py) picks a copy by index, checked against
 * what the CPU supports (cpu_supports). Never -march=native: a build made on one machine
 * runs on any other of its architecture. Arrays come in through the buffer protocol
 * (float16/32/64, any strides), so the build needs no numpy headers; the GIL is released
 * while a kernel runs, so Python threads run blocks on every core.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "buffers.h"
#include "text.h"
#include "vmath.h"

#define TILE 256
#define SMALL_C 16

/* The baseline copy, for any CPU of the architecture. */
#define CE_V(name) name##_baseline
#include "kernels.h"
#undef CE_V

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CE_X86_VARIANTS 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define CE_V(name) name##_avx2
#define CE_EXP256 1
#include "exp_avx2.h"
#include "log1p_table.h"
#include "log1p256.h"
#include "binary256.h"
#include "pairs256.h"
#include "kernels.h"
#undef CE_EXP256
#undef CE_V
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,prefer-vector-width=512")
#endif
#define CE_V(name) name##_avx512
#define CE_EXP512 1
#include "exp512.h"
#include "log1p512.h"
#include "binary512.h"
#include "kernels.h"
#undef CE_EXP512
#undef CE_V
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

static const char *const variant_names[] = {
    "baseline",
#ifdef CE_X86_VARIANTS
    "avx2",
    "avx512",
#endif
};
static const CeKernels *const variant_kernels[] = {
    &kernels_baseline,
#ifdef CE_X86_VARIANTS
    &kernels_avx2,
    &kernels_avx512,
#endif
};
#define VARIANTS ((int)(sizeof variant_names / sizeof variant_names[0]))

static int cpu_can_run(int variant) {
#ifdef CE_X86_VARIANTS
    __builtin_cpu_init();
    if (variant == 1) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (variant == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
#endif
    return variant == 0;
}

static const CeKernels *kernels_for(int variant) {
    if (variant < 0 || variant >= VARIANTS || !cpu_can_run(variant)) {
        PyErr_Format(PyExc_ValueError, "CPU variant %d is not available on this machine", variant);
        return NULL;
    }
    return variant_kernels[variant];
}

static PyObject *softmax_rows(PyObject *self, PyObject *args) {
    int variant;
    PyObject *x, *t, *m, *tz, *lse, *am, *rk;
    if (!PyArg_ParseTuple(args, "iOOOOOOO", &variant, &x, &t, &m, &tz, &lse, &am, &rk)) return NULL;
    const CeKernels *k = kernels_for(variant);
    if (!k) return NULL;
    Py_buffer views[7];
    memset(views, 0, sizeof views);
    CeRows rows;
    if (rows_from(x, &views[0], &rows, 0) < 0) return NULL;
    void *targets, *maximum, *target_z, *lse_z, *argmax, *rank;
    Py_ssize_t n = rows.count;
    if (flat_from(t, &views[1], n, 8, 0, &targets) < 0 || flat_from(m, &views[2], n, 8, 1, &maximum) < 0 ||
        flat_from(tz, &views[3], n, 8, 1, &target_z) < 0 || flat_from(lse, &views[4], n, 8, 1, &lse_z) < 0 ||
        flat_from(am, &views[5], n, 8, 1, &argmax) < 0 || flat_from(rk, &views[6], n, 8, 1, &rank) < 0) {
        release(views, 7);
        return NULL;
    }
    if (!targets || !maximum || !target_z || !lse_z || rows.classes < 1) {
        release(views, 7);
        PyErr_SetString(PyExc_ValueError, "targets, maximum, target_z and lse_z are required, and classes >= 1");
        return NULL;
    }
    Py_ssize_t outside = first_outside((const int64_t *)targets, n, rows.classes, 0, 0);
    if (outside >= 0) {
        int64_t value = ((const int64_t *)targets)[outside];
        release(views, 7);
        return target_out_of_range(value, outside, rows.classes);
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = k->softmax_rows(&rows, targets, maximum, target_z, lse_z, argmax, rank);
    Py_END_ALLOW_THREADS
    release(views, 7);
    if (status < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* Index targets, as ce_cli/weighting.py computes them (no label smoothing): per row
 *   log_prob = z[t] - lse_z, loss = -w[t] * log_prob (0 where t is the ignore index),
 * with t taken as class 0 where ignored (as the numpy path does), and the mean's
 * denominator sum w[t] over the rows that count. log_prob and maximum may be None: the kernel then
 * keeps them a piece of rows at a time on its stack (a fresh array of them costs its page faults). */
static PyObject *index_losses(PyObject *self, PyObject *args) {
    int variant;
    long long ignore_index;
    PyObject *x, *t, *weight, *losses, *log_prob, *is_max, *m, *am, *rk, *ls = Py_None;
    PyObject *px = Py_None, *pm = Py_None, *pc = Py_None;
    if (!PyArg_ParseTuple(args, "iOOLOOOOOOO|OOOO", &variant, &x, &t, &ignore_index, &weight, &losses, &log_prob,
                          &is_max, &m, &am, &rk, &ls, &px, &pm, &pc))
        return NULL;
    const CeKernels *k = kernels_for(variant);
    if (!k) return NULL;
    Py_buffer views[13];
    memset(views, 0, sizeof views);
    CeRows rows, partner_rows;
    if (rows_from(x, &views[0], &rows, 0) < 0) return NULL;
    if (px != Py_None && rows_from(px, &views[10], &partner_rows, 0) < 0) {
        release(views, 13);
        return NULL;
    }
    void *targets, *w, *out, *lp, *top, *maximum, *argmax, *rank, *lse, *partner_max, *cross;
    Py_ssize_t n = rows.count;
    if (flat_from(t, &views[1], n, 8, 0, &targets) < 0 || flat_from(weight, &views[2], rows.classes, 8, 0, &w) < 0 ||
        flat_from(losses, &views[3], n, 8, 1, &out) < 0 || flat_from(log_prob, &views[4], n, 8, 1, &lp) < 0 ||
        flat_from(is_max, &views[5], n, 1, 1, &top) < 0 || flat_from(m, &views[6], n, 8, 1, &maximum) < 0 ||
        flat_from(am, &views[7], n, 8, 1, &argmax) < 0 || flat_from(rk, &views[8], n, 8, 1, &rank) < 0 ||
        flat_from(ls, &views[9], n, 8, 1, &lse) < 0 || flat_from(pm, &views[11], n, 8, 0, &partner_max) < 0 ||
        flat_from(pc, &views[12], n, 8, 1, &cross) < 0) {
        release(views, 13);
        return NULL;
    }
    if (!targets || !out || !top || rows.classes < 1 ||
        (px != Py_None && (!partner_max || !cross))) {
        release(views, 13);
        PyErr_SetString(PyExc_ValueError,
                        "index_losses: the losses and is_max are required, and a partner needs its "
                        "maxima and the cross ratios' array");
        return NULL;
    }
    const int64_t *given = targets;
    CePartner partner = {&partner_rows, partner_max, cross};
    CeIndexStats stats;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = k->index_losses(&rows, given, (int64_t)ignore_index, w, out, lp, top, maximum, lse, argmax, rank,
                             px == Py_None ? NULL : &partner, &stats);
    Py_END_ALLOW_THREADS
    int64_t refused = stats.outside >= 0 ? given[stats.outside] : 0;
    release(views, 13);
    if (status < 0) return PyErr_NoMemory();
    if (stats.outside >= 0) return target_out_of_range(refused, stats.outside, rows.classes);
    /* the smallest and largest row maximum (NaN where a maximum is NaN) and the non-finite losses: the row
     * checks; and whether the partner's cross ratios were made */
    return Py_BuildValue("dddLO", stats.denominator, stats.lowest, stats.highest, (long long)stats.non_finite,
                         stats.crossed ? Py_True : Py_False);
}

static PyObject *row_sums(PyObject *self, PyObject *args) {
    int variant, mode;
    double low, high;
    PyObject *x, *m, *lse, *coefficients, *weight, *term, *coefficient;
    if (!PyArg_ParseTuple(args, "iOOOOOiddOO", &variant, &x, &m, &lse, &coefficients, &weight, &mode, &low, &high,
                          &term, &coefficient))
        return NULL;
    const CeKernels *k = kernels_for(variant);
    if (!k) return NULL;
    Py_buffer views[7];
    memset(views, 0, sizeof views);
    CeRows rows, coefficient_rows;
    if (rows_from(x, &views[0], &rows, 0) < 0) return NULL;
    if (coefficients != Py_None && rows_from(coefficients, &views[1], &coefficient_rows, 0) < 0) {
        release(views, 7);
        return NULL;
    }
    void *maximum, *lse_z, *w, *term_sum, *coefficient_sum;
    Py_ssize_t n = rows.count;
    if (flat_from(m, &views[2], n, 8, 0, &maximum) < 0 || flat_from(lse, &views[3], n, 8, 0, &lse_z) < 0 ||
        flat_from(weight, &views[4], rows.classes, 8, 0, &w) < 0 ||
        flat_from(term, &views[5], n, 8, 1, &term_sum) < 0 ||
        flat_from(coefficient, &views[6], n, 8, 1, &coefficient_sum) < 0) {
        release(views, 7);
        return NULL;
    }
    int shapes_ok = coefficients == Py_None ||
                    (coefficient_rows.count == n && coefficient_rows.classes == rows.classes &&
                     coefficient_rows.format == CE_F64);
    if (!maximum || !term_sum || !coefficient_sum || !shapes_ok || mode < CE_TERM_SHIFTED || mode > CE_TERM_LOG ||
        (mode == CE_TERM_TWO_STEP && !lse_z)) {
        release(views, 7);
        PyErr_SetString(PyExc_ValueError, "row_sums: inconsistent arguments");
        return NULL;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = k->row_sums(&rows, maximum, lse_z, coefficients == Py_None ? NULL : &coefficient_rows, w, mode, low, high,
                         term_sum, coefficient_sum);
    Py_END_ALLOW_THREADS
    release(views, 7);
    if (status < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *binary(PyObject *self, PyObject *args) {
    int variant, probabilities;
    double low, high;
    PyObject *x, *t, *pw, *w, *out, *ok;
    int check_targets = 0;
    if (!PyArg_ParseTuple(args, "iiOOOOddOO|p", &variant, &probabilities, &x, &t, &pw, &w, &low, &high, &out, &ok,
                          &check_targets))
        return NULL;
    const CeKernels *k = kernels_for(variant);
    if (!k) return NULL;
    Py_buffer views[6];
    memset(views, 0, sizeof views);
    CeRows rows, targets, pos_weights, weights;
    if (rows_from(x, &views[0], &rows, 0) < 0) return NULL;
    if (rows_from(t, &views[3], &targets, 0) < 0 || (pw != Py_None && rows_from(pw, &views[1], &pos_weights, 0) < 0) ||
        (w != Py_None && rows_from(w, &views[2], &weights, 0) < 0)) {
        release(views, 6);
        return NULL;
    }
    void *losses, *correct;
    Py_ssize_t n = rows.count;
    if (flat_from(out, &views[4], n, 8, 1, &losses) < 0 ||
        flat_from(ok, &views[5], n, 1, 1, &correct) < 0) {
        release(views, 6);
        return NULL;
    }
    int pw_ok = pw == Py_None || (pos_weights.count == n && pos_weights.classes == 1 && pos_weights.format == CE_F64);
    int w_ok = w == Py_None || (weights.count == n && weights.classes == 1 && weights.format == CE_F64);
    if (rows.classes != 1 || targets.count != n || targets.classes != 1 || !losses || !correct || !pw_ok || !w_ok) {
        release(views, 6);
        PyErr_SetString(PyExc_ValueError, "binary: expected 1-D x, t, pos_weight, weight, out and correct of one length");
        return NULL;
    }
    CeBinary job = {&rows, &targets, pw == Py_None ? NULL : &pos_weights, w == Py_None ? NULL : &weights, low, high,
                    losses, correct, probabilities, check_targets};
    CeBinaryStats stats;
    Py_BEGIN_ALLOW_THREADS
    k->binary(&job, &stats);
    Py_END_ALLOW_THREADS
    release(views, 6);
    return Py_BuildValue("nLLL", stats.special, (long long)stats.not_in_unit, (long long)stats.non_finite,
                         (long long)stats.bad_targets);
}

static PyObject *map_function(PyObject *self, PyObject *args) {
    int variant, which;
    PyObject *x, *out;
    if (!PyArg_ParseTuple(args, "iiOO", &variant, &which, &x, &out)) return NULL;
    const CeKernels *k = kernels_for(variant);
    if (!k) return NULL;
    Py_buffer views[2];
    memset(views, 0, sizeof views);
    if (PyObject_GetBuffer(x, &views[0], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    Py_ssize_t n = views[0].len / 8;
    void *result;
    if (views[0].itemsize != 8 || strcmp(views[0].format, "d") != 0 || flat_from(out, &views[1], n, 8, 1, &result) < 0 ||
        which < 0 || which > 6) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "map: expected contiguous float64 arrays, which in 0..6");
        release(views, 2);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    k->map(which, n, views[0].buf, result);
    Py_END_ALLOW_THREADS
    release(views, 2);
    Py_RETURN_NONE;
}

static PyObject *kl_rows(PyObject *self, PyObject *args) {
    int variant;
    double temperature;
    PyObject *base, *new_rows, *out;
    if (!PyArg_ParseTuple(args, "iOOdO", &variant, &base, &new_rows, &temperature, &out)) return NULL;
    const CeKernels *k = kernels_for(variant);
    if (!k) return NULL;
    Py_buffer views[3];
    memset(views, 0, sizeof views);
    CeRows b, x;
    if (rows_from(base, &views[0], &b, 0) < 0) return NULL;
    if (rows_from(new_rows, &views[1], &x, 0) < 0) {
        release(views, 3);
        return NULL;
    }
    void *result;
    if (b.count != x.count || b.classes != x.classes || flat_from(out, &views[2], b.count, 8, 1, &result) < 0 ||
        !result) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "kl_rows: expected two (M, C) row sets and (M,) out");
        release(views, 3);
        return NULL;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = k->kl_rows(&b, &x, temperature, result);
    Py_END_ALLOW_THREADS
    release(views, 3);
    if (status < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *kl_known(PyObject *self, PyObject *args) {
    int variant;
    PyObject *base, *new_rows, *mb, *lb, *mx, *lx, *out;
    if (!PyArg_ParseTuple(args, "iOOOOOOO", &variant, &base, &new_rows, &mb, &lb, &mx, &lx, &out)) return NULL;
    const CeKernels *k = kernels_for(variant);
    if (!k) return NULL;
    Py_buffer views[7];
    memset(views, 0, sizeof views);
    CeRows b, x;
    if (rows_from(base, &views[0], &b, 0) < 0) return NULL;
    if (rows_from(new_rows, &views[1], &x, 0) < 0) {
        release(views, 7);
        return NULL;
    }
    void *max_b, *lse_b, *max_x, *lse_x, *result;
    Py_ssize_t n = b.count;
    if (b.count != x.count || b.classes != x.classes || flat_from(mb, &views[2], n, 8, 0, &max_b) < 0 ||
        flat_from(lb, &views[3], n, 8, 0, &lse_b) < 0 || flat_from(mx, &views[4], n, 8, 0, &max_x) < 0 ||
        flat_from(lx, &views[5], n, 8, 0, &lse_x) < 0 || flat_from(out, &views[6], n, 8, 1, &result) < 0 ||
        !max_b || !lse_b || !max_x || !lse_x || !result) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "kl_known: expected two (M, C) row sets and (M,) maxima, lse and out");
        release(views, 7);
        return NULL;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = k->kl_known(&b, &x, max_b, lse_b, max_x, lse_x, result);
    Py_END_ALLOW_THREADS
    release(views, 7);
    if (status < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *poisson_sums(PyObject *self, PyObject *args) {
    int variant;
    long long first;
    PyObject *lo, *hi, *a, *w, *num, *den;
    if (!PyArg_ParseTuple(args, "iOOOOLOO", &variant, &lo, &hi, &a, &w, &first, &num, &den)) return NULL;
    const CeKernels *k = kernels_for(variant);
    if (!k) return NULL;
    Py_buffer views[6];
    memset(views, 0, sizeof views);
    if (PyObject_GetBuffer(lo, &views[0], PyBUF_C_CONTIGUOUS) < 0) return NULL;
    Py_ssize_t n = views[0].len / 4;
    if (PyObject_GetBuffer(num, &views[4], PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        release(views, 6);
        return NULL;
    }
    Py_ssize_t count = views[4].len / 8;
    void *p_hi, *p_a, *p_w, *p_den;
    if (views[0].itemsize != 4 || views[4].itemsize != 8 || first < 0 || flat_from(hi, &views[1], n, 4, 0, &p_hi) < 0 ||
        flat_from(a, &views[2], n, 8, 0, &p_a) < 0 || flat_from(w, &views[3], n, 8, 0, &p_w) < 0 ||
        flat_from(den, &views[5], count, 8, 1, &p_den) < 0 || !p_hi || !p_a || !p_w || !p_den) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "poisson_sums: expected uint32 keys, float64 values and sums");
        release(views, 6);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    k->poisson_sums(views[0].buf, p_hi, p_a, p_w, n, (int64_t)first, count, views[4].buf, p_den);
    Py_END_ALLOW_THREADS
    release(views, 6);
    Py_RETURN_NONE;
}

static PyObject *count_lines(PyObject *self, PyObject *args) {
    Py_buffer data;
    int delimiter;
    if (!PyArg_ParseTuple(args, "y*i", &data, &delimiter)) return NULL;
    Py_ssize_t rows, newlines = 0;
    Py_BEGIN_ALLOW_THREADS
    rows = ce_count_lines(data.buf, (const char *)data.buf + data.len, delimiter, &newlines);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return Py_BuildValue("nn", rows, newlines);
}

static PyObject *parse_lines(PyObject *self, PyObject *args) {
    Py_buffer data, keep;
    int delimiter;
    PyObject *out;
    if (!PyArg_ParseTuple(args, "y*iy*O", &data, &delimiter, &keep, &out)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(out, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&keep);
        return NULL;
    }
    Py_ssize_t kept = 0, rows = -1;
    for (Py_ssize_t i = 0; i < keep.len; i++) kept += ((const char *)keep.buf)[i] != 0;
    if (view.ndim == 2 && view.itemsize == 8 && view.shape[1] == kept && kept > 0) {
        Py_BEGIN_ALLOW_THREADS
        rows = ce_parse_lines(data.buf, (const char *)data.buf + data.len, delimiter, keep.buf, keep.len, kept,
                              view.buf, view.shape[0]);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&view);
    PyBuffer_Release(&data);
    PyBuffer_Release(&keep);
    return PyLong_FromSsize_t(rows);
}

static PyObject *variants(PyObject *self, PyObject *unused) {
    PyObject *names = PyTuple_New(VARIANTS);
    if (!names) return NULL;
    for (int i = 0; i < VARIANTS; i++) PyTuple_SET_ITEM(names, i, PyUnicode_FromString(variant_names[i]));
    return names;
}

static PyObject *cpu_supports(PyObject *self, PyObject *arg) {
    long variant = PyLong_AsLong(arg);
    if (variant == -1 && PyErr_Occurred()) return NULL;
    return PyBool_FromLong(variant >= 0 && variant < VARIANTS && cpu_can_run((int)variant));
}

static PyMethodDef methods[] = {
    {"softmax_rows", softmax_rows, METH_VARARGS,
     "softmax_rows(variant, x, targets, maximum, target_z, lse_z, argmax, ranks): fill the per-row outputs."},
    {"index_losses", index_losses, METH_VARARGS,
     "index_losses(variant, x, targets, ignore_index, weight, losses, log_prob, is_max, maximum, argmax, ranks[, lse"
     "[, partner, partner_max, cross_ratio]]) -> (denominator, lowest, highest, non_finite, crossed); with a partner "
     "(ce-loss diff's other model, rows of x's shape), each row's cross ratio where crossed (kernels_rows.h): the losses "
     "of index targets without label smoothing, the mean's denominator, the lowest and highest row maximum and the "
     "non-finite losses. log_prob, maximum, argmax, ranks and lse may be None (not kept)."},
    {"row_sums", row_sums, METH_VARARGS,
     "row_sums(variant, x, maximum, lse_z, coefficients, weight, mode, low, high, term_sum, coefficient_sum)."},
    {"binary", binary, METH_VARARGS,
     "binary(variant, probabilities, x, t, pos_weight, weight, low, high, out, correct, check_targets=False) -> "
     "(special, not_in_unit, non_finite, bad_targets): special is the number of infinite logits, or the first "
     "probability outside [0, 1] (-1: none); bad_targets the targets outside [0, 1] or NaN (0 unless "
     "check_targets)."},
    {"map", map_function, METH_VARARGS, "map(variant, which, x, out): exp (0), log1p (1), log (2), log1p on [0, 1] (3), exp(x) 2^512 (4) or log1p on [0, 2^1000] (5), log1p on [0, 1] as the binary loss has it (6) "
     "elementwise."},
    {"kl_rows", kl_rows, METH_VARARGS,
     "kl_rows(variant, base, new, temperature, out): KL(softmax(base / T) || softmax(new / T)) per row into out "
     "(ce_cli/paired/kl.py)."},
    {"kl_known", kl_known, METH_VARARGS,
     "kl_known(variant, base, new, max_base, lse_base, max_new, lse_new, out): KL(softmax(base) || softmax(new)) per "
     "row from each row's maximum and log-sum-exp (index_losses' maximum and lse), one exp per class."},
    {"poisson_sums", poisson_sums, METH_VARARGS,
     "poisson_sums(variant, lo, hi, a, w, first, num, den): add the Poisson bootstrap's sums of resamples "
     "first .. first + len(num) - 1 into num and den (ce_cli/paired/bootstrap.py)."},
    {"count_lines", count_lines, METH_VARARGS,
     "count_lines(data, delimiter) -> (the lines numpy's parser reads as rows (-1: a CR alone ends a line), "
     "the line ends)."},
    {"parse_lines", parse_lines, METH_VARARGS,
     "parse_lines(data, delimiter, keep, out) -> rows parsed into out (-1: not the simple case, ask numpy)."},
    {"variants", variants, METH_NOARGS, "The CPU variants compiled into this build, by index."},
    {"cpu_supports", cpu_supports, METH_O, "Whether this CPU can run the variant of that index."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernel", "ce-loss's compiled kernels.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }

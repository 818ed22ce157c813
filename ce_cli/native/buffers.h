/* What the kernels read and write: rows of float16/32/64 at any strides (CeRows), taken from
 * Python objects through the buffer protocol, and loaded into float64 for the loops; the
 * argument blocks of the binary kernel; the table of one CPU variant's kernels. */
#ifndef CE_BUFFERS_H
#define CE_BUFFERS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "vmath.h"

enum { CE_F64, CE_F32, CE_F16 };
enum { CE_TERM_SHIFTED, CE_TERM_TWO_STEP, CE_TERM_LOG };

typedef struct {
    const char *data;
    Py_ssize_t count, classes;          /* rows and classes (a 1-D array: count elements, classes 1) */
    Py_ssize_t row_stride, class_stride; /* bytes */
    int format;
} CeRows;

typedef struct {
    const CeRows *x, *t, *pos_weight, *weight; /* pos_weight and weight: NULL when not given */
    double low, high; /* probabilities are clipped into [low, high] */
    double *out;
    unsigned char *correct;
    int probabilities;
    int check_targets; /* count the targets outside [0, 1] (CeBinaryStats.bad_targets); else 0 */
} CeBinary;

typedef struct {
    Py_ssize_t special; /* logits: how many are infinite; probabilities: the first outside [0, 1], or -1 */
    int64_t not_in_unit, non_finite;
    int64_t bad_targets; /* targets outside [0, 1], or NaN */
} CeBinaryStats;

typedef struct {
    double denominator, lowest, highest; /* the mean's denominator; the smallest and largest row maximum */
    int64_t non_finite;                  /* losses that are not finite */
    Py_ssize_t outside;                  /* the first row whose target is out of range (-1: none) */
    int crossed;                         /* whether the partner's cross ratios were made (CePartner) */
} CeIndexStats;

/* ce-loss diff: the other model's rows beside the ones index_losses evaluates, their maxima, and where
 * each row's cross ratio goes (kernels_rows.h, softmax_rows_cross). */
typedef struct {
    const CeRows *rows;
    const double *maximum;
    double *cross_ratio;
} CePartner;

typedef struct {
    int (*index_losses)(const CeRows *, const int64_t *, int64_t, const double *, double *, double *,
                        unsigned char *, double *, double *, int64_t *, int64_t *, const CePartner *, CeIndexStats *);
    int (*softmax_rows)(const CeRows *, const int64_t *, double *, double *, double *, int64_t *, int64_t *);
    int (*row_sums)(const CeRows *, const double *, const double *, const CeRows *, const double *, int, double,
                    double, double *, double *);
    void (*binary)(const CeBinary *, CeBinaryStats *);
    void (*map)(int, Py_ssize_t, const double *, double *);
    void (*poisson_sums)(const uint32_t *, const uint32_t *, const double *, const double *, Py_ssize_t, int64_t,
                         Py_ssize_t, double *, double *);
    int (*kl_rows)(const CeRows *, const CeRows *, double, double *);
    int (*kl_known)(const CeRows *, const CeRows *, const double *, const double *, const double *, const double *,
                    double *);
} CeKernels;

/* round(2^16 P(X <= k)) for X ~ Poisson(1), k = 0..7, as ce_cli/paired/bootstrap.py has them. */
static const uint32_t ce_poisson_thresholds[8] = {24109u, 48219u, 60273u, 64292u, 65296u, 65497u, 65531u, 65535u};

static inline double ce_half(uint16_t h) {
    uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double value;
    if (exponent == 0) {
        value = (double)mantissa * 0x1p-24;
    } else if (exponent == 31) {
        value = mantissa ? CE_NAN : CE_INF;
    } else {
        value = (double)(1024 + mantissa) * ce_double((uint64_t)(exponent - 25 + 1023) << 52);
    }
    return (h & 0x8000) ? -value : value;
}

/* n values at p, stride bytes apart, as float64; one loop per format, so that each is simple. */
static inline void ce_load(const char *p, Py_ssize_t stride, int format, Py_ssize_t n, double *out) {
    if (format == CE_F64) {
        if (stride == sizeof(double)) {
            memcpy(out, p, sizeof(double) * (size_t)n);
        } else {
            for (Py_ssize_t j = 0; j < n; j++) memcpy(out + j, p + j * stride, sizeof(double));
        }
    } else if (format == CE_F32 && stride == sizeof(float)) {
        const float *f = (const float *)(const void *)p;
        for (Py_ssize_t j = 0; j < n; j++) out[j] = (double)f[j];
    } else if (format == CE_F32) {
        for (Py_ssize_t j = 0; j < n; j++) {
            float v;
            memcpy(&v, p + j * stride, sizeof v);
            out[j] = (double)v;
        }
    } else {
        for (Py_ssize_t j = 0; j < n; j++) {
            uint16_t h;
            memcpy(&h, p + j * stride, sizeof h);
            out[j] = ce_half(h);
        }
    }
}

/* A float array of 1 or 2 dimensions as rows; the view is released by the caller. */
static int rows_from(PyObject *object, Py_buffer *view, CeRows *rows, int writable) {
    if (PyObject_GetBuffer(object, view, PyBUF_RECORDS_RO | (writable ? PyBUF_WRITABLE : 0)) < 0) return -1;
    const char *f = view->format ? view->format : "B";
    if (*f == '=' || *f == '<' || *f == '@') f++;
    int format = -1;
    if (f[0] && !f[1]) format = f[0] == 'd' ? CE_F64 : f[0] == 'f' ? CE_F32 : f[0] == 'e' ? CE_F16 : -1;
    if (format < 0 || view->ndim < 1 || view->ndim > 2) {
        PyErr_Format(PyExc_TypeError, "expected a 1-D or 2-D float16/32/64 array, got format %s and %d dimensions",
                     view->format ? view->format : "B", view->ndim);
        PyBuffer_Release(view);
        return -1;
    }
    rows->data = view->buf;
    rows->format = format;
    rows->count = view->shape[0];
    rows->row_stride = view->strides[0];
    rows->classes = view->ndim == 2 ? view->shape[1] : 1;
    rows->class_stride = view->ndim == 2 ? view->strides[1] : view->itemsize;
    return 0;
}

/* A C-contiguous array of n items of the given size (float64 or int64), or NULL for None. */
static int flat_from(PyObject *object, Py_buffer *view, Py_ssize_t n, Py_ssize_t itemsize, int writable, void **out) {
    *out = NULL;
    view->obj = NULL;
    if (object == Py_None) return 0;
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->itemsize != itemsize || view->len != n * itemsize) {
        PyErr_Format(PyExc_ValueError, "expected %zd contiguous items of %zd bytes", n, itemsize);
        PyBuffer_Release(view);
        view->obj = NULL;
        return -1;
    }
    *out = view->buf;
    return 0;
}

static void release(Py_buffer *views, int n) {
    for (int i = 0; i < n; i++) {
        if (views[i].obj) PyBuffer_Release(&views[i]);
    }
}

/* The first row whose target is outside [0, classes) (and, where ``ignoring``, not the ignore index),
 * or -1: every index the kernel dereferences (targets, the weight at a target, ranks) is checked here,
 * whatever the path into the kernel, so that no row is ever read past its end. */
static Py_ssize_t first_outside(const int64_t *targets, Py_ssize_t n, Py_ssize_t classes, int ignoring,
                                long long ignore_index) {
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t t = targets[i];
        if ((t < 0 || t >= classes) && !(ignoring && t == ignore_index)) return i;
    }
    return -1;
}

static PyObject *target_out_of_range(int64_t value, Py_ssize_t row, Py_ssize_t classes) {
    PyErr_Format(PyExc_IndexError, "target %lld at row %zd is out of range for %zd classes", (long long)value, row,
                 classes);
    return NULL;
}

#endif

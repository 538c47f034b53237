/* gradcalc._floattext: Python's repr of many floats at once, written straight into a CSV's lines.

   Writing a big points file, the time goes into the text of its numbers: repr costs ~150 ns a
   float from Python, pyarrow's cast about as much. Here each float's shortest round-trip digits
   come from the Schubfach method (R. Giulietti, "The Schubfach way to render doubles", 2020),
   written for this project from the paper's description: the float's rounding interval scaled
   by 10^-k in 128-bit integer arithmetic (a 126-bit approximation g of each power of ten, made
   exactly by Python's integers in floattext.py and handed over by `init`), rounded to odd so
   that every comparison with the interval's ends comes out as the exact one would. Of the
   decimals in the interval it picks the one with fewest digits, and of those the closest (the
   even one on a tie): the digits repr gives. They are then laid out as repr lays them out
   (fixed notation for 1e-4 <= |x| < 1e16, '.0' on an integer, else d.ddde+XX).

   tests/test_floattext.py holds the text to repr's, string for string, on every binary
   exponent, the interval edge cases and millions of random floats. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

#define K_MIN (-324) /* the powers of ten k = floor(log10(2^q)) over every float */
#define K_MAX 292
#define Q_MIN (-1074)
#define C_MIN ((uint64_t)1 << 52)
#define MASK63 (((uint64_t)1 << 63) - 1)
#define MAX_TEXT 24 /* -2.2250738585072014e-308 */

/* G[2(k - K_MIN)], G[2(k - K_MIN) + 1]: the high and low (63-bit) halves of
   g = floor(10^-k 2^(125 - floor(log2 10^-k))) + 1, in [2^125, 2^126]. */
static uint64_t G[2 * (K_MAX - K_MIN + 1)];
static int READY = 0;

/* floor(q log10 2), floor(log10(3/4 2^q)), floor(e log2 10): exact over the ranges used here
   (tests/test_floattext.py checks them against Python's integers). */
static inline int flog10pow2(int q) { return (int)(((int64_t)q * 661971961083LL) >> 41); }
static inline int flog10threequarterspow2(int q) {
    return (int)(((int64_t)q * 661971961083LL - 274743187321LL) >> 41);
}
static inline int flog2pow10(int e) { return (int)(((int64_t)e * 913124641741LL) >> 38); }

/* floor(g cp / 2^127), its last bit set if the division left a remainder (rounding to odd):
   the remainder's bits below 2^64 are not looked at, as g's own error (g is up to 1 above the
   scaled power) is below them; an exact scaled value stays exact, so a tie is seen as one. */
static inline uint64_t rop(uint64_t g1, uint64_t g0, uint64_t cp) {
    u128 lo = (u128)g0 * cp, hi = (u128)g1 * cp; /* g cp = 2^63 hi + lo */
    u128 w = (hi >> 1) + (lo >> 64);            /* about g cp / 2^64 */
    return (uint64_t)(w >> 63) | (((uint64_t)w & MASK63) != 0);
}

/* The shortest decimal f 10^e in the rounding interval of c 2^q (closest to it, even on a tie). */
static void to_decimal(int q, uint64_t c, uint64_t *f, int *e) {
    uint64_t out = c & 1; /* an odd c's interval leaves its ends out (reading rounds to even) */
    uint64_t cb = c << 2, cbr = cb + 2, cbl;
    int k;
    if (c != C_MIN || q == Q_MIN) {
        cbl = cb - 2;
        k = flog10pow2(q);
    } else { /* a power of two: the float below is half as far as the one above */
        cbl = cb - 1;
        k = flog10threequarterspow2(q);
    }
    int h = q + flog2pow10(-k) + 2;
    uint64_t g1 = G[2 * (k - K_MIN)], g0 = G[2 * (k - K_MIN) + 1];
    uint64_t vb = rop(g1, g0, cb << h), vbl = rop(g1, g0, cbl << h), vbr = rop(g1, g0, cbr << h);
    uint64_t s = vb >> 2; /* floor(c 2^q 10^-k) */
    *e = k;
    if (s >= 10) { /* one digit fewer: a multiple of 10 (at most one lies in the interval) */
        uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
        int upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
        if (upin != wpin) {
            *f = upin ? sp10 : tp10;
            return;
        }
    }
    uint64_t t = s + 1;
    int uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
    if (uin != win) {
        *f = uin ? s : t;
        return;
    }
    int64_t cmp = (int64_t)(vb - ((s + t) << 1)); /* both in: the closer, or the even one */
    *f = cmp < 0 || (cmp == 0 && (s & 1) == 0) ? s : t;
}

static const char DIGIT_PAIRS[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* f's decimal digits at p (f < 10^17, no leading zeros); their count. */
static int digits(uint64_t f, char *p) {
    char buf[20];
    int n = 20;
    while (f >= 100) {
        uint64_t r = f % 100;
        f /= 100;
        n -= 2;
        memcpy(buf + n, DIGIT_PAIRS + 2 * r, 2);
    }
    if (f >= 10) {
        n -= 2;
        memcpy(buf + n, DIGIT_PAIRS + 2 * f, 2);
    } else {
        buf[--n] = (char)('0' + f);
    }
    memcpy(p, buf + n, 20 - n);
    return 20 - n;
}

/* repr(x) at p (at most MAX_TEXT bytes); the end of the text. */
static char *write_repr(char *p, double x) {
    uint64_t bits;
    memcpy(&bits, &x, 8);
    uint64_t t = bits & (C_MIN - 1);
    int bq = (int)(bits >> 52) & 0x7FF;
    if (bq == 0x7FF) {
        if (t) return memcpy(p, "nan", 3), p + 3;
        if (bits >> 63) *p++ = '-';
        return memcpy(p, "inf", 3), p + 3;
    }
    if (bits >> 63) *p++ = '-';
    if (bq == 0 && t == 0) return memcpy(p, "0.0", 3), p + 3;
    uint64_t f;
    int e;
    if (bq) to_decimal(bq - 1075, t | C_MIN, &f, &e);
    else to_decimal(Q_MIN, t, &f, &e);
    while (f % 10 == 0) f /= 10, e++;
    char d[20];
    int n = digits(f, d);
    int point = n + e; /* x = 0.d1d2...dn 10^point */
    if (point <= -4 || point > 16) {
        *p++ = d[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, d + 1, n - 1);
            p += n - 1;
        }
        int x10 = point - 1;
        *p++ = 'e';
        *p++ = x10 < 0 ? '-' : '+';
        if (x10 < 0) x10 = -x10;
        if (x10 >= 100) *p++ = (char)('0' + x10 / 100), x10 %= 100;
        memcpy(p, DIGIT_PAIRS + 2 * x10, 2);
        return p + 2;
    }
    if (point <= 0) {
        *p++ = '0';
        *p++ = '.';
        memset(p, '0', -point);
        p += -point;
        memcpy(p, d, n);
        return p + n;
    }
    if (point < n) {
        memcpy(p, d, point);
        p += point;
        *p++ = '.';
        memcpy(p, d + point, n - point);
        return p + n - point;
    }
    memcpy(p, d, n);
    p += n;
    memset(p, '0', point - n);
    p += point - n;
    return memcpy(p, ".0", 2), p + 2;
}

/* ---- the Python functions ------------------------------------------------------------------ */

typedef struct {
    Py_ssize_t row;
    PyObject *bytes; /* a reference held for the call (the GIL is released while it is copied) */
} Line;

static int by_row(const void *a, const void *b) {
    Py_ssize_t x = ((const Line *)a)->row, y = ((const Line *)b)->row;
    return (x > y) - (x < y);
}

static int int64s(Py_buffer *b, const char *what) {
    if (b->itemsize != 8 || (b->format && strcmp(b->format, "q") && strcmp(b->format, "l"))) {
        PyErr_Format(PyExc_TypeError, "%s: an int64 array was expected", what);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(rows_doc,
"rows(data, starts, ends, numbers, sep, tail, lines) -> bytes\n\n"
"Row k's text: data[starts[k]:ends[k]], then sep + repr(x[k]) for each float64 array x of\n"
"``numbers``, then ``tail``; or, where ``lines`` (a dict) has k, its bytes instead.");

static PyObject *ft_rows(PyObject *self, PyObject *args) {
    Py_buffer data = {0}, starts = {0}, ends = {0}, sep = {0}, tail = {0};
    PyObject *numbers, *lines, *result = NULL, *seq = NULL;
    Py_buffer *cols = NULL;
    Line *given = NULL;
    Py_ssize_t ncols = 0, ngiven = 0, got = 0;
    if (!READY) {
        PyErr_SetString(PyExc_RuntimeError, "_floattext.init has not been called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*y*y*Oy*y*O!", &data, &starts, &ends, &numbers, &sep, &tail,
                          &PyDict_Type, &lines))
        return NULL;
    if (int64s(&starts, "starts") || int64s(&ends, "ends")) goto done;
    Py_ssize_t n = starts.len / 8;
    if (ends.len != starts.len) {
        PyErr_SetString(PyExc_ValueError, "starts and ends differ in length");
        goto done;
    }
    const int64_t *st = starts.buf, *en = ends.buf;
    size_t size = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (st[k] < 0 || st[k] > en[k] || en[k] > data.len) {
            PyErr_Format(PyExc_ValueError, "row %zd's span is outside the data", k);
            goto done;
        }
        size += (size_t)(en[k] - st[k]);
    }
    seq = PySequence_Fast(numbers, "numbers must be a sequence");
    if (seq == NULL) goto done;
    ncols = PySequence_Fast_GET_SIZE(seq);
    cols = PyMem_Calloc(ncols ? ncols : 1, sizeof(Py_buffer));
    if (cols == NULL) { PyErr_NoMemory(); goto done; }
    for (; got < ncols; got++) {
        Py_buffer *b = &cols[got];
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, got), b,
                               PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
            goto done;
        if (b->itemsize != 8 || (b->format && strcmp(b->format, "d")) || b->len != n * 8) {
            got++;
            PyErr_SetString(PyExc_TypeError, "numbers: float64 arrays as long as the rows");
            goto done;
        }
    }
    size += (size_t)n * ((size_t)ncols * (sep.len + MAX_TEXT) + tail.len);
    ngiven = PyDict_GET_SIZE(lines);
    given = PyMem_Calloc(ngiven ? ngiven : 1, sizeof(Line));
    if (given == NULL) { PyErr_NoMemory(); goto done; }
    {
        Py_ssize_t pos = 0, i = 0;
        PyObject *key, *value;
        while (PyDict_Next(lines, &pos, &key, &value)) {
            Py_ssize_t row = PyLong_AsSsize_t(key);
            if (row == -1 && PyErr_Occurred()) goto done;
            if (row < 0 || row >= n || !PyBytes_Check(value)) {
                PyErr_SetString(PyExc_ValueError, "lines: row numbers of the rows to bytes");
                goto done;
            }
            Py_INCREF(value);
            given[i].row = row;
            given[i].bytes = value;
            size += (size_t)PyBytes_GET_SIZE(value);
            i++;
        }
        qsort(given, ngiven, sizeof(Line), by_row);
    }
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (result == NULL) goto done;
    char *p = PyBytes_AS_STRING(result);
    const char *src = data.buf, *sp = sep.buf, *tl = tail.buf;
    Py_ssize_t sl = sep.len, tn = tail.len;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t next = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (next < ngiven && given[next].row == k) {
            Py_ssize_t m = PyBytes_GET_SIZE(given[next].bytes);
            memcpy(p, PyBytes_AS_STRING(given[next].bytes), m);
            p += m;
            next++;
            continue;
        }
        memcpy(p, src + st[k], en[k] - st[k]);
        p += en[k] - st[k];
        for (Py_ssize_t j = 0; j < ncols; j++) {
            memcpy(p, sp, sl);
            p = write_repr(p + sl, ((const double *)cols[j].buf)[k]);
        }
        memcpy(p, tl, tn);
        p += tn;
    }
    Py_END_ALLOW_THREADS
    _PyBytes_Resize(&result, p - PyBytes_AS_STRING(result));
done:
    for (Py_ssize_t j = 0; j < got; j++) PyBuffer_Release(&cols[j]);
    PyMem_Free(cols);
    for (Py_ssize_t i = 0; given != NULL && i < ngiven; i++) Py_XDECREF(given[i].bytes);
    PyMem_Free(given);
    Py_XDECREF(seq);
    PyBuffer_Release(&data);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&sep);
    PyBuffer_Release(&tail);
    return result;
}

PyDoc_STRVAR(init_doc,
"init(table) -> None\n\n"
"The powers of ten, as bytes: for k = -324 .. 292, g's high and low 63-bit halves as native\n"
"uint64 (floattext.table makes them).");

static PyObject *ft_init(PyObject *self, PyObject *args) {
    Py_buffer table;
    if (!PyArg_ParseTuple(args, "y*", &table)) return NULL;
    if (table.len != (Py_ssize_t)sizeof(G)) {
        PyBuffer_Release(&table);
        return PyErr_Format(PyExc_ValueError, "the table must be %zd bytes", sizeof(G));
    }
    memcpy(G, table.buf, sizeof(G));
    READY = 1;
    PyBuffer_Release(&table);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"init", ft_init, METH_VARARGS, init_doc},
    {"rows", ft_rows, METH_VARARGS, rows_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "gradcalc._floattext",
    "repr's text of many floats, written into CSV lines (see gradcalc/floattext.py).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__floattext(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "K_MIN", K_MIN) < 0 ||
        PyModule_AddIntConstant(m, "K_MAX", K_MAX) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

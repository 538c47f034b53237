/* gradcalc._floattext: floats from and to text in bulk, as Python's float() and repr make them.

   `parse` reads a chunk of CSV rows' numbers; `rows` writes the output rows with each number's
   repr. Both are twins of Python code they must agree with to the bit and the character, and
   tests/test_floattext.py holds them to it.

   Reading. A cell is a number only in float()'s grammar ([sign] digits [. digits] [e [sign]
   digits], at least one digit before the exponent); a chunk with any other cell is left to the
   caller, which reads it cell by cell. The float is the correctly rounded one, as float() makes
   it: exactly computed where the digits (at most 2^53) and the power of ten (at most 10^22) are
   both exact doubles (one division or multiplication rounds once); else by the Eisel-Lemire
   method (D. Lemire, "Number Parsing at a Gigabyte per Second", 2021, written here from the
   paper's description): the digits times a 128-bit approximation of the power of ten (rounded
   down, made exactly by Python's integers in floattext.py), whose error is bounded, so where the
   product's bits cannot decide the rounding (or the float would be subnormal, infinite, or the
   digits more than 19) the cell is read by Python's own float parser instead.

   Writing. Writing a big points file, the time goes into the text of its numbers: repr costs ~150 ns a
   float from Python, pyarrow's cast about as much. Here each float's shortest round-trip digits
   come from the Schubfach method (R. Giulietti, "The Schubfach way to render doubles", 2020),
   written for this project from the paper's description: the float's rounding interval scaled
   by 10^-k in 128-bit integer arithmetic (a 126-bit approximation g of each power of ten, made
   exactly by Python's integers in floattext.py and handed over by `init`), rounded to odd so
   that every comparison with the interval's ends comes out as the exact one would. Of the
   decimals in the interval it picks the one with fewest digits, and of those the closest (the
   even one on a tie): the digits repr gives. They are then laid out as repr lays them out
   (fixed notation for 1e-4 <= |x| < 1e16, '.0' on an integer, else d.ddde+XX).

   The tests compare the text with repr's, string for string, on every binary exponent, the
   interval edge cases and millions of random floats; the floats read with float()'s, bit for
   bit, on millions of cells of every kind. */

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
   (checked against Python's integers when written; tests/test_floattext.py runs every binary
   exponent through them). */
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

static const uint64_t POW10[20] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL,
    1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
    1000000000000ULL, 10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
    10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL,
    10000000000000000000ULL};

/* v < 10^8 as eight ASCII digits in the bytes of a little-endian word, the first digit in the
   lowest byte: v split into halves of four digits in 32-bit lanes, each into pairs in 16-bit
   lanes, each into digits in bytes (division by 10^4, 100 and 10 as multiplications: exact for
   these ranges), all lanes at once. */
static inline uint64_t eight_ascii(uint64_t v) {
    uint64_t fours = v / 10000 | (v % 10000) << 32;
    uint64_t hundreds = (fours * 10486 >> 20) & 0x0000007F0000007FULL;
    uint64_t pairs = hundreds | (fours - hundreds * 100) << 16;
    uint64_t tens = (pairs * 103 >> 10) & 0x000F000F000F000FULL;
    return (tens | (pairs - tens * 10) << 8) + 0x3030303030303030ULL;
}

/* f's decimal digits (0 < f < 10^17) written in d[0..17) with leading zeros; where the
   digits start (no leading zero), and *n their count. */
static inline const char *digits(uint64_t f, char *d, int *n) {
    int count = ((64 - __builtin_clzll(f)) * 1233) >> 12; /* floor(log10 f) or one less */
    *n = count + (f >= POW10[count]);
    uint64_t low = eight_ascii(f % 100000000), high = eight_ascii(f / 100000000 % 100000000);
    d[0] = (char)('0' + f / 10000000000000000ULL);
    memcpy(d + 1, &high, 8);
    memcpy(d + 9, &low, 8);
    return d + 17 - *n;
}

/* repr(x) at p; the end of the text. Writes up to SLACK bytes past it (copies of a fixed size,
   which the compiler makes a few moves, where a copy of the text's own size is a call). */
#define SLACK 48
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
    char buf[48];
    int n;
    const char *d = digits(f, buf, &n);
    int point = n + e; /* x = 0.d1d2...dn 10^point */
    if (point <= -4 || point > 16) {
        p[0] = d[0];
        p[1] = '.';
        memcpy(p + 2, d + 1, 24);
        p += n > 1 ? n + 1 : 1;
        int x10 = point - 1;
        *p++ = 'e';
        *p++ = x10 < 0 ? '-' : '+';
        if (x10 < 0) x10 = -x10;
        if (x10 >= 100) *p++ = (char)('0' + x10 / 100), x10 %= 100;
        memcpy(p, DIGIT_PAIRS + 2 * x10, 2);
        return p + 2;
    }
    if (point <= 0) { /* 0.000ddd: at most three zeros after the point */
        memcpy(p, "0.000", 5);
        p += 2 - point;
        memcpy(p, d, 24);
        return p + n;
    }
    memcpy(p, d, 24);
    if (point < n) { /* ddd.ddd */
        p += point;
        *p++ = '.';
        memcpy(p, d + point, 24);
        return p + n - point;
    }
    p += n; /* ddd000.0: at most 15 zeros */
    memcpy(p, "000000000000000000", 16);
    p += point - n;
    memcpy(p, ".0", 2);
    return p + 2;
}

/* ---- reading ------------------------------------------------------------------------------ */

#define E_MIN (-342) /* the powers of ten of the Eisel-Lemire table: 10^E_MIN .. 10^E_MAX */
#define E_MAX 308
/* P[2(q - E_MIN)], P[2(q - E_MIN) + 1]: the high and low 64-bit halves of
   floor(10^q 2^(127 - floor(log2 10^q))), in [2^127, 2^128). */
static uint64_t P[2 * (E_MAX - E_MIN + 1)];

static const double EXACT10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* m 10^q correctly rounded (m > 0, at most 19 digits) into *x; 0 where undecided here. */
static int decimal_to_double(uint64_t m, int q, double *x) {
    if (m <= ((uint64_t)1 << 53) && q >= -22 && q <= 22) {
        *x = q < 0 ? (double)m / EXACT10[-q] : (double)m * EXACT10[q];
        return 1;
    }
    if (q < E_MIN || q > E_MAX) return 0;
    int lz = __builtin_clzll(m);
    uint64_t w = m << lz;
    const uint64_t *t = &P[2 * (q - E_MIN)];
    u128 x1 = (u128)w * t[0]; /* w T / 2^64, T's low half left out: short by less than w */
    uint64_t hi = (uint64_t)(x1 >> 64), lo = (uint64_t)x1;
    if ((hi & 0x1FF) == 0x1FF && lo + w < w) { /* that shortfall could reach the kept bits */
        u128 y = (u128)w * t[1];
        uint64_t yhi = (uint64_t)(y >> 64), ylo = (uint64_t)y;
        uint64_t mlo = lo + yhi, mhi = hi + (mlo < lo);
        if ((mhi & 0x1FF) == 0x1FF && mlo + 1 == 0 && ylo + w < w) return 0;
        hi = mhi;
        lo = mlo;
    }
    uint64_t top = hi >> 63;
    uint64_t mant = hi >> (top + 9); /* 54 bits: the float's 53 and the rounding bit */
    /* the biased exponent: floor(log2 10^q) + 64 + 1023 - lz, one less without the top bit */
    int64_t e2 = (int64_t)((217706 * (int64_t)q) >> 16) + 64 + 1023 - lz - (int64_t)(1 ^ top);
    if (lo == 0 && (hi & 0x1FF) == 0 && (mant & 3) == 1) return 0; /* maybe a tie: undecided */
    mant = (mant + (mant & 1)) >> 1;
    if (mant >> 53) {
        mant >>= 1;
        e2++;
    }
    if (e2 <= 0 || e2 >= 0x7FF) return 0; /* subnormal or infinite: Python's parser */
    uint64_t bits = ((uint64_t)e2 << 52) | (mant & (C_MIN - 1));
    memcpy(x, &bits, 8);
    return 1;
}

enum { CELL_NUMBER, CELL_OTHER, CELL_LATER };

/* Eight ASCII digits at once (little-endian loads): whether the 8 bytes are all digits, and
   their value (pairs, then fours, then the eight combined by multiplications). */
static inline uint64_t load8(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline int eight_digits(uint64_t v) {
    return !(((v + 0x4646464646464646ULL) | (v - 0x3030303030303030ULL)) & 0x8080808080808080ULL);
}
static inline uint64_t eight_value(uint64_t v) {
    v -= 0x3030303030303030ULL;
    v = v * 10 + (v >> 8); /* each even byte: a pair's value */
    v = ((v & 0x000000FF000000FFULL) * 0x000F424000000064ULL +
         ((v >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL) >> 32;
    return v & 0xFFFFFFFFULL;
}

/* Digits from p on into *m (which may wrap past 19 digits: the caller counts them); the end. */
static inline const char *read_digits(const char *p, const char *end, uint64_t *m) {
    uint64_t v = *m;
    while (end - p >= 8 && eight_digits(load8(p))) {
        v = v * 100000000 + eight_value(load8(p));
        p += 8;
    }
    while (p < end && (unsigned char)(*p - '0') < 10) v = 10 * v + (uint64_t)(*p++ - '0');
    *m = v;
    return p;
}

/* The cell [p, end) as float() reads it: CELL_NUMBER (*x set), CELL_OTHER (not a number in
   float()'s grammar), CELL_LATER (a number this code leaves to Python's parser). */
static int read_cell(const char *p, const char *end, double *x) {
    int negative = 0;
    if (p < end && (*p == '+' || *p == '-')) negative = *p++ == '-';
    const char *first = p;
    uint64_t m = 0;
    p = read_digits(p, end, &m);
    Py_ssize_t count = p - first, q = 0;
    int huge = 0;
    if (p < end && *p == '.') {
        const char *point = ++p;
        p = read_digits(p, end, &m);
        q = -(p - point);
        count += p - point;
    }
    if (count == 0) return CELL_OTHER;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p == end || (unsigned char)(*p - '0') >= 10) return CELL_OTHER;
        Py_ssize_t e = 0;
        for (; p < end && (unsigned char)(*p - '0') < 10; p++)
            if (e < 100000) e = 10 * e + (*p - '0');
        if (e >= 100000) huge = 1;   /* (and e no longer the exponent) */
        q += eneg ? -e : e;
    }
    if (p != end) return CELL_OTHER;
    if (huge || q < -100000 || q > 100000) return CELL_LATER; /* Python's parser: 0, inf... */
    if (count > 19) { /* past 19 digits, leading zeros aside: Python's parser */
        for (const char *z = first; z < end && (*z == '0' || *z == '.'); z++) count -= *z == '0';
        if (count > 19) return CELL_LATER;
    }
    if (m == 0) {
        *x = negative ? -0.0 : 0.0;
        return CELL_NUMBER;
    }
    if (!decimal_to_double(m, (int)q, x)) return CELL_LATER;
    if (negative) *x = -*x;
    return CELL_NUMBER;
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

/* An int64 array argument, copied: its numbers are checked once and then read with the GIL
   released, when nothing else (another thread, an output array over the same memory) may change
   them. NULL on error; *n its length. */
static int64_t *int64s(PyObject *obj, const char *what, Py_ssize_t *n) {
    Py_buffer b;
    if (PyObject_GetBuffer(obj, &b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    const char *f = b.format ? b.format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    int64_t *copy = NULL;
    if (b.itemsize != 8 || (strcmp(f, "q") && strcmp(f, "l")))
        PyErr_Format(PyExc_TypeError, "%s: an int64 array was expected", what);
    else if ((copy = PyMem_Malloc(b.len ? b.len : 1)) == NULL)
        PyErr_NoMemory();
    else {
        memcpy(copy, b.buf, b.len);
        *n = b.len / 8;
    }
    PyBuffer_Release(&b);
    return copy;
}

/* Whether a float64 array's buffer (asked with PyBUF_FORMAT) holds n aligned float64s. */
static int float64s(const Py_buffer *b, Py_ssize_t n) {
    const char *f = b->format ? b->format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    return b->itemsize == 8 && !strcmp(f, "d") && b->len == n * 8 && ((uintptr_t)b->buf & 7) == 0;
}

/* a + b, or -1 if either is -1 or the sum is past PY_SSIZE_T_MAX (sizes: never negative). */
static Py_ssize_t add_sizes(Py_ssize_t a, Py_ssize_t b) {
    return a < 0 || b < 0 || a > PY_SSIZE_T_MAX - b ? -1 : a + b;
}

PyDoc_STRVAR(rows_doc,
"rows(data, starts, ends, numbers, sep, tail, lines) -> bytes\n\n"
"Row k's text: data[starts[k]:ends[k]], then sep + repr(x[k]) for each float64 array x of\n"
"``numbers``, then ``tail``; or, where ``lines`` (a dict) has k, its bytes instead.");

static PyObject *ft_rows(PyObject *self, PyObject *args) {
    Py_buffer data = {0}, sep = {0}, tail = {0};
    PyObject *starts, *ends, *numbers, *lines, *result = NULL, *seq = NULL;
    Py_buffer *cols = NULL;
    Line *given = NULL;
    int64_t *st = NULL, *en = NULL;
    Py_ssize_t ncols = 0, ngiven = 0, got = 0, n = 0, m = 0;
    if (!READY) {
        PyErr_SetString(PyExc_RuntimeError, "_floattext.init has not been called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*OOOy*y*O!", &data, &starts, &ends, &numbers, &sep, &tail,
                          &PyDict_Type, &lines))
        return NULL;
    if ((st = int64s(starts, "starts", &n)) == NULL || (en = int64s(ends, "ends", &m)) == NULL)
        goto done;
    if (m != n) {
        PyErr_SetString(PyExc_ValueError, "starts and ends differ in length");
        goto done;
    }
    /* the output's size: every row's text, each number at its longest, the given lines */
    Py_ssize_t size = SLACK, each = add_sizes(sep.len, MAX_TEXT);
    for (Py_ssize_t k = 0; k < n; k++) {
        if (st[k] < 0 || st[k] > en[k] || en[k] > data.len) {
            PyErr_Format(PyExc_ValueError, "row %zd's span is outside the data", k);
            goto done;
        }
        size = add_sizes(size, en[k] - st[k]);
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
        if (!float64s(b, n)) {
            got++;
            PyErr_SetString(PyExc_TypeError, "numbers: float64 arrays as long as the rows");
            goto done;
        }
    }
    Py_ssize_t per_row, rows_size;
    if (__builtin_mul_overflow(each, ncols, &per_row) ||
        (per_row = add_sizes(per_row, tail.len)) < 0 ||
        __builtin_mul_overflow(per_row, n, &rows_size) || (size = add_sizes(size, rows_size)) < 0) {
        PyErr_NoMemory();
        goto done;
    }
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
            i++;
            if ((size = add_sizes(size, PyBytes_GET_SIZE(value))) < 0) {
                PyErr_NoMemory();
                goto done;
            }
        }
        qsort(given, ngiven, sizeof(Line), by_row);
    }
    result = PyBytes_FromStringAndSize(NULL, size);
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
            if (sl == 1) *p = *sp;
            else memcpy(p, sp, sl);
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
    PyMem_Free(st);
    PyMem_Free(en);
    PyBuffer_Release(&data);
    PyBuffer_Release(&sep);
    PyBuffer_Release(&tail);
    return result;
}

typedef struct {
    Py_ssize_t row, column, start, size;
} Later;

PyDoc_STRVAR(parse_doc,
"parse(data, starts, ends, sep, width, wanted, out) -> bool\n\n"
"Row k is data[starts[k]:ends[k]], cells split at the byte ``sep``. For each i, the cells of\n"
"column wanted[i] are read as float() reads them into the float64 array out[i]. False (out\n"
"partly written) if a row has not ``width`` cells or a wanted cell is not a number in float()'s\n"
"grammar.");

static PyObject *ft_parse(PyObject *self, PyObject *args) {
    Py_buffer data = {0};
    int sep;
    Py_ssize_t width;
    PyObject *starts, *ends, *wanted, *outs, *result = NULL, *wseq = NULL, *oseq = NULL;
    Py_buffer *cols = NULL;
    Py_ssize_t *slot = NULL, ncols = 0, got = 0, n = 0, m = 0;
    int64_t *st = NULL, *en = NULL;
    Later *later = NULL;
    if (!READY) {
        PyErr_SetString(PyExc_RuntimeError, "_floattext.init has not been called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*OOinOO", &data, &starts, &ends, &sep, &width, &wanted,
                          &outs))
        return NULL;
    if ((st = int64s(starts, "starts", &n)) == NULL || (en = int64s(ends, "ends", &m)) == NULL)
        goto done;
    if (m != n || width < 1 || sep < 0 || sep > 127) {
        PyErr_SetString(PyExc_ValueError, "starts and ends differ in length, or a bad width or sep");
        goto done;
    }
    if (width > data.len + 1) { /* more cells than a row of this data can have */
        result = PyBool_FromLong(n == 0);
        goto done;
    }
    for (Py_ssize_t k = 0; k < n; k++)
        if (st[k] < 0 || st[k] > en[k] || en[k] > data.len) {
            PyErr_Format(PyExc_ValueError, "row %zd's span is outside the data", k);
            goto done;
        }
    wseq = PySequence_Fast(wanted, "wanted must be a sequence");
    oseq = wseq ? PySequence_Fast(outs, "out must be a sequence") : NULL;
    if (oseq == NULL) goto done;
    ncols = PySequence_Fast_GET_SIZE(wseq);
    if (PySequence_Fast_GET_SIZE(oseq) != ncols) {
        PyErr_SetString(PyExc_ValueError, "wanted and out differ in length");
        goto done;
    }
    slot = PyMem_Malloc(width * sizeof(Py_ssize_t));
    cols = PyMem_Calloc(ncols ? ncols : 1, sizeof(Py_buffer));
    if (slot == NULL || cols == NULL) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t j = 0; j < width; j++) slot[j] = -1;
    for (; got < ncols; got++) {
        Py_ssize_t j = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(wseq, got));
        if (j == -1 && PyErr_Occurred()) goto done;
        if (j < 0 || j >= width || slot[j] != -1) {
            PyErr_SetString(PyExc_ValueError, "wanted: distinct columns below width");
            goto done;
        }
        slot[j] = got;
        Py_buffer *b = &cols[got];
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(oseq, got), b,
                               PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
            goto done;
        if (!float64s(b, n)) {
            got++;
            PyErr_SetString(PyExc_TypeError, "out: float64 arrays as long as the rows");
            goto done;
        }
    }
    const char *text = data.buf;
    char delimiter = (char)sep;
    Py_ssize_t nlater = 0, cap = 0;
    int ok = 1, nomemory = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < n && ok; k++) {
        const char *p = text + st[k], *end = text + en[k];
        for (Py_ssize_t j = 0; ok; j++) {
            const char *stop = memchr(p, delimiter, end - p);
            const char *cell_end = stop ? stop : end;
            if (j >= width || (!stop && j != width - 1)) {
                ok = 0; /* too many or too few cells */
                break;
            }
            Py_ssize_t i = slot[j];
            if (i >= 0) {
                double *x = (double *)cols[i].buf + k;
                int kind = read_cell(p, cell_end, x);
                if (kind == CELL_OTHER) ok = 0;
                else if (kind == CELL_LATER) {
                    if (nlater == cap) {
                        cap = cap ? 2 * cap : 64;
                        Later *more = realloc(later, cap * sizeof(Later));
                        if (more == NULL) {
                            ok = 0;
                            nomemory = 1;
                            break;
                        }
                        later = more;
                    }
                    later[nlater++] = (Later){k, i, p - text, cell_end - p};
                }
            }
            if (!stop) break;
            p = stop + 1;
        }
    }
    Py_END_ALLOW_THREADS
    if (nomemory) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t t = 0; ok && t < nlater; t++) { /* Python's own parser: float()'s float */
        Later *c = &later[t];
        char *cell = PyMem_Malloc(c->size + 1), *stop;
        if (cell == NULL) { PyErr_NoMemory(); goto done; }
        memcpy(cell, text + c->start, c->size);
        cell[c->size] = '\0';
        double x = PyOS_string_to_double(cell, &stop, NULL);
        int whole = stop == cell + c->size;
        PyMem_Free(cell);
        if (x == -1.0 && PyErr_Occurred()) goto done;
        if (!whole) ok = 0;
        else ((double *)cols[c->column].buf)[c->row] = x;
    }
    result = PyBool_FromLong(ok);
done:
    for (Py_ssize_t j = 0; j < got; j++) PyBuffer_Release(&cols[j]);
    PyMem_Free(cols);
    PyMem_Free(slot);
    free(later);
    Py_XDECREF(wseq);
    Py_XDECREF(oseq);
    PyMem_Free(st);
    PyMem_Free(en);
    PyBuffer_Release(&data);
    return result;
}

PyDoc_STRVAR(init_doc,
"init(writing, reading) -> None\n\n"
"The powers of ten, as bytes of native uint64 (floattext.py makes them): for writing, for\n"
"k = K_MIN .. K_MAX, g's high and low 63-bit halves; for reading, for q = E_MIN .. E_MAX, the\n"
"high and low halves of floor(10^q 2^(127 - floor(log2 10^q))).");

static PyObject *ft_init(PyObject *self, PyObject *args) {
    Py_buffer writing, reading;
    if (!PyArg_ParseTuple(args, "y*y*", &writing, &reading)) return NULL;
    int ok = writing.len == (Py_ssize_t)sizeof(G) && reading.len == (Py_ssize_t)sizeof(P);
    if (!ok)
        PyErr_Format(PyExc_ValueError, "the tables must be %zd and %zd bytes", sizeof(G),
                     sizeof(P));
    else if (!READY) { /* (once: a call of rows or parse may be reading them) */
        memcpy(G, writing.buf, sizeof(G));
        memcpy(P, reading.buf, sizeof(P));
        READY = 1;
    }
    PyBuffer_Release(&writing);
    PyBuffer_Release(&reading);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"init", ft_init, METH_VARARGS, init_doc},
    {"rows", ft_rows, METH_VARARGS, rows_doc},
    {"parse", ft_parse, METH_VARARGS, parse_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "gradcalc._floattext",
    "floats from and to text in bulk, as float() and repr (see gradcalc/floattext.py).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__floattext(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "K_MIN", K_MIN) < 0 ||
        PyModule_AddIntConstant(m, "K_MAX", K_MAX) < 0 ||
        PyModule_AddIntConstant(m, "E_MIN", E_MIN) < 0 ||
        PyModule_AddIntConstant(m, "E_MAX", E_MAX) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/* gradcalc._vmath: sin, cos, exp, expm1 and log over float64 arrays, four at a time (AVX2, FMA).

   The kernels of `--fast-math` (gradcalc/fastmath.py). The C library computes these one number at
   a time; here each is a range reduction and a polynomial on four numbers at once, designed to
   stay within 1 ulp of the exact result (tests/test_fastmath.py holds every kernel to 2 ulp
   against mpmath, and to the C library's own result where it falls back). Written for this
   project from the textbook methods (Cody-Waite reduction with split constants, Taylor
   polynomials long enough that truncation is far below an ulp, error-free sums where a rounding
   would cost a bit):

   - exp(x) = 2^k exp(r), r = x - k ln2, |r| <= ln2/2; exp(r) = 1 + (r + r^2 P(r)), degree 13.
   - expm1(x) = (2^k - 1) + 2^k expm1(r), expm1(r) = r + r^2 P(r) carried as two doubles, and the
     sum made with an error-free addition (no cancellation loses the last bits).
   - log(x) = e ln2 + log1p(f), x = 2^e (1 + f), 1 + f in [sqrt(2)/2, sqrt(2)); log1p(f) from
     s = f/(2 + f): f - (f^2/2 - s (f^2/2 + R(s^2))), R a series of 10 terms.
   - sin, cos: r = x - k pi/2 in three parts (r as a pair of doubles), then the polynomials of
     sin and cos on |r| <= pi/4 (to r^17, r^18), the pair's low part added as a correction, and
     the quadrant k mod 4 picking which and with which sign.

   Numbers outside a kernel's fast range (sin/cos: |x| > 2^20, or x so close to a multiple of pi/2
   that the reduction could lose bits; exp: x outside [-707, 709]; expm1: outside [-36, 708]; log:
   x not a positive normal number; and every inf or NaN) are computed by the C library, one at a
   time, so those are the float path's numbers exactly.

   Each call releases the GIL. On a CPU without AVX2 and FMA (checked at run time) `available()`
   is false and gradcalc never calls the kernels. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

enum { K_SIN, K_COS, K_EXP, K_EXPM1, K_LOG, K_COUNT };
static const char *const NAMES[K_COUNT] = {"sin", "cos", "exp", "expm1", "log"};
static double (*const LIBM[K_COUNT])(double) = {sin, cos, exp, expm1, log};

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_KERNELS 1
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
typedef __m256d V;

/* ln 2 in two parts: LN2HI has 42 significant bits, so k * LN2HI is exact for |k| <= 2^11. */
#define LN2HI 0x1.62e42fefa3800p-1
#define LN2LO 0x1.ef35793c76730p-45
#define LOG2E 0x1.71547652b82fep+0
/* pi/2 in three parts: P1 and P2 have 33 bits, so k * P1 and k * P2 are exact for |k| < 2^20. */
#define P1 0x1.921fb54400000p+0
#define P2 0x1.0b4611a600000p-34
#define P3 0x1.3198a2e037073p-69
#define TWO_OVER_PI 0x1.45f306dc9c883p-1
#define SQRT2 0x1.6a09e667f3bcdp+0
#define MAGIC 0x1.8p52 /* k + MAGIC holds k in its low bits (|k| < 2^51) */

AVX2 static inline V splat(double x) { return _mm256_set1_pd(x); }
AVX2 static inline V fma_(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
AVX2 static inline V vabs(V x) { return _mm256_andnot_pd(splat(-0.0), x); }
AVX2 static inline V rint_(V x) {
    return _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
/* Lanes where lo <= x <= hi (false for NaN). */
AVX2 static inline V within(V x, double lo, double hi) {
    return _mm256_and_pd(_mm256_cmp_pd(x, splat(lo), _CMP_GE_OQ),
                         _mm256_cmp_pd(x, splat(hi), _CMP_LE_OQ));
}
/* The integer k (a whole double, |k| < 2^51) as 64-bit lanes. */
AVX2 static inline __m256i to_int(V k) {
    return _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(k, splat(MAGIC))),
                            _mm256_castpd_si256(splat(MAGIC)));
}
/* 2^k for integer lanes -1022 <= k <= 1023. */
AVX2 static inline V pow2(__m256i k) {
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(k, _mm256_set1_epi64x(1023)), 52));
}
/* a + b = s + e exactly (Knuth's two-sum). */
AVX2 static inline V two_sum(V a, V b, V *e) {
    V s = _mm256_add_pd(a, b);
    V bb = _mm256_sub_pd(s, a);
    *e = _mm256_add_pd(_mm256_sub_pd(a, _mm256_sub_pd(s, bb)), _mm256_sub_pd(b, bb));
    return s;
}

/* expm1(r) - r - r^2/2 ... as r^2 (1/2 + r/6 + ... + r^11/13!), for |r| <= ln2/2. */
AVX2 static inline V exp_poly(V r) {
    V p = splat(0x1.6124613a86d09p-33);
    p = fma_(p, r, splat(0x1.1eed8eff8d898p-29));
    p = fma_(p, r, splat(0x1.ae64567f544e4p-26));
    p = fma_(p, r, splat(0x1.27e4fb7789f5cp-22));
    p = fma_(p, r, splat(0x1.71de3a556c734p-19));
    p = fma_(p, r, splat(0x1.a01a01a01a01ap-16));
    p = fma_(p, r, splat(0x1.a01a01a01a01ap-13));
    p = fma_(p, r, splat(0x1.6c16c16c16c17p-10));
    p = fma_(p, r, splat(0x1.1111111111111p-7));
    p = fma_(p, r, splat(0x1.5555555555555p-5));
    p = fma_(p, r, splat(0x1.5555555555555p-3));
    p = fma_(p, r, splat(0.5));
    return _mm256_mul_pd(_mm256_mul_pd(r, r), p);
}

AVX2 static V k_exp(V x, V *slow) {
    *slow = _mm256_xor_pd(within(x, -707.0, 709.0), _mm256_castsi256_pd(_mm256_set1_epi64x(-1)));
    V k = rint_(_mm256_mul_pd(x, splat(LOG2E)));
    V r = fma_(k, splat(-LN2HI), x);           /* exact */
    V lo = _mm256_mul_pd(k, splat(-LN2LO));    /* x - k ln2 = r + lo */
    V rr = _mm256_add_pd(r, lo);
    V c = _mm256_add_pd(_mm256_sub_pd(r, rr), lo);   /* what rr lost (|lo| <= |r| or r = 0) */
    /* exp(rr + c) = 1 + rr + (q + c): 1 + rr made exactly, as a pair, before the rest */
    V e;
    V s = two_sum(splat(1.0), rr, &e);
    V y = _mm256_add_pd(s, _mm256_add_pd(e, _mm256_add_pd(exp_poly(rr), c)));
    return _mm256_mul_pd(y, pow2(to_int(k)));
}

AVX2 static V k_expm1(V x, V *slow) {
    *slow = _mm256_xor_pd(within(x, -36.0, 708.0), _mm256_castsi256_pd(_mm256_set1_epi64x(-1)));
    V k = rint_(_mm256_mul_pd(x, splat(LOG2E)));
    V r = fma_(k, splat(-LN2HI), x);           /* exact */
    V lo = _mm256_mul_pd(k, splat(-LN2LO));    /* the reduction's tail: x - k ln2 = r + lo */
    V el;
    V eh = two_sum(r, exp_poly(r), &el);       /* expm1(r) = eh + el */
    /* expm1(r + lo) = expm1(r) + lo (1 + expm1(r)), to first order (|lo| < 2^-33) */
    el = _mm256_add_pd(el, fma_(lo, eh, lo));
    V s2 = pow2(to_int(k));
    V a = _mm256_sub_pd(s2, splat(1.0));      /* 2^k - 1: exact for |k| <= 53 */
    V err;
    V s = two_sum(a, _mm256_mul_pd(s2, eh), &err);
    V y = _mm256_add_pd(s, fma_(s2, el, err));
    /* expm1(x) = x for the tiniest x, the sign of zero included */
    V tiny = _mm256_cmp_pd(vabs(x), splat(0x1p-54), _CMP_LT_OQ);
    return _mm256_blendv_pd(y, x, tiny);
}

AVX2 static V k_log(V x, V *slow) {
    *slow = _mm256_xor_pd(within(x, 0x1p-1022, 0x1.fffffffffffffp1023),
                          _mm256_castsi256_pd(_mm256_set1_epi64x(-1)));
    __m256i bits = _mm256_castpd_si256(x);
    /* the biased exponent as a double: the exponent field put in a double's low bits */
    V e = _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64(bits, 52),
                                            _mm256_castpd_si256(splat(0x1p52)))),
        splat(0x1p52 + 1023.0));
    V m = _mm256_castsi256_pd(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi64x(0x000fffffffffffffLL)),
        _mm256_castpd_si256(splat(1.0))));
    V big = _mm256_cmp_pd(m, splat(SQRT2), _CMP_GT_OQ);
    m = _mm256_blendv_pd(m, _mm256_mul_pd(m, splat(0.5)), big);
    e = _mm256_add_pd(e, _mm256_and_pd(big, splat(1.0)));
    V f = _mm256_sub_pd(m, splat(1.0));        /* exact */
    V s = _mm256_div_pd(f, _mm256_add_pd(splat(2.0), f));
    V z = _mm256_mul_pd(s, s);
    V R = splat(0x1.8618618618618p-4);
    R = fma_(R, z, splat(0x1.af286bca1af28p-4));
    R = fma_(R, z, splat(0x1.e1e1e1e1e1e1ep-4));
    R = fma_(R, z, splat(0x1.1111111111111p-3));
    R = fma_(R, z, splat(0x1.3b13b13b13b14p-3));
    R = fma_(R, z, splat(0x1.745d1745d1746p-3));
    R = fma_(R, z, splat(0x1.c71c71c71c71cp-3));
    R = fma_(R, z, splat(0x1.2492492492492p-2));
    R = fma_(R, z, splat(0x1.999999999999ap-2));
    R = fma_(R, z, splat(0x1.5555555555555p-1));
    R = _mm256_mul_pd(R, z);
    V hfsq = _mm256_mul_pd(_mm256_mul_pd(splat(0.5), f), f);
    /* e ln2_hi - ((hfsq - (s (hfsq + R) + e ln2_lo)) - f) */
    V inner = fma_(s, _mm256_add_pd(hfsq, R), _mm256_mul_pd(e, splat(LN2LO)));
    V y = _mm256_sub_pd(_mm256_mul_pd(e, splat(LN2HI)),
                        _mm256_sub_pd(_mm256_sub_pd(hfsq, inner), f));
    return y;
}

/* sin and cos of r = x + y (|x| <= pi/4 + a little, |y| tiny), as in the header. */
AVX2 static inline V sin_r(V x, V y) {
    V z = _mm256_mul_pd(x, x);
    V p = splat(0x1.952c77030ad4ap-49);
    p = fma_(p, z, splat(-0x1.ae7f3e733b81fp-41));
    p = fma_(p, z, splat(0x1.6124613a86d09p-33));
    p = fma_(p, z, splat(-0x1.ae64567f544e4p-26));
    p = fma_(p, z, splat(0x1.71de3a556c734p-19));
    p = fma_(p, z, splat(-0x1.a01a01a01a01ap-13));
    p = fma_(p, z, splat(0x1.1111111111111p-7));
    p = fma_(p, z, splat(-0x1.5555555555555p-3));
    /* sin(x + y) = x + (x^3 p + y (1 - x^2/2)) */
    V corr = fma_(_mm256_mul_pd(z, x), p, fma_(_mm256_mul_pd(splat(-0.5), z), y, y));
    return _mm256_add_pd(x, corr);
}

AVX2 static inline V cos_r(V x, V y) {
    V z = _mm256_mul_pd(x, x);
    V p = splat(-0x1.6827863b97d97p-53);
    p = fma_(p, z, splat(0x1.ae7f3e733b81fp-45));
    p = fma_(p, z, splat(-0x1.93974a8c07c9dp-37));
    p = fma_(p, z, splat(0x1.1eed8eff8d898p-29));
    p = fma_(p, z, splat(-0x1.27e4fb7789f5cp-22));
    p = fma_(p, z, splat(0x1.a01a01a01a01ap-16));
    p = fma_(p, z, splat(-0x1.6c16c16c16c17p-10));
    p = fma_(p, z, splat(0x1.5555555555555p-5));
    /* cos(x + y) = (1 - z/2) + (z^2 p - x y), the rounding of 1 - z/2 carried (hz <= 0.31) */
    V hz = _mm256_mul_pd(splat(0.5), z);
    V w = _mm256_sub_pd(splat(1.0), hz);
    V lost = _mm256_sub_pd(_mm256_sub_pd(splat(1.0), w), hz);
    V tail = _mm256_sub_pd(_mm256_mul_pd(_mm256_mul_pd(z, z), p), _mm256_mul_pd(x, y));
    return _mm256_add_pd(w, _mm256_add_pd(lost, tail));
}

AVX2 static V k_sincos(V x, V *slow, int cosine) {
    V k = rint_(_mm256_mul_pd(x, splat(TWO_OVER_PI)));
    V t1 = fma_(k, splat(-P1), x);             /* exact */
    V w = _mm256_mul_pd(k, splat(P2));         /* exact */
    V err;
    V rh = two_sum(t1, _mm256_sub_pd(_mm256_setzero_pd(), w), &err);
    V rl = fma_(k, splat(-P3), err);
    /* renormalized (k P3 reaches ~10 ulp of rh at |x| ~ 2^20): |rl| <= ulp(rh)/2 */
    V r2 = _mm256_add_pd(rh, rl);
    rl = _mm256_add_pd(_mm256_sub_pd(rh, r2), rl);
    rh = r2;
    /* too large, not finite, or near a multiple of pi/2 (k != 0): the C library's */
    V near = _mm256_andnot_pd(_mm256_cmp_pd(k, _mm256_setzero_pd(), _CMP_EQ_OQ),
                              _mm256_cmp_pd(vabs(rh), splat(0x1p-30), _CMP_LT_OQ));
    V fast = _mm256_cmp_pd(vabs(x), splat(0x1p20), _CMP_LE_OQ);
    *slow = _mm256_or_pd(near, _mm256_xor_pd(fast, _mm256_castsi256_pd(_mm256_set1_epi64x(-1))));
    V s = sin_r(rh, rl), c = cos_r(rh, rl);
    __m256i n = to_int(k);
    if (cosine) n = _mm256_add_epi64(n, _mm256_set1_epi64x(1));   /* cos x = sin(x + pi/2) */
    V odd = _mm256_castsi256_pd(_mm256_cmpeq_epi64(
        _mm256_and_si256(n, _mm256_set1_epi64x(1)), _mm256_set1_epi64x(1)));
    V y = _mm256_blendv_pd(s, c, odd);
    V sign = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_and_si256(n, _mm256_set1_epi64x(2)), 62));
    y = _mm256_xor_pd(y, sign);
    if (!cosine) {   /* sin(x) = x for the tiniest x, the sign of zero included */
        V tiny = _mm256_cmp_pd(vabs(x), splat(0x1p-26), _CMP_LT_OQ);
        y = _mm256_blendv_pd(y, x, tiny);
    }
    return y;
}

AVX2 static inline V kernel(int kind, V x, V *slow) {
    switch (kind) {
    case K_SIN: return k_sincos(x, slow, 0);
    case K_COS: return k_sincos(x, slow, 1);
    case K_EXP: return k_exp(x, slow);
    case K_EXPM1: return k_expm1(x, slow);
    default: return k_log(x, slow);
    }
}

/* y[i] = f(x[i]) for i < n (x and y may be the same array); returns whether some result is not
   finite. Lanes outside the fast range are the C library's, from the saved inputs. A last short
   block is padded with ones. Inlined once per kernel (``kind`` a constant in each copy). */
AVX2 static inline __attribute__((always_inline)) int
run_kind(int kind, const double *x, double *y, Py_ssize_t n) {
    double (*f)(double) = LIBM[kind];
    const V inf = splat(INFINITY);
    V bad = _mm256_setzero_pd();
    Py_ssize_t i = 0;
    for (;; i += 4) {
        double in[4] = {1.0, 1.0, 1.0, 1.0}, out[4];
        Py_ssize_t m = n - i;
        if (m <= 0) break;
        V xv, slow;
        if (m >= 4) {
            xv = _mm256_loadu_pd(x + i);
        } else {
            memcpy(in, x + i, (size_t)m * sizeof(double));
            xv = _mm256_loadu_pd(in);
        }
        V yv = kernel(kind, xv, &slow);
        int lanes = _mm256_movemask_pd(slow);
        if (lanes) {
            _mm256_storeu_pd(in, xv);
            _mm256_storeu_pd(out, yv);
            for (int j = 0; j < 4; j++)
                if (lanes & (1 << j)) out[j] = f(in[j]);
            yv = _mm256_loadu_pd(out);
        }
        bad = _mm256_or_pd(bad, _mm256_cmp_pd(vabs(yv), inf, _CMP_NLT_UQ));
        if (m >= 4) {
            _mm256_storeu_pd(y + i, yv);
        } else {
            _mm256_storeu_pd(out, yv);
            memcpy(y + i, out, (size_t)m * sizeof(double));
            break;
        }
    }
    return _mm256_movemask_pd(bad) != 0;
}

AVX2 static int run_avx2(int kind, const double *x, double *y, Py_ssize_t n) {
    switch (kind) {
    case K_SIN: return run_kind(K_SIN, x, y, n);
    case K_COS: return run_kind(K_COS, x, y, n);
    case K_EXP: return run_kind(K_EXP, x, y, n);
    case K_EXPM1: return run_kind(K_EXPM1, x, y, n);
    default: return run_kind(K_LOG, x, y, n);
    }
}

static int cpu_ok(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define HAVE_KERNELS 0
static int cpu_ok(void) { return 0; }
#endif

static int AVAILABLE = 0;
static int double_buffer(PyObject *o, Py_buffer *view, int writable, const char *what);

/* --- a compiled plan, run in tiles ----------------------------------------------------------
   gradcalc/vector.py's compiled plan is a list of NumPy calls over blocks of up to 32k points:
   each call a pass over memory, and a trip through the interpreter (holding the GIL) between
   calls. run_plan runs the same calls here, TILE points at a time, every intermediate in cache
   and the GIL released for the whole block. Each operation is computed as NumPy computes it:
   the same IEEE operations with one rounding each (AVX without FMA, and -ffp-contract=off), the
   same C library function for sin, exp, ...; minimum/maximum give the second argument on a tie,
   as NumPy's loops do. So the floats are NumPy's, bit for bit (tests/test_vector_plan.py runs
   with and without). Instead of raising at the first overflow, division by zero or invalid
   operation, it reports that one happened (the caller then runs the block through NumPy,
   checked); the fast-math kernels' scratch flags are set aside, and a kernel's result not
   finite is reported. */

#include <fenv.h>
#include <stdlib.h>

#define TILE 256

enum {   /* opcodes: the ufuncs vector.py hands over (FUSED_OPS there, in this order) */
    O_ADD, O_SUB, O_MUL, O_DIV, O_NEG, O_ABS, O_COPYSIGN, O_MIN, O_MAX, O_SQRT, O_POW,
    O_SIN, O_COS, O_TAN, O_EXP, O_EXPM1, O_LOG, O_LOG1P, O_ATAN, O_SINH, O_COSH, O_TANH,
    O_LOG2, O_LOG10, O_CBRT, O_ASIN, O_ACOS, O_ASINH, O_ACOSH, O_ATANH,
    O_FAST_SIN, O_FAST_COS, O_FAST_EXP, O_FAST_EXPM1, O_FAST_LOG, O_COUNT
};
/* the C library's functions, from O_SIN on: NumPy's float64 loops call the same ones */
static double (*const UNARY[])(double) = {sin, cos, tan, exp, expm1, log, log1p, atan, sinh,
                                          cosh, tanh, log2, log10, cbrt, asin, acos, asinh,
                                          acosh, atanh};
enum { A_REG, A_INPUT, A_CONST };   /* where an operand is: a tile register, an input, a constant */

/* An operand packed as kind << 32 | index: whether its index is within what it names. */
static int in_range(int64_t packed, int nregs, Py_ssize_t ninputs, Py_ssize_t nconsts) {
    int64_t kind = packed >> 32, index = packed & 0xffffffff;
    return (kind == A_REG && index < nregs) || (kind == A_INPUT && index < ninputs)
           || (kind == A_CONST && index < nconsts);
}

#if HAVE_KERNELS
#define AVX __attribute__((target("avx2")))   /* no FMA: every operation rounds on its own */

/* The operand's m values: a register's or an input's, or (*one set) a constant's one value. */
AVX static inline const double *values(int64_t packed, double *regs, const double **inputs,
                                       const double *consts, Py_ssize_t t0, int *one) {
    int64_t kind = packed >> 32, index = packed & 0xffffffff;
    *one = kind == A_CONST;
    if (kind == A_REG) return regs + index * TILE;
    if (kind == A_INPUT) return inputs[index] + t0;
    return consts + index;
}

/* d[i] = f(a[i], b[i]) for i < m, in fours then one by one; an operand that is one value is
   read once (x or y a broadcast). */
#define LOOP(vexpr, sexpr) do { \
    int i = 0; \
    if (b_one) { \
        __m256d y = _mm256_set1_pd(b[0]); double ys = b[0]; (void)y; (void)ys; \
        for (; i + 4 <= m; i += 4) { __m256d x = _mm256_loadu_pd(a + i); \
            _mm256_storeu_pd(d + i, (vexpr)); } \
        for (; i < m; i++) { double x = a[i], y = ys; (void)y; d[i] = (sexpr); } \
    } else { \
        for (; i + 4 <= m; i += 4) { __m256d x = _mm256_loadu_pd(a + i), y = _mm256_loadu_pd(b + i); \
            (void)y; _mm256_storeu_pd(d + i, (vexpr)); } \
        for (; i < m; i++) { double x = a[i], y = b[i]; (void)y; d[i] = (sexpr); } \
    } } while (0)

/* One instruction over m <= TILE points into d (which may be a or b); b_one: b is one value
   for every point (a is never: run_tiles spreads it). Returns 1 where a fast kernel's result is
   not finite. */
AVX static int step(int64_t op, double *d, const double *a, const double *b, int b_one, int m) {
    const __m256d sign = _mm256_set1_pd(-0.0);
    switch (op) {
    case O_ADD: LOOP(_mm256_add_pd(x, y), x + y); return 0;
    case O_SUB: LOOP(_mm256_sub_pd(x, y), x - y); return 0;
    case O_MUL: LOOP(_mm256_mul_pd(x, y), x * y); return 0;
    case O_DIV: LOOP(_mm256_div_pd(x, y), x / y); return 0;
    case O_NEG: LOOP(_mm256_xor_pd(x, sign), -x); return 0;
    case O_ABS: LOOP(_mm256_andnot_pd(sign, x), fabs(x)); return 0;
    case O_COPYSIGN:
        LOOP(_mm256_or_pd(_mm256_andnot_pd(sign, x), _mm256_and_pd(sign, y)), copysign(x, y));
        return 0;
    /* MINPD/MAXPD give the second operand on a tie (and on NaN: none here, see above) */
    case O_MIN: LOOP(_mm256_min_pd(x, y), x < y ? x : y); return 0;
    case O_MAX: LOOP(_mm256_max_pd(x, y), x > y ? x : y); return 0;
    case O_SQRT: LOOP(_mm256_sqrt_pd(x), sqrt(x)); return 0;
    case O_POW: for (int i = 0; i < m; i++) d[i] = pow(a[i], b[b_one ? 0 : i]); return 0;
    default: break;
    }
    if (op >= O_SIN && op <= O_ATANH) {
        double (*f)(double) = UNARY[op - O_SIN];
        for (int i = 0; i < m; i++) d[i] = f(a[i]);
        return 0;
    }
    fexcept_t saved;
    fegetexceptflag(&saved, FE_ALL_EXCEPT);
    int bad = run_avx2((int)(op - O_FAST_SIN), a, d, m);
    fesetexceptflag(&saved, FE_ALL_EXCEPT);
    return bad;
}

/* The plan over n points; returns whether a float exception (or a fast kernel's result not
   finite) happened. */
AVX static int run_tiles(const int64_t *code, Py_ssize_t count, const double *consts,
                         double *regs, const double **inputs, double **outs,
                         const int64_t *where, Py_ssize_t no, Py_ssize_t n) {
    double spread[TILE];
    int failed = 0;
    feclearexcept(FE_OVERFLOW | FE_DIVBYZERO | FE_INVALID);
    for (Py_ssize_t t0 = 0; t0 < n && !failed; t0 += TILE) {
        int m = (int)(n - t0 < TILE ? n - t0 : TILE);
        for (Py_ssize_t t = 0; t < count; t++) {
            const int64_t *c = code + 5 * t;
            int a_one, b_one = 0;
            const double *a = values(c[2], regs, inputs, consts, t0, &a_one);
            const double *b = c[4] == 2 ? values(c[3], regs, inputs, consts, t0, &b_one) : a;
            if (a_one) {   /* (rare: 1 - x, 2/x) spread over the tile */
                for (int i = 0; i < m; i++) spread[i] = a[0];
                if (b == a) b = spread;
                a = spread;
            }
            failed |= step(c[0], regs + c[1] * TILE, a, b, b_one && b != a, m);
        }
        for (Py_ssize_t k = 0; k < no; k++) {
            int one;
            const double *v = values(where[2 * k], regs, inputs, consts, t0, &one);
            double *d = outs[k] + t0;
            if (where[2 * k + 1])
                for (int i = 0; i < m; i++) d[i] = v[one ? 0 : i] + 0.0;
            else
                for (int i = 0; i < m; i++) d[i] = v[one ? 0 : i];
        }
    }
    return failed || fetestexcept(FE_OVERFLOW | FE_DIVBYZERO | FE_INVALID) != 0;
}
#endif

PyDoc_STRVAR(run_plan_doc,
"run_plan(code, consts, registers, inputs, outputs) -> bool\n\n"
"Run a compiled plan over one block of n points. ``code``: an int64 buffer of instructions of 5\n"
"fields (opcode, destination register, operand a, operand b, how many operands: 1 or 2), an\n"
"operand packed as kind << 32 | index (kind 0 a register, 1 an input, 2 a constant);\n"
"``consts``: float64; ``registers``: how many the code uses; ``inputs``: a tuple of float64\n"
"arrays of n (the block's columns); ``outputs``: a tuple of (writable float64 array of n,\n"
"operand, plus_zero), each given its operand's values (+ 0.0 with plus_zero). False (the\n"
"outputs then undefined) where an overflow, a division by zero or an invalid operation happened.");

static PyObject *vm_run_plan(PyObject *self, PyObject *args) {
    PyObject *code_o, *consts_o, *inputs_o, *outputs_o;
    int nregs;
    if (!PyArg_ParseTuple(args, "OOiO!O!:run_plan", &code_o, &consts_o, &nregs, &PyTuple_Type,
                          &inputs_o, &PyTuple_Type, &outputs_o))
        return NULL;
    if (!AVAILABLE) return PyErr_Format(PyExc_RuntimeError, "run_plan needs AVX2 and FMA");
    if (nregs < 1 || nregs > 1 << 20) return PyErr_Format(PyExc_ValueError, "bad registers");
    Py_buffer code, consts;
    if (PyObject_GetBuffer(code_o, &code, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    if (code.itemsize != 8 || code.format == NULL || (strcmp(code.format, "l") != 0
            && strcmp(code.format, "q") != 0) || code.len % (5 * 8) != 0) {
        PyBuffer_Release(&code);
        return PyErr_Format(PyExc_ValueError, "code must be int64 instructions of 5 fields");
    }
    if (double_buffer(consts_o, &consts, 0, "consts") < 0) { PyBuffer_Release(&code); return NULL; }
    Py_ssize_t ni = PyTuple_GET_SIZE(inputs_o), no = PyTuple_GET_SIZE(outputs_o);
    Py_buffer *views = calloc((size_t)(ni + no) + 1, sizeof(Py_buffer));
    const double **inputs = calloc((size_t)ni + 1, sizeof(double *));
    double **outs = calloc((size_t)no + 1, sizeof(double *));
    int64_t *where = calloc((size_t)no * 2 + 1, sizeof(int64_t));
    double *regs = malloc(sizeof(double) * TILE * (size_t)nregs);
    Py_ssize_t got = 0, n = -1;
    PyObject *result = NULL;
    if (!views || !inputs || !outs || !where || !regs) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t k = 0; k < ni + no; k++) {
        int output = k >= ni;
        PyObject *arr = output ? NULL : PyTuple_GET_ITEM(inputs_o, k);
        if (output) {
            long long packed;
            int plus_zero;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(outputs_o, k - ni), "OLp:run_plan output",
                                  &arr, &packed, &plus_zero))
                goto done;
            where[2 * (k - ni)] = packed;
            where[2 * (k - ni) + 1] = plus_zero;
        }
        if (double_buffer(arr, &views[got], output, output ? "an output" : "an input") < 0) goto done;
        got++;
        if (output) outs[k - ni] = views[got - 1].buf;
        else inputs[k] = views[got - 1].buf;
        if (n >= 0 && views[got - 1].len / 8 != n) {
            PyErr_SetString(PyExc_ValueError, "the inputs and outputs differ in length");
            goto done;
        }
        n = views[got - 1].len / 8;
    }
    if (n < 0) n = 0;
    const int64_t *ins = code.buf;
    Py_ssize_t count = code.len / (5 * 8), nconsts = consts.len / 8;
    for (Py_ssize_t t = 0; t < count; t++) {   /* every index in range, before any is used */
        const int64_t *c = ins + 5 * t;
        int ok = c[0] >= 0 && c[0] < O_COUNT && c[1] >= 0 && c[1] < nregs
                 && (c[4] == 1 || c[4] == 2);
        for (int j = 0; j < c[4] && ok; j++) ok = in_range(c[2 + j], nregs, ni, nconsts);
        if (!ok) { PyErr_SetString(PyExc_ValueError, "a bad instruction"); goto done; }
    }
    for (Py_ssize_t k = 0; k < no; k++)
        if (!in_range(where[2 * k], nregs, ni, nconsts)) {
            PyErr_SetString(PyExc_ValueError, "a bad output operand");
            goto done;
        }
    int failed = 1;
#if HAVE_KERNELS
    Py_BEGIN_ALLOW_THREADS
    failed = run_tiles(ins, count, consts.buf, regs, inputs, outs, where, no, n);
    Py_END_ALLOW_THREADS
#endif
    result = PyBool_FromLong(!failed);
done:
    for (Py_ssize_t k = 0; k < got; k++) PyBuffer_Release(&views[k]);
    PyBuffer_Release(&code);
    PyBuffer_Release(&consts);
    free(views);
    free(inputs);
    free(outs);
    free(where);
    free(regs);
    return result;
}

static int double_buffer(PyObject *o, Py_buffer *view, int writable, const char *what) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, view, flags) < 0) return -1;
    if (view->itemsize != 8 || view->format == NULL || strcmp(view->format, "d") != 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous float64 array", what);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(apply_doc,
"apply(kind, x, out, raising) -> out\n\n"
"out[i] = f(x[i]) for f the kernel ``kind`` (an index into NAMES), x and out contiguous float64\n"
"buffers of one length (they may be the same). With ``raising``, FloatingPointError when some\n"
"result is not finite (as NumPy raises under errstate(raise)); the results are written either way.");

static PyObject *vm_apply(PyObject *self, PyObject *args) {
    int kind, raising;
    PyObject *xo, *yo;
    if (!PyArg_ParseTuple(args, "iOOp:apply", &kind, &xo, &yo, &raising)) return NULL;
    if (kind < 0 || kind >= K_COUNT) return PyErr_Format(PyExc_ValueError, "no kernel %d", kind);
    if (!AVAILABLE) return PyErr_Format(PyExc_RuntimeError, "the kernels need AVX2 and FMA");
    Py_buffer bx, by;
    if (double_buffer(xo, &bx, 0, "x") < 0) return NULL;
    if (double_buffer(yo, &by, 1, "out") < 0) { PyBuffer_Release(&bx); return NULL; }
    if (bx.len != by.len) {
        PyBuffer_Release(&bx);
        PyBuffer_Release(&by);
        return PyErr_Format(PyExc_ValueError, "x and out differ in length");
    }
    int bad = 0;
#if HAVE_KERNELS
    Py_BEGIN_ALLOW_THREADS
    bad = run_avx2(kind, (const double *)bx.buf, (double *)by.buf, bx.len / 8);
    Py_END_ALLOW_THREADS
#endif
    PyBuffer_Release(&bx);
    PyBuffer_Release(&by);
    if (bad && raising) {
        PyErr_Format(PyExc_FloatingPointError, "a result of %s is not finite", NAMES[kind]);
        return NULL;
    }
    Py_INCREF(yo);
    return yo;
}

static PyObject *vm_available(PyObject *self, PyObject *unused) {
    return PyBool_FromLong(AVAILABLE);
}

static PyMethodDef methods[] = {
    {"apply", vm_apply, METH_VARARGS, apply_doc},
    {"run_plan", vm_run_plan, METH_VARARGS, run_plan_doc},
    {"available", vm_available, METH_NOARGS, "Whether this CPU runs the kernels (AVX2 and FMA)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "gradcalc._vmath",
    "float64 vector kernels of sin, cos, exp, expm1 and log (see gradcalc/fastmath.py).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__vmath(void) {
    AVAILABLE = HAVE_KERNELS && cpu_ok();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    PyObject *names = PyTuple_New(K_COUNT);
    if (names == NULL) { Py_DECREF(m); return NULL; }
    for (int k = 0; k < K_COUNT; k++) {
        PyObject *s = PyUnicode_FromString(NAMES[k]);
        if (s == NULL) { Py_DECREF(names); Py_DECREF(m); return NULL; }
        PyTuple_SET_ITEM(names, k, s);
    }
    if (PyModule_AddObject(m, "NAMES", names) < 0) { Py_DECREF(names); Py_DECREF(m); return NULL; }
    return m;
}

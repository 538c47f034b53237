/* gradcalc._fastparse: the parser's fast path (syntax._fast_program) in C.

   fast_program(source, limits) does exactly what syntax._fast_program does, token for token:
   it returns the complete Graph, or a syntax._Resume at the first statement it does not read
   (that statement undone), after which syntax._Parser takes over. The Python version is the
   reference; read its comment block (above _SUFFIX) first. This file mirrors it:

   - next_token() matches what syntax._FAST_TOKEN matches at a position (its "lastindex", the
     start, the text of a name or number, the position of the empty group after the token);
   - fast_program() is _fast_program's loop, branch for branch, with its two stacks as C arrays
     whose entries hold the same Python objects (node indices and positions as ints), so the
     nodes share their ints as the Python version's do.

   What the fast path looks up (the function table, the macros, the constants, lookup_call,
   TENSOR_NAMES) and the classes it builds (Graph, Node, _Resume) come from syntax.py through
   setup(), never duplicated here. Node objects are built by writing their five slots (found
   through the class's member descriptors) when the class is the plain __slots__ class
   setup() expects, else by calling the class. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>

/* --- what setup() is given, and strings made once ------------------------------------------ */
static PyObject *Graph_cls, *Node_cls, *Resume_cls, *functions, *macros, *constants,
    *lookup_call, *tensor_names;
static PyObject *s_input, *s_const, *s_neg, *s_add, *s_sub, *s_mul, *s_div, *s_pow, *s_f,
    *s_out, *s_dims, *s_minus, *a_nodes, *a_inputs, *a_names, *a_tensor, *a_output, *a_static,
    *a_name;
/* the byte offsets of Node's slots (op, args, value, text, span), or -1: call the class */
static Py_ssize_t slot[5] = {-1, -1, -1, -1, -1};
static int ready;

/* --- tokens: the kinds are _FAST_TOKEN's groups (its lastindex) ---------------------------- */
enum {
    K_NAME = 1, K_ASSIGN = 2, K_COMPOUND = 3, K_CALL = 4, /* 5-13: a name then a suffix */
    K_NUMBER = 14,                                         /* 15-23: a number then a suffix */
    K_OPEN = 24, K_CLOSE, K_NEWLINE, K_PLUS, K_MINUS, K_TIMES, K_DIVIDE, K_POWER, K_SEMI,
    K_COMMA, K_SKIP, K_OTHER, K_END
};

typedef struct {
    int kind;
    void *data;
    Py_ssize_t n;
} Src;

#define CH(s, i) PyUnicode_READ((s)->kind, (s)->data, (i))

typedef struct {
    int k;              /* the group that closed last */
    Py_ssize_t start;   /* where the token starts */
    Py_ssize_t a, b;    /* the name's or the number's text (groups 1, 14) */
    Py_UCS4 opch;       /* the operator of a compound assignment (group 3) */
    Py_ssize_t gpos;    /* the position of the empty group after the token (after a suffix) */
    Py_ssize_t next;    /* where the next token starts (blanks after this one skipped) */
} Tok;

static inline int
is_blank(Py_UCS4 c)   /* [ \t\r\f\v] */
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static inline int
is_digit(Py_UCS4 c)
{
    return c >= '0' && c <= '9';
}

static inline int
is_alpha(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int
is_word(Py_UCS4 c)   /* \w under re.ASCII */
{
    return is_alpha(c) || is_digit(c) || c == '_';
}

/* _SUFFIX at p: 0 ')' 1 newline 2 '+' 3 '-' 4 '*' (not '**') 5 '/' 6 '^' or '**' 7 ';' 8 ',';
   -1 if none. *end: the position after it. */
static inline int
suffix_at(const Src *s, Py_ssize_t p, Py_ssize_t *end)
{
    if (p >= s->n)
        return -1;
    *end = p + 1;
    switch (CH(s, p)) {
    case ')': return 0;
    case '\n': return 1;
    case '+': return 2;
    case '-': return 3;
    case '*':
        if (p + 1 < s->n && CH(s, p + 1) == '*') {
            *end = p + 2;
            return 6;
        }
        return 4;
    case '/': return 5;
    case '^': return 6;
    case ';': return 7;
    case ',': return 8;
    default: return -1;
    }
}

static inline Py_ssize_t
skip_blanks(const Src *s, Py_ssize_t p)
{
    while (p < s->n && is_blank(CH(s, p)))
        p++;
    return p;
}

/* The match of _FAST_TOKEN at p (p < s->n): every alternative in its order. */
static void
next_token(const Src *s, Py_ssize_t p, Tok *t)
{
    Py_ssize_t n = s->n, q, end;
    Py_UCS4 c = CH(s, p), d;
    int suf;

    t->start = t->a = t->b = p;
    t->opch = 0;
    if (is_alpha(c)) {   /* ([A-Za-z]\w*) and blanks, then = or an op and = or ( or _SUFFIX, or none */
        q = p + 1;
        while (q < n && is_word(CH(s, q)))
            q++;
        t->a = p;
        t->b = q;
        q = skip_blanks(s, q);
        t->k = K_NAME;
        t->gpos = q;
        if (q < n) {
            d = CH(s, q);
            if (d == '=') {
                t->k = K_ASSIGN;
                q += 1;
            }
            else if ((d == '-' || d == '+' || d == '*' || d == '/') && q + 1 < n
                     && CH(s, q + 1) == '=') {
                t->k = K_COMPOUND;
                t->opch = d;
                q += 2;
            }
            else if (d == '(') {
                t->k = K_CALL;
                q += 1;
            }
            else if ((suf = suffix_at(s, q, &end)) >= 0) {
                t->k = 5 + suf;
                q = end;
            }
            t->gpos = q;
        }
        t->next = skip_blanks(s, q);
        return;
    }
    if (is_digit(c) || (c == '.' && p + 1 < n && is_digit(CH(s, p + 1)))) {
        /* ((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[ \t\r\f\v]* then _SUFFIX, or not */
        q = p + 1;
        if (c == '.') {
            while (q < n && is_digit(CH(s, q)))
                q++;
        }
        else {
            while (q < n && is_digit(CH(s, q)))
                q++;
            if (q < n && CH(s, q) == '.') {
                q++;
                while (q < n && is_digit(CH(s, q)))
                    q++;
            }
        }
        if (q < n && (CH(s, q) == 'e' || CH(s, q) == 'E')) {
            Py_ssize_t r = q + 1;
            if (r < n && (CH(s, r) == '+' || CH(s, r) == '-'))
                r++;
            if (r < n && is_digit(CH(s, r))) {
                while (r < n && is_digit(CH(s, r)))
                    r++;
                q = r;
            }
        }
        t->a = p;
        t->b = q;
        q = skip_blanks(s, q);
        t->k = K_NUMBER;
        if ((suf = suffix_at(s, q, &end)) >= 0) {
            t->k = 15 + suf;
            q = end;
        }
        t->gpos = q;
        t->next = skip_blanks(s, q);
        return;
    }
    if (c == '(') {
        t->k = K_OPEN;
        q = p + 1;
    }
    else if ((suf = suffix_at(s, p, &end)) >= 0) {
        t->k = K_CLOSE + suf;
        q = end;
    }
    else if (c == '#') {   /* a comment */
        q = p + 1;
        while (q < n && CH(s, q) != '\n')
            q++;
        t->k = K_SKIP;
    }
    else if (c == '\\' && p + 1 < n && (CH(s, p + 1) == '\n' || (
                 CH(s, p + 1) == '\r' && p + 2 < n && CH(s, p + 2) == '\n'))) {
        q = p + (CH(s, p + 1) == '\n' ? 2 : 3);   /* a line continuation */
        t->k = K_SKIP;
    }
    else if (is_blank(c)) {
        q = skip_blanks(s, p);
        t->k = K_SKIP;
    }
    else {   /* .() (a newline was read above) */
        q = p + 1;
        t->k = K_OTHER;
    }
    t->gpos = q;
    t->next = skip_blanks(s, q);
}

/* An ASCII str of the source's characters [a, b) (a name's or a number's, all ASCII). */
static PyObject *
ascii_text(const Src *s, Py_ssize_t a, Py_ssize_t b)
{
    PyObject *str = PyUnicode_New(b - a, 127);
    if (str == NULL)
        return NULL;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(str);
    if (s->kind == PyUnicode_1BYTE_KIND)
        memcpy(out, (Py_UCS1 *)s->data + a, b - a);
    else
        for (Py_ssize_t i = a; i < b; i++)
            out[i - a] = (Py_UCS1)CH(s, i);
    return str;
}

/* --- nodes ------------------------------------------------------------------------------------ */
#define SLOT(o, i) (*(PyObject **)((char *)(o) + slot[i]))

/* Node(op, args, value, text, span): a new reference (all arguments borrowed). */
static PyObject *
make_node(PyObject *op, PyObject *args, PyObject *value, PyObject *text, PyObject *span)
{
    PyObject *fields[5] = {op, args, value, text, span};
    if (slot[0] < 0)
        return PyObject_Vectorcall(Node_cls, fields, 5, NULL);
    PyTypeObject *tp = (PyTypeObject *)Node_cls;
    PyObject *node = tp->tp_alloc(tp, 0);
    if (node == NULL)
        return NULL;
    for (int i = 0; i < 5; i++) {
        Py_INCREF(fields[i]);
        SLOT(node, i) = fields[i];
    }
    return node;
}

/* A field of a node (0 op ... 4 span): a new reference, or NULL with an exception. */
static PyObject *
node_field(PyObject *node, int i)
{
    static const char *names[5] = {"op", "args", "value", "text", "span"};
    if (slot[0] < 0 || Py_TYPE(node) != (PyTypeObject *)Node_cls)
        return PyObject_GetAttrString(node, names[i]);
    PyObject *v = SLOT(node, i);
    if (v == NULL) {
        PyErr_Format(PyExc_AttributeError, "Node has no %s", names[i]);
        return NULL;
    }
    Py_INCREF(v);
    return v;
}

/* --- the stacks ------------------------------------------------------------------------------- */
typedef struct {
    PyObject *idx, *start, *end;   /* owned: the node's index, the operand's span */
} Operand;

enum { F_BIN, F_SIGN, F_PAREN, F_CALL, F_BOTTOM };

typedef struct {
    PyObject *op;       /* F_BIN: the op's name (borrowed: a string made once) */
    PyObject *start;    /* F_SIGN, F_PAREN, F_CALL: owned */
    PyObject *name;     /* F_CALL: the function's name, owned */
    Py_ssize_t commas;  /* F_CALL */
    short kind, prec;
    int minus;          /* F_SIGN: '-' (else '+') */
} Frame;

/* Each stack is a list of small chunks, each one a block of pymalloc's (at most 512 bytes),
   freed as the stack shrinks: one deeply nested expression stacks a frame per group before its
   first node is made, and the nodes made as the groups close then reuse that memory, as they
   reuse the Python version's frame tuples (one big array would add its size to the peak). */
#define O_CHUNK 16
#define F_CHUNK 10
typedef struct OChunk { struct OChunk *prev; Py_ssize_t n; Operand v[O_CHUNK]; } OChunk;
typedef struct FChunk { struct FChunk *prev; Py_ssize_t n; Frame v[F_CHUNK]; } FChunk;

typedef struct {
    Src src;
    PyObject *nodes;    /* the graph's list */
    OChunk *oc, *ospare;
    FChunk *fc, *fspare;
    int underflow;      /* an operand popped that was never pushed (a bug: never seen) */
} State;

static int
push(State *st, PyObject *idx, PyObject *start, PyObject *end)   /* steals all three */
{
    OChunk *c = st->oc;
    if (c == NULL || c->n == O_CHUNK) {
        OChunk *next = st->ospare;
        st->ospare = NULL;
        if (next == NULL)
            next = PyObject_Malloc(sizeof(OChunk));
        if (next == NULL) {
            Py_DECREF(idx);
            Py_DECREF(start);
            Py_DECREF(end);
            PyErr_NoMemory();
            return -1;
        }
        next->prev = c;
        next->n = 0;
        st->oc = c = next;
    }
    Operand *o = &c->v[c->n++];
    o->idx = idx;
    o->start = start;
    o->end = end;
    return 0;
}

/* The top operand, popped: its references are the caller's. */
static Operand
pop(State *st)
{
    OChunk *c = st->oc;
    Operand o;
    if (c == NULL || c->n == 0) {   /* (see State.underflow) */
        st->underflow = 1;
        Py_INCREF(Py_None);
        Py_INCREF(Py_None);
        Py_INCREF(Py_None);
        o.idx = o.start = o.end = Py_None;
        return o;
    }
    o = c->v[--c->n];
    if (c->n == 0 && c->prev != NULL) {
        st->oc = c->prev;
        if (st->ospare == NULL)
            st->ospare = c;
        else
            PyObject_Free(c);
    }
    return o;
}

static inline void
clear_operand(Operand *o)
{
    Py_DECREF(o->idx);
    Py_DECREF(o->start);
    Py_DECREF(o->end);
}

static Frame *
push_frame(State *st, int kind, int prec)
{
    FChunk *c = st->fc;
    if (c == NULL || c->n == F_CHUNK) {
        FChunk *next = st->fspare;
        st->fspare = NULL;
        if (next == NULL)
            next = PyObject_Malloc(sizeof(FChunk));
        if (next == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        next->prev = c;
        next->n = 0;
        st->fc = c = next;
    }
    Frame *f = &c->v[c->n++];
    f->kind = (short)kind;
    f->prec = (short)prec;
    f->op = NULL;
    f->minus = 0;
    f->start = NULL;
    f->name = NULL;
    f->commas = 0;
    return f;
}

/* The top frame (there is always one: the two at the bottom are never popped). */
static inline Frame *
top_frame(State *st)
{
    return &st->fc->v[st->fc->n - 1];
}

/* The top frame, popped: its references are the caller's. */
static Frame
pop_frame(State *st)
{
    FChunk *c = st->fc;
    Frame f = c->v[--c->n];
    if (c->n == 0 && c->prev != NULL) {
        st->fc = c->prev;
        if (st->fspare == NULL)
            st->fspare = c;
        else
            PyObject_Free(c);
    }
    return f;
}

static inline void
clear_frame(Frame *f)
{
    Py_XDECREF(f->start);
    Py_XDECREF(f->name);
}

static void
free_stacks(State *st)
{
    while (st->oc != NULL) {
        OChunk *c = st->oc;
        while (c->n > 0)
            clear_operand(&c->v[--c->n]);
        st->oc = c->prev;
        PyObject_Free(c);
    }
    PyObject_Free(st->ospare);
    while (st->fc != NULL) {
        FChunk *c = st->fc;
        while (c->n > 0)
            clear_frame(&c->v[--c->n]);
        st->fc = c->prev;
        PyObject_Free(c);
    }
    PyObject_Free(st->fspare);
}

/* Append a node built from borrowed fields, its args and span stolen. */
static int
add_node(State *st, PyObject *op, PyObject *args, PyObject *value, PyObject *text,
         PyObject *span)
{
    PyObject *node = NULL;
    if (args != NULL && span != NULL)
        node = make_node(op, args, value, text, span);
    Py_XDECREF(args);
    Py_XDECREF(span);
    if (node == NULL)
        return -1;
    int rc = PyList_Append(st->nodes, node);
    Py_DECREF(node);
    return rc;
}

/* The index of the node just added, as an int. */
static inline PyObject *
last_index(State *st)
{
    return PyLong_FromSsize_t(PyList_GET_SIZE(st->nodes) - 1);
}

/* A binary operator's frame applied to the top two operands (_Parser.apply). */
static int
apply_binary(State *st, PyObject *op)
{
    Operand b = pop(st);
    Operand a = pop(st);
    int rc = add_node(st, op, PyTuple_Pack(2, a.idx, b.idx), Py_None, Py_None,
                      PyTuple_Pack(2, a.start, b.end));
    PyObject *idx = rc < 0 ? NULL : last_index(st);
    Py_INCREF(a.start);
    Py_INCREF(b.end);
    clear_operand(&a);
    clear_operand(&b);
    if (idx == NULL) {
        Py_DECREF(a.start);
        Py_DECREF(b.end);
        return -1;
    }
    return push(st, idx, a.start, b.end);
}

/* Can the sign fold into the node just typed (_fast_sign's test)? -1 on an error; *at: its
   index. */
static int
folds(State *st, const Operand *a, Py_ssize_t *at)
{
    Py_ssize_t count = PyList_GET_SIZE(st->nodes);
    Py_ssize_t i = PyLong_AsSsize_t(a->idx);
    if (i == -1 && PyErr_Occurred())
        return -1;
    if (count == 0 || i != count - 1)
        return 0;
    *at = i;
    PyObject *node = PyList_GET_ITEM(st->nodes, i);
    PyObject *op = node_field(node, 0);
    if (op == NULL)
        return -1;
    int r = PyUnicode_Check(op) && PyUnicode_CompareWithASCIIString(op, "const") == 0;
    Py_DECREF(op);
    if (!r)
        return 0;
    PyObject *text = node_field(node, 3);
    if (text == NULL)
        return -1;
    r = text != Py_None;
    Py_DECREF(text);
    if (!r)
        return 0;
    PyObject *span = node_field(node, 4);
    PyObject *pair = span ? PyTuple_Pack(2, a->start, a->end) : NULL;
    r = pair ? PyObject_RichCompareBool(span, pair, Py_EQ) : -1;
    Py_XDECREF(span);
    Py_XDECREF(pair);
    return r;
}

/* A sign's frame applied to the top operand (_fast_sign: a literal just typed stays one
   constant node). */
static int
apply_sign(State *st, Frame *f)
{
    Operand a = pop(st);
    PyObject *idx = NULL;
    Py_ssize_t at = 0;
    if (!f->minus) {
        Py_INCREF(a.idx);
        idx = a.idx;
    }
    else {
        int r = folds(st, &a, &at);
        if (r < 0)
            goto fail;
        if (r) {
            PyObject *node = PyList_GET_ITEM(st->nodes, at);
            PyObject *value = node_field(node, 2), *text = node_field(node, 3);
            PyObject *negated = NULL, *retext = NULL, *span = NULL, *made = NULL;
            PyObject *empty = PyTuple_New(0);
            if (value != NULL && text != NULL && empty != NULL) {
                negated = PyNumber_Negative(value);
                if (!PyUnicode_Check(text))
                    PyErr_SetString(PyExc_TypeError, "a literal's text is not a str");
                else if (PyUnicode_GET_LENGTH(text) > 0 && PyUnicode_READ_CHAR(text, 0) == '-')
                    retext = PyUnicode_Substring(text, 1, PyUnicode_GET_LENGTH(text));
                else
                    retext = PyUnicode_Concat(s_minus, text);
                span = PyTuple_Pack(2, f->start, a.end);
                if (negated != NULL && retext != NULL && span != NULL)
                    made = make_node(s_const, empty, negated, retext, span);
            }
            Py_XDECREF(value);
            Py_XDECREF(text);
            Py_XDECREF(empty);
            Py_XDECREF(negated);
            Py_XDECREF(retext);
            Py_XDECREF(span);
            if (made == NULL)
                goto fail;
            if (PyList_SetItem(st->nodes, at, made) < 0)   /* steals made */
                goto fail;
            Py_INCREF(a.idx);
            idx = a.idx;
        }
        else {
            PyObject *args = PyTuple_Pack(1, a.idx), *span = PyTuple_Pack(2, f->start, a.end);
            if (add_node(st, s_neg, args, Py_None, Py_None, span) < 0)
                goto fail;
            idx = last_index(st);
            if (idx == NULL)
                goto fail;
        }
    }
    Py_INCREF(f->start);
    Py_INCREF(a.end);
    PyObject *start = f->start, *end = a.end;
    clear_operand(&a);
    return push(st, idx, start, end);
fail:
    clear_operand(&a);
    return -1;
}

/* Pop and apply the pending binary operators and signs down to the innermost open frame. */
static int
apply_pending(State *st)
{
    while (top_frame(st)->kind < F_PAREN) {
        Frame f = pop_frame(st);
        int rc = f.kind == F_BIN ? apply_binary(st, f.op) : apply_sign(st, &f);
        clear_frame(&f);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* --- limits ----------------------------------------------------------------------------------- */
/* A limit as a C integer, which a count exceeds when it exceeds the limit: None is no limit.
   0 when it is neither an int nor a float (the caller then hands the whole program over). */
static int
read_limit(PyObject *limits, const char *name, Py_ssize_t *out)
{
    PyObject *v = PyObject_GetAttrString(limits, name);
    if (v == NULL)
        return -1;
    int ok = 1;
    if (v == Py_None)
        *out = PY_SSIZE_T_MAX;
    else if (PyLong_Check(v)) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred()) {
            Py_DECREF(v);
            return -1;
        }
        if (overflow > 0 || x > PY_SSIZE_T_MAX)
            *out = PY_SSIZE_T_MAX;
        else if (overflow < 0 || x < -PY_SSIZE_T_MAX)
            *out = -PY_SSIZE_T_MAX;   /* (any count exceeds it) */
        else
            *out = (Py_ssize_t)x;
    }
    else if (PyFloat_Check(v)) {   /* count > x exactly when count > floor(x) */
        double x = PyFloat_AS_DOUBLE(v);
        if (isnan(x) || x >= (double)PY_SSIZE_T_MAX)   /* (nan: no count exceeds it) */
            *out = PY_SSIZE_T_MAX;
        else if (x <= -(double)PY_SSIZE_T_MAX)
            *out = -PY_SSIZE_T_MAX;
        else
            *out = (Py_ssize_t)floor(x);
    }
    else
        ok = 0;
    Py_DECREF(v);
    return ok;
}

/* --- the loop --------------------------------------------------------------------------------- */
/* The op a call means, as (op name, is a tensor op), cached in ``calls``; None when the fast path
   does not read it (a wrong count of arguments, an op with sizes). A new reference. */
static PyObject *
call_of(PyObject *calls, PyObject *name, Py_ssize_t nargs)
{
    PyObject *count = PyLong_FromSsize_t(nargs);
    if (count == NULL)
        return NULL;
    PyObject *key = PyTuple_Pack(2, name, count);
    PyObject *call = NULL, *op = NULL, *static_ = NULL, *opname = NULL;
    if (key == NULL)
        goto done;
    call = PyDict_GetItemWithError(calls, key);
    if (call != NULL) {
        Py_INCREF(call);
        goto done;
    }
    if (PyErr_Occurred())
        goto done;
    op = PyObject_CallFunctionObjArgs(lookup_call, name, count, NULL);
    if (op == NULL)
        goto done;
    if (op == Py_None) {
        call = Py_None;
        Py_INCREF(call);
        goto done;
    }
    static_ = PyObject_GetAttr(op, a_static);
    if (static_ == NULL)
        goto done;
    int dims = PyObject_RichCompareBool(static_, s_dims, Py_EQ);
    if (dims < 0)
        goto done;
    if (dims) {
        call = Py_None;
        Py_INCREF(call);
        goto done;
    }
    opname = PyObject_GetAttr(op, a_name);
    if (opname == NULL)
        goto done;
    int tensor = PySequence_Contains(tensor_names, opname);
    if (tensor < 0)
        goto done;
    call = PyTuple_Pack(2, opname, tensor ? Py_True : Py_False);
    if (call != NULL && PyDict_SetItem(calls, key, call) < 0)
        Py_CLEAR(call);
done:
    Py_DECREF(count);
    Py_XDECREF(key);
    Py_XDECREF(op);
    Py_XDECREF(static_);
    Py_XDECREF(opname);
    return call;
}

/* The index of a name: the node it was assigned, else its input, else a new input node (spanning
   [start, end)), as _Parser.reference. A new reference. */
static PyObject *
reference(State *st, PyObject *env, PyObject *inputs, PyObject *name, PyObject *start,
          PyObject *end)
{
    PyObject *idx = PyDict_GetItemWithError(env, name);
    if (idx == NULL && !PyErr_Occurred())
        idx = PyDict_GetItemWithError(inputs, name);
    if (idx != NULL) {
        Py_INCREF(idx);
        return idx;
    }
    if (PyErr_Occurred())
        return NULL;
    PyObject *value = PyDict_GetItemWithError(constants, name);
    if (value == NULL) {
        if (PyErr_Occurred())
            return NULL;
        value = Py_None;
    }
    idx = PyLong_FromSsize_t(PyList_GET_SIZE(st->nodes));
    if (idx == NULL)
        return NULL;
    PyObject *args = PyTuple_New(0);
    if (add_node(st, s_input, args, value, name, PyTuple_Pack(2, start, end)) < 0
            || PyDict_SetItem(inputs, name, idx) < 0) {
        Py_DECREF(idx);
        return NULL;
    }
    return idx;
}

#define FAIL goto error
#define HAND_OVER goto done

static PyObject *
fast_program(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!ready) {
        PyErr_SetString(PyExc_RuntimeError, "gradcalc._fastparse.setup() was not called");
        return NULL;
    }
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "fast_program(source, limits)");
        return NULL;
    }
    PyObject *source = args[0], *limits = args[1];
    if (!PyUnicode_Check(source)) {
        PyErr_SetString(PyExc_TypeError, "the source must be a str");
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(source) < 0)
        return NULL;
#endif
    State st = {0};
    PyObject *graph = NULL, *nodes = NULL, *inputs = NULL, *env = NULL, *calls = NULL,
             *literals = NULL, *result = NULL;
    PyObject *target = NULL, *target_start = NULL, *last = NULL, *bare = NULL, *text = NULL;
    PyObject *compound = NULL;   /* borrowed: a string made once */
    Py_ssize_t max_nodes, max_depth, depth = 0, kept_nodes = 0, begin = 0, tokens = 0;
    int expect = 1, tensor = 0, kept_tensor = 0, complete = 0, limits_ok;
    Py_ssize_t pos = 0;

    st.src.kind = PyUnicode_KIND(source);
    st.src.data = PyUnicode_DATA(source);
    st.src.n = PyUnicode_GET_LENGTH(source);
    const Src *s = &st.src;

    graph = PyObject_CallOneArg(Graph_cls, source);
    if (graph == NULL)
        FAIL;
    nodes = PyObject_GetAttr(graph, a_nodes);
    inputs = nodes ? PyObject_GetAttr(graph, a_inputs) : NULL;
    env = inputs ? PyObject_GetAttr(graph, a_names) : NULL;
    if (env == NULL)
        FAIL;
    if (!PyList_CheckExact(nodes) || !PyDict_CheckExact(inputs) || !PyDict_CheckExact(env)) {
        PyErr_SetString(PyExc_TypeError, "a Graph's nodes, inputs and names: a list, dicts");
        FAIL;
    }
    st.nodes = nodes;
    limits_ok = read_limit(limits, "nodes", &max_nodes);
    if (limits_ok < 0)
        FAIL;
    if (limits_ok) {
        limits_ok = read_limit(limits, "depth", &max_depth);
        if (limits_ok < 0)
            FAIL;
    }
    if (!limits_ok)   /* a limit that is not an int: _Parser reads everything */
        HAND_OVER;
    calls = PyDict_New();
    literals = PyDict_New();
    if (calls == NULL || literals == NULL)
        FAIL;
    /* two entries at the bottom of each stack, as the Python version */
    for (int i = 0; i < 2; i++) {
        PyObject *minus_one = PyLong_FromLong(-1), *zero = PyLong_FromLong(0);
        PyObject *zero2 = zero;
        Py_XINCREF(zero2);
        if (minus_one == NULL || zero == NULL) {
            Py_XDECREF(minus_one);
            Py_XDECREF(zero);
            Py_XDECREF(zero2);
            FAIL;
        }
        if (push(&st, minus_one, zero, zero2) < 0 || push_frame(&st, F_BOTTOM, 0) == NULL)
            FAIL;
    }

    for (;;) {
        Tok t;
        if (st.underflow)
            break;
        if (pos >= s->n) {
            t.k = K_END;
            t.start = t.gpos = t.next = t.a = t.b = s->n;
            t.opch = 0;
        }
        else {
            next_token(s, pos, &t);
            pos = t.next;
        }
        if ((++tokens & 0xffff) == 0 && PyErr_CheckSignals() < 0)
            FAIL;
        int k = t.k;
        if (expect) {
            if (k < K_NUMBER) {   /* a name */
                if (k == K_NAME || k > K_CALL) {   /* a value's name (then what follows, k > 4) */
                    text = ascii_text(s, t.a, t.b);
                    PyObject *start = text ? PyLong_FromSsize_t(t.start) : NULL;
                    PyObject *end = start ? PyLong_FromSsize_t(t.b) : NULL;
                    if (end == NULL) {
                        Py_XDECREF(start);
                        FAIL;
                    }
                    PyObject *idx = PyDict_GetItemWithError(env, text);
                    if (idx == NULL && !PyErr_Occurred())
                        idx = PyDict_GetItemWithError(inputs, text);
                    if (idx != NULL)
                        Py_INCREF(idx);
                    else if (!PyErr_Occurred()) {
                        int r = PyDict_Contains(functions, text);
                        if (r == 0)
                            r = PyDict_Contains(macros, text);
                        if (r) {
                            Py_DECREF(start);
                            Py_DECREF(end);
                            if (r < 0)
                                FAIL;
                            HAND_OVER;
                        }
                        idx = reference(&st, env, inputs, text, start, end);
                    }
                    Py_CLEAR(text);
                    if (idx == NULL) {
                        Py_DECREF(start);
                        Py_DECREF(end);
                        FAIL;
                    }
                    if (push(&st, idx, start, end) < 0)
                        FAIL;
                    expect = 0;
                    if (k == K_NAME)
                        continue;
                    k += 20;   /* the kind of what follows: CLOSE ... COMMA */
                }
                else if (k == K_CALL) {
                    text = ascii_text(s, t.a, t.b);
                    if (text == NULL)
                        FAIL;
                    int r = PyDict_Contains(functions, text);
                    if (r > 0) {
                        r = PyDict_Contains(macros, text);
                        r = r < 0 ? -1 : !r;
                    }
                    if (r < 0)
                        FAIL;
                    if (!r)
                        HAND_OVER;
                    depth += 1;
                    if (depth > max_depth)
                        HAND_OVER;
                    PyObject *start = PyLong_FromSsize_t(t.start);
                    if (start == NULL)
                        FAIL;
                    Frame *f = push_frame(&st, F_CALL, 0);
                    if (f == NULL) {
                        Py_DECREF(start);
                        FAIL;
                    }
                    f->start = start;
                    f->name = text;
                    text = NULL;
                    continue;
                }
                else {   /* an assignment's target */
                    if (top_frame(&st)->kind != F_BOTTOM || target != NULL || bare != NULL)
                        HAND_OVER;
                    target = ascii_text(s, t.a, t.b);
                    if (target == NULL)
                        FAIL;
                    int r = PyDict_Contains(functions, target);
                    if (r == 0)
                        r = PyDict_Contains(macros, target);
                    if (r < 0)
                        FAIL;
                    if (r)
                        HAND_OVER;
                    Py_XSETREF(target_start, PyLong_FromSsize_t(t.start));
                    if (target_start == NULL)
                        FAIL;
                    if (k == K_COMPOUND)
                        compound = t.opch == '+' ? s_add : t.opch == '-' ? s_sub
                            : t.opch == '*' ? s_mul : s_div;
                    else
                        compound = NULL;
                    continue;
                }
            }
            else if (k < K_OPEN) {   /* a number (then what follows, k > 14) */
                text = ascii_text(s, t.a, t.b);
                if (text == NULL)
                    FAIL;
                PyObject *literal = PyDict_GetItemWithError(literals, text);
                if (literal == NULL) {
                    if (PyErr_Occurred())
                        FAIL;
                    char *end;
                    double v = PyOS_string_to_double((const char *)PyUnicode_1BYTE_DATA(text),
                                                     &end, NULL);
                    if (v == -1.0 && PyErr_Occurred())
                        FAIL;
                    if (*end != '\0') {
                        PyErr_SetString(PyExc_ValueError, "a number the fast path misread");
                        FAIL;
                    }
                    if (v == Py_HUGE_VAL)
                        HAND_OVER;
                    PyObject *value = PyFloat_FromDouble(v);
                    literal = value ? PyTuple_Pack(2, text, value) : NULL;
                    Py_XDECREF(value);
                    if (literal == NULL)
                        FAIL;
                    int rc = PyDict_SetItem(literals, text, literal);
                    Py_DECREF(literal);   /* (the dict holds it) */
                    if (rc < 0)
                        FAIL;
                }
                Py_CLEAR(text);
                PyObject *idx = PyLong_FromSsize_t(PyList_GET_SIZE(nodes));
                PyObject *start = idx ? PyLong_FromSsize_t(t.start) : NULL;
                PyObject *end = start ? PyLong_FromSsize_t(t.b) : NULL;
                if (end == NULL) {
                    Py_XDECREF(idx);
                    Py_XDECREF(start);
                    FAIL;
                }
                if (push(&st, idx, start, end) < 0)
                    FAIL;
                if (add_node(&st, s_const, PyTuple_New(0), PyTuple_GET_ITEM(literal, 1),
                             PyTuple_GET_ITEM(literal, 0), PyTuple_Pack(2, start, end)) < 0)
                    FAIL;
                expect = 0;
                if (k == K_NUMBER)
                    continue;
                k += 10;
            }
            else if (k == K_OPEN) {
                depth += 1;
                if (depth > max_depth)
                    HAND_OVER;
                PyObject *start = PyLong_FromSsize_t(t.start);
                if (start == NULL)
                    FAIL;
                Frame *f = push_frame(&st, F_PAREN, 0);
                if (f == NULL) {
                    Py_DECREF(start);
                    FAIL;
                }
                f->start = start;
                continue;
            }
            else if (k == K_MINUS || k == K_PLUS) {
                PyObject *start = PyLong_FromSsize_t(t.start);
                if (start == NULL)
                    FAIL;
                Frame *f = push_frame(&st, F_SIGN, 30);
                if (f == NULL) {
                    Py_DECREF(start);
                    FAIL;
                }
                f->minus = k == K_MINUS;
                f->start = start;
                continue;
            }
            else if (k == K_SKIP || (k == K_NEWLINE && depth))
                continue;
            else if (top_frame(&st)->kind != F_BOTTOM || target != NULL)   /* no operand */
                HAND_OVER;
            else if (k == K_NEWLINE || k == K_SEMI) {   /* between statements */
                begin = t.gpos - 1;
                continue;
            }
            else {
                complete = k == K_END;
                HAND_OVER;
            }
        }
        /* after an operand */
        if (k >= K_PLUS && k <= K_POWER) {
            if (k == K_POWER) {
                Frame *f = push_frame(&st, F_BIN, 40);   /* right-associative: applies nothing */
                if (f == NULL)
                    FAIL;
                f->op = s_pow;
            }
            else {
                int prec = k <= K_MINUS ? 10 : 20;
                int after_sign = 0, warns = 0;   /* as _Parser.push_binary: x^-1/2 warns */
                for (;;) {
                    Frame *top = top_frame(&st);
                    if (top->kind > F_SIGN || top->prec < prec)
                        break;
                    Frame f = pop_frame(&st);
                    int rc;
                    if (f.kind == F_BIN) {
                        if (after_sign && f.prec == 40 && k == K_DIVIDE) {
                            clear_frame(&f);
                            warns = 1;
                            break;
                        }
                        rc = apply_binary(&st, f.op);
                        after_sign = 0;
                    }
                    else {
                        rc = apply_sign(&st, &f);
                        after_sign = 1;
                    }
                    clear_frame(&f);
                    if (rc < 0)
                        FAIL;
                }
                if (warns || PyList_GET_SIZE(nodes) > max_nodes)
                    HAND_OVER;
                Frame *f = push_frame(&st, F_BIN, prec);
                if (f == NULL)
                    FAIL;
                f->op = k == K_PLUS ? s_add : k == K_MINUS ? s_sub : k == K_TIMES ? s_mul
                    : s_div;
            }
            expect = 1;
            continue;
        }
        if (k == K_CLOSE || k == K_COMMA) {
            if (apply_pending(&st) < 0)   /* what is inside the group */
                FAIL;
            Frame *top = top_frame(&st);
            if (top->kind == F_BOTTOM)   /* no group is open */
                HAND_OVER;
            if (k == K_COMMA) {
                if (top->kind != F_CALL)
                    HAND_OVER;
                top->commas += 1;
                expect = 1;
                continue;
            }
            Frame f = pop_frame(&st);
            depth -= 1;
            PyObject *end = PyLong_FromSsize_t(t.gpos);   /* (the group after the ')') */
            if (end == NULL) {
                clear_frame(&f);
                FAIL;
            }
            if (f.kind == F_PAREN) {
                Operand a = pop(&st);
                PyObject *idx = a.idx;
                Py_INCREF(idx);
                clear_operand(&a);
                PyObject *start = f.start;
                f.start = NULL;
                clear_frame(&f);
                if (push(&st, idx, start, end) < 0)
                    FAIL;
                continue;
            }
            Py_ssize_t n_args = f.commas + 1;
            PyObject *call = call_of(calls, f.name, n_args);
            if (call == NULL || call == Py_None) {
                Py_XDECREF(call);
                Py_DECREF(end);
                clear_frame(&f);
                if (call == NULL)
                    FAIL;
                HAND_OVER;
            }
            PyObject *cargs = PyTuple_New(n_args);
            for (Py_ssize_t j = n_args - 1; j >= 0; j--) {   /* the last n_args operands */
                Operand o = pop(&st);
                if (cargs != NULL) {
                    PyTuple_SET_ITEM(cargs, j, o.idx);
                    o.idx = NULL;
                }
                Py_XDECREF(o.idx);
                Py_DECREF(o.start);
                Py_DECREF(o.end);
            }
            PyObject *idx = PyLong_FromSsize_t(PyList_GET_SIZE(nodes));
            PyObject *span = PyTuple_Pack(2, f.start, end);
            int rc = idx == NULL ? -1 : add_node(&st, PyTuple_GET_ITEM(call, 0), cargs,
                                                 Py_None, Py_None, span);
            if (idx == NULL) {
                Py_XDECREF(cargs);
                Py_XDECREF(span);
            }
            if (PyTuple_GET_ITEM(call, 1) == Py_True)
                tensor = 1;
            Py_DECREF(call);
            if (rc < 0) {
                Py_XDECREF(idx);
                Py_DECREF(end);
                clear_frame(&f);
                FAIL;
            }
            PyObject *start = f.start;
            f.start = NULL;
            clear_frame(&f);
            if (push(&st, idx, start, end) < 0)
                FAIL;
            if (PyList_GET_SIZE(nodes) > max_nodes)
                HAND_OVER;
            continue;
        }
        if (k == K_SKIP || (k == K_NEWLINE && depth))
            continue;
        if (depth || !(k == K_NEWLINE || k == K_SEMI || k == K_END))
            HAND_OVER;
        /* the end of a statement: what is left, as _Parser.finish_expression */
        if (apply_pending(&st) < 0)
            FAIL;
        Operand top = pop(&st);
        PyObject *name = target, *idx = top.idx;
        Py_INCREF(idx);
        if (name == NULL) {
            if (bare != NULL) {
                Py_DECREF(idx);
                clear_operand(&top);
                HAND_OVER;
            }
            int r = PyDict_Contains(inputs, s_f);
            if (r < 0) {
                Py_DECREF(idx);
                clear_operand(&top);
                FAIL;
            }
            name = r ? s_out : s_f;
            Py_INCREF(name);
        }
        else {
            Py_INCREF(name);
            if (compound != NULL) {   /* as _Parser.reference, then the operation */
                PyObject *tend = PyLong_FromSsize_t(PyLong_AsSsize_t(target_start)
                                                    + PyUnicode_GET_LENGTH(name));
                PyObject *prev = tend ? reference(&st, env, inputs, name, target_start, tend)
                                      : NULL;
                Py_XDECREF(tend);
                int rc = prev == NULL ? -1 : add_node(
                    &st, compound, PyTuple_Pack(2, prev, idx), Py_None, Py_None,
                    PyTuple_Pack(2, target_start, top.end));
                Py_XDECREF(prev);
                Py_DECREF(idx);
                idx = rc < 0 ? NULL : last_index(&st);
                if (idx == NULL) {
                    Py_DECREF(name);
                    clear_operand(&top);
                    FAIL;
                }
            }
        }
        Py_ssize_t count = PyList_GET_SIZE(nodes);
        if (count > max_nodes) {
            Py_DECREF(name);
            Py_DECREF(idx);
            clear_operand(&top);
            HAND_OVER;
        }
        if (target == NULL) {
            Py_XSETREF(bare, PyTuple_Pack(2, top.start, top.end));
            if (bare == NULL) {
                Py_DECREF(name);
                Py_DECREF(idx);
                clear_operand(&top);
                FAIL;
            }
        }
        clear_operand(&top);
        int rc = PyDict_SetItem(env, name, idx);
        Py_DECREF(idx);
        Py_XSETREF(last, name);
        Py_CLEAR(target);
        if (rc < 0)
            FAIL;
        kept_nodes = count;
        kept_tensor = tensor;
        expect = 1;
        if (k == K_END) {
            complete = 1;
            HAND_OVER;
        }
        begin = t.gpos - 1;
    }

done:
    if (st.underflow) {
        PyErr_SetString(PyExc_SystemError, "gradcalc._fastparse: an operand stack underflow");
        FAIL;
    }
    if (complete && last != NULL) {
        if (PyObject_SetAttr(graph, a_tensor, tensor ? Py_True : Py_False) < 0
                || PyObject_SetAttr(graph, a_output, last) < 0)
            FAIL;
        result = graph;
        Py_INCREF(result);
    }
    else {   /* hand over: undo the statement being read */
        if (PyList_SetSlice(nodes, kept_nodes, PyList_GET_SIZE(nodes), NULL) < 0)
            FAIL;
        PyObject *key, *value, *drop = PyList_New(0);
        Py_ssize_t i = 0;
        if (drop == NULL)
            FAIL;
        while (PyDict_Next(inputs, &i, &key, &value)) {
            Py_ssize_t at = PyLong_AsSsize_t(value);
            if ((at == -1 && PyErr_Occurred()) || (at >= kept_nodes
                                                   && PyList_Append(drop, key) < 0)) {
                Py_DECREF(drop);
                FAIL;
            }
        }
        for (i = 0; i < PyList_GET_SIZE(drop); i++)
            if (PyDict_DelItem(inputs, PyList_GET_ITEM(drop, i)) < 0) {
                Py_DECREF(drop);
                FAIL;
            }
        Py_DECREF(drop);
        if (PyObject_SetAttr(graph, a_tensor, kept_tensor ? Py_True : Py_False) < 0)
            FAIL;
        /* (the separator's position: the character before the empty group after it) */
        result = PyObject_CallFunction(Resume_cls, "OnOO", graph, begin,
                                       last ? last : Py_None, bare ? bare : Py_None);
    }
error:
    Py_XDECREF(text);
    free_stacks(&st);
    Py_XDECREF(graph);
    Py_XDECREF(nodes);
    Py_XDECREF(inputs);
    Py_XDECREF(env);
    Py_XDECREF(calls);
    Py_XDECREF(literals);
    Py_XDECREF(target);
    Py_XDECREF(target_start);
    Py_XDECREF(last);
    Py_XDECREF(bare);
    return result;
}

/* --- setup ------------------------------------------------------------------------------------ */
/* Find Node's slots: the plain __slots__ class graph.Node is, with no __dict__ and no __new__ of
   its own; else leave slot[0] at -1 (nodes are then made by calling the class). */
static void
find_slots(PyObject *node_cls)
{
    static const char *names[5] = {"op", "args", "value", "text", "span"};
    Py_ssize_t found[5];
    slot[0] = -1;
    if (!PyType_Check(node_cls))
        return;
    PyTypeObject *tp = (PyTypeObject *)node_cls;
    if (tp->tp_dictoffset != 0 || tp->tp_base != &PyBaseObject_Type
            || tp->tp_new != PyBaseObject_Type.tp_new || tp->tp_alloc != PyType_GenericAlloc
            || !(tp->tp_flags & Py_TPFLAGS_HEAPTYPE))
        return;
    for (int i = 0; i < 5; i++) {
        PyObject *d = PyDict_GetItemString(tp->tp_dict, names[i]);   /* borrowed */
        if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type))
            return;
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY)
                || m->offset < (Py_ssize_t)sizeof(PyObject)
                || m->offset + (Py_ssize_t)sizeof(PyObject *) > tp->tp_basicsize)
            return;
        found[i] = m->offset;
    }
    for (int i = 0; i < 5; i++)
        slot[i] = found[i];
}

static PyObject *
setup(PyObject *module, PyObject *args)
{
    PyObject *graph, *node, *resume, *fns, *mac, *consts, *lookup, *tensors;
    if (!PyArg_ParseTuple(args, "OOOO!O!O!OO:setup", &graph, &node, &resume, &PyDict_Type,
                          &fns, &PyDict_Type, &mac, &PyDict_Type, &consts, &lookup, &tensors))
        return NULL;
    Py_INCREF(graph);
    Py_XSETREF(Graph_cls, graph);
    Py_INCREF(node);
    Py_XSETREF(Node_cls, node);
    Py_INCREF(resume);
    Py_XSETREF(Resume_cls, resume);
    Py_INCREF(fns);
    Py_XSETREF(functions, fns);
    Py_INCREF(mac);
    Py_XSETREF(macros, mac);
    Py_INCREF(consts);
    Py_XSETREF(constants, consts);
    Py_INCREF(lookup);
    Py_XSETREF(lookup_call, lookup);
    Py_INCREF(tensors);
    Py_XSETREF(tensor_names, tensors);
    find_slots(node);
    ready = 1;
    Py_RETURN_NONE;
}

/* direct_nodes([on]): whether nodes are made by writing their slots; direct_nodes(False) makes
   them by calling the class (as when Node is not the class find_slots expects: the tests run
   both), direct_nodes(True) writes the slots again where it can. */
static PyObject *
direct_nodes(PyObject *module, PyObject *args)
{
    int on = -1;
    if (!PyArg_ParseTuple(args, "|p:direct_nodes", &on))
        return NULL;
    if (on == 0)
        slot[0] = -1;
    else if (on == 1 && Node_cls != NULL)
        find_slots(Node_cls);
    return PyBool_FromLong(slot[0] >= 0);
}

static PyMethodDef methods[] = {
    {"fast_program", (PyCFunction)(void (*)(void))fast_program, METH_FASTCALL,
     "fast_program(source, limits): syntax._fast_program's Graph or _Resume, in C."},
    {"setup", setup, METH_VARARGS,
     "setup(Graph, Node, _Resume, FUNCTIONS, _MACROS, CONSTANTS, lookup_call, TENSOR_NAMES)"},
    {"direct_nodes", direct_nodes, METH_VARARGS,
     "direct_nodes([on]): whether nodes are built by writing Node's slots (else by calling "
     "the class); on: switch it."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "gradcalc._fastparse",
    "The parser's fast path (syntax._fast_program) in C.", -1, methods
};

PyMODINIT_FUNC
PyInit__fastparse(void)
{
    static const char *strings[] = {"input", "const", "neg", "add", "sub", "mul", "div", "pow",
                                    "f", "out", "dims", "-", "nodes", "inputs", "names",
                                    "tensor", "output", "static", "name"};
    PyObject **targets[] = {&s_input, &s_const, &s_neg, &s_add, &s_sub, &s_mul, &s_div, &s_pow,
                            &s_f, &s_out, &s_dims, &s_minus, &a_nodes, &a_inputs, &a_names,
                            &a_tensor, &a_output, &a_static, &a_name};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        if (*targets[i] == NULL) {
            *targets[i] = PyUnicode_InternFromString(strings[i]);
            if (*targets[i] == NULL)
                return NULL;
        }
    }
    return PyModule_Create(&module_def);
}

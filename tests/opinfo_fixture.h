/*
 * opinfo_fixture.h — reading tests/data/opinfo.bin, the fixture that
 * scripts/make_opinfo_fixtures.py writes (its docstring gives the format,
 * version 2) and tests/test_opinfo.c runs. Included by that file only.
 *
 * Every read is bounds-checked: a short or malformed file sets reader.bad
 * and reads as zeros, never past the end.
 */
#ifndef OPINFO_FIXTURE_H
#define OPINFO_FIXTURE_H

#include "nabla.h"
#include "op_info.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_INPUTS = 8 };

typedef struct {
    bool     present;
    nb_dtype dtype;
    char     layout; /* C, T, S, E: see the script */
    nb_shape shape, base;
    double  *values; /* the base's, row-major */
    bool     requires_grad;
    double  *after; /* the base after the call, or NULL if unchanged */
} fx_input;

/* An autograd status run (issue 8): which bases require grad (mask), under
 * which grad mode, and what torch reports for the result (probe 0) and, in
 * place, for the base written into (probe 1). */
enum { RUN_GRAD, RUN_NO_GRAD, RUN_NO_GRAD_LEAF, MAX_RUNS = 8 };
static char grad_fn_names[256][64]; /* the fixture's name table */
static int  n_grad_fn_names;
typedef struct {
    int  mode;
    bool raises;
    int  mask, n_probes;
    bool requires_grad[2], is_leaf[2];
    int  name[2]; /* index into grad_fn_names, or -1: None */
} fx_run;

typedef struct {
    char       op[64], tag[64];
    op_params  p;
    bool       refuse, no_gradcheck;
    int        n_inputs;
    fx_input   in[MAX_INPUTS];
    bool       raises;
    nb_dtype   out_dtype;
    nb_shape   out_shape;
    double    *out;
    bool       has_grads;
    double    *grads[MAX_INPUTS];
    int        n_runs;
    fx_run     runs[MAX_RUNS];
} fx_case;

typedef struct {
    const unsigned char *at, *end;
    bool                 bad;
} reader;

static void take(reader *r, void *dst, size_t n)
{
    if (r->bad || (size_t)(r->end - r->at) < n) {
        r->bad = true;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->at, n);
    r->at += n;
}
static unsigned rd_u8(reader *r) { uint8_t v; take(r, &v, 1); return v; }
static int64_t rd_i64(reader *r) { int64_t v; take(r, &v, 8); return v; }
static double rd_f64(reader *r) { double v; take(r, &v, 8); return v; }

static void rd_str(reader *r, char *out, size_t cap)
{
    unsigned n = rd_u8(r);
    char     buf[256];
    take(r, buf, n);
    snprintf(out, cap, "%.*s", (int)n, buf);
}
static nb_shape rd_shape(reader *r)
{
    nb_shape s = { .ndim = (int)rd_u8(r) };
    if (s.ndim > NB_MAX_DIMS) { r->bad = true; s.ndim = 0; }
    for (int i = 0; i < s.ndim; i++) s.dims[i] = rd_i64(r);
    return s;
}
/* An array as doubles (malloc'd, at least one slot). */
static double *rd_array(reader *r, int64_t *count)
{
    unsigned enc = rd_u8(r);
    uint32_t n;
    take(r, &n, 4);
    double *v = calloc((size_t)n + 1, sizeof *v);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        if (enc == 0) v[i] = rd_f64(r);
        else if (enc == 1) { float f; take(r, &f, 4); v[i] = f; }
        else if (enc == 2) { int8_t b; take(r, &b, 1); v[i] = b; }
        else { int16_t h; take(r, &h, 2); v[i] = h / 64.0; }
    }
    if (count) *count = n;
    return v;
}

static int64_t numel_of(nb_shape s)
{
    int64_t n = 1;
    for (int i = 0; i < s.ndim; i++) n *= s.dims[i];
    return n;
}

static bool read_case(reader *r, fx_case *c)
{
    memset(c, 0, sizeof *c);
    rd_str(r, c->op, sizeof c->op);
    rd_str(r, c->tag, sizeof c->tag);
    unsigned n = rd_u8(r);
    for (unsigned k = 0; k < n; k++) { int64_t v = rd_i64(r); if (k < 10) c->p.i[k] = v; }
    n = rd_u8(r);
    for (unsigned k = 0; k < n; k++) { double v = rd_f64(r); if (k < 4) c->p.d[k] = v; }
    n = rd_u8(r);
    if (n != 255) {
        c->p.dims.n = (int)n;
        for (unsigned k = 0; k < n; k++) { int8_t d; take(r, &d, 1); if (k < NB_MAX_DIMS) c->p.dims.dims[k] = d; }
    }
    if (r->at < r->end && *r->at == 255) r->at++;
    else c->p.shape = rd_shape(r);
    unsigned bits = rd_u8(r);
    c->p.flag = bits & 1;
    c->p.flag2 = bits & 2;
    c->refuse = bits & 4;
    c->no_gradcheck = bits & 8;
    c->n_inputs = (int)rd_u8(r);
    if (c->n_inputs > MAX_INPUTS) return false;
    for (int k = 0; k < c->n_inputs; k++) {
        fx_input *in = &c->in[k];
        unsigned  dt = rd_u8(r);
        if (dt == 255) continue;
        in->present = true;
        in->dtype   = (nb_dtype)dt;
        in->layout  = "CTSE"[rd_u8(r) & 3];
        in->shape   = rd_shape(r);
        in->base    = rd_shape(r);
        in->values  = rd_array(r, NULL);
        in->requires_grad = rd_u8(r);
        if (rd_u8(r)) in->after = rd_array(r, NULL);
    }
    c->raises = rd_u8(r);
    if (!c->raises) {
        c->out_dtype = (nb_dtype)rd_u8(r);
        c->out_shape = rd_shape(r);
        c->out       = rd_array(r, NULL);
        c->has_grads = rd_u8(r);
        if (c->has_grads)
            for (int k = 0; k < c->n_inputs; k++)
                if (c->in[k].requires_grad) {
                    rd_u8(r);
                    c->grads[k] = rd_array(r, NULL);
                }
        c->n_runs = (int)rd_u8(r);
        if (c->n_runs > MAX_RUNS) return false;
        for (int k = 0; k < c->n_runs; k++) {
            fx_run  *run  = &c->runs[k];
            unsigned bits = rd_u8(r);
            run->mode     = (int)(bits & 3);
            run->raises   = bits & 4;
            run->mask     = (int)rd_u8(r);
            if (run->raises) continue;
            run->n_probes = (int)rd_u8(r);
            if (run->n_probes > 2) return false;
            for (int q = 0; q < run->n_probes; q++) {
                unsigned flags = rd_u8(r), name = rd_u8(r);
                if (name != 255 && (int)name >= n_grad_fn_names) return false;
                run->requires_grad[q] = flags & 1;
                run->is_leaf[q]       = flags & 2;
                run->name[q]          = name == 255 ? -1 : (int)name;
            }
        }
    }
    return !r->bad;
}

static void free_case(fx_case *c)
{
    for (int k = 0; k < MAX_INPUTS; k++) {
        free(c->in[k].values);
        free(c->in[k].after);
        free(c->grads[k]);
    }
    free(c->out);
}

/* The name table after the header: what the runs' probes refer to. */
static void read_grad_fn_names(reader *r)
{
    n_grad_fn_names = (int)rd_u8(r);
    for (int k = 0; k < n_grad_fn_names; k++) rd_str(r, grad_fn_names[k], sizeof grad_fn_names[k]);
}

#endif /* OPINFO_FIXTURE_H */

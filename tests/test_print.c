/*
 * test_print.c — nb_to_string / nb_print against the exact text PyTorch 1.13
 * prints: the fixture table tests/data/print_cases.h (made by
 * scripts/make_print_fixtures.py) covers float modes (fixed, int, sci),
 * widths, NaN/inf, every dtype, 0-d, empty, summarised 1-d/2-d/3-d,
 * suffixes and transposed views; the rest is views, streams and errors.
 */
#include "nb_test.h"

#include "data/print_cases.h"

/* Compares and explains: prints both texts when they differ. */
static void check_text(const char *name, const char *got, const char *expected)
{
    nbt_checks++;
    if (got == NULL) {
        nbt_failures++;
        fprintf(stderr, "%s: nb_to_string failed: %s\n", name, nb_last_error());
        return;
    }
    if (strcmp(got, expected) != 0) {
        nbt_failures++;
        fprintf(stderr, "%s: printed\n%s\nexpected\n%s\n", name, got, expected);
    }
}

static void test_torch_fixtures(void)
{
    static const uint8_t no_data[1] = {0};
    int                  count      = (int)(sizeof print_cases / sizeof print_cases[0]);
    for (int i = 0; i < count; i++) {
        const print_case *c     = &print_cases[i];
        nb_shape          shape = {.ndim = c->ndim};
        for (int d = 0; d < c->ndim; d++)
            shape.dims[d] = c->shape[d];
        nb_tensor *t     = nb_from_data(c->data ? c->data : no_data, shape,
                                    NB_OPTS(.dtype = c->dtype, .requires_grad = c->requires_grad));
        nb_tensor *shown = c->transpose ? nb_transpose(t, -2, -1) : NULL;
        char      *text  = nb_to_string(shown ? shown : t);
        check_text(c->name, text, c->expected);
        nb_string_free(text);
        nb_free(shown);
        nb_free(t);
    }
}

static void test_strided_views(void)
{
    nb_tensor *row      = nb_arange(1, 4, 1, NB_OPTS());
    nb_tensor *expanded = nb_expand(row, NB_SHAPE(2, 3));
    char      *text     = nb_to_string(expanded);
    check_text("expanded", text, "tensor([[1., 2., 3.],\n        [1., 2., 3.]])");
    nb_string_free(text);

    nb_tensor *ten     = nb_arange(0, 10, 1, NB_OPTS(.dtype = NB_INT64));
    nb_tensor *stepped = nb_slice(ten, 0, 1, NB_END, 3);
    text               = nb_to_string(stepped);
    check_text("sliced with step 3", text, "tensor([1, 4, 7])");
    nb_string_free(text);

    nb_free(stepped);
    nb_free(ten);
    nb_free(expanded);
    nb_free(row);
}

/* A million elements print only their 36 shown ones: fast, and the text is
 * torch's for torch.zeros(1000, 1000). */
static void test_large_tensor_is_summarised(void)
{
    nb_tensor *big  = nb_zeros(NB_SHAPE(1000, 1000), NB_OPTS());
    char      *text = nb_to_string(big);
    check_text("zeros(1000, 1000)", text,
               "tensor([[0., 0., 0.,  ..., 0., 0., 0.],\n"
               "        [0., 0., 0.,  ..., 0., 0., 0.],\n"
               "        [0., 0., 0.,  ..., 0., 0., 0.],\n"
               "        ...,\n"
               "        [0., 0., 0.,  ..., 0., 0., 0.],\n"
               "        [0., 0., 0.,  ..., 0., 0., 0.],\n"
               "        [0., 0., 0.,  ..., 0., 0., 0.]])");
    nb_string_free(text);
    nb_free(big);
}

static void test_fprint_writes_text_and_newline(void)
{
    nb_tensor *t = nb_from_data((const float[]){1.5f, -2.0f}, NB_SHAPE(2), NB_OPTS());
    FILE      *f = tmpfile();
    NBT_CHECK(f != NULL);
    if (f == NULL) {
        nb_free(t);
        return;
    }
    NBT_CHECK(nb_fprint(f, t) == NB_OK);
    rewind(f);
    char   buf[128] = {0};
    size_t n        = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    NBT_CHECK(n == strlen("tensor([ 1.5000, -2.0000])\n"));
    NBT_CHECK(strcmp(buf, "tensor([ 1.5000, -2.0000])\n") == 0);
    NBT_CHECK(nb_print(t) == NB_OK);
    nb_free(t);
}

static void test_errors(void)
{
    NBT_CHECK(nb_to_string(NULL) == NULL);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_to_string: argument 't' is NULL");
    NBT_CHECK(nb_print(NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_print: argument 't' is NULL");

    nb_tensor *t = nb_zeros(NB_SHAPE(1), NB_OPTS());
    NBT_CHECK(nb_fprint(NULL, t) == NB_ERR_ARG);
    NBT_CHECK_ERROR(NB_ERR_ARG, "nb_fprint: argument 'f' is NULL");
    nb_free(t);

    /* A NULL from a failed op keeps the first error. */
    NBT_CHECK(nb_reshape(NULL, NB_SHAPE(2)) == NULL);
    nb_status first = nb_last_status();
    char      first_message[512];
    snprintf(first_message, sizeof first_message, "%s", nb_last_error());
    NBT_CHECK(nb_to_string(NULL) == NULL);
    NBT_CHECK(nb_print(NULL) == NB_ERR_ARG);
    NBT_CHECK_ERROR(first, first_message);

    nb_string_free(NULL); /* harmless */
}

int main(void)
{
    NBT_RUN(test_torch_fixtures);
    NBT_RUN(test_strided_views);
    NBT_RUN(test_large_tensor_is_summarised);
    NBT_RUN(test_fprint_writes_text_and_newline);
    NBT_RUN(test_errors);
    return nbt_finish();
}

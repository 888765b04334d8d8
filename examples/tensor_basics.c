/*
 * tensor_basics.c — a first look at nabla: make tensors, broadcast, reduce,
 * multiply matrices, and see an error reported instead of a crash.
 */
#include <nabla.h>
#include <stdio.h>

int main(void)
{
    nb_manual_seed(0);
    nb_scope_begin(); /* every tensor made until nb_scope_end belongs to the scope */

    /* y = X W + b, with b broadcast over the rows of X W. */
    nb_tensor *X = nb_randn(NB_SHAPE(4, 3), NB_OPTS());
    nb_tensor *W = nb_randn(NB_SHAPE(3, 2), NB_OPTS());
    nb_tensor *b = nb_randn(NB_SHAPE(2), NB_OPTS());
    nb_tensor *y = nb_add(nb_matmul(X, W), b);
    if (y == NULL) {
        fprintf(stderr, "%s\n", nb_last_error());
        return 1;
    }
    printf("y = X W + b =\n");
    nb_print(y);
    printf("column sums: ");
    nb_print(nb_sum_dims(y, NB_DIMS(0), false));

    /* Integer labels and their dtype, as PyTorch shows them. */
    int64_t    raw[4] = { 1, 0, 1, 1 };
    nb_tensor *labels = nb_from_data(raw, NB_SHAPE(4), NB_OPTS(.dtype = NB_INT64));
    printf("labels (%s): ", nb_dtype_name(nb_dtype_of(labels)));
    nb_print(labels);

    /* A bad shape is an error message, not an abort. */
    nb_tensor *bad = nb_matmul(X, nb_ones(NB_SHAPE(2, 2), NB_OPTS()));
    printf("nb_matmul with a wrong shape gives %s: %s\n", bad ? "a tensor" : "NULL", nb_last_error());

    nb_scope_end();
    return nb_live_tensors() == 0 && bad == NULL ? 0 : 1;
}

/*
 * save_load.c — save a model's weights as .safetensors and load them into a
 * fresh model of the same architecture: the outputs are identical.
 */
#include <nabla.h>
#include <stdio.h>

static nb_module *make_model(void)
{
    nb_module *layers[] = { nb_linear_new(4, 8, true), nb_tanh_new(), nb_linear_new(8, 2, true) };
    return nb_sequential_new(layers, 3);
}

int main(void)
{
    const char *path = "save_load_example.safetensors";
    nb_manual_seed(3);
    nb_module *trained = make_model();
    nb_manual_seed(4); /* a different initialisation */
    nb_module *fresh = make_model();
    if (nb_module_save(trained, path) != NB_OK || nb_module_load(fresh, path) != NB_OK) {
        fprintf(stderr, "%s\n", nb_last_error());
        return 1;
    }
    /* What the file holds, by state_dict name. */
    nb_safetensors *file = nb_safetensors_load(path);
    for (int64_t i = 0; i < nb_safetensors_count(file); i++) printf("  %s\n", nb_safetensors_name(file, i));
    nb_safetensors_free(file);

    nb_scope_begin();
    nb_tensor *x          = nb_randn(NB_SHAPE(3, 4), NB_OPTS());
    nb_tensor *difference = nb_abs(nb_sub(nb_module_forward(trained, x), nb_module_forward(fresh, x)));
    double     largest    = nb_item(nb_max(difference));
    printf("largest difference between the two models' outputs: %g\n", largest);
    nb_scope_end();

    /* A model of another shape is refused, naming the tensor. */
    nb_module *other = nb_linear_new(4, 2, true);
    nb_status  bad   = nb_module_load(other, path);
    printf("loading into a different model: %s\n", nb_last_error());
    nb_module_free(other);
    nb_module_free(trained);
    nb_module_free(fresh);
    remove(path);
    return largest == 0 && bad != NB_OK ? 0 : 1;
}

/*
 * char_transformer.c — a small character-level causal transformer: it
 * learns to continue a text file one byte at a time, prints its loss as it
 * trains, and at the end writes a sample drawn with a temperature.
 *
 *   example_char_transformer [FILE] [--steps N] [--temperature T]
 *
 * FILE defaults to a licence text every Debian system ships
 * (/usr/share/common-licenses/GPL-3, else Apache-2.0). The default of 150
 * steps runs in a few seconds (the test suite runs it); the text starts to
 * look like English words after ~2000 steps (--steps 2000, about a minute).
 *
 * The model (letters: B batch, T context, C width, V vocabulary = the
 * distinct bytes of the file):
 *   tokens (B, T) int64 -> Embedding(V, C) + learned positions (1, T, C)
 *   -> TransformerEncoder(2 pre-norm layers, 4 heads, GELU), is_causal: the
 *      fused attention with the causal rule, no (T, T) mask tensor
 *   -> LayerNorm(C) -> Linear(C, V) logits (B, T, V)
 * trained with cross-entropy against the next byte, AdamW.
 */
#include <nabla.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CONTEXT = 64, WIDTH = 64, HEADS = 4, LAYERS = 2, BATCH = 16, SAMPLE_LENGTH = 240 };

typedef struct {
    nb_module *model; /* a container: embed, encoder, norm, head; parameter positions */
    int        vocab;
} char_model;

/* A file's bytes (*size of them), or NULL. */
static unsigned char *read_text(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    unsigned char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)n)) != NULL) {
            *size = fread(text, 1, (size_t)n, f);
        }
    }
    fclose(f);
    return text;
}

/* xorshift64*: the example's own stream for picking windows and sampling. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12, *state ^= *state << 25, *state ^= *state >> 27;
    return *state * 2685821657736338717ull;
}

/* tokens (B, T) int64 -> logits (B, T, V); a new tensor in the current scope. */
static nb_tensor *forward(nb_module *model, const nb_tensor *tokens)
{
    int64_t    length = nb_size(tokens, 1);
    nb_tensor *pos    = nb_narrow(nb_module_tensor(model, "pos_embedding"), 1, 0, length);
    nb_tensor *h      = nb_add(nb_module_forward(nb_module_child(model, "embed"), tokens), pos);
    h = nb_transformer_forward(nb_module_child(model, "encoder"), h, NB_ATTENTION_OPTS(.is_causal = true));
    return nb_module_forward(nb_module_child(model, "head"), nb_module_forward(nb_module_child(model, "norm"), h));
}

static nb_module *build(int vocab)
{
    nb_transformer_layer_opts layer = nb_transformer_layer_defaults(WIDTH, HEADS);
    layer.dim_feedforward           = 4 * WIDTH;
    layer.dropout                   = 0.0;
    layer.activation                = NB_ACTIVATION_GELU;
    layer.batch_first               = true;
    layer.norm_first                = true;
    nb_module *m                    = nb_module_new("CharTransformer", NULL, NULL, NULL);
    nb_tensor *pos                  = nb_randn(NB_SHAPE(1, CONTEXT, WIDTH), NB_OPTS());
    if (m == NULL || nb_module_add_parameter(m, "pos_embedding", nb_mul_scalar_(pos, 0.02)) != NB_OK ||
        nb_module_add_child(m, "embed", nb_embedding_new(vocab, WIDTH)) != NB_OK ||
        nb_module_add_child(m, "encoder", nb_transformer_encoder_new(layer, LAYERS, false)) != NB_OK ||
        nb_module_add_child(m, "norm", nb_layer_norm_new(NB_SHAPE(WIDTH), (nb_norm_opts){ 0 })) != NB_OK ||
        nb_module_add_child(m, "head", nb_linear_new(WIDTH, vocab, true)) != NB_OK) {
        nb_module_free(m);
        return NULL;
    }
    return m;
}

/* Draw the next byte after context[0..n) with temperature; -1 on error. */
static int sample_next(nb_module *model, const int64_t *context, int64_t n, double temperature, uint64_t *rng,
                       int vocab)
{
    nb_scope_begin();
    nb_tensor *tokens = nb_from_data(context, NB_SHAPE(1, n), NB_OPTS(.dtype = NB_INT64));
    nb_tensor *last   = nb_select(nb_select(forward(model, tokens), 0, 0), 0, n - 1);
    nb_tensor *probs  = nb_softmax(nb_div_scalar(last, temperature), 0);
    float      p[256];
    int        pick   = -1;
    if (probs != NULL && nb_copy_to_buffer(probs, p, (size_t)vocab * sizeof(float)) == NB_OK) {
        double u = (double)(next_random(rng) >> 11) / 9007199254740992.0, cumulative = 0;
        pick     = vocab - 1;
        for (int i = 0; i < vocab; i++)
            if ((cumulative += p[i]) > u) {
                pick = i;
                break;
            }
    }
    nb_scope_end();
    return pick;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    long        steps = 150;
    double      temperature = 0.8;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--temperature") == 0 && i + 1 < argc) temperature = strtod(argv[++i], NULL);
        else path = argv[i];
    }
    if (steps < 1 || !(temperature > 0)) {
        fprintf(stderr, "usage: %s [FILE] [--steps N >= 1] [--temperature T > 0]\n", argv[0]);
        return 2;
    }
    static const char *const defaults[] = { "/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0" };
    size_t                   size = 0;
    unsigned char           *text = NULL;
    for (int i = 0; path == NULL && i < 2; i++)
        if ((text = read_text(defaults[i], &size)) != NULL) path = defaults[i];
    if (text == NULL && path != NULL) text = read_text(path, &size);
    if (text == NULL || size < CONTEXT + 2) {
        fprintf(stderr, "%s: cannot read a text of at least %d bytes from %s\n", argv[0], CONTEXT + 2,
                path ? path : "/usr/share/common-licenses (give a file)");
        free(text);
        return 1;
    }
    /* The vocabulary: the distinct bytes, in byte order. */
    int     id_of[256], vocab = 0;
    uint8_t byte_of[256];
    for (int b = 0; b < 256; b++)
        id_of[b] = -1;
    for (size_t i = 0; i < size; i++)
        id_of[text[i]] = 0;
    for (int b = 0; b < 256; b++)
        if (id_of[b] == 0) byte_of[vocab] = (uint8_t)b, id_of[b] = vocab++;
    printf("%s: %zu bytes, %d distinct; %ld steps of %d windows of %d\n", path, size, vocab, steps, BATCH, CONTEXT);

    nb_manual_seed(0);
    nb_module *model = build(vocab);
    nb_adam_opts o   = nb_adamw_defaults();
    o.lr             = 3e-3;
    nb_optim *adamw  = model ? nb_adamw_for(model, o) : NULL;
    if (adamw == NULL) {
        fprintf(stderr, "setup: %s\n", nb_last_error());
        nb_module_free(model);
        free(text);
        return 1;
    }
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int64_t  x[BATCH * CONTEXT], y[BATCH * CONTEXT];
    double   smoothed = 0;
    for (long step = 1; step <= steps; step++) {
        for (int b = 0; b < BATCH; b++) {
            size_t start = next_random(&rng) % (size - CONTEXT - 1);
            for (int t = 0; t < CONTEXT; t++) {
                x[b * CONTEXT + t] = id_of[text[start + t]];
                y[b * CONTEXT + t] = id_of[text[start + t + 1]];
            }
        }
        nb_scope_begin();
        nb_tensor *tokens  = nb_from_data(x, NB_SHAPE(BATCH, CONTEXT), NB_OPTS(.dtype = NB_INT64));
        nb_tensor *targets = nb_from_data(y, NB_SHAPE(BATCH * CONTEXT), NB_OPTS(.dtype = NB_INT64));
        nb_tensor *logits  = nb_reshape(forward(model, tokens), NB_SHAPE(BATCH * CONTEXT, vocab));
        nb_tensor *loss    = nb_cross_entropy(logits, targets, NB_CROSS_ENTROPY_OPTS());
        double     value   = loss ? nb_item(loss) : NAN;
        bool       ok      = loss && nb_backward(loss) == NB_OK && nb_optim_step(adamw) == NB_OK;
        nb_optim_zero_grad(adamw);
        nb_scope_end();
        if (!ok) {
            fprintf(stderr, "step %ld: %s\n", step, nb_last_error());
            break;
        }
        smoothed = step == 1 ? value : 0.9 * smoothed + 0.1 * value;
        if (step % 25 == 0 || step == 1 || step == steps) printf("step %5ld  loss %.3f\n", step, smoothed);
    }

    /* A sample: start from the file's first bytes, draw SAMPLE_LENGTH more. */
    nb_module_train(model, false);
    nb_no_grad_begin();
    int64_t context[CONTEXT];
    int64_t n = 16;
    for (int t = 0; t < n; t++)
        context[t] = id_of[text[t]];
    printf("sample (temperature %.2f):\n%.*s", temperature, (int)n, (const char *)text);
    for (int i = 0; i < SAMPLE_LENGTH; i++) {
        int next = sample_next(model, context, n, temperature, &rng, vocab);
        if (next < 0) {
            fprintf(stderr, "\nsampling: %s\n", nb_last_error());
            break;
        }
        putchar(byte_of[next]);
        if (n == CONTEXT) memmove(context, context + 1, (CONTEXT - 1) * sizeof context[0]), n--;
        context[n++] = next;
    }
    printf("\n");
    nb_no_grad_end();
    nb_optim_free(adamw);
    nb_module_free(model);
    free(text);
    return 0;
}

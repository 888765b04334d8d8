/*
 * vit.c — the vision transformer of nabla-train (--model vit), as
 * scripts/train_vit_torch.py writes the same network in PyTorch (same
 * parameter names, so model.safetensors loads into it):
 *
 *   image (B, 1, 28, 28) -> 16 patches of 7x7 = (B, 16, 49)
 *   patch_embed  Linear(49, 64)                           -> (B, 16, 64)
 *   cls_token    a learned (1, 1, 64) row put in front     -> (B, 17, 64)
 *   pos_embedding  learned positions (1, 17, 64), added: just a parameter,
 *                  initialised N(0, 0.02), like the class token's zeros
 *   encoder      TransformerEncoder: 2 pre-norm layers, 4 heads, GELU,
 *                feed-forward 128, no dropout, batch_first
 *   norm         LayerNorm(64) of the class token's output
 *   head         Linear(64, 10)
 *
 * About 77k parameters.
 */
#include "train.h"

#include <string.h>

enum { PATCH = 7, GRID = 4, PATCHES = GRID * GRID, WIDTH = 64, HEADS = 4, LAYERS = 2, FEEDFORWARD = 128 };

/* Own parameters: cls_token (0), pos_embedding (1); children by name. */
static nb_tensor *vit_forward(nb_module *self, const nb_tensor *x, void *user)
{
    (void)user;
    int64_t    batch   = nb_size(x, 0);
    /* (B, 1, 28, 28) -> (B, 4, 7, 4, 7) -> (B, 4, 4, 7, 7): patch (row, col), pixel (row, col) */
    nb_tensor *grid    = nb_permute(nb_reshape(x, NB_SHAPE(batch, GRID, PATCH, GRID, PATCH)), NB_DIMS(0, 1, 3, 2, 4));
    nb_tensor *patches = nb_reshape(grid, NB_SHAPE(batch, PATCHES, PATCH * PATCH));
    nb_tensor *tokens  = nb_module_forward(nb_module_child(self, "patch_embed"), patches);
    nb_tensor *cls     = nb_expand(nb_module_tensor(self, "cls_token"), NB_SHAPE(batch, 1, WIDTH));
    nb_tensor *parts[2] = { cls, tokens };
    nb_tensor *h        = nb_add(nb_cat(parts, 2, 1), nb_module_tensor(self, "pos_embedding"));
    h                   = nb_module_forward(nb_module_child(self, "encoder"), h);
    nb_tensor *first    = nb_module_forward(nb_module_child(self, "norm"), nb_select(h, 1, 0));
    nb_tensor *logits   = nb_module_forward(nb_module_child(self, "head"), first);
    nb_free(grid), nb_free(patches), nb_free(tokens), nb_free(cls), nb_free(h), nb_free(first);
    return logits;
}

nb_module *build_vit(void)
{
    nb_transformer_layer_opts layer = nb_transformer_layer_defaults(WIDTH, HEADS);
    layer.dim_feedforward           = FEEDFORWARD;
    layer.dropout                   = 0.0;
    layer.activation                = NB_ACTIVATION_GELU;
    layer.batch_first               = true;
    layer.norm_first                = true;
    nb_module *m                    = nb_module_new("VisionTransformer", vit_forward, NULL, NULL);
    nb_tensor *cls = nb_zeros(NB_SHAPE(1, 1, WIDTH), NB_OPTS());
    nb_tensor *pos = nb_empty(NB_SHAPE(1, PATCHES + 1, WIDTH), NB_OPTS());
    if (m == NULL || nb_module_add_parameter(m, "cls_token", cls) != NB_OK ||
        nb_module_add_parameter(m, "pos_embedding", pos) != NB_OK || nb_init_normal_(pos, 0.0, 0.02) != NB_OK ||
        nb_module_add_child(m, "patch_embed", nb_linear_new(PATCH * PATCH, WIDTH, true)) != NB_OK ||
        nb_module_add_child(m, "encoder", nb_transformer_encoder_new(layer, LAYERS, false)) != NB_OK ||
        nb_module_add_child(m, "norm", nb_layer_norm_new(NB_SHAPE(WIDTH), (nb_norm_opts){ 0 })) != NB_OK ||
        nb_module_add_child(m, "head", nb_linear_new(WIDTH, 10, true)) != NB_OK) {
        nb_module_free(m);
        return NULL;
    }
    return m;
}

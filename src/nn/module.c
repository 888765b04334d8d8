/*
 * module.c — the generic module of nabla/nn.h: a type name, a forward
 * function with its user data, a training flag, and three ordered lists of
 * named things it owns: parameters, buffers and child modules.
 *
 * Full names are built as torch's state_dict builds them: a module's own
 * tensors first, in registration order, then each child's under the prefix
 * "<child name>." ("features.3.weight"). A module has at most one parent,
 * which makes the ownership a tree: nb_module_free frees a module's tensors
 * and its whole subtree, and unhooks it from its parent if it has one.
 *
 * Tensors a module owns are taken out of any scope (nbi_unscope), so they
 * live until the module is freed, whatever scope was open when they were
 * made.
 */
#include "nn/module.h"
#include "core/backend.h"

#include <stdlib.h>

typedef struct {
    char      *name;
    nb_tensor *tensor;
} named_tensor;

typedef struct {
    named_tensor *items;
    int64_t       count, capacity;
} tensor_list;

typedef struct {
    char      *name;
    nb_module *module;
} named_child;

/* The full names handed out by nb_module_parameters / nb_module_buffers.
 * The caller borrows them "while m lives", so a list is never freed before
 * the module: a call whose names equal the newest list's reuses it, and a
 * changed set (a tensor or child added since) pushes a new list. */
typedef struct name_list {
    char            **names;
    int64_t           count;
    struct name_list *older;
} name_list;

struct nb_module {
    nbi_handle_head head; /* NBI_OBJECT_LIVE; DEAD once freed; the generation (handles.h) */
    char         *type;
    nb_forward_fn forward;
    nbi_in_place_fn forward_in_place; /* NULL: none */
    nbi_then_relu_fn forward_then_relu; /* NULL: none */
    void         *user;
    void        (*free_user)(void *);
    bool          training;
    nb_module    *parent;
    tensor_list   parameters;
    tensor_list   buffers;
    named_child  *children;
    int64_t       child_count, child_capacity;
    name_list    *parameter_names;
    name_list    *buffer_names;
};

bool nbi_check_pointer(const void *p, const char *op, const char *name)
{
    if (p != NULL) return true;
    if (nb_last_status() == NB_OK) nbi_fail(NB_ERR_ARG, "%s: argument '%s' is NULL", op, name);
    return false;
}

nbi_handle_class nbi_module_handles = NBI_HANDLE_CLASS("module", sizeof(nb_module), 22);

static bool module_live(const nb_module *m) { return nbi_handle_live(&nbi_module_handles, m, NBI_OBJECT_LIVE); }

bool nbi_check_module(const nb_module *m, const char *op, const char *name)
{
    if (!nbi_check_pointer(m, op, name)) return false;
    if (module_live(m)) return true;
    nbi_fail(NB_ERR_STATE, "%s: argument '%s' is a module that was freed", op, name);
    return false;
}

static char *copy_string(const char *s)
{
    size_t n    = strlen(s) + 1;
    char  *copy = malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}

/* ------------------------------------------------------------------------ */
/* Creation and freeing                                                      */
/* ------------------------------------------------------------------------ */

nb_module *nb_module_new(const char *type, nb_forward_fn forward, void *user, void (*free_user)(void *))
{
    nb_module *m = nbi_handle_alloc(&nbi_module_handles);
    char      *t = copy_string(type ? type : "Module");
    if (m == NULL || t == NULL) {
        if (m != NULL) nbi_handle_free(&nbi_module_handles, m);
        free(t);
        if (free_user) free_user(user); /* taken over, as on success */
        return nbi_fail(NB_ERR_OOM, "nb_module_new: out of memory");
    }
    m->head.magic = NBI_OBJECT_LIVE;
    m->type      = t;
    m->forward   = forward;
    m->user      = user;
    m->free_user = free_user;
    m->training  = true;
    return m;
}

static void free_tensor_list(tensor_list *list)
{
    for (int64_t i = 0; i < list->count; i++) {
        free(list->items[i].name);
        nbi_module_free_tensor(list->items[i].tensor);
    }
    free(list->items);
}

static void free_name_lists(name_list *list)
{
    while (list) {
        name_list *older = list->older;
        for (int64_t i = 0; i < list->count; i++) free(list->names[i]);
        free(list->names);
        free(list);
        list = older;
    }
}

static void free_subtree(nb_module *m)
{
    for (int64_t i = 0; i < m->child_count; i++) {
        free_subtree(m->children[i].module);
        free(m->children[i].name);
    }
    free(m->children);
    free_tensor_list(&m->parameters);
    free_tensor_list(&m->buffers);
    free_name_lists(m->parameter_names);
    free_name_lists(m->buffer_names);
    if (m->free_user) m->free_user(m->user);
    free(m->type);
    m->head.magic = NBI_OBJECT_DEAD;
    nbi_handle_retire(&nbi_module_handles, m);
    nbi_handle_free_later(&nbi_module_handles, m);
}

void nb_module_free(nb_module *m)
{
    if (m == NULL) return;
    if (!module_live(m)) {
        nbi_fail(NB_ERR_STATE, "nb_module_free: the module was already freed");
        return;
    }
    nb_module *parent = m->parent;
    if (parent) { /* a child freed on its own: unhook it first */
        for (int64_t i = 0; i < parent->child_count; i++) {
            if (parent->children[i].module != m) continue;
            free(parent->children[i].name);
            memmove(&parent->children[i], &parent->children[i + 1],
                    (size_t)(parent->child_count - i - 1) * sizeof *parent->children);
            parent->child_count--;
            break;
        }
    }
    free_subtree(m);
}

/* ------------------------------------------------------------------------ */
/* Registration                                                              */
/* ------------------------------------------------------------------------ */

static const named_tensor *find_tensor(const tensor_list *list, const char *name)
{
    for (int64_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].name, name) == 0) return &list->items[i];
    return NULL;
}

static nb_module *find_child(const nb_module *m, const char *name, size_t length)
{
    for (int64_t i = 0; i < m->child_count; i++) {
        const char *child = m->children[i].name;
        if (strncmp(child, name, length) == 0 && child[length] == '\0') return m->children[i].module;
    }
    return NULL;
}

/* A name for a new entry of m: not empty, no dot, not yet used by any of
 * m's parameters, buffers or children (torch keeps them in one namespace). */
static nb_status check_new_name(const nb_module *m, const char *name, const char *op)
{
    if (name[0] == '\0') return nbi_fail_status(NB_ERR_ARG, "%s: the name is empty", op);
    if (strchr(name, '.'))
        return nbi_fail_status(NB_ERR_ARG, "%s: name \"%s\" contains \".\" (dots separate the parts of a path)", op,
                               name);
    const char *kind = find_tensor(&m->parameters, name) ? "a parameter"
                       : find_tensor(&m->buffers, name)  ? "a buffer"
                       : find_child(m, name, strlen(name)) ? "a child"
                                                            : NULL;
    if (kind) return nbi_fail_status(NB_ERR_ARG, "%s: %s already has %s named \"%s\"", op, m->type, kind, name);
    return NB_OK;
}

static nb_module *root_of(nb_module *m)
{
    while (m->parent) m = m->parent;
    return m;
}

/* Whether t is already owned somewhere in m's subtree (adding it twice
 * would free it twice). */
static bool subtree_owns(const nb_module *m, const nb_tensor *t)
{
    for (int64_t i = 0; i < m->parameters.count; i++)
        if (m->parameters.items[i].tensor == t) return true;
    for (int64_t i = 0; i < m->buffers.count; i++)
        if (m->buffers.items[i].tensor == t) return true;
    for (int64_t i = 0; i < m->child_count; i++)
        if (subtree_owns(m->children[i].module, t)) return true;
    return false;
}

static bool list_append(tensor_list *list, char *name, nb_tensor *t)
{
    if (list->count == list->capacity) {
        int64_t       capacity = list->capacity ? 2 * list->capacity : 4;
        named_tensor *grown    = realloc(list->items, (size_t)capacity * sizeof *grown);
        if (grown == NULL) return false;
        list->items    = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = (named_tensor){ .name = name, .tensor = t };
    return true;
}

/* Shared by add_parameter and add_buffer: t is taken over, so every
 * failure frees it, except when m's tree already owns it (freeing it then
 * would break the module). */
static nb_status add_tensor(nb_module *m, const char *name, nb_tensor *t, bool parameter, const char *op)
{
    if (!nbi_check_tensor(t, op, "t")) return t ? NB_ERR_STATE : NB_ERR_ARG;
    if (!nbi_check_module(m, op, "m") || !nbi_check_pointer(name, op, "name")) {
        nb_free(t);
        return NB_ERR_ARG;
    }
    if (subtree_owns(root_of(m), t))
        return nbi_fail_status(NB_ERR_ARG, "%s: the tensor given for \"%s\" already belongs to this module tree", op,
                               name);
    if (t->module_owner != NULL)
        return nbi_fail_status(NB_ERR_ARG, "%s: the tensor given for \"%s\" already belongs to a module; a tensor "
                                           "belongs to one module only (clone it)", op, name ? name : "");
    nb_status status = check_new_name(m, name, op);
    if (status == NB_OK && parameter && !nb_dtype_is_floating(t->dtype))
        status = nbi_fail_status(NB_ERR_DTYPE, "%s: parameter \"%s\" is %s; parameters must be floating point", op,
                                 name, nb_dtype_name(t->dtype));
    if (status != NB_OK) {
        nb_free(t);
        return status;
    }
    if (parameter && t->grad_fn != NULL) {
        /* A parameter is a leaf, as torch's nn.Parameter(t) detaches t. */
        nb_tensor *leaf = nb_detach(t);
        nb_free(t);
        if (leaf == NULL) return nb_last_status();
        t = leaf;
    }
    char *copy = copy_string(name);
    if (copy == NULL || !list_append(parameter ? &m->parameters : &m->buffers, copy, t)) {
        free(copy);
        nb_free(t);
        return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    }
    nbi_unscope(t);
    t->module_owner = m;
    if (parameter) t->requires_grad = true;
    return NB_OK;
}

nb_status nb_module_add_parameter(nb_module *m, const char *name, nb_tensor *t)
{
    return add_tensor(m, name, t, true, "nb_module_add_parameter");
}

nb_status nb_module_add_buffer(nb_module *m, const char *name, nb_tensor *t)
{
    return add_tensor(m, name, t, false, "nb_module_add_buffer");
}

nb_status nb_module_add_child(nb_module *m, const char *name, nb_module *child)
{
    const char *op = "nb_module_add_child";
    if (!nbi_check_module(child, op, "child")) return NB_ERR_ARG;
    if (!nbi_check_module(m, op, "m") || !nbi_check_pointer(name, op, "name")) {
        if (child->parent == NULL) nb_module_free(child);
        return NB_ERR_ARG;
    }
    /* Neither of these is the caller's to give away: leave them alone. */
    if (child->parent)
        return nbi_fail_status(NB_ERR_ARG, "%s: the %s given for \"%s\" is already a child of a %s", op, child->type,
                               name, child->parent->type);
    if (root_of(m) == child)
        return nbi_fail_status(NB_ERR_ARG, "%s: adding %s \"%s\" would make a module its own descendant", op,
                               child->type, name);
    nb_status status = check_new_name(m, name, op);
    if (status != NB_OK) {
        nb_module_free(child);
        return status;
    }
    char *copy = copy_string(name);
    if (copy && m->child_count == m->child_capacity) {
        int64_t      capacity = m->child_capacity ? 2 * m->child_capacity : 4;
        named_child *grown    = realloc(m->children, (size_t)capacity * sizeof *grown);
        if (grown) {
            m->children       = grown;
            m->child_capacity = capacity;
        }
    }
    if (copy == NULL || m->child_count == m->child_capacity) {
        free(copy);
        nb_module_free(child);
        return nbi_fail_status(NB_ERR_OOM, "%s: out of memory", op);
    }
    m->children[m->child_count++] = (named_child){ .name = copy, .module = child };
    child->parent                 = m;
    return NB_OK;
}

/* ------------------------------------------------------------------------ */
/* Running, mode, lookup                                                     */
/* ------------------------------------------------------------------------ */

nb_tensor *nb_module_forward(nb_module *m, const nb_tensor *x)
{
    if (!nbi_check_module(m, "nb_module_forward", "m") || !nbi_check_tensor(x, "nb_module_forward", "x")) return NULL;
    if (m->forward == NULL)
        return nbi_fail(NB_ERR_STATE, "nb_module_forward: the %s module has no forward function", m->type);
    nb_tensor *y = m->forward(m, x, m->user);
    if (y == NULL && nb_last_status() == NB_OK)
        nbi_fail(NB_ERR_STATE, "nb_module_forward: the forward of %s returned NULL without recording an error",
                 m->type);
    return y;
}

void nb_module_train(nb_module *m, bool training)
{
    if (m == NULL) return;
    m->training = training;
    for (int64_t i = 0; i < m->child_count; i++) nb_module_train(m->children[i].module, training);
}

bool        nb_module_is_training(const nb_module *m) { return m != NULL && m->training; }
const char *nb_module_type(const nb_module *m) { return m ? m->type : NULL; }

/* The descendant at the first length characters of path ("features.0"),
 * or NULL with NB_ERR_ARG naming the missing part. length 0: m itself. */
static nb_module *walk(nb_module *m, const char *path, size_t length, const char *op)
{
    size_t start = 0;
    while (length > 0 && start <= length) {
        const char *dot  = memchr(path + start, '.', length - start);
        size_t      end  = dot ? (size_t)(dot - path) : length;
        nb_module  *next = find_child(m, path + start, end - start);
        if (next == NULL)
            return nbi_fail(NB_ERR_ARG, "%s: %s has no child \"%.*s\" (looking up \"%s\")", op, m->type,
                            (int)(end - start), path + start, path);
        m     = next;
        start = end + 1;
    }
    return m;
}

nb_module *nb_module_child(nb_module *m, const char *name)
{
    if (!nbi_check_module(m, "nb_module_child", "m") || !nbi_check_pointer(name, "nb_module_child", "name"))
        return NULL;
    if (name[0] == '\0') return nbi_fail(NB_ERR_ARG, "nb_module_child: the name is empty");
    return walk(m, name, strlen(name), "nb_module_child");
}

nb_tensor *nb_module_tensor(nb_module *m, const char *path)
{
    const char *op = "nb_module_tensor";
    if (!nbi_check_module(m, op, "m") || !nbi_check_pointer(path, op, "path")) return NULL;
    const char *last  = strrchr(path, '.');
    const char *name  = last ? last + 1 : path;
    nb_module  *owner = walk(m, path, last ? (size_t)(last - path) : 0, op);
    if (owner == NULL) return NULL;
    const named_tensor *found = find_tensor(&owner->parameters, name);
    if (found == NULL) found = find_tensor(&owner->buffers, name);
    if (found == NULL)
        return nbi_fail(NB_ERR_ARG, "%s: %s has no parameter or buffer \"%s\" (looking up \"%s\")", op, owner->type,
                        name, path);
    return found->tensor;
}

/* ------------------------------------------------------------------------ */
/* Iteration over the subtree                                                */
/* ------------------------------------------------------------------------ */

/* Walks m's subtree in state_dict order. count is every tensor seen;
 * tensors[] gets the first capacity; names[] (when non-NULL, sized for all)
 * gets each full name, malloc'd. */
typedef struct {
    bool        buffers;
    nb_tensor **tensors;
    int64_t     capacity;
    char      **names;
    int64_t     count;
    bool        out_of_memory;
} walker;

static char *join_name(const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char  *s = malloc(a + b + 2);
    if (s == NULL) return NULL;
    memcpy(s, prefix, a);
    if (a) s[a++] = '.';
    memcpy(s + a, name, b + 1);
    return s;
}

static void visit(const nb_module *m, const char *prefix, walker *w)
{
    const tensor_list *list = w->buffers ? &m->buffers : &m->parameters;
    for (int64_t i = 0; i < list->count; i++, w->count++) {
        if (w->tensors && w->count < w->capacity) w->tensors[w->count] = list->items[i].tensor;
        if (w->names) {
            w->names[w->count] = join_name(prefix, list->items[i].name);
            if (w->names[w->count] == NULL) w->out_of_memory = true;
        }
    }
    for (int64_t i = 0; i < m->child_count; i++) {
        if (w->names == NULL) {
            visit(m->children[i].module, "", w);
            continue;
        }
        char *child_prefix = join_name(prefix, m->children[i].name);
        if (child_prefix == NULL) {
            w->out_of_memory = true;
            return;
        }
        visit(m->children[i].module, child_prefix, w);
        free(child_prefix);
    }
}

static int64_t count_subtree(const nb_module *m, bool buffers)
{
    int64_t n = buffers ? m->buffers.count : m->parameters.count;
    for (int64_t i = 0; i < m->child_count; i++) n += count_subtree(m->children[i].module, buffers);
    return n;
}

/* The newest name list of m equal to names[0..count), reusing it when the
 * names have not changed, or pushing names as the newest list (taken over
 * either way). NULL on out of memory (names freed). */
static name_list *keep_names(name_list **newest, char **names, int64_t count)
{
    name_list *list = *newest;
    bool       same = list != NULL && list->count == count;
    for (int64_t i = 0; same && i < count; i++) same = strcmp(list->names[i], names[i]) == 0;
    if (same) {
        for (int64_t i = 0; i < count; i++) free(names[i]);
        free(names);
        return list;
    }
    list = malloc(sizeof *list);
    if (list == NULL) {
        for (int64_t i = 0; i < count; i++) free(names[i]);
        free(names);
        return NULL;
    }
    *list   = (name_list){ .names = names, .count = count, .older = *newest };
    *newest = list;
    return list;
}

static int64_t out_of_memory(const char *op)
{
    nbi_fail(NB_ERR_OOM, "%s: out of memory", op);
    return -1;
}

static int64_t list_subtree(nb_module *m, nb_tensor **tensors, const char **names, int64_t capacity, bool buffers,
                            const char *op)
{
    if (!nbi_check_module(m, op, "m")) return -1;
    if (capacity < 0) {
        nbi_fail(NB_ERR_ARG, "%s: capacity is negative (%lld)", op, (long long)capacity);
        return -1;
    }
    walker w = { .buffers = buffers, .tensors = tensors, .capacity = capacity };
    if (names == NULL || capacity == 0) {
        visit(m, "", &w);
        return w.count;
    }
    int64_t total = count_subtree(m, buffers);
    w.names       = calloc((size_t)(total > 0 ? total : 1), sizeof *w.names);
    if (w.names == NULL) return out_of_memory(op);
    visit(m, "", &w);
    if (w.out_of_memory) {
        for (int64_t i = 0; i < total; i++) free(w.names[i]);
        free(w.names);
        return out_of_memory(op);
    }
    name_list *kept = keep_names(buffers ? &m->buffer_names : &m->parameter_names, w.names, total);
    if (kept == NULL) return out_of_memory(op);
    for (int64_t i = 0; i < total && i < capacity; i++) names[i] = kept->names[i];
    return total;
}

int64_t nb_module_parameters(nb_module *m, nb_tensor **tensors, const char **names, int64_t capacity)
{
    return list_subtree(m, tensors, names, capacity, false, "nb_module_parameters");
}

int64_t nb_module_buffers(nb_module *m, nb_tensor **tensors, const char **names, int64_t capacity)
{
    return list_subtree(m, tensors, names, capacity, true, "nb_module_buffers");
}

static int64_t numel_subtree(const nb_module *m)
{
    int64_t n = 0;
    for (int64_t i = 0; i < m->parameters.count; i++) n += m->parameters.items[i].tensor->numel;
    for (int64_t i = 0; i < m->child_count; i++) n += numel_subtree(m->children[i].module);
    return n;
}

int64_t nb_module_parameter_numel(nb_module *m)
{
    if (!nbi_check_module(m, "nb_module_parameter_numel", "m")) return -1;
    return numel_subtree(m);
}

void nb_module_zero_grad(nb_module *m)
{
    if (m == NULL) return;
    for (int64_t i = 0; i < m->parameters.count; i++) nb_set_grad(m->parameters.items[i].tensor, NULL);
    for (int64_t i = 0; i < m->child_count; i++) nb_module_zero_grad(m->children[i].module);
}

/* Every parameter and buffer of m's subtree, and each parameter's gradient
 * (NULL where none): count entries. */
static nb_tensor **subtree_tensors(nb_module *m, int64_t *count)
{
    int64_t params = nb_module_parameters(m, NULL, NULL, 0), buffers = nb_module_buffers(m, NULL, NULL, 0);
    if (params < 0 || buffers < 0) return NULL;
    *count             = params + buffers;
    nb_tensor **tensors = calloc((size_t)(*count > 0 ? *count : 1) * 2, sizeof *tensors);
    if (tensors == NULL) return nbi_fail(NB_ERR_OOM, "nb_module_to: out of memory");
    nb_module_parameters(m, tensors, NULL, params);
    nb_module_buffers(m, tensors + params, NULL, buffers);
    for (int64_t i = 0; i < params; i++) tensors[*count + i] = nb_grad(tensors[i]);
    return tensors;
}

nb_status nb_module_to(nb_module *m, nb_device device)
{
    if (!nbi_check_module(m, "nb_module_to", "m")) return nb_last_status();
    if (!nbi_check_target_device(device, "nb_module_to")) return nb_last_status();
    int64_t     count;
    nb_tensor **tensors = subtree_tensors(m, &count);
    if (tensors == NULL) return nb_last_status();
    /* All copies first, then the swap: a failed copy (out of device
     * memory) leaves the module as it was. */
    nb_tensor **moved  = calloc((size_t)(count > 0 ? count : 1) * 2, sizeof *moved);
    nb_status   status = moved ? NB_OK : nbi_fail_status(NB_ERR_OOM, "nb_module_to: out of memory");
    nb_no_grad_begin();
    for (int64_t i = 0; status == NB_OK && i < 2 * count; i++) {
        if (tensors[i] == NULL) continue;
        moved[i] = nb_to(tensors[i], device);
        if (moved[i] == NULL) status = nb_last_status();
    }
    nb_no_grad_end();
    for (int64_t i = 0; status == NB_OK && i < 2 * count; i++)
        if (moved[i] != NULL && moved[i]->storage != tensors[i]->storage)
            nbi_tensor_take_storage(tensors[i], moved[i]);
    for (int64_t i = 0; moved != NULL && i < 2 * count; i++) nb_free(moved[i]);
    free(moved);
    free(tensors);
    return status;
}

/* ------------------------------------------------------------------------ */
/* For the built-in layers (module.h)                                        */
/* ------------------------------------------------------------------------ */

nb_tensor *nbi_module_own_parameter(const nb_module *m, int64_t i)
{
    return i >= 0 && i < m->parameters.count ? m->parameters.items[i].tensor : NULL;
}

nb_tensor *nbi_module_own_buffer(const nb_module *m, int64_t i)
{
    return i >= 0 && i < m->buffers.count ? m->buffers.items[i].tensor : NULL;
}

int64_t    nbi_module_child_count(const nb_module *m) { return m->child_count; }
nb_module *nbi_module_child_at(const nb_module *m, int64_t i) { return m->children[i].module; }
bool       nbi_module_has_parent(const nb_module *m) { return m->parent != NULL; }

nb_status nbi_module_new_parameter(nb_module *m, const char *name, nb_shape shape, nb_tensor **out)
{
    nb_tensor *t = nb_empty(shape, NB_OPTS());
    if (t == NULL) return nb_last_status();
    nb_status status = nb_module_add_parameter(m, name, t);
    *out             = status == NB_OK ? t : NULL;
    return status;
}

void nbi_module_set_in_place(nb_module *m, nbi_in_place_fn fn)
{
    if (m != NULL) m->forward_in_place = fn;
}

bool nbi_module_has_in_place(const nb_module *m) { return m != NULL && m->forward_in_place != NULL; }
bool nbi_module_forward_in_place(nb_module *m, nb_tensor *x) { return m->forward_in_place(m, x, m->user); }

void nbi_module_set_then_relu(nb_module *m, nbi_then_relu_fn fn)
{
    if (m != NULL) m->forward_then_relu = fn;
}
bool       nbi_module_has_then_relu(const nb_module *m) { return m != NULL && m->forward_then_relu != NULL; }
nb_tensor *nbi_module_forward_then_relu(nb_module *m, const nb_tensor *x, bool in_place)
{
    return m->forward_then_relu(m, x, in_place, m->user);
}

nb_module *nbi_module_with_config(const char *type, nb_forward_fn forward, const void *config, size_t size)
{
    void *copy = NULL;
    if (size > 0) {
        copy = malloc(size);
        if (copy == NULL) return nbi_fail(NB_ERR_OOM, "%s: out of memory", type);
        memcpy(copy, config, size);
    }
    return nb_module_new(type, forward, copy, size > 0 ? free : NULL);
}

nb_forward_fn nbi_module_forward_fn(const nb_module *m) { return m->forward; }
void         *nbi_module_user(const nb_module *m) { return m->user; }
void *nbi_module_config_of(const nb_module *m, nb_forward_fn forward)
{
    return m->forward == forward ? m->user : NULL;
}

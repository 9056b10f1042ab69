/*
 * avl.c - the intrusive AVL tree (avl.h): NT's balanced-node tree (RTL_BALANCED_NODE,
 * MM_AVL_TABLE; RtlInsertElementGenericTableAvl, RtlDeleteElementGenericTableAvl and their
 * rebalancing, RtlpRebalanceNode) with parent links, balance factors and optional subtree
 * summaries.
 *
 * Rebalancing uses the textbook rotations. A node whose balance would reach +2 (right side
 * two higher) is fixed by one of:
 *
 *   single (Z leans right or is even)        double (Z leans left)
 *
 *       X                    Z                    X                      Y
 *      / \                  / \                  / \                   /   \
 *     a   Z       ->       X   c                a   Z       ->        X     Z
 *        / \              / \                      / \               / \   / \
 *       b   c            a   b                    Y   d             a  b1 b2  d
 *                                                / \
 *                                               b1  b2
 *
 * and the mirror images for -2. Summaries of augmented trees stay right because a rotation
 * keeps the set of nodes below its top: only the rotated nodes are recomputed.
 */
#include "base/avl.h"

/* --- links and rotations ------------------------------------------------------------------ */

static void replace_child(base_avl_tree_t *t, base_avl_node_t *parent, base_avl_node_t *old, base_avl_node_t *now)
{
    if (!parent)
        t->root = now;
    else if (parent->left == old)
        parent->left = now;
    else
        parent->right = now;
    if (now) now->parent = parent;
}

static void augment(const base_avl_tree_t *t, base_avl_node_t *n)
{
    if (t->augment) t->augment(n);
}

/* X's right child Z becomes the top of the subtree; balances are the caller's. */
static base_avl_node_t *rotate_left(base_avl_tree_t *t, base_avl_node_t *x)
{
    base_avl_node_t *z = x->right, *b = z->left;
    x->right = b;
    if (b) b->parent = x;
    replace_child(t, x->parent, x, z);
    z->left = x;
    x->parent = z;
    augment(t, x);
    augment(t, z);
    return z;
}

/* X's left child Z becomes the top of the subtree; balances are the caller's. */
static base_avl_node_t *rotate_right(base_avl_tree_t *t, base_avl_node_t *x)
{
    base_avl_node_t *z = x->left, *b = z->right;
    x->left = b;
    if (b) b->parent = x;
    replace_child(t, x->parent, x, z);
    z->right = x;
    x->parent = z;
    augment(t, x);
    augment(t, z);
    return z;
}

/*
 * X's balance is +2 or -2 (stored so for the moment). Rotates and sets the balances of the
 * nodes involved; returns the new top of the subtree. The subtree ends one lower than it
 * was at +-2 unless the heavy child was even (only possible after a removal).
 */
static base_avl_node_t *rebalance(base_avl_tree_t *t, base_avl_node_t *x)
{
    if (x->balance > 0) {
        base_avl_node_t *z = x->right;
        if (z->balance >= 0) {
            rotate_left(t, x);
            if (z->balance == 0) {
                x->balance = 1;
                z->balance = -1;
            } else {
                x->balance = 0;
                z->balance = 0;
            }
            return z;
        }
        base_avl_node_t *y = z->left;
        rotate_right(t, z);
        rotate_left(t, x);
        x->balance = (int8_t)(y->balance > 0 ? -1 : 0);
        z->balance = (int8_t)(y->balance < 0 ? 1 : 0);
        y->balance = 0;
        return y;
    }
    base_avl_node_t *z = x->left;
    if (z->balance <= 0) {
        rotate_right(t, x);
        if (z->balance == 0) {
            x->balance = -1;
            z->balance = 1;
        } else {
            x->balance = 0;
            z->balance = 0;
        }
        return z;
    }
    base_avl_node_t *y = z->right;
    rotate_left(t, z);
    rotate_right(t, x);
    x->balance = (int8_t)(y->balance < 0 ? 1 : 0);
    z->balance = (int8_t)(y->balance > 0 ? -1 : 0);
    y->balance = 0;
    return y;
}

void base_avl_augment_path(base_avl_tree_t *t, base_avl_node_t *n)
{
    if (!t->augment) return;
    for (; n; n = n->parent) t->augment(n);
}

/* --- search ------------------------------------------------------------------------------- */

base_avl_node_t *base_avl_locate(const base_avl_tree_t *t, const void *key, base_avl_key_fn fn, void *ctx,
                                 base_avl_where_t *where)
{
    base_avl_node_t *n = t->root, *parent = NULL;
    base_avl_side_t side = BASE_AVL_LEFT;
    while (n) {
        int c = fn(key, n, ctx);
        if (c == 0) return n;
        parent = n;
        side = c < 0 ? BASE_AVL_LEFT : BASE_AVL_RIGHT;
        n = c < 0 ? n->left : n->right;
    }
    if (where) {
        where->parent = parent;
        where->side = side;
    }
    return NULL;
}

base_avl_node_t *base_avl_lower_bound(const base_avl_tree_t *t, const void *key, base_avl_key_fn fn, void *ctx)
{
    base_avl_node_t *n = t->root, *res = NULL;
    while (n) {
        if (fn(key, n, ctx) <= 0) {
            res = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return res;
}

base_avl_node_t *base_avl_upper_bound(const base_avl_tree_t *t, const void *key, base_avl_key_fn fn, void *ctx)
{
    base_avl_node_t *n = t->root, *res = NULL;
    while (n) {
        if (fn(key, n, ctx) < 0) {
            res = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return res;
}

base_avl_node_t *base_avl_floor(const base_avl_tree_t *t, const void *key, base_avl_key_fn fn, void *ctx)
{
    base_avl_node_t *n = t->root, *res = NULL;
    while (n) {
        if (fn(key, n, ctx) >= 0) {
            res = n;
            n = n->right;
        } else {
            n = n->left;
        }
    }
    return res;
}

/* --- traversal ---------------------------------------------------------------------------- */

base_avl_node_t *base_avl_first(const base_avl_tree_t *t)
{
    base_avl_node_t *n = t->root;
    if (n)
        while (n->left) n = n->left;
    return n;
}

base_avl_node_t *base_avl_last(const base_avl_tree_t *t)
{
    base_avl_node_t *n = t->root;
    if (n)
        while (n->right) n = n->right;
    return n;
}

base_avl_node_t *base_avl_next(const base_avl_node_t *n)
{
    if (n->right) {
        base_avl_node_t *m = n->right;
        while (m->left) m = m->left;
        return m;
    }
    base_avl_node_t *p = n->parent;
    while (p && p->right == n) {
        n = p;
        p = p->parent;
    }
    return p;
}

base_avl_node_t *base_avl_prev(const base_avl_node_t *n)
{
    if (n->left) {
        base_avl_node_t *m = n->left;
        while (m->right) m = m->right;
        return m;
    }
    base_avl_node_t *p = n->parent;
    while (p && p->left == n) {
        n = p;
        p = p->parent;
    }
    return p;
}

/* --- insert ------------------------------------------------------------------------------- */

void base_avl_insert_at(base_avl_tree_t *t, base_avl_node_t *n, base_avl_where_t where)
{
    base_avl_node_t *x = where.parent;
    n->left = n->right = NULL;
    n->balance = 0;
    n->parent = x;
    if (!x)
        t->root = n;
    else if (where.side == BASE_AVL_LEFT)
        x->left = n;
    else
        x->right = n;
    t->count++;
    if (t->augment) {
        t->augment(n);
        base_avl_augment_path(t, x);
    }
    /* Retrace: the subtree under x grew on the child's side. */
    base_avl_node_t *child = n;
    while (x) {
        x->balance = (int8_t)(x->balance + (child == x->left ? -1 : 1));
        if (x->balance == 0) break;  /* the shorter side caught up: height unchanged */
        if (x->balance == 2 || x->balance == -2) {
            rebalance(t, x);  /* back to the height before the insert */
            break;
        }
        child = x;  /* was even, now leans: one higher, tell the parent */
        x = x->parent;
    }
}

base_avl_node_t *base_avl_insert(base_avl_tree_t *t, base_avl_node_t *n, base_avl_cmp_fn cmp, void *ctx)
{
    base_avl_node_t *m = t->root;
    base_avl_where_t where = { NULL, BASE_AVL_LEFT };
    while (m) {
        int c = cmp(n, m, ctx);
        if (c == 0) return m;
        where.parent = m;
        where.side = c < 0 ? BASE_AVL_LEFT : BASE_AVL_RIGHT;
        m = c < 0 ? m->left : m->right;
    }
    base_avl_insert_at(t, n, where);
    return NULL;
}

/* --- remove ------------------------------------------------------------------------------- */

void base_avl_remove(base_avl_tree_t *t, base_avl_node_t *n)
{
    base_avl_node_t *x;  /* the lowest node whose subtree lost a level on side `left` */
    bool left;
    if (n->left && n->right) {
        /* The successor y (leftmost of the right subtree, no left child) takes n's place. */
        base_avl_node_t *y = n->right;
        while (y->left) y = y->left;
        if (y == n->right) {
            x = y;
            left = false;
        } else {
            x = y->parent;
            left = true;
            x->left = y->right;
            if (y->right) y->right->parent = x;
            y->right = n->right;
            n->right->parent = y;
        }
        y->left = n->left;
        n->left->parent = y;
        y->balance = n->balance;
        replace_child(t, n->parent, n, y);
    } else {
        base_avl_node_t *child = n->left ? n->left : n->right;
        x = n->parent;
        left = x && x->left == n;
        replace_child(t, x, n, child);
    }
    n->left = n->right = n->parent = NULL;
    n->balance = 0;
    t->count--;
    base_avl_augment_path(t, x);
    /* Retrace: x's subtree on side `left` is one lower. */
    while (x) {
        base_avl_node_t *g = x->parent;
        bool x_left = g && g->left == x;
        x->balance = (int8_t)(x->balance + (left ? 1 : -1));
        if (x->balance == 1 || x->balance == -1) break;  /* was even: height unchanged */
        if (x->balance != 0) {
            base_avl_node_t *heavy = x->balance > 0 ? x->right : x->left;
            bool even = heavy->balance == 0;
            rebalance(t, x);
            if (even) break;  /* the single rotation kept the height */
        }
        x = g;  /* this subtree is one lower: tell the parent */
        left = x_left;
    }
}

/* --- whole-tree operations ---------------------------------------------------------------- */

void base_avl_drain(base_avl_tree_t *t, void (*fn)(base_avl_node_t *n, void *ctx), void *ctx)
{
    base_avl_node_t *n = t->root;
    while (n) {
        if (n->left) {
            n = n->left;
        } else if (n->right) {
            n = n->right;
        } else {
            base_avl_node_t *p = n->parent;
            if (p) {
                if (p->left == n)
                    p->left = NULL;
                else
                    p->right = NULL;
            }
            n->parent = NULL;
            n->balance = 0;
            if (fn) fn(n, ctx);
            n = p;
        }
    }
    t->root = NULL;
    t->count = 0;
}

static unsigned height_of(const base_avl_node_t *n)
{
    if (!n) return 0;
    unsigned l = height_of(n->left), r = height_of(n->right);
    return 1u + (l > r ? l : r);
}

unsigned base_avl_height(const base_avl_tree_t *t) { return height_of(t->root); }

#define AVL_MAX_DEPTH 96 /* an AVL tree of height 96 would need more than 2^64 nodes */

typedef struct avl_check {
    const base_avl_tree_t *t;
    base_avl_cmp_fn cmp;
    void *ctx;
    const base_avl_node_t *prev; /* in-order predecessor of the node being visited */
    uint64_t seen;
    const base_avl_node_t *bad;
} avl_check_t;

/* The height of n's subtree, or -1 after recording the first bad node. */
static int check_node(avl_check_t *c, const base_avl_node_t *n, const base_avl_node_t *parent, unsigned depth)
{
    if (!n) return 0;
    if (depth > AVL_MAX_DEPTH || ++c->seen > c->t->count || n->parent != parent) {
        c->bad = n;
        return -1;
    }
    int hl = check_node(c, n->left, n, depth + 1);
    if (hl < 0) return -1;
    if (c->prev && c->cmp && c->cmp(c->prev, n, c->ctx) >= 0) {
        c->bad = n;
        return -1;
    }
    c->prev = n;
    int hr = check_node(c, n->right, n, depth + 1);
    if (hr < 0) return -1;
    if (hr - hl != n->balance || n->balance < -1 || n->balance > 1) {
        c->bad = n;
        return -1;
    }
    return 1 + (hl > hr ? hl : hr);
}

bool base_avl_check(const base_avl_tree_t *t, base_avl_cmp_fn cmp, void *ctx, const base_avl_node_t **bad)
{
    avl_check_t c = { t, cmp, ctx, NULL, 0, NULL };
    bool ok = check_node(&c, t->root, NULL, 0) >= 0 && c.seen == t->count;
    if (bad) *bad = ok ? NULL : c.bad;
    return ok;
}

/*
 * avl.h - an intrusive AVL tree, written once (NT's RTL_BALANCED_NODE and the MM_AVL_TABLE
 * that holds a process's VADs; RtlInsertElementGenericTableAvl, RtlDeleteElementGenericTableAvl,
 * RtlLookupElementGenericTableAvl and the "find node or parent" step MiFindNodeOrParent).
 * Users: the VAD tree (mm/vad.h); anything else that needs an ordered set with O(log n)
 * insert, delete and search.
 *
 * The owner embeds a base_avl_node_t in its own structure and recovers it with
 * BASE_AVL_ENTRY. The tree never allocates and never compares by itself: every operation
 * that needs an order takes a callback.
 *
 *                     root
 *                    [ 40 ] balance +1             balance = height(right) - height(left),
 *                   /      \                       always -1, 0 or +1
 *            [ 20 ] 0      [ 60 ] -1
 *            /    \         /
 *       [ 10 ]  [ 30 ]  [ 50 ]                     every node links to its parent
 *
 * Two kinds of callback:
 *   base_avl_cmp_fn(a, b, ctx)   orders two nodes: < 0, 0, > 0 as a is before, equal to,
 *                                after b. Used by base_avl_insert and base_avl_check.
 *   base_avl_key_fn(key, n, ctx) orders a key against a node: < 0 if the key is before n,
 *                                0 if it matches n, > 0 if after. A key may match a whole
 *                                range of a node (a VPN inside a VAD), as long as the
 *                                answers are monotonic along the in-order sequence.
 *
 * Augmentation (optional): a tree created with base_avl_init_augmented keeps a summary of
 * every subtree in the owner's nodes (say, the largest free gap below a VAD). The tree calls
 * augment(n) whenever n's children changed, children before parents, so that n's summary
 * can be recomputed from n and its two children; a summary must depend on nothing else.
 * When the owner changes what a node's own summary depends on (a key it shrank in place
 * without changing the order), it calls base_avl_augment_path(n).
 *
 * Costs: insert, remove, find, the bounds, first and last O(log n); next and prev O(1)
 * amortised, O(log n) at worst; base_avl_check and base_avl_drain O(n).
 *
 * Not thread-safe: the owner's lock covers the tree and the links of its nodes.
 * Depends on nothing but the C library.
 */
#ifndef NTMM_BASE_AVL_H
#define NTMM_BASE_AVL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct base_avl_node {
    struct base_avl_node *left;   /* smaller, or NULL */
    struct base_avl_node *right;  /* larger, or NULL */
    struct base_avl_node *parent; /* NULL at the root */
    int8_t balance;               /* height(right) - height(left): -1, 0, +1 */
} base_avl_node_t;

typedef void (*base_avl_augment_fn)(base_avl_node_t *n);

typedef struct base_avl_tree {
    base_avl_node_t *root;
    uint64_t count;              /* nodes in the tree */
    base_avl_augment_fn augment; /* NULL: no summaries */
} base_avl_tree_t;

typedef int (*base_avl_cmp_fn)(const base_avl_node_t *a, const base_avl_node_t *b, void *ctx);
typedef int (*base_avl_key_fn)(const void *key, const base_avl_node_t *n, void *ctx);

/* Where a new node goes: the leaf position under parent on side (NT's TABLE_SEARCH_RESULT:
 * TableInsertAsLeft / TableInsertAsRight; parent NULL means an empty tree). */
typedef enum base_avl_side { BASE_AVL_LEFT = 0, BASE_AVL_RIGHT = 1 } base_avl_side_t;

typedef struct base_avl_where {
    base_avl_node_t *parent;
    base_avl_side_t side;
} base_avl_where_t;

/* The structure that embeds `member` at node pointer p (container_of). */
#define BASE_AVL_ENTRY(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))
#define BASE_AVL_CENTRY(p, type, member) \
    ((const type *)(const void *)((const char *)(p) - offsetof(type, member)))

static inline void base_avl_init(base_avl_tree_t *t)
{
    t->root = NULL;
    t->count = 0;
    t->augment = NULL;
}

/* An empty tree whose nodes carry subtree summaries kept by `augment` (see above). */
static inline void base_avl_init_augmented(base_avl_tree_t *t, base_avl_augment_fn augment)
{
    base_avl_init(t);
    t->augment = augment;
}

static inline uint64_t base_avl_count(const base_avl_tree_t *t) { return t->count; }
static inline bool base_avl_empty(const base_avl_tree_t *t) { return t->root == NULL; }

/*
 * Searches for `key`: returns the node that matches it (key(key, n) == 0), or NULL and the
 * position where a node with that key would be linked in *where (may be NULL). O(log n).
 * (MiFindNodeOrParent / RtlFindNodeOrParent.)
 */
base_avl_node_t *base_avl_locate(const base_avl_tree_t *t, const void *key, base_avl_key_fn fn, void *ctx,
                                 base_avl_where_t *where);

/* The node that matches key, or NULL. O(log n). */
static inline base_avl_node_t *base_avl_find(const base_avl_tree_t *t, const void *key, base_avl_key_fn fn,
                                             void *ctx)
{
    return base_avl_locate(t, key, fn, ctx, NULL);
}

/*
 * Links n at `where` (from base_avl_locate on this tree, with no change in between) and
 * rebalances. Precondition: n is not in a tree; its order against its future neighbours is
 * the caller's promise. O(log n).
 */
void base_avl_insert_at(base_avl_tree_t *t, base_avl_node_t *n, base_avl_where_t where);

/*
 * Inserts n in order by cmp. Returns NULL when n was inserted, or the node already in the
 * tree that compares equal to n (then n is not inserted). O(log n).
 */
base_avl_node_t *base_avl_insert(base_avl_tree_t *t, base_avl_node_t *n, base_avl_cmp_fn cmp, void *ctx);

/* Unlinks n (which is in t) and rebalances; n's links are cleared. O(log n). */
void base_avl_remove(base_avl_tree_t *t, base_avl_node_t *n);

/* In-order traversal: the smallest / largest node, the next / previous one; NULL at the end. */
base_avl_node_t *base_avl_first(const base_avl_tree_t *t);
base_avl_node_t *base_avl_last(const base_avl_tree_t *t);
base_avl_node_t *base_avl_next(const base_avl_node_t *n);
base_avl_node_t *base_avl_prev(const base_avl_node_t *n);

/*
 * Bounds by a key callback (C++'s lower_bound and upper_bound, and the floor):
 *   lower_bound  the first node n with key(key, n) <= 0 (matches or after the key)
 *   upper_bound  the first node n with key(key, n) <  0 (strictly after the key)
 *   floor        the last node n with key(key, n) >= 0 (matches or before the key)
 * NULL if there is none. O(log n).
 */
base_avl_node_t *base_avl_lower_bound(const base_avl_tree_t *t, const void *key, base_avl_key_fn fn, void *ctx);
base_avl_node_t *base_avl_upper_bound(const base_avl_tree_t *t, const void *key, base_avl_key_fn fn, void *ctx);
base_avl_node_t *base_avl_floor(const base_avl_tree_t *t, const void *key, base_avl_key_fn fn, void *ctx);

/* Recomputes the summaries of n and of all its ancestors, bottom-up (augmented trees; a
 * no-op otherwise). For an owner that changed n's own contribution in place. O(log n). */
void base_avl_augment_path(base_avl_tree_t *t, base_avl_node_t *n);

/*
 * Empties the tree in O(n) without rebalancing, calling fn(n, ctx) for every node in post
 * order (children before their parent), so fn may free n. fn may be NULL.
 */
void base_avl_drain(base_avl_tree_t *t, void (*fn)(base_avl_node_t *n, void *ctx), void *ctx);

/* The height of the tree: 0 when empty, 1 for a single node. O(n). */
unsigned base_avl_height(const base_avl_tree_t *t);

/*
 * The validator: parent links (the root's is NULL), strict order of every in-order pair by
 * cmp (cmp may be NULL to skip it), every balance factor equal to the difference of the real
 * heights and within -1..+1, the node count, and no node reached twice. On failure returns
 * false with the first offending node in *bad (NULL for a wrong count or a bad root);
 * bad may be NULL. O(n).
 */
bool base_avl_check(const base_avl_tree_t *t, base_avl_cmp_fn cmp, void *ctx, const base_avl_node_t **bad);

#endif /* NTMM_BASE_AVL_H */

/*
 * test_avl.c - the intrusive AVL tree (base/avl.h): the four rotations on insert and on
 * remove drawn as trees, removal of nodes with zero, one and two children, duplicates,
 * locate + insert_at, the three bounds, traversal, drain order, subtree summaries kept
 * through rotations, the validator catching each kind of corruption, the height bound, and
 * a seeded randomized run against a sorted array with base_avl_check after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/avl.h"
#include "base/rng.h"

typedef struct item {
    base_avl_node_t node;
    int64_t key;
    uint64_t size; /* augmented: nodes in this subtree */
} item_t;

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define ITEM(n) BASE_AVL_ENTRY(n, item_t, node)
#define CITEM(n) BASE_AVL_CENTRY(n, item_t, node)

static int cmp_items(const base_avl_node_t *a, const base_avl_node_t *b, void *ctx)
{
    (void)ctx;
    int64_t x = CITEM(a)->key, y = CITEM(b)->key;
    return x < y ? -1 : x > y;
}

static int key_item(const void *key, const base_avl_node_t *n, void *ctx)
{
    (void)ctx;
    int64_t x = *(const int64_t *)key, y = CITEM(n)->key;
    return x < y ? -1 : x > y;
}

static uint64_t size_of(const base_avl_node_t *n) { return n ? CITEM(n)->size : 0; }

static void augment_size(base_avl_node_t *n) { ITEM(n)->size = 1 + size_of(n->left) + size_of(n->right); }

/* Recomputes every summary and compares; returns the subtree size or UINT64_MAX. */
static uint64_t verify_sizes(const base_avl_node_t *n)
{
    if (!n) return 0;
    uint64_t l = verify_sizes(n->left), r = verify_sizes(n->right);
    if (l == UINT64_MAX || r == UINT64_MAX || CITEM(n)->size != 1 + l + r) return UINT64_MAX;
    return 1 + l + r;
}

static void check(const base_avl_tree_t *t)
{
    const base_avl_node_t *bad = (const base_avl_node_t *)1;
    assert_true(base_avl_check(t, cmp_items, NULL, &bad));
    assert_null(bad);
    if (t->augment) assert_int_equal(verify_sizes(t->root), t->count);
}

static item_t *mk(item_t *pool, int64_t key)
{
    memset(pool, 0, sizeof *pool);
    pool->key = key;
    return pool;
}

static int64_t key_of(const base_avl_node_t *n) { return n ? CITEM(n)->key : -1; }

/*
 * A tree's shape as a string: "key(left,right)" with "-" for an empty side, leaves bare,
 * e.g. "20(10,30)". Balance factors are verified by check().
 */
static void shape_rec(const base_avl_node_t *n, char *buf, size_t cap)
{
    size_t len = strlen(buf);
    if (!n) {
        snprintf(buf + len, cap - len, "-");
        return;
    }
    snprintf(buf + len, cap - len, "%lld", (long long)CITEM(n)->key);
    if (!n->left && !n->right) return;
    strncat(buf, "(", cap - strlen(buf) - 1);
    shape_rec(n->left, buf, cap);
    strncat(buf, ",", cap - strlen(buf) - 1);
    shape_rec(n->right, buf, cap);
    strncat(buf, ")", cap - strlen(buf) - 1);
}

static const char *shape(const base_avl_tree_t *t)
{
    static char buf[1024]; /* test-only scratch */
    buf[0] = 0;
    shape_rec(t->root, buf, sizeof buf);
    return buf;
}

static void insert_keys(base_avl_tree_t *t, item_t *pool, const int64_t *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_null(base_avl_insert(t, &mk(&pool[i], keys[i])->node, cmp_items, NULL));
        check(t);
    }
}

static item_t *find(base_avl_tree_t *t, int64_t key)
{
    base_avl_node_t *n = base_avl_find(t, &key, key_item, NULL);
    return n ? ITEM(n) : NULL;
}

/* --- by hand ------------------------------------------------------------------------------ */

static void test_empty(void **state)
{
    (void)state;
    base_avl_tree_t t;
    base_avl_init(&t);
    int64_t k = 5;
    base_avl_where_t w = { (base_avl_node_t *)&t, BASE_AVL_RIGHT };
    assert_null(base_avl_locate(&t, &k, key_item, NULL, &w));
    assert_null(w.parent);
    assert_null(base_avl_first(&t));
    assert_null(base_avl_last(&t));
    assert_null(base_avl_lower_bound(&t, &k, key_item, NULL));
    assert_null(base_avl_upper_bound(&t, &k, key_item, NULL));
    assert_null(base_avl_floor(&t, &k, key_item, NULL));
    assert_true(base_avl_empty(&t));
    assert_int_equal(base_avl_height(&t), 0);
    check(&t);
    base_avl_drain(&t, NULL, NULL);
    check(&t);
}

/*
 * The four insert rotations. Inserting 10, 20, 30 leans right twice (RR -> single left
 * rotation):
 *
 *   10                 20
 *     \               /  \
 *      20     ->    10    30
 *        \
 *         30
 */
static void test_insert_rotations(void **state)
{
    (void)state;
    item_t pool[8];
    static const struct {
        int64_t keys[3];
        const char *before_fix; /* what a plain BST would be */
        const char *after;
    } cases[] = {
        { { 10, 20, 30 }, "10(-,20(-,30))", "20(10,30)" }, /* RR: rotate left */
        { { 30, 20, 10 }, "30(20(10,-),-)", "20(10,30)" }, /* LL: rotate right */
        { { 10, 30, 20 }, "10(-,30(20,-))", "20(10,30)" }, /* RL: right then left */
        { { 30, 10, 20 }, "30(10(-,20),-)", "20(10,30)" }, /* LR: left then right */
    };
    for (size_t c = 0; c < 4; c++) {
        base_avl_tree_t t;
        base_avl_init(&t);
        insert_keys(&t, pool, cases[c].keys, 3);
        assert_string_equal(shape(&t), cases[c].after);
        assert_int_equal(t.root->balance, 0);
        assert_int_equal(base_avl_height(&t), 2);
    }
    /* Ascending keys 1..15 make the perfect tree of height 4. */
    base_avl_tree_t t;
    base_avl_init(&t);
    item_t many[15];
    for (int64_t k = 1; k <= 15; k++) {
        assert_null(base_avl_insert(&t, &mk(&many[k - 1], k)->node, cmp_items, NULL));
        check(&t);
    }
    assert_string_equal(shape(&t), "8(4(2(1,3),6(5,7)),12(10(9,11),14(13,15)))");
    assert_int_equal(base_avl_height(&t), 4);
}

/*
 * Removal: a leaf, a node with one child, a node with two children (its successor takes
 * its place), and removals that need rotations on the way up.
 *
 *          40                      removing 10 leaves 20 right-heavy by 2:
 *        /    \                        20(-,30(25,-))  ->  RL  ->  25(20,30)
 *      20      60
 *     /  \    /  \
 *   10   30  50   70
 *        /
 *      25
 */
static void test_remove_cases(void **state)
{
    (void)state;
    item_t pool[16];
    static const int64_t keys[] = { 40, 20, 60, 10, 30, 50, 70, 25 };
    base_avl_tree_t t;
    base_avl_init(&t);
    insert_keys(&t, pool, keys, COUNT(keys));
    assert_string_equal(shape(&t), "40(20(10,30(25,-)),60(50,70))");

    base_avl_remove(&t, &find(&t, 10)->node); /* leaf; 20 becomes +2 with its right child -1 */
    check(&t);
    assert_string_equal(shape(&t), "40(25(20,30),60(50,70))");

    base_avl_remove(&t, &find(&t, 40)->node); /* two children: 50 (the successor) moves up */
    check(&t);
    assert_string_equal(shape(&t), "50(25(20,30),60(-,70))");

    base_avl_remove(&t, &find(&t, 60)->node); /* one child */
    check(&t);
    assert_string_equal(shape(&t), "50(25(20,30),70)");

    base_avl_remove(&t, &find(&t, 70)->node); /* 50 becomes -2, its left child even: single
                                                 rotation that keeps the height */
    check(&t);
    assert_string_equal(shape(&t), "25(20,50(30,-))");

    base_avl_remove(&t, &find(&t, 25)->node); /* root with two children, successor is its
                                                 right child's leftmost */
    check(&t);
    assert_string_equal(shape(&t), "30(20,50)");
    assert_int_equal(base_avl_count(&t), 3);
    /* removed nodes come back clean */
    assert_null(pool[0].node.parent);
    assert_null(pool[0].node.left);
    assert_null(pool[0].node.right);

    base_avl_remove(&t, &find(&t, 30)->node);
    base_avl_remove(&t, &find(&t, 20)->node);
    check(&t);
    assert_string_equal(shape(&t), "50");
    base_avl_remove(&t, &find(&t, 50)->node);
    check(&t);
    assert_true(base_avl_empty(&t));
}

/* Removing a two-child node whose successor is deeper: the successor's right child takes the
 * successor's place. */
static void test_remove_deep_successor(void **state)
{
    (void)state;
    item_t pool[16];
    static const int64_t keys[] = { 20, 10, 40, 5, 30, 50, 35 };
    base_avl_tree_t t;
    base_avl_init(&t);
    insert_keys(&t, pool, keys, COUNT(keys));
    assert_string_equal(shape(&t), "20(10(5,-),40(30(-,35),50))");
    base_avl_remove(&t, &find(&t, 20)->node);
    check(&t);
    assert_string_equal(shape(&t), "30(10(5,-),40(35,50))");
}

static void test_duplicates_and_locate(void **state)
{
    (void)state;
    item_t pool[8], dup;
    static const int64_t keys[] = { 10, 20, 30 };
    base_avl_tree_t t;
    base_avl_init(&t);
    insert_keys(&t, pool, keys, 3);
    base_avl_node_t *old = base_avl_insert(&t, &mk(&dup, 20)->node, cmp_items, NULL);
    assert_ptr_equal(old, &pool[1].node);
    assert_int_equal(base_avl_count(&t), 3);
    check(&t);

    /* locate: a match, or where to link */
    int64_t k = 20;
    base_avl_where_t w;
    assert_ptr_equal(base_avl_locate(&t, &k, key_item, NULL, &w), &pool[1].node);
    k = 25;
    assert_null(base_avl_locate(&t, &k, key_item, NULL, &w));
    assert_ptr_equal(w.parent, &pool[2].node);
    assert_int_equal(w.side, BASE_AVL_LEFT);
    base_avl_insert_at(&t, &mk(&pool[3], 25)->node, w);
    check(&t);
    k = 35;
    assert_null(base_avl_locate(&t, &k, key_item, NULL, &w));
    assert_ptr_equal(w.parent, &pool[2].node);
    assert_int_equal(w.side, BASE_AVL_RIGHT);
    base_avl_insert_at(&t, &mk(&pool[4], 35)->node, w);
    check(&t);
    assert_string_equal(shape(&t), "20(10,30(25,35))");
    /* an empty tree's position is the root */
    base_avl_tree_t e;
    base_avl_init(&e);
    assert_null(base_avl_locate(&e, &k, key_item, NULL, &w));
    base_avl_insert_at(&e, &mk(&pool[5], 35)->node, w);
    check(&e);
    assert_ptr_equal(e.root, &pool[5].node);
}

static void test_bounds_and_traversal(void **state)
{
    (void)state;
    item_t pool[8];
    static const int64_t keys[] = { 40, 10, 30, 20, 50 };
    base_avl_tree_t t;
    base_avl_init(&t);
    insert_keys(&t, pool, keys, 5);
    static const struct {
        int64_t key, lower, upper, floor;
    } cases[] = {
        { 5, 10, 10, -1 },  { 10, 10, 20, 10 }, { 15, 20, 20, 10 },
        { 50, 50, -1, 50 }, { 55, -1, -1, 50 }, { 30, 30, 40, 30 },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        assert_int_equal(key_of(base_avl_lower_bound(&t, &cases[i].key, key_item, NULL)), cases[i].lower);
        assert_int_equal(key_of(base_avl_upper_bound(&t, &cases[i].key, key_item, NULL)), cases[i].upper);
        assert_int_equal(key_of(base_avl_floor(&t, &cases[i].key, key_item, NULL)), cases[i].floor);
    }
    int64_t expect = 10;
    for (base_avl_node_t *n = base_avl_first(&t); n; n = base_avl_next(n), expect += 10)
        assert_int_equal(key_of(n), expect);
    assert_int_equal(expect, 60);
    for (base_avl_node_t *n = base_avl_last(&t); n; n = base_avl_prev(n)) {
        expect -= 10;
        assert_int_equal(key_of(n), expect);
    }
    assert_int_equal(expect, 10);
}

typedef struct drain_log {
    int64_t keys[16];
    size_t n;
} drain_log_t;

static void drain_one(base_avl_node_t *n, void *ctx)
{
    drain_log_t *log = ctx;
    /* post order: the children went first, so n is a leaf by now */
    assert_null(n->left);
    assert_null(n->right);
    assert_null(n->parent);
    log->keys[log->n++] = CITEM(n)->key;
    memset(ITEM(n), 0xEE, sizeof(item_t)); /* may be freed: nothing reads it again */
}

static void test_drain(void **state)
{
    (void)state;
    item_t pool[8];
    static const int64_t keys[] = { 20, 10, 30, 5, 15, 25 };
    base_avl_tree_t t;
    base_avl_init(&t);
    insert_keys(&t, pool, keys, 6);
    drain_log_t log = { .n = 0 };
    base_avl_drain(&t, drain_one, &log);
    assert_int_equal(log.n, 6);
    static const int64_t post[] = { 5, 15, 10, 25, 30, 20 };
    assert_memory_equal(log.keys, post, sizeof post);
    assert_true(base_avl_empty(&t));
    assert_int_equal(base_avl_count(&t), 0);
    check(&t);
}

/* Every kind of damage is caught, with the node that shows it. */
static void test_check_catches(void **state)
{
    (void)state;
    item_t pool[8];
    static const int64_t keys[] = { 20, 10, 30, 5 };
    base_avl_tree_t t;
    base_avl_init(&t);
    insert_keys(&t, pool, keys, 4);
    const base_avl_node_t *bad;

    pool[1].node.balance = 0; /* 10 leans left really */
    assert_false(base_avl_check(&t, cmp_items, NULL, &bad));
    assert_ptr_equal(bad, &pool[1].node);
    pool[1].node.balance = -1;
    assert_true(base_avl_check(&t, cmp_items, NULL, &bad));

    pool[3].node.parent = &pool[2].node; /* 5's parent link points elsewhere */
    assert_false(base_avl_check(&t, cmp_items, NULL, &bad));
    assert_ptr_equal(bad, &pool[3].node);
    pool[3].node.parent = &pool[1].node;

    pool[3].key = 12; /* left of 10 but larger */
    assert_false(base_avl_check(&t, cmp_items, NULL, &bad));
    assert_ptr_equal(bad, &pool[1].node);
    assert_true(base_avl_check(&t, NULL, NULL, &bad)); /* without an order, the shape is fine */
    pool[3].key = 5;

    t.count = 5;
    assert_false(base_avl_check(&t, cmp_items, NULL, &bad));
    assert_null(bad);
    t.count = 3;
    assert_false(base_avl_check(&t, cmp_items, NULL, &bad));
    t.count = 4;

    pool[0].node.parent = &pool[1].node; /* the root has a parent */
    assert_false(base_avl_check(&t, cmp_items, NULL, &bad));
    assert_ptr_equal(bad, &pool[0].node);
    pool[0].node.parent = NULL;

    pool[3].node.left = &pool[0].node; /* a cycle back to the root */
    assert_false(base_avl_check(&t, cmp_items, NULL, NULL));
    pool[3].node.left = NULL;
    check(&t);
}

/* Summaries (subtree sizes) stay right through rotations, removals and in-place changes;
 * with them, the k-th smallest node is found in O(log n). */
static const base_avl_node_t *select_kth(const base_avl_tree_t *t, uint64_t k)
{
    const base_avl_node_t *n = t->root;
    while (n) {
        uint64_t l = size_of(n->left);
        if (k < l) {
            n = n->left;
        } else if (k == l) {
            return n;
        } else {
            k -= l + 1;
            n = n->right;
        }
    }
    return NULL;
}

static void test_augmented(void **state)
{
    (void)state;
    enum { N = 300 };
    item_t *pool = calloc(N, sizeof *pool);
    assert_non_null(pool);
    base_avl_tree_t t;
    base_avl_init_augmented(&t, augment_size);
    for (int64_t i = 0; i < N; i++) {
        /* a scrambled order: 7 is coprime with 300 */
        assert_null(base_avl_insert(&t, &mk(&pool[i], (i * 7) % N)->node, cmp_items, NULL));
        check(&t);
    }
    for (uint64_t k = 0; k < N; k++) assert_int_equal(key_of(select_kth(&t, k)), (int64_t)k);
    for (int64_t i = 0; i < N; i += 2) {
        base_avl_remove(&t, &find(&t, i)->node);
        check(&t);
    }
    for (uint64_t k = 0; k < N / 2; k++) assert_int_equal(key_of(select_kth(&t, k)), (int64_t)(2 * k + 1));
    /* an owner-side change to a node's own contribution, fixed up by augment_path */
    item_t *x = find(&t, 101);
    x->size = 99;
    assert_int_not_equal(verify_sizes(t.root), t.count);
    base_avl_augment_path(&t, &x->node);
    check(&t);
    free(pool);
}

/* --- randomized against a sorted array --------------------------------------------------- */

typedef struct model {
    int64_t *keys; /* sorted, distinct */
    item_t **items;
    size_t n;
} model_t;

static size_t model_lower(const model_t *m, int64_t key)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void model_compare(const model_t *m, const base_avl_tree_t *t)
{
    assert_int_equal(base_avl_count(t), m->n);
    size_t i = 0;
    for (base_avl_node_t *n = base_avl_first(t); n; n = base_avl_next(n), i++) {
        assert_true(i < m->n);
        assert_ptr_equal(n, &m->items[i]->node);
        assert_int_equal(CITEM(n)->key, m->keys[i]);
    }
    assert_int_equal(i, m->n);
}

/* The fewest nodes an AVL tree of height h can have: N(h) = N(h-1) + N(h-2) + 1 (the
 * Fibonacci trees), so a tree of n nodes is at most about 1.44 log2(n) high. */
static uint64_t min_nodes(unsigned h)
{
    uint64_t a = 0, b = 1; /* N(0), N(1) */
    if (h == 0) return 0;
    for (unsigned i = 1; i < h; i++) {
        uint64_t c = a + b + 1;
        a = b;
        b = c;
    }
    return b;
}

static void run_random(uint64_t seed, bool augmented, size_t steps, int64_t key_range)
{
    base_rng_t r;
    base_rng_seed(&r, seed);
    size_t cap = (size_t)key_range;
    model_t m = { calloc(cap, sizeof(int64_t)), calloc(cap, sizeof(item_t *)), 0 };
    item_t *pool = calloc(cap, sizeof(item_t));
    assert_non_null(m.keys);
    assert_non_null(m.items);
    assert_non_null(pool);
    /* pool[key] is the node for key: free while the key is absent */
    base_avl_tree_t t;
    if (augmented)
        base_avl_init_augmented(&t, augment_size);
    else
        base_avl_init(&t);
    size_t max_n = 0;
    for (size_t step = 0; step < steps; step++) {
        int64_t key = (int64_t)base_rng_below(&r, (uint64_t)key_range);
        size_t pos = model_lower(&m, key);
        bool present = pos < m.n && m.keys[pos] == key;
        /* lean towards inserting while small, removing while large */
        bool grow = base_rng_below(&r, 100) < (m.n < cap / 2 ? 60u : 40u);
        switch (base_rng_below(&r, 4)) {
        case 0:
        case 1:
            if (grow && !present) {
                base_avl_node_t *old = base_avl_insert(&t, &mk(&pool[key], key)->node, cmp_items, NULL);
                assert_null(old);
                memmove(&m.keys[pos + 1], &m.keys[pos], (m.n - pos) * sizeof *m.keys);
                memmove(&m.items[pos + 1], &m.items[pos], (m.n - pos) * sizeof *m.items);
                m.keys[pos] = key;
                m.items[pos] = &pool[key];
                m.n++;
            } else if (present) {
                if (grow) { /* a duplicate is refused */
                    item_t dup;
                    assert_ptr_equal(base_avl_insert(&t, &mk(&dup, key)->node, cmp_items, NULL), &pool[key].node);
                } else {
                    base_avl_remove(&t, &pool[key].node);
                    memmove(&m.keys[pos], &m.keys[pos + 1], (m.n - pos - 1) * sizeof *m.keys);
                    memmove(&m.items[pos], &m.items[pos + 1], (m.n - pos - 1) * sizeof *m.items);
                    m.n--;
                }
            }
            break;
        case 2: { /* searches */
            base_avl_node_t *f = base_avl_find(&t, &key, key_item, NULL);
            assert_ptr_equal(f, present ? &pool[key].node : NULL);
            base_avl_node_t *lb = base_avl_lower_bound(&t, &key, key_item, NULL);
            assert_ptr_equal(lb, pos < m.n ? &m.items[pos]->node : NULL);
            size_t up = present ? pos + 1 : pos;
            base_avl_node_t *ub = base_avl_upper_bound(&t, &key, key_item, NULL);
            assert_ptr_equal(ub, up < m.n ? &m.items[up]->node : NULL);
            base_avl_node_t *fl = base_avl_floor(&t, &key, key_item, NULL);
            assert_ptr_equal(fl, up > 0 ? &m.items[up - 1]->node : NULL);
            break;
        }
        default: /* neighbours of a random node */
            if (m.n) {
                size_t i = (size_t)base_rng_below(&r, m.n);
                base_avl_node_t *n = &m.items[i]->node;
                assert_ptr_equal(base_avl_next(n), i + 1 < m.n ? &m.items[i + 1]->node : NULL);
                assert_ptr_equal(base_avl_prev(n), i > 0 ? &m.items[i - 1]->node : NULL);
                if (augmented) assert_ptr_equal(select_kth(&t, i), n);
            }
            break;
        }
        check(&t);
        if (m.n > max_n) max_n = m.n;
        if (step % 64 == 0 || m.n < 16) model_compare(&m, &t);
        if (step % 256 == 0) assert_true(m.n >= min_nodes(base_avl_height(&t)));
    }
    model_compare(&m, &t);
    assert_true(max_n > cap / 4);
    free(pool);
    free(m.keys);
    free(m.items);
}

static void test_random_small_keys(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) run_random(seed, seed & 1, 4000, 40);
}

static void test_random_large(void **state)
{
    (void)state;
    run_random(0xA11CE, false, 30000, 2000);
    run_random(0xB0B, true, 30000, 2000);
}

/* Sequential churn: insert ascending, remove from both ends, the pattern of a bump
 * allocator's VADs. */
static void test_sequential_churn(void **state)
{
    (void)state;
    enum { N = 4096 };
    item_t *pool = calloc(N, sizeof *pool);
    assert_non_null(pool);
    base_avl_tree_t t;
    base_avl_init_augmented(&t, augment_size);
    for (int64_t i = 0; i < N; i++) base_avl_insert(&t, &mk(&pool[i], i)->node, cmp_items, NULL);
    check(&t);
    assert_int_equal(base_avl_height(&t), 13); /* 2^12 nodes: at most one above perfect */
    for (int64_t i = 0; i < N / 2; i++) {
        base_avl_remove(&t, &pool[i].node);
        base_avl_remove(&t, &pool[N - 1 - i].node);
        if (i % 128 == 0) check(&t);
    }
    check(&t);
    assert_true(base_avl_empty(&t));
    free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_insert_rotations),
        cmocka_unit_test(test_remove_cases),
        cmocka_unit_test(test_remove_deep_successor),
        cmocka_unit_test(test_duplicates_and_locate),
        cmocka_unit_test(test_bounds_and_traversal),
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_check_catches),
        cmocka_unit_test(test_augmented),
        cmocka_unit_test(test_random_small_keys),
        cmocka_unit_test(test_random_large),
        cmocka_unit_test(test_sequential_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

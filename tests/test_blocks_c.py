"""csrc/ns_blocks.c on its own, built with AddressSanitizer: the cache
gives back the block it was handed (last in, first out, per size class),
never holds more than its limit, frees what it does not keep, and a block
it gives is usable for its whole rounded size (ASan fails the program on a
write past a block, on a double free and on a leak)."""
import os

from _cbuild import CSRC, build_and_run, needs_csrc

PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include "ns_blocks.h"

static int bad = 0;
#define CHECK(c) do { if (!(c)) { bad++; fprintf(stderr, "line %d: %s\n", __LINE__, #c); } } while (0)

int main(void) {
    ns_blocks cache;
    memset(&cache, 0, sizeof cache);
    /* sizes: rounded up to the grain, uncached beyond the largest class */
    CHECK(ns_blocks_size(1) == NS_BLOCKS_GRAIN);
    CHECK(ns_blocks_size(NS_BLOCKS_GRAIN) == NS_BLOCKS_GRAIN);
    CHECK(ns_blocks_size(NS_BLOCKS_GRAIN + 1) == 2 * NS_BLOCKS_GRAIN);
    CHECK(ns_blocks_size(NS_BLOCKS_MAX) == NS_BLOCKS_MAX);
    CHECK(ns_blocks_size(NS_BLOCKS_MAX + 1) == NS_BLOCKS_MAX + 1);
    CHECK(ns_blocks_take(&cache, 0) == NULL);
    ns_blocks_give(&cache, NULL, 100); /* nothing */

    /* limit 0 (a zero-filled cache): nothing kept */
    void *a = ns_blocks_take(&cache, 8000);
    CHECK(a != NULL);
    memset(a, 1, ns_blocks_size(8000)); /* the whole rounded block is usable */
    ns_blocks_give(&cache, a, 8000);
    CHECK(cache.held == 0);

    ns_blocks_set_limit(&cache, 5 * NS_BLOCKS_GRAIN);
    void *b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = ns_blocks_take(&cache, 5000); /* class of 2 grains */
        CHECK(b[i] != NULL);
        memset(b[i], 2, ns_blocks_size(5000));
    }
    /* two kept (4 grains), the third would pass the limit: freed */
    ns_blocks_give(&cache, b[0], 5000);
    ns_blocks_give(&cache, b[1], 8192);
    CHECK(cache.held == 4 * NS_BLOCKS_GRAIN);
    ns_blocks_give(&cache, b[2], 5000);
    CHECK(cache.held == 4 * NS_BLOCKS_GRAIN);
    /* a block of one grain still fits */
    void *c = ns_blocks_take(&cache, 10);
    ns_blocks_give(&cache, c, 10);
    CHECK(cache.held == 5 * NS_BLOCKS_GRAIN);
    ns_blocks_give(&cache, b[3], 5000); /* over the limit: freed */
    CHECK(cache.held == 5 * NS_BLOCKS_GRAIN);
    /* last in, first out, by class; another class is not given */
    void *e = ns_blocks_take(&cache, 3 * NS_BLOCKS_GRAIN);
    CHECK(e != NULL && e != b[0] && e != b[1] && e != c);
    void *again = ns_blocks_take(&cache, 2 * NS_BLOCKS_GRAIN);
    CHECK(again == b[1]);
    CHECK(cache.held == 3 * NS_BLOCKS_GRAIN);
    CHECK(ns_blocks_take(&cache, 7000) == b[0]);
    CHECK(ns_blocks_take(&cache, 1) == c);
    CHECK(cache.held == 0);
    /* the 3-grain block was fresh: over the limit once the others are back */
    ns_blocks_give(&cache, again, 8192);
    ns_blocks_give(&cache, b[0], 8192);
    ns_blocks_give(&cache, c, 1);
    CHECK(cache.held == 5 * NS_BLOCKS_GRAIN);
    ns_blocks_give(&cache, e, 3 * NS_BLOCKS_GRAIN);
    CHECK(cache.held == 5 * NS_BLOCKS_GRAIN);

    /* larger than the largest class: never kept */
    ns_blocks_set_limit(&cache, (size_t)1 << 30);
    CHECK(cache.held == 0);
    void *big = ns_blocks_take(&cache, NS_BLOCKS_MAX + 1);
    CHECK(big != NULL);
    memset(big, 3, NS_BLOCKS_MAX + 1);
    ns_blocks_give(&cache, big, NS_BLOCKS_MAX + 1);
    CHECK(cache.held == 0);
    /* set_limit frees what is held (ASan's leak check sees the rest) */
    void *d = ns_blocks_take(&cache, NS_BLOCKS_MAX);
    ns_blocks_give(&cache, d, NS_BLOCKS_MAX);
    CHECK(cache.held == NS_BLOCKS_MAX);
    ns_blocks_set_limit(&cache, 0);
    CHECK(cache.held == 0);
    printf("bad=%d\n", bad);
    return bad != 0;
}
"""


@needs_csrc
def test_block_cache_under_sanitizers(tmp_path):
    source = tmp_path / "blocks.c"
    source.write_text(PROGRAM)
    out = build_and_run(tmp_path, "blocks", [str(source), os.path.join(CSRC, "ns_blocks.c")])
    assert out.strip() == "bad=0"

"""swapcache — every swap-in goes through the swap cache.

Kernels before v4.15 (0bcac06f27d7 added the bypass), and ever since the path for an entry
with swap count > 1 or a device without SWP_SYNCHRONOUS_IO.  The folio is published in the swap
cache under SWAP_HAS_CACHE before it is read, so concurrent faults find it and wait on its lock;
the slot cannot be freed and reused while the folio is in the cache.  This is the base model
itself: no override.
"""
from ..kernel import Kernel


class SwapCache(Kernel):
    name = "swapcache"
    kind = "upstream"

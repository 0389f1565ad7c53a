"""The Linux anonymous-memory and swap model.  It knows nothing about designs: a design
subclasses :class:`Kernel` and overrides the kernel functions its patch changes.

Lock order, as the model takes the locks (mm/rmap.c's comment, reduced to what is modeled):

    mmap_lock                      (rwsem: faults, madvise and swapoff read; fork, munmap write,
                                    munmap then downgrades it to read for its zap)
      folio lock                   (PG_locked; sleeps, so never under a spinlock)
        PTE lock                   (one page table per mm: mm.ptl)
          si->cluster_lock         (lock_cluster_or_swap_info; si->lock folded in)
          swap_cache.xa_lock       (taken apart from the cluster lock, never inside it)

Under the PTE lock only trylock is used on a folio (free_swap_and_cache, do_wp_page).
"""
from .model import Kernel, make_program

__all__ = ["Kernel", "make_program"]

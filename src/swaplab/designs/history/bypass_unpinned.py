"""bypass-swapin-unpinned — the cache-bypassing swap-in between eb085574a752 (v5.1) and
2799e77529c2 "swap: fix do_swap_page() race with swapoff" (Miaohe Lin, v5.14; kernels v5.1 to
v5.13).

eb085574a752 protected __read_swap_cache_async and __swap_count with get_swap_device, but
do_swap_page itself took no reference, so the SWP_SYNCHRONOUS_IO path read the device with
nothing holding swapoff back.  The commit's picture:

    CPU 1                                   CPU 2
    -----                                   -----
    do_swap_page
      if (data_race(si->flags & SWP_SYNCHRONOUS_IO)
      swap_readpage
        if (data_race(sis->flags & SWP_FS_OPS)) {
                                            swapoff
                                              ..
                                              p->swap_file = NULL;
                                              ..
        struct file *swap_file = sis->swap_file;
        struct address_space *mapping = swap_file->f_mapping;[oops!]

The fix: ``si = get_swap_device(entry); if (unlikely(!si)) goto out;`` at the top of
do_swap_page and ``if (si) put_swap_device(si);`` at out (the model's do_swap_page).  The
pre-fix override takes no reference in do_swap_page and, as v5.1–v5.13's lookup_swap_cache
and __swap_count did (eb085574a752), one around the swap-cache lookup and one around the
count read.  In the model the device read after swapoff is a read of the
freed zram slot (use-after-free).
"""
from ...engine import Step
from ...kernel.state import SWP_SYNCHRONOUS_IO
from ...kernel.types import swap_count
from ..bypass import Bypass


class BypassSwapinUnpinned(Bypass):
    name = "bypass-swapin-unpinned"
    kind = "historic-bug"
    summary = "bypass before 2799e77529c2 (v5.1–v5.13): do_swap_page holds no device reference"
    reference = "2799e77529c2 (v5.14)"

    def swapin_get_swap_device(self, vmf):
        return self.si                    # si = swp_swap_info(entry): no reference
        yield  # pragma: no cover

    def swapin_put_swap_device(self, vmf):
        return                            # nothing taken, nothing to put
        yield  # pragma: no cover

    def swap_cache_get_folio(self, entry):
        """v5.1–v5.13: lookup_swap_cache() took its own device reference (eb085574a752)."""
        si = yield from self.get_swap_device(entry)
        if si is None:
            return None
        folio = yield from super().swap_cache_get_folio(entry)
        yield from self.put_swap_device(si)
        return folio

    def swapin_skip_swapcache(self, vmf):
        """v5.1–v5.13: __swap_count() took its own get_swap_device/put_swap_device."""
        si = yield from self.get_swap_device(vmf.entry)
        if si is None:
            return False
        yield Step(((si.flags, False), (si.swap_map[vmf.entry], False)),
                   "SWP_SYNCHRONOUS_IO && __swap_count(entry) == 1", cost="read")
        skip = bool(si.flags.value & SWP_SYNCHRONOUS_IO) and swap_count(si.swap_map[vmf.entry].value) == 1
        yield from self.put_swap_device(si)
        return skip

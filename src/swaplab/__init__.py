"""swaplab: executable models of Linux swap-in synchronization designs."""
__version__ = "0.1.0"

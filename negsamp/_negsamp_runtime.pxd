# The threading runtime shared by every extension (see _runtime.pyx).
cimport numpy as cnp
from negsamp._c_pool cimport ns_par

cdef int make_par(ns_par *par, int n_threads) except -1
cdef int check_interrupt(int status) except -1
cdef object cached_empty(cnp.npy_intp n, cnp.dtype dtype)
cdef tuple cached_empty_pair(cnp.npy_intp n, cnp.dtype first, cnp.dtype second)

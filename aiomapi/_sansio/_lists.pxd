# The wire's big-endian fields and value lists, read in place: one definition for both
# compiled modules that walk a message's bytes (the codec in _speedups.pyx, and the typed
# builder's Plan.build_reply in aiomapi/typed/_speedups.pyx). Inline, so each module gets
# its own copy at C level and neither imports the other at run time.
#
# Offsets are computed in 64 bits whatever Py_ssize_t is: a 32-bit length read from the
# wire plus an offset must not wrap on a 32-bit build. Every offset used to read is first
# checked against the end of the bytes, so it then fits a Py_ssize_t.

ctypedef unsigned char uchar
ctypedef long long i64


cdef inline i64 u16(const uchar *p) noexcept nogil:
    return (<i64>p[0] << 8) | p[1]


cdef inline i64 u32(const uchar *p) noexcept nogil:
    return (<i64>p[0] << 24) | (<i64>p[1] << 16) | (<i64>p[2] << 8) | p[3]


cdef inline i64 list_end(const uchar *p, i64 at, i64 n, Py_ssize_t *count) noexcept nogil:
    """Offset just past the value list starting at ``at`` (its entries counted), or -1 if it
    does not end by ``n``."""
    cdef i64 name_len, value
    count[0] = 0
    while True:
        if at + 2 > n:
            return -1
        name_len = u16(p + at)
        if name_len == 0:
            return at + 2
        value = at + 6 + name_len
        if value > n:
            return -1
        at = value + u32(p + value - 4)
        if at > n:
            return -1
        count[0] += 1

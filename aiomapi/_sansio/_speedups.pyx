# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled hot path of the wire format: framer, decoder, encoder.

Theory of operation
-------------------
:mod:`aiomapi._sansio.wire` is the reference; this module does the same work on the common
inputs in C and hands every other input back to it, so that the two cannot disagree on
anything but speed:

* :class:`Framer` walks the length fields of a message with C pointers, with the pure
  framer's checks in the pure framer's order (the same errors, raised at the same byte).
  It does not record where each entry lies: its frames carry an empty ``entries`` list, and
  :func:`decode_frame` walks the bytes again, which in C costs less than recording did.
* :func:`decode_frame` decodes a frame's header and both lists; a frame whose bytes do not
  hold a whole, well-formed message (one not made by a framer) goes to the pure decoder.
* :func:`encode_body` writes a message into one buffer sized beforehand. Anything that is
  not plain ``int`` fields in range, ``str`` names in Latin-1 and ``bytes`` values goes to
  the pure encoder, which raises what it raises.

HMAC-MD5 signing is compiled in a module of its own, ``_hmac.pyx``, linked with OpenSSL's
libcrypto.

:func:`bind` receives the pure module once it is defined (its ``Frame`` and ``Message``
classes, its pure functions and limits), so that no limit is written twice; the one constant
compiled in, the 24-byte header, is checked against the pure module's there.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.string cimport memcmp, memcpy

from aiomapi.errors import RemoteProtocolError

cdef extern from *:
    """
    /* A tuple of type `type` (a tuple subclass such as a NamedTuple) with 4 or 6 items,
       made as tuple.__new__(type, items) makes it, without building `items` first. */
    static PyObject *aiomapi_tuple4(PyObject *type, PyObject *a, PyObject *b, PyObject *c,
                                    PyObject *d) {
        PyObject *t = ((PyTypeObject *)type)->tp_alloc((PyTypeObject *)type, 4);
        if (t == NULL) return NULL;
        Py_INCREF(a); PyTuple_SET_ITEM(t, 0, a);
        Py_INCREF(b); PyTuple_SET_ITEM(t, 1, b);
        Py_INCREF(c); PyTuple_SET_ITEM(t, 2, c);
        Py_INCREF(d); PyTuple_SET_ITEM(t, 3, d);
        return t;
    }
    static PyObject *aiomapi_tuple6(PyObject *type, PyObject *a, PyObject *b, PyObject *c,
                                    PyObject *d, PyObject *e, PyObject *f) {
        PyObject *t = ((PyTypeObject *)type)->tp_alloc((PyTypeObject *)type, 6);
        if (t == NULL) return NULL;
        Py_INCREF(a); PyTuple_SET_ITEM(t, 0, a);
        Py_INCREF(b); PyTuple_SET_ITEM(t, 1, b);
        Py_INCREF(c); PyTuple_SET_ITEM(t, 2, c);
        Py_INCREF(d); PyTuple_SET_ITEM(t, 3, d);
        Py_INCREF(e); PyTuple_SET_ITEM(t, 4, e);
        Py_INCREF(f); PyTuple_SET_ITEM(t, 5, f);
        return t;
    }
    """
    object aiomapi_tuple4(object type, object a, object b, object c, object d)
    object aiomapi_tuple6(object type, object a, object b, object c, object d, object e,
                          object f)

cdef extern from "Python.h":
    object PyUnicode_DecodeLatin1(const char *s, Py_ssize_t size, const char *errors)
    bint PyUnicode_CheckExact(object o)
    int PyUnicode_KIND(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    const char *PyUnicode_1BYTE_DATA(object o)
    bint PyBytes_CheckExact(object o)
    bint PyLong_Check(object o)
    long long PyLong_AsLongLongAndOverflow(object o, int *overflow) except? -1
    bint PyTuple_CheckExact(object o)
    int PyUnicode_1BYTE_KIND

from aiomapi._sansio._lists cimport i64, uchar
from aiomapi._sansio._lists cimport list_end as _list_end
from aiomapi._sansio._lists cimport u16 as _u16
from aiomapi._sansio._lists cimport u32 as _u32

cdef Py_ssize_t _HEADER = 24
cdef unsigned long long _UINT32_MAX = 0xFFFFFFFF

# Bound by bind(): the pure module's classes, functions and limits.
cdef object _Frame = None
cdef object _Message = None
cdef object _py_decode_frame = None
cdef object _py_encode_body = None
cdef Py_ssize_t _max_header = 0
cdef Py_ssize_t _max_entries = 0
cdef Py_ssize_t _bytes_per_entry = 1
cdef Py_ssize_t _small_rest = 0
cdef Py_ssize_t _default_max = 0
cdef Py_ssize_t _max_name = 0


def bind(wire):
    """Take the pure module's classes, reference functions and limits (called once by it)."""
    global _Frame, _Message, _py_decode_frame, _py_encode_body
    global _max_header, _max_entries, _bytes_per_entry, _small_rest, _default_max, _max_name
    _Frame = wire.Frame
    _Message = wire.Message
    _py_decode_frame = wire.pure_decode_frame
    _py_encode_body = wire.pure_encode_body
    _max_header = wire.MAX_HEADER_SIZE
    _max_entries = wire.MAX_ENTRIES
    _bytes_per_entry = wire._BYTES_PER_ENTRY
    _small_rest = wire._SMALL_REST
    _default_max = wire.DEFAULT_MAX_MESSAGE_SIZE
    _max_name = wire.MAX_NAME_LENGTH
    if _HEADER != wire.HEADER_SIZE:
        raise ImportError("the extension was built for another header size")


# Offsets are 64-bit (i64) whatever Py_ssize_t is: see _lists.pxd.


cdef inline void _put16(uchar *p, Py_ssize_t n) noexcept nogil:
    p[0] = (n >> 8) & 0xFF
    p[1] = n & 0xFF


cdef inline void _put32(uchar *p, unsigned long long n) noexcept nogil:
    p[0] = (n >> 24) & 0xFF
    p[1] = (n >> 16) & 0xFF
    p[2] = (n >> 8) & 0xFF
    p[3] = n & 0xFF


cdef inline const uchar *_data_of(object buf):
    if PyBytes_CheckExact(buf):
        return <const uchar *>PyBytes_AS_STRING(buf)
    return <const uchar *>PyByteArray_AS_STRING(buf)


cdef class Framer:
    """The compiled :class:`aiomapi._sansio.wire.Framer` (same interface, same limits)."""

    cdef object _buf  # bytes, or a bytearray while a large message arrives in pieces
    cdef Py_ssize_t _pos  # start of the message being scanned
    cdef Py_ssize_t _scan  # offset (from _pos) of the next entry; 0 = header not seen
    cdef int _list  # lists fully scanned (0, 1 or 2)
    cdef Py_ssize_t _count  # entry records the pure framer would hold for this message
    cdef Py_ssize_t _max
    cdef Py_ssize_t _records
    cdef Py_ssize_t _hs

    def __init__(self, max_message_size=None, header_size=_HEADER):
        if max_message_size is None:
            max_message_size = _default_max
        self._buf = b""
        self._pos = 0
        self._scan = 0
        self._list = 0
        self._count = 0
        self._max = max_message_size
        self._records = max(_max_entries, self._max // _bytes_per_entry) + 2
        self.header_size = header_size

    @property
    def header_size(self):
        """The peer's header size (see the pure framer)."""
        return self._hs

    @header_size.setter
    def header_size(self, size):
        if size < _HEADER:
            raise ValueError(f"header size {size} is below {_HEADER}")
        if size > _max_header:
            raise ValueError(f"header size {size} is above the maximum of {_max_header}")
        self._hs = size

    @property
    def max_entries(self):
        """Most name/value entries accepted in one message."""
        return self._records - 2

    @property
    def _entries(self):
        """The entry records held: none (the pure framer's list; here only a count)."""
        return ()

    @property
    def buffered(self):
        """Bytes received and not yet returned in a frame."""
        return len(self._buf) - self._pos

    def feed(self, data):
        """Add received bytes."""
        buf = self._buf
        cdef Py_ssize_t pos = self._pos
        cdef Py_ssize_t rest = len(buf) - pos
        if rest <= _small_rest:
            self._buf = bytes(data) if not rest else bytes(buf[pos:]) + data
            self._pos = 0
            return
        if PyBytes_CheckExact(buf):
            buf = self._buf = bytearray(buf[pos:])
            pos = self._pos = 0
        elif pos > 65536 and pos * 2 > len(buf):
            del buf[:pos]
            self._pos = 0
        buf += data

    def next_frame(self):
        """The next complete message, or ``None`` until more bytes arrive."""
        buf = self._buf
        cdef const uchar *p = _data_of(buf)
        cdef i64 pos = self._pos, hs = self._hs, end = len(buf)
        cdef i64 avail = end - pos, scan = self._scan
        cdef int lists = self._list
        cdef i64 at, bound, name_len, value, entry_end, known, total, authlen
        if scan == 0:
            if avail < hs:
                return None
            scan = hs
        bound = pos + self._max
        if bound > end:
            bound = end
        at = pos + scan
        while lists < 2:
            if self._count >= self._records:
                self._refuse(f"message with more than the limit of {self._records - 2} entries")
            if at + 2 > end:
                return self._incomplete(at - pos, lists, avail)
            name_len = _u16(p + at)
            if name_len == 0:
                at += 2
                lists += 1
                self._count += 1
                continue
            value = at + 6 + name_len
            if value > end:
                known = at - pos + 6 + name_len
                return self._incomplete(at - pos, lists, known if known > avail else avail)
            entry_end = value + _u32(p + value - 4)
            if entry_end > bound:
                known = entry_end - pos
                return self._incomplete(at - pos, lists, known if known > avail else avail)
            self._count += 1
            at = entry_end
        scan = at - pos
        authlen = _u32(p + pos + 4)
        total = scan + authlen
        if total > self._max:
            self._check_size(total)
        if avail < total:
            return self._incomplete(scan, lists, avail)
        cdef object data
        cdef char *out
        if hs == _HEADER and pos == 0 and total == end and PyBytes_CheckExact(buf):
            data = buf  # the usual read: exactly one message
        elif hs == _HEADER:
            data = PyBytes_FromStringAndSize(<const char *>p + pos, total)
        else:
            data = PyBytes_FromStringAndSize(NULL, total - (hs - _HEADER))
            out = PyBytes_AS_STRING(data)
            memcpy(out, p + pos, _HEADER)
            memcpy(out + _HEADER, p + pos + hs, total - hs)
        authid = _u32(<const uchar *>PyBytes_AS_STRING(data))
        self._pos = pos + total
        self._scan = 0
        self._list = 0
        self._count = 0
        return aiomapi_tuple4(_Frame, data, authid, scan - (hs - _HEADER), [])

    cdef object _incomplete(self, i64 scan, int lists, i64 need):
        self._scan = scan
        self._list = lists
        self._check_size(need)
        return None

    cdef _check_size(self, i64 size):
        if size > self._max:
            self._refuse(
                f"message larger than the {self._max}-byte limit (at least {size} bytes)"
            )

    cdef _refuse(self, str reason):
        self._buf = b""
        self._pos = 0
        self._scan = 0
        self._list = 0
        self._count = 0
        raise RemoteProtocolError(reason)


# Names decoded lately, by a hash of their bytes: a reply names the same dozen attributes
# every time, so most names are found here rather than made again, and a name found here
# already has its hash computed for the dict lookups that follow. Fixed size, one name per
# slot, short names only: a peer sending endless new names only replaces entries.
cdef enum:
    NAME_SLOTS = 256
    NAME_CACHED_MAX = 48
cdef PyObject *_names[NAME_SLOTS]


cdef object _name(const uchar *p, Py_ssize_t n):
    cdef size_t h = 5381
    cdef Py_ssize_t i
    cdef PyObject *cached
    if n > NAME_CACHED_MAX:
        return PyUnicode_DecodeLatin1(<const char *>p, n, NULL)
    for i in range(n):
        h = (h * 33) ^ p[i]
    h = (h ^ (h >> 8)) & (NAME_SLOTS - 1)
    cached = _names[h]
    if (cached is not NULL and PyUnicode_GET_LENGTH(<object>cached) == n
            and memcmp(PyUnicode_1BYTE_DATA(<object>cached), p, n) == 0):
        return <object>cached
    name = PyUnicode_DecodeLatin1(<const char *>p, n, NULL)
    Py_INCREF(name)
    Py_XDECREF(cached)
    _names[h] = <PyObject *>name
    return name


cdef tuple _read_list(const uchar *p, i64 at, Py_ssize_t count):
    cdef tuple out = PyTuple_New(count)
    cdef Py_ssize_t i
    cdef i64 name_len, value, value_len
    cdef object item
    for i in range(count):
        name_len = _u16(p + at)
        value = at + 6 + name_len
        value_len = _u32(p + value - 4)
        item = (
            _name(p + at + 2, name_len),
            PyBytes_FromStringAndSize(<const char *>p + value, value_len),
        )
        Py_INCREF(item)
        PyTuple_SET_ITEM(out, i, item)
        at = value + value_len
    return out


def decode_frame(frame):
    """The compiled :func:`aiomapi._sansio.wire.decode_frame`."""
    data = frame[0]
    if not PyBytes_CheckExact(data):
        return _py_decode_frame(frame)
    cdef const uchar *p = <const uchar *>PyBytes_AS_STRING(data)
    cdef i64 n = PyBytes_GET_SIZE(data)
    cdef i64 first, second, end
    cdef Py_ssize_t n1 = 0, n2 = 0
    if n < _HEADER:
        return _py_decode_frame(frame)
    first = _HEADER
    second = _list_end(p, first, n, &n1)
    if second < 0:
        return _py_decode_frame(frame)
    end = _list_end(p, second, n, &n2)
    if end < 0:
        return _py_decode_frame(frame)
    return aiomapi_tuple6(
        _Message,
        _u32(p + 8),
        _u32(p + 12),
        _u32(p + 16),
        _u32(p + 20),
        _read_list(p, first, n1),
        _read_list(p, second, n2),
    )


cdef Py_ssize_t _list_size(object values):
    """Bytes ``values`` take on the wire, or -1 if the pure encoder must judge them."""
    if not PyTuple_CheckExact(values):
        return -1
    cdef Py_ssize_t size = 2, name_len
    for item in <tuple>values:
        if not PyTuple_CheckExact(item) or len(<tuple>item) != 2:
            return -1
        name = (<tuple>item)[0]
        value = (<tuple>item)[1]
        if not PyUnicode_CheckExact(name) or PyUnicode_KIND(name) != PyUnicode_1BYTE_KIND:
            return -1
        if not PyBytes_CheckExact(value):
            return -1
        name_len = PyUnicode_GET_LENGTH(name)
        if name_len == 0 or name_len > _max_name or PyBytes_GET_SIZE(value) > <Py_ssize_t>_UINT32_MAX:
            return -1
        size += 6 + name_len + PyBytes_GET_SIZE(value)
    return size


cdef uchar *_write_list(uchar *out, tuple values):
    cdef Py_ssize_t name_len, value_len
    for item in values:
        name = (<tuple>item)[0]
        value = (<tuple>item)[1]
        name_len = PyUnicode_GET_LENGTH(name)
        value_len = PyBytes_GET_SIZE(value)
        _put16(out, name_len)
        memcpy(out + 2, PyUnicode_1BYTE_DATA(name), name_len)
        out += 2 + name_len
        _put32(out, value_len)
        memcpy(out + 4, PyBytes_AS_STRING(value), value_len)
        out += 4 + value_len
    out[0] = 0
    out[1] = 0
    return out + 2


cdef bint _uint32(object n, unsigned long long *out):
    """Whether ``n`` is an int (an Opcode or a bool included) in 0..2**32-1, put in ``out``."""
    cdef int overflow = 0
    cdef long long v
    if not PyLong_Check(n):
        return False
    v = PyLong_AsLongLongAndOverflow(n, &overflow)
    if overflow or v < 0 or <unsigned long long>v > _UINT32_MAX:
        return False
    out[0] = <unsigned long long>v
    return True


def encode_body(message, authid, authlen):
    """The compiled :func:`aiomapi._sansio.wire.encode_body`."""
    if type(message) is not _Message:
        return _py_encode_body(message, authid, authlen)
    cdef tuple m = <tuple>message
    cdef unsigned long long f[6]
    if not (_uint32(authid, &f[0]) and _uint32(authlen, &f[1]) and _uint32(m[0], &f[2])
            and _uint32(m[1], &f[3]) and _uint32(m[2], &f[4]) and _uint32(m[3], &f[5])):
        return _py_encode_body(message, authid, authlen)
    cdef Py_ssize_t size1 = _list_size(m[4]), size2 = _list_size(m[5])
    if size1 < 0 or size2 < 0:
        return _py_encode_body(message, authid, authlen)
    data = PyBytes_FromStringAndSize(NULL, _HEADER + size1 + size2)
    cdef uchar *out = <uchar *>PyBytes_AS_STRING(data)
    cdef int i
    for i in range(6):
        _put32(out + 4 * i, f[i])
    out = _write_list(out + _HEADER, <tuple>m[4])
    _write_list(out, <tuple>m[5])
    return data

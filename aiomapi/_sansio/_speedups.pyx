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
* :class:`HmacMd5Signer` signs and verifies with HMAC-MD5, the algorithm dhcpd and omshell
  use by default, without a Python call per message: the MD5 compression function below
  (RFC 1321), and HMAC's two keyed blocks (RFC 2104) hashed once per key, as the pure
  :class:`~aiomapi._sansio.auth.Signer` keeps a keyed context. The other algorithms keep
  the pure signer (OpenSSL through ``cryptography``). Signatures are compared in constant
  time. It checks itself against ``hashlib`` when the module loads.

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

from aiomapi.errors import AuthenticationError, RemoteProtocolError

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>

    /* MD5 (RFC 1321). The step constants are the integer parts of 2**32 * |sin(i + 1)|
       (written out by a script from that formula); the module's self-test checks the
       digests against hashlib before a signer may be made (see _self_test). */
    #define AIOMAPI_ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
    #define FF(a, b, c, d, x, t, s) a += (d ^ (b & (c ^ d))) + x + t; a = AIOMAPI_ROTL(a, s) + b
    #define GG(a, b, c, d, x, t, s) a += (c ^ (d & (b ^ c))) + x + t; a = AIOMAPI_ROTL(a, s) + b
    #define HH(a, b, c, d, x, t, s) a += (b ^ c ^ d) + x + t; a = AIOMAPI_ROTL(a, s) + b
    #define II(a, b, c, d, x, t, s) a += (c ^ (b | ~d)) + x + t; a = AIOMAPI_ROTL(a, s) + b

    static void aiomapi_md5_start(uint32_t s[4]) {
        s[0] = 0x67452301u; s[1] = 0xefcdab89u; s[2] = 0x98badcfeu; s[3] = 0x10325476u;
    }

    static void aiomapi_md5_block(uint32_t s[4], const unsigned char *p) {
        uint32_t m[16], a = s[0], b = s[1], c = s[2], d = s[3];
        int i;
        for (i = 0; i < 16; i++)
            m[i] = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8)
                 | ((uint32_t)p[4 * i + 2] << 16) | ((uint32_t)p[4 * i + 3] << 24);
        FF(a, b, c, d, m[0], 0xd76aa478u, 7);
        FF(d, a, b, c, m[1], 0xe8c7b756u, 12);
        FF(c, d, a, b, m[2], 0x242070dbu, 17);
        FF(b, c, d, a, m[3], 0xc1bdceeeu, 22);
        FF(a, b, c, d, m[4], 0xf57c0fafu, 7);
        FF(d, a, b, c, m[5], 0x4787c62au, 12);
        FF(c, d, a, b, m[6], 0xa8304613u, 17);
        FF(b, c, d, a, m[7], 0xfd469501u, 22);
        FF(a, b, c, d, m[8], 0x698098d8u, 7);
        FF(d, a, b, c, m[9], 0x8b44f7afu, 12);
        FF(c, d, a, b, m[10], 0xffff5bb1u, 17);
        FF(b, c, d, a, m[11], 0x895cd7beu, 22);
        FF(a, b, c, d, m[12], 0x6b901122u, 7);
        FF(d, a, b, c, m[13], 0xfd987193u, 12);
        FF(c, d, a, b, m[14], 0xa679438eu, 17);
        FF(b, c, d, a, m[15], 0x49b40821u, 22);
        GG(a, b, c, d, m[1], 0xf61e2562u, 5);
        GG(d, a, b, c, m[6], 0xc040b340u, 9);
        GG(c, d, a, b, m[11], 0x265e5a51u, 14);
        GG(b, c, d, a, m[0], 0xe9b6c7aau, 20);
        GG(a, b, c, d, m[5], 0xd62f105du, 5);
        GG(d, a, b, c, m[10], 0x02441453u, 9);
        GG(c, d, a, b, m[15], 0xd8a1e681u, 14);
        GG(b, c, d, a, m[4], 0xe7d3fbc8u, 20);
        GG(a, b, c, d, m[9], 0x21e1cde6u, 5);
        GG(d, a, b, c, m[14], 0xc33707d6u, 9);
        GG(c, d, a, b, m[3], 0xf4d50d87u, 14);
        GG(b, c, d, a, m[8], 0x455a14edu, 20);
        GG(a, b, c, d, m[13], 0xa9e3e905u, 5);
        GG(d, a, b, c, m[2], 0xfcefa3f8u, 9);
        GG(c, d, a, b, m[7], 0x676f02d9u, 14);
        GG(b, c, d, a, m[12], 0x8d2a4c8au, 20);
        HH(a, b, c, d, m[5], 0xfffa3942u, 4);
        HH(d, a, b, c, m[8], 0x8771f681u, 11);
        HH(c, d, a, b, m[11], 0x6d9d6122u, 16);
        HH(b, c, d, a, m[14], 0xfde5380cu, 23);
        HH(a, b, c, d, m[1], 0xa4beea44u, 4);
        HH(d, a, b, c, m[4], 0x4bdecfa9u, 11);
        HH(c, d, a, b, m[7], 0xf6bb4b60u, 16);
        HH(b, c, d, a, m[10], 0xbebfbc70u, 23);
        HH(a, b, c, d, m[13], 0x289b7ec6u, 4);
        HH(d, a, b, c, m[0], 0xeaa127fau, 11);
        HH(c, d, a, b, m[3], 0xd4ef3085u, 16);
        HH(b, c, d, a, m[6], 0x04881d05u, 23);
        HH(a, b, c, d, m[9], 0xd9d4d039u, 4);
        HH(d, a, b, c, m[12], 0xe6db99e5u, 11);
        HH(c, d, a, b, m[15], 0x1fa27cf8u, 16);
        HH(b, c, d, a, m[2], 0xc4ac5665u, 23);
        II(a, b, c, d, m[0], 0xf4292244u, 6);
        II(d, a, b, c, m[7], 0x432aff97u, 10);
        II(c, d, a, b, m[14], 0xab9423a7u, 15);
        II(b, c, d, a, m[5], 0xfc93a039u, 21);
        II(a, b, c, d, m[12], 0x655b59c3u, 6);
        II(d, a, b, c, m[3], 0x8f0ccc92u, 10);
        II(c, d, a, b, m[10], 0xffeff47du, 15);
        II(b, c, d, a, m[1], 0x85845dd1u, 21);
        II(a, b, c, d, m[8], 0x6fa87e4fu, 6);
        II(d, a, b, c, m[15], 0xfe2ce6e0u, 10);
        II(c, d, a, b, m[6], 0xa3014314u, 15);
        II(b, c, d, a, m[13], 0x4e0811a1u, 21);
        II(a, b, c, d, m[4], 0xf7537e82u, 6);
        II(d, a, b, c, m[11], 0xbd3af235u, 10);
        II(c, d, a, b, m[2], 0x2ad7d2bbu, 15);
        II(b, c, d, a, m[9], 0xeb86d391u, 21);
        s[0] += a; s[1] += b; s[2] += c; s[3] += d;
    }

    /* The digest of (`before` bytes already in `state`) + data[0:n]; `before` is a
       multiple of 64. */
    static void aiomapi_md5_finish(const uint32_t state[4], uint64_t before,
                                   const unsigned char *data, size_t n,
                                   unsigned char out[16]) {
        uint32_t s[4];
        unsigned char tail[128];
        size_t rest, tail_len, i;
        uint64_t bits = (before + n) * 8;
        memcpy(s, state, sizeof s);
        while (n >= 64) { aiomapi_md5_block(s, data); data += 64; n -= 64; }
        rest = n;
        memcpy(tail, data, rest);
        tail[rest] = 0x80;
        tail_len = rest < 56 ? 64 : 128;
        memset(tail + rest + 1, 0, tail_len - rest - 1);
        for (i = 0; i < 8; i++) tail[tail_len - 8 + i] = (unsigned char)(bits >> (8 * i));
        aiomapi_md5_block(s, tail);
        if (tail_len == 128) aiomapi_md5_block(s, tail + 64);
        for (i = 0; i < 4; i++) {
            out[4 * i] = (unsigned char)s[i]; out[4 * i + 1] = (unsigned char)(s[i] >> 8);
            out[4 * i + 2] = (unsigned char)(s[i] >> 16); out[4 * i + 3] = (unsigned char)(s[i] >> 24);
        }
    }

    /* HMAC: the inner and outer states after the key's padded block (RFC 2104). */
    static void aiomapi_hmac_md5_key(const unsigned char *key, size_t n,
                                     uint32_t inner[4], uint32_t outer[4]) {
        unsigned char block[64], hashed[16];
        size_t i;
        uint32_t s[4];
        if (n > 64) {
            aiomapi_md5_start(s);
            aiomapi_md5_finish(s, 0, key, n, hashed);
            key = hashed; n = 16;
        }
        for (i = 0; i < 64; i++) block[i] = (unsigned char)((i < n ? key[i] : 0) ^ 0x36);
        aiomapi_md5_start(inner);
        aiomapi_md5_block(inner, block);
        for (i = 0; i < 64; i++) block[i] = (unsigned char)((i < n ? key[i] : 0) ^ 0x5c);
        aiomapi_md5_start(outer);
        aiomapi_md5_block(outer, block);
    }

    static void aiomapi_hmac_md5(const uint32_t inner[4], const uint32_t outer[4],
                                 const unsigned char *data, size_t n, unsigned char out[16]) {
        unsigned char inner_digest[16];
        aiomapi_md5_finish(inner, 64, data, n, inner_digest);
        aiomapi_md5_finish(outer, 64, inner_digest, 16, out);
    }

    /* 1 if equal; the time depends on the length only. */
    static int aiomapi_equal(const unsigned char *a, const unsigned char *b, size_t n) {
        unsigned char diff = 0;
        size_t i;
        for (i = 0; i < n; i++) diff |= (unsigned char)(a[i] ^ b[i]);
        return diff == 0;
    }
    """
    ctypedef unsigned int uint32_t
    void aiomapi_md5_start(uint32_t *s)
    void aiomapi_md5_finish(const uint32_t *state, unsigned long long before,
                            const unsigned char *data, size_t n, unsigned char *out)
    void aiomapi_hmac_md5_key(const unsigned char *key, size_t n, uint32_t *inner,
                              uint32_t *outer)
    void aiomapi_hmac_md5(const uint32_t *inner, const uint32_t *outer,
                          const unsigned char *data, size_t n, unsigned char *out)
    int aiomapi_equal(const unsigned char *a, const unsigned char *b, size_t n)

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE

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

ctypedef unsigned char uchar

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


# Offsets are computed in 64 bits whatever Py_ssize_t is: a 32-bit length read from the
# wire plus an offset must not wrap on a 32-bit build. Every offset used to read is first
# checked against the end of the bytes, so it then fits a Py_ssize_t.
ctypedef long long i64


cdef inline i64 _u16(const uchar *p) noexcept nogil:
    return (<i64>p[0] << 8) | p[1]


cdef inline i64 _u32(const uchar *p) noexcept nogil:
    return (<i64>p[0] << 24) | (<i64>p[1] << 16) | (<i64>p[2] << 8) | p[3]


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


cdef i64 _list_end(const uchar *p, i64 at, i64 n, Py_ssize_t *count):
    """Offset just past the list starting at ``at`` (its entries counted), or -1."""
    cdef i64 name_len, value
    count[0] = 0
    while True:
        if at + 2 > n:
            return -1
        name_len = _u16(p + at)
        if name_len == 0:
            return at + 2
        value = at + 6 + name_len
        if value > n:
            return -1
        at = value + _u32(p + value - 4)
        if at > n:
            return -1
        count[0] += 1


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


# --------------------------------------------------------------------- HMAC-MD5

cdef enum:
    MD5_SIZE = 16


cdef class HmacMd5Signer:
    """The compiled :class:`~aiomapi._sansio.auth.Signer` for ``hmac-md5`` (same methods,
    same errors)."""

    cdef uint32_t inner[4]
    cdef uint32_t outer[4]
    cdef readonly int digest_size

    def __init__(self, const unsigned char[::1] secret not None):
        if not _md5_ok:
            raise RuntimeError("the compiled MD5 failed its self-test")
        aiomapi_hmac_md5_key(&secret[0] if secret.shape[0] else NULL, secret.shape[0],
                             self.inner, self.outer)
        self.digest_size = MD5_SIZE

    def __repr__(self):
        return f"<Signer digest_size={self.digest_size}>"

    cdef bytes _sign(self, object data, Py_ssize_t start):
        """The signature of ``data[start:]`` (any bytes-like object)."""
        cdef Py_buffer view
        cdef bytes out = PyBytes_FromStringAndSize(NULL, MD5_SIZE)
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            if start > view.len:
                start = view.len
            aiomapi_hmac_md5(self.inner, self.outer, <const unsigned char *>view.buf + start,
                             view.len - start, <unsigned char *>PyBytes_AS_STRING(out))
        finally:
            PyBuffer_Release(&view)
        return out

    def sign(self, data):
        """The signature of ``data`` (the signed region of a message)."""
        return self._sign(data, 0)

    def sign_body(self, bytes body):
        """``body`` (a message up to its object list) with its signature appended."""
        cdef Py_ssize_t n = PyBytes_GET_SIZE(body)
        if n < 4:
            return body + self._sign(body, 4)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, n + MD5_SIZE)
        cdef unsigned char *p = <unsigned char *>PyBytes_AS_STRING(out)
        memcpy(p, PyBytes_AS_STRING(body), n)
        aiomapi_hmac_md5(self.inner, self.outer, p + 4, n - 4, p + n)
        return out

    def verify(self, data, signature):
        """Check ``signature`` over ``data`` in constant time.

        Raises:
            AuthenticationError: the signature does not match.
        """
        if len(signature) != MD5_SIZE:
            raise AuthenticationError(
                f"signature is {len(signature)} bytes, expected {MD5_SIZE}"
            )
        cdef bytes expected = self._sign(data, 0)
        cdef const unsigned char[::1] given = signature
        if not aiomapi_equal(<const unsigned char *>PyBytes_AS_STRING(expected), &given[0],
                             MD5_SIZE):
            raise AuthenticationError("signature does not verify")

    def verify_frame(self, frame):
        """Check a frame's signature over its signed region, without slicing either.

        Raises:
            AuthenticationError: the signature does not match.
        """
        data = frame[0]
        signed_end = frame[2]
        if not PyBytes_CheckExact(data):
            return self.verify(frame.signed_region, frame.signature)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(data), end = signed_end
        cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(data)
        cdef unsigned char expected[MD5_SIZE]
        if end < 4 or end > n:
            return self.verify(frame.signed_region, frame.signature)
        if n - end != MD5_SIZE:
            raise AuthenticationError(f"signature is {n - end} bytes, expected {MD5_SIZE}")
        aiomapi_hmac_md5(self.inner, self.outer, p + 4, end - 4, expected)
        if not aiomapi_equal(expected, p + end, MD5_SIZE):
            raise AuthenticationError("signature does not verify")


cdef bint _md5_ok = False


def md5_ok():
    """Whether the compiled MD5 passed its self-test (else the pure signer is used)."""
    return _md5_ok


def _self_test():
    """Check the compiled MD5 against hashlib on a few lengths around the block edges."""
    global _md5_ok
    import hashlib
    import hmac as _hmac

    cdef uint32_t state[4]
    cdef unsigned char out[16]
    _md5_ok = True
    for size in (0, 1, 55, 56, 63, 64, 65, 119, 120, 200, 1000):
        data = bytes(range(256)) * 4
        data = data[:size]
        aiomapi_md5_start(state)
        aiomapi_md5_finish(state, 0, data, size, out)
        if out[:16] != hashlib.md5(data).digest():
            _md5_ok = False
            return False
        for key in (b"k", bytes(64), bytes(range(100))):
            if HmacMd5Signer(key).sign(data) != _hmac.new(key, data, "md5").digest():
                _md5_ok = False
                return False
    return True


_self_test()

# cython: language_level=3, boundscheck=False, wraparound=False
"""The compiled HMAC-MD5 signer, on OpenSSL's libcrypto (docs/speedups.md).

Theory of operation
-------------------
HMAC-MD5 is the algorithm dhcpd and omshell use by default, and signing or verifying is
part of every message. :class:`HmacMd5Signer` does it without a Python call per message,
and takes MD5 from OpenSSL's libcrypto (the library Python's ``hashlib`` uses) through its
EVP interface rather than from code of its own: a hash is not something to keep by hand.

HMAC (RFC 2104) hashes the key's padded block twice, once XORed with 0x36 and once with
0x5c. Both keyed MD5 states are made once per key, in ``EVP_MD_CTX`` contexts held by the
signer; per message each is copied into a context also allocated once, with the message
(or the inner digest) added and the digest taken — as the pure
:class:`~aiomapi._sansio.auth.Signer` copies its keyed context. Signatures are compared in
constant time with OpenSSL's ``CRYPTO_memcmp``.

MD5 is fetched from OpenSSL's default provider once, when the module loads, and the module
checks itself against ``hashlib`` and ``hmac`` there (:func:`md5_ok`): where MD5 is not
available (a FIPS-only OpenSSL) or the check fails, ``Key.signer()`` keeps to the
``cryptography`` signer.

This is a module of its own, linked with libcrypto, so that a machine without OpenSSL's
headers still builds the rest of the compiled path (``aiomapi/_sansio/_speedups.pyx``).
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy

from aiomapi.errors import AuthenticationError

cdef extern from "Python.h":
    bint PyBytes_CheckExact(object o)

cdef extern from "<openssl/evp.h>" nogil:
    ctypedef struct EVP_MD:
        pass
    ctypedef struct EVP_MD_CTX:
        pass
    ctypedef struct OSSL_LIB_CTX:
        pass
    EVP_MD *EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties)
    void EVP_MD_free(EVP_MD *md)
    EVP_MD_CTX *EVP_MD_CTX_new()
    void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
    int EVP_MD_CTX_copy_ex(EVP_MD_CTX *out, const EVP_MD_CTX *src)
    int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *md, void *engine)
    int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *data, size_t n)
    int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *out, unsigned int *n)
    int EVP_Digest(const void *data, size_t n, unsigned char *out, unsigned int *size,
                   const EVP_MD *md, void *engine)

cdef extern from "<openssl/crypto.h>" nogil:
    int CRYPTO_memcmp(const void *a, const void *b, size_t n)

cdef enum:
    MD5_SIZE = 16
    BLOCK = 64

# MD5 from the default provider, fetched once (NULL where it is not available).
cdef EVP_MD *_md5 = EVP_MD_fetch(NULL, b"MD5", NULL)


cdef int _keyed(EVP_MD_CTX *ctx, const unsigned char *key, size_t n, unsigned char pad):
    """Start ``ctx`` on MD5 with HMAC's block of ``key`` (at most 64 bytes) XOR ``pad``."""
    cdef unsigned char block[BLOCK]
    cdef int i
    for i in range(BLOCK):
        block[i] = (key[i] if <size_t>i < n else 0) ^ pad
    return EVP_DigestInit_ex(ctx, _md5, NULL) and EVP_DigestUpdate(ctx, block, BLOCK)


cdef class HmacMd5Signer:
    """The compiled :class:`~aiomapi._sansio.auth.Signer` for ``hmac-md5`` (same methods,
    same errors)."""

    cdef EVP_MD_CTX *_inner  # MD5 after the key XOR 0x36, kept
    cdef EVP_MD_CTX *_outer  # MD5 after the key XOR 0x5c, kept
    cdef EVP_MD_CTX *_work  # a copy of either, per message
    cdef readonly int digest_size

    def __cinit__(self):
        self._inner = EVP_MD_CTX_new()
        self._outer = EVP_MD_CTX_new()
        self._work = EVP_MD_CTX_new()
        if self._inner is NULL or self._outer is NULL or self._work is NULL:
            raise MemoryError()

    def __dealloc__(self):
        EVP_MD_CTX_free(self._inner)
        EVP_MD_CTX_free(self._outer)
        EVP_MD_CTX_free(self._work)

    def __init__(self, const unsigned char[::1] secret not None):
        cdef const unsigned char *key = &secret[0] if secret.shape[0] else NULL
        cdef size_t n = secret.shape[0]
        cdef unsigned char hashed[MD5_SIZE]
        if _md5 is NULL:
            raise RuntimeError("OpenSSL's libcrypto offers no MD5")
        if n > BLOCK:
            if not EVP_Digest(key, n, hashed, NULL, _md5, NULL):
                raise RuntimeError("OpenSSL's MD5 failed")
            key, n = hashed, MD5_SIZE
        if not (_keyed(self._inner, key, n, 0x36) and _keyed(self._outer, key, n, 0x5c)):
            raise RuntimeError("OpenSSL's MD5 failed")
        self.digest_size = MD5_SIZE

    def __repr__(self):
        return f"<Signer digest_size={self.digest_size}>"

    cdef int _mac(self, const unsigned char *data, size_t n, unsigned char *out) except -1:
        """HMAC-MD5 of ``data[:n]`` into ``out`` (16 bytes)."""
        cdef unsigned char inner[MD5_SIZE]
        if not (EVP_MD_CTX_copy_ex(self._work, self._inner)
                and EVP_DigestUpdate(self._work, data, n)
                and EVP_DigestFinal_ex(self._work, inner, NULL)
                and EVP_MD_CTX_copy_ex(self._work, self._outer)
                and EVP_DigestUpdate(self._work, inner, MD5_SIZE)
                and EVP_DigestFinal_ex(self._work, out, NULL)):
            raise RuntimeError("OpenSSL's MD5 failed")
        return 0

    cdef bytes _sign(self, object data, Py_ssize_t start):
        """The signature of ``data[start:]`` (any bytes-like object)."""
        cdef Py_buffer view
        cdef bytes out = PyBytes_FromStringAndSize(NULL, MD5_SIZE)
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            if start > view.len:
                start = view.len
            self._mac(<const unsigned char *>view.buf + start, view.len - start,
                      <unsigned char *>PyBytes_AS_STRING(out))
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
        self._mac(p + 4, n - 4, p + n)
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
        if CRYPTO_memcmp(PyBytes_AS_STRING(expected), &given[0], MD5_SIZE) != 0:
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
        self._mac(p + 4, end - 4, expected)
        if CRYPTO_memcmp(expected, p + end, MD5_SIZE) != 0:
            raise AuthenticationError("signature does not verify")


cdef bint _md5_ok = False


def md5_ok():
    """Whether the signer passed its self-test (else the pure signer is used)."""
    return _md5_ok


def _self_test():
    """Check the signer against hashlib's HMAC around the block edges, keys long and short."""
    global _md5_ok
    import hmac as _hmac

    _md5_ok = False
    if _md5 is NULL:
        return False
    data = bytes(range(256)) * 4
    for size in (0, 1, 55, 56, 63, 64, 65, 119, 120, 200, 1000):
        for key in (b"", b"k", bytes(64), bytes(range(65)), bytes(range(100)) * 2):
            signer = HmacMd5Signer(key)
            if signer.sign(data[:size]) != _hmac.new(key, data[:size], "md5").digest():
                return False
    _md5_ok = True
    return True


_self_test()

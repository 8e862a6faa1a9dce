# SPDX-License-Identifier: Apache-2.0
# Public Cython API of engine.signing: SHA-256 / HMAC-SHA256 (include/engine/sha256.h) and the
# pre-keyed Signer. Layout changes bump engine.__abi__.
cimport cython
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef extern from "engine/sha256.h" nogil:
    ctypedef struct eng_sha256:
        uint32_t h[8]
        uint64_t len
        uint8_t buf[64]
        uint32_t nbuf

    ctypedef struct eng_hmac_key:
        uint32_t istate[8]        # SHA-256 state after key ^ ipad
        uint32_t ostate[8]        # SHA-256 state after key ^ opad

    void eng_sha256_init(eng_sha256* c)
    void eng_sha256_update(eng_sha256* c, const void* data, size_t n)
    void eng_sha256_final(eng_sha256* c, uint8_t* out)
    void eng_sha256_digest(const void* data, size_t n, uint8_t* out)
    int eng_sha256_set_impl(int impl)
    int eng_sha256_get_impl()
    void eng_hmac_key_init(eng_hmac_key* k, const void* key, size_t n)
    void eng_hmac_start(const eng_hmac_key* k, eng_sha256* c)
    void eng_hmac_finish(const eng_hmac_key* k, eng_sha256* c, uint8_t* out)
    void eng_hmac_sha256(const eng_hmac_key* k, const void* msg, size_t n, uint8_t* out)
    void eng_hmac_sha256_hex(const eng_hmac_key* k, const void* msg, size_t n, char* out64)
    void eng_hmac_sha256_b64(const eng_hmac_key* k, const void* msg, size_t n, char* out44)
    void eng_hex32(const uint8_t* src, char* out64)
    size_t eng_base64(const uint8_t* src, size_t n, char* out)


@cython.final
cdef class Signer:
    cdef eng_hmac_key key         # pad states only; the raw secret is never stored

    cdef void digest_into(self, const char* msg, size_t n, uint8_t* out32) noexcept nogil
    cdef void sign_hex_into(self, const char* msg, size_t n, char* out64) noexcept nogil
    cdef void sign_b64_into(self, const char* msg, size_t n, char* out44) noexcept nogil

/* minhash_kernel: MinHash signatures of word-joined documents in one pass, without a Python object per shingle.
 *
 * Input: one bytes object holding every document's words joined by single spaces (UTF-8), back to back, and the
 * documents' byte offsets into it. A document's shingles are its word n-grams, each the byte span from the start
 * of word i to the end of word i+n-1 (so exactly the words joined by a space); a document with fewer than n words
 * is one shingle of all of them. Each shingle is hashed with XXH3-64 (seed 0), as xxhash.xxh3_64_intdigest
 * hashes the shingle's UTF-8, and permuted as operators/dedup/minhash.py's _permute does:
 *     ((h * a + b) mod 2^64) mod (2^61 - 1), low 32 bits  (datasketch's "legacy" scheme)
 * keeping each permutation's minimum. The result equals operators.dedup.minhash.signatures_from_hashes over
 * shingle_hashes bit for bit (tests/operators/dedup/test_minhash_kernel.py).
 *
 * xxhash.h comes from the sdist of the installed python-xxhash release (make setup passes its folder as
 * XXHASH_SOURCE), so the hash is the one the Python path uses.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL
#include "xxhash.h"

#define MERSENNE ((uint64_t)0x1FFFFFFFFFFFFFFFULL)
#define MAX_HASH ((uint64_t)0xFFFFFFFFULL)

static inline void permute_into(uint64_t h, const uint64_t *a, const uint64_t *b, uint32_t *mins, Py_ssize_t perms) {
    for (Py_ssize_t p = 0; p < perms; p++) {
        uint64_t x = h * a[p] + b[p];
        uint64_t r = (x & MERSENNE) + (x >> 61);
        if (r >= MERSENNE) r -= MERSENNE;
        uint32_t v = (uint32_t)(r & MAX_HASH);
        if (v < mins[p]) mins[p] = v;
    }
}

/* One document: the words of text[0:len) (separated by single spaces); returns the number of shingles. */
static Py_ssize_t sign_document(const char *text, Py_ssize_t len, int ngram, const uint64_t *a, const uint64_t *b,
                                Py_ssize_t perms, uint32_t *mins, Py_ssize_t *starts, Py_ssize_t *ends) {
    Py_ssize_t words = 0, begin = 0;
    if (len == 0) return 0;
    for (Py_ssize_t i = 0; i <= len; i++) {
        if (i == len || text[i] == ' ') {
            starts[words] = begin;
            ends[words] = i;
            words++;
            begin = i + 1;
        }
    }
    if (words < ngram) {
        permute_into(XXH3_64bits(text, (size_t)len), a, b, mins, perms);
        return 1;
    }
    for (Py_ssize_t w = 0; w + ngram <= words; w++) {
        Py_ssize_t s = starts[w], e = ends[w + ngram - 1];
        permute_into(XXH3_64bits(text + s, (size_t)(e - s)), a, b, mins, perms);
    }
    return words - ngram + 1;
}

static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t item, const char *name) {
    if (PyObject_GetBuffer(obj, view, (writable ? PyBUF_WRITABLE : 0) | PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->len % item != 0) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes is not a whole number of %zd-byte items", name, view->len, item);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* signatures(text: bytes, offsets: int64[docs + 1], ngram: int, a: uint64[P], b: uint64[P],
 *            out: uint32[docs * P] (filled with 2^32 - 1 by the caller), counts: int64[docs]) -> None */
static PyObject *signatures(PyObject *self, PyObject *args) {
    PyObject *text_obj, *offsets_obj, *a_obj, *b_obj, *out_obj, *counts_obj;
    int ngram;
    if (!PyArg_ParseTuple(args, "OOiOOOO", &text_obj, &offsets_obj, &ngram, &a_obj, &b_obj, &out_obj, &counts_obj))
        return NULL;
    if (ngram < 1) {
        PyErr_SetString(PyExc_ValueError, "ngram must be at least 1");
        return NULL;
    }
    Py_buffer text, offsets, a, b, out, counts;
    if (get_buffer(text_obj, &text, 0, 1, "text") < 0) return NULL;
    if (get_buffer(offsets_obj, &offsets, 0, 8, "offsets") < 0) goto fail_text;
    if (get_buffer(a_obj, &a, 0, 8, "a") < 0) goto fail_offsets;
    if (get_buffer(b_obj, &b, 0, 8, "b") < 0) goto fail_a;
    if (get_buffer(out_obj, &out, 1, 4, "out") < 0) goto fail_b;
    if (get_buffer(counts_obj, &counts, 1, 8, "counts") < 0) goto fail_out;

    Py_ssize_t docs = offsets.len / 8 - 1, perms = a.len / 8;
    const int64_t *offs = (const int64_t *)offsets.buf;
    if (docs < 0 || b.len != a.len || out.len != docs * perms * 4 || counts.len != docs * 8) {
        PyErr_SetString(PyExc_ValueError, "signatures: array sizes do not match (offsets docs+1, a and b perms, "
                                          "out docs*perms, counts docs)");
        goto fail_counts;
    }
    Py_ssize_t longest = 0;
    for (Py_ssize_t d = 0; d < docs; d++) {
        if (offs[d] < 0 || offs[d + 1] < offs[d] || offs[d + 1] > text.len) {
            PyErr_SetString(PyExc_ValueError, "signatures: offsets must rise within the text");
            goto fail_counts;
        }
        if (offs[d + 1] - offs[d] > longest) longest = offs[d + 1] - offs[d];
    }
    /* A document of n bytes has at most n + 1 words (n / 2 + 1 when no word is empty). */
    Py_ssize_t *spans = PyMem_RawMalloc(sizeof(Py_ssize_t) * 2 * (size_t)(longest + 1));
    if (spans == NULL) {
        PyErr_NoMemory();
        goto fail_counts;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t d = 0; d < docs; d++) {
        ((int64_t *)counts.buf)[d] = sign_document((const char *)text.buf + offs[d], offs[d + 1] - offs[d], ngram,
                                                   (const uint64_t *)a.buf, (const uint64_t *)b.buf, perms,
                                                   (uint32_t *)out.buf + d * perms, spans, spans + longest + 1);
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(spans);
    PyBuffer_Release(&counts);
    PyBuffer_Release(&out);
    PyBuffer_Release(&b);
    PyBuffer_Release(&a);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&text);
    Py_RETURN_NONE;

fail_counts:
    PyBuffer_Release(&counts);
fail_out:
    PyBuffer_Release(&out);
fail_b:
    PyBuffer_Release(&b);
fail_a:
    PyBuffer_Release(&a);
fail_offsets:
    PyBuffer_Release(&offsets);
fail_text:
    PyBuffer_Release(&text);
    return NULL;
}

static PyObject *xxh3_64(PyObject *self, PyObject *args) {
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    uint64_t h = XXH3_64bits(data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLongLong(h);
}

static PyMethodDef methods[] = {
    {"signatures", signatures, METH_VARARGS, "MinHash signatures of word-joined documents (see the module source)."},
    {"xxh3_64", xxh3_64, METH_VARARGS, "XXH3-64 (seed 0) of a bytes-like object, as compiled in."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "minhash_kernel", NULL, -1, methods};

PyMODINIT_FUNC PyInit_minhash_kernel(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddStringConstant(m, "XXHASH_VERSION", XXHASH_SOURCE_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/* The fast extraction engine's DOM walk, compiled: the same blocks as the Python walk of
 * operators/web/fast_extract/blocks.py (page_blocks), from the lexbor tree selectolax has parsed.
 *
 * The Python walk is the reference; this file is a line-by-line port of it (the comments name the Python
 * lines they mirror) that reads lexbor's nodes, texts and attributes as C structs instead of through one
 * Python object per node. It is built against the lexbor headers of the selectolax sdist of the version
 * installed (native/lexbor_walk/setup.py), and calls no lexbor function: node, text and attribute fields are
 * read as the headers lay them out. Everything that decides text, whitespace or letter case goes through the
 * same CPython calls Python's own str methods use, so the blocks are identical (tests/operators/web/
 * test_fast_extract.py compares both walks on every shared page).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "lexbor/dom/interfaces/node.h"
#include "lexbor/dom/interfaces/element.h"
#include "lexbor/dom/interfaces/attr.h"
#include "lexbor/dom/interfaces/character_data.h"
#include "lexbor/dom/interfaces/attr_const.h"
#include "lexbor/tag/const.h"
#include "lexbor/core/hash.h"
#include "lexbor/core/base.h"

#define TABLE_SIZE 1024   /* tag ids below this are looked up in tables; lexbor's static ids end at 0xc7 */

/* What configure() sets once: per tag id, its block name (NULL: inline), cell / skipped flags and context bit. */
static PyObject *block_name[TABLE_SIZE];
static unsigned char is_cell[TABLE_SIZE], is_skipped[TABLE_SIZE];
static long long context_bit[TABLE_SIZE];
static uintptr_t tag_br, tag_a, tag_tr;
static PyObject *class_bits_fn, *style_hides_fn, *finish_lines_fn, *attribute_memo;
static Py_ssize_t memo_limit;
static PyObject *s_empty, *s_space, *s_newline, *s_separator;
static int configured;

typedef struct {
    PyObject *name;          /* borrowed: a value of block_name[] or the body's name */
    int is_block;
    long long ctx, cls, near0, near1, near2;
    Py_ssize_t container;
    int link;
} frame_t;

typedef struct {
    long long chars, link, blocks;
    Py_ssize_t parent, first;
} region_t;

typedef struct {
    void *data;
    Py_ssize_t size, capacity;
    size_t item;
} vec_t;

static int vec_push(vec_t *v, const void *item) {
    if (v->size == v->capacity) {
        Py_ssize_t capacity = v->capacity ? v->capacity * 2 : 64;
        void *data = PyMem_Realloc(v->data, (size_t)capacity * v->item);
        if (data == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        v->data = data;
        v->capacity = capacity;
    }
    memcpy((char *)v->data + (size_t)v->size * v->item, item, v->item);
    v->size++;
    return 0;
}

#define VEC_AT(v, type, i) (((type *)(v).data)[i])

/* lxb_dom_attr_qualified_name's name, without calling it: a static id is one of lexbor's own names (we only
 * need to know class, id and style among them), a dynamic id is a pointer to its hash entry. */
enum { A_OTHER, A_CLASS, A_ID, A_ROLE, A_ITEMPROP, A_STYLE, A_HIDDEN, A_ARIA_HIDDEN };

static int attribute_kind(const lxb_dom_attr_t *attr) {
    lxb_dom_attr_id_t id = attr->qualified_name != 0 ? attr->qualified_name : attr->node.local_name;
    if (id < LXB_DOM_ATTR__LAST_ENTRY) {
        if (id == LXB_DOM_ATTR_CLASS) return A_CLASS;
        if (id == LXB_DOM_ATTR_ID) return A_ID;
        if (id == LXB_DOM_ATTR_STYLE) return A_STYLE;
        return A_OTHER;
    }
    if (id == LXB_DOM_ATTR__LAST_ENTRY) return A_OTHER;
    const lxb_dom_attr_data_t *data = (const lxb_dom_attr_data_t *)id;
    const char *name = (const char *)lexbor_hash_entry_str(&data->entry);
    size_t length = data->entry.length;
#define IS(literal) (length == sizeof(literal) - 1 && memcmp(name, literal, length) == 0)
    if (IS("class")) return A_CLASS;
    if (IS("id")) return A_ID;
    if (IS("role")) return A_ROLE;
    if (IS("itemprop")) return A_ITEMPROP;
    if (IS("style")) return A_STYLE;
    if (IS("hidden")) return A_HIDDEN;
    if (IS("aria-hidden")) return A_ARIA_HIDDEN;
#undef IS
    return A_OTHER;
}

static int contains(const lxb_char_t *data, size_t length, const char *needle) {
    size_t n = strlen(needle);
    if (data == NULL || length < n) return 0;
    for (size_t i = 0; i + n <= length; i++)
        if (memcmp(data + i, needle, n) == 0) return 1;
    return 0;
}

/* The element's own class bits (Python: the `attributes` block of page_blocks), or -1 when the element is
 * hidden (skipped with its subtree), or -2 on a Python error. */
static long long own_class_bits(lxb_dom_element_t *element) {
    const lexbor_str_t *value[A_ARIA_HIDDEN + 1];
    int present[A_ARIA_HIDDEN + 1];
    memset(present, 0, sizeof(present));
    lxb_dom_attr_t *attr = element->first_attr;
    if (attr == NULL) return 0;   /* `if attributes:` */
    for (; attr != NULL; attr = attr->next) {
        int kind = attribute_kind(attr);
        if (kind != A_OTHER) {     /* a dict keeps the last of equal keys */
            present[kind] = 1;
            value[kind] = attr->value;
        }
    }
    /* ("style" in attributes or "hidden" in attributes or "aria-hidden" in attributes) and _hidden(attributes) */
    if (present[A_HIDDEN]) return -1;
    if (present[A_STYLE] && value[A_STYLE] != NULL && value[A_STYLE]->length > 0 &&
        contains(value[A_STYLE]->data, value[A_STYLE]->length, "none")) {
        PyObject *style = PyUnicode_DecodeUTF8((const char *)value[A_STYLE]->data,
                                               (Py_ssize_t)value[A_STYLE]->length, "replace");
        if (style == NULL) return -2;
        PyObject *hides = PyObject_CallOneArg(style_hides_fn, style);
        Py_DECREF(style);
        if (hides == NULL) return -2;
        int truth = PyObject_IsTrue(hides);
        Py_DECREF(hides);
        if (truth < 0) return -2;
        if (truth) return -1;
    }
    if (present[A_ARIA_HIDDEN] && value[A_ARIA_HIDDEN] != NULL && value[A_ARIA_HIDDEN]->length == 4 &&
        memcmp(value[A_ARIA_HIDDEN]->data, "true", 4) == 0)
        return -1;
    /* f"{class or ''} {id or ''} {role or ''} {itemprop or ''}" */
    static const int order[4] = {A_CLASS, A_ID, A_ROLE, A_ITEMPROP};
    size_t total = 3;
    for (int i = 0; i < 4; i++)
        if (present[order[i]] && value[order[i]] != NULL) total += value[order[i]]->length;
    if (total == 3) return 0;   /* three spaces: len(attribute_text) > 3 fails */
    char small[512];
    char *buffer = total <= sizeof(small) ? small : PyMem_Malloc(total);
    if (buffer == NULL) {
        PyErr_NoMemory();
        return -2;
    }
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        if (i) buffer[at++] = ' ';
        const lexbor_str_t *v = present[order[i]] ? value[order[i]] : NULL;
        if (v != NULL && v->length) {
            memcpy(buffer + at, v->data, v->length);
            at += v->length;
        }
    }
    PyObject *text = PyUnicode_DecodeUTF8(buffer, (Py_ssize_t)at, "replace");
    if (buffer != small) PyMem_Free(buffer);
    if (text == NULL) return -2;
    long long bits = 0;
    if (PyUnicode_GET_LENGTH(text) > 3) {
        PyObject *known = PyDict_GetItemWithError(attribute_memo, text);
        if (known == NULL) {
            if (PyErr_Occurred()) goto failed;
            known = PyObject_CallOneArg(class_bits_fn, text);
            if (known == NULL) goto failed;
            bits = PyLong_AsLongLong(known);
            if (PyDict_GET_SIZE(attribute_memo) < memo_limit && PyDict_SetItem(attribute_memo, text, known) < 0) {
                Py_DECREF(known);
                goto failed;
            }
            Py_DECREF(known);
        } else {
            bits = PyLong_AsLongLong(known);
        }
        if (bits == -1 && PyErr_Occurred()) goto failed;
    }
    Py_DECREF(text);
    return bits;
failed:
    Py_DECREF(text);
    return -2;
}

static int append_number_row(PyObject *numbers, long long *row) {
    PyObject *tuple = PyTuple_New(10);
    if (tuple == NULL) return -1;
    for (int i = 0; i < 10; i++) {
        PyObject *value = PyLong_FromLongLong(row[i]);
        if (value == NULL) {
            Py_DECREF(tuple);
            return -1;
        }
        PyTuple_SET_ITEM(tuple, i, value);
    }
    int status = PyList_Append(numbers, tuple);
    Py_DECREF(tuple);
    return status;
}

static int append_long(PyObject *list, long long value) {
    PyObject *object = PyLong_FromLongLong(value);
    if (object == NULL) return -1;
    int status = PyList_Append(list, object);
    Py_DECREF(object);
    return status;
}

/* any(not part.isspace() for part in parts[checked:]) */
static int any_text(PyObject *parts, Py_ssize_t from) {
    Py_ssize_t n = PyList_GET_SIZE(parts);
    for (Py_ssize_t i = from; i < n; i++) {
        PyObject *part = PyList_GET_ITEM(parts, i);
        Py_ssize_t length = PyUnicode_GET_LENGTH(part);
        int kind = PyUnicode_KIND(part);
        const void *data = PyUnicode_DATA(part);
        if (length == 0) return 1;   /* "".isspace() is False */
        for (Py_ssize_t j = 0; j < length; j++)
            if (!Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, j))) return 1;
    }
    return 0;
}

static PyObject *walk(PyObject *self, PyObject *args) {
    unsigned long long body_address;
    Py_ssize_t max_elements;
    if (!PyArg_ParseTuple(args, "Kn", &body_address, &max_elements)) return NULL;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "lexbor_walk.configure() was not called");
        return NULL;
    }
    lxb_dom_node_t *body = (lxb_dom_node_t *)(uintptr_t)body_address;

    PyObject *texts = PyList_New(0), *tags = PyList_New(0), *numbers = PyList_New(0);
    PyObject *containers = PyList_New(0), *parts = PyList_New(0), *result = NULL;
    vec_t frames = {NULL, 0, 0, sizeof(frame_t)};
    vec_t resume = {NULL, 0, 0, sizeof(lxb_dom_node_t *)};
    vec_t regions = {NULL, 0, 0, sizeof(region_t)};
    if (!texts || !tags || !numbers || !containers || !parts) goto done;

    static PyObject *body_name;
    if (body_name == NULL && (body_name = PyUnicode_InternFromString("body")) == NULL) goto done;
    region_t body_region = {0, 0, 0, -1, 0};
    if (vec_push(&regions, &body_region) < 0) goto done;
    frame_t body_frame = {body_name, 1, 0, 0, 0, 0, 0, 0, 0};
    if (vec_push(&frames, &body_frame) < 0) goto done;

    lxb_dom_node_t *node = body->first_child;
    long long link_chars = 0, links = 0, cells = 0, chars_before = 0, elements = 0;
    int has_break = 0, seam = 0, has_text = 0;
    Py_ssize_t checked = 0;

    for (;;) {
        int exiting, boundary_is_body = 0;
        frame_t boundary;
        long long depth;
        if (node == NULL) {
            exiting = 1;
            if (resume.size == 0) {
                boundary = VEC_AT(frames, frame_t, 0);
                boundary_is_body = 1;
                depth = 1;
            } else {
                node = VEC_AT(resume, lxb_dom_node_t *, --resume.size);
                frame_t frame = VEC_AT(frames, frame_t, --frames.size);
                if (!frame.is_block) {
                    seam = 1;
                    continue;
                }
                boundary = frame;
                depth = frames.size + 1;
            }
        } else {
            uintptr_t tag_id = node->local_name;
            if (tag_id == LXB_TAG__TEXT) {
                if (node->type == LXB_DOM_NODE_TYPE_TEXT) {
                    const lexbor_str_t *data = &((lxb_dom_character_data_t *)node)->data;
                    if (data->data != NULL && data->length > 0) {
                        PyObject *text = PyUnicode_DecodeUTF8((const char *)data->data, (Py_ssize_t)data->length,
                                                              "replace");
                        if (text == NULL) goto done;
                        Py_ssize_t n = PyList_GET_SIZE(parts);
                        if (seam && n > 0 && PyUnicode_GET_LENGTH(text) > 0 &&
                            Py_UNICODE_ISUPPER(PyUnicode_READ_CHAR(text, 0))) {
                            PyObject *last = PyList_GET_ITEM(parts, n - 1);
                            Py_ssize_t last_length = PyUnicode_GET_LENGTH(last);
                            if (last_length > 0 && Py_UNICODE_ISLOWER(PyUnicode_READ_CHAR(last, last_length - 1)) &&
                                PyList_Append(parts, s_space) < 0) {
                                Py_DECREF(text);
                                goto done;
                            }
                        }
                        if (PyUnicode_GET_LENGTH(text) > 0) {
                            seam = 0;
                            if (PyList_Append(parts, text) < 0) {
                                Py_DECREF(text);
                                goto done;
                            }
                            if (VEC_AT(frames, frame_t, frames.size - 1).link)
                                link_chars += PyUnicode_GET_LENGTH(text);
                        }
                        Py_DECREF(text);
                    }
                }
                node = node->next;
                continue;
            }
            if (tag_id == LXB_TAG__EM_COMMENT || (tag_id < TABLE_SIZE && is_skipped[tag_id])) {
                node = node->next;
                continue;
            }
            if (tag_id == tag_br) {
                if (PyList_Append(parts, s_newline) < 0) goto done;
                has_break = 1;
                node = node->next;
                continue;
            }
            elements += 1;
            if (elements > max_elements) {
                result = Py_NewRef(Py_None);
                goto done;
            }
            long long own_bits = 0;
            PyObject *name = tag_id < TABLE_SIZE ? block_name[tag_id] : NULL;
            if ((name != NULL || tag_id == tag_a) && node->type == LXB_DOM_NODE_TYPE_ELEMENT) {
                own_bits = own_class_bits((lxb_dom_element_t *)node);
                if (own_bits == -2) goto done;
                if (own_bits == -1) {
                    node = node->next;
                    continue;
                }
            }
            frame_t parent = VEC_AT(frames, frame_t, frames.size - 1);
            int link = parent.link;
            if (tag_id == tag_a) {
                if (!link) links += 1;
                link = 1;
            } else if (tag_id < TABLE_SIZE && is_cell[tag_id]) {
                Py_ssize_t n = PyList_GET_SIZE(parts);
                if (n > 0) {
                    PyObject *last = PyList_GET_ITEM(parts, n - 1);
                    Py_ssize_t last_length = PyUnicode_GET_LENGTH(last);
                    if (!(last_length > 0 && PyUnicode_READ_CHAR(last, last_length - 1) == '\n')) {
                        if (!has_text) {
                            has_text = any_text(parts, checked);
                            checked = n;
                        }
                        if (has_text && PyList_Append(parts, s_separator) < 0) goto done;
                    }
                }
                cells += 1;
            } else if (tag_id == tag_tr) {
                if (PyList_Append(parts, s_newline) < 0) goto done;
                has_break = 1;
            }
            long long bit = tag_id < TABLE_SIZE ? context_bit[tag_id] : 0;
            if (name == NULL) {
                seam = 1;
                frame_t frame = {parent.name, 0, parent.ctx | bit, parent.cls | own_bits,
                                 own_bits | parent.near0, parent.near1, parent.near2, parent.container, link};
                lxb_dom_node_t *next = node->next;
                if (vec_push(&frames, &frame) < 0 || vec_push(&resume, &next) < 0) goto done;
                node = node->first_child;
                continue;
            }
            frame_t frame = {name, 1, parent.ctx | bit, parent.cls | own_bits,
                             own_bits, parent.near0, parent.near1, regions.size, link};
            region_t region = {0, 0, 0, parent.container, PyList_GET_SIZE(texts)};
            lxb_dom_node_t *next = node->next;
            if (vec_push(&frames, &frame) < 0 || vec_push(&regions, &region) < 0 || vec_push(&resume, &next) < 0)
                goto done;
            node = node->first_child;
            boundary = parent;
            depth = frames.size - 1;
            exiting = 0;
        }
        /* A boundary: the text gathered so far is one block of `boundary`. */
        if (PyList_GET_SIZE(parts) > 0) {
            PyObject *raw = PyUnicode_Join(s_empty, parts);
            if (raw == NULL) goto done;
            if (PyList_SetSlice(parts, 0, PyList_GET_SIZE(parts), NULL) < 0) {
                Py_DECREF(raw);
                goto done;
            }
            has_text = 0;
            checked = 0;
            PyObject *text;
            if (has_break || cells) {
                text = PyObject_CallOneArg(finish_lines_fn, raw);
                has_break = 0;
            } else {
                PyObject *words = PyUnicode_Split(raw, NULL, -1);
                text = words == NULL ? NULL : PyUnicode_Join(s_space, words);
                Py_XDECREF(words);
            }
            if (text == NULL) {
                Py_DECREF(raw);
                goto done;
            }
            Py_ssize_t chars = PyUnicode_GET_LENGTH(text);
            if (chars > 0) {
                Py_ssize_t raw_chars = PyUnicode_GET_LENGTH(raw);
                if (raw_chars == 0) raw_chars = 1;
                long long link_part = link_chars >= raw_chars ? chars : (long long)chars * link_chars / raw_chars;
                long long row[10] = {chars, link_part, links, cells, depth, boundary.ctx, boundary.near0,
                                     boundary.cls, boundary.near0 | boundary.near1 | boundary.near2, chars_before};
                if (PyList_Append(texts, text) < 0 || PyList_Append(tags, boundary.name) < 0 ||
                    append_number_row(numbers, row) < 0 || append_long(containers, boundary.container) < 0) {
                    Py_DECREF(text);
                    Py_DECREF(raw);
                    goto done;
                }
                chars_before += chars;
                region_t *totals = &VEC_AT(regions, region_t, boundary.container);
                totals->chars += chars;
                totals->link += link_part;
                totals->blocks += 1;
            }
            Py_DECREF(text);
            Py_DECREF(raw);
            link_chars = links = cells = 0;
        }
        if (exiting) {
            region_t totals = VEC_AT(regions, region_t, boundary.container);
            if (totals.parent >= 0) {
                region_t *outer = &VEC_AT(regions, region_t, totals.parent);
                outer->chars += totals.chars;
                outer->link += totals.link;
                outer->blocks += totals.blocks;
            }
            if (boundary_is_body && resume.size == 0 && node == NULL) break;
        }
    }

    PyObject *region_list = PyList_New(regions.size);
    if (region_list == NULL) goto done;
    for (Py_ssize_t i = 0; i < regions.size; i++) {
        region_t r = VEC_AT(regions, region_t, i);
        PyObject *row = Py_BuildValue("[LLLnn]", r.chars, r.link, r.blocks, r.parent, r.first);
        if (row == NULL) {
            Py_DECREF(region_list);
            goto done;
        }
        PyList_SET_ITEM(region_list, i, row);
    }
    result = Py_BuildValue("(OOOONL)", texts, tags, numbers, containers, region_list, elements);

done:
    Py_XDECREF(texts);
    Py_XDECREF(tags);
    Py_XDECREF(numbers);
    Py_XDECREF(containers);
    Py_XDECREF(parts);
    PyMem_Free(frames.data);
    PyMem_Free(resume.data);
    PyMem_Free(regions.data);
    return result;
}

static int fill_table(PyObject *mapping, const char *what, int (*store)(long, PyObject *)) {
    PyObject *key, *value;
    Py_ssize_t position = 0;
    if (!PyDict_Check(mapping)) {
        PyErr_Format(PyExc_TypeError, "configure: %s must be a dict", what);
        return -1;
    }
    while (PyDict_Next(mapping, &position, &key, &value)) {
        long id = PyLong_AsLong(key);
        if (id == -1 && PyErr_Occurred()) return -1;
        if (id < 0 || id >= TABLE_SIZE) {
            PyErr_Format(PyExc_ValueError, "configure: tag id %ld of %s is out of range", id, what);
            return -1;
        }
        if (store(id, value) < 0) return -1;
    }
    return 0;
}

static int store_name(long id, PyObject *value) {
    if (!PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "configure: block names must be str");
        return -1;
    }
    Py_XSETREF(block_name[id], Py_NewRef(value));
    return 0;
}
static int store_cell(long id, PyObject *value) { is_cell[id] = 1; return 0; }
static int store_skipped(long id, PyObject *value) { is_skipped[id] = 1; return 0; }
static int store_bit(long id, PyObject *value) {
    long long bit = PyLong_AsLongLong(value);
    if (bit == -1 && PyErr_Occurred()) return -1;
    context_bit[id] = bit;
    return 0;
}

/* configure(block_names, cells, skipped, context_bits, br, a, tr, class_bits, style_hides, finish_lines,
 *           attribute_memo, memo_limit, cell_separator): the Python walk's tables and helpers. */
static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *names, *cells, *skipped, *bits, *class_bits, *style_hides, *finish_lines, *memo, *separator;
    unsigned long long br, a, tr;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "OOOOKKKOOOO!nU", &names, &cells, &skipped, &bits, &br, &a, &tr, &class_bits,
                          &style_hides, &finish_lines, &PyDict_Type, &memo, &limit, &separator))
        return NULL;
    for (int i = 0; i < TABLE_SIZE; i++) {
        Py_CLEAR(block_name[i]);
        is_cell[i] = is_skipped[i] = 0;
        context_bit[i] = 0;
    }
    if (fill_table(names, "block_names", store_name) < 0 || fill_table(cells, "cells", store_cell) < 0 ||
        fill_table(skipped, "skipped", store_skipped) < 0 || fill_table(bits, "context_bits", store_bit) < 0)
        return NULL;
    tag_br = (uintptr_t)br;
    tag_a = (uintptr_t)a;
    tag_tr = (uintptr_t)tr;
    Py_XSETREF(class_bits_fn, Py_NewRef(class_bits));
    Py_XSETREF(style_hides_fn, Py_NewRef(style_hides));
    Py_XSETREF(finish_lines_fn, Py_NewRef(finish_lines));
    Py_XSETREF(attribute_memo, Py_NewRef(memo));
    Py_XSETREF(s_separator, Py_NewRef(separator));
    memo_limit = limit;
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Set the walk's tag tables and Python helpers (once per process)."},
    {"walk", walk, METH_VARARGS,
     "walk(body_mem_id, max_elements) -> (texts, tags, numbers, containers, regions, elements) or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "lexbor_walk", NULL, -1, methods};

PyMODINIT_FUNC PyInit_lexbor_walk(void) {
    s_empty = PyUnicode_InternFromString("");
    s_space = PyUnicode_InternFromString(" ");
    s_newline = PyUnicode_InternFromString("\n");
    if (s_empty == NULL || s_space == NULL || s_newline == NULL) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddStringConstant(m, "LEXBOR_VERSION", LEXBOR_VERSION_STRING) < 0 ||
        PyModule_AddStringConstant(m, "SELECTOLAX_VERSION", SELECTOLAX_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/* The model of a guarded call (guard_model_lib.c, built as a shared library) as its driver
 * (guard_model.c) calls it: the handle and the steps, each the one before plus one piece. */
#ifndef GUARD_MODEL_H
#define GUARD_MODEL_H

#include <stdint.h>

struct model_handle {
    uint64_t word; /* the view sequence word: bit 1 = take the full path */
    char *bytes;
    uint64_t len;
};

/* Gives the calling thread a count of fast calls that lasts the whole run. */
void model_thread_start(void);

int model_accessor(const struct model_handle *h, uint64_t offset, uint64_t *out);
int model_looks(const struct model_handle *h, uint64_t offset, uint64_t *out);
int model_second_look(const struct model_handle *h, uint64_t offset, uint64_t *out);
int model_flag(const struct model_handle *h, uint64_t offset, uint64_t *out);
int model_count(const struct model_handle *h, uint64_t offset, uint64_t *out);
int model_mark(const struct model_handle *h, uint64_t offset, uint64_t *out);

#endif

/* SPDX-License-Identifier: Apache-2.0
 * Fixed-capacity intent ring owned by the Strategy base class. Single producer (the hook),
 * single consumer (the dispatcher), same thread. A full ring is an error, never an overwrite. */
#pragma once
#include <stdint.h>
#include "engine/types.h"
#include "engine/rc.h"

#define ENG_RING_CAP 64   /* power of two */

typedef struct eng_intent_ring {
    eng_intent items[ENG_RING_CAP];
    uint32_t head;   /* next slot to read */
    uint32_t tail;   /* next slot to write */
} eng_intent_ring;

static inline void eng_ring_clear(eng_intent_ring* r) { r->head = 0; r->tail = 0; }
static inline uint32_t eng_ring_len(const eng_intent_ring* r) { return r->tail - r->head; }

static inline int eng_ring_push(eng_intent_ring* r, const eng_intent* it) {
    if (r->tail - r->head >= ENG_RING_CAP) return ENG_ERR_RING_FULL;
    r->items[r->tail & (ENG_RING_CAP - 1)] = *it;
    r->tail++;
    return ENG_OK;
}

/* Returns 1 and copies the oldest intent into *out, or 0 when empty. */
static inline int eng_ring_pop(eng_intent_ring* r, eng_intent* out) {
    if (r->head == r->tail) return 0;
    *out = r->items[r->head & (ENG_RING_CAP - 1)];
    r->head++;
    return 1;
}

/* SPDX-License-Identifier: Apache-2.0
 * Return codes of the compiled core: 0 ok, < 0 error. engine.errors.rc_name() names them. */
#pragma once

#define ENG_OK 0
/* generic */
#define ENG_ERR_DOMAIN        -1   /* division by zero, empty window, bad argument */
#define ENG_ERR_CAPACITY      -2   /* a preallocated buffer is full (never silently truncated) */
#define ENG_ERR_RING_FULL     -3   /* intent ring full: the strategy emitted too much in one event */
#define ENG_ERR_NOMEM         -4
#define ENG_ERR_STRATEGY      -5   /* a strategy hook asked the dispatcher to stop */
/* decoding */
#define ENG_ERR_PARSE         -10  /* not valid JSON / unexpected byte */
#define ENG_ERR_TRUNCATED     -11  /* frame ends early */
#define ENG_ERR_TYPE          -12  /* a field has the wrong JSON type */
#define ENG_ERR_MISSING       -13  /* a required field is absent */
#define ENG_ERR_NUMBER        -14  /* not a decimal number (NaN, Inf, exponent, empty) */
#define ENG_ERR_NEGATIVE      -15  /* negative price or size */
#define ENG_ERR_PRECISION     -16  /* more significant decimals than the instrument's exponent */
#define ENG_ERR_OVERFLOW      -17  /* value does not fit int64 fixed point */
#define ENG_ERR_OVERSIZE      -18  /* frame or level count larger than allowed */
#define ENG_ERR_UNKNOWN_SYMBOL -19 /* instrument not registered with the decoder */
#define ENG_ERR_UNSUPPORTED   -20  /* not a hot shape: use the general JSON path */
/* book sync */
#define ENG_ERR_GAP           -30  /* sequence discontinuity: resync this instrument */
#define ENG_ERR_CHECKSUM      -31  /* checksum mismatch: resync this instrument */
#define ENG_ERR_CROSSED       -32  /* best bid >= best ask after an update */
#define ENG_ERR_STALE_UPDATE  -33  /* update older than the book: drop, not an error */
#define ENG_ERR_NOT_SYNCED    -34  /* book has no snapshot yet */
/* order path */
#define ENG_ERR_TRANSPORT     -40  /* order transport closed or its write failed: order not sent */

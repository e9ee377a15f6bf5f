/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Return codes shared by every subsystem. A function returns one of these
 * unless it is a predicate (0/1) or a constructor (pointer or NULL). */
#ifndef LUAPROXY_CORE_ERRORS_H
#define LUAPROXY_CORE_ERRORS_H

#define RC_OK       0  /* done, success */
#define RC_ERR      -1 /* failed; details went to the log or to *err */
#define RC_AGAIN    -2 /* incomplete: call again when woken (more data, I/O) */
#define RC_DONE     -4 /* finished and the caller must stop its current step */
#define RC_DECLINED -5 /* not mine: the caller tries the next handler */

#endif

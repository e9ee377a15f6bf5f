/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* User lists (HAProxy's "userlist" sections): users with a crypt(3) hash
 * or a clear ("insecure") password, and the groups they belong to, named
 * on "group NAME users ..." or "user NAME groups ..." lines. The auth
 * module owns the section; the HTTP layer checks the credentials a
 * request carries against a list it names. */
#ifndef LUAPROXY_CORE_AUTH_H
#define LUAPROXY_CORE_AUTH_H

#include "core/ist.h"

struct cfg;
struct module;
struct userlist;
struct auth_user;

/* The list named <name> in <cfg>; NULL if there is none. */
const struct userlist *userlist_find(const struct cfg *cfg, const char *name);
/* The user of <ul> named <user> whose password is <pass>, or NULL. A
 * hashed password costs what its crypt(3) method costs (SHA-512:
 * milliseconds), as in HAProxy. */
const struct auth_user *userlist_check(const struct userlist *ul,
                                       struct ist user, struct ist pass);
/* The name of the <i>th group of <u> (from 0), or NULL past the last. */
const char *auth_user_group(const struct auth_user *u, unsigned i);

extern const struct module auth_module;

#endif

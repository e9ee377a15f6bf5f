/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* A module is one layer's entry in the explicit list that main walks
 * (core, http, tcp, lua_api). Through it a layer fills the registries that
 * core defines (configuration keywords, actions, services, fetches,
 * converters) and hooks into the life of a configuration generation.
 * Core never names a module; it only walks the list it is given. */
#ifndef LUAPROXY_CORE_MODULE_H
#define LUAPROXY_CORE_MODULE_H

struct cfg;
struct cfg_kw;
struct cfg_section;

struct module {
    const char *name;
    /* keyword tables this module owns (each NULL-name terminated), the
     * list itself NULL-terminated; may be NULL */
    const struct cfg_kw *const *keywords;
    /* sections this module owns ("http-errors"), NULL-name terminated; may
     * be NULL. Their lines are rows of the keyword tables whose sections
     * carry the section's bit; core knows only the name and the bit. */
    const struct cfg_section *sections;
    /* once per process, before any parsing: fill the registries */
    int (*init)(void);
    /* after every file of <cfg> parsed, before sockets are bound (the Lua
     * module runs core.register_init here); RC_OK or RC_ERR, logged */
    int (*post_parse)(struct cfg *cfg);
    /* in each worker after fork and privilege drop, before the loop runs */
    int (*worker_init)(struct cfg *cfg);
    /* frees what the module hung on <cfg> (cfg_module_data) */
    void (*cfg_free)(struct cfg *cfg);
};

/* The list main hands over, NULL-terminated. */
extern const struct module *const *modules;

/* Runs every module's init hook; RC_OK or RC_ERR. */
int modules_init(const struct module *const *list);
/* Returns the index of <m> in the module list, used to find its data. */
int module_index(const struct module *m);

#endif

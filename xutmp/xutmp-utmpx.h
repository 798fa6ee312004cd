/*
 * Private to libxutmp, never installed: conversion between struct xutmp_record
 * and the flavour's struct utmpx. A flavour file includes it after the header
 * that defines its struct utmpx (glibc's <utmpx.h>, libutmps's <utmps/utmpx.h>):
 * the two layouts differ, so this code is shared as source and compiled with
 * each flavour.
 */
#ifndef XUTMP_UTMPX_H
#define XUTMP_UTMPX_H

#include <string.h>

#include "xutmp-internal.h"

#define FIELD_SIZE(field) sizeof(((struct utmpx *)0)->field)
_Static_assert(FIELD_SIZE(ut_line) == XUTMP_LINE_SIZE, "ut_line size");
_Static_assert(FIELD_SIZE(ut_id) == XUTMP_ID_SIZE, "ut_id size");
_Static_assert(FIELD_SIZE(ut_user) == XUTMP_USER_SIZE, "ut_user size");
_Static_assert(FIELD_SIZE(ut_host) == XUTMP_HOST_SIZE, "ut_host size");
_Static_assert(FIELD_SIZE(ut_addr_v6) == sizeof(((struct xutmp_record *)0)->addr_v6),
               "ut_addr_v6 size");
#undef FIELD_SIZE

static inline int record_to_utmpx(const struct xutmp_record *rec, struct utmpx *ut)
{
    int err = xutmp__check_record(rec);

    if (err != 0)
        return err;
    /* Padding and reserved bytes are stored byte for byte: zero them. */
    memset(ut, 0, sizeof *ut);
    /* glibc keeps 32-bit seconds even on 64-bit hosts: refuse, never wrap. */
    ut->ut_tv.tv_sec = rec->tv_sec;
    if ((int64_t)ut->ut_tv.tv_sec != rec->tv_sec)
        return EOVERFLOW;
    ut->ut_tv.tv_usec = rec->tv_usec;
    ut->ut_type = (short)rec->type;
    ut->ut_pid = rec->pid;
    ut->ut_session = rec->session;
    ut->ut_exit.e_termination = rec->exit_termination;
    ut->ut_exit.e_exit = rec->exit_status;
    memcpy(ut->ut_addr_v6, rec->addr_v6, sizeof rec->addr_v6);
    memcpy(ut->ut_line, rec->line, sizeof rec->line);
    memcpy(ut->ut_id, rec->id, sizeof rec->id);
    memcpy(ut->ut_user, rec->user, sizeof rec->user);
    memcpy(ut->ut_host, rec->host, sizeof rec->host);
    return 0;
}

static inline void utmpx_to_record(const struct utmpx *ut, struct xutmp_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->tv_sec = ut->ut_tv.tv_sec;
    rec->tv_usec = ut->ut_tv.tv_usec;
    rec->type = ut->ut_type;
    rec->pid = ut->ut_pid;
    rec->session = (int32_t)ut->ut_session;
    rec->exit_termination = ut->ut_exit.e_termination;
    rec->exit_status = ut->ut_exit.e_exit;
    memcpy(rec->addr_v6, ut->ut_addr_v6, sizeof rec->addr_v6);
    memcpy(rec->line, ut->ut_line, sizeof rec->line);
    memcpy(rec->id, ut->ut_id, sizeof rec->id);
    memcpy(rec->user, ut->ut_user, sizeof rec->user);
    memcpy(rec->host, ut->ut_host, sizeof rec->host);
}

#endif

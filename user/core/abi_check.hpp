// The BPF ABI header, with its layout pinned: a change on one side that the
// other does not follow fails to compile.
#pragma once
#include <linux/types.h>

#include <cstddef>

#include "tcplinger.h"

static_assert(sizeof(tl_event) == 152, "tl_event layout changed: bump TL_ABI_VERSION");
static_assert(offsetof(tl_event, netns) == 48);
static_assert(offsetof(tl_event, lport) == 64);
static_assert(offsetof(tl_event, kind) == 68);
static_assert(offsetof(tl_event, flags) == 72);
static_assert(offsetof(tl_event, hz) == 76);
static_assert(offsetof(tl_event, laddr) == 80);
static_assert(offsetof(tl_event, comm) == 112);
static_assert(offsetof(tl_event, owner_comm) == 128);
static_assert(offsetof(tl_event, kaddr) == 144);
static_assert(sizeof(tl_counters) == 48);
static_assert(sizeof(tl_tw_probe_req) == 16 && sizeof(tl_tw_probe_res) == 32);
static_assert(sizeof(tl_holder) == 40 && offsetof(tl_holder, pid) == 16 && offsetof(tl_holder, comm) == 24);

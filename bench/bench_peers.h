/* SPDX-License-Identifier: MIT */
/*
 * The Linux peers' API for the cases: peers.h once per built kernel, with
 * its prefix (lx61_*, lx612_*). Nothing without -Dpeers.
 */
#ifndef IOPT_BENCH_PEERS_H
#define IOPT_BENCH_PEERS_H

#ifdef IOPT_BENCH_PEER_LINUX61
#define LX_PFX lx61_
#include "peers.h"
#undef LX_PFX
#endif
#ifdef IOPT_BENCH_PEER_LINUX612
#define LX_PFX lx612_
#include "peers.h"
#undef LX_PFX
#endif

#endif /* IOPT_BENCH_PEERS_H */

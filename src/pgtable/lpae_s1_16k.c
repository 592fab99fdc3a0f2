/* SPDX-License-Identifier: MIT */
/* The page-table engine instantiated for ARM LPAE stage 1, 16k granule. */
#define LPAE_STAGE 1
#define LPAE_GRANULE 14
#include "formats/lpae.h"
#define NS(x) _iopt_pt_lpae_s1_16k_##x
#include "pgtable/engine.h"

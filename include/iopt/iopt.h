/* SPDX-License-Identifier: MIT */
/* iopt umbrella header: include this to get every public component. */
#ifndef IOPT_IOPT_H
#define IOPT_IOPT_H

#include <iopt/common.h>
#include <iopt/fault.h>
#include <iopt/iova.h>
#include <iopt/gather.h>
#include <iopt/pgtable.h>
#include <iopt/invalidate.h>
#include <iopt/flushq.h>
#include <iopt/dma.h>
#include <iopt/amd.h>
#include <iopt/vtd.h>
#include <iopt/smmu.h>

#endif /* IOPT_IOPT_H */

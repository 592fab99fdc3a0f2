/* SPDX-License-Identifier: MIT */
/* Stand-in for the kernel header of this name: everything is in kshim.h. */
#include "../kshim.h"

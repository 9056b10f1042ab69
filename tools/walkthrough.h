/* walkthrough.h - the machine walkthrough `ntmm demo` prints. */
#ifndef NTMM_TOOLS_WALKTHROUGH_H
#define NTMM_TOOLS_WALKTHROUGH_H

#include <stdio.h>

/* Prints translations in every paging mode, as WinDbg's !pte shows them. Returns 0 on success. */
int ntmm_walkthrough(FILE *out);

#endif

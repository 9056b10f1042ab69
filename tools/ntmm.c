/* ntmm.c - the ntmm command. For now: `ntmm demo`, a walkthrough of the simulated machine. */
#include <stdio.h>
#include <string.h>

#include "walkthrough.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: ntmm demo      walk through the simulated machine: translations in each\n"
                 "                      paging mode, shown like WinDbg's !pte\n"
                 "       ntmm --help\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "demo") == 0) return ntmm_walkthrough(stdout) ? 1 : 0;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}

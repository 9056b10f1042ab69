/* ntmm.h - the whole public interface of ntmm, the Windows NT memory manager in portable C11. */
#ifndef NTMM_H
#define NTMM_H

#include <ntmm/ntmm_bugcheck.h>
#include <ntmm/ntmm_hw.h>
#include <ntmm/ntmm_machine.h>
#include <ntmm/ntmm_process.h>
#include <ntmm/ntmm_thread.h>
#include <ntmm/ntmm_win32.h>
#include <ntmm/ntmm_vm.h>
#include <ntmm/ntmm_status.h>

#endif /* NTMM_H */

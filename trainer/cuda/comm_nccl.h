/* comm_nccl: the communicator of GPU ranks (trainer/comm.h), on NCCL. Built into the
 * CUDA module only where CMake finds NCCL (VS_HAVE_NCCL; docs/cuda.md, "Data
 * parallelism"); in the programs these names are trainer/cuda_loader.c's. */
#ifndef VS_COMM_NCCL_H
#define VS_COMM_NCCL_H

#include "trainer/comm.h"

/* size ranks in this process on visible devices 0..size-1 (ncclCommInitAll): comms[r]
 * is rank r's, used by one thread that has made device r current. */
int vs_comm_nccl_create_all(int size, double timeout_s, vs_comm **comms, vs_error *err);

/* This process as rank `rank` of `size` on the current device: rank 0 draws NCCL's
 * unique id and publishes it at id_path (a file in the run folder), the others wait for
 * it; joining is bounded by timeout_s too. */
vs_comm *vs_comm_nccl_join(const char *id_path, int rank, int size, double timeout_s, vs_error *err);

#endif

/* test_comm_nccl: trainer/cuda/comm_nccl.c run against a stand-in NCCL and CUDA runtime
 * (fake_nccl.c), on the CPU, for what a GPU test cannot show on demand:
 *   1. a non-blocking communicator whose collectives answer ncclInProgress before they
 *      are on the stream: the loss sums (all-reduce of doubles) and the state broadcast,
 *      which copy the staging buffer back to the host, return the collective's result,
 *      not the bytes from before it; the gradient's all-reduce too; and so when NCCL
 *      answers at once;
 *   2. the join: it waits out ncclInProgress; a failing ncclCommGetAsyncError, a failing
 *      cudaGetDevice and a failed init each end it with the reason; rank 0 removes the
 *      id file when the join ends, in success and in failure;
 *   3. an error NCCL reports while a collective is being put on the stream, and one that
 *      stays in progress past the timeout, fail the collective with the reason;
 *   4. ncclCommInitAll's ranks: a failing cudaSetDevice fails the creation, naming it.
 * Built only where CMake finds NCCL (its header; the library is not linked). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fake_nccl.h"
#include "test.h"
#include "trainer/cuda/comm_nccl.h"
#include "trainer/ranks.h"

static char dir[4096];

static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

/* Rank 1 of 2 joined through an id file written as rank 0 writes it. */
static vs_comm *join_rank1(const char *name, double timeout, vs_error *err) {
    char path[4200];
    path_of(path, sizeof path, name);
    ncclUniqueId id;
    memset(&id, 0x5a, sizeof id);
    vs_error e = {{0}};
    if (vs_ranks_publish(path, &id, sizeof id, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    vs_comm *c = vs_comm_nccl_join(path, 1, 2, timeout, err);
    unlink(path);
    return c;
}

static void check_collectives(int polls) {
    fake_nccl_reset();
    fake_nccl.init_polls = 3;
    vs_error err = {{0}};
    vs_comm *c = join_rank1("id-a", 5, &err);
    CHECK_MSG(c != NULL, "join: %s", err.msg);
    if (!c) return;
    CHECK(fake_nccl.blocking == 0);   /* srun's ranks: non-blocking */
    fake_nccl.collective_polls = polls;
    double sums[3] = {1, 2, 3};
    CHECK_OK(vs_comm_allreduce_f64(c, sums, 3, &err), &err);
    CHECK_MSG(sums[0] == 2 && sums[1] == 4 && sums[2] == 6,
              "polls %d: the double all-reduce gave %g %g %g, not 2 4 6 (the copy back read the bytes from before it)",
              polls, sums[0], sums[1], sums[2]);
    unsigned char state[1000];
    memset(state, 0, sizeof state);
    CHECK_OK(vs_comm_broadcast(c, state, sizeof state, 0, &err), &err);
    int same = 1;
    for (size_t i = 0; i < sizeof state; i++) same &= state[i] == (unsigned char)(i * 13 + 5);
    CHECK_MSG(same, "polls %d: the broadcast's bytes are not rank 0's", polls);
    float *grad = NULL;   /* "device" memory: the stand-in's is the host's */
    cudaMalloc((void **)&grad, 4 * sizeof(float));
    for (int i = 0; i < 4; i++) grad[i] = (float)i;
    CHECK_OK(vs_comm_allreduce_f32(c, grad, 4, &err), &err);
    CHECK(grad[1] == 2 && grad[3] == 6);
    cudaFree(grad);
    vs_comm_destroy(c);
    CHECK(fake_nccl.destroys == 1 && fake_nccl.aborts == 0);
}

static void check_join_failures(void) {
    vs_error err = {{0}};
    char path[4200];
    path_of(path, sizeof path, "id-0");

    /* rank 0 alone: it publishes the id, joins, and removes the file */
    fake_nccl_reset();
    fake_nccl.init_polls = 2;
    vs_comm *c = vs_comm_nccl_join(path, 0, 1, 5, &err);
    CHECK_MSG(c != NULL, "rank 0: %s", err.msg);
    CHECK_MSG(access(path, F_OK) != 0, "rank 0 left the id file %s after joining", path);
    if (c) vs_comm_destroy(c);

    /* ncclCommGetAsyncError itself failing while the communicator is made */
    fake_nccl_reset();
    fake_nccl.init_polls = 5;
    fake_nccl.poll_result = ncclInternalError;
    c = join_rank1("id-b", 5, &err);
    CHECK_MSG(!c && strstr(err.msg, "ncclCommGetAsyncError") && strstr(err.msg, "fake NCCL error"), "%s", err.msg);

    /* the same for rank 0: the id file goes too */
    fake_nccl_reset();
    fake_nccl.init_polls = 5;
    fake_nccl.poll_result = ncclInternalError;
    c = vs_comm_nccl_join(path, 0, 2, 5, &err);
    CHECK(c == NULL);
    CHECK_MSG(access(path, F_OK) != 0, "rank 0 left the id file %s after a failed join", path);

    /* cudaGetDevice failing */
    fake_nccl_reset();
    fake_nccl.get_device = cudaErrorNoDevice;
    c = join_rank1("id-c", 5, &err);
    CHECK_MSG(!c && strstr(err.msg, "cudaGetDevice") && strstr(err.msg, "no CUDA-capable device"), "%s", err.msg);
    fake_nccl_reset();
    fake_nccl.get_device = cudaErrorNoDevice;
    c = vs_comm_nccl_join(path, 0, 2, 5, &err);
    CHECK(c == NULL && access(path, F_OK) != 0);

    /* the init failing after some polls */
    fake_nccl_reset();
    fake_nccl.init_polls = 3;
    fake_nccl.init_result = ncclRemoteError;
    c = join_rank1("id-d", 5, &err);
    CHECK_MSG(!c && strstr(err.msg, "joining the NCCL ranks") && strstr(err.msg, "remote process"), "%s", err.msg);
}

static void check_collective_failures(void) {
    vs_error err = {{0}};
    /* an error reported while the collective is being put on the stream */
    fake_nccl_reset();
    vs_comm *c = join_rank1("id-e", 5, &err);
    CHECK(c != NULL);
    if (!c) return;
    fake_nccl.collective_polls = 3;
    fake_nccl.async_error = ncclRemoteError;
    double sums[2] = {1, 2};
    CHECK(vs_comm_allreduce_f64(c, sums, 2, &err) == -1);
    CHECK_MSG(strstr(err.msg, "all-reduce (double)") && strstr(err.msg, "remote process"), "%s", err.msg);
    vs_comm_destroy(c);
    CHECK(fake_nccl.aborts == 1);

    /* still in progress at the timeout */
    fake_nccl_reset();
    c = join_rank1("id-f", 0.2, &err);
    CHECK(c != NULL);
    if (!c) return;
    fake_nccl.collective_polls = 1 << 30;
    unsigned char b[8] = {0};
    CHECK(vs_comm_broadcast(c, b, sizeof b, 0, &err) == -1);
    CHECK_MSG(strstr(err.msg, "broadcast") && strstr(err.msg, "timed out after 0.2 s"), "%s", err.msg);
    printf("a collective still in progress at the timeout: %s (%d polls)\n", err.msg, fake_nccl.polls);
    vs_comm_destroy(c);
}

static void check_create_all(void) {
    vs_error err = {{0}};
    vs_comm *comms[3] = {NULL};
    fake_nccl_reset();
    CHECK_OK(vs_comm_nccl_create_all(3, 5, comms, &err), &err);
    for (int r = 0; r < 3; r++)
        if (comms[r]) vs_comm_destroy(comms[r]);
    fake_nccl_reset();
    fake_nccl.set_device_fails_for = 1;
    CHECK(vs_comm_nccl_create_all(3, 5, comms, &err) == -1);
    CHECK_MSG(strstr(err.msg, "cudaSetDevice(1)") && strstr(err.msg, "invalid device ordinal"), "%s", err.msg);
    CHECK(fake_nccl.aborts == 3);
    fake_nccl_reset();
    fake_nccl.get_device = cudaErrorNoDevice;
    CHECK(vs_comm_nccl_create_all(2, 5, comms, &err) == -1 && strstr(err.msg, "cudaGetDevice"));
}

int main(void) {
    const char *base = getenv("VS_TEST_TMP");
    snprintf(dir, sizeof dir, "%s", base ? base : "/tmp/test_comm_nccl");
    char cmd[2 * sizeof dir + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd)) return 1;
    check_collectives(3);
    check_collectives(0);
    check_join_failures();
    check_collective_failures();
    check_create_all();
    return test_finish();
}

// Open MPI's ABI as its mpi.h (versions 4.x and 5.x) defines it: handles are pointers to the
// library's predefined objects (MPI_COMM_WORLD is &ompi_mpi_comm_world, MPI_BYTE &ompi_mpi_byte),
// MPI_Status starts with three ints (source, tag, error), MPI_THREAD_SERIALIZED is 2. Nothing
// here includes mpi.h: the functions are looked up in the library when a parallel mode asks.
#include "cmpi.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int source, tag, error, cancelled;
    size_t ucount;
} ompi_status;

static void *lib;
static void *comm_world, *type_byte;
static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_finalize)(void);
static int (*p_comm_rank)(void *, int *);
static int (*p_comm_size)(void *, int *);
static int (*p_send)(const void *, int, void *, int, int, void *);
static int (*p_recv)(void *, int, void *, int, int, void *, ompi_status *);
static int (*p_iprobe)(int, int, void *, int *, ompi_status *);
static int (*p_get_count)(const ompi_status *, void *, int *);
static int (*p_allgather)(const void *, int, void *, void *, int, void *, void *);
static int (*p_gatherv)(const void *, int, void *, void *, const int *, const int *, void *, int, void *);
static int (*p_error_string)(int, char *, int *);
static int (*p_isend)(const void *, int, void *, int, int, void *, void **);
static int (*p_test)(void **, int *, ompi_status *);
static int (*p_comm_split)(void *, int, int, void **);

// MPI counts are ints: larger transfers are refused (the callers never need them).
#define CMPI_ERR_TOO_LARGE (-1000)
#define CHECK_COUNT(n) do { if ((n) < 0 || (n) > INT_MAX) return CMPI_ERR_TOO_LARGE; } while (0)

int cmpi_load(char *err, size_t err_len) {
    if (lib) return 0;
    // RTLD_GLOBAL: Open MPI's plugins resolve libmpi's symbols from the global scope.
    const char *names[] = {"libmpi.so.40", "libmpi.so"};
    void *h = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        snprintf(err, err_len, "cannot load Open MPI's library (libmpi.so.40): %s", dlerror());
        return 1;
    }
#define SYM(var, name) do { *(void **)&var = dlsym(h, name); if (!var) { snprintf(err, err_len, "libmpi lacks %s", name); dlclose(h); return 1; } } while (0)
    SYM(comm_world, "ompi_mpi_comm_world");
    SYM(type_byte, "ompi_mpi_byte");
    SYM(p_init_thread, "MPI_Init_thread");
    SYM(p_finalize, "MPI_Finalize");
    SYM(p_comm_rank, "MPI_Comm_rank");
    SYM(p_comm_size, "MPI_Comm_size");
    SYM(p_send, "MPI_Send");
    SYM(p_recv, "MPI_Recv");
    SYM(p_iprobe, "MPI_Iprobe");
    SYM(p_get_count, "MPI_Get_count");
    SYM(p_allgather, "MPI_Allgather");
    SYM(p_gatherv, "MPI_Gatherv");
    SYM(p_error_string, "MPI_Error_string");
    SYM(p_isend, "MPI_Isend");
    SYM(p_test, "MPI_Test");
    SYM(p_comm_split, "MPI_Comm_split");
#undef SYM
    lib = h;
    return 0;
}

int cmpi_init(int multiple_threads) {
    // MPI_THREAD_SERIALIZED is 2, MPI_THREAD_MULTIPLE 3 (the MPI standard's order).
    int wanted = multiple_threads ? 3 : 2, provided = 0;
    int rc = p_init_thread(NULL, NULL, wanted, &provided);
    if (rc == 0 && provided < wanted) return multiple_threads ? CMPI_ERR_TOO_LARGE - 2 : CMPI_ERR_TOO_LARGE - 1;
    return rc;
}

int cmpi_finalize(void) { return p_finalize(); }

cmpi_comm cmpi_world(void) { return comm_world; }

int cmpi_rank(cmpi_comm comm) {
    int r = -1;
    p_comm_rank(comm, &r);
    return r;
}

int cmpi_size(cmpi_comm comm) {
    int n = 0;
    p_comm_size(comm, &n);
    return n;
}

int cmpi_send(cmpi_comm comm, const void *buf, int64_t bytes, int dest, int tag) {
    CHECK_COUNT(bytes);
    return p_send(buf, (int)bytes, type_byte, dest, tag, comm);
}

int cmpi_recv(cmpi_comm comm, void *buf, int64_t bytes, int source, int tag) {
    CHECK_COUNT(bytes);
    ompi_status st;
    return p_recv(buf, (int)bytes, type_byte, source, tag, comm, &st);
}

int cmpi_iprobe(cmpi_comm comm, int source, int tag, int *flag, int64_t *bytes) {
    ompi_status st;
    memset(&st, 0, sizeof st);
    int rc = p_iprobe(source, tag, comm, flag, &st);
    if (rc != 0 || !*flag) return rc;
    int n = 0;
    rc = p_get_count(&st, type_byte, &n);
    *bytes = n;
    return rc;
}

int cmpi_allgather(cmpi_comm comm, const void *send, void *recv, int64_t bytes) {
    CHECK_COUNT(bytes * cmpi_size(comm));
    return p_allgather(send, (int)bytes, type_byte, recv, (int)bytes, type_byte, comm);
}

int cmpi_gatherv(cmpi_comm comm, const void *send, int64_t bytes, void *recv, const int *counts, const int *displs, int root) {
    CHECK_COUNT(bytes);
    return p_gatherv(send, (int)bytes, type_byte, recv, counts, displs, type_byte, root, comm);
}

int cmpi_isend(cmpi_comm comm, const void *buf, int64_t bytes, int dest, int tag, cmpi_request *request) {
    CHECK_COUNT(bytes);
    return p_isend(buf, (int)bytes, type_byte, dest, tag, comm, request);
}

int cmpi_test(cmpi_request *request, int *done) {
    ompi_status st;
    return p_test(request, done, &st);
}

int cmpi_comm_split(cmpi_comm comm, int color, int key, cmpi_comm *out) { return p_comm_split(comm, color, key, out); }

void cmpi_error_string(int code, char *out, size_t out_len) {
    if (code == CMPI_ERR_TOO_LARGE) { snprintf(out, out_len, "a transfer above 2 GiB"); return; }
    if (code == CMPI_ERR_TOO_LARGE - 1) { snprintf(out, out_len, "this MPI library does not support MPI_THREAD_SERIALIZED"); return; }
    if (code == CMPI_ERR_TOO_LARGE - 2) { snprintf(out, out_len, "this MPI library does not support MPI_THREAD_MULTIPLE"); return; }
    char buf[512];
    int len = 0;
    if (lib && p_error_string(code, buf, &len) == 0) snprintf(out, out_len, "%.*s", len, buf);
    else snprintf(out, out_len, "MPI error %d", code);
}

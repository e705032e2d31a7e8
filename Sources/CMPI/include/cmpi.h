// A small C face over Open MPI's library, loaded at run time (dlopen), so that the package builds
// and runs without MPI installed and only the parallel modes need it. Communicators are opaque
// handles; byte counts are int64 and checked against MPI's int counts.
#ifndef CMPI_H
#define CMPI_H

#include <stddef.h>
#include <stdint.h>

typedef void *cmpi_comm;
// An MPI_Request (a pointer in Open MPI's ABI).
typedef void *cmpi_request;

// Loads libmpi (Open MPI 4 or 5) and its symbols. 0 on success; otherwise a reason in `err`.
int cmpi_load(char *err, size_t err_len);
// MPI_Init_thread at MPI_THREAD_SERIALIZED (calls from several threads, never at once), or at
// MPI_THREAD_MULTIPLE when `multiple_threads` (threads calling at once, on different communicators).
int cmpi_init(int multiple_threads);
int cmpi_finalize(void);
cmpi_comm cmpi_world(void);
int cmpi_rank(cmpi_comm comm);
int cmpi_size(cmpi_comm comm);
int cmpi_send(cmpi_comm comm, const void *buf, int64_t bytes, int dest, int tag);
int cmpi_recv(cmpi_comm comm, void *buf, int64_t bytes, int source, int tag);
// Whether a message from `source` with `tag` is waiting, and its size in bytes.
int cmpi_iprobe(cmpi_comm comm, int source, int tag, int *flag, int64_t *bytes);
// Every rank's `bytes` bytes, in rank order, into `recv` on every rank.
int cmpi_allgather(cmpi_comm comm, const void *send, void *recv, int64_t bytes);
// Each rank's `bytes` bytes into `recv` at `displs[r]` on `root` (counts and displacements in bytes).
int cmpi_gatherv(cmpi_comm comm, const void *send, int64_t bytes, void *recv, const int *counts, const int *displs, int root);
// Starts sending without waiting; `cmpi_test` says when the buffer may be reused.
int cmpi_isend(cmpi_comm comm, const void *buf, int64_t bytes, int dest, int tag, cmpi_request *request);
int cmpi_test(cmpi_request *request, int *done);
// MPI_Comm_split: the ranks with the same `color`, ordered by `key`.
int cmpi_comm_split(cmpi_comm comm, int color, int key, cmpi_comm *out);
// The error text MPI gives a return code.
void cmpi_error_string(int code, char *out, size_t out_len);

#endif

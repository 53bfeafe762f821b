/*
 * bench-fsync: the C floor under a durable enqueue, for `make bench` (scripts/bench.sh compiles and runs it).
 *
 *     bench-fsync DIR COUNT SIZE [--batch]
 *
 * Creates COUNT files of SIZE bytes in DIR with the system calls b1cache's DurableFile makes for a queued
 * write (SPEC §5), and nothing else: open(O_CREAT|O_EXCL) + fchmod of a temp file in DIR/.tmp, write, fsync,
 * close, rename into DIR, then open + fsync + close of DIR. With --batch, every file is staged first, then
 * each is renamed, and DIR is fsynced once at the end, as `enqueue --batch` does.
 *
 * DIR and DIR/.tmp must exist. Prints one line of key=value pairs, as b1bench does:
 *     ops_s=… seconds=… count=… bytes=…
 * Exits 1 (with a message on stderr) when a system call fails, 2 on bad arguments.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void fail(const char *what, const char *path) {
    fprintf(stderr, "bench-fsync: error: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static double now_seconds(void) {
    struct timespec moment;
    clock_gettime(CLOCK_MONOTONIC, &moment);
    return (double)moment.tv_sec + (double)moment.tv_nsec / 1e9;
}

static void fsync_directory(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail("open directory", path);
    if (fsync(fd) != 0 && errno != EINVAL) fail("fsync directory", path);
    close(fd);
}

/* Writes `size` bytes to a new temp file in staging, fsyncs and closes it; its path is left in `temp`. */
static void write_temp(const char *staging, long index, const char *data, size_t size, char *temp, size_t room) {
    snprintf(temp, room, "%s/.b1tmp-%ld-%06ld.json", staging, (long)getpid(), index);
    int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail("create", temp);
    if (fchmod(fd, 0600) != 0) fail("chmod", temp);
    size_t done = 0;
    while (done < size) {
        ssize_t written = write(fd, data + done, size - done);
        if (written < 0) {
            if (errno == EINTR) continue;
            fail("write", temp);
        }
        done += (size_t)written;
    }
    if (fsync(fd) != 0) fail("fsync", temp);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--batch") != 0)) {
        fprintf(stderr, "usage: bench-fsync DIR COUNT SIZE [--batch]\n");
        return 2;
    }
    const char *dir = argv[1];
    long count = strtol(argv[2], NULL, 10);
    long size = strtol(argv[3], NULL, 10);
    int batch = argc == 5;
    if (count < 1 || size < 1 || size > 1 << 20) {
        fprintf(stderr, "bench-fsync: error: COUNT must be ≥ 1 and SIZE from 1 to 1048576\n");
        return 2;
    }
    char staging[4096], temp[4096], destination[4096];
    snprintf(staging, sizeof staging, "%s/.tmp", dir);
    char *data = malloc((size_t)size);
    if (data == NULL) fail("allocate", "buffer");
    memset(data, 'x', (size_t)size);
    data[size - 1] = '\n';

    double start = now_seconds();
    if (batch) {
        /* DurableFile.writeAll: stage every file, then rename each into place, then one fsync of DIR. */
        for (long index = 0; index < count; index++) write_temp(staging, index, data, (size_t)size, temp, sizeof temp);
        for (long index = 0; index < count; index++) {
            snprintf(temp, sizeof temp, "%s/.b1tmp-%ld-%06ld.json", staging, (long)getpid(), index);
            snprintf(destination, sizeof destination, "%s/%06ld.json", dir, index);
            if (rename(temp, destination) != 0) fail("rename", temp);
        }
        fsync_directory(dir);
    } else {
        for (long index = 0; index < count; index++) {
            write_temp(staging, index, data, (size_t)size, temp, sizeof temp);
            snprintf(destination, sizeof destination, "%s/%06ld.json", dir, index);
            if (rename(temp, destination) != 0) fail("rename", temp);
            fsync_directory(dir);
        }
    }
    double elapsed = now_seconds() - start;

    printf("ops_s=%.1f seconds=%.4f count=%ld bytes=%ld\n", (double)count / elapsed, elapsed, count, size);
    free(data);
    return 0;
}

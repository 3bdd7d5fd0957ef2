// powerloss.c — an LD_PRELOAD interposer that keeps a "durable image" of every regular file a
// process opens in one directory, so that a test can simulate a power loss after `kill -9`.
//
// Not part of any SwiftPM target: the power-loss tests (Tests/EndToEndTests/PowerLossTests.swift)
// compile it at run time with `cc -shared -fPIC` into a temporary directory, and `kvstress crash
// --power-loss-library` loads a copy compiled by hand (docs/STORAGE.md "Durability").
//
// Environment (both absolute paths; without them the library only passes calls through):
//   POWERLOSS_DATA_DIR    the directory whose files are tracked (not recursive)
//   POWERLOSS_SHADOW_DIR  where the durable images live, one file per tracked file, same name
//   POWERLOSS_DROP_FSYNC  "1": fsync/fdatasync/syncfs/sync/msync make nothing durable — a broken
//                         flush, for the negative control that shows the harness catches one
//
// The model (what the Linux page cache and a disk without a volatile write cache give):
//   - write, writev, pwrite, pwrite64, pwritev, pwritev64, pwritev2 on a tracked descriptor reach
//     the real file as usual and mark their byte range *dirty* (volatile) for that file;
//   - a write on a descriptor opened with O_SYNC or O_DSYNC is durable when it returns: its bytes
//     are copied into the image before the call returns;
//   - fsync / fdatasync of any descriptor of the file, syncfs / sync (all files) and
//     msync(MS_SYNC) of a shared mapping of the file make it durable: every dirty range is copied
//     from the real file (what the page cache holds) into the image, and the image takes the file's
//     current size; writable shared mappings make the whole file dirty at each flush (their
//     stores are invisible to the write calls);
//   - sync_file_range, fsync of the directory and MS_ASYNC promise nothing and change nothing;
//   - a power loss (done by the test after kill -9, not here) keeps exactly the images: every
//     write that was not made durable is dropped — one of the outcomes a real power loss may
//     have (it may also keep some of them; dropping all is the outcome that exposes a missing
//     flush, which is what the tests look for).
// A file's first open creates its image: empty for a file created now, a copy for a file that
// existed without an image (assumed durable), and for a file whose image exists (a restart after
// kill -9 without power loss) the ranges where the file and its image differ start dirty — they
// are in the page cache, not on disk, and the next fsync of the file writes them.
// Directory entries (creation, rename, unlink) are not modelled: a created file is kept.
// File descriptors duplicated with dup/dup2/fcntl(F_DUPFD) are not tracked (LMDB uses none).

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 65536
#define MAX_FILES 64
#define MAX_MAPPINGS 256
#define COPY_CHUNK (1 << 20)

/// One byte range [start, end) written but not yet durable.
struct range { off_t start, end; };

/// A tracked file: its identity, a read descriptor of the real file, its image and dirty ranges.
struct tracked_file {
    dev_t dev;
    ino_t ino;
    int read_fd;    // O_RDONLY descriptor of the real file (ours)
    int image_fd;   // O_RDWR descriptor of the durable image
    int mapped_writable;  // a MAP_SHARED|PROT_WRITE mapping exists
    struct range *dirty;
    size_t dirty_count, dirty_capacity;
};

/// A shared mapping of a tracked file (for msync).
struct mapping { void *address; size_t length; off_t offset; int file; };

static char data_dir[PATH_MAX];
static char shadow_dir[PATH_MAX];
static int enabled;
static int drop_fsync;
static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct tracked_file files[MAX_FILES];
static int file_count;
/// fd → index into files + 1 (0: untracked). Read without the lock on the fast path.
static int fd_file[MAX_FDS];
/// fd → opened with O_SYNC/O_DSYNC.
static unsigned char fd_sync[MAX_FDS];
static struct mapping mappings[MAX_MAPPINGS];

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static void (*real_sync)(void);
static int (*real_msync)(void *, size_t, int);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);

static void fail(const char *what) {
    char message[512];
    int n = snprintf(message, sizeof message, "powerloss: %s failed (errno %d); aborting\n", what, errno);
    if (n > 0 && real_write) real_write(2, message, (size_t)n);
    abort();
}

#define RESOLVE(name) do { if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name); } while (0)

static void resolve_all(void) {
    RESOLVE(open); RESOLVE(open64); RESOLVE(openat); RESOLVE(openat64); RESOLVE(close);
    RESOLVE(write); RESOLVE(writev); RESOLVE(pwrite); RESOLVE(pwrite64); RESOLVE(pwritev);
    RESOLVE(pwritev64); RESOLVE(pwritev2); RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(syncfs);
    RESOLVE(sync); RESOLVE(msync); RESOLVE(mmap); RESOLVE(mmap64); RESOLVE(munmap);
}

__attribute__((constructor)) static void powerloss_init(void) {
    resolve_all();
    const char *data = getenv("POWERLOSS_DATA_DIR");
    const char *shadow = getenv("POWERLOSS_SHADOW_DIR");
    if (!data || !shadow || !*data || !*shadow) return;
    if (!realpath(data, data_dir)) {
        // The data directory may not exist yet (kvd creates it): keep the name as given.
        snprintf(data_dir, sizeof data_dir, "%s", data);
    }
    snprintf(shadow_dir, sizeof shadow_dir, "%s", shadow);
    mkdir(shadow_dir, 0700);
    const char *drop = getenv("POWERLOSS_DROP_FSYNC");
    drop_fsync = drop && strcmp(drop, "1") == 0;
    enabled = 1;
}

static void copy_range(int from, int to, off_t start, off_t end) {
    static char buffer[COPY_CHUNK];
    while (start < end) {
        size_t want = (size_t)(end - start) < sizeof buffer ? (size_t)(end - start) : sizeof buffer;
        ssize_t got = pread(from, buffer, want, start);
        if (got < 0) { if (errno == EINTR) continue; fail("pread of the real file"); }
        if (got == 0) break;  // the file is shorter now
        ssize_t put = real_pwrite(to, buffer, (size_t)got, start);
        if (put != got) fail("pwrite of the image");
        start += got;
    }
}

static void add_dirty(struct tracked_file *f, off_t start, off_t end) {
    if (end <= start) return;
    if (f->dirty_count > 0) {
        struct range *last = &f->dirty[f->dirty_count - 1];
        if (start <= last->end && end >= last->start) {
            if (start < last->start) last->start = start;
            if (end > last->end) last->end = end;
            return;
        }
    }
    if (f->dirty_count == f->dirty_capacity) {
        size_t capacity = f->dirty_capacity ? f->dirty_capacity * 2 : 64;
        struct range *grown = realloc(f->dirty, capacity * sizeof *grown);
        if (!grown) fail("realloc");
        f->dirty = grown;
        f->dirty_capacity = capacity;
    }
    f->dirty[f->dirty_count++] = (struct range){start, end};
}

static off_t file_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) fail("fstat");
    return st.st_size;
}

/// fsync semantics: the image becomes the file's current content and size.
static void flush_file(struct tracked_file *f) {
    if (drop_fsync) return;
    off_t size = file_size(f->read_fd);
    if (f->mapped_writable) {
        copy_range(f->read_fd, f->image_fd, 0, size);
    } else {
        for (size_t i = 0; i < f->dirty_count; i++) {
            off_t end = f->dirty[i].end < size ? f->dirty[i].end : size;
            copy_range(f->read_fd, f->image_fd, f->dirty[i].start, end);
        }
    }
    f->dirty_count = 0;
    if (ftruncate(f->image_fd, size) != 0) fail("ftruncate of the image");
}

/// Ranges where the real file and the image differ become dirty (4 KiB granularity).
static void dirty_differences(struct tracked_file *f) {
    static char a[COPY_CHUNK], b[COPY_CHUNK];
    off_t real = file_size(f->read_fd), image = file_size(f->image_fd);
    off_t common = real < image ? real : image;
    for (off_t at = 0; at < common; at += COPY_CHUNK) {
        size_t want = (size_t)(common - at) < sizeof a ? (size_t)(common - at) : sizeof a;
        if (pread(f->read_fd, a, want, at) != (ssize_t)want || pread(f->image_fd, b, want, at) != (ssize_t)want) fail("pread (compare)");
        for (size_t page = 0; page < want; page += 4096) {
            size_t n = want - page < 4096 ? want - page : 4096;
            if (memcmp(a + page, b + page, n) != 0) add_dirty(f, at + (off_t)page, at + (off_t)(page + n));
        }
    }
    if (real > common) add_dirty(f, common, real);
}

/// Called after a successful open of `fd`: tracks it when it is a regular file directly in the
/// data directory.
static void track(int fd, int flags) {
    if (!enabled || fd < 0 || fd >= MAX_FDS) return;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = 0;
    char *slash = strrchr(path, '/');
    if (!slash) return;
    *slash = 0;
    const char *name = slash + 1;
    if (strcmp(path, data_dir) != 0) {
        // The directory may have been created after start-up: compare resolved paths.
        char resolved[PATH_MAX];
        if (!realpath(data_dir, resolved) || strcmp(path, resolved) != 0) return;
        snprintf(data_dir, sizeof data_dir, "%s", resolved);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;

    pthread_mutex_lock(&lock);
    int index = -1;
    for (int i = 0; i < file_count; i++) {
        if (files[i].dev == st.st_dev && files[i].ino == st.st_ino) { index = i; break; }
    }
    if (index < 0) {
        if (file_count == MAX_FILES) fail("tracking more than 64 files");
        struct tracked_file *f = &files[file_count];
        memset(f, 0, sizeof *f);
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        char real_path[2 * PATH_MAX], image_path[2 * PATH_MAX];
        snprintf(real_path, sizeof real_path, "%s/%s", path, name);
        snprintf(image_path, sizeof image_path, "%s/%s", shadow_dir, name);
        f->read_fd = real_open(real_path, O_RDONLY | O_CLOEXEC);
        if (f->read_fd < 0) fail("open of the real file");
        struct stat image_st;
        int had_image = stat(image_path, &image_st) == 0;
        f->image_fd = real_open(image_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (f->image_fd < 0) fail("open of the image");
        if (had_image) {
            dirty_differences(f);
        } else if (st.st_size > 0) {
            copy_range(f->read_fd, f->image_fd, 0, st.st_size);  // existed before: durable
        }
        index = file_count++;
    }
    fd_sync[fd] = (flags & (O_SYNC | O_DSYNC)) ? 1 : 0;
    __atomic_store_n(&fd_file[fd], index + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
}

static struct tracked_file *file_of(int fd) {
    if (fd < 0 || fd >= MAX_FDS) return NULL;
    int index = __atomic_load_n(&fd_file[fd], __ATOMIC_ACQUIRE);
    return index ? &files[index - 1] : NULL;
}

/// Records a successful write of `iov` at `offset` (n bytes in all) on `fd`.
static void record(int fd, struct tracked_file *f, const struct iovec *iov, int count, off_t offset, ssize_t n) {
    if (n <= 0) return;
    if (fd_sync[fd]) {
        // O_SYNC/O_DSYNC: durable on return — exactly the bytes of this call.
        off_t at = offset;
        ssize_t left = n;
        for (int i = 0; i < count && left > 0; i++) {
            size_t part = iov[i].iov_len < (size_t)left ? iov[i].iov_len : (size_t)left;
            if (real_pwrite(f->image_fd, iov[i].iov_base, part, at) != (ssize_t)part) fail("pwrite of the image (O_DSYNC)");
            at += (off_t)part;
            left -= (ssize_t)part;
        }
    } else {
        add_dirty(f, offset, offset + n);
    }
}

/// Tracks `fd` after a successful open (errno preserved).
static int after_open(int fd, int flags) {
    if (fd >= 0 && enabled) {
        int saved = errno;
        track(fd, flags);
        errno = saved;
    }
    return fd;
}

static mode_t mode_argument(int flags, va_list ap) {
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
    RESOLVE(open);
    va_list ap; va_start(ap, flags); mode_t mode = mode_argument(flags, ap); va_end(ap);
    return after_open(real_open(path, flags, mode), flags);
}

int open64(const char *path, int flags, ...) {
    RESOLVE(open64);
    va_list ap; va_start(ap, flags); mode_t mode = mode_argument(flags, ap); va_end(ap);
    return after_open(real_open64(path, flags, mode), flags);
}

int openat(int dirfd, const char *path, int flags, ...) {
    RESOLVE(openat);
    va_list ap; va_start(ap, flags); mode_t mode = mode_argument(flags, ap); va_end(ap);
    return after_open(real_openat(dirfd, path, flags, mode), flags);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    RESOLVE(openat64);
    va_list ap; va_start(ap, flags); mode_t mode = mode_argument(flags, ap); va_end(ap);
    return after_open(real_openat64(dirfd, path, flags, mode), flags);
}

int close(int fd) {
    RESOLVE(close);
    if (file_of(fd)) {
        pthread_mutex_lock(&lock);
        __atomic_store_n(&fd_file[fd], 0, __ATOMIC_RELEASE);
        fd_sync[fd] = 0;
        pthread_mutex_unlock(&lock);
    }
    return real_close(fd);
}

ssize_t write(int fd, const void *buffer, size_t count) {
    RESOLVE(write);
    struct tracked_file *f = file_of(fd);
    if (!f) return real_write(fd, buffer, count);
    pthread_mutex_lock(&lock);
    off_t offset = lseek(fd, 0, SEEK_CUR);
    ssize_t n = real_write(fd, buffer, count);
    int saved = errno;
    struct iovec iov = {(void *)buffer, count};
    if (offset >= 0) record(fd, f, &iov, 1, offset, n);
    pthread_mutex_unlock(&lock);
    errno = saved;
    return n;
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
    RESOLVE(writev);
    struct tracked_file *f = file_of(fd);
    if (!f) return real_writev(fd, iov, count);
    pthread_mutex_lock(&lock);
    off_t offset = lseek(fd, 0, SEEK_CUR);
    ssize_t n = real_writev(fd, iov, count);
    int saved = errno;
    if (offset >= 0) record(fd, f, iov, count, offset, n);
    pthread_mutex_unlock(&lock);
    errno = saved;
    return n;
}

#define POSITIONED(call, iov, count, offset) do { \
    struct tracked_file *f = file_of(fd); \
    if (!f) return call; \
    pthread_mutex_lock(&lock); \
    ssize_t n = call; \
    int saved = errno; \
    record(fd, f, iov, count, offset, n); \
    pthread_mutex_unlock(&lock); \
    errno = saved; \
    return n; \
} while (0)

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    RESOLVE(pwrite);
    struct iovec one = {(void *)buffer, count};
    POSITIONED(real_pwrite(fd, buffer, count, offset), &one, 1, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) {
    RESOLVE(pwrite64);
    struct iovec one = {(void *)buffer, count};
    POSITIONED(real_pwrite64(fd, buffer, count, offset), &one, 1, offset);
}

ssize_t pwritev(int fd, const struct iovec *iov, int count, off_t offset) {
    RESOLVE(pwritev);
    POSITIONED(real_pwritev(fd, iov, count, offset), iov, count, offset);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int count, off_t offset) {
    RESOLVE(pwritev64);
    POSITIONED(real_pwritev64(fd, iov, count, offset), iov, count, offset);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int count, off_t offset, int flags) {
    RESOLVE(pwritev2);
    if (offset == -1) {
        // -1: the file position, like writev.
        struct tracked_file *f = file_of(fd);
        if (!f) return real_pwritev2(fd, iov, count, offset, flags);
        pthread_mutex_lock(&lock);
        off_t at = lseek(fd, 0, SEEK_CUR);
        ssize_t n = real_pwritev2(fd, iov, count, offset, flags);
        int saved = errno;
        if (at >= 0) record(fd, f, iov, count, at, n);
        pthread_mutex_unlock(&lock);
        errno = saved;
        return n;
    }
    POSITIONED(real_pwritev2(fd, iov, count, offset, flags), iov, count, offset);
}

static int sync_common(int (*real)(int), int fd) {
    struct tracked_file *f = file_of(fd);
    if (!f) return real(fd);
    pthread_mutex_lock(&lock);
    int result = real(fd);
    int saved = errno;
    if (result == 0) flush_file(f);
    pthread_mutex_unlock(&lock);
    errno = saved;
    return result;
}

int fsync(int fd) { RESOLVE(fsync); return sync_common(real_fsync, fd); }
int fdatasync(int fd) { RESOLVE(fdatasync); return sync_common(real_fdatasync, fd); }

static void flush_all(void) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < file_count; i++) flush_file(&files[i]);
    pthread_mutex_unlock(&lock);
}

int syncfs(int fd) {
    RESOLVE(syncfs);
    int result = real_syncfs(fd);
    if (result == 0 && enabled) flush_all();
    return result;
}

void sync(void) {
    RESOLVE(sync);
    real_sync();
    if (enabled) flush_all();
}

static void *map_common(void *(*real)(void *, size_t, int, int, int, off_t), void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    void *result = real(address, length, protection, flags, fd, offset);
    struct tracked_file *f = file_of(fd);
    if (result != MAP_FAILED && f && (flags & MAP_SHARED)) {
        pthread_mutex_lock(&lock);
        if (protection & PROT_WRITE) f->mapped_writable = 1;
        for (int i = 0; i < MAX_MAPPINGS; i++) {
            if (!mappings[i].address) {
                mappings[i] = (struct mapping){result, length, offset, (int)(f - files)};
                break;
            }
        }
        pthread_mutex_unlock(&lock);
    }
    return result;
}

void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    RESOLVE(mmap);
    return map_common(real_mmap, address, length, protection, flags, fd, offset);
}

void *mmap64(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    RESOLVE(mmap64);
    return map_common(real_mmap64, address, length, protection, flags, fd, offset);
}

int munmap(void *address, size_t length) {
    RESOLVE(munmap);
    if (enabled) {
        pthread_mutex_lock(&lock);
        for (int i = 0; i < MAX_MAPPINGS; i++) {
            if (mappings[i].address == address) mappings[i].address = NULL;
        }
        pthread_mutex_unlock(&lock);
    }
    return real_munmap(address, length);
}

int msync(void *address, size_t length, int flags) {
    RESOLVE(msync);
    int result = real_msync(address, length, flags);
    if (result != 0 || !enabled || drop_fsync || !(flags & MS_SYNC)) return result;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_MAPPINGS; i++) {
        struct mapping *m = &mappings[i];
        char *base = m->address;
        if (!base || (char *)address < base || (char *)address >= base + m->length) continue;
        off_t start = m->offset + ((char *)address - base);
        copy_range(files[m->file].read_fd, files[m->file].image_fd, start, start + (off_t)length);
        break;
    }
    pthread_mutex_unlock(&lock);
    return result;
}

// The full-disk VFS: a shim over SQLite's default VFS (the pattern of SQLite's own
// test_vfstrace.c) whose files wrap the real ones and check each write's end.
#include "fault/full_disk.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>

namespace libreta::fault {

namespace {

std::atomic<bool> g_full{false};
std::atomic<std::uint64_t> g_refused{0};
std::mutex g_directory_mutex;
std::string g_directory;
sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;

struct ShimFile {
  sqlite3_file base;   // must come first: SQLite sees a ShimFile as a sqlite3_file
  bool on_full_disk;   // under the directory that fills up
  sqlite3_file* real;  // allocated right after this struct
};

sqlite3_file* real_of(sqlite3_file* file) {
  return reinterpret_cast<ShimFile*>(file)->real;
}

int shim_close(sqlite3_file* file) {
  sqlite3_file* real = real_of(file);
  return real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
}
int shim_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  return real_of(file)->pMethods->xRead(real_of(file), buffer, amount, offset);
}
int shim_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  sqlite3_file* real = real_of(file);
  if (g_full && reinterpret_cast<ShimFile*>(file)->on_full_disk) {
    sqlite3_int64 size = 0;
    if (real->pMethods->xFileSize(real, &size) == SQLITE_OK && offset + amount > size) {
      ++g_refused;
      return SQLITE_FULL;
    }
  }
  return real->pMethods->xWrite(real, buffer, amount, offset);
}
int shim_truncate(sqlite3_file* file, sqlite3_int64 size) {
  return real_of(file)->pMethods->xTruncate(real_of(file), size);
}
int shim_sync(sqlite3_file* file, int flags) {
  return real_of(file)->pMethods->xSync(real_of(file), flags);
}
int shim_file_size(sqlite3_file* file, sqlite3_int64* size) {
  return real_of(file)->pMethods->xFileSize(real_of(file), size);
}
int shim_lock(sqlite3_file* file, int lock) {
  return real_of(file)->pMethods->xLock(real_of(file), lock);
}
int shim_unlock(sqlite3_file* file, int lock) {
  return real_of(file)->pMethods->xUnlock(real_of(file), lock);
}
int shim_check_reserved_lock(sqlite3_file* file, int* out) {
  return real_of(file)->pMethods->xCheckReservedLock(real_of(file), out);
}
int shim_file_control(sqlite3_file* file, int op, void* arg) {
  // Growing a file ahead of time would bypass the check: refuse it while full.
  if (op == SQLITE_FCNTL_SIZE_HINT && g_full && reinterpret_cast<ShimFile*>(file)->on_full_disk) {
    return SQLITE_FULL;
  }
  return real_of(file)->pMethods->xFileControl(real_of(file), op, arg);
}
int shim_sector_size(sqlite3_file* file) {
  return real_of(file)->pMethods->xSectorSize(real_of(file));
}
int shim_device_characteristics(sqlite3_file* file) {
  return real_of(file)->pMethods->xDeviceCharacteristics(real_of(file));
}
int shim_shm_map(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  return real_of(file)->pMethods->xShmMap(real_of(file), page, page_size, extend, out);
}
int shim_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return real_of(file)->pMethods->xShmLock(real_of(file), offset, n, flags);
}
void shim_shm_barrier(sqlite3_file* file) {
  real_of(file)->pMethods->xShmBarrier(real_of(file));
}
int shim_shm_unmap(sqlite3_file* file, int delete_flag) {
  return real_of(file)->pMethods->xShmUnmap(real_of(file), delete_flag);
}
int shim_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return real_of(file)->pMethods->xFetch(real_of(file), offset, amount, out);
}
int shim_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return real_of(file)->pMethods->xUnfetch(real_of(file), offset, page);
}

const sqlite3_io_methods g_methods = {
    3,
    shim_close,
    shim_read,
    shim_write,
    shim_truncate,
    shim_sync,
    shim_file_size,
    shim_lock,
    shim_unlock,
    shim_check_reserved_lock,
    shim_file_control,
    shim_sector_size,
    shim_device_characteristics,
    shim_shm_map,
    shim_shm_lock,
    shim_shm_barrier,
    shim_shm_unmap,
    shim_fetch,
    shim_unfetch,
};

int shim_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* shim = reinterpret_cast<ShimFile*>(file);
  shim->real = reinterpret_cast<sqlite3_file*>(shim + 1);
  std::memset(shim->real, 0, static_cast<std::size_t>(g_real->szOsFile));
  {
    std::lock_guard lock(g_directory_mutex);
    shim->on_full_disk =
        name && !g_directory.empty() && std::string(name).rfind(g_directory, 0) == 0;
  }
  const int rc = g_real->xOpen(g_real, name, shim->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set: mirror the real file's.
  file->pMethods = shim->real->pMethods ? &g_methods : nullptr;
  return rc;
}

int shim_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int shim_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int shim_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return g_real->xFullPathname(g_real, name, size, out);
}
void* shim_dl_open(sqlite3_vfs*, const char* name) {
  return g_real->xDlOpen(g_real, name);
}
void shim_dl_error(sqlite3_vfs*, int size, char* out) {
  g_real->xDlError(g_real, size, out);
}
void (*shim_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void shim_dl_close(sqlite3_vfs*, void* handle) {
  g_real->xDlClose(g_real, handle);
}
int shim_randomness(sqlite3_vfs*, int size, char* out) {
  return g_real->xRandomness(g_real, size, out);
}
int shim_sleep(sqlite3_vfs*, int microseconds) {
  return g_real->xSleep(g_real, microseconds);
}
int shim_current_time(sqlite3_vfs*, double* out) {
  return g_real->xCurrentTime(g_real, out);
}
int shim_get_last_error(sqlite3_vfs*, int size, char* out) {
  return g_real->xGetLastError ? g_real->xGetLastError(g_real, size, out) : 0;
}
int shim_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

}  // namespace

void FullDisk::install() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_real->szOsFile;
    g_vfs.mxPathname = g_real->mxPathname;
    g_vfs.zName = "libreta-full-disk";
    g_vfs.xOpen = shim_open;
    g_vfs.xDelete = shim_delete;
    g_vfs.xAccess = shim_access;
    g_vfs.xFullPathname = shim_full_pathname;
    g_vfs.xDlOpen = shim_dl_open;
    g_vfs.xDlError = shim_dl_error;
    g_vfs.xDlSym = shim_dl_sym;
    g_vfs.xDlClose = shim_dl_close;
    g_vfs.xRandomness = shim_randomness;
    g_vfs.xSleep = shim_sleep;
    g_vfs.xCurrentTime = shim_current_time;
    g_vfs.xGetLastError = shim_get_last_error;
    g_vfs.xCurrentTimeInt64 = shim_current_time_int64;
    sqlite3_vfs_register(&g_vfs, 1);
  });
}

void FullDisk::set_directory(const std::filesystem::path& directory) {
  std::lock_guard lock(g_directory_mutex);
  g_directory = std::filesystem::absolute(directory).string();
}

void FullDisk::set_full(bool full) {
  g_full = full;
}

std::uint64_t FullDisk::refused_writes() {
  return g_refused;
}

}  // namespace libreta::fault

/* A first program against libreta's C API: opens (or creates) a replica file, adds a
 * customer, lists the book and, given a server and a token, syncs it once.
 *
 * Build it, with libreta installed (cmake --install), in one command:
 *   cc -std=c99 hello_book.c $(pkg-config --cflags --libs libreta) -o hello_book
 * Run it:
 *   ./hello_book book.db                                  offline
 *   ./hello_book book.db ws://127.0.0.1:8443/sync TOKEN   and sync (wss:// for a real server)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <time.h>

#include <libreta/libreta.h>

/* Prints the error of a call that failed and returns 1. */
static int failed(const char* what, const libreta_error* error) {
  fprintf(stderr, "%s: %s (%s)\n", what, error->message, libreta_code_name(error->code));
  return 1;
}

/* Waits up to 30 s for the session to be connected, caught up and with nothing pending. */
static int wait_in_sync(libreta_replica* book) {
  libreta_sync_status status;
  int tenths;
  for (tenths = 0; tenths < 300; ++tenths) {
    struct timespec tenth = {0, 100000000L};
    if (libreta_sync_get_status(book, &status, NULL) != LIBRETA_OK) return 0;
    if (status.connected && status.caught_up && status.pending == 0) return 1;
    nanosleep(&tenth, NULL);
  }
  fprintf(stderr, "not in sync: %s\n", status.last_error_message);
  return 0;
}

int main(int argc, char** argv) {
  libreta_error error;
  libreta_replica* book = NULL;
  char* id = NULL;
  char* customers = NULL;

  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: hello_book FILE [SERVER_URL TOKEN]\n");
    return 2;
  }
  printf("libreta %s\n", libreta_version());
  if (libreta_open(argv[1], NULL, &book, &error) != LIBRETA_OK) return failed("open", &error);

  if (libreta_create(book, "customers",
                     "{\"kind\":\"company\",\"name\":\"Papeleria "
                     "Sol\",\"status\":\"prospect\",\"city\":\"Cordoba\"}",
                     &id, &error) != LIBRETA_OK) {
    libreta_release(book);
    return failed("create", &error);
  }
  printf("created customer %s\n", id);
  libreta_free(id);

  if (libreta_list(book, "customers", "{\"limit\":10}", &customers, &error) != LIBRETA_OK) {
    libreta_release(book);
    return failed("list", &error);
  }
  printf("the book: %s\n", customers);
  libreta_free(customers);

  if (argc == 4) {
    libreta_sync_options sync = LIBRETA_SYNC_OPTIONS_INIT;
    sync.server_url = argv[2];
    sync.token = argv[3];
    if (libreta_sync_start(book, &sync, &error) != LIBRETA_OK) {
      libreta_release(book);
      return failed("sync", &error);
    }
    printf(wait_in_sync(book) ? "in sync with %s\n" : "could not sync with %s\n", argv[2]);
  }
  libreta_release(book); /* stops the sync and closes the file */
  return 0;
}

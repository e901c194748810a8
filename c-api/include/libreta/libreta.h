/* libreta.h: the C API of libreta's client core, a seller's local replica of the customer
 * book and the sync session that keeps it in step with the server. C99; usable from C, C++,
 * Swift, Kotlin/JNI and Python ctypes. docs/c-api.md is the guide; this header is the
 * reference.
 *
 * Errors. Every function that can fail returns LIBRETA_OK (0) or a code of the error
 * registry (libreta_code) and, when its `error` argument is not NULL, fills it with the same
 * code and a message in English. Nothing throws or aborts across this boundary, whatever
 * the arguments: a NULL pointer, JSON that does not parse, an unknown table or field, a
 * closed replica each get a code. A failed call changes nothing and leaves its output
 * arguments untouched.
 *
 * Ownership. Text passed in is read during the call only (UTF-8, NUL-terminated). Text
 * returned through a `char **` argument belongs to the caller, who frees it with
 * libreta_free(). Text handed to a callback belongs to the library and is valid only during
 * the call. libreta_version() and libreta_code_name() return static text.
 *
 * Threads. A libreta_replica may be used from any thread; calls on one replica run one at a
 * time (a call waits for the one in progress). Callbacks run on the thread written next to
 * their registration.
 */
#ifndef LIBRETA_LIBRETA_H
#define LIBRETA_LIBRETA_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define LIBRETA_API __attribute__((visibility("default")))
#else
#define LIBRETA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ------------------------------------------------------------------------- */

#define LIBRETA_VERSION_MAJOR 0
#define LIBRETA_VERSION_MINOR 1
#define LIBRETA_VERSION_PATCH 0
#define LIBRETA_VERSION_TEXT "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if tests. */
#define LIBRETA_VERSION_NUMBER 100

/* The library's version text ("0.1.0"), which may differ from the header the program was
 * compiled with. Static: never freed. */
LIBRETA_API const char *libreta_version(void);
/* The library's LIBRETA_VERSION_NUMBER. */
LIBRETA_API int libreta_version_number(void);

/* ---- Errors -------------------------------------------------------------------------- */

/* The project's error registry (docs/protocol.md, "Error codes"). */
typedef enum libreta_code {
  LIBRETA_OK = 0,
  /* Input that is malformed or invalid. */
  LIBRETA_MALFORMED = 100,     /* not parseable at all (bad JSON) */
  LIBRETA_WRONG_TYPE = 101,    /* a JSON member has the wrong type */
  LIBRETA_MISSING_FIELD = 102, /* a required field or argument is absent (NULL) */
  LIBRETA_UNKNOWN_FIELD = 103, /* a field the table does not have */
  LIBRETA_INVALID_VALUE = 104, /* right type, but not an acceptable value */
  LIBRETA_TOO_LARGE = 105,     /* over a size limit */
  LIBRETA_UNKNOWN_TABLE = 106, /* a table the book does not have */
  LIBRETA_CLOCK_SKEW = 107,    /* a timestamp too far in the future */
  /* Data state. */
  LIBRETA_NOT_FOUND = 200,      /* no such row, or it is deleted */
  LIBRETA_ALREADY_EXISTS = 201, /* a create with an id that is taken */
  /* Storage. */
  LIBRETA_STORAGE = 300,        /* the database refused an operation */
  LIBRETA_STORAGE_FULL = 301,   /* disk or database full */
  LIBRETA_SCHEMA_TOO_NEW = 302, /* the file was written by a newer libreta */
  /* Sync. */
  LIBRETA_BAD_TOKEN = 400,
  LIBRETA_UNSUPPORTED_PROTOCOL = 401,
  LIBRETA_UNSUPPORTED_SCHEMA = 402,
  LIBRETA_UNKNOWN_MESSAGE = 403,
  LIBRETA_OUT_OF_ORDER = 404, /* not valid now (a sync call from inside a callback) */
  LIBRETA_FORBIDDEN = 405,
  LIBRETA_RATE_LIMITED = 406,
  LIBRETA_TIMEOUT = 407,
  LIBRETA_SHUTTING_DOWN = 408,
  LIBRETA_UNREACHABLE = 409,
  LIBRETA_TLS = 410,    /* no secure connection (certificate, handshake, plain ws://) */
  LIBRETA_CLOSED = 411, /* the replica was closed (libreta_close) */
  LIBRETA_INTERNAL = 900
} libreta_code;

/* The stable snake_case name of a code ("invalid_value"), "ok" for 0, "unknown" for a
 * number that is not a code. Static: never freed. */
LIBRETA_API const char *libreta_code_name(int code);

#define LIBRETA_ERROR_MESSAGE_SIZE 512

/* Filled by a failing call. Owned by the caller (on its stack, typically). */
typedef struct libreta_error {
  int code;                                 /* a libreta_code; LIBRETA_OK after success */
  char message[LIBRETA_ERROR_MESSAGE_SIZE]; /* NUL-terminated, cut to fit; "" on success */
} libreta_error;

/* Frees text the library returned through a `char **` argument. NULL is ignored. */
LIBRETA_API void libreta_free(void *text);

/* ---- Opening a replica --------------------------------------------------------------- */

typedef struct libreta_replica libreta_replica;

/* Where the sync session's callbacks run. */
typedef enum libreta_delivery {
  /* On the sync session's own thread, as events happen. A callback must be quick. */
  LIBRETA_DELIVER_ON_SYNC_THREAD = 0,
  /* Queued; delivered on the thread that calls libreta_deliver_events(), when it does. A
   * status change replaces one still queued; changes arrived in a row are merged. */
  LIBRETA_DELIVER_BUFFERED = 1
} libreta_delivery;

#define LIBRETA_OPEN_OPTIONS_VERSION 1

typedef struct libreta_open_options {
  uint32_t version;           /* LIBRETA_OPEN_OPTIONS_VERSION */
  const char *new_replica_id; /* the id of a new file; NULL: a random one. An existing file
                                 keeps its own. */
  int delivery;               /* a libreta_delivery */
} libreta_open_options;

#define LIBRETA_OPEN_OPTIONS_INIT {LIBRETA_OPEN_OPTIONS_VERSION, NULL, LIBRETA_DELIVER_ON_SYNC_THREAD}

/* Opens the replica file at `path`, creating it if missing (options may be NULL: the
 * defaults). On success *replica is a new handle, to be given to libreta_release(). */
LIBRETA_API int libreta_open(const char *path, const libreta_open_options *options,
                             libreta_replica **replica, libreta_error *error);

/* Stops the sync session and closes the file. The handle stays allocated: every later call
 * on it returns LIBRETA_CLOSED, until libreta_release(). Closing twice is not an error.
 * Returns LIBRETA_OUT_OF_ORDER from inside a callback running on the sync thread. */
LIBRETA_API int libreta_close(libreta_replica *replica, libreta_error *error);

/* Closes the replica if open and frees the handle, which must not be used again. NULL is
 * ignored; so is a call from inside one of this replica's callbacks (the handle stays). */
LIBRETA_API void libreta_release(libreta_replica *replica);

/* The id this replica signs its changes with. *id: free with libreta_free(). */
LIBRETA_API int libreta_replica_id(libreta_replica *replica, char **id, libreta_error *error);

/* ---- Records ------------------------------------------------------------------------- */
/* Tables: "customers", "contacts", "interactions", "purchases", "followups"
 * (docs/c-api.md lists their fields). A record is a JSON object of field names to values:
 * text, number, true/false, null, or an array of texts for a tag set. Dates are
 * "YYYY-MM-DD" text. Each write is one transaction, made offline and sent by the sync
 * session when it can; a running session is told at once. */

/* Creates a row from `fields_json`; *id (may be NULL) receives its new id, which the
 * caller frees. An "id" member in the object is used as the id. */
LIBRETA_API int libreta_create(libreta_replica *replica, const char *table,
                               const char *fields_json, char **id, libreta_error *error);

/* The live row as a JSON object, its "id" included. LIBRETA_NOT_FOUND when the replica does
 * not hold it or it is deleted. *record_json: free with libreta_free(). */
LIBRETA_API int libreta_get(libreta_replica *replica, const char *table, const char *id,
                            char **record_json, libreta_error *error);

/* Sets the fields of `fields_json` (null clears one); *changed (may be NULL) receives how
 * many fields actually changed. */
LIBRETA_API int libreta_update(libreta_replica *replica, const char *table, const char *id,
                               const char *fields_json, size_t *changed, libreta_error *error);

/* Deletes the row (a tombstone that syncs). */
LIBRETA_API int libreta_delete(libreta_replica *replica, const char *table, const char *id,
                               libreta_error *error);

/* Adds or removes one tag of a tag-set field; *changed (may be NULL) is 1 when the set
 * changed. Concurrent adds and removes of other tags on other devices all survive. */
LIBRETA_API int libreta_add_tag(libreta_replica *replica, const char *table, const char *id,
                                const char *field, const char *tag, int *changed,
                                libreta_error *error);
LIBRETA_API int libreta_remove_tag(libreta_replica *replica, const char *table, const char *id,
                                   const char *field, const char *tag, int *changed,
                                   libreta_error *error);

/* Lists rows as a JSON array of records. `filter_json` may be NULL (or "{}"):
 *   customers: any of "status", "relationship", "segment", "city", "region", "owner",
 *              "tag" (texts) and "limit" (a number, 1000 when absent), sorted by name;
 *   contacts, interactions, purchases, followups: "customer_id" (required), the
 *              customer's rows, newest first for interactions and purchases.
 * *records_json: free with libreta_free(). */
LIBRETA_API int libreta_list(libreta_replica *replica, const char *table, const char *filter_json,
                             char **records_json, libreta_error *error);

/* Full-text search, case- and accent-insensitive, over names, tax ids, emails, phones,
 * cities and notes; every term is a prefix and all must match. A JSON array of hits
 * {"customer_id", "customer_name", "table", "row_id", "snippet"}, best first, at most
 * `limit` (0: 50). *hits_json: free with libreta_free(). */
LIBRETA_API int libreta_search(libreta_replica *replica, const char *text, size_t limit,
                               char **hits_json, libreta_error *error);

/* Who last wrote each field of a row and when, as this replica knows it (deleted rows
 * too): a JSON object of field name to {"value", "time_ms", "replica"}, tag sets with a
 * "tags" object of tag to {"added_ms", "added_by", "removed_ms", "removed_by"} (the keys it
 * has). *versions_json: free with libreta_free(). */
LIBRETA_API int libreta_field_versions(libreta_replica *replica, const char *table,
                                       const char *id, char **versions_json,
                                       libreta_error *error);

/* ---- The seller's day ---------------------------------------------------------------- */
/* `today` and `as_of` are "YYYY-MM-DD" in the seller's time zone. Every result is a JSON
 * array (an object for behaviour and RFM) to free with libreta_free(); docs/c-api.md shows
 * each shape. */

/* Follow-ups not done that are due today or overdue, most overdue first. */
LIBRETA_API int libreta_followups_due(libreta_replica *replica, const char *today,
                                      char **json, libreta_error *error);
/* Birthdays and anniversaries of customers and contacts in the next `days` days. */
LIBRETA_API int libreta_upcoming_dates(libreta_replica *replica, const char *today, int days,
                                       char **json, libreta_error *error);
/* Current customers with no interaction or purchase in `days` days. */
LIBRETA_API int libreta_quiet_customers(libreta_replica *replica, const char *today, int days,
                                        char **json, libreta_error *error);
/* Lost deals whose date to revisit has come. */
LIBRETA_API int libreta_lost_deals(libreta_replica *replica, const char *today, char **json,
                                   libreta_error *error);
/* What a customer's purchases say: last purchase, frequency, monthly spend. */
LIBRETA_API int libreta_behaviour(libreta_replica *replica, const char *customer_id,
                                  const char *as_of, char **json, libreta_error *error);
/* Recency, frequency and monetary scores and the segment of every customer who bought. */
LIBRETA_API int libreta_rfm(libreta_replica *replica, const char *as_of, char **json,
                            libreta_error *error);

/* ---- Conflicts and refusals ---------------------------------------------------------- */

typedef enum libreta_conflict_side {
  LIBRETA_CONFLICTS_ANY = 0,
  LIBRETA_CONFLICTS_LOST = 1, /* this replica's value lost */
  LIBRETA_CONFLICTS_WON = 2   /* this replica's value won */
} libreta_conflict_side;

/* The conflicts the server reported to this replica, oldest first, as a JSON array of
 * {"table", "row", "field", "kind", "kept", "lost", "kept_version", "lost_version",
 * "kept_user", "lost_user", "id"} (versions as {"time_ms", "replica"}). Nothing is lost in
 * a conflict: the losing value is here. *json: free with libreta_free(). */
LIBRETA_API int libreta_conflicts(libreta_replica *replica, int side, char **json,
                                  libreta_error *error);

/* Changes of this replica the server refused (outside the seller's scope, invalid), newest
 * last: {"seq", "table", "row", "field", "element", "code", "code_name", "message"}. The
 * replica is back to the server's value of each. *json: free with libreta_free(). */
LIBRETA_API int libreta_refusals(libreta_replica *replica, char **json, libreta_error *error);

/* ---- Sync ---------------------------------------------------------------------------- */

#define LIBRETA_SYNC_OPTIONS_VERSION 1

typedef struct libreta_sync_options {
  uint32_t version;       /* LIBRETA_SYNC_OPTIONS_VERSION */
  const char *server_url; /* wss://host:port/sync (ws:// only to loopback, or allow_plain) */
  const char *token;      /* the seller's token */
  const char *ca_file;    /* PEM file of the authorities to trust; NULL: the system's */
  int allow_plain;        /* 1: allow ws:// to a host that is not loopback */
  int compress;           /* 1 (default): large messages travel compressed */
} libreta_sync_options;

#define LIBRETA_SYNC_OPTIONS_INIT {LIBRETA_SYNC_OPTIONS_VERSION, NULL, NULL, NULL, 0, 1}

/* Starts the sync session in the background: it connects, sends the changes made offline,
 * receives everyone else's, then stays connected for live changes, reconnecting by itself
 * with backoff whenever the network goes. LIBRETA_OUT_OF_ORDER when one is running. The
 * options are copied. */
LIBRETA_API int libreta_sync_start(libreta_replica *replica, const libreta_sync_options *options,
                                   libreta_error *error);

/* Stops the session and waits for its thread (the time of one replica operation). Stopping
 * a replica with no session is not an error. LIBRETA_OUT_OF_ORDER from inside a callback
 * running on the sync thread (the session would wait for itself). */
LIBRETA_API int libreta_sync_stop(libreta_replica *replica, libreta_error *error);

typedef struct libreta_sync_status {
  int running;             /* a session was started and not stopped */
  int connected;           /* the server welcomed this replica on the current connection */
  int caught_up;           /* everything the server had arrived; live changes follow */
  int downloading;         /* a pull is running (the first sync, or catching up) */
  uint64_t pending;        /* local changes the server has not acknowledged yet */
  uint64_t rows_received;  /* rows of the current (or last) download: first-sync progress */
  uint64_t cursor;         /* how far this replica has read the server's change stream */
  uint64_t reconnects;     /* connection attempts after the first */
  int64_t last_sync_ms;    /* last time in sync (Unix epoch ms); -1 never */
  int last_error_code;     /* the most recent error's code, LIBRETA_OK if none */
  char last_error_message[LIBRETA_ERROR_MESSAGE_SIZE];
} libreta_sync_status;

/* The session's status now (all zeros but last_sync_ms and pending when none runs). */
LIBRETA_API int libreta_sync_get_status(libreta_replica *replica, libreta_sync_status *status,
                                        libreta_error *error);

/* ---- Callbacks ----------------------------------------------------------------------- */
/* Registered on the replica, for every session it starts. Each registration returns a
 * token; libreta_remove_listener(token) removes it: when that returns, the callback is not
 * running and will not be called again (unless called from inside that very callback).
 * With LIBRETA_DELIVER_ON_SYNC_THREAD a callback runs on the sync session's thread and must
 * be quick; it may read and write the replica, but not stop the session or close it. With
 * LIBRETA_DELIVER_BUFFERED it runs inside libreta_deliver_events(), on the caller's thread,
 * and may do anything but release the replica. */

typedef uint64_t libreta_listener_token;

/* The session's status changed (connected, caught up, pending count, an error...). */
typedef void (*libreta_status_callback)(void *user_data, const libreta_sync_status *status);
/* Rows arrived from the server and were merged: {"rows", "applied", "live", "changed":
 * [{"table", "id"}...], "truncated"}. "truncated" is true when more rows changed than
 * "changed" lists (reload what is shown). */
typedef void (*libreta_changes_callback)(void *user_data, const char *changes_json);
/* The server reported conflicts: a JSON array as libreta_conflicts() returns. */
typedef void (*libreta_conflicts_callback)(void *user_data, const char *conflicts_json);
/* The server refused changes of this replica: a JSON array as libreta_refusals(). */
typedef void (*libreta_refusals_callback)(void *user_data, const char *refusals_json);

LIBRETA_API int libreta_add_status_listener(libreta_replica *replica,
                                            libreta_status_callback callback, void *user_data,
                                            libreta_listener_token *token, libreta_error *error);
LIBRETA_API int libreta_add_changes_listener(libreta_replica *replica,
                                             libreta_changes_callback callback, void *user_data,
                                             libreta_listener_token *token, libreta_error *error);
LIBRETA_API int libreta_add_conflicts_listener(libreta_replica *replica,
                                               libreta_conflicts_callback callback,
                                               void *user_data, libreta_listener_token *token,
                                               libreta_error *error);
LIBRETA_API int libreta_add_refusals_listener(libreta_replica *replica,
                                              libreta_refusals_callback callback, void *user_data,
                                              libreta_listener_token *token,
                                              libreta_error *error);
/* LIBRETA_NOT_FOUND for a token that is not registered (or already removed). */
LIBRETA_API int libreta_remove_listener(libreta_replica *replica, libreta_listener_token token,
                                        libreta_error *error);

/* Buffered mode: waits up to `timeout_ms` (0: not at all) for an event to be queued;
 * *queued (may be NULL) receives how many wait. */
LIBRETA_API int libreta_wait_events(libreta_replica *replica, int timeout_ms, size_t *queued,
                                    libreta_error *error);
/* Buffered mode: calls the listeners for every queued event, in order, on this thread;
 * *delivered (may be NULL) receives how many events were delivered. */
LIBRETA_API int libreta_deliver_events(libreta_replica *replica, size_t *delivered,
                                       libreta_error *error);

#ifdef __cplusplus
}
#endif

#endif /* LIBRETA_LIBRETA_H */

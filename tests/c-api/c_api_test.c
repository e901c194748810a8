/* The C API as an app uses it, compiled as C99 against the installed header and library
 * (tests/c-api/run_c_api_test.sh builds it through pkg-config and starts the server).
 *
 *   c_api_test URL SELLER_TOKEN MANAGER_TOKEN DIR
 *
 * Two devices in one process: a seller's replica ("ana", events buffered and delivered on
 * this thread) and the office's (a manager, events on the sync thread). Offline writes, a
 * first sync, a live change from the other device, a conflict, a refusal, and an error code
 * (never a crash) for each kind of bad input. Exits 0 when every check holds. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libreta/libreta.h>

static int failures = 0;

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                   \
    }                                                                               \
  } while (0)

/* `call` returns `expected`, and fills `err` with the same code. */
#define EXPECT_CODE(expected, call)                                                             \
  do {                                                                                          \
    int rc_ = (call);                                                                           \
    if (rc_ != (expected) || err.code != rc_) {                                                 \
      fprintf(stderr, "%s:%d: %s returned %d (%s), error %d, expected %d (%s): %s\n", __FILE__, \
              __LINE__, #call, rc_, libreta_code_name(rc_), err.code, (int)(expected),          \
              libreta_code_name(expected), err.message);                                        \
      ++failures;                                                                               \
    }                                                                                           \
  } while (0)

/* `call` must succeed, or the test cannot go on. */
#define REQUIRE_OK(call)                                                                \
  do {                                                                                  \
    int rc_ = (call);                                                                   \
    if (rc_ != LIBRETA_OK) {                                                            \
      fprintf(stderr, "%s:%d: %s failed: %d (%s) %s\n", __FILE__, __LINE__, #call, rc_, \
              libreta_code_name(rc_), err.message);                                     \
      exit(1);                                                                          \
    }                                                                                   \
  } while (0)

static libreta_error err;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void pause_ms(long ms) {
  struct timespec t = {0, ms * 1000000L};
  nanosleep(&t, NULL);
}

/* ---- The seller's device: events buffered, delivered on this thread ------------------- */

typedef struct Seller {
  char changes[1 << 16]; /* every changes event's JSON, concatenated (cut when full) */
  int conflicts_events;
  int refusals_events;
  int status_events;
} Seller;

static void seller_on_changes(void* user_data, const char* json) {
  Seller* seller = (Seller*)user_data;
  size_t used = strlen(seller->changes);
  strncat(seller->changes, json, sizeof seller->changes - used - 1);
}
static void seller_on_conflicts(void* user_data, const char* json) {
  (void)json;
  ((Seller*)user_data)->conflicts_events++;
}
static void seller_on_refusals(void* user_data, const char* json) {
  (void)json;
  ((Seller*)user_data)->refusals_events++;
}
static void seller_on_status(void* user_data, const libreta_sync_status* status) {
  (void)status;
  ((Seller*)user_data)->status_events++;
}

/* Delivers the seller's events until `done` holds or 30 s pass. */
static int wait_seller(libreta_replica* replica, int (*done)(libreta_replica*, void*), void* arg) {
  const long long deadline = now_ms() + 30000;
  while (now_ms() < deadline) {
    REQUIRE_OK(libreta_deliver_events(replica, NULL, &err));
    if (done(replica, arg)) return 1;
    REQUIRE_OK(libreta_wait_events(replica, 50, NULL, &err));
  }
  return 0;
}

/* ---- The office's device: events on the sync thread ----------------------------------- */

typedef struct Office {
  pthread_mutex_t mutex;
  int status_events;
  int stop_from_callback; /* what libreta_sync_stop returned inside the first callback */
  libreta_replica* replica;
} Office;

static void office_on_status(void* user_data, const libreta_sync_status* status) {
  Office* office = (Office*)user_data;
  int first;
  (void)status;
  pthread_mutex_lock(&office->mutex);
  first = office->status_events++ == 0;
  pthread_mutex_unlock(&office->mutex);
  if (first) {
    /* Not allowed from here: an error code, not a deadlock. */
    int rc = libreta_sync_stop(office->replica, NULL);
    pthread_mutex_lock(&office->mutex);
    office->stop_from_callback = rc;
    pthread_mutex_unlock(&office->mutex);
  }
}

/* Polls the status until `done` holds or 30 s pass. */
static int wait_status(libreta_replica* replica, int (*done)(const libreta_sync_status*)) {
  const long long deadline = now_ms() + 30000;
  libreta_sync_status status;
  while (now_ms() < deadline) {
    REQUIRE_OK(libreta_sync_get_status(replica, &status, &err));
    if (done(&status)) return 1;
    pause_ms(10);
  }
  fprintf(stderr, "status: connected %d caught_up %d pending %llu error %d %s\n", status.connected,
          status.caught_up, (unsigned long long)status.pending, status.last_error_code,
          status.last_error_message);
  return 0;
}

static int synced(const libreta_sync_status* s) {
  return s->connected && s->caught_up && s->pending == 0;
}

static int synced_replica(libreta_replica* replica, void* arg) {
  libreta_sync_status status;
  (void)arg;
  return libreta_sync_get_status(replica, &status, NULL) == LIBRETA_OK && synced(&status);
}

/* ---- Helpers --------------------------------------------------------------------------- */

static int contains(const char* text, const char* part) {
  return text != NULL && strstr(text, part) != NULL;
}

/* The field `name` of a customer is `value`, as JSON text ("\"Sevilla\""). */
typedef struct FieldIs {
  const char* id;
  const char* expected; /* "\"city\":\"Sevilla\"" */
} FieldIs;

static int customer_field_is(libreta_replica* replica, void* arg) {
  FieldIs* want = (FieldIs*)arg;
  char* json = NULL;
  int ok;
  if (libreta_get(replica, "customers", want->id, &json, NULL) != LIBRETA_OK) return 0;
  ok = contains(json, want->expected);
  libreta_free(json);
  return ok;
}

static int changes_name(libreta_replica* replica, void* arg) {
  (void)replica;
  return contains(((Seller*)((void**)arg)[0])->changes, (const char*)((void**)arg)[1]);
}

/* The refusal is stored, and its callback was called (the event may come a moment later). */
static int has_refusal(libreta_replica* replica, void* arg) {
  char* json = NULL;
  int found;
  if (((Seller*)arg)->refusals_events == 0) return 0;
  if (libreta_refusals(replica, &json, NULL) != LIBRETA_OK) return 0;
  found = contains(json, "\"forbidden\"");
  libreta_free(json);
  return found;
}

static size_t count_customers(libreta_replica* replica) {
  char* json = NULL;
  size_t count = 0;
  const char* at;
  REQUIRE_OK(libreta_list(replica, "customers", NULL, &json, &err));
  for (at = json; (at = strstr(at, "\"kind\":")) != NULL; ++at) ++count;
  libreta_free(json);
  return count;
}

/* ---- Bad input: an error code for each, and nothing changed --------------------------- */

static void check_bad_input(libreta_replica* replica, const char* customer_id) {
  libreta_open_options future = LIBRETA_OPEN_OPTIONS_INIT;
  libreta_sync_options no_url = LIBRETA_SYNC_OPTIONS_INIT;
  libreta_replica* never = NULL;
  char* out = NULL;
  char* huge;
  char* deep;
  size_t i, changed = 0;
  const size_t before = count_customers(replica);

  EXPECT_CODE(LIBRETA_MISSING_FIELD, libreta_open(NULL, NULL, &never, &err));
  EXPECT_CODE(LIBRETA_MISSING_FIELD, libreta_open("x.db", NULL, NULL, &err));
  future.version = 99;
  EXPECT_CODE(LIBRETA_INVALID_VALUE, libreta_open("x.db", &future, &never, &err));
  EXPECT_CODE(LIBRETA_STORAGE, libreta_open("/nonexistent/dir/x.db", NULL, &never, &err));
  CHECK(never == NULL);
  /* A NULL error is fine: the code still comes back. */
  CHECK(libreta_get(NULL, "customers", customer_id, &out, NULL) == LIBRETA_MISSING_FIELD);

  EXPECT_CODE(LIBRETA_MALFORMED, libreta_create(replica, "customers", "{\"name\":", &out, &err));
  EXPECT_CODE(LIBRETA_MALFORMED, libreta_create(replica, "customers", "{nope}", &out, &err));
  EXPECT_CODE(LIBRETA_WRONG_TYPE, libreta_create(replica, "customers", "[1,2]", &out, &err));
  EXPECT_CODE(LIBRETA_UNKNOWN_TABLE, libreta_create(replica, "planets", "{}", &out, &err));
  EXPECT_CODE(LIBRETA_MISSING_FIELD, libreta_create(replica, NULL, "{}", &out, &err));
  EXPECT_CODE(LIBRETA_MISSING_FIELD, libreta_create(replica, "customers", NULL, &out, &err));
  EXPECT_CODE(LIBRETA_UNKNOWN_FIELD,
              libreta_create(
                  replica, "customers",
                  "{\"kind\":\"company\",\"name\":\"X\",\"status\":\"active\",\"colour\":\"red\"}",
                  &out, &err));
  EXPECT_CODE(
      LIBRETA_INVALID_VALUE,
      libreta_create(replica, "customers",
                     "{\"kind\":\"company\",\"name\":\"X\",\"status\":\"bogus\"}", &out, &err));
  EXPECT_CODE(LIBRETA_MISSING_FIELD, libreta_create(replica, "customers", "{}", &out, &err));
  CHECK(out == NULL);

  /* 2 MiB of JSON, and 100 arrays deep: refused before anything is built. */
  huge = malloc(2u << 20);
  memset(huge, ' ', (2u << 20) - 1);
  huge[0] = '{';
  huge[(2u << 20) - 2] = '}';
  huge[(2u << 20) - 1] = '\0';
  EXPECT_CODE(LIBRETA_TOO_LARGE, libreta_create(replica, "customers", huge, &out, &err));
  free(huge);
  deep = malloc(300);
  strcpy(deep, "{\"tags\":");
  for (i = 0; i < 100; ++i) strcat(deep, "[");
  for (i = 0; i < 100; ++i) strcat(deep, "]");
  strcat(deep, "}");
  EXPECT_CODE(LIBRETA_TOO_LARGE, libreta_create(replica, "customers", deep, &out, &err));
  free(deep);

  EXPECT_CODE(LIBRETA_NOT_FOUND, libreta_get(replica, "customers", "no-such-id", &out, &err));
  EXPECT_CODE(LIBRETA_NOT_FOUND, libreta_update(replica, "customers", "no-such-id",
                                                "{\"city\":\"X\"}", &changed, &err));
  EXPECT_CODE(LIBRETA_INVALID_VALUE, libreta_update(replica, "customers", customer_id,
                                                    "{\"segment\":\"Z\"}", &changed, &err));
  EXPECT_CODE(LIBRETA_UNKNOWN_FIELD,
              libreta_list(replica, "customers", "{\"colour\":\"red\"}", &out, &err));
  EXPECT_CODE(LIBRETA_MISSING_FIELD, libreta_list(replica, "contacts", NULL, &out, &err));
  EXPECT_CODE(LIBRETA_INVALID_VALUE, libreta_followups_due(replica, "2026-13-45", &out, &err));
  EXPECT_CODE(LIBRETA_INVALID_VALUE, libreta_conflicts(replica, 7, &out, &err));
  EXPECT_CODE(LIBRETA_NOT_FOUND, libreta_remove_listener(replica, 123456, &err));
  EXPECT_CODE(LIBRETA_MISSING_FIELD, libreta_add_changes_listener(replica, NULL, NULL, NULL, &err));
  EXPECT_CODE(LIBRETA_MISSING_FIELD, libreta_sync_start(replica, NULL, &err));
  EXPECT_CODE(LIBRETA_MISSING_FIELD, libreta_sync_start(replica, &no_url, &err));
  CHECK(out == NULL);
  CHECK(changed == 0);
  CHECK(count_customers(replica) == before);
}

/* ---- The test ---------------------------------------------------------------------------- */

int main(int argc, char** argv) {
  const char *url, *seller_token, *manager_token, *dir;
  char path[1024], fields[512];
  libreta_open_options buffered = LIBRETA_OPEN_OPTIONS_INIT;
  libreta_sync_options seller_sync = LIBRETA_SYNC_OPTIONS_INIT;
  libreta_sync_options office_sync = LIBRETA_SYNC_OPTIONS_INIT;
  libreta_replica *ana = NULL, *office_replica = NULL;
  libreta_listener_token tokens[4], office_token;
  static Seller seller;
  Office office;
  char *customer_id = NULL, *contact_id = NULL, *foreign_id = NULL, *json = NULL;
  size_t changed = 0;
  void* live_arg[2];
  FieldIs field;

  if (argc != 5) {
    fprintf(stderr, "usage: c_api_test URL SELLER_TOKEN MANAGER_TOKEN DIR\n");
    return 2;
  }
  url = argv[1];
  seller_token = argv[2];
  manager_token = argv[3];
  dir = argv[4];

  CHECK(strcmp(libreta_version(), LIBRETA_VERSION_TEXT) == 0);
  CHECK(libreta_version_number() == LIBRETA_VERSION_NUMBER);
  CHECK(strcmp(libreta_code_name(LIBRETA_CLOSED), "closed") == 0);
  CHECK(strcmp(libreta_code_name(LIBRETA_OK), "ok") == 0);
  CHECK(strcmp(libreta_code_name(12345), "unknown") == 0);

  /* The seller, offline: a customer and a contact. */
  buffered.delivery = LIBRETA_DELIVER_BUFFERED;
  snprintf(path, sizeof path, "%s/ana.db", dir);
  REQUIRE_OK(libreta_open(path, &buffered, &ana, &err));
  REQUIRE_OK(libreta_create(ana, "customers",
                            "{\"kind\":\"company\",\"name\":\"Ferreter\xc3\xad"
                            "a N\xc3\xba\xc3\xb1"
                            "ez\","
                            "\"status\":\"active\",\"owner\":\"ana\",\"city\":\"Valencia\","
                            "\"tags\":[\"ferreter\xc3\xad"
                            "a\"]}",
                            &customer_id, &err));
  snprintf(fields, sizeof fields,
           "{\"customer_id\":\"%s\",\"name\":\"Luc\xc3\xad"
           "a Prats\",\"mobile\":\"+34 600 000 "
           "000\",\"personal_notes\":\"Dos hijas; le gusta el f\xc3\xba"
           "tbol\"}",
           customer_id);
  REQUIRE_OK(libreta_create(ana, "contacts", fields, &contact_id, &err));
  REQUIRE_OK(libreta_get(ana, "customers", customer_id, &json, &err));
  CHECK(contains(json, "\"city\":\"Valencia\""));
  libreta_free(json);
  snprintf(fields, sizeof fields, "{\"customer_id\":\"%s\"}", customer_id);
  REQUIRE_OK(libreta_list(ana, "contacts", fields, &json, &err));
  CHECK(contains(json, contact_id) && contains(json, "personal_notes"));
  libreta_free(json);
  REQUIRE_OK(libreta_search(ana, "nunez", 0, &json, &err));
  CHECK(contains(json, customer_id));
  libreta_free(json);
  REQUIRE_OK(libreta_field_versions(ana, "customers", customer_id, &json, &err));
  CHECK(contains(json, "\"city\":{\"replica\""));
  libreta_free(json);
  REQUIRE_OK(libreta_add_tag(ana, "customers", customer_id, "tags", "vip", NULL, &err));

  check_bad_input(ana, customer_id);

  /* The seller syncs: what was written offline goes up. */
  REQUIRE_OK(libreta_add_changes_listener(ana, seller_on_changes, &seller, &tokens[0], &err));
  REQUIRE_OK(libreta_add_conflicts_listener(ana, seller_on_conflicts, &seller, &tokens[1], &err));
  REQUIRE_OK(libreta_add_refusals_listener(ana, seller_on_refusals, &seller, &tokens[2], &err));
  REQUIRE_OK(libreta_add_status_listener(ana, seller_on_status, &seller, &tokens[3], &err));
  seller_sync.server_url = url;
  seller_sync.token = seller_token;
  REQUIRE_OK(libreta_sync_start(ana, &seller_sync, &err));
  EXPECT_CODE(LIBRETA_OUT_OF_ORDER, libreta_sync_start(ana, &seller_sync, &err));
  CHECK(wait_seller(ana, synced_replica, NULL));
  CHECK(seller.status_events > 0);

  /* The office's device, events on the sync thread, receives the seller's customer. */
  pthread_mutex_init(&office.mutex, NULL);
  office.status_events = 0;
  office.stop_from_callback = -1;
  snprintf(path, sizeof path, "%s/office.db", dir);
  REQUIRE_OK(libreta_open(path, NULL, &office_replica, &err));
  office.replica = office_replica;
  REQUIRE_OK(
      libreta_add_status_listener(office_replica, office_on_status, &office, &office_token, &err));
  office_sync.server_url = url;
  office_sync.token = manager_token;
  REQUIRE_OK(libreta_sync_start(office_replica, &office_sync, &err));
  CHECK(wait_status(office_replica, synced));
  pthread_mutex_lock(&office.mutex);
  CHECK(office.status_events > 0);
  CHECK(office.stop_from_callback == LIBRETA_OUT_OF_ORDER);
  pthread_mutex_unlock(&office.mutex);
  REQUIRE_OK(libreta_get(office_replica, "contacts", contact_id, &json, &err));
  CHECK(contains(json, "Prats"));
  libreta_free(json);

  /* A live change: the office edits, the seller's changes callback names the customer. */
  REQUIRE_OK(libreta_deliver_events(ana, NULL, &err));
  seller.changes[0] = '\0';
  REQUIRE_OK(libreta_update(office_replica, "customers", customer_id,
                            "{\"notes\":\"Llamar el lunes\"}", &changed, &err));
  CHECK(changed == 1);
  live_arg[0] = &seller;
  live_arg[1] = customer_id;
  CHECK(wait_seller(ana, changes_name, live_arg));
  field.id = customer_id;
  field.expected = "\"notes\":\"Llamar el lunes\"";
  CHECK(customer_field_is(ana, &field));
  CHECK(contains(seller.changes, "\"live\":true"));

  /* A conflict: both edit the city offline; the office pushes second and wins. */
  REQUIRE_OK(libreta_sync_stop(ana, &err));
  REQUIRE_OK(libreta_remove_listener(office_replica, office_token, &err));
  REQUIRE_OK(libreta_sync_stop(office_replica, &err));
  REQUIRE_OK(libreta_update(ana, "customers", customer_id, "{\"city\":\"Sevilla\"}", NULL, &err));
  pause_ms(5); /* a later clock for the office's edit, whatever the clocks' resolution */
  REQUIRE_OK(libreta_update(office_replica, "customers", customer_id, "{\"city\":\"Madrid\"}", NULL,
                            &err));
  REQUIRE_OK(libreta_sync_start(ana, &seller_sync, &err));
  CHECK(wait_seller(ana, synced_replica, NULL));
  REQUIRE_OK(libreta_sync_stop(ana, &err));
  REQUIRE_OK(libreta_sync_start(office_replica, &office_sync, &err));
  CHECK(wait_status(office_replica, synced));
  REQUIRE_OK(libreta_conflicts(office_replica, LIBRETA_CONFLICTS_WON, &json, &err));
  CHECK(contains(json, "\"field\":\"city\"") && contains(json, "\"lost\":\"Sevilla\""));
  libreta_free(json);
  /* The seller, reconnecting, learns its value lost, and takes the office's. */
  REQUIRE_OK(libreta_sync_start(ana, &seller_sync, &err));
  field.expected = "\"city\":\"Madrid\"";
  CHECK(wait_seller(ana, customer_field_is, &field));
  CHECK(wait_seller(ana, synced_replica, NULL));
  {
    const long long deadline = now_ms() + 30000;
    while (seller.conflicts_events == 0 && now_ms() < deadline) {
      REQUIRE_OK(libreta_wait_events(ana, 50, NULL, &err));
      REQUIRE_OK(libreta_deliver_events(ana, NULL, &err));
    }
  }
  CHECK(seller.conflicts_events > 0);
  REQUIRE_OK(libreta_conflicts(ana, LIBRETA_CONFLICTS_LOST, &json, &err));
  CHECK(contains(json, "\"lost\":\"Sevilla\"") && contains(json, "\"kept\":\"Madrid\""));
  libreta_free(json);

  /* A refusal: a seller may not give a customer to another seller. */
  REQUIRE_OK(libreta_create(
      ana, "customers",
      "{\"kind\":\"person\",\"name\":\"Ajeno\",\"status\":\"prospect\",\"owner\":\"bruno\"}",
      &foreign_id, &err));
  CHECK(wait_seller(ana, has_refusal, &seller));
  REQUIRE_OK(libreta_refusals(ana, &json, &err));
  CHECK(contains(json, foreign_id) && contains(json, "\"field\":\"owner\""));
  libreta_free(json);
  /* Undone on the device: the customer is not given away. */
  REQUIRE_OK(libreta_get(ana, "customers", foreign_id, &json, &err));
  CHECK(!contains(json, "bruno"));
  libreta_free(json);

  /* Closed: every call says so; closing again is fine. */
  REQUIRE_OK(libreta_close(ana, &err));
  EXPECT_CODE(LIBRETA_CLOSED, libreta_get(ana, "customers", customer_id, &json, &err));
  EXPECT_CODE(LIBRETA_CLOSED, libreta_sync_start(ana, &seller_sync, &err));
  EXPECT_CODE(LIBRETA_CLOSED, libreta_deliver_events(ana, NULL, &err));
  EXPECT_CODE(LIBRETA_OK, libreta_close(ana, &err));
  libreta_release(ana);
  libreta_release(office_replica);
  libreta_release(NULL);
  pthread_mutex_destroy(&office.mutex);

  libreta_free(customer_id);
  libreta_free(contact_id);
  libreta_free(foreign_id);
  if (failures > 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("c_api_test: every check passed\n");
  return 0;
}

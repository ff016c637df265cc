// anysnap_reseed.node: the native half of anysnap's Node.js reseed
// (anysnap-reseed.js). Node.js has no foreign-function interface, but its
// official binary exports OpenSSL's functions (for native addons), and a build
// linked to a shared libcrypto has them in the process too: this addon finds
// RAND_add with dlsym(RTLD_DEFAULT) and feeds it bytes from getrandom(2).
// OpenSSL then reseeds its primary generator (RAND_add is a reseed with
// additional input, and fetches fresh entropy of its own); every per-thread
// generator reseeds from the primary on its next use, as it sees the primary's
// reseed counter move.
//
// Exports:
//   reseed()        -> null when OpenSSL was reseeded, else a string saying
//                      why not (no RAND_add in this process, the kernel gave
//                      no bytes, the primary generator's reseed counter did
//                      not move).
//   reseedCounts()  -> [primary, public]: the reseed counters of OpenSSL 3's
//                      primary generator and of this thread's public one
//                      (-1 where they cannot be read). reseed() checks the
//                      first; tests observe both (the second moves when this
//                      thread draws after a reseed of the primary).
//
// Node-API is declared here rather than from node_api.h: the few functions
// used are part of Node-API's stable ABI, and no build package is needed. The
// library needs nothing from glibc newer than 2.34 (Lambda's).
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>

typedef struct napi_env__* napi_env;
typedef struct napi_value__* napi_value;
typedef struct napi_callback_info__* napi_callback_info;
typedef int napi_status;  // napi_ok is 0
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

extern napi_status napi_create_function(napi_env env, const char* name, size_t length,
                                        napi_callback cb, void* data, napi_value* result);
extern napi_status napi_set_named_property(napi_env env, napi_value object, const char* name,
                                           napi_value value);
extern napi_status napi_create_string_utf8(napi_env env, const char* str, size_t length,
                                           napi_value* result);
extern napi_status napi_create_double(napi_env env, double value, napi_value* result);
extern napi_status napi_get_null(napi_env env, napi_value* result);
extern napi_status napi_create_array_with_length(napi_env env, size_t length, napi_value* result);
extern napi_status napi_set_element(napi_env env, napi_value object, unsigned int index,
                                    napi_value value);

// OpenSSL 3's parameter record (openssl/core.h), a stable public layout.
typedef struct {
  const char* key;
  unsigned int data_type;
  void* data;
  size_t data_size;
  size_t return_size;
} OsslParam;
enum { kOsslParamUnsignedInteger = 2 };

typedef void (*RandAddFn)(const void* buf, int num, double randomness);
typedef void* (*RandGet0Fn)(void* libctx);
typedef int (*EvpRandCtxGetParamsFn)(void* ctx, OsslParam* params);

// The reseed counter of the generator RAND_get0_primary or RAND_get0_public
// (`getter`) gives, or -1.
static double ReseedCounter(const char* getter) {
  RandGet0Fn get = (RandGet0Fn)dlsym(RTLD_DEFAULT, getter);
  EvpRandCtxGetParamsFn get_params =
      (EvpRandCtxGetParamsFn)dlsym(RTLD_DEFAULT, "EVP_RAND_CTX_get_params");
  if (get == NULL || get_params == NULL) return -1;
  void* generator = get(NULL);
  if (generator == NULL) return -1;
  unsigned int counter = 0;
  OsslParam params[2] = {
      {"reseed_counter", kOsslParamUnsignedInteger, &counter, sizeof(counter), (size_t)-1},
      {NULL, 0, NULL, 0, 0},
  };
  if (get_params(generator, params) != 1 || params[0].return_size != sizeof(counter)) return -1;
  return (double)counter;
}

static napi_value String(napi_env env, const char* text) {
  napi_value value = NULL;
  napi_create_string_utf8(env, text, strlen(text), &value);
  return value;
}

static napi_value Reseed(napi_env env, napi_callback_info info) {
  (void)info;
  RandAddFn rand_add = (RandAddFn)dlsym(RTLD_DEFAULT, "RAND_add");
  if (rand_add == NULL) return String(env, "this node exports no OpenSSL RAND_add");
  unsigned char seed[48];
  size_t got = 0;
  while (got < sizeof(seed)) {
    ssize_t n = getrandom(seed + got, sizeof(seed) - got, 0);
    if (n <= 0) break;  // EINTR is retried; anything else ends the loop
    got += (size_t)n;
  }
  if (got < sizeof(seed)) return String(env, "getrandom gave too few bytes");
  const double before = ReseedCounter("RAND_get0_primary");
  rand_add(seed, (int)sizeof(seed), (double)sizeof(seed));
  explicit_bzero(seed, sizeof(seed));
  const double after = ReseedCounter("RAND_get0_primary");
  if (before >= 0 && after == before)
    return String(env, "RAND_add left the primary generator's reseed counter unchanged");
  napi_value null_value = NULL;
  napi_get_null(env, &null_value);
  return null_value;
}

static napi_value ReseedCounts(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value array = NULL;
  napi_create_array_with_length(env, 2, &array);
  const char* getters[2] = {"RAND_get0_primary", "RAND_get0_public"};
  for (unsigned int i = 0; i < 2; ++i) {
    napi_value value = NULL;
    napi_create_double(env, ReseedCounter(getters[i]), &value);
    napi_set_element(env, array, i, value);
  }
  return array;
}

__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env,
                                                                          napi_value exports) {
  napi_value fn = NULL;
  if (napi_create_function(env, "reseed", 6, Reseed, NULL, &fn) == 0)
    napi_set_named_property(env, exports, "reseed", fn);
  if (napi_create_function(env, "reseedCounts", 12, ReseedCounts, NULL, &fn) == 0)
    napi_set_named_property(env, exports, "reseedCounts", fn);
  return exports;
}

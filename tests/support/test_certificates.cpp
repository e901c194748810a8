#include "support/test_certificates.hpp"

#include <cstdint>
#include <stdexcept>
#include <utility>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace libreta::test {

namespace {

// A day is enough for any test run; starting an hour ago tolerates a clock a little behind.
constexpr long kValidBeforeNowSeconds = 3600;
constexpr long kValidAfterNowSeconds = 24 * 3600;

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertificateFree {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free_all(bio); }
};
struct BignumFree {
  void operator()(BIGNUM* number) const { BN_free(number); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Certificate = std::unique_ptr<X509, CertificateFree>;

[[noreturn]] void fail(const std::string& what) {
  std::string message = "test certificates: " + what;
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    message += ": ";
    message += text;
  }
  ERR_clear_error();
  throw std::runtime_error(message);
}

// P-256: fast to generate, which matters when every test makes its own keys.
Key new_key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) fail("cannot generate a key");
  return key;
}

struct Extension {
  int nid;
  std::string value;
};

// A version 3 certificate for `subject_key`, named `common_name`, signed by `issuer_key`;
// `issuer` null means self-signed. The extensions are added in order (the subject key
// identifier before the authority key identifier that may refer to it).
Certificate make_certificate(EVP_PKEY* subject_key, const std::string& common_name, X509* issuer,
                             EVP_PKEY* issuer_key, const std::vector<Extension>& extensions) {
  Certificate certificate(X509_new());
  if (!certificate) fail("cannot allocate a certificate");
  X509* x = certificate.get();
  if (X509_set_version(x, 2) != 1) fail("cannot set the version");

  std::unique_ptr<BIGNUM, BignumFree> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x))) {
    fail("cannot set a serial number");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(x), -kValidBeforeNowSeconds) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), kValidAfterNowSeconds)) {
    fail("cannot set the validity");
  }
  if (X509_set_pubkey(x, subject_key) != 1) fail("cannot set the public key");

  X509_NAME* name = X509_get_subject_name(x);
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("libreta tests"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    fail("cannot set the subject name");
  }
  if (X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1) {
    fail("cannot set the issuer name");
  }

  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer ? issuer : x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    if (!extension) fail("cannot make extension " + value);
    const int added = X509_add_ext(x, extension, -1);
    X509_EXTENSION_free(extension);
    if (added != 1) fail("cannot add extension " + value);
  }
  if (X509_sign(x, issuer_key, EVP_sha256()) == 0) fail("cannot sign the certificate");
  return certificate;
}

std::unique_ptr<BIO, BioFree> open_for_writing(const std::filesystem::path& file) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(file.c_str(), "w"));
  if (!bio) fail("cannot write " + file.string());
  return bio;
}

void write_certificate_file(X509* certificate, const std::filesystem::path& file) {
  auto bio = open_for_writing(file);
  if (PEM_write_bio_X509(bio.get(), certificate) != 1) fail("cannot write " + file.string());
}

void write_key_file(EVP_PKEY* key, const std::filesystem::path& file) {
  auto bio = open_for_writing(file);
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("cannot write " + file.string());
  }
}

}  // namespace

struct TestCertificateAuthority::Impl {
  Key key;
  Certificate certificate;
};

TestCertificateAuthority::TestCertificateAuthority(const std::string& name)
    : impl_(std::make_unique<Impl>()) {
  impl_->key = new_key();
  impl_->certificate = make_certificate(impl_->key.get(), name, nullptr, impl_->key.get(),
                                        {{NID_basic_constraints, "critical,CA:TRUE"},
                                         {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                         {NID_subject_key_identifier, "hash"},
                                         {NID_authority_key_identifier, "keyid:always"}});
}

TestCertificateAuthority::~TestCertificateAuthority() = default;

void TestCertificateAuthority::write_certificate(const std::filesystem::path& file) const {
  write_certificate_file(impl_->certificate.get(), file);
}

CertificateFiles TestCertificateAuthority::issue_server_certificate(
    const std::filesystem::path& dir, const std::string& stem,
    const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses) const {
  std::string alternative_names;
  for (const auto& dns : dns_names) {
    alternative_names += (alternative_names.empty() ? "DNS:" : ",DNS:") + dns;
  }
  for (const auto& ip : ip_addresses) {
    alternative_names += (alternative_names.empty() ? "IP:" : ",IP:") + ip;
  }
  if (alternative_names.empty()) fail("a server certificate needs a name or an address");

  Key key = new_key();
  const std::string common_name = dns_names.empty() ? ip_addresses.front() : dns_names.front();
  Certificate certificate =
      make_certificate(key.get(), common_name, impl_->certificate.get(), impl_->key.get(),
                       {{NID_basic_constraints, "critical,CA:FALSE"},
                        {NID_key_usage, "critical,digitalSignature"},
                        {NID_ext_key_usage, "serverAuth"},
                        {NID_subject_key_identifier, "hash"},
                        {NID_authority_key_identifier, "keyid"},
                        {NID_subject_alt_name, alternative_names}});

  CertificateFiles files{dir / (stem + ".crt"), dir / (stem + ".key")};
  write_certificate_file(certificate.get(), files.cert);
  write_key_file(key.get(), files.key);
  return files;
}

}  // namespace libreta::test

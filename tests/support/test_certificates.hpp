// Certificates made by the tests themselves (OpenSSL API): a throwaway certificate authority
// and server certificates it issues for the names and addresses a test needs, written as PEM
// files for the server's --tls-cert/--tls-key and the client's CA file.
// Not thread-safe: one test thread makes and uses them.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace libreta::test {

// A server's certificate and key as files.
struct CertificateFiles {
  std::filesystem::path cert;  // PEM: the leaf certificate
  std::filesystem::path key;   // PEM: its private key (unencrypted)
};

class TestCertificateAuthority {
 public:
  // A self-signed CA named `name` (P-256 key, valid from an hour ago for a day).
  explicit TestCertificateAuthority(const std::string& name);
  ~TestCertificateAuthority();
  TestCertificateAuthority(const TestCertificateAuthority&) = delete;
  TestCertificateAuthority& operator=(const TestCertificateAuthority&) = delete;

  // Writes the CA's certificate (what a client trusts) as PEM.
  void write_certificate(const std::filesystem::path& file) const;

  // Issues a server certificate whose subject alternative names are `dns_names` and
  // `ip_addresses` ("127.0.0.1"), and writes it and its new key into `dir` as
  // `<stem>.crt` and `<stem>.key`.
  CertificateFiles issue_server_certificate(const std::filesystem::path& dir,
                                            const std::string& stem,
                                            const std::vector<std::string>& dns_names,
                                            const std::vector<std::string>& ip_addresses) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace libreta::test

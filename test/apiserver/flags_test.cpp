#include "apiserver/flags.h"

#include <gtest/gtest.h>

namespace smi::apiserver {
namespace {

using namespace std::chrono_literals;

TEST(FlagsTest, ParsesBothForms) {
  const auto f = ParseFlags({"--prometheus-url=http://prom:9090", "--secure-port", "9443",
                             "--prometheus-timeout=2s", "--prometheus-insecure-skip-tls-verify"});
  EXPECT_EQ(f.prometheus_url, "http://prom:9090");
  EXPECT_EQ(f.secure_port, 9443);
  EXPECT_EQ(f.prometheus_timeout, 2s);
  EXPECT_TRUE(f.prometheus_insecure_skip_tls_verify);
  EXPECT_EQ(f.mesh, "linkerd");
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  auto message = [](std::vector<std::string> args) {
    try {
      ParseFlags(args);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({}).find("--prometheus-url is required"), std::string::npos);
  EXPECT_NE(message({"--prometheus-url=x", "--secure-port=http"}).find("--secure-port=http"),
            std::string::npos);
  EXPECT_NE(message({"--prometheus-url=x", "--bogus=1"}).find("unknown flag --bogus"),
            std::string::npos);
  EXPECT_NE(message({"--prometheus-url=x", "--mesh=consul"}).find("supported meshes"),
            std::string::npos);
  EXPECT_NE(message({"--prometheus-url=x", "--tls-cert-file=a"}).find("go together"),
            std::string::npos);
  EXPECT_NE(
      message({"--prometheus-url=x", "--prometheus-timeout=soon"}).find("--prometheus-timeout"),
      std::string::npos);
}

}  // namespace
}  // namespace smi::apiserver

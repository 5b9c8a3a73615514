// The commands against canned answers: what they ask, what they print, how they fail, and how a
// watch redraws and stops.
#include "plugin/traffic_command.h"

#include <gtest/gtest.h>

#include <sstream>

#include "fake_reader.h"

namespace smi::plugin {
namespace {

using nlohmann::json;
using testing::Edge;
using testing::FakeReader;
using testing::Item;
using testing::List;

struct Outcome {
  int code = 0;
  std::string out, err;
};

class CommandTest : public ::testing::Test {
 protected:
  Outcome Exec(std::vector<std::string> args) {
    std::ostringstream out, err;
    CommandContext ctx;
    ctx.reader = &reader_;
    ctx.default_namespace = "emojivoto";  // the kubeconfig context's
    ctx.out = &out;
    ctx.err = &err;
    ctx.command_line = "kubectl traffic";
    for (const auto& a : args) ctx.command_line += " " + a;
    ctx.wait_interval = [this](std::chrono::milliseconds interval) {
      waited_.push_back(interval);
      return static_cast<int>(waited_.size()) < frames_;
    };
    Outcome r;
    Invocation inv;
    try {
      inv = ParseInvocation(args);
    } catch (const UsageError& e) {
      r.code = -1;
      r.err = e.what();
      return r;
    }
    r.code = RunTrafficCommand(inv, ctx);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  FakeReader reader_;
  int frames_ = 1;
  std::vector<std::chrono::milliseconds> waited_;
};

TEST_F(CommandTest, TopAsksTheListOfTheContextsNamespace) {
  reader_.Answer("/namespaces/emojivoto/pods", List({Item("Pod", "emojivoto", "web-1", 297, 3),
                                                     Item("Pod", "emojivoto", "idle", 0, 0)}));
  const Outcome r = Exec({"top", "pods"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAME      SUCCESS   RPS       LATENCY_P50   LATENCY_P90   LATENCY_P99\n"
            "web-1     99.00%    10.0rps   15ms          45ms          90ms\n"
            "idle      -         -         -             -             -\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(reader_.asked, (std::vector<std::string>{"/namespaces/emojivoto/pods"}));
}

TEST_F(CommandTest, TopPathsForEveryShape) {
  reader_.Answer("/pods", List({Item("Pod", "a", "x", 1, 0)}));
  reader_.Answer("/namespaces", List({Item("Namespace", "", "a", 1, 0)}));
  reader_.Answer("/namespaces/b/deployments/web", Item("Deployment", "b", "web", 1, 0));
  reader_.Answer("/namespaces/a/deployments?window=60s&labelSelector=app%20in%20%28a%2Cb%29",
                 List({Item("Deployment", "a", "x", 1, 0, nullptr, "1m0s")}));
  EXPECT_EQ(Exec({"top", "po", "-A"}).out.rfind("NAMESPACE   NAME ", 0), 0u);
  EXPECT_EQ(Exec({"top", "ns", "-n", "ignored"}).code, 0);
  EXPECT_EQ(Exec({"top", "deploy", "web", "-n", "b"}).code, 0);
  const Outcome r = Exec({"top", "deployments", "-n", "a", "--window", "1m", "-l", "app in (a,b)"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // the window answered is the one asked: no warning
  EXPECT_EQ(reader_.asked,
            (std::vector<std::string>{
                "/pods", "/namespaces", "/namespaces/b/deployments/web",
                "/namespaces/a/deployments?window=60s&labelSelector=app%20in%20%28a%2Cb%29"}));
}

TEST_F(CommandTest, TopSortsAndWarnsAboutAnIgnoredWindow) {
  reader_.Answer(
      "/namespaces/emojivoto/pods?window=10s",
      List({Item("Pod", "emojivoto", "slow", 30, 0), Item("Pod", "emojivoto", "busy", 300, 0)}));
  const Outcome r = Exec({"top", "pods", "--window=10s", "--sort-by", "rps"});
  EXPECT_EQ(r.out.substr(r.out.find('\n') + 1, 4), "busy");
  EXPECT_EQ(
      r.err,
      "Warning: the server answered for a window of 30s, not 10s (it may not support ?window=)\n");
}

TEST_F(CommandTest, JsonAndYamlPassTheAnswerThrough) {
  const json list = List({Item("Pod", "emojivoto", "web-1", 297, 3)});
  reader_.Answer("/namespaces/emojivoto/pods", list);
  EXPECT_EQ(json::parse(Exec({"top", "pods", "-o", "json"}).out), list);
  const std::string yaml = Exec({"top", "pods", "-o", "yaml"}).out;
  EXPECT_EQ(yaml.rfind("apiVersion: metrics.smi-spec.io/v1alpha1\nitems:\n- apiVersion:", 0), 0u)
      << yaml;
}

TEST_F(CommandTest, EmptyListsSaySoLikeKubectl) {
  reader_.Answer("/namespaces/emojivoto/pods", List({}));
  reader_.Answer("/pods", List({}));
  const Outcome r = Exec({"top", "pods"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "No resources found in emojivoto namespace.\n");
  EXPECT_EQ(Exec({"top", "pods", "-A"}).err, "No resources found.\n");
}

TEST_F(CommandTest, ServerErrorsAreKubectlsLines) {
  reader_.Fail(
      "/namespaces/emojivoto/deployments/missing",
      "Error from server (NotFound): deployments.metrics.smi-spec.io \"missing\" not found");
  const Outcome r = Exec({"top", "deploy", "missing"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(
      r.err,
      "Error from server (NotFound): deployments.metrics.smi-spec.io \"missing\" not found\n");
}

TEST_F(CommandTest, AnswersThatAreNotTrafficMetricsAreNamed) {
  reader_.Answer("/namespaces/emojivoto/pods", json{{"kind", "Status"}});
  const Outcome r = Exec({"top", "pods"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: the server's answer to GET /namespaces/emojivoto/pods is not what the SMI "
            "Traffic Metrics API specifies: expected a TrafficMetricsList, got kind Status\n");
}

TEST_F(CommandTest, UsageErrors) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"top"},
                                             {"top", "services"},
                                             {"top", "pods", "a", "b"},
                                             {"top", "pods", "x", "-A"},
                                             {"top", "pods", "x", "-l", "a=b"},
                                             {"top", "pods", "-o", "table"},
                                             {"edges"},
                                             {"edges", "deploy"},
                                             {"edges", "deploy/"},
                                             {"edges", "deploy/web", "-A"},
                                             {"edges", "deploy/web", "-l", "a=b"},
                                             {"topology", "pods", "deployments"},
                                             {"topology", "-o", "json"}}) {
    const Outcome r = Exec(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("\nSee 'kubectl traffic --help' for usage.\n"), std::string::npos);
  }
  EXPECT_TRUE(reader_.asked.empty());  // nothing was asked for a command that cannot run
  EXPECT_EQ(Exec({"top", "pods", "-o", "table"}).err,
            "error: unable to match a printer suitable for the output format \"table\", allowed "
            "formats are: json,wide,yaml\nSee 'kubectl traffic --help' for usage.\n");
}

TEST_F(CommandTest, EdgesOfOneObject) {
  reader_.Answer("/namespaces/emojivoto/deployments/web/edges",
                 List({Item("Deployment", "emojivoto", "web", 597, 3,
                            Edge("to", "client", "Deployment", "emojivoto", "emoji")),
                       Item("Deployment", "emojivoto", "web", 297, 3,
                            Edge("from", "client", "Deployment", "emojivoto", "vote-bot"))}));
  reader_.Answer("/namespaces/identity/edges", List({}));
  const Outcome r = Exec({"edges", "deploy/web", "-o", "wide"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "DIRECTION   PEER                            SIDE      SUCCESS   RPS       LATENCY_P50   "
      "LATENCY_P90   LATENCY_P99   SUCCESS_COUNT   FAILURE_COUNT   WINDOW\n"
      "to          deployment/emojivoto/emoji      client    99.50%    20.0rps   15ms          "
      "45ms          90ms          597             3               30s\n"
      "from        deployment/emojivoto/vote-bot   client    99.00%    10.0rps   15ms          "
      "45ms          90ms          297             3               30s\n");
  EXPECT_EQ(Exec({"edges", "deployments", "web"}).out.substr(0, 9), "DIRECTION");
  const Outcome none = Exec({"edges", "ns/identity"});
  EXPECT_EQ(none.err,
            "No edges found for namespaces/identity: no traffic to or from it in the window.\n");
}

TEST_F(CommandTest, TopologyAsksTheListThenEveryObjectsEdges) {
  reader_.Answer("/namespaces/emojivoto/deployments",
                 List({Item("Deployment", "emojivoto", "vote-bot", 0, 0),
                       Item("Deployment", "emojivoto", "web", 297, 3)}));
  reader_.Answer("/namespaces/emojivoto/deployments/vote-bot/edges",
                 List({Item("Deployment", "emojivoto", "vote-bot", 297, 3,
                            Edge("to", "client", "Deployment", "emojivoto", "web"))}));
  reader_.Answer("/namespaces/emojivoto/deployments/web/edges",
                 List({Item("Deployment", "emojivoto", "web", 297, 3,
                            Edge("from", "client", "Deployment", "emojivoto", "vote-bot"))}));
  const Outcome r = Exec({"topology"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "+----------+\n"
            "| vote-bot |\n"
            "+-----+----+\n"
            "      |\n"
            "   10.0rps\n"
            "    99.00%\n"
            "      v\n"
            "   +--+--+\n"
            "   | web |\n"
            "   +-----+\n");
  EXPECT_EQ(reader_.asked,
            (std::vector<std::string>{"/namespaces/emojivoto/deployments",
                                      "/namespaces/emojivoto/deployments/vote-bot/edges",
                                      "/namespaces/emojivoto/deployments/web/edges"}));
  const Outcome table = Exec({"topology", "-o", "table"});
  EXPECT_EQ(table.out,
            "FROM       TO        SUCCESS   RPS       LATENCY_P50   LATENCY_P90   LATENCY_P99\n"
            "vote-bot   web       99.00%    10.0rps   15ms          45ms          90ms\n");
  const Outcome dot = Exec({"topology", "-o", "dot"});
  EXPECT_NE(
      dot.out.find("label=\"deployments in emojivoto, window 30s, at 2024-05-01T12:00:00Z\";"),
      std::string::npos)
      << dot.out;
}

TEST_F(CommandTest, WatchRedrawsUntilStopped) {
  frames_ = 3;
  reader_.Answer("/namespaces/emojivoto/pods", List({Item("Pod", "emojivoto", "web-1", 297, 3)}));
  const Outcome r = Exec({"top", "pods", "--watch=5s"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(waited_, std::vector<std::chrono::milliseconds>(3, std::chrono::seconds(5)));
  const std::string frame =
      "Every 5s: kubectl traffic top pods --watch=5s    window 30s at 2024-05-01T12:00:00Z\n\n"
      "NAME      SUCCESS   RPS       LATENCY_P50   LATENCY_P90   LATENCY_P99\n"
      "web-1     99.00%    10.0rps   15ms          45ms          90ms\n\n";
  EXPECT_EQ(r.out, frame + frame + frame);  // not a terminal: frames one after the other
}

TEST_F(CommandTest, WatchFailsOnlyOnItsFirstAnswer) {
  reader_.Fail("/namespaces/emojivoto/pods", "Unable to connect to the server: refused");
  const Outcome first = Exec({"top", "pods", "-w"});
  EXPECT_EQ(first.code, 1);
  EXPECT_EQ(first.err, "Unable to connect to the server: refused\n");
  EXPECT_EQ(first.out, "");
}

}  // namespace
}  // namespace smi::plugin

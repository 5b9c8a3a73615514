// The command line: kubectl's flag spellings, the commands and their arguments.
#include "plugin/invocation.h"

#include <gtest/gtest.h>

namespace smi::plugin {
namespace {

Invocation Parse(std::vector<std::string> args) { return ParseInvocation(args); }

TEST(Invocation, KubectlFlagSpellings) {
  const auto inv = Parse({"top", "pods", "-nemojivoto", "--kubeconfig=/k", "--context", "c1", "-l",
                          "app=web", "-owide", "--window", "1m", "--sort-by=rps"});
  EXPECT_EQ(inv.command, Command::kTop);
  EXPECT_EQ(inv.args, (std::vector<std::string>{"pods"}));
  EXPECT_EQ(inv.ns, "emojivoto");
  EXPECT_EQ(inv.kubeconfig, "/k");
  EXPECT_EQ(inv.context, "c1");
  EXPECT_EQ(inv.selector, "app=web");
  EXPECT_EQ(inv.output, "wide");
  EXPECT_EQ(inv.window, std::chrono::minutes(1));
  EXPECT_EQ(inv.sort_by, SortKey::kRps);
  EXPECT_FALSE(inv.watch.has_value());
  EXPECT_EQ(Parse({"top", "ns", "--namespace=x"}).ns, "x");
  EXPECT_EQ(Parse({"top", "ns", "-n", "x"}).ns, "x");
  EXPECT_TRUE(Parse({"top", "pods", "-A"}).all_namespaces);
  EXPECT_TRUE(Parse({"-A", "top", "pods"}).all_namespaces);  // flags anywhere
  EXPECT_FALSE(Parse({"top", "pods", "--all-namespaces=false"}).all_namespaces);
}

TEST(Invocation, WatchTakesAnOptionalInterval) {
  EXPECT_EQ(Parse({"top", "pods", "--watch"}).watch, kDefaultWatchInterval);
  EXPECT_EQ(Parse({"top", "pods", "-w"}).watch, kDefaultWatchInterval);
  EXPECT_EQ(Parse({"top", "pods", "--watch=5s"}).watch, std::chrono::seconds(5));
  EXPECT_EQ(Parse({"top", "pods", "--watch", "5s"}).watch, std::chrono::seconds(5));
  const auto inv = Parse({"top", "--watch", "pods", "web"});  // "pods" is no duration
  EXPECT_EQ(inv.watch, kDefaultWatchInterval);
  EXPECT_EQ(inv.args, (std::vector<std::string>{"pods", "web"}));
  EXPECT_THROW(Parse({"top", "pods", "--watch=0s"}), UsageError);
  EXPECT_THROW(Parse({"top", "pods", "--watch=soon"}), UsageError);
}

TEST(Invocation, HelpAndErrors) {
  EXPECT_EQ(Parse({}).command, Command::kHelp);
  EXPECT_EQ(Parse({"--help"}).command, Command::kHelp);
  const auto inv = Parse({"topology", "-h"});
  EXPECT_EQ(inv.command, Command::kHelp);
  EXPECT_EQ(inv.help_for, Command::kTopology);
  EXPECT_EQ(Parse({"help", "edges"}).help_for, Command::kEdges);
  EXPECT_THROW(Parse({"frobnicate"}), UsageError);
  EXPECT_THROW(Parse({"top", "pods", "--bogus"}), UsageError);
  EXPECT_THROW(Parse({"top", "pods", "-n"}), UsageError);
  EXPECT_THROW(Parse({"top", "pods", "--window", "-1s"}), UsageError);
  EXPECT_THROW(Parse({"top", "pods", "--sort-by", "color"}), UsageError);
  try {
    Parse({"top", "pods", "--bogus"});
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "unknown flag: --bogus");
  }
  EXPECT_NE(HelpText(Command::kTopology).find("dot (Graphviz)"), std::string::npos);
  EXPECT_NE(HelpText().find("kubectl traffic COMMAND"), std::string::npos);
}

TEST(Invocation, KindsAsKubectlNamesThem) {
  EXPECT_EQ(ResolveKind("po").plural, "pods");
  EXPECT_EQ(ResolveKind("Deploy").plural, "deployments");
  EXPECT_EQ(ResolveKind("deployments.metrics.smi-spec.io").kind, "Deployment");
  EXPECT_EQ(ResolveKind("sts").kind, "StatefulSet");
  EXPECT_EQ(ResolveKind("ds").kind, "DaemonSet");
  EXPECT_FALSE(ResolveKind("ns").namespaced);
  EXPECT_THROW(ResolveKind("services"), UsageError);
  EXPECT_THROW(ResolveKind("deployments.apps"), UsageError);
}

}  // namespace
}  // namespace smi::plugin

#include "sources/sidecars/sidecar_source.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <iostream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <prometheus/gauge.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "model/duration.h"
#include "sources/prometheus/answer_decoding.h"
#include "sources/prometheus/promql_builder.h"
#include "sources/sidecars/promql_eval.h"
#include "sources/sidecars/scraper.h"
#include "sources/sidecars/series_store.h"
#include "sources/sidecars/targets.h"

namespace smi::sources::sidecars {

namespace asio = boost::asio;

namespace {

// The series the profile's queries read: the two metrics, the existence metrics and `up`.
Retained RetainedOf(const prometheus::MeshProfileSpec& spec) {
  std::set<std::string> names = {spec.requests_metric, spec.latency_bucket_metric};
  for (const auto& e : spec.existence) {
    if (e.metric != "up") names.insert(e.metric);
  }
  names.erase("up");  // the store makes `up` itself
  return Retained{{names.begin(), names.end()}};
}

// How much nicer than the process the scraping thread runs (at 10,000 pods a GET's p99 was
// about 6.5 ms with the scraping thread at the process' own priority, about 4 ms at +5 or +10).
constexpr int kScrapeNice = 5;

// At most how often the store is compacted and its memory figures refreshed (at least once per
// interval when that is longer).
constexpr std::chrono::milliseconds kCompactionPeriod{30000};

int64_t ToMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

void Log(const std::string& line) { std::cerr << "smi-metrics-server: " << line << "\n"; }

}  // namespace

struct SidecarSource::Impl : std::enable_shared_from_this<Impl> {
  Impl(const kube::ClusterState& c, prometheus::MeshProfile p, SidecarOptions o,
       const base::Clock& clk)
      : cluster(c),
        profile(std::move(p)),
        options(std::move(o)),
        clock(clk),
        job(profile.spec().parameters.contains("job") ? profile.spec().parameters.at("job")
                                                      : std::string()),
        // The store keeps more than the longest window served: a window ends a little in the past
        // (the evaluation delay) and its first sample may be up to an interval before its start.
        store(options.retention + 2 * options.interval + std::chrono::seconds(10),
              RetainedOf(profile.spec())) {}

  // Scraping's own event loop, run by one thread (Start to Stop). A concurrency hint of 1 lets
  // Asio keep handlers posted from that thread in a private queue, without locks or wake-ups.
  // First, so that it is destroyed last: the timer, the scraper's sockets and the handlers
  // queued on it all belong to it.
  boost::asio::io_context io{1};
  std::thread thread;

  const kube::ClusterState& cluster;
  const prometheus::MeshProfile profile;
  const SidecarOptions options;
  const base::Clock& clock;
  const std::string job;
  SeriesStore store;

  std::unique_ptr<Scraper> scraper;
  std::unique_ptr<asio::steady_timer> discovery_timer;

  // Held across a whole ingest, so that a target removed by discovery gets no sample after its
  // removal.
  std::mutex mu;                                    // guards the members below
  std::unordered_map<std::string, Target> targets;  // by id (looked up once per scrape)
  uint64_t seen_version = 0;
  int64_t last_compaction_ms = 0;
  std::set<std::string> failing;         // targets whose last payload did not parse (logged once)
  std::atomic<bool> discovered = false;  // targets computed from a synced cache at least once
  std::atomic<bool> stopped = false;

  ::prometheus::Gauge* store_series = nullptr;
  ::prometheus::Gauge* store_samples = nullptr;
  ::prometheus::Gauge* store_bytes = nullptr;
  ::prometheus::Gauge* store_targets = nullptr;

  long Ingest(const ScrapeTarget& t, const ScrapeOutcome& outcome) {
    std::lock_guard lock(mu);
    auto it = targets.find(t.id);
    if (it == targets.end() || !(it->second.scrape == t)) return 0;  // removed meanwhile
    const LabelSet& labels = it->second.labels;
    if (!outcome.ok) {
      store.IngestFailure(t.id, labels, outcome.t_ms);
      return 0;
    }
    const IngestResult r = store.Ingest(t.id, labels, outcome.t_ms, outcome.body);
    if (!r.ok) {
      if (failing.insert(t.id).second) {
        Log("sidecar " + t.id + " (http://" + t.host + ":" + std::to_string(t.port) + t.path +
            "): its metrics do not parse: " + r.error + "; its series are stale until it recovers");
      }
      return -1;
    }
    failing.erase(t.id);
    return static_cast<long>(r.series_kept);
  }

  // Compares the pod caches with the targets; schedules itself again.
  void Discover() {
    const auto snapshot = cluster.Snapshot();
    std::vector<ScrapeTarget> scrape;
    bool changed = false;
    const int64_t now_ms = ToMs(clock.Now());
    if (cluster.Synced() && snapshot) {
      std::lock_guard lock(mu);
      if (!discovered || snapshot->version() != seen_version) {
        std::vector<Target> next = MeshedTargets(*profile.spec().sidecars, job, *snapshot);
        std::unordered_map<std::string, Target> by_id;
        for (auto& t : next) by_id.emplace(t.scrape.id, std::move(t));
        for (const auto& [id, old] : targets) {
          auto it = by_id.find(id);
          if (it == by_id.end() || !(it->second == old)) store.RemoveTarget(id, now_ms);
        }
        changed = !discovered || by_id != targets;
        targets = std::move(by_id);
        seen_version = snapshot->version();
        for (const auto& [id, t] : targets) scrape.push_back(t.scrape);
      }
      // Scrapes drop their targets' old samples themselves: compaction is for the targets no
      // longer scraped and for returning memory. A pass over every series of every target (and
      // the memory figures after it) at every interval was 5% of the scraping thread's CPU.
      if (now_ms - last_compaction_ms >= std::max(options.interval, kCompactionPeriod).count()) {
        last_compaction_ms = now_ms;
        store.Compact(now_ms);
        const SeriesStore::Stats stats = store.GetStats();
        store_series->Set(static_cast<double>(stats.series));
        store_samples->Set(static_cast<double>(stats.samples));
        store_bytes->Set(static_cast<double>(stats.bytes));
        store_targets->Set(static_cast<double>(stats.targets));
      }
    }
    if (changed) {
      scraper->SetTargets(std::move(scrape));
      discovered = true;  // only now: readiness then waits for a round over these targets
    }
    discovery_timer->expires_after(options.discovery_period);
    discovery_timer->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) {
        {
          std::lock_guard lock(self->mu);
          if (self->stopped) return;
        }
        self->Discover();
      }
    });
  }
};

SidecarSource::SidecarSource(const kube::ClusterState& cluster, prometheus::MeshProfile profile,
                             SidecarOptions options, const base::Clock& clock) {
  if (!profile.spec().sidecars) {
    throw std::invalid_argument("the " + profile.name() +
                                " mesh profile has no `sidecars` section: it cannot be used to "
                                "scrape the proxies directly (use --source=prometheus)");
  }
  if (options.interval < std::chrono::seconds(1)) {
    throw std::invalid_argument("the sidecar scrape interval must be at least 1s");
  }
  if (options.retention < 2 * options.interval || options.retention > kMaxSidecarRetention) {
    throw std::invalid_argument("the sidecar retention must be at least two scrape intervals (" +
                                model::FormatGoDuration(2 * options.interval) + ") and at most 1h");
  }
  if (options.timeout.count() == 0) {
    options.timeout = std::min(options.interval, std::chrono::milliseconds(10000));
  }
  if (options.timeout > options.interval) {
    throw std::invalid_argument("the sidecar scrape timeout must not exceed the interval");
  }
  if (!options.registry) options.registry = std::make_shared<::prometheus::Registry>();
  impl_ = std::make_shared<Impl>(cluster, std::move(profile), std::move(options), clock);
  auto& reg = *impl_->options.registry;
  auto& store_family = ::prometheus::BuildGauge()
                           .Name("smi_sidecar_store")
                           .Help("What the sidecar source holds in memory, by what")
                           .Register(reg);
  impl_->store_series = &store_family.Add({{"what", "series"}});
  impl_->store_samples = &store_family.Add({{"what", "samples"}});
  impl_->store_bytes = &store_family.Add({{"what", "bytes"}});
  impl_->store_targets = &store_family.Add({{"what", "targets"}});
}

SidecarSource::~SidecarSource() { Stop(); }

void SidecarSource::Start() {
  auto& s = *impl_;
  if (s.thread.joinable() || s.stopped) return;
  asio::io_context& io = s.io;
  ScraperOptions so;
  so.interval = s.options.interval;
  so.timeout = s.options.timeout;
  so.max_body_bytes = s.options.max_body_bytes;
  so.max_concurrent = s.options.max_concurrent;
  so.registry = s.options.registry;
  std::weak_ptr<Impl> weak = impl_;
  s.scraper = std::make_unique<Scraper>(
      io, so,
      [weak](const ScrapeTarget& t, const ScrapeOutcome& o) -> long {
        auto self = weak.lock();
        return self ? self->Ingest(t, o) : 0;
      },
      s.clock);
  s.discovery_timer = std::make_unique<asio::steady_timer>(io);
  asio::post(io, [weak] {
    if (auto self = weak.lock()) self->Discover();
  });
  s.thread = std::thread([&io] {
    pthread_setname_np(pthread_self(), "smi-scrape");
    // Scraping is background work: when the CPU is contended, a request's threads go first.
    // (On Linux a nice value belongs to a thread; raising one's own needs no privilege.)
    const id_t self = static_cast<id_t>(gettid());
    errno = 0;
    const int nice = getpriority(PRIO_PROCESS, self);
    if (errno == 0) setpriority(PRIO_PROCESS, self, std::min(nice + kScrapeNice, 19));
    // Runs until Stop: the work guard keeps it going while no timer or socket is armed.
    auto work = asio::make_work_guard(io);
    io.run();
  });
}

void SidecarSource::Stop() {
  auto& s = *impl_;
  if (s.stopped.exchange(true)) return;
  if (s.scraper) s.scraper->Stop();
  s.io.stop();
  if (s.thread.joinable()) s.thread.join();
  // No thread runs the loop any more: its objects may be touched from here.
  if (s.discovery_timer) s.discovery_timer->cancel();
}

TrafficSamples SidecarSource::Fetch(const SampleQuery& query) {
  auto& s = *impl_;
  std::string why;
  if (!Ready(&why)) throw SourceUnavailable(why);
  const prometheus::ProfileQueries queries = prometheus::BuildQueries(s.profile, query);
  const int64_t at_ms = ToMs(query.at);
  const auto counts = Evaluate(*ParseQuery(queries.counts), s.store, at_ms);
  const auto buckets = Evaluate(*ParseQuery(queries.buckets), s.store, at_ms);
  TrafficSamples out = prometheus::ToSamples(s.profile, query, counts, buckets);
  out.evaluated_at = query.at;
  return out;
}

bool SidecarSource::Ready(std::string* why) {
  auto& s = *impl_;
  if (!s.discovered) {
    if (why) *why = "sidecar source: the pod caches have not synced yet, so no proxy is scraped";
    return false;
  }
  if (!s.scraper || !s.scraper->RoundComplete()) {
    if (why) {
      *why =
          "sidecar source: the first round of scrapes of every meshed pod has not completed "
          "(interval " +
          model::FormatGoDuration(s.options.interval) + ")";
    }
    return false;
  }
  return true;
}

std::optional<std::chrono::milliseconds> SidecarSource::Retention() const {
  return impl_->options.retention;
}

std::string SidecarSource::RetentionHint() const {
  return "sidecar mode keeps --sidecar-retention of history; raise it (at most 1h) for longer "
         "windows";
}

std::optional<std::chrono::milliseconds> SidecarSource::ScrapeInterval() const {
  return impl_->options.interval;
}

std::string SidecarSource::ScrapeIntervalOrigin() const {
  return "this server scrapes them every --sidecar-interval";
}

bool SidecarSource::PodEdgesNamePeerPods() const { return impl_->profile.PodEdgesNamePeerPods(); }

bool SidecarSource::SeriesNameWorkloads(ResourceKind kind) const {
  return impl_->profile.SeriesNameWorkloads(kind);
}

const std::shared_ptr<::prometheus::Registry>& SidecarSource::metrics_registry() const {
  return impl_->options.registry;
}

}  // namespace smi::sources::sidecars

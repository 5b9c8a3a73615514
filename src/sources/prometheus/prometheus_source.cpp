#include "sources/prometheus/prometheus_source.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <future>
#include <stdexcept>
#include <utility>

#include "sources/prometheus/answer_decoding.h"
#include "sources/prometheus/promql_builder.h"
#include "sources/prometheus/scrape_interval.h"

namespace smi::sources::prometheus {
namespace {

QueryCoalescer<QueryResult>::Hooks Hooks(const PrometheusClient& client) {
  QueryCoalescer<QueryResult>::Hooks hooks;
  // A partial answer (Thanos, Mimir) says so in warnings: pass it on, but ask again next time.
  hooks.cacheable = [](const QueryResult& r) { return r.warnings.empty(); };
  hooks.weight = [](const QueryResult& r) { return r.samples.size(); };
  hooks.has_warnings = [](const QueryResult& r) { return !r.warnings.empty(); };
  hooks.error_reason = [](std::exception_ptr error) -> std::string {
    try {
      std::rethrow_exception(error);
    } catch (const QueryError& e) {
      return std::string(ReasonLabel(e.reason()));
    } catch (...) {
      return "internal";
    }
  };
  hooks.wait_timeout = [&client] { return std::make_exception_ptr(client.TimeoutError()); };
  return hooks;
}

}  // namespace

PrometheusSource::PrometheusSource(std::unique_ptr<PrometheusClient> client, MeshProfile profile,
                                   SourceOptions options, const base::Clock& clock)
    : client_(client ? std::move(client)
                     : throw std::invalid_argument("PrometheusSource needs a client")),
      profile_(std::move(profile)),
      metrics_(std::make_shared<SourceMetrics>(std::move(options.registry))),
      coalescer_(options.cache, metrics_, Hooks(*client_), clock),
      clock_(clock),
      query_pool_(std::make_unique<boost::asio::thread_pool>(
          static_cast<size_t>(std::max(1, options.query_threads)))) {}

PrometheusSource::~PrometheusSource() { query_pool_->join(); }

PrometheusSource::PrometheusSource(ClientOptions options, MeshProfile profile,
                                   SourceOptions source_options, const base::Clock& clock)
    : PrometheusSource(std::make_unique<PrometheusClient>(std::move(options)), std::move(profile),
                       std::move(source_options), clock) {}

TrafficSamples PrometheusSource::Fetch(const SampleQuery& query) {
  const ProfileQueries queries = BuildQueries(profile_, query);
  const TimePoint at = std::chrono::floor<std::chrono::seconds>(query.at);
  // Joining an identical query in flight waits no longer than asking would have. Real time: it
  // bounds a real wait.
  const auto deadline = std::chrono::steady_clock::now() + client_->timeout();
  const auto upstream = [this](const std::string& promql, TimePoint when) {
    return client_->Query(promql, when);
  };
  uint64_t counts_id = 0, buckets_id = 0;
  auto ask = [&](const std::string& promql, uint64_t* id) {
    return coalescer_.Get(promql, at, deadline, upstream, id);
  };
  // Both answers are usually cached (a burst of requests shares its evaluation second): then
  // no other thread is involved. Otherwise the latency query runs on the source's query pool
  // while this thread asks for the counts, so a request waits for the slower of the two, not
  // their sum, and no thread is created per request.
  std::shared_ptr<const QueryResult> bucket_result =
      coalescer_.Cached(queries.buckets, at, &buckets_id);
  std::future<std::shared_ptr<const QueryResult>> buckets;
  if (!bucket_result) {
    auto task = std::make_shared<std::packaged_task<std::shared_ptr<const QueryResult>()>>(
        [&] { return ask(queries.buckets, &buckets_id); });
    buckets = task->get_future();
    boost::asio::post(*query_pool_, [task] { (*task)(); });
  }
  std::shared_ptr<const QueryResult> counts;
  try {
    counts = ask(queries.counts, &counts_id);
  } catch (...) {
    if (buckets.valid())
      buckets.wait();  // never leave the other query running against
                       // references that go away
    throw;
  }
  if (!bucket_result) bucket_result = buckets.get();

  TrafficSamples out = ToSamples(profile_, query, counts->samples, bucket_result->samples);
  out.evaluated_at = at;
  std::vector<std::string> warnings = counts->warnings;
  for (const auto& w : bucket_result->warnings) {
    if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
  }
  warnings.insert(warnings.end(), out.warnings.begin(), out.warnings.end());
  out.warnings = std::move(warnings);
  out.answers = {{queries.counts, at, counts_id}, {queries.buckets, at, buckets_id}};
  return out;
}

bool PrometheusSource::StillAnswers(const std::vector<SourceAnswer>& answers) {
  for (const auto& a : answers) {
    if (!coalescer_.Holds(a.question, a.at, a.id)) return false;
  }
  return true;
}

bool PrometheusSource::Ready(std::string* why) { return client_->Ready(why); }

std::optional<std::chrono::milliseconds> PrometheusSource::Retention() const {
  std::lock_guard lock(retention_mu_);
  if (retention_known_) return retention_;
  try {
    retention_ = client_->Retention();
    retention_known_ = true;
  } catch (const SourceUnavailable&) {
    return std::nullopt;  // unknown for now; asked again next time
  }
  return retention_;
}

std::optional<std::chrono::milliseconds> PrometheusSource::ScrapeInterval() const {
  using namespace std::chrono_literals;
  std::lock_guard lock(interval_mu_);
  const auto now = clock_.Monotonic();
  if (interval_next_ask_ && now < *interval_next_ask_) return interval_;
  // Known: asked again in 10 minutes (scrape configurations change). Not known from an answer (no
  // series old enough yet): when the lookback has passed again. The backend failing: in a minute.
  std::chrono::milliseconds again = kScrapeIntervalLookback;
  try {
    const auto answer = client_->Query(ScrapeIntervalQuery(profile_),
                                       std::chrono::floor<std::chrono::seconds>(clock_.Now()));
    interval_ = ScrapeIntervalFromAnswer(answer.samples);
    if (interval_) again = 10min;
  } catch (const SourceUnavailable&) {
    again = 1min;  // the request itself will say what is wrong with the backend
  } catch (const std::invalid_argument&) {
    interval_.reset();  // a profile without existence series: never known
  }
  interval_next_ask_ = now + again;
  return interval_;
}

std::string PrometheusSource::ScrapeIntervalOrigin() const {
  return "as the samples of their series in Prometheus are spaced";
}

}  // namespace smi::sources::prometheus

// The scraper's health metrics (the list is in scraper.h), declared in one place.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace smi::sources::sidecars {

struct ScrapeMetrics {
  explicit ScrapeMetrics(::prometheus::Registry& registry);

  // Per target (label `target`, and `cause` for errors).
  ::prometheus::Family<::prometheus::Gauge>& last_success;
  ::prometheus::Family<::prometheus::Gauge>& duration;
  ::prometheus::Family<::prometheus::Gauge>& series;
  ::prometheus::Family<::prometheus::Counter>& errors;
  // Totals.
  ::prometheus::Family<::prometheus::Counter>& scrapes;
  ::prometheus::Counter& success;
  ::prometheus::Counter& error;
  ::prometheus::Counter& skipped;
  ::prometheus::Gauge& in_flight;
  ::prometheus::Gauge& targets;
};

}  // namespace smi::sources::sidecars

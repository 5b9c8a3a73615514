#include "sources/sidecars/scrape_metrics.h"

namespace smi::sources::sidecars {

ScrapeMetrics::ScrapeMetrics(::prometheus::Registry& r)
    : last_success(::prometheus::BuildGauge()
                       .Name("smi_sidecar_scrape_last_success_timestamp_seconds")
                       .Help("Start (Unix time) of the target's last successful scrape")
                       .Register(r)),
      duration(::prometheus::BuildGauge()
                   .Name("smi_sidecar_scrape_duration_seconds")
                   .Help("How long the target's last scrape took")
                   .Register(r)),
      series(::prometheus::BuildGauge()
                 .Name("smi_sidecar_scrape_series")
                 .Help("Series kept from the target's last scrape")
                 .Register(r)),
      errors(::prometheus::BuildCounter()
                 .Name("smi_sidecar_scrape_errors_total")
                 .Help("Failed scrapes of the target, by cause")
                 .Register(r)),
      scrapes(::prometheus::BuildCounter()
                  .Name("smi_sidecar_scrapes_total")
                  .Help("Scrapes of every target: success, error, or skipped (due while the "
                        "target's previous scrape had not ended)")
                  .Register(r)),
      success(scrapes.Add({{"result", "success"}})),
      error(scrapes.Add({{"result", "error"}})),
      skipped(scrapes.Add({{"result", "skipped"}})),
      in_flight(::prometheus::BuildGauge()
                    .Name("smi_sidecar_scrapes_in_flight")
                    .Help("Scrapes holding one of the concurrency slots")
                    .Register(r)
                    .Add({})),
      targets(::prometheus::BuildGauge()
                  .Name("smi_sidecar_targets")
                  .Help("Targets being scraped")
                  .Register(r)
                  .Add({})) {}

}  // namespace smi::sources::sidecars

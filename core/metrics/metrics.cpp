#include "core/metrics/metrics.hpp"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

namespace redrive::metrics {

Registry::Registry(const BuildInfo& build) : registry_(std::make_shared<prometheus::Registry>()) {
  // The usual *_build_info idiom: constant 1, information in the labels, so a query can
  // join it onto any series (e.g. to see which version a pod that alerts runs).
  prometheus::BuildGauge()
      .Name("redrive_build_info")
      .Help("Always 1; the labels say which redrive version and component this process is.")
      .Register(*registry_)
      .Add({{"version", build.version}, {"component", build.component}})
      .Set(1);
}

std::string Registry::Serialize() const {
  auto families = registry_->Collect();
  auto process = process_.Collect();
  families.insert(families.end(), std::make_move_iterator(process.begin()),
                  std::make_move_iterator(process.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace redrive::metrics

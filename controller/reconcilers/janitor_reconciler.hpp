#pragma once

#include <string_view>

#include "controller/reconcilers/reconciler.hpp"

namespace redrive::controller {

struct JanitorLimits {
  int batch_size = 1000;           // rows per DELETE, each in its own short transaction
  int max_batches_per_table = 20;  // per cycle: a large backlog is trimmed over cycles
};

// Deletes processed_events (the record of consumed events; completed outbox rows are gone at
// once) older than controller.retention_hours, oldest first, in small fenced batches that
// skip locked rows, so neither the workers nor a takeover ever wait on it for long. Counts
// redrive_janitor_deleted_rows_total{table}. In dry run it only counts what would go (and
// audits that).
class JanitorReconciler final : public Reconciler {
 public:
  explicit JanitorReconciler(JanitorLimits limits = {});

  std::string_view name() const override { return "janitor"; }
  ReconcileResult Reconcile(CycleContext& context) override;

 private:
  JanitorLimits limits_;
};

}  // namespace redrive::controller

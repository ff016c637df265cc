#include "invoke_report.h"

#include <cmath>
#include <cstdio>

#include "anysnap/runtime_api.h"

namespace anysnap {

namespace {

std::string Milliseconds(double ms) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.2f ms", ms);
  return buf;
}

}  // namespace

InvokeSpan FindInvokeSpan(const std::vector<RuntimeApiCall>& calls, const std::string& request_id,
                          SteadyTime queued) {
  InvokeSpan span;
  for (const RuntimeApiCall& call : calls) {
    RuntimeTarget target = ClassifyRuntimeTarget(call.path);
    if (!span.delivered && target.endpoint == RuntimeEndpoint::kNext && call.status == 200 &&
        call.answered >= queued) {
      span.delivered = call.answered;
    }
    if ((target.endpoint == RuntimeEndpoint::kResponse ||
         target.endpoint == RuntimeEndpoint::kInvocationError) &&
        target.request_id == request_id && call.status == 202) {
      span.answered = call.answered;
    }
  }
  return span;
}

std::optional<SteadyTime> FirstNextArrival(const std::vector<RuntimeApiCall>& calls) {
  for (const RuntimeApiCall& call : calls) {
    if (ClassifyRuntimeTarget(call.path).endpoint == RuntimeEndpoint::kNext) return call.received;
  }
  return std::nullopt;
}

double MillisecondsBetween(SteadyTime from, SteadyTime to) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
  return static_cast<double>(us) / 1000.0;
}

uint64_t BilledMilliseconds(double duration_ms) {
  if (duration_ms <= 0) return 0;
  return static_cast<uint64_t>(std::ceil(duration_ms));
}

uint64_t MemoryMegabytes(uint64_t bytes) {
  constexpr uint64_t kMiB = 1024 * 1024;
  return (bytes + kMiB - 1) / kMiB;
}

std::string StartLine(const std::string& request_id) {
  return "START RequestId: " + request_id + " Version: $LATEST\n";
}

std::string EndLine(const std::string& request_id) { return "END RequestId: " + request_id + "\n"; }

std::string ReportLine(const std::string& request_id, const ReportFigures& f) {
  std::string line = "REPORT RequestId: " + request_id;
  line += "\tDuration: " + Milliseconds(f.duration_ms);
  line += "\tBilled Duration: " + std::to_string(BilledMilliseconds(f.duration_ms)) + " ms";
  line += "\tMemory Size: " + std::to_string(f.memory_size_mb) + " MB";
  line += "\tMax Memory Used: " + std::to_string(MemoryMegabytes(f.max_memory_used_bytes)) + " MB";
  if (f.init_duration_ms) line += "\tInit Duration: " + Milliseconds(*f.init_duration_ms);
  if (f.restore_duration_ms) {
    line += "\tRestore Duration: " + Milliseconds(*f.restore_duration_ms);
  }
  switch (f.status.kind) {
    case InvokeStatus::Kind::kSuccess:
      break;
    case InvokeStatus::Kind::kError:
      line += "\tStatus: error";
      if (!f.status.error_type.empty()) line += "\tError Type: " + f.status.error_type;
      break;
    case InvokeStatus::Kind::kTimeout:
      line += "\tStatus: timeout";
      break;
  }
  line += "\n";
  return line;
}

}  // namespace anysnap

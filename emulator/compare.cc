#include "compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "anysnap/log.h"

namespace anysnap {

namespace {

using Clock = std::chrono::steady_clock;

std::string Format(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

struct TimedResponse {
  double ms = 0;
  std::string body;
};

// Times one invoke; an error carrying the function's error document.
Result<TimedResponse> TimedInvoke(LocalFunction& function, const std::string& event) {
  InvokeRequest request;
  request.event = event;
  Clock::time_point t0 = Clock::now();
  InvokeResult result = function.Invoke(std::move(request));
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!result.ok)
    return Status::Aborted("an invoke failed (" + result.error_type + "): " + result.body);
  return TimedResponse{ms, std::move(result.body)};
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

Summary Summarise(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  Summary s;
  size_t n = values.size();
  s.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n)));
  s.p90 = values[std::max<size_t>(rank, 1) - 1];
  return s;
}

Result<CompareResult> RunCompare(const LocalFunctionOptions& options, int runs,
                                 const std::string& event) {
  CompareResult result;
  {
    LocalFunctionOptions cold = options;
    cold.snap_start = false;
    cold.eager_init = false;
    LocalFunction function(cold);
    for (int i = 0; i < runs; ++i) {
      auto r = TimedInvoke(function, event);
      if (!r.ok()) return r.status().WithContext("cold run " + std::to_string(i + 1));
      result.cold_ms.push_back(r->ms);
      result.cold_bodies.push_back(std::move(r->body));
      function.Stop();  // the next invoke starts a new environment
    }
  }
  LocalFunctionOptions warm = options;
  warm.snap_start = true;
  LocalFunction function(warm);
  InitFailure failure;
  Status started = function.Start(&failure);
  if (!started.ok())
    return started.WithContext("snapshot" +
                               (failure.body.empty() ? "" : " (" + failure.body + ")"));
  result.backend = std::string(function.backend()->name());
  result.caveat = std::string(function.backend()->caveat());
  for (int i = 0; i < runs; ++i) {
    function.AwaitPrepared();
    auto r = TimedInvoke(function, event);
    if (!r.ok()) return r.status().WithContext("restored run " + std::to_string(i + 1));
    result.restored_ms.push_back(r->ms);
    result.restored_bodies.push_back(std::move(r->body));
    function.Stop();  // the next invoke restores a new environment
  }
  return result;
}

std::string CompareTable(const CompareResult& r) {
  Summary cold = Summarise(r.cold_ms), restored = Summarise(r.restored_ms);
  std::string t = "time to first response, " + std::to_string(r.cold_ms.size()) +
                  " runs each (snapshot backend: " + r.backend + ")\n";
  t += "                  median         p90\n";
  t += "cold (on-demand) " + Format("%9.2f ms", cold.median) + Format("%9.2f ms", cold.p90) + "\n";
  t += "restored         " + Format("%9.2f ms", restored.median) +
       Format("%9.2f ms", restored.p90) + "\n";
  t += "speed-up         " + Format("%9.1fx", cold.median / std::max(restored.median, 0.001)) +
       Format("%11.1fx", cold.p90 / std::max(restored.p90, 0.001)) + "\n";
  t += "note: " + r.caveat + "\n";
  return t;
}

std::string CompareChart(const CompareResult& r, const std::string& function_name) {
  const double width = 720, height = 420, left = 90, right = 20, top = 70, bottom = 60;
  double lo = 1e18, hi = 0;
  for (const auto* series : {&r.cold_ms, &r.restored_ms}) {
    for (double v : *series) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  double log_lo = std::floor(std::log10(std::max(lo, 0.01)));
  double log_hi = std::ceil(std::log10(std::max(hi, 0.02)));
  if (log_hi <= log_lo) log_hi = log_lo + 1;
  auto y = [&](double ms) {
    double f = (std::log10(std::max(ms, 0.01)) - log_lo) / (log_hi - log_lo);
    return top + (1 - f) * (height - top - bottom);
  };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Format("%.0f", width) +
                    "\" height=\"" + Format("%.0f", height) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + Format("%.0f", left) + "\" y=\"24\" font-size=\"16\">" +
         Escape(function_name) + ": time to first response, cold vs restored (" + r.backend +
         ")</text>\n";
  svg += "<text x=\"" + Format("%.0f", left) + "\" y=\"44\" fill=\"#555\">" + Escape(r.caveat) +
         "</text>\n";
  for (double e = log_lo; e <= log_hi; ++e) {
    double ms = std::pow(10.0, e);
    svg += "<line x1=\"" + Format("%.0f", left) + "\" x2=\"" + Format("%.0f", width - right) +
           "\" y1=\"" + Format("%.1f", y(ms)) + "\" y2=\"" + Format("%.1f", y(ms)) +
           "\" stroke=\"#ddd\"/>\n";
    svg += "<text x=\"" + Format("%.0f", left - 8) + "\" y=\"" + Format("%.1f", y(ms) + 4) +
           "\" text-anchor=\"end\">" + Format(ms < 1 ? "%.2g ms" : "%.0f ms", ms) + "</text>\n";
  }
  const double column = (width - left - right) / 2;
  struct Series {
    const std::vector<double>* values;
    const char* label;
    const char* color;
  } series[] = {{&r.cold_ms, "cold (on-demand)", "#d62728"},
                {&r.restored_ms, "restored", "#1f77b4"}};
  for (int s = 0; s < 2; ++s) {
    double x0 = left + column * s + column * 0.2, span = column * 0.6;
    const auto& v = *series[s].values;
    for (size_t i = 0; i < v.size(); ++i) {
      double x = x0 + (v.size() > 1 ? span * static_cast<double>(i) / (v.size() - 1) : span / 2);
      svg += "<circle cx=\"" + Format("%.1f", x) + "\" cy=\"" + Format("%.1f", y(v[i])) +
             "\" r=\"4\" fill=\"" + series[s].color + "\" fill-opacity=\"0.7\"><title>" +
             Format("%.2f ms", v[i]) + "</title></circle>\n";
    }
    Summary sum = Summarise(v);
    svg += "<line x1=\"" + Format("%.1f", x0 - 10) + "\" x2=\"" + Format("%.1f", x0 + span + 10) +
           "\" y1=\"" + Format("%.1f", y(sum.median)) + "\" y2=\"" + Format("%.1f", y(sum.median)) +
           "\" stroke=\"" + series[s].color + "\" stroke-width=\"2\"/>\n";
    svg += "<text x=\"" + Format("%.1f", x0 + span / 2) + "\" y=\"" +
           Format("%.0f", height - bottom + 24) + "\" text-anchor=\"middle\">" + series[s].label +
           ": median " + Format("%.2f ms", sum.median) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace anysnap
